"""Public closure notices, feeds (Atom, iCalendar, GeoJSON, CAP) and subscriptions.

Every page and feed here is made from the read-only views in ``facilities.closures.public``
(which select public columns only) and is served with conditional GET:

- the ETag is a hash of the page's identity (route, parameters, language, anonymous or staff)
  and ``public.version``: one query, answered before anything is rendered, so a revalidation
  (304) costs that query and nothing else;
- on SQLite even that query is skipped while nothing was written: ``PRAGMA data_version`` on
  one long-lived read connection changes whenever any other connection commits, so the last
  version is reused until then (or until the clock crosses the version's ``valid_until``);
- a rendered body is kept in a small in-process cache under its ETag, so a page or feed is
  rendered once per change, not once per reader. Pages carry the reader's CSRF token in their
  forms: it is stored as a placeholder and put in per response.

Subscriptions: double opt-in (``services.subscribe`` queues the confirmation e-mail), one-click
unsubscribe (RFC 8058: the POST needs no cookie or CSRF token; its path is excluded from CSRF in
``facilities.app``), a honeypot field, and a limit per client address and per e-mail address
counted in the database (so it holds across processes). The address is never shown back.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import os
import sqlite3
from collections.abc import Awaitable, Callable
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
from babel.dates import get_month_names
from icalendar import Calendar, Event
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template
from litestar.response.base import ASGIResponse
from litestar.utils.scope.state import ScopeState
from piccolo.engine.sqlite import SQLiteEngine

from facilities import db, i18n
from facilities.accounts.services import rate_hit
from facilities.closures import public
from facilities.closures import services as closures
from facilities.closures.choices import Precision, Reason, SafetyMeasure, Scope, Status
from facilities.closures.schemas import SubscribeIn
from facilities.errors import NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.i18n import use_locale
from facilities.web import templating
from facilities.web.auth import current_actor
from facilities.web.clock import now_of
from facilities.web.forms import form_values
from facilities.web.responses import FLASH_COOKIE, client_ip, read_flash, render

HOME_LIMIT = 20  # closures per list on the home page; the rest are one click away
PER_PAGE = 50  # closures per page of /notices
MAX_PAGE = 1000
FEED_ENTRIES = 50  # entries per Atom feed
REGISTER_INLINE = 150  # up to this many facilities the home page lists them all
RATE_WINDOW = 3600  # seconds: subscription attempts are counted per hour
EVENTS_KEPT = 20_000  # rendered calendar events kept per process
TAG_DATE = "2026"  # the date part of every tag: URI (RFC 4151); never change it

ATOM = "application/atom+xml; charset=utf-8"
ICS = "text/calendar"
GEOJSON = "application/geo+json"
CAP = "application/cap+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"

#: Where a page's CSRF token goes; replaced per response (pages are cached without it).
CSRF_SLOT = "csrf-slot-4f0c1b9e"
_CSRF_SLOT_BYTES = CSRF_SLOT.encode()
_FLASH_BYTES = f"{FLASH_COOKIE}=".encode()

_ROOT = Path(__file__).resolve().parents[2]


def _salt() -> str:
    """A digest of the code, templates and catalogs that shape the output, so no deployment
    answers 304 for a page whose markup or wording changed (and every replica of one release
    computes the same ETags)."""
    package = _ROOT / "facilities"
    paths = [
        Path(__file__),
        package / "public" / "controllers.py",
        package / "closures" / "public.py",
        package / "closures" / "choices.py",
        package / "assets" / "choices.py",
        package / "web" / "templating.py",
        _ROOT / "templates" / "base.html",
        *sorted(package.glob("locale/*/LC_MESSAGES/messages.po")),
    ]
    for folder in ("public", "feeds", "layouts", "partials", "macros"):
        paths.extend(sorted((_ROOT / "templates" / folder).glob("*")))
    digest = hashlib.blake2b(digest_size=8)
    for path in paths:
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


SALT = _salt()


# --- wording ---------------------------------------------------------------------------------


def day_text(day: dt.date, reference_year: int | None = None) -> str:
    """「5月1日」 / "1 May"; the year only when it differs from ``reference_year``."""
    year = day.year != reference_year
    if i18n.current_locale() == "zh_CN":
        return (f"{day.year}年" if year else "") + f"{day.month}月{day.day}日"
    month = get_month_names("wide", locale="en")[day.month]
    return f"{day.day} {month}" + (f" {day.year}" if year else "")


def date_label(value: dt.date | dt.datetime) -> str:
    """「2026年4月1日」 / "1 April 2026" (a moment is read in the bureau's zone)."""
    if isinstance(value, dt.datetime):
        value = value.astimezone(templating._zone).date()
    return day_text(value, None)


def moment(value: dt.datetime) -> str:
    """「2026年4月1日 10:00」 / "1 April 2026, 10:00" in the bureau's zone."""
    local = value.astimezone(templating._zone)
    separator = " " if i18n.current_locale() == "zh_CN" else ", "
    return f"{date_label(local.date())}{separator}{local:%H:%M}"


def _local_year(moment: dt.datetime) -> int:
    return moment.astimezone(templating._zone).year


def expected_text(day: dt.date | None, precision: str, since: dt.datetime | None = None) -> str:
    """「预计5月1日前重新开放」 / "Expected to reopen before 1 May" (or "on 1 May")."""
    if day is None:
        return _("No reopening date has been set yet")
    date = day_text(day, _local_year(since) if since else None)
    if precision == Precision.EXACT:
        return _("Expected to reopen on %(date)s") % {"date": date}
    return _("Expected to reopen before %(date)s") % {"date": date}


def expected(closure: public.PublicClosure) -> str:
    return expected_text(
        closure.planned_reopen_on, closure.reopen_precision, closure.effective_from
    )


def revision_text(closure: public.PublicClosure, revision: public.Revision) -> str:
    """ "Revised on 3 March 2027; it was: expected to reopen before 1 May"."""
    was = revision.was
    return _("Revised on %(date)s; it was: %(was)s") % {
        "date": date_label(revision.made_at),
        "was": expected_text(was.planned_reopen_on, was.precision, closure.effective_from),
    }


def headline(closure: public.PublicClosure, now: dt.datetime) -> str:
    """The one-line state a citizen needs: closed how, planned when, or reopened when."""
    if closure.status == Status.PLANNED:
        return _("Closure planned from %(when)s") % {"when": moment(closure.effective_from)}
    if closure.status == Status.LIFTED and closure.reopens_at is not None:
        when = moment(closure.reopens_at)
        if closure.reopens_at > now:
            return _("Repair finished: reopens %(when)s") % {"when": when}
        return _("Reopened %(when)s") % {"when": when}
    return _label(Scope, closure.scope)


def tone(closure: public.PublicClosure, now: dt.datetime) -> str:
    """The badge colour class of a closure's state."""
    if closure.reopened(now):
        return "tone-ok"
    if closure.status == Status.PLANNED:
        return "tone-info"
    return "tone-bad" if closure.scope == Scope.FULL else "tone-warn"


def local_text(row: Any, field: str) -> str:
    """The English text for English readers when there is one, the Chinese one otherwise."""
    return templating.local_name(row, field)


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


HELPERS: dict[str, Any] = {
    "expected": expected,
    "expected_text": expected_text,
    "revision_text": revision_text,
    "headline": headline,
    "tone": tone,
    "local_text": local_text,
    "date_label": date_label,
    "moment": moment,
}


# --- addresses -------------------------------------------------------------------------------


def _base(request: Request[Any, Any, Any]) -> str:
    return str(request.app.state.settings.base_url).rstrip("/")


def _authority(request: Request[Any, Any, Any]) -> str:
    """The host name in every stable identifier (tag: URIs, UIDs, CAP identifiers)."""
    return urlsplit(_base(request)).hostname or "localhost"


def _lang_query() -> str:
    return "?lang=en" if i18n.current_locale() == "en" else ""


def feed_links(
    *, asset: public.PublicAsset | None = None, site_id: int | None = None
) -> list[dict[str, str]]:
    """Every feed a page offers (Atom also as <link rel="alternate">), in the reader's language."""
    q = _lang_query()
    links = [{"rel": "atom", "href": f"/feeds/notices.atom{q}", "title": _("All closure notices")}]
    if site_id is not None:
        links.append(
            {"rel": "atom", "href": f"/feeds/sites/{site_id}.atom{q}", "title": _("This site")}
        )
    if asset is not None:
        links.append(
            {
                "rel": "atom",
                "href": f"/feeds/facilities/{asset.id}.atom{q}",
                "title": _("This facility"),
            }
        )
    links.append(
        {"rel": "ics", "href": f"/feeds/closures.ics{q}", "title": _("Closure calendar (iCal)")}
    )
    links.append(
        {
            "rel": "geojson",
            "href": "/feeds/closures.geojson",
            "title": _("Map of closures (GeoJSON)"),
        }
    )
    return links


def _targets(
    asset: public.PublicAsset | None = None, site: public.PublicSite | None = None
) -> list[tuple[str, str]]:
    """The subscription choices a form offers: this facility, its site, or everything."""
    options: list[tuple[str, str]] = []
    if asset is not None:
        options.append(
            (
                f"asset:{asset.id}",
                _("This facility: %(name)s") % {"name": local_text(asset, "name")},
            )
        )
        options.append(
            (
                f"site:{asset.site_id}",
                _("Everything at %(site)s") % {"site": local_text(asset, "site_name")},
            )
        )
    elif site is not None:
        options.append(
            (f"site:{site.id}", _("Everything at %(site)s") % {"site": local_text(site, "name")})
        )
    options.append(("all", _("Every closure notice")))
    return options


# --- the cache -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str


class PublicCache:
    """Per app: the last version (with the SQLite change counter it was read at) and rendered
    bodies by ETag, least recently used first out.

    Every body's ETag includes the version it was rendered at, so when the version changes no
    body kept can be served again: they are dropped then, and the cache holds the pages of one
    version (a few MB for the bureau), not the budget's worth of dead ones."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._bodies: collections.OrderedDict[str, Rendered] = collections.OrderedDict()
        self._bytes = 0
        self._token: str | None = None
        self._probe: sqlite3.Connection | None = None
        self._probe_identity: tuple[str, int, int] | None = None
        self._memo: tuple[int, public.Version] | None = None
        self._events: dict[str, bytes] = {}

    def _data_version(self) -> int | None:
        """SQLite's count of commits by other connections, read on a connection that never
        writes; None on PostgreSQL (or if the probe fails: then every request asks). A database
        file replaced under the running server (a restore) opens a new probe."""
        engine = db.engine()
        if not isinstance(engine, SQLiteEngine):
            return None
        try:
            stat = os.stat(engine.path)
            identity = (engine.path, stat.st_dev, stat.st_ino)
            if self._probe is None or self._probe_identity != identity:
                if self._probe is not None:
                    self._probe.close()
                self._probe = sqlite3.connect(
                    engine.path, isolation_level=None, check_same_thread=False, timeout=1.0
                )
                self._probe_identity = identity
                self._memo = None
            # fetchall() steps the statement to its end, so no read transaction stays open.
            return int(self._probe.execute("PRAGMA data_version").fetchall()[0][0])
        except (OSError, sqlite3.Error):
            self._probe = None
            return None

    async def version(self, now: dt.datetime) -> public.Version:
        counter = self._data_version()
        memo = self._memo
        if (
            counter is not None
            and memo is not None
            and memo[0] == counter
            and (memo[1].valid_until is None or now < memo[1].valid_until)
        ):
            return memo[1]
        current = await public.version(now)
        if counter is not None:
            self._memo = (counter, current)
        if current.token != self._token:
            self._token = current.token
            self._bodies.clear()
            self._bytes = 0
        return current

    def event(self, key: str) -> bytes | None:
        return self._events.get(key)

    def put_event(self, key: str, body: bytes) -> None:
        if len(self._events) >= EVENTS_KEPT:
            self._events.clear()
        self._events[key] = body

    def get(self, key: str) -> Rendered | None:
        found = self._bodies.get(key)
        if found is not None:
            self._bodies.move_to_end(key)
        return found

    def put(self, key: str, value: Rendered) -> None:
        if len(value.body) > self.budget // 4:
            return
        old = self._bodies.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
        self._bodies[key] = value
        self._bytes += len(value.body)
        while self._bytes > self.budget and self._bodies:
            _key, dropped = self._bodies.popitem(last=False)
            self._bytes -= len(dropped.body)

    def clear(self) -> None:
        self._bodies.clear()
        self._bytes = 0
        self._token = None
        self._memo = None
        self._events.clear()


def cache_of(request: Request[Any, Any, Any]) -> PublicCache:
    state = request.app.state
    cache = getattr(state, "public_cache", None)
    if cache is None:
        cache = PublicCache(state.settings.public_cache_mb * 1024 * 1024)
        state.public_cache = cache
    return cache


# --- conditional GET -------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _http_date(moment: dt.datetime) -> str:
    return format_datetime(moment.astimezone(dt.UTC).replace(microsecond=0), usegmt=True)


def _matches(header: str, etag: str) -> bool:
    """If-None-Match, compared weakly (RFC 9110 13.1.2)."""
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(part.strip().removeprefix("W/") == bare for part in header.split(","))


def _conditions(scope: Any) -> tuple[str | None, str | None, bool]:
    """(If-None-Match, If-Modified-Since, a flash message waiting) straight from the raw
    headers (this runs on every request, so it skips building a headers object)."""
    inm = ims = None
    flash = False
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            inm = value.decode("latin-1")
        elif name == b"if-modified-since":
            ims = value.decode("latin-1")
        elif name == b"cookie" and _FLASH_BYTES in value:
            flash = True
    return inm, ims, flash


def not_modified(
    request: Request[Any, Any, Any], etag: str, last_modified: dt.datetime | None
) -> bool:
    inm, ims, _flash = _conditions(request.scope)
    if inm is not None:
        return _matches(inm, etag)
    if ims and last_modified is not None:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        return last_modified.replace(microsecond=0) <= since
    return False


Builder = Callable[[dt.datetime], Awaitable[bytes]]


async def conditional(
    request: Request[Any, Any, Any],
    variant: str,
    media_type: str,
    build: Builder,
    *,
    html: bool = False,
    localized: bool = True,
) -> ASGIResponse:
    """Answer from the version: 304 before rendering, else the cached or freshly built body.

    Returns the ASGI response itself: this is the hot path of every public page and feed."""
    cache = cache_of(request)
    now = now_of(request)
    current = await cache.version(now)
    parts = [SALT, variant, current.token]
    if localized or html:
        parts.append(i18n.current_locale())
    if html:
        parts.append("public" if current_actor(request) is None else "staff")
    digest = hashlib.blake2b("\n".join(parts).encode(), digest_size=12).hexdigest()
    etag = f'W/"{digest}"' if html else f'"{digest}"'
    headers = [
        ("etag", etag),
        ("cache-control", "private, no-cache" if html else "public, no-cache"),
    ]
    if current.last_modified is not None:
        headers.append(("last-modified", _http_date(current.last_modified)))
    if html or localized:
        headers.append(("vary", "Cookie, Accept-Language"))
    if html and _conditions(request.scope)[2] and read_flash(request):
        # A one-time message for this reader: a fresh page, shown once, never cached.
        body = await build(now)
        return ASGIResponse(
            body=body.replace(_CSRF_SLOT_BYTES, _csrf(request).encode()),
            media_type=media_type,
            headers=[("cache-control", "private, no-store")],
            cookies=[Cookie(key=FLASH_COOKIE, value="", max_age=0, path="/")],
        )
    if not_modified(request, etag, current.last_modified):
        return ASGIResponse(body=b"", status_code=304, headers=headers)
    found = cache.get(digest)
    if found is None:
        found = Rendered(await build(now), media_type)
        cache.put(digest, found)
    body = found.body
    if html:
        body = body.replace(_CSRF_SLOT_BYTES, _csrf(request).encode())
    return ASGIResponse(body=body, media_type=found.media_type, headers=headers)


def _csrf(request: Request[Any, Any, Any]) -> str:
    """This reader's CSRF token (set by the CSRF middleware for every safe request)."""
    token = ScopeState.from_scope(request.scope).csrf_token
    return token if isinstance(token, str) else ""


def page(request: Request[Any, Any, Any], template: str, now: dt.datetime, **context: Any) -> bytes:
    """A public page rendered to bytes, with the CSRF placeholder (see :func:`conditional`)."""
    values = {
        "flashes": read_flash(request) if _conditions(request.scope)[2] else [],
        "path": request.url.path,
        "actor": current_actor(request),
        "csrf": CSRF_SLOT,
        "now": now,
        **HELPERS,
        **context,
    }
    return templating.environment().get_template(template).render(values).encode()


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


# --- feeds -----------------------------------------------------------------------------------


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _notice_url(request: Request[Any, Any, Any], closure_id: int) -> str:
    return f"{_base(request)}/notices/{closure_id}"


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
    base = _base(request)
    authority = _authority(request)
    items = await public.recent_updates(asset_id=asset_id, site_id=site_id, limit=FEED_ENTRIES)
    entries = []
    for update, closure in items:
        text = local_text(update, "text")
        name = local_text(closure.asset, "name")
        entries.append(
            {
                "id": f"tag:{authority},{TAG_DATE}:closure-{closure.id}/update-{update.id}",
                "title": f"{name}: {_first_line(text)}",
                "url": f"{base}/notices/{closure.id}#update-{update.id}",
                "published": _rfc3339(update.published_at),
                "text": text,
                "category": closure.scope,
                "category_label": _label(Scope, closure.scope),
            }
        )
    newest = items[0][0].published_at if items else None
    current = await cache_of(request).version(now)
    updated = newest or current.changed_at or dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    lang_query = _lang_query()
    context = {
        "lang": i18n.HTML_LANG[i18n.current_locale()],
        "feed_id": f"tag:{authority},{TAG_DATE}:{key}",
        "title": title,
        "subtitle": _("Closures and reopenings of public facilities, with every published update."),
        "updated": _rfc3339(updated),
        "self_url": f"{base}{request.url.path}{lang_query}",
        "html_url": f"{base}{html_path}",
        "author": _("High-tech Zone Construction Bureau"),
        "base_url": base,
        "entries": entries,
    }
    return templating.environment().get_template("feeds/atom.xml").render(context).encode()


def _first_line(text: str, limit: int = 80) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _local_midnight(day: dt.date) -> dt.datetime:
    zone = templating._zone
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone).astimezone(dt.UTC)


