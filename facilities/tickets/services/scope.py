"""Who may touch which ticket, beyond what their role allows.

Supervisors and administrators assign work and may act on any ticket. Everyone else in the
field (crew; inspectors where a rule lets them act on tickets) acts only on a ticket assigned to
them or to the team they work in (``StaffUser.team`` against the ticket's ``assignee_team``);
an unassigned ticket they first take (:func:`take_ticket`), which assigns it to them.

Acceptance of completed work is by someone other than whoever completed it, unless the bureau
turns that off (``FACILITIES_SEPARATE_ACCEPTANCE``). Who completed it is read from the audit
trail (the last ``ticket.complete`` event), so tickets completed before this rule still count.
"""

from __future__ import annotations

import datetime as dt

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.audit import services as audit
from facilities.audit.tables import AuditEvent
from facilities.errors import Conflict, InvalidTransition, NotFound, PermissionDenied
from facilities.i18n import gettext as _
from facilities.records import claim, valid_id
from facilities.tickets.choices import (
    FINAL_STATUSES,
    SUPERVISORS,
    TRANSITIONS_BY_ACTION,
    Action,
    Status,
)
from facilities.tickets.tables import RepairTicket


def is_unassigned(ticket: RepairTicket) -> bool:
    return ticket.assignee is None and not ticket.assignee_team


def is_assigned_to(actor: Actor, ticket: RepairTicket) -> bool:
    """Whether the ticket is assigned to the actor, or to the team the actor works in."""
    if actor.id is not None and ticket.assignee == actor.id:
        return True
    team = (actor.team or "").strip()
    return bool(team) and (ticket.assignee_team or "").strip() == team


def may_act_on(actor: Actor, ticket: RepairTicket) -> bool:
    """Whether the actor may act on (move, edit) this ticket as far as assignment goes."""
    return actor.role in SUPERVISORS or is_assigned_to(actor, ticket)


def require_assigned(actor: Actor, ticket: RepairTicket) -> None:
    """PermissionDenied (403) unless the actor may act on the ticket (see :func:`may_act_on`)."""
    if may_act_on(actor, ticket):
        return
    if is_unassigned(ticket):
        raise PermissionDenied(
            _("Nobody is assigned to this ticket yet. Take it first, or ask a supervisor.")
        )
    raise PermissionDenied(
        _(
            "This ticket is assigned to someone else. Only its assignee, their team or a "
            "supervisor may work on it."
        )
    )


def require_editable(actor: Actor, ticket: RepairTicket | None) -> RepairTicket:
    """The guard on editing a ticket (its fields, its cost lines, its work order): the edit
    permission, a ticket that exists, is the actor's to act on and is not finished."""
    require(actor, Perm.TICKETS_EDIT)
    if ticket is None:
        raise NotFound(_("No such ticket."))
    require_assigned(actor, ticket)
    if ticket.status in FINAL_STATUSES:
        raise InvalidTransition(_("A finished ticket cannot be edited."))
    return ticket


def is_taker(actor: Actor) -> bool:
    """Taking a ticket is for the people who do the work and are not supervisors (crew, as the
    transitions' "start" allows); supervisors assign instead and may act on anything anyway."""
    return (
        actor.id is not None
        and actor.role not in SUPERVISORS
        and actor.role in TRANSITIONS_BY_ACTION[Action.START].roles
    )


def may_take(actor: Actor, ticket: RepairTicket) -> bool:
    """Whether the actor may take this ticket (the page's "Take it" button)."""
    return is_taker(actor) and is_unassigned(ticket) and ticket.status not in FINAL_STATUSES


async def completed_by(ticket_id: int) -> int | None:
    """The id of the person who last marked the ticket's work complete (None: nobody, or the
    system, or a deleted account)."""
    row = (
        await AuditEvent.select(AuditEvent.actor)
        .where(
            (AuditEvent.entity_type == "ticket")
            & (AuditEvent.entity_id == ticket_id)
            & (AuditEvent.action == f"ticket.{Action.COMPLETE.value}")
        )
        .order_by(AuditEvent.id, ascending=False)
        .first()
    )
    return None if row is None else row["actor"]


async def acceptance_refusal(
    actor: Actor, ticket: RepairTicket, separate_acceptance: bool
) -> str | None:
    """Why the actor may not accept this ticket's completed work (None: they may)."""
    if not separate_acceptance or actor.id is None or ticket.status != Status.WORK_COMPLETE:
        return None
    if await completed_by(ticket.id) == actor.id:
        return _(
            "You completed this work yourself: someone else must accept it (the bureau asks "
            "for a second person)."
        )
    return None


async def _find(ticket_id: int) -> RepairTicket | None:
    return await RepairTicket.objects().where(RepairTicket.id == ticket_id).first()


async def take_ticket(actor: Actor, ticket_id: int, now: dt.datetime) -> RepairTicket:
    """Assign an unassigned ticket to the actor ("Take it"), audited. Of two people taking the
    same ticket at once exactly one gets it (one conditional UPDATE); the other gets 409."""
    require(actor, Perm.TICKETS_WORK)
    if not valid_id(ticket_id):
        raise NotFound(_("No such ticket."))
    async with db.transaction():
        ticket = await _find(ticket_id)
        if ticket is None:
            raise NotFound(_("No such ticket."))
        if not is_taker(actor):
            raise PermissionDenied(
                _("Only repair crew take tickets; supervisors assign them instead.")
            )
        if ticket.status in FINAL_STATUSES:
            raise InvalidTransition(_("A finished ticket cannot be taken."))
        taken = await claim(
            RepairTicket,
            (RepairTicket.id == ticket.id)
            & RepairTicket.assignee.is_null()
            & (RepairTicket.assignee_team == "")
            & RepairTicket.status.not_in(sorted(FINAL_STATUSES)),
            {
                RepairTicket.assignee: actor.id,
                RepairTicket.updated_at: now,
                RepairTicket.version: RepairTicket.version + 1,
            },
        )
        if not taken:
            raise Conflict(
                _("Someone else is already assigned to this ticket. Reload it to see who.")
            )
        updated = await _find(ticket.id)
        assert updated is not None
        await audit.record(
            actor,
            "ticket.taken",
            "ticket",
            ticket.id,
            now,
            {"assignee_id": None},
            {"assignee_id": actor.id},
        )
    return updated
