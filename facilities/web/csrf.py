"""CSRF protection for cookie-authenticated writes.

Litestar's CSRF middleware checks every unsafe request. A machine client that sends
``Authorization: Bearer`` carries no cookie an attacker's page could ride on, and a cross-site
page cannot add that header without a CORS preflight, so such requests skip the check. The
authentication middleware, for its part, ignores the session cookie whenever a bearer token is
present, so skipping here never lets a cookie-authenticated write through.

An API request with no credentials at all (no token, no live session) skips the check too: it
has no session an attacker could ride on, and the staff guard answers it with a 401 and a
``WWW-Authenticate`` challenge, as for a GET, instead of a 403 about an expired form.
"""

from __future__ import annotations

from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import Receive, Scope, Send


def has_bearer(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            return value[:7].lower() == b"bearer "
    return False


def is_anonymous_api_call(scope: Scope) -> bool:
    """An /api/ request the authentication middleware (which runs first) found no actor for."""
    return scope.get("path", "").startswith("/api/") and scope.get("user") is None


class TokenAwareCSRFMiddleware(CSRFMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (has_bearer(scope) or is_anonymous_api_call(scope)):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
