"""The closure map beside the public lists: what the server renders for it (the drawing itself
is tested in a real browser in tests/test_public_map_browser.py), the tile settings and the
Content-Security-Policy they extend.

Without JS the page is the list alone: the map section is rendered ``hidden`` and only
static/js/map.js reveals it; its drawing is ``aria-hidden`` and the text beside it points to the
list. The tile source is a setting; ``none`` (the default) draws no tiles and keeps the policy's
``img-src 'self' data:``.
"""

from __future__ import annotations

import html
import json
import re

import pytest

from facilities import demo_places as places
from facilities.closures.choices import Scope, Status
from facilities.settings import Settings, SettingsError
from facilities.web.headers import CSP, csp_for
from facilities.web.maps import TIANDITU_SUBDOMAINS, tile_config
from tests.kit.assets import make_asset, make_site
from tests.kit.closures import make_closure


def map_section(html: str) -> str:
    found = re.search(r'<section class="closure-map".*?</section>', html, re.S)
    assert found, "no map section"
    return found.group(0)


def place_section(html: str) -> str:
    found = re.search(r'<section class="card place-map".*?</section>', html, re.S)
    assert found, "no place map section"
    return found.group(0)


def shapes(section: str) -> list[tuple[str, str, str | None]]:
    """(role, GeoJSON text, status) of every drawing the page hands the script."""
    found = re.findall(
        r'<span data-shape="(\w+)" data-geometry="([^"]*)"(?: data-status="(\w+)")?></span>',
        section,
    )
    return [(role, html.unescape(text), status or None) for role, text, status in found]


async def test_home_page_renders_a_hidden_map_after_the_list(anon, story):
    page = await anon.get("/")
    assert page.status_code == 200
    html = page.text
    section = map_section(html)
    assert re.search(r'<section class="closure-map" id="closure-map" hidden\b', section)
    assert 'data-feed="/feeds/closures.geojson"' in section
    assert 'data-tiles="none"' in section
    assert 'data-crs="wgs84"' in section
    assert 'data-basemap="/feeds/basemap.geojson"' in section  # our own basemap, no tiles
    assert "data-tiles-labels" not in section
    assert 'data-lang="zh"' in section
    assert '<div class="map-canvas" aria-hidden="true"></div>' in section
    assert 'href="#holding-title"' in section  # the text alternative points to the list
    assert "map-attribution" not in section  # no tiles, no credit
    # the list comes first: the accessible record, read before the map
    assert html.index('id="holding-title"') < html.index('id="closure-map"')
    # the scripts: Leaflet, markercluster and the map script, same-origin files
    for src in (
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
        "/static/js/basemap.js",
        "/static/js/map.js",
    ):
        assert f'<script src="{src}" defer></script>' in html
    assert page.headers["content-security-policy"] == CSP


async def test_the_map_speaks_the_readers_language(anon, story):
    page = await anon.get("/", cookies={"lang": "en"})
    section = map_section(page.text)
    assert 'data-lang="en"' in section
    assert 'data-read-notice="Read the notice"' in section
    assert "Fully closed" in section  # the legend names each scope in words


async def test_notices_page_has_the_map_too(anon, story):
    page = await anon.get("/notices")
    assert page.status_code == 200
    section = map_section(page.text)
    assert 'href="#notices-title"' in section
    assert '<script src="/static/js/map.js" defer></script>' in page.text


async def test_pages_without_a_closure_in_force_load_no_map(anon):
    for url in ("/", "/notices"):
        page = await anon.get(url)
        assert page.status_code == 200
        assert "closure-map" not in page.text
        assert "/static/js/map.js" not in page.text
        assert "/static/vendor/leaflet" not in page.text


async def test_the_notice_page_maps_its_place_not_every_closure(anon, story):
    page = await anon.get(f"/notices/{story.closure.id}")
    assert page.status_code == 200
    assert "/static/js/map.js" not in page.text  # not the closure map of the lists
    assert '<script src="/static/js/notice_map.js" defer></script>' in page.text
    section = place_section(page.text)
    # the story's bridge is only a point: the closed extent is that point (the whole facility)
    bridge = story.bridge
    point = f'{{"type":"Point","coordinates":[{bridge.lng},{bridge.lat}]}}'
    assert shapes(section) == [("facility", point, None), ("extent", point, "extended")]


async def test_the_geojson_feed_carries_the_lists_headline(anon, story):
    document = json.loads((await anon.get("/feeds/closures.geojson")).content)
    (feature,) = [f for f in document["features"] if f["id"] == story.closure.id]
    assert feature["properties"]["headline_en"] == "Fully closed"
    assert feature["properties"]["headline_zh"] == "全部封闭"


