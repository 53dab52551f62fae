"""Per-request language: the ``lang`` cookie, else Accept-Language, else the configured default."""

from __future__ import annotations

from litestar.types import ASGIApp, Receive, Scope, Send

from facilities import i18n

LANG_COOKIE = "lang"


def locale_middleware_factory(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in {"http", "websocket"}:
            cookies = _cookies(scope)
            headers = dict(scope.get("headers", []))
            accept = headers.get(b"accept-language", b"").decode("latin-1")
            default = scope["litestar_app"].state.settings.language
            i18n.set_locale(i18n.negotiate(cookies.get(LANG_COOKIE), accept, default))
        await app(scope, receive, send)

    return middleware


def _cookies(scope: Scope) -> dict[str, str]:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            pairs = (part.strip().partition("=") for part in value.decode("latin-1").split(";"))
            return {key: val for key, _sep, val in pairs if key}
    return {}
