"""What handlers of every domain read from a request alike: a record id in the path, and the
bureau's time zone."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.params import Parameter

from facilities.records import MAX_ID

#: A record id in a path: a positive integer a database column can hold (a larger number is
#: "no such record", a 400 from the parameter check, never an overflow in the driver).
IdParam = Annotated[int, Parameter(ge=1, le=MAX_ID)]


def zone_of(request: Request[Any, Any, Any]) -> ZoneInfo:
    """The bureau's time zone, in which dates typed by staff are read."""
    zone: ZoneInfo = request.app.state.settings.zone
    return zone
