"""The contractor register and the work order a contractor receives by e-mail.

The register is the one place a contractor's name, contacts and contract are kept. Supervisors
and administrators keep it (the ticket edit permission); every member of staff reads it. An
entry is never deleted: retiring it (``is_active`` off) takes it off the ticket form's choices
while old tickets keep it.

A ticket names its contractor by ``contractor_id``. Its ``contractor`` text column is, for a
ticket linked to the register, a copy of the register's name written only here
(:func:`register_name` on every ticket save, :func:`update_contractor` on a rename), so lists
and exports that read the text read the register's name; it holds typed text only for a ticket
the register does not know (an API client that sends a name without an id).

The work order goes through the outbox (never SMTP from a request), in the contractor's
language, to the register's e-mail address; one mail per ticket version and contractor version,
so a double submit queues one mail, and a changed ticket can be sent again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.assets.tables import Asset, Site
from facilities.audit import services as audit
from facilities.errors import NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.notifications import services as notifications
from facilities.records import get_or_404, stale, valid_id, versioned_update
from facilities.tickets.money_schemas import ContractorIn
from facilities.tickets.services.reading import find_ticket
from facilities.tickets.services.scope import require_editable
from facilities.tickets.tables import Contractor, RepairTicket

FIELDS = tuple(n for n in ContractorIn.__struct_fields__ if n != "version")


def snapshot(row: Contractor) -> dict[str, Any]:
    """What the audit keeps of an entry (dates as ISO text)."""
    values = {}
    for name in FIELDS:
        value = getattr(row, name)
        values[name] = value.isoformat() if isinstance(value, dt.date) else value
    return values


async def list_contractors(actor: Actor, *, active_only: bool = False) -> list[Contractor]:
    require(actor, Perm.TICKETS_VIEW)
    query = Contractor.objects().order_by(Contractor.name)
    if active_only:
        query = query.where(Contractor.is_active == True)  # noqa: E712
    return list(await query)


async def options(chosen: int | None = None) -> list[tuple[int, str]]:
    """(id, name) of the active entries, for the ticket form's choice, plus ``chosen`` (the
    ticket's own) when it has been retired since, so an edit keeps it."""
    active: Any = Contractor.is_active == True  # noqa: E712
    if valid_id(chosen):
        active = active | (Contractor.id == chosen)
    rows = (
        await Contractor.select(Contractor.id, Contractor.name)
        .where(active)
        .order_by(Contractor.name)
    )
    return [(r["id"], r["name"]) for r in rows]


async def get_contractor(actor: Actor, contractor_id: int) -> Contractor:
    require(actor, Perm.TICKETS_VIEW)
    return await get_or_404(
        Contractor.objects(), Contractor, contractor_id, _("No such contractor.")
    )


async def find_or_register(actor: Actor, name: str, now: dt.datetime) -> int | None:
    """The id of the register entry named ``name``, added when missing (for loading data such
    as the demo, so it can run again); None for no name."""
    name = name.strip()
    if not name:
        return None
    row = await Contractor.select(Contractor.id).where(Contractor.name == name).first()
    if row is not None:
        return int(row["id"])
    return int((await create_contractor(actor, ContractorIn(name=name), now)).id)


async def register_name(contractor_id: int, *, allow_retired: bool = False) -> str:
    """The register's name of the contractor a ticket is given (400 when there is no such
    entry, or it is retired and the ticket did not have it already)."""
    row = None
    if valid_id(contractor_id):
        row = (
            await Contractor.select(Contractor.name, Contractor.is_active)
            .where(Contractor.id == contractor_id)
            .first()
        )
    if row is None or not (row["is_active"] or allow_retired):
        raise ValidationFailed(
            {"contractor_id": _("Choose an active contractor from the register.")}
        )
    return str(row["name"])


async def _check(data: ContractorIn, contractor_id: int | None = None) -> dict[str, Any]:
    values = msgspec.structs.asdict(data)
    values.pop("version")
    for name in ("name", "contact_person", "phone", "email", "contract_number"):
        values[name] = values[name].strip()
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = _("Give the contractor's name.")
    else:
        clash = Contractor.select(Contractor.id).where(Contractor.name == values["name"])
        if contractor_id is not None:
            clash = clash.where(Contractor.id != contractor_id)
        if await clash.first():
            errors["name"] = _("The register already has a contractor with this name.")
    start, end = data.contract_start_on, data.contract_end_on
    if start and end and end < start:
        errors["contract_end_on"] = _("The contract cannot end before it starts.")
    if errors:
        raise ValidationFailed(errors)
    return values