def _ends(closure: public.PublicClosure) -> dt.datetime | None:
    """When the closure window ends: the announced reopening, else the start of the promised
    day (for "before 1 May" and "on 1 May" alike), else unknown."""
    if closure.status == Status.LIFTED and closure.reopens_at is not None:
        return closure.reopens_at
    if closure.planned_reopen_on is not None:
        return _local_midnight(closure.planned_reopen_on)
    return None


def _description(closure: public.PublicClosure, url: str) -> str:
    lines = [
        f"{_label(Scope, closure.scope)} · {_label(Reason, closure.reason)}",
        local_text(closure, "reason"),
        expected(closure),
    ]
    for revision in closure.revisions:
        lines.append(revision_text(closure, revision))
    detour = local_text(closure, "detour")
    if detour:
        lines.append(_("Detour: %(text)s") % {"text": detour})
    lines.append(url)
    return "\n".join(line for line in lines if line)


def _event(closure: public.PublicClosure, authority: str, base: str) -> bytes:
    """One VEVENT: the closure window, with a UID that never changes and the closure's
    SEQUENCE (bumped whenever the promise or the start moves)."""
    url = f"{base}/notices/{closure.id}"
    event = Event()
    event.add("uid", f"closure-{closure.id}@{authority}")
    event.add("dtstamp", closure.updated_at)
    event.add("created", closure.created_at)
    event.add("last-modified", closure.updated_at)
    event.add("sequence", closure.sequence)
    event.add("dtstart", closure.effective_from)
    end = _ends(closure)
    if end is not None and end > closure.effective_from:
        event.add("dtend", end)
    event.add("summary", f"{local_text(closure.asset, 'name')}: {_label(Scope, closure.scope)}")
    event.add("description", _description(closure, url))
    event.add("location", local_text(closure.asset, "site_name"))
    if closure.asset.lat is not None and closure.asset.lng is not None:
        event.add("geo", (closure.asset.lat, closure.asset.lng))
    event.add("url", url)
    event.add("status", "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    event.add("categories", [_label(Reason, closure.reason)])
    return bytes(event.to_ical())


def _events(closures: list[public.PublicClosure], authority: str, base: str) -> list[bytes]:
    return [_event(closure, authority, base) for closure in closures]


async def _ics(request: Request[Any, Any, Any], now: dt.datetime) -> bytes:
    """The calendar, assembled from per-closure events cached under a digest of everything each
    one shows: a change re-renders only the closures it touched, and a cold start renders in a
    worker thread (the icalendar package needs about a second for a thousand events)."""
    authority = _authority(request)
    base = _base(request)
    locale = i18n.current_locale()
    cache = cache_of(request)
    closures_ = await public.calendar(now)
    keys = [
        hashlib.blake2b(repr((locale, authority, base, c)).encode(), digest_size=16).hexdigest()
        for c in closures_
    ]
    missing = [(k, c) for k, c in zip(keys, closures_, strict=True) if cache.event(k) is None]
    if missing:
        rendered = await asyncio.to_thread(_events, [c for _k, c in missing], authority, base)
        for (key, _closure), body in zip(missing, rendered, strict=True):
            cache.put_event(key, body)
    calendar = Calendar()
    calendar.add("prodid", f"-//{authority}//facilities closure notices//{locale}")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _("Facility closures"))
    calendar.add("x-wr-timezone", str(templating._zone))
    head = bytes(calendar.to_ical())
    end = b"END:VCALENDAR\r\n"
    assert head.endswith(end)
    return head[: -len(end)] + b"".join(cache.event(k) or b"" for k in keys) + end


