"""A ticket's history (its timeline): everything that happened to it, from its audit events,
with the text of its comments attached.
"""

from __future__ import annotations

from typing import Any

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.audit import services as audit
from facilities.tickets.services.comments import list_comments


async def timeline(actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
    """Everything that happened to the ticket, oldest first: audit events with the comments'
    text attached (internal comments are staff-only, like this whole page)."""
    require(actor, Perm.TICKETS_VIEW)
    events = list(reversed(await audit.list_events("ticket", ticket_id, limit=500)))
    comments = {c["id"]: c for c in await list_comments(actor, ticket_id)}
    for event in events:
        comment_id = event["changes"].get("comment", [None, None])[1]
        event["comment"] = comments.get(comment_id)
    return events
