"""The closure notice posted on site: ``/notices/{id}/notice.pdf?size=a4|a3``.

One bilingual sheet in large type: the facility, its state, the reopening promise, why it is
closed, the safety measures, the detour in words and as a map (:mod:`.map_svg`, drawn from our
own geometry), a large QR code to the live public notice, a smaller one to subscribe, and the
bureau's contact line (``FACILITIES_BUREAU_CONTACT``, else the sender address).

The notice's own words are the public page's: each language column is the page's fragment
(``public/_notice_body.html``) rendered by ``wording.notice_preview``, the function staff
previews use, so the paper says exactly what the page says. The sheet's other words (its title,
the QR captions, the map's legend) are the macros of ``documents/_notice_parts.html``, called
once per language.

The PDF is served like the notice page (``facilities.public.serving.conditional``): its ETag
comes from the version of the public data, so a changed notice is a new ETag and a new PDF,
and the bytes are kept in the public page cache by (closure, size, version). It speaks both
languages, so it is one document whatever the reader's language. The path is
``/notices/{id}/notice.pdf`` rather than ``/notices/{id}.pdf``: a path parameter cannot share
a segment with a suffix, and a string parameter there would shadow ``/notices/{id}``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from litestar import Controller, Request, get
from litestar.response.base import ASGIResponse
from markupsafe import Markup

from facilities.assets.services.public_view import PublicPlace, public_places
from facilities.closures import public
from facilities.errors import NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.i18n import use_locale
from facilities.public.documents import map_svg
from facilities.public.serving import SALT, base_url, conditional
from facilities.public.wording import HELPERS, notice_preview
from facilities.web import templating
from facilities.web.conditional import fingerprint
from facilities.web.documents import STATIC, qr_svg, render_pdf

MEDIA_TYPE = "application/pdf"
#: ``?size=`` -> the sheet (the stylesheet's named page).
SIZES = ("a4", "a3")
TEMPLATE = "documents/notice.html"
PARTS = "documents/_notice_parts.html"
LANGUAGES = (("zh_CN", "zh"), ("en", "en"))

_ROOT = Path(__file__).resolve().parents[3]

#: The public salt plus the files that shape the sheet: a new layout is a new ETag.
pdf_conditional = dataclasses.replace(
    conditional,
    salt=SALT
    + fingerprint(
        [
            _ROOT / "templates" / TEMPLATE,
            _ROOT / "templates" / PARTS,
            STATIC / "css" / "documents.css",
            Path(__file__),
            Path(map_svg.__file__),
        ]
    ),
)


def notice_url(base: str, closure_id: int) -> str:
    return f"{base}/notices/{closure_id}"


def subscribe_url(base: str, asset_id: int) -> str:
    """The facility's public page at its subscription form (this facility is its first
    choice)."""
    return f"{base}/facilities/{asset_id}#subscribe-title"


def parts_in_both_languages(macro: str, **context: Any) -> dict[str, Markup]:
    """A macro of :data:`PARTS` rendered in Chinese and in English."""
    module = templating.environment().get_template(PARTS).make_module(context)
    out = {}
    for language, suffix in LANGUAGES:
        with use_locale(language):
            out[suffix] = Markup(getattr(module, macro)())  # noqa: S704 (autoescaped)
    return out


def notice_map(closure: public.PublicClosure, places: list[PublicPlace]) -> Markup:
    """The closure's map (SVG), with the site's boundary and water and the drawings around."""
    asset = closure.asset
    site = next((p for p in places if p.kind == "site" and p.id == asset.site_id), None)
    facility = asset.geometry
    if not facility and asset.lat is not None and asset.lng is not None:
        facility = f'{{"type":"Point","coordinates":[{asset.lng},{asset.lat}]}}'
    layers = map_svg.Layers(
        facility=facility,
        extent=closure.extent,
        detour=closure.detour_line,
        fences=closure.fences,
        entrances=closure.entrances,
        boundary=site.geometry if site else "",
        water=site.water if site else "",
        around=tuple(p.geometry for p in places if p.kind == "asset" and p.id != asset.id),
    )
    with use_locale("zh_CN"):
        title_zh = _("Map of the closure")
    with use_locale("en"):
        title_en = _("Map of the closure")
    return Markup(map_svg.render(layers, f"{title_zh} / {title_en}"))  # noqa: S704 (escaped)


async def notice_html(
    closure: public.PublicClosure, *, size: str, base: str, contact: str, now: dt.datetime
) -> str:
    """The sheet's HTML (what :func:`render_pdf` lays out)."""
    live = notice_url(base, closure.id)
    subscribe = subscribe_url(base, closure.asset.id)
    context = {"closure": closure, "contact": contact, "now": now, **HELPERS}
    with use_locale("zh_CN"):
        return (
            templating.environment()
            .get_template(TEMPLATE)
            .render(
                **context,
                size=size,
                body=notice_preview(closure, now),
                parts={
                    name: parts_in_both_languages(name, **context)
                    for name in ("title", "live_caption", "subscribe_caption", "legend", "footer")
                },
                map=notice_map(closure, await public_places()),
                live_url=live,
                subscribe_url=subscribe,
                live_qr=Markup(qr_svg(live)),  # noqa: S704 (segno's markup)
                subscribe_qr=Markup(qr_svg(subscribe)),  # noqa: S704 (segno's markup)
            )
        )


def parse_size(raw: str | None) -> str:
    """``?size=``: a4 (the default) or a3; anything else is a 400 naming the parameter."""
    size = (raw or "a4").strip().lower()
    if size not in SIZES:
        raise ValidationFailed({"size": _("Choose a paper size: a4 or a3.")})
    return size


class NoticePdfController(Controller):
    include_in_schema = False

    @get("/notices/{closure_id:int}/notice.pdf", opt=pdf_conditional.route_opt)
    async def notice_pdf(self, request: Request[Any, Any, Any], closure_id: int) -> ASGIResponse:
        size = parse_size(request.query_params.get("size"))
        settings = request.app.state.settings

        async def build(now: dt.datetime) -> bytes:
            closure = await public.closure(closure_id)
            if closure is None:
                raise NotFound(_("There is no public notice with this number."))
            html = await notice_html(
                closure,
                size=size,
                base=base_url(request),
                contact=settings.bureau_contact or settings.mail_from,
                now=now,
            )
            return await render_pdf(html)

        response = await pdf_conditional(
            request, f"notice-pdf:{closure_id}:{size}", MEDIA_TYPE, build, localized=False
        )
        if response.status_code == 200:
            response.headers.add(
                "content-disposition", f'inline; filename="notice-{closure_id}-{size}.pdf"'
            )
        return response
