"""Comments on a ticket: staff notes, and public ones that are also mailed to the citizen who
reported the problem (through the outbox).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.audit import services as audit
from facilities.errors import NotFound
from facilities.i18n import gettext as _
from facilities.notifications import services as notifications
from facilities.tickets.schemas import CommentIn
from facilities.tickets.services.reading import find_ticket
from facilities.tickets.services.reporters import reporter_language
from facilities.tickets.tables import RepairTicket, TicketComment


async def add_comment(actor: Actor, ticket_id: int, data: CommentIn, now: dt.datetime) -> int:
    require(actor, Perm.TICKETS_WORK)
    async with db.transaction():
        ticket = await find_ticket(ticket_id)
        if ticket is None:
            raise NotFound(_("No such ticket."))
        rows = await TicketComment.insert(
            TicketComment(
                ticket=ticket.id,
                author=actor.id,
                body=data.body.strip(),
                is_public=data.is_public,
                created_at=now,
            )
        ).returning(TicketComment.id)
        comment_id = int(rows[0]["id"])
        await audit.record(
            actor,
            "ticket.commented",
            "ticket",
            ticket.id,
            now,
            after={"comment": comment_id, "public": data.is_public},
        )
        await RepairTicket.update({RepairTicket.updated_at: now}).where(
            RepairTicket.id == ticket.id
        )
        if data.is_public and ticket.reporter_email:
            await notifications.enqueue(
                to=ticket.reporter_email,
                template="ticket_public_comment",
                context={"ticket_id": ticket.id, "title": ticket.title, "body": data.body.strip()},
                language=await reporter_language(ticket.id, ticket.reporter_email),
                dedupe_key=f"ticket_comment:{comment_id}",
                now=now,
            )
    return comment_id


async def list_comments(actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
    require(actor, Perm.TICKETS_VIEW)
    return (
        await TicketComment.select(
            TicketComment.id,
            TicketComment.body,
            TicketComment.is_public,
            TicketComment.created_at,
            TicketComment.author.display_name.as_alias("author"),
        )
        .where(TicketComment.ticket == ticket_id)
        .order_by(TicketComment.created_at)
        .order_by(TicketComment.id)  # a total order: comments made at the same instant
    )