async def test_the_vendored_libraries_are_served_from_static(anon):
    for path, marker in (
        ("/static/vendor/leaflet/leaflet.js", b'version="1.9.4"'),
        ("/static/vendor/leaflet.markercluster/leaflet.markercluster.js", b"MarkerClusterGroup"),
        ("/static/vendor/leaflet/leaflet.css", b".leaflet-container"),
        ("/static/vendor/leaflet.markercluster/MarkerCluster.css", b".leaflet-cluster-anim"),
    ):
        response = await anon.get(path)
        assert response.status_code == 200, path
        assert marker in response.content, path


# --- settings and the policy -------------------------------------------------------------------


def test_tiles_default_to_none():
    settings = Settings.from_env({})
    assert settings.map_tiles == "none"
    assert settings.map_tiles_crs == "wgs84"
    assert settings.map_attribution == ""


@pytest.mark.parametrize(
    "value",
    [
        "https://tile.example/{z}/{x}/{y}.png",
        "https://{s}.tile.example/{z}/{x}/{y}.png",
        "http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png?style=light",
    ],
)
def test_a_tile_url_template_is_accepted(value):
    assert Settings.from_env({"FACILITIES_MAP_TILES": value}).map_tiles == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tile.example/{z}/{x}/{y}.png", "http"),
        ("https://tile.example/{z}/{y}.png", "{z}, {x} and {y}"),
        ("https://tile.example/{z}/{x}/{y}.png; script-src *", "without spaces"),
        ("https://tile.{s}.example/{z}/{x}/{y}.png", "plain host"),
        ("https://user@tile.example/{z}/{x}/{y}.png", "plain host"),
    ],
)
def test_a_bad_tile_setting_names_the_variable(value, message):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"FACILITIES_MAP_TILES": value})
    assert "FACILITIES_MAP_TILES" in str(caught.value)
    assert message in str(caught.value)


def test_the_tiles_coordinate_system_is_one_of_two():
    assert Settings.from_env({"FACILITIES_MAP_TILES_CRS": "gcj02"}).map_tiles_crs == "gcj02"
    with pytest.raises(SettingsError, match="FACILITIES_MAP_TILES_CRS"):
        Settings.from_env({"FACILITIES_MAP_TILES_CRS": "bd09"})


def test_the_policy_admits_the_tile_origin_only_when_tiles_are_configured():
    assert csp_for("none") == CSP
    assert "img-src 'self' data:;" in CSP
    tiled = csp_for("https://tile.example/{z}/{x}/{y}.png")
    assert "img-src 'self' data: https://tile.example;" in tiled
    assert "script-src 'self';" in tiled and "default-src 'self';" in tiled
    assert "img-src 'self' data: https://*.tile.example;" in csp_for(
        "https://{s}.tile.example/{z}/{x}/{y}.png"
    )
    assert "img-src 'self' data: http://127.0.0.1:8080;" in csp_for(
        "http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png"
    )


async def test_the_legend_says_planned_closures_are_on_the_map(anon, story):
    section = map_section((await anon.get("/", cookies={"lang": "en"})).text)
    assert "planned closures are only in the list" not in section
    assert "The map shows the closures in force and the planned ones" in section
    assert 'data-legend="extent"' in section


# --- the map of one place: a notice, a facility ------------------------------------------------


async def drawn_bridge_closure(now):
    """The demo's bridge, drawn, fully closed with its detour, fences and open gates."""
    park = await make_site(
        "平湖公园", name_en="Pinghu Park", boundary=places.PARK_BOUNDARY, water=places.PARK_WATER
    )
    bridge = await make_asset(
        park, code="GX-QL-PH-001", geometry=places.BRIDGE, length_m=places.BRIDGE_LENGTH_M
    )
    closure = await make_closure(
        asset=bridge,
        now=now,
        detour_zh="经东侧栈道至西门绕行",
        detour_en="Round the east boardwalk to the west gate",
        detour_line=places.BRIDGE_DETOUR,
        fences=places.BRIDGE_FENCES,
        entrances=places.PARK_GATES,
    )
    return bridge, closure


async def test_a_notice_hands_its_drawings_to_the_map(anon, now):
    _bridge, closure = await drawn_bridge_closure(now)
    page = await anon.get(f"/notices/{closure.id}", cookies={"lang": "en"})
    assert page.status_code == 200
    section = place_section(page.text)
    assert re.search(r'<section class="card place-map" id="place-map" hidden\b', section)
    assert '<div class="map-canvas place-canvas" aria-hidden="true"></div>' in section
    assert 'href="#detour-title"' in section  # the words of the detour are the text alternative
    assert 'id="detour-title"' in page.text
    assert 'data-detour-label="Detour"' in section
    # whole facility closed (no extent drawn): the extent is the bridge's own line
    assert shapes(section) == [
        ("facility", places.BRIDGE, None),
        ("extent", places.BRIDGE, "active"),
        ("fences", places.BRIDGE_FENCES, None),
        ("detour", places.BRIDGE_DETOUR, None),
        ("entrances", places.PARK_GATES, None),
    ]
    for kind in ("facility", "extent-in-force", "detour", "fences", "entrances"):
        assert f'data-legend="{kind}"' in section
    assert "Blue dashes: the detour" in section


