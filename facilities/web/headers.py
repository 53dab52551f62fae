"""Security headers on every response: no inline scripts, no framing, no MIME sniffing."""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# The OpenAPI viewer at /schema loads its own scripts and styles inline.
SCHEMA_CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'"


def security_headers_middleware_factory(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        path = scope.get("path", "")
        secure = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault(
                    "Content-Security-Policy", SCHEMA_CSP if path.startswith("/schema") else CSP
                )
                if secure:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