def _both(
    func: Callable[[public.PublicClosure], str], closure: public.PublicClosure
) -> dict[str, str]:
    """``func(closure)`` in Chinese and in English."""
    out = {}
    for language, suffix in (("zh_CN", "zh"), ("en", "en")):
        with use_locale(language):
            out[suffix] = func(closure)
    return out


def _scope_label(closure: public.PublicClosure) -> str:
    return _label(Scope, closure.scope)


def _reason_label(closure: public.PublicClosure) -> str:
    return _label(Reason, closure.reason)


async def _geojson(request: Request[Any, Any, Any], now: dt.datetime) -> bytes:
    features = []
    for closure in await public.in_force(now):
        asset = closure.asset
        geometry = (
            {"type": "Point", "coordinates": [asset.lng, asset.lat]}
            if asset.lat is not None and asset.lng is not None
            else None
        )
        expected_words = _both(expected, closure)
        scope_words = _both(_scope_label, closure)
        reason_words = _both(_reason_label, closure)
        features.append(
            {
                "type": "Feature",
                "id": closure.id,
                "geometry": geometry,
                "properties": {
                    "closure_id": closure.id,
                    "asset_id": asset.id,
                    "asset_code": asset.code,
                    "name_zh": asset.name_zh,
                    "name_en": asset.name_en,
                    "site_name_zh": asset.site_name_zh,
                    "site_name_en": asset.site_name_en,
                    "asset_type": asset.asset_type,
                    "status": closure.status,
                    "scope": closure.scope,
                    "scope_label_zh": scope_words["zh"],
                    "scope_label_en": scope_words["en"],
                    "reason": closure.reason,
                    "reason_label_zh": reason_words["zh"],
                    "reason_label_en": reason_words["en"],
                    "reason_zh": closure.reason_zh,
                    "reason_en": closure.reason_en,
                    "is_urgent": closure.is_urgent,
                    "effective_from": closure.effective_from.isoformat(),
                    "expected_reopening": closure.planned_reopen_on.isoformat()
                    if closure.planned_reopen_on
                    else None,
                    "reopen_precision": closure.reopen_precision,
                    "expected_reopening_zh": expected_words["zh"],
                    "expected_reopening_en": expected_words["en"],
                    "reopens_at": closure.reopens_at.isoformat() if closure.reopens_at else None,
                    "url": _notice_url(request, closure.id),
                    "updated_at": closure.updated_at.isoformat(),
                },
            }
        )
    document = {"type": "FeatureCollection", "features": features}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _cap_time(moment: dt.datetime) -> str:
    """CAP 1.2 date-time: seconds, an explicit offset, never "Z"."""
    text = moment.astimezone(templating._zone).replace(microsecond=0).isoformat()
    return text.removesuffix("+00:00") + "-00:00" if text.endswith("+00:00") else text


