"""What the inspection pages and API both read from a request: an id in the path (a larger number
is "no such record", never an overflow) and the bureau's time zone."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.params import Parameter

from facilities.records import MAX_ID

IdParam = Annotated[int, Parameter(ge=1, le=MAX_ID)]


def zone_of(request: Request[Any, Any, Any]) -> ZoneInfo:
    return request.app.state.settings.zone
