"""A small BCI-over-time chart for the dashboard's asset trends: points of an inline SVG laid out
here, so the template draws plain server-rendered markup (no JavaScript). The grade chart
(grade_chart.py) draws grades A-E on one asset's history page; this one draws the index itself,
with the grade floors (CJJ 99-2017: 90, 80, 66, 50) as guide lines, small enough to repeat for
every asset."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from facilities.lib.condition import GRADE_FLOORS, grade_for

WIDTH = 240
HEIGHT = 64
PAD = 6


def bci_chart(history: list[dict[str, Any]], zone: ZoneInfo) -> dict[str, Any]:
    """Points (x, y, bci, grade, day, inspection_id) of the BCI line, oldest first; BCI 100 at
    the top, 0 at the bottom; a single point sits in the middle."""
    rows = [r for r in history if r.get("bci") is not None and r.get("completed_at") is not None]
    stamps = [r["completed_at"].timestamp() for r in rows]
    first, last = (min(stamps), max(stamps)) if stamps else (0.0, 0.0)
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def x_of(stamp: float) -> float:
        return PAD + (inner_w / 2 if last <= first else (stamp - first) / (last - first) * inner_w)

    def y_of(value: float) -> float:
        return PAD + (100.0 - max(0.0, min(100.0, value))) / 100.0 * inner_h

    points = [
        {
            "x": round(x_of(stamp), 1),
            "y": round(y_of(r["bci"]), 1),
            "bci": round(float(r["bci"]), 1),
            "grade": grade_for(float(r["bci"])),
            "day": r["completed_at"].astimezone(zone).date(),
            "inspection_id": r["id"],
        }
        for r, stamp in zip(rows, stamps, strict=True)
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": PAD,
        "right": WIDTH - PAD,
        "floors": [{"grade": g, "y": round(y_of(v), 1)} for g, v in GRADE_FLOORS],
        "points": points,
        "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
    }
