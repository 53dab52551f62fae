"""Staff draw geometry on the map editors of the forms (static/js/draw.js), in the system
Chromium against a real `facilities serve` process over the demo, offline.

A supervisor redraws the Pinghu bridge as a line with the plugin's own tools (mouse clicks on
the map), sees its length under the map, saves, and the API returns that line: a LineString of
about 76.6 m, where it was drawn. A detour drawn on the closure form is written into the
detour_line textarea as a GeoJSON LineString and saved with the closure. The textarea stays
what the form submits: WKT pasted into it with the editor running is saved as before. No
request leaves loopback (no tiles, no CDN).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from shapely.geometry import LineString, shape

from facilities.lib import geo
from tests.kit.browser import Server, log_in, pages_for, start_server

pytestmark = pytest.mark.browser

BRIDGE = "GX-QL-PH-001"


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with start_server(tmp_path_factory.mktemp("drawing")) as running:
        yield running


@pytest.fixture
def staff(demo_server: Server, browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A supervisor's desktop page (English, so the words checked are the msgids), with every
    request it makes recorded in ``page.seen`` and every console error in ``page.complaints``."""
    with pages_for(request, browser) as pages:
        page = pages.open("desktop", "en", reduced_motion="reduce")
        page.seen = []
        page.on("request", lambda r: page.seen.append(r.url))
        page.complaints = []  # what went wrong on the page: a CSP refusal, a script error
        page.on("console", lambda m: page.complaints.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: page.complaints.append(str(error)))
        page.on(
            "response",
            lambda r: page.complaints.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        log_in(page, demo_server.url, "alice")
        yield page


def api(page: Any, base: str, path: str) -> Any:
    """A JSON API read with the page's session (the same cookie the editor's requests use)."""
    response = page.request.get(f"{base}{path}")
    assert response.ok, (path, response.status)
    return response.json()


def bridge(page: Any, base: str) -> dict[str, Any]:
    found = api(page, base, f"/api/v1/assets?q={BRIDGE}")["items"]
    return next(item for item in found if item["code"] == BRIDGE)


def editor_ready(page: Any, field: str) -> Any:
    """The editor of ``field``, revealed by the script with its map made."""
    from playwright.sync_api import expect

    box = page.locator(f".draw-editor[data-draw-field='{field}']")
    expect(box).to_be_visible()
    page.wait_for_function(
        "name => { const b = document.querySelector(`.draw-editor[data-draw-field='${name}']`);"
        " return !!(b && b.facilitiesMap); }",
        arg=field,
    )
    return box


def click_at(page: Any, field: str, lng: float, lat: float) -> None:
    """A mouse click on the editor's map where ``lng, lat`` (WGS-84) is drawn."""
    point = page.evaluate(
        """([name, lng, lat]) => {
          const box = document.querySelector(`.draw-editor[data-draw-field='${name}']`);
          const map = box.facilitiesMap;
          const shown = window.FacilitiesMap.toDisplay([lng, lat], map.facilitiesGcj);
          const p = map.latLngToContainerPoint(shown);
          const r = map.getContainer().getBoundingClientRect();
          return [r.left + p.x, r.top + p.y];
        }""",
        [field, lng, lat],
    )
    page.mouse.click(point[0], point[1])


def zoom_to(page: Any, field: str, west: float, south: float, east: float, north: float) -> None:
    """Show the box on the editor's map (what a person does by zooming), without animation."""
    page.evaluate(
        """([name, w, s, e, n]) => {
          const box = document.querySelector(`.draw-editor[data-draw-field='${name}']`);
          const map = box.facilitiesMap;
          const gcj = map.facilitiesGcj, kit = window.FacilitiesMap;
          map.fitBounds(L.latLngBounds(kit.toDisplay([w, s], gcj), kit.toDisplay([e, n], gcj)),
                        {padding: [40, 40], animate: false});
        }""",
        [field, west, south, east, north],
    )


def only_loopback(page: Any) -> None:
    """Nothing left the machine."""
    strays = [url for url in page.seen if urlsplit(url).hostname != "127.0.0.1"]
    assert page.seen and strays == []


def nothing_went_wrong(page: Any) -> None:
    """On the form so far: no script error, no refusal by the page's policy (an inline style or
    script), no failed request. (The browser's own favicon request is not the page's.)"""
    complaints = [c for c in page.complaints if not c.startswith("Failed to load resource")]
    assert complaints == [], "\n".join(complaints)


def test_a_line_drawn_on_the_asset_form_is_saved_as_the_assets_line(demo_server, staff):
    from playwright.sync_api import expect

    base, page = demo_server.url, staff
    before = bridge(page, base)
    assert before["geometry"]["type"] == "LineString"
    (south_lng, south_lat), (north_lng, north_lat) = before["geometry"]["coordinates"]
    # the new line: the same span, 15 m further east (clear of the old line's vertices, which
    # new vertices would snap to)
    east = 15.0 / geo.GEOD.inv(south_lng, south_lat, south_lng + 0.001, south_lat)[2] * 0.001
    start, end = (south_lng + east, south_lat), (north_lng + east, north_lat)
    drawn_m = geo.length_m(LineString([start, end]))

    page.goto(f"{base}/assets/{before['id']}/edit")
    box = editor_ready(page, "geometry")
    # the stored line is on the map, measured in words under it; the site is drawn faintly
    expect(box.locator(".draw-status")).to_contain_text("Length on the map: 76.")
    expect(box.locator("path.draw-context").first).to_be_attached()
    assert page.locator("textarea[name=geometry]").is_visible()  # still the field itself
    # the offline basemap is drawn under it, and is scenery: the plugin edits only the line
    expect(box.locator(".draw-canvas[data-basemap-drawn]")).not_to_have_attribute(
        "data-basemap-drawn", "0"
    )
    editable = page.evaluate(
        """() => L.PM.Utils.findLayers(
          document.querySelector(".draw-editor[data-draw-field='geometry']").facilitiesMap
        ).length"""
    )
    assert editable == 1

    zoom_to(page, "geometry", south_lng - 2 * east, south_lat, north_lng + 2 * east, north_lat)
    box.locator(".leaflet-pm-icon-polyline").click()
    click_at(page, "geometry", *start)
    click_at(page, "geometry", *end)
    box.locator(".action-finish:visible").click()

    # one line (the new one replaced the old), written into the textarea as GeoJSON
    written = geo.parse_geometry(page.locator("textarea[name=geometry]").input_value(), "geometry")
    assert written.geom_type == "LineString"
    assert abs(geo.length_m(written) - drawn_m) < 2.0
    expect(box.locator(".draw-status")).to_contain_text("Length on the map: 7")

    nothing_went_wrong(page)
    page.locator("form.card button[type=submit].primary").click()
    page.wait_for_url(f"{base}/assets/{before['id']}")

    after = bridge(page, base)
    saved = shape(after["geometry"])
    assert saved.geom_type == "LineString"
    assert abs(geo.length_m(saved) - 76.6) < 2.0  # about the drawn length
    assert abs(geo.length_m(saved) - drawn_m) < 2.0
    # drawn where the clicks were: each end within 2 m of the point clicked
    for (lng, lat), aimed in zip(after["geometry"]["coordinates"], (start, end), strict=True):
        assert geo.GEOD.inv(lng, lat, *aimed)[2] < 2.0
    only_loopback(page)


def test_a_detour_drawn_on_the_closure_form_is_written_as_a_linestring(demo_server, staff):
    from playwright.sync_api import expect

    base, page = demo_server.url, staff
    asset = bridge(page, base)
    closure = next(
        c
        for c in api(page, base, f"/api/v1/closures?asset={asset['id']}")
        if c["status"] in ("active", "extended")
    )
    (south_lng, south_lat), (north_lng, north_lat) = asset["geometry"]["coordinates"]
    west = 0.0008  # about 80 m west of the bridge, round the arm of the lake
    waypoints = [
        (south_lng, south_lat - 0.0004),
        (south_lng - west, (south_lat + north_lat) / 2),
        (north_lng, north_lat + 0.0004),
    ]

    page.goto(f"{base}/closures/{closure['id']}/edit")
    box = editor_ready(page, "detour_line")
    # the closed bridge and the site are drawn for reference, faintly
    expect(box.locator("path.draw-context").first).to_be_attached()
    page.locator("textarea[name=detour_line]").fill("")
    page.locator("textarea[name=detour_line]").dispatch_event("input")
    expect(box.locator(".draw-status")).to_have_text("Nothing is drawn yet.")

    zoom_to(
        page,
        "detour_line",
        south_lng - 2 * west,
        south_lat - 0.0006,
        north_lng + west,
        north_lat + 0.0006,
    )
    box.locator(".leaflet-pm-icon-polyline").click()
    for lng, lat in waypoints:
        click_at(page, "detour_line", lng, lat)
    box.locator(".action-finish:visible").click()

    text = page.locator("textarea[name=detour_line]").input_value()
    written = geo.parse_geometry(text, "detour_line")
    assert written.geom_type == "LineString" and len(written.coords) == 3
    assert '"type":"LineString"' in text
    expect(box.locator(".draw-status")).to_contain_text("Length on the map:")
    # the sibling editors show it as a reference
    expect(
        page.locator(".draw-editor[data-draw-field='fences'] path.draw-context")
    ).not_to_have_count(0)

    nothing_went_wrong(page)
    # preview, then confirm: the closure keeps the drawn detour
    page.locator("button[name=intent][value=preview]").first.click()
    page.locator("button[name=intent][value=publish]").click()
    page.wait_for_url(f"{base}/closures/{closure['id']}")
    saved = api(page, base, f"/api/v1/closures/{closure['id']}")["detour_line"]
    assert saved["type"] == "LineString" and len(saved["coordinates"]) == 3
    for (lng, lat), aimed in zip(saved["coordinates"], waypoints, strict=True):
        assert geo.GEOD.inv(lng, lat, *aimed)[2] < 3.0, ((lng, lat), aimed)
    only_loopback(page)


def test_wkt_pasted_into_the_textarea_is_still_what_the_form_sends(demo_server, staff):
    from playwright.sync_api import expect

    base, page = demo_server.url, staff
    asset = bridge(page, base)
    (south_lng, south_lat), (north_lng, north_lat) = asset["geometry"]["coordinates"]
    wkt = f"LINESTRING ({south_lng} {south_lat}, {north_lng} {north_lat})"

    page.goto(f"{base}/assets/{asset['id']}/edit")
    box = editor_ready(page, "geometry")
    page.locator("textarea[name=geometry]").fill(wkt)
    # the map cannot read WKT: it says so and leaves the text alone
    expect(box.locator(".draw-status")).to_contain_text("is not GeoJSON")
    assert page.locator("textarea[name=geometry]").input_value() == wkt

    page.locator("form.card button[type=submit].primary").click()
    page.wait_for_url(f"{base}/assets/{asset['id']}")
    saved = bridge(page, base)["geometry"]
    assert saved["type"] == "LineString"
    assert saved["coordinates"] == [[south_lng, south_lat], [north_lng, north_lat]]
    only_loopback(page)