def _cap_stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


async def _cap(request: Request[Any, Any, Any], now: dt.datetime, closure_id: int) -> bytes:
    closure = await public.closure(closure_id)
    if closure is None or not closure.is_urgent:
        raise NotFound(_("No urgent closure has this number."))
    authority = _authority(request)
    sender = authority
    identifier = f"{authority}:closure:{closure.id}:{_cap_stamp(closure.updated_at)}"
    first = f"{authority}:closure:{closure.id}:{_cap_stamp(closure.created_at)}"
    is_first = closure.updated_at == closure.created_at
    reopened = closure.reopened(now) or (
        closure.status == Status.LIFTED and closure.reopens_at is None
    )
    if reopened:
        urgency, severity, response = "Past", "Minor", "AllClear"
    elif closure.status == Status.PLANNED:
        urgency, response = "Expected", "Prepare"
        severity = "Moderate" if closure.scope == Scope.FULL else "Minor"
    else:
        urgency, response = "Immediate", "Avoid"
        severity = "Moderate" if closure.scope == Scope.FULL else "Minor"
    asset = closure.asset
    circle = ""
    if asset.lat is not None and asset.lng is not None:
        radius_km = max(0.05, (asset.length_m or 100.0) / 2000.0)
        circle = f"{asset.lat:.6f},{asset.lng:.6f} {radius_km:.3f}"
    end = _ends(closure)
    infos = []
    for language, cap_language in (("zh_CN", "zh-CN"), ("en", "en")):
        with use_locale(language):
            measures = [_label(SafetyMeasure, m) for m in closure.safety_measures]
            description = [
                local_text(closure, "reason"),
                expected(closure),
                *(revision_text(closure, r) for r in closure.revisions),
            ]
            if measures:
                description.append(_("Safety measures: %(list)s") % {"list": ", ".join(measures)})
            detour = local_text(closure, "detour")
            infos.append(
                {
                    "language": cap_language,
                    "event": _("Facility closure"),
                    "sender_name": _("High-tech Zone Construction Bureau"),
                    "headline": f"{local_text(asset, 'name')}: {headline(closure, now)}",
                    "description": "\n".join(d for d in description if d),
                    "instruction": _("Detour: %(text)s") % {"text": detour} if detour else "",
                    "area": f"{local_text(asset, 'site_name')} · {local_text(asset, 'name')}",
                }
            )
    context = {
        "identifier": identifier,
        "sender": sender,
        "sent": _cap_time(closure.updated_at),
        "msg_type": "Alert" if is_first else "Update",
        "references": "" if is_first else f"{sender},{first},{_cap_time(closure.created_at)}",
        "response_type": response,
        "urgency": urgency,
        "severity": severity,
        "certainty": "Observed",
        "effective": _cap_time(closure.effective_from),
        "expires": _cap_time(end) if end is not None and not reopened else "",
        "web": _notice_url(request, closure.id),
        "circle": circle,
        "infos": infos,
    }
    return templating.environment().get_template("feeds/cap.xml").render(context).encode()


