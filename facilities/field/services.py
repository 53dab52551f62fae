"""What the field app keeps for offline work: one person's bundle of inspections and tickets.

Everything is read through the domains' services with the actor's own rights, and narrowed to
what is assigned to the person or their team (the rule the pages apply before anyone may record
an inspection or move a ticket), so the bundle never holds another crew's work.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities.accounts.permissions import Actor
from facilities.assets import services as assets
from facilities.assets.choices import AssetType
from facilities.inspections import services as inspections
from facilities.inspections.choices import Answer, InspectionType, Recommendation, State, Weather
from facilities.tickets import services as tickets
from facilities.tickets.choices import Action, Priority, Status

#: Inspections due up to this far ahead are taken along (overdue ones always).
DAYS_AHEAD = 14
#: At most this many inspections and this many tickets in one bundle (a phone's worth).
MAX_ITEMS = 100
#: The states in which an inspector can still record (submitted ones wait for review).
RECORDABLE = (State.PLANNED, State.IN_PROGRESS)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


async def _team_names() -> dict[int, str]:
    return {row["id"]: row["name"].strip() for row in await inspections.list_teams()}


def _is_mine(actor: Actor, row: dict[str, Any], teams: dict[int, str]) -> bool:
    """Assigned to the actor, or to the team the actor works in (not unassigned work: that is
    taken from the inspection list, not carried about)."""
    if actor.id is not None and row["inspector"] == actor.id:
        return True
    team = (actor.team or "").strip()
    return bool(team) and row["team"] is not None and teams.get(row["team"]) == team


async def _asset_facts(actor: Actor, asset_id: int) -> dict[str, Any]:
    asset = await assets.load_asset(actor, asset_id)
    site = asset.site
    return {
        "id": asset.id,
        "code": asset.code,
        "name_zh": asset.name_zh,
        "name_en": asset.name_en,
        "type": AssetType(asset.asset_type).label,
        "site": getattr(site, "name_zh", ""),
        "location_note": asset.location_note,
        "built_year": asset.built_year,
        "condition_grade": asset.condition_grade,
        "is_tension_critical": asset.is_tension_critical,
        "crowd_limit": asset.crowd_limit,
    }


async def _last_inspection(actor: Actor, asset_id: int, now: dt.datetime) -> dict[str, Any] | None:
    """The asset's latest final inspection: what the inspector compares against on site."""
    rows = await inspections.list_inspections(
        actor, now, asset_id=asset_id, open_only=False, limit=50
    )
    finals = [r for r in rows if r["state"] == State.FINAL and r["completed_at"]]
    if not finals:
        return None
    last = max(finals, key=lambda r: r["completed_at"])
    return {
        "id": last["id"],
        "type": InspectionType(last["inspection_type"]).label,
        "completed_at": _iso(last["completed_at"]),
        "grade": last["grade"],
        "bci": last["bci"],
        "summary": last["summary"],
    }


async def _inspection_entry(actor: Actor, row: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    inspection = await inspections.get_inspection(actor, row["id"])
    conditions = await inspections.conditions_of(inspection.id)
    components = await assets.list_components(actor, inspection.asset)
    return {
        "id": inspection.id,
        "version": inspection.version,
        "state": inspection.state,
        "type": InspectionType(inspection.inspection_type).label,
        "due_at": _iso(inspection.due_at),
        "is_overdue": row["is_overdue"],
        "asset": await _asset_facts(actor, inspection.asset),
        "checklist": await inspections.checklist_items(inspection),
        "answers": inspections.answers_of(inspection),
        "components": [
            {
                "id": c.id,
                "name_zh": c.name_zh,
                "name_en": c.name_en,
                "depth": c.depth,
                "is_critical": c.is_critical,
            }
            for c in components
        ],
        "conditions": {
            str(component): {"score": c["score"], "is_ok": c["is_ok"], "note": c["note"]}
            for component, c in conditions.items()
        },
        "weather": inspection.weather or "",
        "recommendation": inspection.recommendation or "",
        "summary": inspection.summary,
        "last_inspection": await _last_inspection(actor, inspection.asset, now),
    }


async def my_inspections(actor: Actor, now: dt.datetime) -> list[dict[str, Any]]:
    """The actor's recordable inspections, overdue or due within :data:`DAYS_AHEAD` days, most
    urgent first."""
    teams = await _team_names()
    horizon = now + dt.timedelta(days=DAYS_AHEAD)
    rows = [
        r
        for r in await inspections.list_inspections(actor, now, limit=500)
        if r["state"] in RECORDABLE
        and _is_mine(actor, r, teams)
        and (r["is_overdue"] or r["due_at"] <= horizon)
    ]
    return [await _inspection_entry(actor, r, now) for r in rows[:MAX_ITEMS]]


async def my_tickets(actor: Actor, now: dt.datetime) -> list[dict[str, Any]]:
    """The open tickets assigned to the actor or their team, soonest due first."""
    found: list[dict[str, Any]] = []
    for view in await tickets.assigned_open(actor, now, MAX_ITEMS):
        t = view.ticket
        found.append(
            {
                "id": t.id,
                "version": t.version,
                "title": t.title,
                "description": t.description,
                "scope": t.scope,
                "status": Status(t.status).label,
                "priority": Priority(t.priority).value,
                "sla_due_at": _iso(t.sla_due_at),
                "is_overdue": view.is_overdue,
                "asset": {
                    "id": t.asset,
                    "code": view.asset_code,
                    "name_zh": view.asset_name_zh,
                    "name_en": view.asset_name_en,
                },
                "can_complete": Action.COMPLETE in view.actions,
            }
        )
    return found


def choices() -> dict[str, list[tuple[str, str]]]:
    """The labelled options the offline form offers, in the reader's language."""
    return {
        "answers": Answer.options(),
        "weather": Weather.options(),
        "recommendations": Recommendation.options(),
    }


async def bundle(actor: Actor, now: dt.datetime) -> dict[str, Any]:
    """Everything the field app stores for ``actor``: whose it is (the app wipes a bundle that
    belongs to someone else), when it was read, their inspections and tickets."""
    return {
        "user": {"id": actor.id, "name": actor.display_name},
        "read_at": now.isoformat(),
        "inspections": await my_inspections(actor, now),
        "tickets": await my_tickets(actor, now),
        "choices": choices(),
    }
