"""Per-request language: the ``lang`` cookie, else Accept-Language, else the configured default.

Set for each request by the request envelope (:mod:`facilities.web.envelope`), which reads the
request's headers once for every concern that needs them."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from facilities import i18n

LANG_COOKIE = "lang"


def use_request_language(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Make the reader's language the current locale for the rest of the request."""
    default = connection.scope["litestar_app"].state.settings.language
    accept = connection.headers.get("accept-language", "")
    i18n.set_locale(i18n.negotiate(connection.cookies.get(LANG_COOKIE), accept, default))
