"""Security headers on every response: no inline scripts, no framing, no MIME sniffing.

Set in a ``before_send`` hook of the app, which sees every response, including the 404 and 405
answers Litestar gives before any route (and so any middleware) is chosen.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# The OpenAPI viewer at /schema loads its own scripts and styles inline.
SCHEMA_CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'"


async def add_security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start" or scope.get("type") != "http":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    path = scope.get("path", "")
    headers.setdefault("Content-Security-Policy", SCHEMA_CSP if path.startswith("/schema") else CSP)
    if scope.get("scheme") == "https":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
