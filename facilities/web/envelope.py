"""What every request and every response pass through, once: one middleware that reads the
request's headers a single time (request id, language) and times it, and one ``before_send``
hook that appends the response's own headers in one list extension (security headers, request
id, and a private Cache-Control where the handler set none) and notes its status.

Why one of each: as separate middlewares and hooks, the request id, the language and the
security headers each walked a header list again (the request's, then the response's once per
header set), which together cost about a third of the cheapest request (bench/README.md,
``public_http.py``). The rules stay where they were: the headers in :mod:`.headers`, the
language in :mod:`.locale`, request ids and metrics in :mod:`.observability`.
"""

from __future__ import annotations

import time

from litestar.connection import ASGIConnection
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from facilities.web import observability
from facilities.web.headers import NAMES, security_headers
from facilities.web.locale import use_request_language

#: Where the middleware keeps the request's :class:`observability.Exchange` in the scope's state.
EXCHANGE = "facilities.exchange"
REQUEST_ID = b"x-request-id"
CACHE_CONTROL = b"cache-control"
OWN_NAMES = NAMES | {REQUEST_ID}
#: What a response says of caching when its handler said nothing: only the public pages and feeds
#: (``facilities.web.conditional``) and the static files may be kept by a shared cache. A page
#: for a member of staff must not be kept at all; one for anyone else (a form page, an error) may
#: be kept by the reader's own browser, which then shows the same form, with the same one-time
#: submission key, when they go back to it (so sending it again makes no second record).
NOT_STORED = (CACHE_CONTROL, b"private, no-store")
NOT_SHARED = (CACHE_CONTROL, b"private, no-cache")
STATIC_PREFIX = "/static/"


def envelope_middleware_factory(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await app(scope, receive, send)
            return
        # Headers and cookies parsed here are cached in the scope's state: the authentication
        # and CSRF middlewares and the handler read the same parse.
        connection: ASGIConnection = ASGIConnection(scope)  # type: ignore[type-arg]
        use_request_language(connection)
        if kind != "http":
            await app(scope, receive, send)
            return
        exchange = observability.Exchange(connection.headers.get("x-request-id", ""))
        scope["state"][EXCHANGE] = exchange
        token = observability.request_id.set(exchange.request_id)
        started = time.perf_counter()
        try:
            await app(scope, receive, send)
        finally:
            observability.count(scope, exchange.status, time.perf_counter() - started)
            observability.request_id.reset(token)

    return middleware


async def finish_headers(message: Message, scope: Scope) -> None:
    """The app's ``before_send`` hook: it sees every response, including the 404 and 405
    answers given before any route (and so any middleware) was chosen, which it counts and
    gives a request id of their own."""
    if message["type"] != "http.response.start" or scope["type"] != "http":
        return
    exchange = scope["state"].get(EXCHANGE)
    if exchange is None:
        rid = observability.new_request_id()
        observability.count_unmatched(scope, message["status"])
    else:
        exchange.status = message["status"]
        rid = exchange.request_id
    headers = message.setdefault("headers", [])
    if not isinstance(headers, list):
        headers = message["headers"] = list(headers)
    own = security_headers(scope)
    present = {bytes(name).lower() for name, _ in headers}  # the one walk of the list
    if CACHE_CONTROL not in present and not scope["path"].startswith(STATIC_PREFIX):
        headers.append(NOT_STORED if scope.get("user") is not None else NOT_SHARED)
    if present.isdisjoint(OWN_NAMES):
        headers.extend(own)
        headers.append((REQUEST_ID, rid.encode()))
        return
    # Rare: the handler set one of these itself (a private file's Referrer-Policy): it stands.
    headers.extend(header for header in own if header[0] not in present)
    if REQUEST_ID not in present:
        headers.append((REQUEST_ID, rid.encode()))
