"""The geometry fields of the staff forms carry a map editor (templates/macros/draw.html) above
a textarea that stays the field: without JS the textarea is what is typed and sent, the editor
is hidden until static/js/draw.js reveals it. Each editor allows its field's kinds only and
names the references it draws on; the page loads the plugin from our own static files."""

from __future__ import annotations

import re

import pytest

from tests.kit.assets import make_asset, make_site
from tests.kit.closures import make_closure

HEAD = (
    '<script src="/static/vendor/leaflet-geoman/leaflet-geoman.min.js" defer></script>',
    '<script src="/static/js/draw.js" defer></script>',
    '<link rel="stylesheet" href="/static/vendor/leaflet-geoman/leaflet-geoman.css">',
)


def editor(html: str, field: str) -> str:
    """The opening tag of the editor of ``field``."""
    found = re.search(rf'<div class="draw-editor"[^>]*data-draw-field="{field}"[^>]*>', html)
    assert found, f"no editor for {field}"
    return found.group(0)


def in_form(html: str, field: str) -> bool:
    """Whether a textarea named ``field`` is inside the page's own form (not the log-out one)."""
    form = re.search(r'<form method="post" action="[^"]*" class="card".*?</form>', html, re.S)
    return bool(form and re.search(rf'<textarea id="{field}" name="{field}"', form.group(0)))


@pytest.mark.parametrize("path", ["/assets/new", "/sites/new"])
async def test_the_new_forms_put_a_hidden_editor_above_each_geometry_textarea(login, path):
    alice = await login("alice")
    html = (await alice.get(path)).text
    assert all(tag in html for tag in HEAD)
    fields = ["geometry"] if path == "/assets/new" else ["boundary", "water"]
    for field in fields:
        tag = editor(html, field)
        assert " hidden" in tag and 'data-tiles="none"' in tag and 'data-crs="wgs84"' in tag
        assert in_form(html, field)
        assert html.index(tag) < html.index(f'<textarea id="{field}"')  # the map above it
    if path == "/sites/new":
        assert 'data-draw-kinds="polygon"' in editor(html, "boundary")
        assert 'data-context-fields="water"' in editor(html, "boundary")


async def test_the_asset_editor_draws_on_its_site_and_compares_with_the_stated_length(login, now):
    site = await make_site("平湖公园")
    asset = await make_asset(site, code="GX-QL-PH-009")
    alice = await login("alice")
    html = (await alice.get(f"/assets/{asset.id}/edit")).text
    tag = editor(html, "geometry")
    assert 'data-draw-kinds="point line polygon"' in tag and 'data-draw-multi=""' in tag
    assert 'data-context-site-field="site_id"' in tag
    assert f'data-context-exclude="{asset.id}"' in tag
    assert 'data-context-length-field="length_m"' in tag


async def test_the_component_editor_draws_on_its_asset(login):
    site = await make_site("平湖公园")
    asset = await make_asset(site, code="GX-QL-PH-009")
    alice = await login("alice")
    html = (await alice.get(f"/assets/{asset.id}/components/new")).text
    tag = editor(html, "geometry")
    assert f'data-context-asset="{asset.id}"' in tag
    assert 'data-draw-multi="point line"' in tag
    assert in_form(html, "geometry")


async def test_the_closure_form_has_an_editor_per_drawing_each_with_its_kinds(login, now):
    site = await make_site("平湖公园")
    asset = await make_asset(site, code="GX-QL-PH-009")
    closure = await make_closure(asset=asset, now=now)
    alice = await login("alice")
    html = (await alice.get(f"/closures/{closure.id}/edit")).text
    kinds = {
        "extent": "point line polygon",
        "detour_line": "line",
        "fences": "line",
        "entrances": "point",
    }
    for field, allowed in kinds.items():
        tag = editor(html, field)
        assert f'data-draw-kinds="{allowed}"' in tag
        assert 'data-context-asset-field="asset_id"' in tag
        assert in_form(html, field)
    # the edit form posts to the closure itself (it posted to /closures/, a new closure)
    assert f'<form method="post" action="/closures/{closure.id}"' in html
