"""The closure map in the system Chromium (Playwright), against a real `facilities serve` process.

The demo plus four closures of our own: three at one spot (so they cluster at every zoom) and one
a few kilometres away. With no tile source (the default) the map draws every closure of the
GeoJSON feed as a marker or inside a cluster, each popup links to its notice, and not a single
request leaves loopback. With a tile source configured (a tiny tile server on loopback) the map
asks it for tiles and the page's policy lets the browser load them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.kit.browser import Server, pages_for, start_server
from tests.kit.servers import free_port

pytestmark = pytest.mark.browser

SPOT = (112.6000, 26.9000)  # lng, lat: three closures within two metres of each other
AWAY = (112.6300, 26.9300)  # about 4 km north-east
SEEDED = {  # name_zh: (lng, lat, scope)
    "地图测试桥甲": (SPOT[0], SPOT[1], "full"),
    "地图测试桥乙": (SPOT[0] + 0.00001, SPOT[1], "partial"),
    "地图测试桥丙": (SPOT[0], SPOT[1] + 0.00001, "restricted"),
    "地图测试远桥": (AWAY[0], AWAY[1], "partial"),
}


async def seed_closures(shift_seconds: float) -> list[int]:
    """Four closures in force now (by the wall clock the server reads); their ids."""
    from facilities.closures.choices import Scope
    from facilities.lib.clock import utcnow
    from tests.kit.assets import make_asset, make_site
    from tests.kit.closures import make_closure

    now = utcnow() + dt.timedelta(seconds=shift_seconds) - dt.timedelta(minutes=5)
    site = await make_site("地图测试公园", name_en="Map Test Park")
    ids = []
    for index, (name, (lng, lat, scope)) in enumerate(SEEDED.items()):
        asset = await make_asset(
            site,
            code=f"GX-MAP-{index:03d}",
            name_zh=name,
            name_en=f"Map bridge {index}",
            lng=lng,
            lat=lat,
        )
        part = {
            "full": {},
            "partial": {"affected_part_zh": "东侧桥面"},
            "restricted": {"crowd_limit": 20},
        }[scope]
        closure = await make_closure(asset=asset, now=now, scope=Scope(scope), **part)
        ids.append(int(closure.id))
    return ids


def png() -> bytes:
    """A valid 1x1 grey PNG (what every tile path answers)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1x1, 8-bit greyscale
    pixels = zlib.compress(b"\x00\xcc")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


class TileServer:
    """A tile source on loopback: one PNG for any path; remembers the paths asked for."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        image, paths = png(), self.paths

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the standard library names it so
                paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(image)))
                self.end_headers()
                self.wfile.write(image)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.port = self.httpd.server_address[1]
        self.template = f"http://127.0.0.1:{self.port}/tiles/{{z}}/{{x}}/{{y}}.png"

    @contextlib.contextmanager
    def running(self) -> Iterator[TileServer]:
        thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()
            thread.join(timeout=10)


@pytest.fixture(scope="module")
def map_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with start_server(
        tmp_path_factory.mktemp("map-browser"), seed="tests.test_public_map_browser:seed_closures"
    ) as running:
        yield running


@pytest.fixture
def desktop(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A desktop page that asks for reduced motion (the map then zooms and spreads clusters
    without animation, as it does for readers who ask for that)."""
    with pages_for(request, browser) as pages:
        yield pages.open("desktop", "zh-CN", reduced_motion="reduce")


def closures_of(feed: dict[str, Any]) -> list[dict[str, Any]]:
    """The feed's closures a map can place (detours, fences and entrances are the notice's)."""
    return [
        f
        for f in feed["features"]
        if f["properties"].get("role", "closure") == "closure"
        and (f["properties"].get("marker") or f["geometry"])
    ]


