"""The public home page, the language switch and the health check."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.datastructures import Cookie
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from facilities import db, i18n
from facilities.assets import services as assets
from facilities.web.locale import LANG_COOKIE
from facilities.web.responses import render, safe_next


class PublicController(Controller):
    include_in_schema = False

    @get("/")
    async def home(self, request: Request[Any, Any, Any]) -> Template:
        return render(request, "public/home.html", sites=await assets.public_register())

    @get("/language")
    async def language(
        self,
        lang: Annotated[str, QueryParameter()] = "",
        next: Annotated[str, QueryParameter()] = "/",
    ) -> Redirect:
        """Switch language; the choice is kept in a cookie for a year."""
        chosen = lang if lang in i18n.LOCALES else i18n.DEFAULT_LOCALE
        return Redirect(
            path=safe_next(next, "/"),
            status_code=303,
            cookies=[
                Cookie(key=LANG_COOKIE, value=chosen, max_age=365 * 86400, path="/", samesite="lax")
            ],
        )

    @get("/staff")
    async def staff_home(self) -> Redirect:
        return Redirect(path="/assets", status_code=303)

    @get("/healthz", media_type="text/plain")
    async def healthz(self) -> str:
        return "ok"

    @get("/readyz", media_type="text/plain")
    async def readyz(self) -> Any:
        from litestar import Response

        if await db.ping():
            return "ready"
        return Response("database unreachable", status_code=503, media_type="text/plain")
