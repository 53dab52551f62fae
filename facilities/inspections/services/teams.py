"""Teams and checklist templates: the lists the schedule and inspection forms offer, a team by id
(its calendar feed), the checklist one inspection is recorded against, and who may work on an
inspection (its inspector, its team's members, supervisors).

A person belongs to the team named in their account (``StaffUser.team``, the team's name)."""

from __future__ import annotations

from typing import Any

from facilities.accounts.choices import Role
from facilities.accounts.permissions import Actor
from facilities.errors import PermissionDenied
from facilities.i18n import gettext as _
from facilities.inspections.tables import ChecklistTemplate, Inspection, Team
from facilities.records import loads, valid_id

#: Roles that assign inspections and may work on any of them.
ASSIGNERS = frozenset({Role.ADMIN, Role.SUPERVISOR})


async def list_teams() -> list[dict[str, Any]]:
    return await Team.select().order_by(Team.name)


async def find_team(team_id: int) -> dict[str, Any] | None:
    if not valid_id(team_id):
        return None
    return await Team.select().where(Team.id == team_id).first()


async def list_checklists() -> list[dict[str, Any]]:
    rows = await ChecklistTemplate.select().order_by(ChecklistTemplate.code)
    for row in rows:
        row["items"] = loads(row["items"])
    return rows


async def checklist_items(inspection: Inspection) -> list[dict[str, Any]]:
    """The items of the inspection's checklist (none without one)."""
    if inspection.checklist is None:
        return []
    template = (
        await ChecklistTemplate.objects()
        .where(ChecklistTemplate.id == inspection.checklist)
        .first()
    )
    return loads(template.items) if template else []


async def may_work_on(actor: Actor, inspection: Inspection) -> bool:
    """Whether the actor may record, edit or submit the inspection as far as assignment goes:
    supervisors and admins always; others when it is assigned to them or to their team, or to
    nobody at all (whoever starts it then becomes its inspector)."""
    if actor.role in ASSIGNERS or inspection.inspector == actor.id:
        return True
    if inspection.inspector is None and inspection.team is None:
        return True
    team = (actor.team or "").strip()
    if not team or inspection.team is None:
        return False
    row = await Team.select(Team.name).where(Team.id == inspection.team).first()
    return row is not None and row["name"].strip() == team


async def require_assigned(actor: Actor, inspection: Inspection) -> None:
    """PermissionDenied (403) unless the actor may work on the inspection (:func:`may_work_on`)."""
    if not await may_work_on(actor, inspection):
        raise PermissionDenied(
            _(
                "This inspection is assigned to someone else. Only its inspector, their team "
                "or a supervisor may record it."
            )
        )
