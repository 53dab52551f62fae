"""Where a closure is (issue 17, item 1): the closed extent on the facility, the detour, fences
and entrances within the site, stored as GeoJSON with their bounding box and returned by the API;
a component's drawing on its asset; a site's water; the demo's bridge drawn to its stated length;
and the audit trail reading a drawing as its kind and size, not as coordinates."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from facilities import demo_places as places
from facilities.accounts.permissions import SYSTEM
from facilities.assets import services as assets
from facilities.assets.choices import AssetType
from facilities.assets.schemas import AssetIn, SiteIn
from facilities.audit.display import changes, drawing
from facilities.closures import services as closures
from facilities.closures.tables import Closure
from facilities.errors import ValidationFailed
from facilities.i18n import use_locale
from facilities.lib import geo
from tests.kit.assets import make_component, make_site
from tests.kit.closures import closure_in, events

FAR_AWAY = {"type": "LineString", "coordinates": [[112.62, 26.91], [112.63, 26.91]]}


async def pinghu(now: Any) -> tuple[Any, Any]:
    """The demo's park (outlined, with its lake) and its bridge drawn as a 76.6 m line."""
    site = await make_site("平湖公园", boundary=places.PARK_BOUNDARY, water=places.PARK_WATER)
    bridge = await assets.create_asset(
        SYSTEM,
        AssetIn(
            code="GX-QL-PH-001",
            name_zh="平湖公园景观悬索桥",
            asset_type=AssetType.SUSPENSION_FOOTBRIDGE,
            site_id=site.id,
            length_m=76.6,
            **places.drawn(places.BRIDGE),
        ),
        now,
    )
    return site, bridge


