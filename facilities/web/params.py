"""What handlers of every domain read from a request alike: a record id in the path, and the
bureau's time zone."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.params import Parameter

from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.records import MAX_ID, valid_id

#: A record id in a path: a positive integer a database column can hold (a larger number is
#: "no such record", a 400 from the parameter check, never an overflow in the driver).
IdParam = Annotated[int, Parameter(ge=1, le=MAX_ID)]


def zone_of(request: Request[Any, Any, Any]) -> ZoneInfo:
    """The bureau's time zone, in which dates typed by staff are read."""
    zone: ZoneInfo = request.app.state.settings.zone
    return zone


def int_query(request: Request[Any, Any, Any], name: str) -> int | None:
    """An optional id in the query string (``?asset=12``): None when absent, a 400 naming the
    field when it is not an id at all."""
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not valid_id(int(raw)):
        raise ValidationFailed({name: _("Choose one of the listed options.")})
    return int(raw)