async def test_a_partial_closure_maps_its_own_extent(anon, now):
    site = await make_site("雁鸣溪广场", name_en="Plaza", boundary=places.PLAZA_BOUNDARY)
    bridge = await make_asset(site, code="GX-QL-YM-001", geometry=places.ROAD_BRIDGE, length_m=32)
    closure = await make_closure(
        asset=bridge,
        now=now,
        scope=Scope.PARTIAL,
        affected_part_zh="北侧人行道",
        extent=places.ROAD_BRIDGE_NORTH_FOOTWAY,
    )
    section = place_section((await anon.get(f"/notices/{closure.id}")).text)
    assert shapes(section) == [
        ("facility", places.ROAD_BRIDGE, None),
        ("extent", places.ROAD_BRIDGE_NORTH_FOOTWAY, str(Status.ACTIVE)),
    ]


async def test_a_facility_page_maps_the_facility_and_what_is_closed_now(anon, now):
    bridge, _closure = await drawn_bridge_closure(now)
    page = await anon.get(f"/facilities/{bridge.id}")
    assert page.status_code == 200
    assert '<script src="/static/js/notice_map.js" defer></script>' in page.text
    section = place_section(page.text)
    assert shapes(section) == [
        ("facility", places.BRIDGE, None),
        ("extent", places.BRIDGE, "active"),
    ]


async def test_a_place_without_location_has_no_map(anon, now):
    closure = await make_closure(now=now)  # a facility with neither a drawing nor a point
    for url in (f"/notices/{closure.id}", f"/facilities/{closure.asset}"):
        page = await anon.get(url)
        assert page.status_code == 200
        assert "place-map" not in page.text
        assert "/static/js/notice_map.js" not in page.text
        assert "/static/vendor/leaflet" not in page.text


# --- Tianditu ----------------------------------------------------------------------------------

KEY = "0123456789abcdef0123456789abcdef"


def test_tianditu_needs_its_key():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"FACILITIES_MAP_TILES": "tianditu"})
    assert "FACILITIES_TIANDITU_KEY" in str(caught.value)
    settings = Settings.from_env(
        {"FACILITIES_MAP_TILES": "tianditu", "FACILITIES_TIANDITU_KEY": KEY}
    )
    assert settings.map_tiles == "tianditu" and settings.tianditu_key == KEY
    assert KEY not in repr(settings)  # a secret: never in a log of the settings


def test_a_malformed_tianditu_key_is_refused_without_echoing_it():
    bad = "abc&callback=evil1234"
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"FACILITIES_MAP_TILES": "tianditu", "FACILITIES_TIANDITU_KEY": bad})
    assert "FACILITIES_TIANDITU_KEY" in str(caught.value)
    assert bad not in str(caught.value)


def test_tianditu_draws_its_map_and_its_labels_from_eight_hosts():
    config = tile_config("tianditu", "", "gcj02", KEY)
    assert config.crs == "wgs84"  # CGCS2000: no display shift, whatever the crs setting says
    assert config.attribution == "天地图"
    assert config.subdomains == TIANDITU_SUBDOMAINS == "01234567"
    assert config.tiles.startswith("https://t{s}.tianditu.gov.cn/vec_w/wmts?")
    assert config.labels.startswith("https://t{s}.tianditu.gov.cn/cva_w/wmts?")
    for template, layer in ((config.tiles, "vec"), (config.labels, "cva")):
        assert f"LAYER={layer}&" in template and "TILEMATRIXSET=w&" in template
        assert "TILEMATRIX={z}&TILEROW={y}&TILECOL={x}" in template
        assert template.endswith(f"&tk={KEY}")
    assert tile_config("tianditu", "天地图 GS(2024)0650号", "wgs84", KEY).attribution == (
        "天地图 GS(2024)0650号"
    )
    assert tile_config("none", "", "wgs84") == tile_config("none", "", "wgs84", "")
    assert tile_config("none", "", "wgs84").labels == ""


def test_the_policy_admits_tianditus_hosts():
    policy = csp_for("tianditu")
    assert "img-src 'self' data: https://*.tianditu.gov.cn;" in policy
    assert "script-src 'self';" in policy and "connect-src" not in policy
