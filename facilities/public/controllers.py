"""The public home page, the language switch and the health check."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import Cookie
from litestar.params import QueryParameter
from litestar.response import Redirect
from litestar.response.base import ASGIResponse

from facilities import db, i18n
from facilities.closures import public
from facilities.i18n import gettext as _
from facilities.migrations import pending_migrations
from facilities.public.serving import conditional, feed_links, page
from facilities.public.wording import local_text
from facilities.web.conditional import HTML
from facilities.web.csrf import reader_token
from facilities.web.locale import LANG_COOKIE
from facilities.web.maps import map_config
from facilities.web.responses import safe_next

HOME_LIMIT = 20  # closures per list on the home page; the rest are one click away
REGISTER_INLINE = 150  # up to this many facilities the home page lists them all


class PublicController(Controller):
    include_in_schema = False

    @get("/", opt=conditional.route_opt)
    async def home(self, request: Request[Any, Any, Any], now: dt.datetime) -> ASGIResponse:
        """Closures in force, planned and recently reopened, and the register of facilities by
        site with their status; rendered once per change (see ``serving.conditional``)."""

        async def build(now: dt.datetime) -> bytes:
            register = await public.register(now)
            return page(
                request,
                "public/home.html",
                now,
                home=await public.home(now, limit=HOME_LIMIT),
                register=register,
                inline_register=sum(len(s.assets) for s in register) <= REGISTER_INLINE,
                feeds=feed_links(),
                closure_map=map_config(request),
                targets=[
                    ("all", _("Every closure notice")),
                    *(
                        (
                            f"site:{entry.site.id}",
                            _("Everything at %(site)s") % {"site": local_text(entry.site, "name")},
                        )
                        for entry in register
                    ),
                ],
            )

        return await conditional(request, "home", HTML, build, html=True)

    @get("/language")
    async def language(
        self,
        lang: Annotated[str, QueryParameter()] = "",
        next: Annotated[str, QueryParameter()] = "/",
    ) -> Redirect:
        """Switch language; the choice is kept in a cookie for a year. Public pages a browser
        kept (``public, max-age``) were chosen by Accept-Language alone, so the switch also
        empties the browser's cache of this site: the next page is in the chosen language."""
        chosen = lang if lang in i18n.LOCALES else i18n.DEFAULT_LOCALE
        return Redirect(
            path=safe_next(next, "/"),
            status_code=303,
            headers={"clear-site-data": '"cache"'},
            cookies=[
                Cookie(key=LANG_COOKIE, value=chosen, max_age=365 * 86400, path="/", samesite="lax")
            ],
        )

    @get("/form-token", media_type="application/json")
    async def form_token(self, request: Request[Any, Any, Any]) -> Response[dict[str, str]]:
        """The reader's CSRF token, for a form on a page every reader gets alike (which carries
        none): ``static/js/forms.js`` asks on a form's first touch when the reader has no
        ``csrftoken`` cookie, which the CSRF middleware sets on this answer."""
        return Response(
            {"token": reader_token(request)}, headers={"cache-control": "private, no-store"}
        )

    @get("/healthz", media_type="text/plain")
    async def healthz(self) -> str:
        return "ok"

    @get("/readyz", media_type="text/plain")
    async def readyz(self) -> Any:
        """Ready when the database answers and its schema is current (no pending migration):
        a replica of a new release stays out of rotation until ``facilities migrate`` ran."""
        if not await db.ping():
            return Response("database unreachable", status_code=503, media_type="text/plain")
        try:
            pending = await pending_migrations()
        except Exception:
            return Response("migration state unreadable", status_code=503, media_type="text/plain")
        if pending:
            return Response(
                f"{pending} migration(s) pending", status_code=503, media_type="text/plain"
            )
        return "ready"
