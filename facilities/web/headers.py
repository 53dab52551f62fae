"""Security headers on every response: no inline scripts, no framing, no MIME sniffing.

Set in a ``before_send`` hook of the app, which sees every response, including the 404 and 405
answers Litestar gives before any route (and so any middleware) is chosen.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# The OpenAPI viewer at /schema loads its own scripts and styles inline.
SCHEMA_CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'"


#: Tianditu's tile hosts (t0 to t7.tianditu.gov.cn), for ``FACILITIES_MAP_TILES=tianditu``.
TIANDITU_ORIGIN = "https://*.tianditu.gov.cn"


@functools.cache
def csp_for(map_tiles: str) -> str:
    """The CSP, with the tile server's origin added to img-src when the map draws tiles from
    one (``FACILITIES_MAP_TILES``: ``none``, ``tianditu`` or a URL template; ``{s}.`` becomes
    ``*.``)."""
    if map_tiles == "tianditu":
        origin = TIANDITU_ORIGIN
    elif map_tiles == "none" or not map_tiles.startswith(("http://", "https://")):
        return CSP
    else:
        parts = urlsplit(map_tiles.replace("{s}.", "subdomain-wildcard."))
        origin = f"{parts.scheme}://{parts.netloc}".replace("subdomain-wildcard.", "*.")
    return CSP.replace("img-src 'self' data:;", f"img-src 'self' data: {origin};", 1)


def _csp(scope: Scope) -> str:
    app = scope.get("litestar_app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    return csp_for(getattr(settings, "map_tiles", "none"))


async def add_security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start" or scope.get("type") != "http":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    path = scope.get("path", "")
    headers.setdefault(
        "Content-Security-Policy", SCHEMA_CSP if path.startswith("/schema") else _csp(scope)
    )
    if scope.get("scheme") == "https":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
