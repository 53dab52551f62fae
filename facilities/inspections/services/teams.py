"""Teams and checklist templates: the lists the schedule and inspection forms offer, a team by id
(its calendar feed), and the checklist one inspection is recorded against."""

from __future__ import annotations

from typing import Any

from facilities.inspections.tables import ChecklistTemplate, Inspection, Team
from facilities.records import loads, valid_id


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
