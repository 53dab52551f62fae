"""Linking the closed asset's repair tickets to a closure (the reopening waits for them) with
the label citizens read for each, and unlinking them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.audit import services as audit
from facilities.closures.choices import Status
from facilities.closures.schemas import LinkTicketIn
from facilities.closures.services.reading import get_closure
from facilities.closures.tables import Closure, ClosureTicket
from facilities.errors import InvalidTransition, ValidationFailed
from facilities.i18n import gettext as _
from facilities.tickets.tables import RepairTicket


def _refuse_when_over(closure: Closure) -> None:
    if closure.status in {Status.LIFTED, Status.CANCELLED}:
        raise InvalidTransition(_("A lifted or cancelled closure cannot be changed."))


async def link_ticket(actor: Actor, closure_id: int, data: LinkTicketIn, now: dt.datetime) -> None:
    """Make the reopening wait for a ticket of the closed asset, with the label citizens read
    for it; linking it again changes the label."""
    require(actor, Perm.CLOSURES_EDIT)
    label_zh, label_en = data.public_label_zh.strip(), data.public_label_en.strip()
    async with db.transaction():
        closure = await get_closure(actor, closure_id)
        _refuse_when_over(closure)
        if not label_zh:
            raise ValidationFailed({"public_label_zh": _("This field is required.")})
        ticket = (
            await RepairTicket.select(RepairTicket.asset)
            .where(RepairTicket.id == data.ticket_id)
            .first()
        )
        if ticket is None:
            raise ValidationFailed({"ticket_id": _("No such ticket.")})
        if ticket["asset"] != closure.asset:
            raise ValidationFailed({"ticket_id": _("Link tickets on the closed asset only.")})
        key = f"{closure.id}:{data.ticket_id}"
        existing = await ClosureTicket.objects().where(ClosureTicket.key == key).first()
        if existing is not None:
            if (existing.public_label_zh, existing.public_label_en) == (label_zh, label_en):
                return
            await ClosureTicket.update(
                {ClosureTicket.public_label_zh: label_zh, ClosureTicket.public_label_en: label_en}
            ).where(ClosureTicket.id == existing.id)
            before: dict[str, Any] | None = {
                "ticket": data.ticket_id,
                "label": existing.public_label_zh,
                "label_en": existing.public_label_en,
            }
        else:
            await ClosureTicket.insert(
                ClosureTicket(
                    closure=closure.id,
                    ticket=data.ticket_id,
                    key=key,
                    public_label_zh=label_zh,
                    public_label_en=label_en,
                )
            ).on_conflict(action="DO NOTHING")
            before = None
        await Closure.update({Closure.updated_at: now}).where(Closure.id == closure.id)
        await audit.record(
            actor,
            "closure.ticket_linked",
            "closure",
            closure.id,
            now,
            before=before,
            after={"ticket": data.ticket_id, "label": label_zh, "label_en": label_en},
        )


async def unlink_ticket(actor: Actor, closure_id: int, ticket_id: int, now: dt.datetime) -> None:
    require(actor, Perm.CLOSURES_EDIT)
    async with db.transaction():
        closure = await get_closure(actor, closure_id)
        _refuse_when_over(closure)
        removed = (
            await ClosureTicket.delete()
            .where(ClosureTicket.key == f"{closure.id}:{ticket_id}")
            .returning(ClosureTicket.id)
        )
        if removed:
            await Closure.update({Closure.updated_at: now}).where(Closure.id == closure.id)
            await audit.record(
                actor,
                "closure.ticket_unlinked",
                "closure",
                closure.id,
                now,
                before={"ticket": ticket_id},
            )
