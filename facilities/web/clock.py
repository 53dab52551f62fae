"""The app's clock, as handlers see it.

``create_app(clock=...)`` stores the clock on the app; every handler that needs the time declares
a ``now: dt.datetime`` parameter and gets one reading per request from :func:`provide_now`
(registered app-wide as the ``now`` dependency). Middleware and helpers that have only the
connection call :func:`now_of`. Nothing under ``web/`` or the domains reads the wall clock.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection


def now_of(connection: ASGIConnection[Any, Any, Any, Any]) -> dt.datetime:
    """The current instant by the app's clock."""
    return connection.app.state.clock()  # type: ignore[no-any-return]


def provide_now(request: Request[Any, Any, Any]) -> dt.datetime:
    """The ``now`` dependency: read once per request, so one request sees one instant."""
    return now_of(request)
