"""The condition history chart of an asset: its grades over time as points of an inline SVG,
laid out here so the template draws plain server-rendered markup (no JavaScript)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

GRADES = "ABCDE"
CHART_WIDTH = 640
CHART_HEIGHT = 240
CHART_LEFT = 44
CHART_RIGHT = 16
CHART_TOP = 16
CHART_BOTTOM = 40


def grade_chart(history: list[dict[str, Any]], zone: ZoneInfo) -> dict[str, Any]:
    """Points of the grade-over-time line (A at the top, E at the bottom), laid out in SVG user
    units: the template draws them, so the chart is plain server-rendered markup."""
    inner_w = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    inner_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    rows = [r for r in history if r["grade"] in GRADES and r["completed_at"] is not None]
    times = [r["completed_at"].timestamp() for r in rows]
    first, last = (min(times), max(times)) if times else (0.0, 0.0)
    span = last - first

    def x_of(stamp: float) -> float:
        if span <= 0:
            return CHART_LEFT + inner_w / 2
        return CHART_LEFT + (stamp - first) / span * inner_w

    def y_of(grade: str) -> float:
        return CHART_TOP + GRADES.index(grade) * inner_h / (len(GRADES) - 1)

    points = [
        {
            "x": round(x_of(stamp), 1),
            "y": round(y_of(r["grade"]), 1),
            "grade": r["grade"],
            "bci": r["bci"],
            "day": r["completed_at"].astimezone(zone).date(),
            "inspection_id": r["id"],
        }
        for r, stamp in zip(rows, times, strict=True)
    ]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_WIDTH - CHART_RIGHT,
        "bottom": CHART_HEIGHT - CHART_BOTTOM,
        "levels": [{"grade": g, "y": round(y_of(g), 1)} for g in GRADES],
        "points": points,
        "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
    }
