"""The closure notice posted on site (``/notices/{id}/notice.pdf``): a bilingual PDF whose text
holds the facility, the closure's extent, the exact promise of the public notice in both
languages and the bureau's contact line; whose large QR code decodes (zbar) to the live notice
and whose small one to the facility's subscription form; A4 by default, A3 on request; a new PDF
and ETag when the notice changes; and Chinese set in real glyphs, not empty boxes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re

import pypdf
import pypdfium2
import pytest
from PIL import Image, ImageChops
from pyzbar import pyzbar

from facilities.closures import public
from facilities.closures import services as closures
from facilities.closures.choices import Precision
from facilities.closures.schemas import CancelIn, ExtendIn
from facilities.i18n import use_locale
from facilities.public import wording
from facilities.public.documents import map_svg
from facilities.web.documents import render_pdf
from tests.kit.assets import make_asset
from tests.kit.closures import closure_in
from tests.kit.drawn_closures import build_drawn

BASE = "http://127.0.0.1:8000"
CONTACT = "平湖公园管理处 0734-8888123"
A4 = (595.28, 841.89)  # points
A3 = (841.89, 1190.55)


@pytest.fixture
def settings(settings):
    """The test settings with the bureau's contact line set."""
    return dataclasses.replace(settings, bureau_contact=CONTACT)


@pytest.fixture
async def drawn(personas, now):
    return await build_drawn(personas["alice"], now)


def squash(text: str) -> str:
    """Text without whitespace: PDF text extraction breaks lines and spaces CJK freely."""
    return re.sub(r"\s+", "", text)


def pdf_text(body: bytes) -> str:
    return squash("".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(body)).pages))


def page_image(body: bytes, index: int = 0, scale: float = 3.0) -> Image.Image:
    """A page rendered at ``72 * scale`` DPI (216 by default: enough for zbar)."""
    return pypdfium2.PdfDocument(body)[index].render(scale=scale).to_pil().convert("L")


def qr_codes(body: bytes) -> set[str]:
    found = set()
    for index in range(len(pypdf.PdfReader(io.BytesIO(body)).pages)):
        found |= {code.data.decode() for code in pyzbar.decode(page_image(body, index))}
    return found


def sizes(body: bytes) -> list[tuple[float, float]]:
    pages = pypdf.PdfReader(io.BytesIO(body)).pages
    return [(round(float(p.mediabox.width), 2), round(float(p.mediabox.height), 2)) for p in pages]


