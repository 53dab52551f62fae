"""The bureau's default inspection policy: checklists, default schedules per asset type and
maintenance grade, and the rules. Seeded once by a migration; afterwards it is data that staff
edit. Intervals follow ../shared/DOMAIN.md (patrol by maintenance grade, monthly routine, yearly
periodic, 6-10 yearly structural, yearly hands-on cable check, pre-holiday checks)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

# (key, zh, en, component group, critical)
PATROL_ITEMS = [
    (
        "deck_surface",
        "桥面/路面完好，无破损、松动、积水",
        "Deck or surface intact: no damage, loose parts or standing water",
        "deck_system",
        False,
    ),
    (
        "railing",
        "栏杆扶手牢固，无缺失、松动",
        "Railings firm, none missing or loose",
        "deck_system",
        True,
    ),
    (
        "signage",
        "限载、警示标志齐全清晰",
        "Load-limit and warning signs present and legible",
        "ancillary",
        False,
    ),
    ("lighting", "照明设施正常", "Lighting works", "ancillary", False),
    ("drainage", "排水通畅", "Drainage clear", "ancillary", False),
    (
        "obstacles",
        "通行无障碍物、无违规占用",
        "No obstacles or unauthorised use",
        "ancillary",
        False,
    ),
    ("crowd", "人流量在限载范围内", "Crowd within the limit", "ancillary", True),
]
SUSPENSION_ITEMS = [
    (
        "main_cable",
        "主缆无锈蚀、断丝、护套破损",
        "Main cables: no rust, broken wires or damaged sheath",
        "superstructure",
        True,
    ),
    (
        "hanger",
        "吊杆无锈蚀、松弛、变形",
        "Hangers: no rust, slack or deformation",
        "superstructure",
        True,
    ),
    ("clamp", "索夹无滑移，螺栓紧固", "Cable clamps: no slip, bolts tight", "superstructure", True),
    (
        "anchorage",
        "锚碇无开裂、渗水、位移",
        "Anchorages: no cracks, seepage or movement",
        "substructure",
        True,
    ),
    ("tower", "桥塔无开裂、倾斜、锈蚀", "Towers: no cracks, tilt or rust", "superstructure", True),
    (
        "deck_plank",
        "木质桥面板无腐朽、断裂、松动",
        "Timber deck planks: no rot, breaks or loose boards",
        "deck_system",
        True,
    ),
    ("railing", "栏杆扶手牢固完整", "Railings firm and complete", "deck_system", True),
    ("safety_net", "安全网完好，固定可靠", "Safety nets intact and fixed", "ancillary", False),
    ("abutment", "桥台无沉降、开裂", "Abutments: no settlement or cracks", "substructure", False),
    ("drainage", "排水设施通畅", "Drainage clear", "ancillary", False),
]

CHECKLISTS = [
    ("patrol", "日常巡查表", "Patrol checklist", PATROL_ITEMS),
    (
        "suspension_periodic",
        "悬索桥定期检查表",
        "Suspension bridge periodic checklist",
        SUSPENSION_ITEMS,
    ),
]

BRIDGES = ("suspension_footbridge", "footbridge", "bridge", "boardwalk")

# (asset type, maintenance grade, inspection type, rrule, anchor, lead days, tolerance, checklist)
DEFAULT_SCHEDULES: list[tuple[str, str, str, str, str, int, int, str]] = [
    ("*", "I", "patrol", "FREQ=DAILY", "fixed", 0, 0, "patrol"),
    ("*", "II", "patrol", "FREQ=DAILY;INTERVAL=3", "fixed", 0, 1, "patrol"),
    ("*", "III", "patrol", "FREQ=WEEKLY;BYDAY=MO", "fixed", 0, 2, "patrol"),
    ("*", "", "patrol", "FREQ=WEEKLY;BYDAY=MO", "fixed", 0, 2, "patrol"),
    ("*", "*", "routine_monthly", "FREQ=MONTHLY;BYMONTHDAY=1", "fixed", 3, 5, "patrol"),
    *[
        (
            kind,
            "*",
            "periodic_routine",
            "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1",
            "fixed",
            30,
            30,
            "suspension_periodic" if kind == "suspension_footbridge" else "patrol",
        )
        for kind in BRIDGES
    ],
    (
        "suspension_footbridge",
        "*",
        "periodic_structural",
        "FREQ=YEARLY;INTERVAL=6",
        "floating",
        60,
        60,
        "suspension_periodic",
    ),
    ("footbridge", "*", "periodic_structural", "FREQ=YEARLY;INTERVAL=10", "floating", 60, 60, ""),
    ("bridge", "*", "periodic_structural", "FREQ=YEARLY;INTERVAL=10", "floating", 60, 60, ""),
    (
        "suspension_footbridge",
        "*",
        "hands_on_critical",
        "FREQ=YEARLY;BYMONTH=10;BYMONTHDAY=15",
        "fixed",
        14,
        14,
        "suspension_periodic",
    ),
    # 10 days before 五一 and 国庆; before 春节 (and before 五一/国庆 when these rows are edited
    # away) the seasonal rule raises the pre-holiday inspection itself: see SEASONAL below.
    *[
        (kind, "*", "pre_holiday", "FREQ=YEARLY;BYMONTH=4,9;BYMONTHDAY=21", "fixed", 7, 3, "patrol")
        for kind in (*BRIDGES, "playground", "plaza", "fountain")
    ],
]


def checklist_rows() -> list[dict[str, Any]]:
    return [
        {
            "code": code,
            "name_zh": zh,
            "name_en": en,
            "items": json.dumps(
                [
                    {"key": k, "zh": z, "en": e, "group": g, "critical": c}
                    for k, z, e, g, c in items
                ],
                ensure_ascii=False,
            ),
        }
        for code, zh, en, items in CHECKLISTS
    ]


# --- seasonal overrides ----------------------------------------------------------------------
# DOMAIN.md: "flood season and 14 days before 五一/国庆/春节: patrol daily, a pre-holiday
# inspection". These are the defaults of the ``seasonal`` rule; its ``params`` (editable policy
# data in the inspection_rule table) override them.

#: 春节 (Chinese New Year, the first day of the first lunar month) on the Gregorian calendar.
SPRING_FESTIVAL = {
    2025: "2025-01-29",
    2026: "2026-02-17",
    2027: "2027-02-06",
    2028: "2028-01-26",
    2029: "2029-02-13",
    2030: "2030-02-03",
    2031: "2031-01-23",
    2032: "2032-02-11",
    2033: "2033-01-31",
    2034: "2034-02-19",
    2035: "2035-02-08",
}

SEASONAL: dict[str, Any] = {
    "flood_season": {"from": "06-01", "to": "09-30"},  # month-day, both inclusive
    "holiday_lead_days": 14,  # the window: the N days up to and including the holiday itself
    "pre_holiday_days_before": 7,  # the pre-holiday inspection is due N days before the holiday
    "holidays": {"labour_day": "05-01", "national_day": "10-01"},  # fixed month-day
    "spring_festival": {str(year): day for year, day in SPRING_FESTIVAL.items()},
}

FLOOD = "flood_season"
LABOUR_DAY = "labour_day"  # 五一
NATIONAL_DAY = "national_day"  # 国庆
SPRING = "spring_festival"  # 春节


@dataclasses.dataclass(frozen=True)
class Season:
    """A seasonal window in force on a day: the flood season or the lead-up to a holiday.
    ``starts`` and ``ends`` are local dates, both inclusive; ``holiday`` is the holiday's date
    (None for the flood season)."""

    code: str
    starts: dt.date
    ends: dt.date
    holiday: dt.date | None = None

    @property
    def is_pre_holiday(self) -> bool:
        return self.holiday is not None


def _month_day(year: int, text: str) -> dt.date:
    month, day = (int(part) for part in text.split("-"))
    return dt.date(year, month, day)


@dataclasses.dataclass(frozen=True)
class SeasonalPolicy:
    flood_from: str = "06-01"
    flood_to: str = "09-30"
    lead_days: int = 14
    due_days_before: int = 7
    holidays: tuple[tuple[str, str], ...] = ((LABOUR_DAY, "05-01"), (NATIONAL_DAY, "10-01"))
    spring_festival: tuple[tuple[int, dt.date], ...] = ()

    @classmethod
    def from_params(cls, params: dict[str, Any] | None) -> SeasonalPolicy:
        """The policy from a rule's params; a key missing there takes the default above."""
        merged = {**SEASONAL, **(params or {})}
        flood = {**SEASONAL["flood_season"], **merged["flood_season"]}
        return cls(
            flood_from=str(flood["from"]),
            flood_to=str(flood["to"]),
            lead_days=int(merged["holiday_lead_days"]),
            due_days_before=int(merged["pre_holiday_days_before"]),
            holidays=tuple(sorted(dict(merged["holidays"]).items())),
            spring_festival=tuple(
                sorted(
                    (int(year), dt.date.fromisoformat(str(day)))
                    for year, day in dict(merged["spring_festival"]).items()
                )
            ),
        )

    def holidays_of(self, year: int) -> list[tuple[str, dt.date]]:
        days = [(code, _month_day(year, month_day)) for code, month_day in self.holidays]
        days += [(SPRING, day) for y, day in self.spring_festival if day.year == year]
        return sorted(days, key=lambda item: item[1])

    def windows_of(self, year: int) -> list[Season]:
        """The year's windows, by start: pre-holiday windows (those of next year's holidays that
        start this year too) and the flood season."""
        lead = dt.timedelta(days=self.lead_days - 1)
        windows = [
            Season(code, day - lead, day, day)
            for y in (year, year + 1)
            for code, day in self.holidays_of(y)
            if self.lead_days > 0
        ]
        windows.append(
            Season(FLOOD, _month_day(year, self.flood_from), _month_day(year, self.flood_to))
        )
        overlapping = [w for w in windows if w.starts.year <= year <= w.ends.year]
        return sorted(overlapping, key=lambda w: (w.starts, w.code))


DEFAULT_POLICY = SeasonalPolicy.from_params(None)


def seasons_on(day: dt.date, policy: SeasonalPolicy = DEFAULT_POLICY) -> list[Season]:
    """Every seasonal window in force on the local date ``day``: holiday windows first."""
    found = [w for w in policy.windows_of(day.year) if w.starts <= day <= w.ends]
    return sorted(found, key=lambda w: (not w.is_pre_holiday, w.starts))


def season_for(day: dt.date, policy: SeasonalPolicy = DEFAULT_POLICY) -> Season | None:
    """The seasonal window in force on the local date ``day``, or None. Where the lead-up to a
    holiday overlaps the flood season (国庆's lead-up in September) the holiday window wins: it
    is the one that also asks for a pre-holiday inspection."""
    found = seasons_on(day, policy)
    return found[0] if found else None


def next_window_start(day: dt.date, policy: SeasonalPolicy = DEFAULT_POLICY) -> dt.date | None:
    """The first day after ``day`` that opens a seasonal window (None beyond the policy's
    table, which cannot happen for the fixed-date windows)."""
    starts = [
        w.starts for y in (day.year, day.year + 1) for w in policy.windows_of(y) if w.starts > day
    ]
    return min(starts) if starts else None
