"""Our own basemap, ``/feeds/basemap.geojson``: what the maps draw under everything when no tile
source is configured (the offline default). Its drawing in a browser is tested in
tests/test_public_map_browser.py.

It carries public drawings only: site boundaries and water, and the lines and areas of the
facilities in use (a decommissioned one is gone from the ground, so from the map), each with
its names in both languages, and it is served like every public feed (ETag, 304).
"""

from __future__ import annotations

import json

from facilities import demo_places as places
from facilities.assets.choices import AssetType, Lifecycle
from tests.kit.assets import make_asset, make_site


async def pinghu() -> None:
    """The demo's Pinghu Park: boundary and lake, the bridge and the boardwalk (lines), the
    playground (an area), the pavilion (a point) and a retired path."""
    park = await make_site(
        "平湖公园", name_en="Pinghu Park", boundary=places.PARK_BOUNDARY, water=places.PARK_WATER
    )
    await make_site("空白公园", name_en="Undrawn Park")  # no drawing: not on the basemap
    await make_asset(
        park,
        code="GX-QL-PH-001",
        name_zh="平湖景观悬索桥",
        name_en="Pinghu suspension bridge",
        geometry=places.BRIDGE,
        length_m=76.6,
    )
    await make_asset(
        park,
        code="GX-ZD-PH-001",
        name_zh="环湖栈道",
        name_en="Lakeside boardwalk",
        asset_type=AssetType.BOARDWALK,
        geometry=places.BOARDWALK,
    )
    await make_asset(
        park,
        code="GX-YL-PH-001",
        name_zh="儿童游乐场",
        name_en="Playground",
        asset_type=AssetType.PLAYGROUND,
        geometry=places.PLAYGROUND,
    )
    await make_asset(
        park,
        code="GX-TG-PH-001",
        name_zh="湖心亭",
        name_en="Pavilion",
        asset_type=AssetType.PAVILION,
        geometry=places.PAVILION,
    )
    await make_asset(
        park,
        code="GX-ZD-PH-009",
        name_zh="旧栈道",
        name_en="Old boardwalk",
        asset_type=AssetType.BOARDWALK,
        lifecycle=Lifecycle.DECOMMISSIONED,
        geometry=places.BRIDGE_DETOUR,
    )


def by_layer(document: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for feature in document["features"]:
        found.setdefault(feature["properties"]["layer"], []).append(feature)
    return found


async def test_the_basemap_draws_sites_water_paths_and_areas(anon):
    await pinghu()
    response = await anon.get("/feeds/basemap.geojson")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    document = json.loads(response.content)
    assert document["type"] == "FeatureCollection"
    layers = by_layer(document)
    assert set(layers) == {"site", "water", "path", "area"}

    (site,) = layers["site"]
    assert site["properties"]["name_zh"] == "平湖公园"
    assert site["properties"]["name_en"] == "Pinghu Park"
    assert site["geometry"] == json.loads(places.PARK_BOUNDARY)
    (water,) = layers["water"]
    assert water["geometry"] == json.loads(places.PARK_WATER)

    paths = {f["properties"]["name_en"]: f for f in layers["path"]}
    assert set(paths) == {"Pinghu suspension bridge", "Lakeside boardwalk"}  # not the retired one
    assert paths["Pinghu suspension bridge"]["geometry"] == json.loads(places.BRIDGE)
    assert paths["Pinghu suspension bridge"]["geometry"]["type"] == "LineString"
    assert [f["properties"]["name_en"] for f in layers["area"]] == ["Playground"]
    assert layers["area"][0]["properties"]["asset_type"] == "playground"
    # drawn bottom to top: sites, water, areas, paths
    order = [f["properties"]["layer"] for f in document["features"]]
    assert order == sorted(order, key=["site", "water", "area", "path"].index)
    # nothing but names and shapes: no codes, ids of rows or internal fields
    for feature in document["features"]:
        assert set(feature["properties"]) <= {"layer", "name_zh", "name_en", "asset_type"}


async def test_an_empty_register_gives_an_empty_basemap(anon):
    document = json.loads((await anon.get("/feeds/basemap.geojson")).content)
    assert document == {"type": "FeatureCollection", "features": []}


async def test_the_basemap_is_served_conditionally_and_changes_with_the_register(anon):
    await pinghu()
    first = await anon.get("/feeds/basemap.geojson")
    etag = first.headers["etag"]
    assert etag and first.headers.get("last-modified")
    again = await anon.get("/feeds/basemap.geojson", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    # the same bytes in either language (the names are in both)
    english = await anon.get("/feeds/basemap.geojson", cookies={"lang": "en"})
    assert english.content == first.content

    site = await make_site("新公园", name_en="New Park", boundary=places.PLAZA_BOUNDARY)
    await make_asset(site, code="GX-QL-YM-001", geometry=places.ROAD_BRIDGE, length_m=32.0)
    changed = await anon.get("/feeds/basemap.geojson", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    names = {f["properties"]["name_en"] for f in json.loads(changed.content)["features"]}
    assert "New Park" in names
