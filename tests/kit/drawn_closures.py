"""Closures with drawings, for the feeds' geometry (issue 17): the demo's places
(``facilities/demo_places.py``) built through the real services.

- Pinghu Park, outlined, with its suspension bridge as the 76.6 m line across the lake's west arm,
  fully closed since five days before ``now`` (no extent: the whole bridge), with the detour
  along the east boardwalk to the west gate, the fences across both approaches and the open
  gates drawn;
- Yanmingxi Plaza, outlined, with its 32 m road bridge and a planned partial closure (starting
  ten days after ``now``) whose extent is the bridge's north footway, and nothing else drawn.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from facilities import demo_places as places
from facilities.accounts.permissions import Actor
from facilities.assets.choices import AssetType
from facilities.closures import services as closures
from facilities.closures.choices import Precision, Reason, SafetyMeasure, Scope
from facilities.closures.schemas import ClosureIn
from tests.kit.assets import make_asset, make_site

DAY = dt.timedelta(days=1)


@dataclasses.dataclass
class Drawn:
    bridge: Any
    road_bridge: Any
    closure: Any
    planned: Any


def geometry(text: str) -> dict[str, Any]:
    """A stored drawing (compact GeoJSON text) as the dict a feed should carry."""
    return dict(json.loads(text))


async def build_drawn(alice: Actor, now: dt.datetime) -> Drawn:
    park = await make_site(
        "平湖公园",
        name_en="Pinghu Park",
        lat=26.8952,
        lng=112.5841,
        boundary=places.PARK_BOUNDARY,
        water=places.PARK_WATER,
    )
    plaza = await make_site(
        "雁鸣溪广场",
        name_en="Yanmingxi Plaza",
        lat=26.8876,
        lng=112.5963,
        boundary=places.PLAZA_BOUNDARY,
    )
    bridge = await make_asset(
        park,
        code="GX-QL-PH-001",
        name_zh="平湖公园景观悬索桥",
        name_en="Pinghu Park Landscape Suspension Bridge",
        asset_type=AssetType.SUSPENSION_FOOTBRIDGE,
        length_m=places.BRIDGE_LENGTH_M,
        **places.drawn(places.BRIDGE),
    )
    road_bridge = await make_asset(
        plaza,
        code="GX-QL-YM-001",
        name_zh="雁鸣溪桥",
        name_en="Yanmingxi Road Bridge",
        asset_type=AssetType.BRIDGE,
        length_m=32.0,
        **places.drawn(places.ROAD_BRIDGE),
    )
    start = now - 5 * DAY
    closure = await closures.create_closure(
        alice,
        ClosureIn(
            asset_id=bridge.id,
            scope=Scope.FULL,
            reason=Reason.STRUCTURAL_DEFECT,
            reason_zh="木质桥面板腐朽，主缆局部锈蚀。",
            reason_en="The timber deck has rotted and the main cables show rust.",
            safety_measures=[SafetyMeasure.FENCING, SafetyMeasure.DETOUR],
            detour_zh="请经环湖木栈道东段绕行至公园西门。",
            detour_en="Walk round by the east boardwalk to the west gate.",
            detour_line=places.BRIDGE_DETOUR,
            fences=places.BRIDGE_FENCES,
            entrances=places.PARK_GATES,
            effective_from=start,
            planned_reopen_on=(now + 30 * DAY).date(),
            reopen_precision=Precision.BEFORE,
            is_urgent=True,
        ),
        start,
    )
    planned = await closures.create_closure(
        alice,
        ClosureIn(
            asset_id=road_bridge.id,
            scope=Scope.PARTIAL,
            affected_part_zh="北侧人行道",
            affected_part_en="North footway",
            extent=places.ROAD_BRIDGE_NORTH_FOOTWAY,
            reason=Reason.REPAIR_WORKS,
            reason_zh="更换伸缩缝止水带。",
            reason_en="The expansion-joint seal is being replaced.",
            detour_zh="行人请走南侧人行道。",
            detour_en="Pedestrians please use the south footway.",
            effective_from=now + 10 * DAY,
            planned_reopen_on=(now + 24 * DAY).date(),
            reopen_precision=Precision.EXACT,
        ),
        now,
    )
    return Drawn(bridge=bridge, road_bridge=road_bridge, closure=closure, planned=planned)
