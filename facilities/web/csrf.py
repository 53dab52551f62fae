"""CSRF protection for cookie-authenticated writes.

Litestar's CSRF middleware checks every unsafe request. A machine client that sends
``Authorization: Bearer`` carries no cookie an attacker's page could ride on, and a cross-site
page cannot add that header without a CORS preflight, so such requests skip the check. The
authentication middleware, for its part, ignores the session cookie whenever a bearer token is
present, so skipping here never lets a cookie-authenticated write through.

An API request with no credentials at all (no token, no live session) skips the check too: it
has no session an attacker could ride on, and the staff guard answers it with a 401 and a
``WWW-Authenticate`` challenge, as for a GET, instead of a 403 about an expired form.

A safe request (GET, HEAD) that already carries the cookie passes straight on with that cookie
as the request's token: that is all Litestar's middleware does for it, but only after building a
request, parsing its content type and wrapping ``send`` for a cookie it will not set. Most
requests are such reads, so this saves about a tenth of the cheapest request's cost
(bench/README.md, ``public_http.py``).

Public pages and feeds are the same bytes for every anonymous reader, so a shared cache can serve
them (``facilities.web.conditional``): their routes take :data:`SHARED` (no CSRF cookie is set on
them), and their forms carry an empty token. ``static/js/forms.js`` fills it in from the cookie,
asking ``/form-token`` for one first when the reader has none. Without JavaScript such a form
arrives without a token; its handler (which takes :data:`CHECKED_BY_HANDLER`) checks with
:func:`form_token_valid` and, when it fails, shows the form again with :func:`issue_token`'s
token to send once more: nothing typed is lost, and nothing is done without a token.
"""

from __future__ import annotations

import functools
from secrets import compare_digest
from typing import Any

from litestar import Request
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie, Headers
from litestar.middleware._utils import should_bypass_middleware
from litestar.middleware.csrf import (
    CSRF_SECRET_LENGTH,
    CSRFMiddleware,
    generate_csrf_hash,
    generate_csrf_token,
)
from litestar.types import Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

COOKIE_NAME = "csrftoken"
FORM_FIELD = "_csrf_token"

#: Route options of a public page or feed (the same bytes for every anonymous reader): the CSRF
#: middleware sets no cookie on it, so a shared cache may keep it. GET routes only.
SHARED = {"exclude_from_csrf": True}
#: Route options of a public form's POST whose handler checks the token itself
#: (:func:`form_token_valid`), to answer a form sent without one with the form again.
CHECKED_BY_HANDLER = {"exclude_from_csrf": True}


def config(secret: str, *, secure: bool) -> CSRFConfig:
    return CSRFConfig(
        secret=secret,
        cookie_name=COOKIE_NAME,
        cookie_secure=secure,
        cookie_httponly=False,  # static/js/forms.js and writes.js read it
        # Anchored: Litestar searches the whole path, so an unanchored "/open311" also let
        # e.g. POST /reports/open311/still-broken through without the token.
        # Static files: every reader gets the same ones (and a shared cache keeps none that
        # sets a cookie).
        exclude=["^/open311/", "^/unsubscribe/", "^/static/"],
    )


def _config_of(request: Request[Any, Any, Any]) -> CSRFConfig:
    """The app's CSRF configuration, as :func:`config` made it for the middleware."""
    settings = request.app.state.settings
    return _config(settings.secret_key, settings.cookie_secure)


@functools.lru_cache(maxsize=4)
def _config(secret: str, secure: bool) -> CSRFConfig:
    return config(secret, secure=secure)


def _secret_part(token: str, secret: str) -> str | None:
    """The random part of a token whose signature is right (as Litestar's middleware checks)."""
    if len(token) <= CSRF_SECRET_LENGTH:
        return None
    part, signature = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    return part if compare_digest(signature, generate_csrf_hash(part, secret)) else None


def reader_token(request: Request[Any, Any, Any]) -> str:
    """This reader's CSRF token: the one the middleware chose for the request, else (on a
    :data:`SHARED` route, which it skips) the reader's cookie; empty without either."""
    token = ScopeState.from_scope(request.scope).csrf_token
    if isinstance(token, str) and token:
        return token
    return request.cookies.get(COOKIE_NAME, "")


def form_token_valid(request: Request[Any, Any, Any], sent: str | None) -> bool:
    """Whether ``sent`` and the reader's cookie are the same signed token (the middleware's
    double-submit check, for a :data:`CHECKED_BY_HANDLER` route)."""
    secret = _config_of(request).secret
    cookie = request.cookies.get(COOKIE_NAME)
    if not sent or not cookie:
        return False
    mine, theirs = _secret_part(sent, secret), _secret_part(cookie, secret)
    return mine is not None and theirs is not None and compare_digest(mine, theirs)


def issue_token(request: Request[Any, Any, Any]) -> tuple[str, Cookie | None]:
    """A token for a form shown again, and the cookie to set when the reader has no valid one."""
    current = _config_of(request)
    cookie = request.cookies.get(COOKIE_NAME, "")
    if cookie and _secret_part(cookie, current.secret) is not None:
        return cookie, None
    token = generate_csrf_token(current.secret)
    return token, Cookie(
        key=COOKIE_NAME,
        value=token,
        path=current.cookie_path,
        secure=current.cookie_secure,
        httponly=current.cookie_httponly,
        samesite=current.cookie_samesite,
    )


def has_bearer(scope: Scope) -> bool:
    # The headers as parsed once per request (cached in the scope's state for every reader).
    return Headers.from_scope(scope).get("authorization", "")[:7].lower() == "bearer "


def is_anonymous_api_call(scope: Scope) -> bool:
    """An /api/ request the authentication middleware (which runs first) found no actor for."""
    return scope.get("path", "").startswith("/api/") and scope.get("user") is None


class TokenAwareCSRFMiddleware(CSRFMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if has_bearer(scope) or is_anonymous_api_call(scope):
                await self.app(scope, receive, send)
                return
            if scope.get("method") in self.config.safe_methods and not self._bypassed(scope):
                state = ScopeState.from_scope(scope)
                cookie = self._cookie(scope, state)
                if cookie:
                    state.csrf_token = cookie
                    await self.app(scope, receive, send)
                    return
        await super().__call__(scope, receive, send)

    def _bypassed(self, scope: Scope) -> bool:
        return should_bypass_middleware(
            scope=scope,
            scopes=self.scopes,
            exclude_opt_key=self.config.exclude_from_csrf_key,
            exclude_path_pattern=self.exclude,
        )

    def _cookie(self, scope: Scope, state: ScopeState) -> str | None:
        """The CSRF cookie, as Litestar's own request would read it (the envelope has parsed
        the cookies already; the parse is cached in the scope's state)."""
        cookies = state.cookies
        if not isinstance(cookies, dict):
            cookies = scope["litestar_app"].request_class(scope=scope).cookies
        return cookies.get(self.config.cookie_name)
