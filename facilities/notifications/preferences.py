"""What each member of staff chose to receive, and the one door every staff e-mail goes through.

A person chooses, per kind of event (:class:`~facilities.notifications.choices.StaffEvent`),
immediately (the default: nobody who never opened the page notices a change), in the daily
digest, or off. The kinds in ``LOCKED`` are always sent at once: the choice is refused here, not
only hidden on the page, so a forged form changes nothing.

:func:`deliver_to_staff` is what a service calls instead of ``enqueue`` when it writes to a
member of staff: immediately queues the e-mail as before, digest stores a :class:`DigestItem`
for :mod:`facilities.notifications.digest`, off does nothing (and logs nothing: a person who
turned a kind off gets no noise in the logs either). A team mailbox is nobody's to choose for:
its mail always goes at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

import msgspec

from facilities import db
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.notifications import services
from facilities.notifications.choices import Delivery, StaffEvent
from facilities.notifications.tables import DigestItem, NotificationPreference


@dataclasses.dataclass(frozen=True)
class StaffRecipient:
    """Whom a staff e-mail goes to. ``user_id`` None: a team mailbox, no person's choice."""

    email: str
    language: str
    user_id: int | None = None


#: The preferences form: one optional field per kind, named by its value (a kind the form
#: leaves out keeps its choice).
PreferencesForm: type[msgspec.Struct] = msgspec.defstruct(
    "PreferencesForm", [(kind.value, Delivery | None, None) for kind in StaffEvent]
)


def _key(user_id: int, kind: StaffEvent) -> str:
    return f"{user_id}:{kind.value}"


async def preferences_of(user_id: int) -> dict[StaffEvent, Delivery]:
    """Every kind with this person's choice (immediately where they chose nothing; always
    immediately for a locked kind, whatever an old row says)."""
    rows = await NotificationPreference.select(
        NotificationPreference.kind, NotificationPreference.delivery
    ).where(NotificationPreference.user == user_id)
    chosen = {row["kind"]: row["delivery"] for row in rows}
    return {
        kind: Delivery.IMMEDIATELY
        if kind.is_locked
        else Delivery(chosen.get(kind.value, Delivery.IMMEDIATELY))
        for kind in StaffEvent
    }


async def delivery_for(user_id: int | None, kind: StaffEvent) -> Delivery:
    if user_id is None or kind.is_locked:
        return Delivery.IMMEDIATELY
    row = (
        await NotificationPreference.select(NotificationPreference.delivery)
        .where(NotificationPreference.key == _key(user_id, kind))
        .first()
    )
    return Delivery(row["delivery"]) if row else Delivery.IMMEDIATELY


def choices_of(form: msgspec.Struct) -> dict[StaffEvent, Delivery]:
    """The kinds the form chose for (a kind it left out is not in the result)."""
    values = msgspec.structs.asdict(form)
    return {kind: Delivery(values[kind.value]) for kind in StaffEvent if values[kind.value]}


async def save_preferences(
    user_id: int, choices: Mapping[StaffEvent, Delivery], now: dt.datetime
) -> None:
    """Save a person's own choices. A locked kind may only be "immediately": anything else is
    refused with a message (400), and nothing of the form is saved."""
    refused = {
        kind.value: _("This e-mail is always sent at once: it cannot be delayed or turned off.")
        for kind, delivery in choices.items()
        if kind.is_locked and delivery != Delivery.IMMEDIATELY
    }
    if refused:
        raise ValidationFailed(refused)
    async with db.transaction():
        for kind, delivery in choices.items():
            if kind.is_locked:
                continue
            await NotificationPreference.insert(
                NotificationPreference(
                    key=_key(user_id, kind),
                    user=user_id,
                    kind=kind,
                    delivery=delivery,
                    updated_at=now,
                )
            ).on_conflict(
                target=NotificationPreference.key,
                action="DO UPDATE",
                values=[NotificationPreference.delivery, NotificationPreference.updated_at],
            )


async def deliver_to_staff(
    recipient: StaffRecipient,
    kind: StaffEvent,
    *,
    template: str,
    context: dict[str, Any],
    dedupe_key: str,
    now: dt.datetime,
) -> int | None:
    """Tell a member of staff about an event as they chose; call it inside the caller's
    transaction, as ``enqueue``. Returns the outbox row's or the digest item's id, or None
    when nothing new was stored (off, or this ``dedupe_key`` was already told)."""
    delivery = await delivery_for(recipient.user_id, kind)
    if delivery == Delivery.OFF or not recipient.email:
        return None
    if delivery == Delivery.IMMEDIATELY or recipient.user_id is None:
        return await services.enqueue(
            to=recipient.email,
            template=template,
            context=context,
            language=recipient.language,
            dedupe_key=dedupe_key,
            now=now,
        )
    subject, _text, _html = services.render(template, context, recipient.language)
    rows = (
        await DigestItem.insert(
            DigestItem(
                dedupe_key=dedupe_key[:200],
                user=recipient.user_id,
                kind=kind,
                subject=subject[:300],
                link=kind.link(context)[:300],
                created_at=now,
            )
        )
        .on_conflict(action="DO NOTHING")
        .returning(DigestItem.id)
    )
    return rows[0]["id"] if rows else None