async def create_contractor(actor: Actor, data: ContractorIn, now: dt.datetime) -> Contractor:
    require(actor, Perm.TICKETS_EDIT)
    async with db.transaction():
        values = await _check(data)
        row = Contractor(**values, created_at=now, updated_at=now, version=1)
        await row.save()
        await audit.record(
            actor, "contractor.created", "contractor", row.id, now, after=snapshot(row)
        )
    return row


async def update_contractor(
    actor: Actor, contractor_id: int, data: ContractorIn, now: dt.datetime
) -> Contractor:
    """Save an edited entry (409 when someone saved first); a new name is copied to the
    tickets that name this contractor (see the module docstring)."""
    require(actor, Perm.TICKETS_EDIT)
    async with db.transaction():
        row = await get_contractor(actor, contractor_id)
        values = await _check(data, row.id)
        before = snapshot(row)
        await versioned_update(
            Contractor,
            row.id,
            data.version,
            {getattr(Contractor, k): v for k, v in values.items()},
            now,
            stale(_("contractor")),
        )
        if values["name"] != row.name:
            await RepairTicket.update({RepairTicket.contractor: values["name"]}).where(
                RepairTicket.contractor_id == row.id
            )
        updated = await get_contractor(actor, row.id)
        await audit.record(
            actor, "contractor.updated", "contractor", row.id, now, before, snapshot(updated)
        )
    return updated


async def send_work_order(actor: Actor, ticket_id: int, now: dt.datetime) -> bool:
    """Queue the work order for the ticket's contractor (whoever may edit the ticket may send
    it). 400 when the ticket has no contractor or the contractor no e-mail address. True when
    a mail was queued, False when this very order was already queued (a double submit)."""
    ticket = require_editable(actor, await find_ticket(ticket_id))
    if ticket.contractor_id is None:
        raise ValidationFailed(
            {"contractor_id": _("Assign the ticket to a contractor from the register first.")}
        )
    contractor = await get_contractor(actor, ticket.contractor_id)
    if not contractor.email:
        raise ValidationFailed(
            {
                "email": _(
                    "%(name)s has no e-mail address in the register. Add one to the "
                    "contractor's entry, or send the work order another way."
                )
                % {"name": contractor.name}
            }
        )
    asset = await Asset.objects().where(Asset.id == ticket.asset).first()
    if asset is None:  # pragma: no cover - a ticket's asset cannot be deleted (restrict)
        raise NotFound(_("No such asset."))
    site = await Site.select(Site.name_zh, Site.name_en).where(Site.id == asset.site).first()
    async with db.transaction():
        queued = await notifications.enqueue(
            to=contractor.email,
            template="work_order",
            language=contractor.language or "zh_CN",
            now=now,
            context={
                "ticket_id": ticket.id,
                "title": ticket.title,
                "contractor": contractor.name,
                "contact_person": contractor.contact_person,
                "contract_number": contractor.contract_number,
                "asset_code": asset.code,
                "asset_name_zh": asset.name_zh,
                "asset_name_en": asset.name_en,
                "site_name_zh": site["name_zh"] if site else "",
                "site_name_en": site["name_en"] if site else "",
                "location_note": asset.location_note,
                "lat": asset.lat,
                "lng": asset.lng,
                "scope": ticket.scope or ticket.description,
                "priority": ticket.priority,
                "due": ticket.sla_due_at,
                "planned_start_on": ticket.planned_start_on,
                "planned_end_on": ticket.planned_end_on,
            },
            dedupe_key=(
                f"work_order:{ticket.id}:{ticket.version}:{contractor.id}:{contractor.version}"
            ),
        )
        if queued is not None:
            await audit.record(
                actor,
                "ticket.work_order_sent",
                "ticket",
                ticket.id,
                now,
                after={"contractor_id": contractor.id, "email": contractor.email},
            )
    return queued is not None


async def tickets_of(actor: Actor, contractor_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The contractor's latest tickets (newest first), for its page."""
    require(actor, Perm.TICKETS_VIEW)
    if not valid_id(contractor_id):
        raise NotFound(_("No such contractor."))
    return list(
        await RepairTicket.select(
            RepairTicket.id,
            RepairTicket.title,
            RepairTicket.status,
            RepairTicket.sla_due_at,
            RepairTicket.actual_end_at,
            RepairTicket.cost_actual,
        )
        .where(RepairTicket.contractor_id == contractor_id)
        .order_by(RepairTicket.id, ascending=False)
        .limit(limit)
    )
