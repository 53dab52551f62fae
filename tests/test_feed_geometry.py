"""The feeds carry real geometry (issue 17, item 5): the GeoJSON feed's closure Features are the
closed extent with the marker a map pins, followed by the detour, fences and entrances as
Features of their own, planned closures included; CAP's area is a polygon round the extent.
(WZDx: tests/test_wzdx_feed.py.)"""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET

import pytest
from shapely.geometry import LineString, Point, Polygon, shape

from facilities import demo_places as places
from facilities.closures import public
from facilities.lib import geo
from facilities.public.feeds import cap, geojson
from tests.kit.drawn_closures import Drawn, build_drawn, geometry

URL = "/feeds/closures.geojson"
BASE = "http://127.0.0.1:8000"
CAP_NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}


@pytest.fixture
async def drawn(app, personas, now) -> Drawn:
    return await build_drawn(personas["alice"], now)


async def read(anon) -> list[dict]:
    response = await anon.get(URL)
    assert response.status_code == 200
    return json.loads(response.content)["features"]


# --- GeoJSON -----------------------------------------------------------------------------


async def test_a_drawn_closure_is_its_extent_then_its_detour_fences_and_entrances(anon, drawn):
    features = await read(anon)

    # in force and urgent first, then the planned one; each closure followed by its drawings
    assert [(f["id"], f["properties"]["role"]) for f in features] == [
        (drawn.closure.id, "closure"),
        (f"{drawn.closure.id}-detour", "detour"),
        (f"{drawn.closure.id}-fences", "fences"),
        (f"{drawn.closure.id}-entrances", "entrances"),
        (drawn.planned.id, "closure"),
    ]
    bridge, detour, fences, entrances, _planned = features
    # no extent drawn: the whole bridge is closed, its 76.6 m line is the closed extent
    assert bridge["geometry"] == geometry(places.BRIDGE)
    assert bridge["geometry"]["type"] == "LineString"
    assert geo.length_m(shape(bridge["geometry"])) == pytest.approx(76.6, abs=0.5)
    props = bridge["properties"]
    assert props["whole_facility"] is True
    assert props["marker"] == [drawn.bridge.lng, drawn.bridge.lat]  # the bridge's own point
    assert shape(bridge["geometry"]).distance(Point(props["marker"])) < 1e-6  # on the line
    assert props["status"] == "active"
    assert detour["geometry"] == geometry(places.BRIDGE_DETOUR)
    assert fences["geometry"] == geometry(places.BRIDGE_FENCES)
    assert fences["geometry"]["type"] == "MultiLineString"
    assert entrances["geometry"] == geometry(places.PARK_GATES)
    assert entrances["geometry"]["type"] == "MultiPoint"
    for feature in (detour, fences, entrances):
        assert feature["properties"]["closure_id"] == drawn.closure.id
        assert feature["properties"]["status"] == "active"
    assert detour["properties"]["detour_zh"] == "请经环湖木栈道东段绕行至公园西门。"
    assert detour["properties"]["detour_en"] == "Walk round by the east boardwalk to the west gate."
    assert "detour_zh" not in fences["properties"]


async def test_a_planned_partial_closure_is_in_the_feed_at_its_extent(anon, drawn):
    features = {f["id"]: f for f in await read(anon)}

    planned = features[drawn.planned.id]
    props = planned["properties"]
    assert props["status"] == "planned"
    assert props["scope"] == "partial"
    # the closed part is the north footway, not the whole road bridge
    assert planned["geometry"] == geometry(places.ROAD_BRIDGE_NORTH_FOOTWAY)
    assert planned["geometry"] != geometry(places.ROAD_BRIDGE)
    assert props["whole_facility"] is False
    assert props["marker"] == [drawn.road_bridge.lng, drawn.road_bridge.lat]
    # nothing but its extent is drawn: no detour, fence or entrance features
    own = [f for f in features.values() if f["properties"]["closure_id"] == drawn.planned.id]
    assert [f["properties"]["role"] for f in own] == ["closure"]


async def test_both_languages_are_in_every_closure_feature(anon, drawn):
    for feature in await read(anon):
        props = feature["properties"]
        if props["role"] != "closure":
            continue
        for name in ("name", "site_name", "headline", "scope_label", "expected_reopening"):
            assert props[f"{name}_zh"] and props[f"{name}_en"], name
            assert props[f"{name}_zh"] != props[f"{name}_en"], name
    bridge = next(f for f in await read(anon) if f["id"] == drawn.closure.id)
    assert bridge["properties"]["name_zh"] == "平湖公园景观悬索桥"
    assert bridge["properties"]["name_en"] == "Pinghu Park Landscape Suspension Bridge"


