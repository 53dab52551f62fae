"""One record's audit trail a page at a time, newest first, for the API (the record pages show
it whole through :func:`facilities.audit.services.list_events`; a machine client may walk a long
trail). Keyset pagination on (``at``, ``id``): the cursor is the last event seen, so an event
written while a client walks the trail never shifts a page. A cursor comes from a URL, so a
made-up one is a 400 naming ``after``, never a database error.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from typing import Any

from facilities.audit import display
from facilities.audit.services import staff_names
from facilities.audit.tables import AuditEvent
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _

MAX_PER_PAGE = 200


@dataclasses.dataclass(frozen=True)
class EventPage:
    events: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(event: dict[str, Any]) -> str:
    raw = json.dumps([event["at"].isoformat(), event["id"]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        at_text, event_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        at = dt.datetime.fromisoformat(at_text)
        if at.utcoffset() is None or type(event_id) is not int or not 0 < event_id < 2**31:
            raise ValueError
    except (ValueError, TypeError):
        raise ValidationFailed({"after": _("This page link is no longer valid.")}) from None
    return at, event_id


async def page_events(
    entity_type: str, entity_id: int, after: str = "", per_page: int = 50
) -> EventPage:
    """Events of one record, newest first, ``per_page`` at a time after the ``after`` cursor;
    changes decoded and the staff they name looked up (as :func:`services.list_events`)."""
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    query = AuditEvent.select().where(
        (AuditEvent.entity_type == entity_type) & (AuditEvent.entity_id == entity_id)
    )
    if after:
        at, event_id = decode_cursor(after)
        query = query.where(
            (AuditEvent.at < at) | ((AuditEvent.at == at) & (AuditEvent.id < event_id))
        )
    rows = await (
        query.order_by(AuditEvent.at, ascending=False)
        .order_by(AuditEvent.id, ascending=False)
        .limit(per_page + 1)
    )
    more = len(rows) > per_page
    rows = rows[:per_page]
    for row in rows:
        if isinstance(row["changes"], str):
            row["changes"] = json.loads(row["changes"])
    names = await staff_names(display.user_ids(rows))
    for row in rows:
        row["names"] = names
    return EventPage(events=rows, next_cursor=encode_cursor(rows[-1]) if more and rows else None)
