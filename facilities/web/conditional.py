"""Conditional GET (ETag, Last-Modified, 304) and shared caching for pages and feeds rendered
once per change.

A :class:`ConditionalGet` serves one family of pages; its owner (a controller module) gives it
what only the domain knows: a salt (a digest of the code and templates that shape the output,
see :func:`fingerprint`) and the version source of the data shown. Per request:

- the ETag is a hash of the salt, the page's identity (route and parameters), the data version's
  token, the language and, for HTML, whether the reader is staff: the version is one query (or
  none, see ``facilities.web.public_cache``), answered before anything is rendered, so a
  revalidation (304) costs that and nothing else;
- a rendered body is kept in the app's :class:`~facilities.web.public_cache.PublicCache` under
  its ETag;
- an anonymous reader gets the same bytes as every other anonymous reader of that language
  (forms carry no token: ``static/js/forms.js`` fills it in, see ``facilities.web.csrf``), so
  a shared cache (nginx, a CDN) may serve them: ``Cache-Control: public`` with the
  ``public_max_age`` and ``public_stale_seconds`` settings, ``Vary: Accept-Language``. A reader
  whose language comes from the ``lang`` cookie gets them ``private, no-cache``: a cache that
  keys on headers cannot tell that reader apart;
- a member of staff gets a page of their own (their CSRF token, rendered as :data:`CSRF_SLOT`
  and put in per response), ``private, no-store``: never from a shared cache;
- a reader with a one-time (flash) message gets a fresh page, never cached;
- a revalidation by an anonymous reader (If-None-Match, no session, language or flash cookie,
  no token) is answered by :func:`early_revalidation_middleware` before the authentication, CSRF
  and submission middlewares and the handler: the app remembers, per address and language, the
  ETag and 304 headers of its last shared answer at the current version
  (:class:`~facilities.web.public_cache.Revalidation`). That is most of a 304's cost, and 304s
  are what nginx and feed readers send most (bench/README.md, ``public_http.py``).

Nothing here knows a domain; this module imports none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
from collections.abc import Awaitable, Callable, Iterable
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp, HTTPResponseStartEvent, Receive, Scope, Send

from facilities import i18n
from facilities.web.auth import SESSION_COOKIE
from facilities.web.clock import now_of
from facilities.web.csrf import SHARED, reader_token
from facilities.web.locale import LANG_COOKIE
from facilities.web.public_cache import (
    Rendered,
    Revalidation,
    VersionSource,
    cache_of,
    cache_of_app,
)

HTML = "text/html"  # Litestar adds "; charset=utf-8" to every text/* type

#: Where a staff page's CSRF token goes; replaced per response (pages are cached without it).
CSRF_SLOT = "csrf-slot-4f0c1b9e"
_CSRF_SLOT_BYTES = CSRF_SLOT.encode()

Builder = Callable[[dt.datetime], Awaitable[bytes]]

#: The route option naming the :class:`ConditionalGet` that answers a route.
ROUTE_KEY = "conditional"


def fingerprint(paths: Iterable[Path]) -> str:
    """A short digest of the files that exist among ``paths`` (a salt for ETags: no deployment
    answers 304 for a page whose markup or wording changed, and every replica of one release
    computes the same ETags)."""
    digest = hashlib.blake2b(digest_size=8)
    for path in paths:
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=64)
def _http_date(moment: dt.datetime) -> str:
    return format_datetime(moment.astimezone(dt.UTC).replace(microsecond=0), usegmt=True)


def _matches(header: str, etag: str) -> bool:
    """If-None-Match, compared weakly (RFC 9110 13.1.2)."""
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(part.strip().removeprefix("W/") == bare for part in header.split(","))


def _conditions(scope: Any, cookie: bytes = b"") -> tuple[str | None, str | None, bool]:
    """(If-None-Match, If-Modified-Since, whether the Cookie header holds ``cookie``) straight
    from the raw headers (this runs on every request, so it skips building a headers object)."""
    inm = ims = None
    found = False
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            inm = value.decode("latin-1")
        elif name == b"if-modified-since":
            ims = value.decode("latin-1")
        elif cookie and name == b"cookie" and cookie in value:
            found = True
    return inm, ims, found


def not_modified(
    request: Request[Any, Any, Any], etag: str, last_modified: dt.datetime | None
) -> bool:
    inm, ims, _found = _conditions(request.scope)
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


@functools.lru_cache(maxsize=8)
def shared_cache_control(max_age: int, stale: int) -> str:
    """The Cache-Control of what every anonymous reader gets alike."""
    return f"public, max-age={max_age}, stale-while-revalidate={stale}"


def _language_from_cookie(request: Request[Any, Any, Any]) -> bool:
    """Whether the ``lang`` cookie chose this response's language (a ``?lang=`` in the address
    overrides it, as the feeds do)."""
    return LANG_COOKIE in request.cookies and "lang" not in request.query_params


@dataclasses.dataclass(frozen=True)
class ConditionalGet:
    """Conditional GET for one family of pages and feeds.

    ``version`` reads the data's fingerprint; ``audience`` names the kind of reader an HTML
    page differs for ("public" or "staff"); ``flash_cookie`` and ``read_flash`` find a one-time
    message waiting for the reader."""

    salt: str
    version: VersionSource[Any]
    audience: Callable[[Request[Any, Any, Any]], str]
    flash_cookie: str
    read_flash: Callable[[Request[Any, Any, Any]], list[dict[str, str]]]

    @property
    def route_opt(self) -> dict[str, Any]:
        """The options of a route this family answers: shared (no CSRF cookie set on it, see
        ``facilities.web.csrf.SHARED``) and revalidated early."""
        return {**SHARED, ROUTE_KEY: self}

    async def answer_early(self, scope: Scope, send: Send) -> bool:
        """Answer 304 from what this address last answered every anonymous reader, if the
        reader is one (see :func:`_anonymous_revalidation`), asks with that ETag and the data
        has not changed since; False (nothing sent) otherwise."""
        inm = _anonymous_revalidation(scope, self.flash_cookie.encode() + b"=")
        if inm is None:
            return False
        app = scope["litestar_app"]
        cache = cache_of_app(app)
        found = cache.revalidation((scope["path"], scope["query_string"], i18n.current_locale()))
        if found is None or not _matches(inm, found.etag):
            return False
        current = await cache.version(app.state.clock(), self.version)
        if current.token != found.token:
            return False
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 304,
            "headers": list(found.headers),
        }
        await send(start)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return True

    async def current(self, request: Request[Any, Any, Any], now: dt.datetime) -> Any:
        """The data's version now (memoised by the app's cache)."""
        return await cache_of(request).version(now, self.version)

    def flashes(self, request: Request[Any, Any, Any]) -> list[dict[str, str]]:
        """The reader's one-time messages (none without even reading them when the Cookie
        header does not name the flash cookie)."""
        if _conditions(request.scope, f"{self.flash_cookie}=".encode())[2]:
            return self.read_flash(request)
        return []

    async def __call__(
        self,
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
        current = await cache.version(now, self.version)
        staff = html and self.audience(request) != "public"
        parts = [self.salt, variant, current.token]
        if localized or html:
            parts.append(i18n.current_locale())
        if html:
            parts.append("staff" if staff else "public")
        digest = hashlib.blake2b("\n".join(parts).encode(), digest_size=12).hexdigest()
        etag = f'W/"{digest}"' if html else f'"{digest}"'
        headers = [("etag", etag)]
        shared = False
        if staff:
            headers.append(("cache-control", "private, no-store"))
            headers.append(("vary", "Cookie, Accept-Language"))
        elif (localized or html) and _language_from_cookie(request):
            headers.append(("cache-control", "private, no-cache"))
            headers.append(("vary", "Cookie, Accept-Language"))
        else:
            shared = True
            settings = request.app.state.settings
            control = shared_cache_control(settings.public_max_age, settings.public_stale_seconds)
            headers.append(("cache-control", control))
            if localized or html:
                headers.append(("vary", "Accept-Language"))
        if current.last_modified is not None:
            headers.append(("last-modified", _http_date(current.last_modified)))
        if html and self.flashes(request):
            # A one-time message for this reader: a fresh page, shown once, never cached.
            body = await build(now)
            return ASGIResponse(
                body=body.replace(_CSRF_SLOT_BYTES, reader_token(request).encode()),
                media_type=media_type,
                headers=[("cache-control", "private, no-store")],
                cookies=[Cookie(key=self.flash_cookie, value="", max_age=0, path="/")],
            )
        if not_modified(request, etag, current.last_modified):
            if shared:
                _remember(request, current.token, etag, headers)
            return ASGIResponse(body=b"", status_code=304, headers=headers)
        found = cache.get(digest)
        if found is None:
            found = Rendered(await build(now), media_type)
            cache.put(digest, found)
        if shared:
            _remember(request, current.token, etag, headers)
        body = found.body
        if staff:
            body = body.replace(_CSRF_SLOT_BYTES, reader_token(request).encode())
        return ASGIResponse(body=body, media_type=found.media_type, headers=headers)


def _remember(
    request: Request[Any, Any, Any], token: str, etag: str, headers: list[tuple[str, str]]
) -> None:
    """Keep what this address answered every anonymous reader of this language at this
    version, for :meth:`ConditionalGet.answer_early` (after a successful answer only)."""
    scope = request.scope
    cache_of(request).remember(
        (scope["path"], scope["query_string"], i18n.current_locale()),
        Revalidation(
            token, etag, tuple((name.encode(), value.encode("latin-1")) for name, value in headers)
        ),
    )


#: Cookies that make a reader's answer their own (staff, a chosen language); the flash cookie
#: is the family's own and is added by :meth:`ConditionalGet.answer_early`.
_OWN_COOKIES = (f"{SESSION_COOKIE}=".encode(), f"{LANG_COOKIE}=".encode())


def _anonymous_revalidation(scope: Scope, flash: bytes) -> str | None:
    """The If-None-Match of a GET from a reader whose answer is the shared one: no token, no
    session, language or flash cookie (a cookie name found anywhere in the header counts, so a
    doubt only sends the request the long way). None otherwise."""
    if scope.get("method") != "GET":
        return None
    inm = None
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            inm = value.decode("latin-1")
        elif name == b"authorization":
            return None
        elif name == b"cookie" and (flash in value or any(c in value for c in _OWN_COOKIES)):
            return None
    return inm


def early_revalidation_middleware(app: ASGIApp) -> ASGIApp:
    """Answers an anonymous reader's revalidation of a shared page or feed before the rest of
    the middleware (it runs right after the envelope, which has set the reader's language)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        family = handler.opt.get(ROUTE_KEY) if handler is not None else None
        if family is not None and scope["type"] == "http":
            if await family.answer_early(scope, send):
                return
        await app(scope, receive, send)

    return middleware
