"""The import page for staff who edit the register: upload an xlsx or CSV of assets and
components, see what a dry run would create, update or refuse (row, column, message), then
confirm. The rules are :mod:`facilities.assets.importing`; this module parses and renders.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import Actor, require
from facilities.assets import importing
from facilities.assets.xlsxio import ASSETS_SHEET, COMPONENTS_SHEET, column_label
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.i18n import translate
from facilities.web.auth import staff_guard
from facilities.web.responses import redirect, render


def _editor(request: Request[Any, Any, Any]) -> Actor:
    return require(require_actor(request), Perm.ASSETS_EDIT)


#: Problems listed on the page (the count says how many there are in all).
SHOWN_PROBLEMS = 200


def _problems(report: importing.ImportReport) -> list[dict[str, Any]]:
    """Each refused cell as the page lists it (the first ``SHOWN_PROBLEMS``): the sheet, the
    row, the column's label, why."""
    rows = []
    for kind, sheet, result in (
        ("assets", ASSETS_SHEET, report.assets),
        ("components", COMPONENTS_SHEET, report.components),
    ):
        for line, field, message in result.errors:
            rows.append(
                {
                    "sheet": translate(sheet),
                    "line": line,
                    "column": column_label(kind, field),
                    "message": message,
                }
            )
    return rows[:SHOWN_PROBLEMS]


class AssetImportController(Controller):
    path = "/assets/import"
    guards = [staff_guard]
    include_in_schema = False

    def _page(
        self, request: Request[Any, Any, Any], status_code: int = 200, **context: Any
    ) -> Template:
        settings = request.app.state.settings
        context.setdefault("errors", {})
        context.setdefault("report", None)
        context.setdefault("problems", [])
        return render(
            request,
            "assets/import.html",
            status_code=status_code,
            max_mb=max(1, settings.max_upload_bytes // 1_000_000),
            max_rows=importing.MAX_IMPORT_ROWS,
            **context,
        )

    @get("/")
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        _editor(request)
        return self._page(request)

    @post("/")
    async def check(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        """The dry run: every row checked and tried, nothing kept."""
        actor = _editor(request)
        settings = request.app.state.settings
        form = await request.form()
        upload = form.get("file")
        data = b"" if upload is None or isinstance(upload, str) else await upload.read()
        try:
            report = await importing.import_upload(
                actor, importing.read_file(data, settings.max_upload_bytes), now, dry_run=True
            )
        except ValidationFailed as exc:
            return self._page(request, 400, errors=exc.errors)
        if not report.ok:
            return self._page(request, 400, report=report, problems=_problems(report))
        token = importing.stage(settings.media_path, actor, data, now)
        return self._page(request, report=report, token=token, sha256=importing.digest(data))

    @post("/confirm")
    async def confirm(
        self, request: Request[Any, Any, Any], now: dt.datetime
    ) -> Template | Redirect:
        """The checked file applied, all of it or nothing."""
        actor = _editor(request)
        settings = request.app.state.settings
        form = await request.form()
        token, sha256 = str(form.get("token", "")), str(form.get("sha256", ""))
        try:
            data = importing.staged(settings.media_path, actor, token, sha256)
            report = await importing.import_upload(
                actor, importing.read_file(data, settings.max_upload_bytes), now, dry_run=False
            )
        except ValidationFailed as exc:
            return self._page(request, 400, errors=exc.errors)
        if not report.ok:
            # Something changed since the dry run (a code taken meanwhile): nothing was written.
            return self._page(request, 400, report=report, problems=_problems(report))
        importing.discard(settings.media_path, actor, token)
        a, c = report.assets, report.components
        return redirect(
            "/assets",
            _("Imported: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.")
            % {
                "created": a.created + c.created,
                "updated": a.updated + c.updated,
                "unchanged": a.unchanged + c.unchanged,
            },
        )
