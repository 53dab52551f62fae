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
"""

from __future__ import annotations

from litestar.datastructures import Headers
from litestar.middleware._utils import should_bypass_middleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import Receive, Scope, Send
from litestar.utils.scope.state import ScopeState


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