def _errors(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return dict(exc.value.errors)


# --- the demo's drawing ----------------------------------------------------------------------


def test_the_demo_bridge_is_a_line_of_its_stated_length_across_the_lake() -> None:
    bridge = geo.parse_geometry(places.BRIDGE, "geometry")
    lake = geo.parse_geometry(places.PARK_WATER, "water")

    assert bridge.geom_type == "LineString"
    assert geo.length_m(bridge) == pytest.approx(76.6, abs=0.05)
    assert bridge.crosses(lake)  # it spans water, both ends on land
    lng, lat = bridge.centroid.x, bridge.centroid.y
    assert (round(lat, 3), round(lng, 3)) == (26.895, 112.581)  # where DOMAIN.md puts it


def test_the_demo_detour_follows_the_boardwalk_to_the_west_gate() -> None:
    detour = geo.parse_geometry(places.BRIDGE_DETOUR, "detour_line")
    boardwalk = geo.parse_geometry(places.BOARDWALK, "geometry")
    west_gate = geo.parse_geometry(places.PARK_GATES, "entrances").geoms[0]

    assert geo.distance_m(detour.coords[-1][0], detour.coords[-1][1], west_gate) < 1.0
    assert detour.buffer(1e-6).contains(boardwalk)  # the whole loop, east side round
    # it goes east round the lake: its eastmost point is the boardwalk's
    assert detour.bounds[2] == pytest.approx(boardwalk.bounds[2])


# --- a closure's drawings --------------------------------------------------------------------


async def test_detour_fences_and_entrances_are_stored_as_geojson_with_their_bbox(
    personas, now
) -> None:
    _site, bridge = await pinghu(now)
    wkt_fences = geo.to_wkt(geo.parse_geometry(places.BRIDGE_FENCES, "fences"))

    closure = await closures.create_closure(
        personas["alice"],
        closure_in(
            bridge.id,
            now,
            detour_line=places.BRIDGE_DETOUR,
            fences=wkt_fences,  # WKT is read and stored as GeoJSON
            entrances=places.PARK_GATES,
        ),
        now,
    )

    row = await Closure.objects().where(Closure.id == closure.id).first()
    assert row.extent == ""  # the whole facility
    assert json.loads(row.detour_line) == json.loads(places.BRIDGE_DETOUR)
    assert json.loads(row.fences)["type"] == "MultiLineString"
    assert json.loads(row.entrances)["type"] == "MultiPoint"
    everything = [
        geo.parse_geometry(text, "x")
        for text in (places.BRIDGE_DETOUR, places.BRIDGE_FENCES, places.PARK_GATES)
    ]
    west = min(shape.bounds[0] for shape in everything)
    north = max(shape.bounds[3] for shape in everything)
    assert (row.bbox_west, row.bbox_north) == pytest.approx((west, north))


async def test_the_api_returns_the_drawings_as_geojson_objects(api, personas, now) -> None:
    _site, bridge = await pinghu(now)
    alice = await api()
    half = json.loads(places.BRIDGE)
    half["coordinates"] = [
        half["coordinates"][0],
        [
            (half["coordinates"][0][0] + half["coordinates"][1][0]) / 2,
            (half["coordinates"][0][1] + half["coordinates"][1][1]) / 2,
        ],
    ]
    created = await alice.post(
        "/api/v1/closures",
        {
            "asset_id": bridge.id,
            "scope": "partial",
            "affected_part_zh": "南半跨",
            "reason_zh": "南半跨桥面板更换",
            "effective_from": now.isoformat(),
            "planned_reopen_on": "2027-04-30",
            "extent": json.dumps(half),
            "detour_line": places.BRIDGE_DETOUR,
        },
    )

    assert created.status_code == 201, created.text
    shown = (await alice.get(f"/api/v1/closures/{created.json()['id']}")).json()
    assert shown["extent"]["type"] == "LineString"
    assert shown["extent"]["coordinates"][0] == pytest.approx(half["coordinates"][0])
    assert shown["detour_line"] == json.loads(places.BRIDGE_DETOUR)
    assert shown["fences"] is None and shown["entrances"] is None


async def test_an_extent_off_the_facility_is_refused_naming_the_field(personas, now) -> None:
    _site, bridge = await pinghu(now)
    boardwalk_far_side = {
        "type": "LineString",
        "coordinates": [[112.5857, 26.8949], [112.5858, 26.8952]],
    }

    with use_locale("en"), pytest.raises(ValidationFailed) as caught:
        await closures.create_closure(
            personas["alice"],
            closure_in(bridge.id, now, extent=json.dumps(boardwalk_far_side)),
            now,
        )

    message = _errors(caught)["extent"]
    assert message.startswith("The shape reaches ")
    assert "beyond the facility; at most 20.0 m is allowed." in message
    assert await Closure.count() == 0


async def test_a_detour_outside_the_park_is_refused_in_chinese_by_default(personas, now) -> None:
    _site, bridge = await pinghu(now)

    with pytest.raises(ValidationFailed) as caught:
        await closures.create_closure(
            personas["alice"], closure_in(bridge.id, now, detour_line=json.dumps(FAR_AWAY)), now
        )

    assert "超出场地边界" in _errors(caught)["detour_line"]


async def test_each_drawing_accepts_only_its_kinds(personas, now) -> None:
    _site, bridge = await pinghu(now)
    lake = places.PARK_WATER

    with use_locale("en"), pytest.raises(ValidationFailed) as caught:
        await closures.create_closure(
            personas["alice"],
            closure_in(bridge.id, now, detour_line=lake, entrances=places.BRIDGE),
            now,
        )

    errors = _errors(caught)
    assert errors["detour_line"].startswith("A Polygon is not accepted here")
    assert errors["entrances"].startswith("A LineString is not accepted here")


async def test_a_detour_near_a_facility_on_a_site_without_a_boundary_is_kept_near_it(
    personas, now
) -> None:
    site = await make_site()  # no outline
    bridge = await assets.create_asset(
        SYSTEM,
        AssetIn(
            code="GX-QL-T-001",
            name_zh="无边界桥",
            asset_type=AssetType.FOOTBRIDGE,
            site_id=site.id,
            lat=26.8955,
            lng=112.5798,
        ),
        now,
    )
    five_km_east = {"type": "LineString", "coordinates": [[112.63, 26.8955], [112.631, 26.8955]]}

    with use_locale("en"), pytest.raises(ValidationFailed) as caught:
        await closures.create_closure(
            personas["alice"], closure_in(bridge.id, now, detour_line=json.dumps(five_km_east)), now
        )
    assert "from the facility; at most 2.0 km is allowed." in _errors(caught)["detour_line"]

    near = {"type": "LineString", "coordinates": [[112.5799, 26.8955], [112.5805, 26.8960]]}
    kept = await closures.create_closure(
        personas["alice"], closure_in(bridge.id, now, detour_line=json.dumps(near)), now
    )
    assert kept.detour_line


async def test_an_edit_that_draws_the_detour_is_audited_as_a_line_and_its_length(
    personas, now
) -> None:
    _site, bridge = await pinghu(now)
    alice = personas["alice"]
    closure = await closures.create_closure(alice, closure_in(bridge.id, now), now)

    await closures.update_closure(
        alice,
        closure.id,
        closure_in(bridge.id, now, detour_line=places.BRIDGE_DETOUR, version=closure.version),
        now,
    )

    [edit] = await events(closure.id, "closure.updated")
    with use_locale("en"):
        shown = {c.field: c for c in changes(edit)}["detour_line"]
        assert shown.label == "Detour route"
        assert shown.before == "—"
        length = geo.length_m(geo.parse_geometry(places.BRIDGE_DETOUR, "d"))
        assert shown.after == f"a line, {geo.format_length(length)}"
    assert math.isclose(length, 1254, abs_tol=5)


def test_a_drawing_reads_as_its_kind_and_size_in_chinese() -> None:
    with use_locale("zh_CN"):
        assert drawing(places.BRIDGE, {}) == "一条线，76.6 米"
        assert drawing(places.PAVILION, {}) == "一个点"
        assert drawing("not geometry", {}) == "not geometry"


# --- components and sites --------------------------------------------------------------------


async def test_a_component_is_drawn_on_its_asset_and_returned_as_geojson(api, now) -> None:
    _site, bridge = await pinghu(now)
    west_tower = json.loads(places.BRIDGE)["coordinates"][0]
    component = await make_component(bridge, "西桥塔", geometry=f"{west_tower[1]}, {west_tower[0]}")
    alice = await api()

    shown = (await alice.get(f"/api/v1/components/{component.id}")).json()

    assert shown["geometry"] == {"type": "Point", "coordinates": west_tower}


async def test_a_component_drawn_away_from_its_asset_is_refused(database_url, now) -> None:
    _site, bridge = await pinghu(now)

    with use_locale("en"), pytest.raises(ValidationFailed) as caught:
        await make_component(bridge, "远处", geometry="26.8955, 112.5870")

    assert "beyond the facility" in _errors(caught)["geometry"]


async def test_a_site_keeps_its_water_and_refuses_water_that_is_not_an_area(api, now) -> None:
    site, _bridge = await pinghu(now)
    alice = await api()

    shown = (await alice.get(f"/api/v1/sites/{site.id}")).json()
    assert shown["water"] == json.loads(places.PARK_WATER)

    with use_locale("en"), pytest.raises(ValidationFailed) as caught:
        await assets.create_site(SYSTEM, SiteIn(name_zh="河边", water=places.BRIDGE), now)
    assert _errors(caught)["water"].startswith("A LineString is not accepted here")


async def test_the_closure_list_finds_closures_by_their_drawings_or_their_facility(
    api, personas, now
) -> None:
    site, bridge = await pinghu(now)
    alice = personas["alice"]
    detour = geo.parse_geometry(places.BRIDGE_DETOUR, "detour_line")
    east_shore = max(detour.coords, key=lambda point: point[0])
    bridge_closure = await closures.create_closure(
        alice, closure_in(bridge.id, now, detour_line=places.BRIDGE_DETOUR), now
    )
    playground = await assets.create_asset(
        SYSTEM,
        AssetIn(
            code="GX-YL-PH-001",
            name_zh="儿童游乐场",
            asset_type=AssetType.PLAYGROUND,
            site_id=site.id,
            **places.drawn(places.PLAYGROUND),
        ),
        now,
    )
    playground_closure = await closures.create_closure(alice, closure_in(playground.id, now), now)
    client = await api()

    def box_around(lng: float, lat: float, metres: float = 15.0) -> str:
        d = metres / 100_000
        return f"{lng - d},{lat - d},{lng + d},{lat + d}"

    west_end = json.loads(places.BRIDGE)["coordinates"][0]
    by_facility = await client.get("/api/v1/closures", bbox=box_around(*west_end))
    # the detour passes the east shore; the bridge itself is 470 m away
    by_detour = await client.get("/api/v1/closures", bbox=box_around(*east_shore))
    nowhere = await client.get("/api/v1/closures", bbox=box_around(112.70, 26.95))
    malformed = await client.get("/api/v1/closures", bbox="112.5,26.9,112.4")

    assert [c["id"] for c in by_facility.json()] == [bridge_closure.id]
    assert [c["id"] for c in by_detour.json()] == [bridge_closure.id]
    assert nowhere.json() == []
    assert malformed.status_code == 400
    assert "bbox" in malformed.text
    everything = await client.get("/api/v1/closures", bbox="112.5,26.8,112.7,27.0")
    assert {c["id"] for c in everything.json()} == {bridge_closure.id, playground_closure.id}
