"""Public closure notices and their feeds (Atom, iCalendar, GeoJSON, WZDx, CAP), and subscriptions.

:class:`NoticeController` holds the handlers: each parses its request, reads the read-only views
in ``facilities.closures.public`` (which select public columns only) and answers through
``facilities.public.serving.conditional``: an ETag and Last-Modified from the data's version,
304 before anything is rendered, and a body rendered once per change. The feed documents are
made by the pure renderers in ``facilities.public.feeds``, the sentences by
``facilities.public.wording``.

Subscriptions: double opt-in (``services.subscribe`` queues the confirmation e-mail; its link
opens a page whose button confirms by POST, so a mail link scanner confirms nothing), one-click
unsubscribe (RFC 8058: the POST needs no cookie or CSRF token; its path is excluded from CSRF in
``facilities.app``), a honeypot field, and a limit per client address and per e-mail address
counted in the database (so it holds across processes). The address is shown back only to
ask for a form sent without a CSRF token once more, never after a mistake (the form's pieces are
in ``facilities.public.subscribe_pages``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template
from litestar.response.base import ASGIResponse

from facilities import i18n
from facilities.accounts.services import rate_hit
from facilities.closures import public
from facilities.closures import services as closures
from facilities.closures.choices import Status
from facilities.closures.schemas import SubscribeIn
from facilities.errors import NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.public import feeds
from facilities.public.serving import (
    base_url,
    conditional,
    feed_links,
    lang_query,
    page,
    subscription_targets,
    version,
)
from facilities.public.subscribe_pages import (
    RATE_WINDOW,
    email_key,
    parse_target,
    subscribe_page,
)
from facilities.public.wording import local_text
from facilities.web.conditional import HTML
from facilities.web.csrf import (
    CHECKED_BY_HANDLER,
    FORM_FIELD,
    form_token_valid,
    reader_token,
)
from facilities.web.forms import form_values
from facilities.web.maps import map_config
from facilities.web.public_cache import cache_of
from facilities.web.responses import client_ip, render

PER_PAGE = 50  # closures per page of /notices
MAX_PAGE = 1000


def _language_from_query(request: Request[Any, Any, Any]) -> None:
    """Feeds take ``?lang=en`` (a feed reader sends no cookie); pages use the language switch."""
    chosen = request.query_params.get("lang")
    if chosen in i18n.LOCALES:
        i18n.set_locale(chosen)


def _number(name: str, suffix: str) -> int:
    """``12.atom`` -> 12; anything else names nothing (404)."""
    if not name.endswith(suffix):
        raise NotFound(_("Page not found"))
    digits = name[: -len(suffix)]
    if not digits.isdigit() or len(digits) > 10:
        raise NotFound(_("Page not found"))
    return int(digits)


async def _atom(
    request: Request[Any, Any, Any],
    now: dt.datetime,
    *,
    key: str,
    title: str,
    html_path: str,
    asset_id: int | None = None,
    site_id: int | None = None,
) -> bytes:
    """One Atom feed: the latest published updates (of one facility or site, or all)."""
    base = base_url(request)
    items = await public.recent_updates(
        asset_id=asset_id, site_id=site_id, limit=feeds.atom.ENTRIES
    )
    current = await version(request, now)
    return feeds.atom.render(
        items,
        base=base,
        key=key,
        title=title,
        self_url=f"{base}{request.url.path}{lang_query()}",
        html_path=html_path,
        changed_at=current.changed_at,
    )


class NoticeController(Controller):
    include_in_schema = False

    @get("/notices", opt=conditional.route_opt)
    async def index(self, request: Request[Any, Any, Any]) -> ASGIResponse:
        """Every closure holding now, a page at a time (the home page shows the first few)."""
        raw = request.query_params.get("page", "1")
        number = int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_PAGE else 1

        async def build(now: dt.datetime) -> bytes:
            closures_, total = await public.holding_page(now, number, PER_PAGE)
            pages = max(1, -(-total // PER_PAGE))
            return page(
                request,
                "public/notices.html",
                now,
                closures=closures_,
                total=total,
                number=number,
                pages=pages,
                feeds=feed_links(),
                closure_map=map_config(request),
            )

        return await conditional(request, f"notices:{number}", HTML, build, html=True)

    @get("/notices/{closure_id:int}", opt=conditional.route_opt)
    async def show(self, request: Request[Any, Any, Any], closure_id: int) -> ASGIResponse:
        async def build(now: dt.datetime) -> bytes:
            closure = await public.closure(closure_id)
            if closure is None:
                raise NotFound(_("There is no public notice with this number."))
            site = await public.site(closure.asset.site_id)
            return page(
                request,
                "public/notice.html",
                now,
                closure=closure,
                timeline=await public.timeline(closure.id),
                feeds=feed_links(asset=closure.asset, site_id=closure.asset.site_id),
                targets=subscription_targets(closure.asset),
                site=site,
                place_map=map_config(request),
            )

        return await conditional(request, f"notice:{closure_id}", HTML, build, html=True)

    @get("/facilities/{asset_id:int}", opt=conditional.route_opt)
    async def facility(self, request: Request[Any, Any, Any], asset_id: int) -> ASGIResponse:
        async def build(now: dt.datetime) -> bytes:
            asset, closures_ = await public.for_asset(asset_id)
            if asset is None:
                raise NotFound(_("There is no facility with this number."))
            status = (await public.register(now, asset.site_id))[0]
            entry = next((a for a in status.assets if a.id == asset.id), None)
            return page(
                request,
                "public/facility.html",
                now,
                asset=asset,
                status=entry.status if entry else "in_service",
                current=[c for c in closures_ if c.holds(now) or c.status == Status.PLANNED],
                past=[c for c in closures_ if not (c.holds(now) or c.status == Status.PLANNED)],
                feeds=feed_links(asset=asset, site_id=asset.site_id),
                targets=subscription_targets(asset),
                place_map=map_config(request),
            )

        return await conditional(request, f"facility:{asset_id}", HTML, build, html=True)

    @get("/notices/sites/{site_id:int}", opt=conditional.route_opt)
    async def site(self, request: Request[Any, Any, Any], site_id: int) -> ASGIResponse:
        async def build(now: dt.datetime) -> bytes:
            found = await public.site(site_id)
            if found is None:
                raise NotFound(_("There is no site with this number."))
            register = await public.register(now, site_id)
            return page(
                request,
                "public/site.html",
                now,
                site=found,
                register=register[0] if register else public.RegisterSite(found, []),
                feeds=feed_links(site_id=found.id),
                targets=subscription_targets(site=found),
            )

        return await conditional(request, f"site:{site_id}", HTML, build, html=True)

    # --- feeds ---

    @get("/feeds/notices.atom", opt=conditional.route_opt)
    async def atom_all(self, request: Request[Any, Any, Any]) -> ASGIResponse:
        _language_from_query(request)

        async def build(now: dt.datetime) -> bytes:
            return await _atom(
                request, now, key="notices", title=_("Facility closure notices"), html_path="/"
            )

        return await conditional(request, "atom:all", feeds.atom.MEDIA_TYPE, build)

    @get("/feeds/sites/{name:str}", opt=conditional.route_opt)
    async def atom_site(self, request: Request[Any, Any, Any], name: str) -> ASGIResponse:
        site_id = _number(name, ".atom")
        _language_from_query(request)

        async def build(now: dt.datetime) -> bytes:
            found = await public.site(site_id)
            if found is None:
                raise NotFound(_("There is no site with this number."))
            return await _atom(
                request,
                now,
                key=f"site-{site_id}",
                title=_("Closure notices: %(name)s") % {"name": local_text(found, "name")},
                html_path=f"/notices/sites/{site_id}",
                site_id=site_id,
            )

        return await conditional(request, f"atom:site:{site_id}", feeds.atom.MEDIA_TYPE, build)

    @get("/feeds/facilities/{name:str}", opt=conditional.route_opt)
    async def atom_facility(self, request: Request[Any, Any, Any], name: str) -> ASGIResponse:
        asset_id = _number(name, ".atom")
        _language_from_query(request)

        async def build(now: dt.datetime) -> bytes:
            found = await public.asset(asset_id)
            if found is None:
                raise NotFound(_("There is no facility with this number."))
            return await _atom(
                request,
                now,
                key=f"facility-{asset_id}",
                title=_("Closure notices: %(name)s") % {"name": local_text(found, "name")},
                html_path=f"/facilities/{asset_id}",
                asset_id=asset_id,
            )

        return await conditional(request, f"atom:facility:{asset_id}", feeds.atom.MEDIA_TYPE, build)

    @get("/feeds/closures.ics", opt=conditional.route_opt)
    async def ics(self, request: Request[Any, Any, Any]) -> ASGIResponse:
        _language_from_query(request)

        async def build(now: dt.datetime) -> bytes:
            closures_ = await public.calendar(now)
            return await feeds.ical.render(
                closures_, base=base_url(request), cache=cache_of(request), now=now
            )

        return await conditional(request, "ics", feeds.ical.MEDIA_TYPE, build)

    @get("/feeds/closures.geojson", opt=conditional.route_opt)
    async def geojson(self, request: Request[Any, Any, Any]) -> ASGIResponse:
        async def build(now: dt.datetime) -> bytes:
            closures_ = await public.holding_or_planned(now)
            return feeds.geojson.render(closures_, base=base_url(request), now=now)

        return await conditional(
            request, "geojson", feeds.geojson.MEDIA_TYPE, build, localized=False
        )

    @get("/feeds/closures.wzdx.geojson", opt=conditional.route_opt)
    async def wzdx(self, request: Request[Any, Any, Any]) -> ASGIResponse:
        _language_from_query(request)

        async def build(now: dt.datetime) -> bytes:
            closures_ = await public.calendar(now)
            return feeds.wzdx.render(
                closures_,
                base=base_url(request),
                now=now,
                contact_email=feeds.wzdx.contact(request.app.state.settings.mail_from),
            )

        return await conditional(request, "wzdx", feeds.wzdx.MEDIA_TYPE, build)

    @get("/feeds/cap/{name:str}", opt=conditional.route_opt)
    async def cap(self, request: Request[Any, Any, Any], name: str) -> ASGIResponse:
        closure_id = _number(name, ".xml")

        async def build(now: dt.datetime) -> bytes:
            closure = await public.closure(closure_id)
            if closure is None or not closure.is_urgent:
                raise NotFound(_("No urgent closure has this number."))
            return feeds.cap.render(closure, base=base_url(request), now=now)

        return await conditional(
            request, f"cap:{closure_id}", feeds.cap.MEDIA_TYPE, build, localized=False
        )

    # --- subscriptions ---

    @get("/subscriptions")
    async def subscribe_form(self, request: Request[Any, Any, Any]) -> Template:
        return await subscribe_page(request, 200)

    @post("/subscriptions", opt=CHECKED_BY_HANDLER)
    async def subscribe(self, request: Request[Any, Any, Any], now: dt.datetime) -> Response[Any]:
        """The form of every public page, which a shared cache serves without a token: sent
        without one (no JavaScript), it is shown again, filled in, with a token to send."""
        form = await request.form()
        values = await form_values(request)
        target = values.get("target", "all")
        if not form_token_valid(request, form.get(FORM_FIELD)):
            return await subscribe_page(
                request,
                200,
                target=target,
                email=values.get("email", "").strip()[:254],
                notice=_("Please press Subscribe once more to send your request."),
            )
        if values.get("website", "").strip():
            # A bot filled the field people never see: answer as if it worked, store nothing.
            return Redirect(path="/subscriptions/requested", status_code=303)
        asset_id, site_id = parse_target(target)
        email = values.get("email", "").strip()
        try:
            data = msgspec.convert(
                {"email": email, "asset_id": asset_id, "site_id": site_id}, SubscribeIn
            )
        except msgspec.ValidationError:
            return await subscribe_page(
                request,
                400,
                target=target,
                error=_("Enter a valid e-mail address, such as name@example.com."),
            )
        limit = request.app.state.settings.subscribe_rate_limit
        by_address = await rate_hit(f"subscribe:ip:{client_ip(request)}", RATE_WINDOW, now)
        by_email = await rate_hit(f"subscribe:email:{email_key(email)}", RATE_WINDOW, now)
        if by_address > limit or by_email > limit:
            retry = RATE_WINDOW - int(now.timestamp()) % RATE_WINDOW
            response = render(
                request,
                "public/subscribe_limited.html",
                status_code=429,
                minutes=max(1, -(-retry // 60)),
            )
            response.headers["Retry-After"] = str(retry)
            return response
        try:
            await closures.subscribe(data, i18n.current_locale(), now)
        except ValidationFailed as exc:
            message = next(iter(exc.errors.values()), exc.detail)
            return await subscribe_page(request, 400, target="all", error=message)
        return Redirect(path="/subscriptions/requested", status_code=303)

    @get("/subscriptions/requested")
    async def requested(self, request: Request[Any, Any, Any]) -> Template:
        return render(request, "public/subscribe_requested.html")

    @get("/subscriptions/confirm/{token:str}")
    async def confirm_page(self, request: Request[Any, Any, Any], token: str) -> Template:
        """The page the e-mail's link opens: a button that confirms (a mail link scanner
        following the link confirms nothing)."""
        state = await public.subscription_state(token)
        if state == "active":
            return render(request, "public/subscription_confirmed.html", token=token)
        if state != "pending":
            return render(request, "public/subscription_invalid.html", status_code=404)
        return render(
            request, "public/subscription_confirm.html", token=token, csrf=reader_token(request)
        )

    @post("/subscriptions/confirm/{token:str}")
    async def confirm(
        self, request: Request[Any, Any, Any], token: str, now: dt.datetime
    ) -> Response[Any]:
        """The button: confirms (again is fine), then shows the confirmed page."""
        if await closures.confirm_subscription(token, now):
            return Redirect(path=f"/subscriptions/confirm/{token}", status_code=303)
        return render(request, "public/subscription_invalid.html", status_code=404)

    @get("/unsubscribe/{token:str}")
    async def unsubscribe_page(self, request: Request[Any, Any, Any], token: str) -> Template:
        state = await public.subscription_state(token)
        if state is None:
            return render(request, "public/subscription_invalid.html", status_code=404)
        return render(request, "public/unsubscribe.html", token=token, state=state)

    @post("/unsubscribe/{token:str}")
    async def unsubscribe(
        self, request: Request[Any, Any, Any], token: str, now: dt.datetime
    ) -> Template:
        """RFC 8058 one-click: mail clients POST ``List-Unsubscribe=One-Click`` with no cookie."""
        if await closures.unsubscribe(token, now):
            return render(request, "public/unsubscribed.html")
        return render(request, "public/subscription_invalid.html", status_code=404)
