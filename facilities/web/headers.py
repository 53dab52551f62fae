"""Security headers on every response: no inline scripts, no framing, no MIME sniffing.

Added by the app's one ``before_send`` hook (:mod:`facilities.web.envelope`), which sees every
response, including the 404 and 405 answers Litestar gives before any route (and so any
middleware) is chosen. They are encoded once per policy and appended to the response's header
list in one extension: inserting them one by one, each insertion scanning the list, was about a
sixth of the cheapest request's cost (bench/README.md, ``public_http.py``).
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from litestar.types import Scope

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


#: The header names this module sets, as they appear (lower case) in a response's header list.
NAMES = frozenset(
    {
        b"x-content-type-options",
        b"referrer-policy",
        b"x-frame-options",
        b"content-security-policy",
        b"strict-transport-security",
    }
)


def security_headers(scope: Scope) -> tuple[tuple[bytes, bytes], ...]:
    """The encoded security headers for a request: the OpenAPI viewer's own CSP under /schema,
    the map-aware CSP elsewhere, and HSTS over HTTPS. A handler that sets one of them itself
    (a reporter's private file sets its own Referrer-Policy) keeps its value: the caller appends
    only the names the response lacks."""
    path = scope.get("path", "")
    csp = SCHEMA_CSP if path.startswith("/schema") else _csp(scope)
    return _encoded(csp, scope.get("scheme") == "https")


@functools.cache
def _encoded(csp: str, https: bool) -> tuple[tuple[bytes, bytes], ...]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
        (b"content-security-policy", csp.encode("latin-1")),
    ]
    if https:
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    return tuple(headers)
