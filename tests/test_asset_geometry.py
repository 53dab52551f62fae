"""Asset geometry (issue 17): a drawn line, area or point stored as GeoJSON with an indexed
bounding box, checked against the stated length, given as GeoJSON, WKT or "lat, lng" through
the API, the form and CSV, and found again with ``?bbox=west,south,east,north``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from facilities.accounts.permissions import SYSTEM
from facilities.assets import csvio
from facilities.assets import services as assets
from facilities.assets.schemas import AssetFilters
from facilities.assets.tables import Asset, Site
from facilities.lib import geo
from tests.kit.assets import make_asset, make_site
from tests.kit.clients import post_form
from tests.kit.pages import Page

START = (112.5798, 26.8955)  # lng, lat: Hengyang


def line_of(metres: float, azimuth: float = 90.0) -> list[list[float]]:
    """A straight line from START, ``metres`` long on the ellipsoid."""
    lng, lat, _back = geo.GEOD.fwd(START[0], START[1], azimuth, metres)
    return [list(START), [round(lng, 7), round(lat, 7)]]


def bridge(site: int, geometry: Any, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "GX-QL-PH-009",
        "name_zh": "平湖公园九曲桥",
        "asset_type": "footbridge",
        "site_id": site,
        "length_m": 76.6,
        "geometry": geometry if isinstance(geometry, str) else json.dumps(geometry),
    }
    body.update(fields)
    return body


# --- stored and returned -------------------------------------------------------------------


async def test_a_line_of_the_stated_length_is_stored_and_returned_as_geojson_with_its_bbox(api):
    site = await make_site("平湖公园")
    coordinates = line_of(76.6)
    alice = await api()

    created = await alice.post(
        "/api/v1/assets", bridge(site.id, {"type": "LineString", "coordinates": coordinates})
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["geometry"] == {"type": "LineString", "coordinates": coordinates}
    assert body["lat"] is None and body["lng"] is None
    shown = await alice.get(f"/api/v1/assets/{body['id']}")
    assert shown.json()["geometry"] == body["geometry"]
    row = await Asset.objects().where(Asset.id == body["id"]).first()
    assert json.loads(row.geometry) == body["geometry"]
    assert (row.bbox_west, row.bbox_south, row.bbox_east, row.bbox_north) == pytest.approx(
        (coordinates[0][0], coordinates[0][1], coordinates[1][0], coordinates[1][1])
    )
    measured = geo.length_m(geo.parse_geometry(row.geometry, "geometry"))
    assert measured == pytest.approx(76.6, abs=0.05)


async def test_a_line_far_longer_than_the_bridge_is_refused_naming_geometry_and_lengths(api):
    site = await make_site("平湖公园")
    alice = await api()

    response = await alice.post(
        "/api/v1/assets", bridge(site.id, {"type": "LineString", "coordinates": line_of(2000)})
    )

    assert response.status_code == 400
    extra = {item["key"]: item["message"] for item in response.json()["extra"]}
    assert set(extra) == {"geometry"}
    assert "2.0" in extra["geometry"] and "76.6" in extra["geometry"]
    assert await Asset.count() == 0


async def test_a_bow_tie_polygon_is_refused(api):
    site = await make_site("平湖公园")
    alice = await api()
    bow_tie = "POLYGON ((112.58 26.89, 112.59 26.90, 112.59 26.89, 112.58 26.90, 112.58 26.89))"

    response = await alice.post("/api/v1/assets", bridge(site.id, bow_tie, length_m=None))

    assert response.status_code == 400
    assert {item["key"] for item in response.json()["extra"]} == {"geometry"}
    assert await Asset.count() == 0


async def test_an_unreadable_or_unaccepted_geometry_is_refused(api):
    site = await make_site("平湖公园")
    alice = await api()

    for text in ("not a shape", "MULTIPOINT ((112.58 26.89), (112.59 26.9))", "{broken"):
        response = await alice.post("/api/v1/assets", bridge(site.id, text, length_m=None))
        assert response.status_code == 400, text
        assert {item["key"] for item in response.json()["extra"]} == {"geometry"}, text


async def test_wkt_input_is_stored_as_geojson(personas):
    site = await make_site("平湖公园")
    (lng1, lat1), (lng2, lat2) = line_of(76.6)

    asset = await make_asset(
        site, length_m=76.6, geometry=f"LINESTRING ({lng1} {lat1}, {lng2} {lat2})"
    )

    assert json.loads(asset.geometry) == {
        "type": "LineString",
        "coordinates": [[lng1, lat1], [lng2, lat2]],
    }
    assert asset.bbox_west == pytest.approx(lng1) and asset.bbox_east == pytest.approx(lng2)


async def test_a_lat_lng_point_fills_the_empty_coordinates_and_makes_a_point_bbox(personas):
    site = await make_site("平湖公园")

    asset = await make_asset(site, geometry="26.8955, 112.5798")

    assert json.loads(asset.geometry) == {"type": "Point", "coordinates": [112.5798, 26.8955]}
    assert (asset.lat, asset.lng) == (26.8955, 112.5798)
    assert (asset.bbox_west, asset.bbox_south, asset.bbox_east, asset.bbox_north) == (
        112.5798,
        26.8955,
        112.5798,
        26.8955,
    )


async def test_latitude_and_longitude_alone_keep_no_geometry_but_a_point_bbox(api):
    site = await make_site("平湖公园")

    asset = await make_asset(site, lat=26.9, lng=112.6)

    assert asset.geometry == ""
    assert (asset.bbox_west, asset.bbox_south, asset.bbox_east, asset.bbox_north) == (
        112.6,
        26.9,
        112.6,
        26.9,
    )
    alice = await api()
    assert (await alice.get(f"/api/v1/assets/{asset.id}")).json()["geometry"] is None


async def test_an_edit_that_clears_the_geometry_clears_its_bbox(api):
    site = await make_site("平湖公园")
    alice = await api()
    created = await alice.post(
        "/api/v1/assets", bridge(site.id, {"type": "LineString", "coordinates": line_of(76.6)})
    )
    body = created.json()

    updated = await alice.put(
        f"/api/v1/assets/{body['id']}", bridge(site.id, "", version=body["version"])
    )

    assert updated.status_code == 200, updated.text
    assert updated.json()["geometry"] is None
    row = await Asset.objects().where(Asset.id == body["id"]).first()
    assert (row.geometry, row.bbox_west, row.bbox_north) == ("", None, None)


async def test_the_openapi_description_shows_geometry_and_bbox(api):
    alice = await api()

    schema = (await alice.get("/schema/openapi.json")).json()

    out = schema["components"]["schemas"]["AssetOut"]["properties"]
    assert "geometry" in out
    operation = schema["paths"]["/api/v1/assets"]["get"]
    assert "bbox" in {p["name"] for p in operation["parameters"]}
    assert "west,south,east,north" in operation["description"]


# --- the form ------------------------------------------------------------------------------


async def test_the_form_shows_the_geometry_error_beside_the_field_and_keeps_the_text(login):
    site = await make_site("平湖公园")
    alice = await login("alice")
    typed = json.dumps({"type": "LineString", "coordinates": line_of(2000)})
    form = {
        "code": "GX-QL-PH-009",
        "asset_type": "footbridge",
        "name_zh": "平湖公园九曲桥",
        "site_id": str(site.id),
        "lifecycle": "in_use",
        "length_m": "76.6",
        "geometry": typed,
    }

    response = await post_form(alice, "/assets", form)

    assert response.status_code == 400
    page = Page(response.text)
    assert set(page.errors) == {"geometry"}
    assert "76.6" in page.errors["geometry"]
    assert page.values["geometry"] == typed
    assert await Asset.count() == 0

    form["geometry"] = json.dumps({"type": "LineString", "coordinates": line_of(76.6)})
    saved = await post_form(alice, "/assets", form)
    assert saved.status_code == 303
    asset = await Asset.objects().first()
    edit = Page((await alice.get(f"/assets/{asset.id}/edit")).text)
    assert json.loads(edit.values["geometry"])["type"] == "LineString"


# --- CSV -----------------------------------------------------------------------------------


async def test_csv_export_writes_wkt_and_import_reads_it_back_unchanged(personas, now):
    site = await make_site("平湖公园")
    coordinates = line_of(76.6)
    asset = await make_asset(
        site,
        code="GX-QL-PH-009",
        length_m=76.6,
        geometry=json.dumps({"type": "LineString", "coordinates": coordinates}),
    )
    (lng1, lat1), (lng2, lat2) = coordinates

    text = "".join(
        [line async for line in csvio.export_lines(assets.iter_assets(SYSTEM, AssetFilters(), now))]
    )
    rows = csvio.read_rows(text)
    assert rows[0]["geometry"] == f"LINESTRING ({lng1} {lat1}, {lng2} {lat2})"

    unchanged = await csvio.import_rows(SYSTEM, rows, now)
    assert (unchanged.ok, unchanged.unchanged, unchanged.updated) == (True, 1, 0)

    rows[0]["geometry"] = "POLYGON ((112.58 26.89, 112.581 26.89, 112.581 26.891, 112.58 26.89))"
    changed = await csvio.import_rows(SYSTEM, rows, now)
    assert (changed.ok, changed.updated) == (True, 1)
    row = await Asset.objects().where(Asset.id == asset.id).first()
    assert json.loads(row.geometry)["type"] == "Polygon"
    assert (row.bbox_west, row.bbox_south, row.bbox_east, row.bbox_north) == pytest.approx(
        (112.58, 26.89, 112.581, 26.891)
    )

    rows[0]["geometry"] = "LINESTRING (112.58 26.89, 112.6 26.89)"  # 2 km, stated 76.6 m
    refused = await csvio.import_rows(SYSTEM, rows, now)
    assert [(line, field) for line, field, _message in refused.errors] == [(2, "geometry")]


# --- ?bbox= --------------------------------------------------------------------------------


async def test_bbox_returns_only_the_assets_that_meet_the_box(api):
    site = await make_site("平湖公园")
    other = await make_site("雁鸣溪广场")
    await make_asset(site, code="GX-IN-001", lat=26.895, lng=112.58)  # a point inside
    await make_asset(  # a line that starts outside and crosses into the box
        site, code="GX-IN-002", geometry="LINESTRING (112.55 26.90, 112.585 26.90)"
    )
    await make_asset(  # an area that holds the whole box
        other,
        code="GX-IN-003",
        geometry="POLYGON ((112.5 26.8, 112.7 26.8, 112.7 27.0, 112.5 27.0, 112.5 26.8))",
    )
    await make_asset(site, code="GX-OUT-001", lat=26.95, lng=112.58)  # north of it
    await make_asset(site, code="GX-OUT-002", geometry="LINESTRING (112.62 26.89, 112.63 26.89)")
    await make_asset(site, code="GX-OUT-003")  # nowhere
    alice = await api()
    box = "112.57,26.88,112.60,26.91"

    found = await alice.get("/api/v1/assets", bbox=box)
    combined = await alice.get("/api/v1/assets", bbox=box, site=site.id)

    assert found.status_code == 200, found.text
    assert [a["code"] for a in found.json()["items"]] == ["GX-IN-001", "GX-IN-002", "GX-IN-003"]
    assert found.json()["total"] == 3
    assert [a["code"] for a in combined.json()["items"]] == ["GX-IN-001", "GX-IN-002"]
    everything = await alice.get("/api/v1/assets")
    assert everything.json()["total"] == 6


@pytest.mark.parametrize(
    "box",
    [
        "112.57,26.88,112.60",
        "112.57,26.88,112.60,26.91,1",
        "a,b,c,d",
        "112.57,26.88,112.60,nan",
        "181,26.88,182,26.91",
        "112.57,-91,112.60,26.91",
        "112.60,26.88,112.57,26.91",
        "112.57,26.91,112.60,26.88",
        "",
    ],
)
async def test_a_malformed_bbox_is_a_400_naming_bbox(api, box):
    await make_asset(await make_site("平湖公园"), lat=26.895, lng=112.58)
    alice = await api()

    response = await alice.get("/api/v1/assets", bbox=box)

    if box == "":  # no box: no filter
        assert response.status_code == 200
        return
    assert response.status_code == 400, response.text
    assert {item["key"] for item in response.json()["extra"]} == {"bbox"}


# --- a site's boundary ---------------------------------------------------------------------

PARK = "POLYGON ((112.578 26.894, 112.582 26.894, 112.582 26.898, 112.578 26.898, 112.578 26.894))"


async def test_a_site_boundary_is_stored_as_geojson_with_its_bbox_and_a_bow_tie_is_refused(api):
    alice = await api()

    created = await alice.post("/api/v1/sites", {"name_zh": "平湖公园", "boundary": PARK})
    bow_tie = await alice.post(
        "/api/v1/sites",
        {
            "name_zh": "雁鸣溪广场",
            "boundary": "POLYGON ((112.58 26.89, 112.59 26.9, 112.59 26.89, 112.58 26.9, "
            "112.58 26.89))",
        },
    )

    assert created.status_code == 201, created.text
    assert created.json()["boundary"]["type"] == "Polygon"
    assert created.json()["boundary"]["coordinates"][0][0] == [112.578, 26.894]
    row = await Site.objects().where(Site.id == created.json()["id"]).first()
    assert (row.bbox_west, row.bbox_south, row.bbox_east, row.bbox_north) == (
        112.578,
        26.894,
        112.582,
        26.898,
    )
    assert bow_tie.status_code == 400
    assert {item["key"] for item in bow_tie.json()["extra"]} == {"boundary"}


async def test_an_asset_drawn_outside_its_site_boundary_is_refused(api):
    site = await make_site("平湖公园", boundary=PARK)
    alice = await api()
    inside = "LINESTRING (112.5790 26.8950, 112.5797 26.8950)"  # about 70 m, in the park
    outside = "LINESTRING (112.5810 26.8950, 112.5835 26.8950)"  # runs 300 m out of it

    refused = await alice.post(
        "/api/v1/assets", bridge(site.id, outside, length_m=None, code="GX-QL-PH-010")
    )
    accepted = await alice.post("/api/v1/assets", bridge(site.id, inside, length_m=70.0))

    assert refused.status_code == 400
    extra = {item["key"]: item["message"] for item in refused.json()["extra"]}
    assert set(extra) == {"geometry"}
    assert accepted.status_code == 201, accepted.text


async def test_the_site_form_keeps_a_refused_boundary_beside_its_error(login):
    alice = await login("alice")
    typed = "POLYGON ((112.58 26.89, 112.59 26.9))"

    response = await post_form(
        alice, "/sites", {"name_zh": "平湖公园", "kind": "park", "boundary": typed}
    )

    assert response.status_code == 400
    page = Page(response.text)
    assert set(page.errors) == {"boundary"}
    assert page.values["boundary"] == typed
    assert await Site.count() == 0