async def test_the_notice_says_what_the_public_notice_says_in_both_languages(anon, drawn, now):
    response = await anon.get(f"/notices/{drawn.closure.id}/notice.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content)
    view = await public.closure(drawn.closure.id)
    assert view is not None
    for language in ("zh_CN", "en"):
        with use_locale(language):
            promise = wording.expected(view, now)
            extent = wording.scope_label(view)
        assert squash(promise) in text, (language, promise)
        assert squash(extent) in text, (language, extent)
    assert squash("平湖公园景观悬索桥") in text
    assert squash("Pinghu Park Landscape Suspension Bridge") in text
    assert squash("请经环湖木栈道东段绕行至公园西门。") in text  # the detour in words
    assert squash("Walk round by the east boardwalk to the west gate.") in text
    assert squash(CONTACT) in text
    assert sizes(response.content) == [A4] * len(sizes(response.content))


async def test_the_qr_codes_lead_to_the_live_notice_and_to_subscribing(anon, drawn):
    response = await anon.get(f"/notices/{drawn.closure.id}/notice.pdf")
    assert qr_codes(response.content) == {
        f"{BASE}/notices/{drawn.closure.id}",
        f"{BASE}/facilities/{drawn.bridge.id}#subscribe-title",
    }


async def test_a3_is_an_a3_sheet_and_a_bad_size_or_number_is_refused(anon, drawn):
    a3 = await anon.get(f"/notices/{drawn.closure.id}/notice.pdf?size=a3")
    assert a3.status_code == 200
    assert sizes(a3.content)[0] == A3
    assert f"{BASE}/notices/{drawn.closure.id}" in qr_codes(a3.content)

    bad = await anon.get(f"/notices/{drawn.closure.id}/notice.pdf?size=letter")
    assert bad.status_code == 400
    assert "size" in bad.text
    assert (await anon.get("/notices/999999/notice.pdf")).status_code == 404


async def test_a_cancelled_closure_has_no_printed_notice(anon, drawn, personas, now):
    current = await closures.find_closure(drawn.planned.id)
    await closures.cancel(
        personas["alice"],
        drawn.planned.id,
        CancelIn(version=current.version, reason_zh="计划取消。"),
        now,
    )
    assert (await anon.get(f"/notices/{drawn.planned.id}/notice.pdf")).status_code == 404


async def test_a_changed_notice_is_a_new_pdf_with_a_new_etag(anon, drawn, personas, now, clock):
    url = f"/notices/{drawn.closure.id}/notice.pdf"
    first = await anon.get(url)
    etag = first.headers["etag"]
    again = await anon.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304

    current = await closures.find_closure(drawn.closure.id)
    later = now + dt.timedelta(hours=2)
    clock.set(later)
    await closures.extend(
        personas["alice"],
        drawn.closure.id,
        ExtendIn(
            version=current.version,
            planned_reopen_on=(now + dt.timedelta(days=60)).date(),
            reopen_precision=Precision.EXACT,
            reason_zh="主缆锈蚀范围比预期大。",
            reason_en="The rust on the main cables is more extensive than expected.",
        ),
        later,
    )
    changed = await anon.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.content != first.content
    view = await public.closure(drawn.closure.id)
    assert view is not None and view.reopen_precision == Precision.EXACT
    with use_locale("en"):
        assert squash(wording.expected(view, later)) in pdf_text(changed.content)


async def test_stored_markup_prints_as_text(anon, personas, now):
    """A closure's words are laid out as text: markup typed into a field is printed, never
    obeyed (no image fetched, no element made)."""
    asset = await make_asset(name_zh="<b>粗体桥</b>", name_en="<img src=x>Bridge")
    closure = await closures.create_closure(
        personas["alice"],
        closure_in(asset.id, now, detour_zh='请绕行<script>alert("x")</script>'),
        now,
    )
    response = await anon.get(f"/notices/{closure.id}/notice.pdf")
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert squash("<b>粗体桥</b>") in text
    assert squash("<img src=x>Bridge") in text
    assert squash('请绕行<script>alert("x")</script>') in text


def test_the_map_draws_the_closure_in_red_and_the_detour_dashed():
    svg = map_svg.render(
        map_svg.Layers(
            facility='{"type":"LineString","coordinates":[[112.58,26.89],[112.581,26.89]]}',
            detour='{"type":"LineString","coordinates":[[112.58,26.889],[112.581,26.889]]}',
            entrances='{"type":"MultiPoint","coordinates":[[112.58,26.889]]}',
            around=(
                '{"type":"LineString","coordinates":[[112.5805,26.8895],[112.5806,26.8896]]}',
                '{"type":"LineString","coordinates":[[113.5,27.5],[113.6,27.6]]}',  # far away
            ),
        ),
        "Map <of> the closure",
    )
    assert 'class="closed"' in svg and "#c8102e" in svg
    assert 'class="detour"' in svg and "stroke-dasharray" in svg
    assert 'class="entrance"' in svg
    assert svg.count('class="path"') == 1  # the drawing nearby, not the one in another town
    assert "Map &lt;of&gt; the closure" in svg
    assert map_svg.render(map_svg.Layers(), "nothing drawn") == ""


def _ink(image: Image.Image) -> int:
    return sum(1 for value in image.getdata() if value < 128)


async def test_chinese_renders_as_glyphs_from_the_bundled_font():
    """Two different Chinese strings: missing glyphs (tofu) would draw the same empty boxes;
    real glyphs draw ink, and differently."""

    async def draw(text: str) -> tuple[bytes, Image.Image]:
        html = (
            '<html lang="zh-CN" class="sheet-a4"><head><link rel="stylesheet"'
            ' href="css/documents.css"></head>'
            f'<body><h1 class="facility">{text}</h1></body></html>'
        )
        body = await render_pdf(html)
        return body, page_image(body, scale=2).crop((0, 0, 1190, 240))

    one_pdf, one = await draw("封闭公告请绕行")
    _, two = await draw("平湖公园悬索桥")
    assert _ink(one) > 2000 and _ink(two) > 2000
    assert ImageChops.difference(one, two).getbbox() is not None
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in pypdf.PdfReader(io.BytesIO(one_pdf)).pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("Facilities" in name for name in fonts), (
        f"{fonts}: the bundled CJK font was not used (run make: it links var/fonts/)"
    )
