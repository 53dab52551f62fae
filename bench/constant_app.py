"""The app as ``facilities serve`` builds it, plus the benchmark's reference route.

``GET /bench/constant`` answers two constant bytes through the same middleware as every page;
``bench/public_http.py`` measures each public page and feed as a ratio to it. It exists only in
the app this factory builds (``uvicorn bench.constant_app:create_app --factory``), never in the
product.
"""

from __future__ import annotations

from litestar import Litestar, MediaType, get

from facilities.app import create_app as create_facilities_app


@get("/bench/constant", media_type=MediaType.TEXT, include_in_schema=False)
async def constant() -> bytes:
    """A constant two bytes: the reference for every public page and feed."""
    return b"ok"


def create_app() -> Litestar:
    app = create_facilities_app()
    app.register(constant)
    return app