def record_requests(page: Any) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def test_home_map_draws_every_closure_links_its_notice_and_stays_on_loopback(map_server, desktop):
    from playwright.sync_api import expect

    base, page = map_server.url, desktop
    requests = record_requests(page)
    page.goto(f"{base}/")
    section = page.locator("#closure-map")
    expect(section).to_be_visible()  # the script revealed it
    expect(section).to_have_attribute("data-drawn", re.compile(r"^\d+$"))

    feed = httpx.get(f"{base}/feeds/closures.geojson", timeout=10).json()
    located = closures_of(feed)
    names = {f["properties"]["name_zh"] for f in located}
    # ours, and the demo's two: the bridge in force and the road bridge's planned footway closure
    assert set(SEEDED) <= names and len(located) == len(SEEDED) + 2
    assert [f["properties"]["status"] for f in located].count("planned") == 1

    # every closure of the feed is on the map, in force or planned: a marker of its own, or
    # counted in a cluster
    expect(section).to_have_attribute("data-drawn", str(len(located)))
    markers = section.locator(".map-marker")
    clusters = section.locator(".map-cluster")
    expect(clusters.first).to_be_visible()  # at least the three at one spot
    counted = sum(int(text.strip()) for text in clusters.all_inner_texts())
    assert markers.count() + counted == len(located)
    assert page.locator(".leaflet-tile").count() == 0  # no tile source: no tiles at all
    # each drawn extent (the demo's bridge line, the road bridge's footway) under the markers,
    # the planned one dashed
    drawn = [f for f in located if f["geometry"] and f["geometry"]["type"] != "Point"]
    assert len(drawn) == 2
    expect(section).to_have_attribute("data-extents", str(len(drawn)))
    expect(section.locator("path.closure-extent")).to_have_count(len(drawn))
    dashed = section.locator("path.closure-extent.status-planned")
    expect(dashed).to_have_count(1)
    assert dashed.get_attribute("stroke-dasharray")

    # the legend names what is on the map in words (the demo's planned closure included)
    legend = section.locator(".map-legend")
    expect(legend.locator("[data-legend=full]")).to_be_visible()
    expect(legend.locator("[data-legend=in-force]")).to_be_visible()
    expect(legend.locator("[data-legend=planned]")).to_be_visible()
    expect(legend.locator("[data-legend=extent]")).to_be_visible()

    # clicks on the clusters spread them (zooming in, then fanning out the three at one spot)
    # until every closure near the spot has its own marker
    for _ in range(8):
        if not clusters.count():
            break
        clusters.first.click()
        page.wait_for_function("() => !document.querySelector('#closure-map .leaflet-zoom-anim')")
    spot = [name for name, (lng, _lat, _scope) in SEEDED.items() if abs(lng - SPOT[0]) < 0.001]
    for name in spot:
        expect(section.locator(f".map-marker[title='{name}']")).to_have_count(1)
    located = [f for f in located if f["properties"]["name_zh"] in spot]

    # each marker's popup: the facility, the closure's headline and a link to its notice
    popup = page.locator(".leaflet-popup-content")
    for feature in located:
        props = feature["properties"]
        marker = section.locator(f".map-marker[title='{props['name_zh']}']")
        expect(marker).to_have_count(1)
        scope = "scope-" + props["scope"]
        assert scope in (marker.get_attribute("class") or "")
        marker.dispatch_event("click")  # the marker may sit under the edge after a pan
        expect(popup.locator(".map-popup-name")).to_have_text(props["name_zh"])
        expect(popup).to_contain_text(props["headline_zh"])
        link = popup.locator("a")
        expect(link).to_have_attribute("href", f"/notices/{props['closure_id']}")
        # the close button by its own click event: a pointer click lands wherever the popup's
        # pan left it (a slow machine may still be moving the map)
        page.locator(".leaflet-popup-close-button").dispatch_event("click")
        expect(popup).to_have_count(0)

    # a popup's link opens the notice
    bridge = next(f for f in located if f["properties"]["name_zh"] == "地图测试桥甲")
    section.locator(".map-marker[title='地图测试桥甲']").dispatch_event("click")
    expect(popup.locator(".map-popup-name")).to_have_text("地图测试桥甲")
    popup.locator("a").click()
    # the notice's address is reached (its page may still be loading on a busy machine)
    page.wait_for_url(f"{base}/notices/{bridge['properties']['closure_id']}", wait_until="commit")

    # nothing left the machine: no tile, font or script from anywhere but the app
    assert requests and f"{base}/feeds/closures.geojson" in requests
    strays = [url for url in requests if urlsplit(url).hostname != "127.0.0.1"]
    assert strays == []


def test_the_map_is_hidden_from_assistive_technology_and_the_keyboard(map_server, desktop):
    from playwright.sync_api import expect

    page = desktop
    page.goto(f"{map_server.url}/")
    canvas = page.locator("#closure-map .map-canvas")
    expect(canvas.locator(".map-marker").first).to_be_attached()
    assert canvas.get_attribute("aria-hidden") == "true"
    focusable = canvas.locator(
        "a:not([tabindex='-1']), button:not([tabindex='-1']), [tabindex='0']"
    )
    assert focusable.count() == 0