# --- subscriptions ---------------------------------------------------------------------------


def _parse_target(target: str) -> tuple[int | None, int | None]:
    """ "asset:12" -> (12, None); "site:3" -> (None, 3); anything else: everything."""
    kind, _sep, number = target.partition(":")
    if number.isdigit() and len(number) <= 10:
        if kind == "asset":
            return int(number), None
        if kind == "site":
            return None, int(number)
    return None, None


def _email_key(email: str) -> str:
    """The rate-limit key of an address: a digest, so the counter table holds no address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


# --- the controller --------------------------------------------------------------------------


class NoticeController(Controller):
    include_in_schema = False

    @get("/notices")
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
            )

        return await conditional(request, f"notices:{number}", HTML, build, html=True)

    @get("/notices/{closure_id:int}")
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
                targets=_targets(closure.asset),
                site=site,
            )

        return await conditional(request, f"notice:{closure_id}", HTML, build, html=True)

    @get("/facilities/{asset_id:int}")
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
                targets=_targets(asset),
            )

        return await conditional(request, f"facility:{asset_id}", HTML, build, html=True)

    @get("/notices/sites/{site_id:int}")
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
                targets=_targets(site=found),
            )

        return await conditional(request, f"site:{site_id}", HTML, build, html=True)

    # --- feeds ---

    @get("/feeds/notices.atom")
    async def atom_all(self, request: Request[Any, Any, Any]) -> ASGIResponse:
        _language_from_query(request)

        async def build(now: dt.datetime) -> bytes:
            return await _atom(
                request, now, key="notices", title=_("Facility closure notices"), html_path="/"
            )

        return await conditional(request, "atom:all", ATOM, build)

    @get("/feeds/sites/{name:str}")
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

        return await conditional(request, f"atom:site:{site_id}", ATOM, build)

    @get("/feeds/facilities/{name:str}")
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

        return await conditional(request, f"atom:facility:{asset_id}", ATOM, build)

    @get("/feeds/closures.ics")
    async def ics(self, request: Request[Any, Any, Any]) -> ASGIResponse:
        _language_from_query(request)

        async def build(now: dt.datetime) -> bytes:
            return await _ics(request, now)

        return await conditional(request, "ics", ICS, build)

    @get("/feeds/closures.geojson")
    async def geojson(self, request: Request[Any, Any, Any]) -> ASGIResponse:
        async def build(now: dt.datetime) -> bytes:
            return await _geojson(request, now)

        return await conditional(request, "geojson", GEOJSON, build, localized=False)

    @get("/feeds/cap/{name:str}")
    async def cap(self, request: Request[Any, Any, Any], name: str) -> ASGIResponse:
        closure_id = _number(name, ".xml")

        async def build(now: dt.datetime) -> bytes:
            return await _cap(request, now, closure_id)

        return await conditional(request, f"cap:{closure_id}", CAP, build, localized=False)

    # --- subscriptions ---

    @get("/subscriptions")
    async def subscribe_form(self, request: Request[Any, Any, Any]) -> Template:
        return await _subscribe_page(request, 200)

    @post("/subscriptions")
    async def subscribe(self, request: Request[Any, Any, Any], now: dt.datetime) -> Response[Any]:
        values = await form_values(request)
        if values.get("website", "").strip():
            # A bot filled the field people never see: answer as if it worked, store nothing.
            return Redirect(path="/subscriptions/requested", status_code=303)
        target = values.get("target", "all")
        asset_id, site_id = _parse_target(target)
        email = values.get("email", "").strip()
        try:
            data = msgspec.convert(
                {"email": email, "asset_id": asset_id, "site_id": site_id}, SubscribeIn
            )
        except msgspec.ValidationError:
            return await _subscribe_page(
                request,
                400,
                target=target,
                error=_("Enter a valid e-mail address, such as name@example.com."),
            )
        limit = request.app.state.settings.subscribe_rate_limit
        by_address = await rate_hit(f"subscribe:ip:{client_ip(request)}", RATE_WINDOW, now)
        by_email = await rate_hit(f"subscribe:email:{_email_key(email)}", RATE_WINDOW, now)
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
            return await _subscribe_page(request, 400, target="all", error=message)
        return Redirect(path="/subscriptions/requested", status_code=303)

    @get("/subscriptions/requested")
    async def requested(self, request: Request[Any, Any, Any]) -> Template:
        return render(request, "public/subscribe_requested.html")

    @get("/subscriptions/confirm/{token:str}")
    async def confirm(
        self, request: Request[Any, Any, Any], token: str, now: dt.datetime
    ) -> Template:
        if await closures.confirm_subscription(token, now):
            return render(request, "public/subscription_confirmed.html", token=token)
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

    # --- the benchmark's reference ---

    @get("/bench/constant", media_type=MediaType.TEXT)
    async def constant(self) -> bytes:
        """A constant two bytes through the same middleware: the reference every public page
        and feed is measured against in ``bench/public_http.py``."""
        return b"ok"


async def _subscribe_page(
    request: Request[Any, Any, Any], status: int, target: str = "all", error: str = ""
) -> Template:
    """The stand-alone form (also shown again, without the address, after a mistake)."""
    asset_id, site_id = _parse_target(target)
    asset = await public.asset(asset_id) if asset_id else None
    site = await public.site(site_id) if site_id else None
    targets = _targets(asset, site)
    if asset is None and site is None:
        for entry in await public.register(now_of(request)):
            targets.insert(
                -1,
                (
                    f"site:{entry.site.id}",
                    _("Everything at %(site)s") % {"site": local_text(entry.site, "name")},
                ),
            )
    return render(
        request,
        "public/subscribe.html",
        status_code=status,
        targets=targets,
        selected=target,
        error=error,
        csrf=_csrf(request),
        **HELPERS,
    )
