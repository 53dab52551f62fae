"""The closure map beside the public lists: what the server renders for it (the drawing itself
is tested in a real browser in tests/test_public_map_browser.py), the tile settings and the
Content-Security-Policy they extend.

Without JS the page is the list alone: the map section is rendered ``hidden`` and only
static/js/map.js reveals it; its drawing is ``aria-hidden`` and the text beside it points to the
list. The tile source is a setting; ``none`` (the default) draws no tiles and keeps the policy's
``img-src 'self' data:``.
"""

from __future__ import annotations

import json
import re

import pytest

from facilities.settings import Settings, SettingsError
from facilities.web.headers import CSP, csp_for


def map_section(html: str) -> str:
    found = re.search(r'<section class="closure-map".*?</section>', html, re.S)
    assert found, "no map section"
    return found.group(0)


async def test_home_page_renders_a_hidden_map_after_the_list(anon, story):
    page = await anon.get("/")
    assert page.status_code == 200
    html = page.text
    section = map_section(html)
    assert re.search(r'<section class="closure-map" id="closure-map" hidden\b', section)
    assert 'data-feed="/feeds/closures.geojson"' in section
    assert 'data-tiles="none"' in section
    assert 'data-crs="wgs84"' in section
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


async def test_the_notice_page_has_no_map(anon, story):
    page = await anon.get(f"/notices/{story.closure.id}")
    assert page.status_code == 200
    assert "/static/js/map.js" not in page.text


async def test_the_geojson_feed_carries_the_lists_headline(anon, story):
    document = json.loads((await anon.get("/feeds/closures.geojson")).content)
    (feature,) = document["features"]
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