async def test_without_an_extent_the_facilitys_drawing_then_its_point_then_nothing(drawn, now):
    """The fallbacks, on the renderer: extent, else the facility's drawing, else its point."""
    found = await public.closure(drawn.planned.id)
    assert found is not None
    asset = found.asset
    whole = dataclasses.replace(found, extent="")
    point_only = dataclasses.replace(whole, asset=dataclasses.replace(asset, geometry=""))
    nowhere = dataclasses.replace(
        point_only, asset=dataclasses.replace(asset, geometry="", lat=None, lng=None)
    )
    unpinned = dataclasses.replace(found, asset=dataclasses.replace(asset, lat=None, lng=None))

    features = json.loads(
        geojson.render([found, whole, point_only, nowhere, unpinned], base=BASE, now=now)
    )["features"]

    extent, drawing, point, none, midpoint = features
    assert extent["geometry"] == geometry(places.ROAD_BRIDGE_NORTH_FOOTWAY)
    assert drawing["geometry"] == geometry(places.ROAD_BRIDGE)
    assert drawing["properties"]["whole_facility"] is True
    assert point["geometry"] == {"type": "Point", "coordinates": [asset.lng, asset.lat]}
    assert point["properties"]["marker"] == [asset.lng, asset.lat]
    assert none["geometry"] is None and none["properties"]["marker"] is None
    # no point of its own: the marker goes to the middle of the extent (the footway line)
    footway = LineString(geometry(places.ROAD_BRIDGE_NORTH_FOOTWAY)["coordinates"])
    middle = footway.interpolate(0.5, normalized=True)
    assert midpoint["properties"]["marker"] == pytest.approx([middle.x, middle.y], abs=1e-7)


async def test_the_feed_still_answers_304_while_nothing_changes(anon, drawn):
    first = await anon.get(URL)
    again = await anon.get(URL, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


# --- CAP 1.2 -----------------------------------------------------------------------------


def cap_polygons(document: bytes) -> list[Polygon]:
    """Every ``<area><polygon>`` of every ``<info>``, read as CAP says ("lat,lon" pairs, the
    first and the last equal, at least four), as shapely polygons in (lng, lat)."""
    root = ET.fromstring(document)  # noqa: S314 - our own output
    polygons = []
    for info in root.findall("cap:info", CAP_NS):
        area = info.find("cap:area", CAP_NS)
        assert area is not None
        area_desc = area.find("cap:areaDesc", CAP_NS)
        assert area_desc is not None and area_desc.text
        assert area.find("cap:circle", CAP_NS) is None
        for element in area.findall("cap:polygon", CAP_NS):
            pairs = [tuple(map(float, p.split(","))) for p in (element.text or "").split(" ")]
            assert len(pairs) >= 4 and pairs[0] == pairs[-1]
            assert all(-90 <= lat <= 90 and -180 <= lng <= 180 for lat, lng in pairs)
            polygon = Polygon([(lng, lat) for lat, lng in pairs])
            assert polygon.is_valid
            polygons.append(polygon)
    return polygons


async def test_the_cap_area_is_a_closed_polygon_round_the_bridge_line(anon, drawn):
    response = await anon.get(f"/feeds/cap/{drawn.closure.id}.xml")
    assert response.status_code == 200

    polygons = cap_polygons(response.content)

    assert len(polygons) == 2  # one area per language, the same polygon
    assert polygons[0].equals(polygons[1])
    area = polygons[0]
    line = shape(geometry(places.BRIDGE))
    assert area.contains(line)
    # a margin of about 10 m round the 76.6 m line: between 8 and 12 m on every side
    assert geo.distance_m(*line.coords[0], area.exterior) == pytest.approx(10.0, abs=2.0)
    assert 76.6 * 16 < geo.area_m2(area) < 76.6 * 24 + 3.15 * 144
    assert len(area.exterior.coords) <= cap.MAX_PAIRS


async def test_a_point_facility_gets_a_30_m_area_and_a_polygon_extent_its_own(drawn):
    point = Point(112.5812, 26.8949)
    (around_point,) = cap.area_polygons(point)
    pairs = [tuple(map(float, p.split(","))) for p in around_point.split(" ")]
    circle = Polygon([(lng, lat) for lat, lng in pairs])
    assert circle.contains(point)
    assert geo.distance_m(point.x, point.y, circle.exterior) == pytest.approx(30.0, abs=1.0)

    fountain = shape(geometry(places.FOUNTAIN))
    (own,) = cap.area_polygons(fountain)
    pairs = [tuple(map(float, p.split(","))) for p in own.split(" ")]
    assert Polygon([(lng, lat) for lat, lng in pairs]).symmetric_difference(fountain).area < 1e-9
    assert cap.area_polygons(None) == []


def test_a_detailed_area_is_simplified_to_at_most_max_pairs():
    ring = Point(112.5812, 26.8949).buffer(0.001, quad_segs=200)  # 801 vertices
    (text,) = cap.area_polygons(ring)
    pairs = text.split(" ")
    assert 4 <= len(pairs) <= cap.MAX_PAIRS and pairs[0] == pairs[-1]