def test_a_configured_tile_source_is_asked_for_tiles(tmp_path_factory, desktop):
    from playwright.sync_api import expect

    with (
        TileServer().running() as tiles,
        start_server(
            tmp_path_factory.mktemp("map-tiles"),
            extra_env={
                "FACILITIES_MAP_TILES": tiles.template,
                "FACILITIES_MAP_ATTRIBUTION": "Loopback tiles",
            },
        ) as server,
    ):
        # the policy admits images from the tile server, and from nowhere else new
        csp = httpx.get(f"{server.url}/", timeout=10).headers["content-security-policy"]
        assert f"img-src 'self' data: http://127.0.0.1:{tiles.port};" in csp
        page = desktop
        requests = record_requests(page)
        page.goto(f"{server.url}/")
        section = page.locator("#closure-map")
        expect(section).to_have_attribute("data-tiles", tiles.template)
        expect(section.locator(".map-marker").first).to_be_visible()
        # loaded, so the policy let them through (a blocked image never gets this class)
        expect(section.locator("img.leaflet-tile-loaded").first).to_be_attached()
        expect(section.locator(".map-attribution")).to_contain_text("Loopback tiles")
    assert tiles.paths and all(re.fullmatch(r"/tiles/\d+/\d+/\d+\.png", p) for p in tiles.paths)
    tile_requests = [url for url in requests if f":{tiles.port}/tiles/" in url]
    assert tile_requests
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in requests)


def test_with_no_tiles_our_own_basemap_is_drawn_under_the_closures(map_server, desktop):
    from playwright.sync_api import expect

    base, page = map_server.url, desktop
    requests = record_requests(page)
    page.goto(f"{base}/")
    canvas = page.locator("#closure-map .map-canvas")
    expect(canvas).to_have_attribute("data-basemap-drawn", re.compile(r"^[1-9]\d*$"))
    basemap = httpx.get(f"{base}/feeds/basemap.geojson", timeout=10).json()
    kinds: dict[str, int] = {}
    for feature in basemap["features"]:
        kinds[feature["properties"]["layer"]] = kinds.get(feature["properties"]["layer"], 0) + 1
    assert {"site", "water", "path", "area"} <= set(kinds)  # the demo's parks, lake, paths
    assert canvas.get_attribute("data-basemap-drawn") == str(len(basemap["features"]))
    # one SVG shape per feature, in the basemap's own pane, under the closures' pane
    pane = canvas.locator(".leaflet-facilitiesBasemap-pane")
    for layer, count in kinds.items():
        expect(pane.locator(f"path.basemap-{layer}")).to_have_count(count)
    assert pane.locator("path.closure-extent").count() == 0
    below = page.evaluate(
        """() => {
            const z = (name) => Number(getComputedStyle(document.querySelector(
                '#closure-map .leaflet-' + name + '-pane')).zIndex);
            return z('facilitiesBasemap') < z('overlay');
        }"""
    )
    assert below
    # the site names as small labels, and nothing of it takes the keyboard
    expect(canvas.locator(".basemap-label").first).to_be_visible()
    assert canvas.locator(".basemap-label [tabindex='0'], .basemap-label a").count() == 0
    # fetched once, from the app
    assert [u for u in requests if u.endswith("/feeds/basemap.geojson")] == [
        f"{base}/feeds/basemap.geojson"
    ]
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in requests)


TIANDITU_KEY = "0123456789abcdef0123456789abcdef"


def test_tianditu_draws_its_map_and_labels_with_the_key(tmp_path_factory, desktop):
    """Tianditu's tiles are answered inside the browser (Playwright's routing), so nothing
    leaves the machine; the page asks for both layers, on t0-t7, with the key."""
    from playwright.sync_api import expect

    image = png()
    asked: list[str] = []

    def answer(route: Any) -> None:
        asked.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=image)

    with start_server(
        tmp_path_factory.mktemp("map-tianditu"),
        extra_env={"FACILITIES_MAP_TILES": "tianditu", "FACILITIES_TIANDITU_KEY": TIANDITU_KEY},
    ) as server:
        home = httpx.get(f"{server.url}/", timeout=10)
        assert (
            "img-src 'self' data: https://*.tianditu.gov.cn;"
            in (home.headers["content-security-policy"])
        )
        page = desktop
        page.route(re.compile(r"^https://t[0-7]\.tianditu\.gov\.cn/"), answer)
        requests = record_requests(page)
        page.goto(f"{server.url}/")
        section = page.locator("#closure-map")
        expect(section.locator(".map-marker").first).to_be_visible()
        expect(section.locator("img.leaflet-tile-loaded").first).to_be_attached()
        expect(section.locator(".map-attribution")).to_contain_text("天地图")
        log = (server.folder / "server.log").read_text(encoding="utf-8", errors="replace")
    layers = {re.search(r"/(vec|cva)_w/wmts\?", url).group(1) for url in asked}  # type: ignore[union-attr]
    assert layers == {"vec", "cva"}  # the map, and its labels over it
    assert all(f"&tk={TIANDITU_KEY}" in url for url in asked)
    assert all(re.search(r"TILEMATRIX=\d+&TILEROW=\d+&TILECOL=\d+", url) for url in asked)
    # every request beyond loopback was one of Tianditu's tiles, answered in the browser
    strays = [u for u in requests if urlsplit(u).hostname != "127.0.0.1" and u not in asked]
    assert strays == []
    assert TIANDITU_KEY not in log  # the key is in the tiles' URLs only, never in the log
