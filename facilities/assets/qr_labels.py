"""QR labels for a site's assets: ``/sites/{id}/labels.pdf``, an A4 sheet of 3 x 8 labels
(70 x 37 mm, the common self-adhesive sheet), one per asset, in code order.

Each label carries the asset's code, its names in Chinese and English and a QR code to
``/q/{code}`` (absolute, from the ``base_url`` setting), which sends staff to the asset's page
and citizens to the report form for it (``facilities.public.qr``): one label serves both, and
it stays right when an asset is renamed, since the code does not change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get
from markupsafe import Markup

from facilities.accounts.guards import require_actor
from facilities.assets import services as assets
from facilities.assets.schemas import AssetFilters
from facilities.i18n import gettext as _
from facilities.i18n import use_locale
from facilities.web import templating
from facilities.web.auth import staff_guard
from facilities.web.documents import qr_svg, render_pdf
from facilities.web.params import IdParam

TEMPLATE = "documents/labels.html"
PER_SHEET = 24
COLUMNS = 3


def label_url(base: str, code: str) -> str:
    """The address a label's QR code holds for the asset ``code``."""
    return f"{base.rstrip('/')}/q/{quote(code, safe='')}"


def sheets(labels: list[dict[str, Any]]) -> list[list[list[dict[str, Any]]]]:
    """Labels as pages of rows of :data:`COLUMNS` (the last row of the last page may be short)."""
    pages = [labels[i : i + PER_SHEET] for i in range(0, len(labels), PER_SHEET)]
    return [[page[i : i + COLUMNS] for i in range(0, len(page), COLUMNS)] for page in pages]


def hint() -> str:
    """The line under a label's names, in both languages (a label serves every reader)."""
    words = []
    for language in ("zh_CN", "en"):
        with use_locale(language):
            words.append(_("Scan to report a problem"))
    return " · ".join(words)


class AssetLabelController(Controller):
    guards = [staff_guard]
    include_in_schema = False

    @get("/sites/{site_id:int}/labels.pdf")
    async def labels(
        self, request: Request[Any, Any, Any], site_id: IdParam, now: dt.datetime
    ) -> Response[bytes]:
        actor = require_actor(request)
        site = await assets.get_site(actor, site_id)
        base = str(request.app.state.settings.base_url)
        labels = [
            {
                "code": row.asset.code,
                "name_zh": row.asset.name_zh,
                "name_en": row.asset.name_en,
                "qr": Markup(qr_svg(label_url(base, row.asset.code), border=2)),  # noqa: S704
            }
            async for row in assets.iter_assets(actor, AssetFilters(site=site.id), now)
        ]
        with use_locale("zh_CN"):
            html = (
                templating.environment()
                .get_template(TEMPLATE)
                .render(site=site, pages=sheets(labels), hint=hint())
            )
        return Response(
            await render_pdf(html),
            media_type="application/pdf",
            headers={
                "content-disposition": f'inline; filename="labels-site-{site.id}.pdf"',
                "cache-control": "private, no-store",
            },
        )
