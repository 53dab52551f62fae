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

from tests.kit.browser import Server, chromium, pages_for, start_server
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
def desktop(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A desktop page that asks for reduced motion (the map then zooms and spreads clusters
    without animation, as it does for readers who ask for that)."""
    with chromium() as browser, pages_for(request, browser) as pages:
        yield pages.open("desktop", "zh-CN", reduced_motion="reduce")


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
    located = [f for f in feed["features"] if f["geometry"]]
    names = {f["properties"]["name_zh"] for f in located}
    assert set(SEEDED) <= names and len(located) == len(SEEDED) + 1  # and the demo's bridge

    # every closure of the feed is on the map: a marker of its own, or counted in a cluster
    markers = section.locator(".map-marker")
    clusters = section.locator(".map-cluster")
    expect(clusters).to_have_count(1)  # the three at one spot
    assert clusters.inner_text().strip() == "3"
    assert markers.count() + 3 == len(located)
    assert page.locator(".leaflet-tile").count() == 0  # no tile source: no tiles at all

    # the legend names what is on the map in words (nothing planned is in the feed)
    legend = section.locator(".map-legend")
    expect(legend.locator("[data-legend=full]")).to_be_visible()
    expect(legend.locator("[data-legend=in-force]")).to_be_visible()
    expect(legend.locator("[data-legend=planned]")).to_be_hidden()

    # a click on the cluster of one spot spreads it: every closure now has its own marker
    clusters.first.click()
    expect(markers).to_have_count(len(located))

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
    bridge = next(f for f in located if f["properties"]["name_zh"] == "地图测试远桥")
    section.locator(".map-marker[title='地图测试远桥']").dispatch_event("click")
    expect(popup.locator(".map-popup-name")).to_have_text("地图测试远桥")
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
