"""The bureau's default inspection policy: checklists, default schedules per asset type and
maintenance grade, and the rules. Seeded once by a migration; afterwards it is data that staff
edit. Intervals follow ../shared/DOMAIN.md (patrol by maintenance grade, monthly routine, yearly
periodic, 6-10 yearly structural, yearly hands-on cable check, pre-holiday checks)."""

from __future__ import annotations

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
    # 10 days before 五一 and 国庆; 春节 moves with the lunar calendar and is planned by hand.
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
