"""Editing the inspection policy data: teams, checklist templates and rules (the API's
/api/v1/teams, /checklists, /rules). Everyone on the staff reads them (inspections.view); those
who plan inspections change them (schedules.edit: supervisors and administrators), audited.

Teams and checklist templates carry no version column; their ``version`` is a fingerprint of
what they hold (:func:`fingerprint`), and a change is written only while the row still holds
what the client read (``UPDATE … WHERE`` every old value): a stale write gets 409, as a
versioned record's does. A rule's ``version`` is its own column, the version its firings cite:
every change to a rule raises it. Rules are neither created nor deleted here (each code is
implemented in :mod:`.rules`); they are enabled, disabled and re-described. Nothing is deleted:
schedules and inspections name their team and checklist.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from typing import Any

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.accounts.tables import StaffUser
from facilities.audit import services as audit
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.inspections.schemas_policy import ChecklistIn, RuleIn, TeamIn
from facilities.inspections.tables import ChecklistTemplate, Rule, Team
from facilities.records import get_or_404, loads, stale

_TEAM_FIELDS = ("name", "email", "lead")
_CHECKLIST_FIELDS = ("code", "name_zh", "name_en", "items")


def fingerprint(row: dict[str, Any], fields: tuple[str, ...]) -> int:
    """A number that changes whenever one of ``fields`` of ``row`` does (1 .. 2**31-1)."""
    content = json.dumps([loads(row[f]) if f == "items" else row[f] for f in fields], default=str)
    return 1 + zlib.crc32(content.encode()) % 2_147_483_646


def _with_version(row: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The row as read, with its fingerprint as ``version`` (and a checklist's items decoded)."""
    out = {**row, "version": fingerprint(row, fields)}
    if "items" in row:
        out["items"] = loads(row["items"])
    return out


# --- teams -----------------------------------------------------------------------------------


async def get_team(actor: Actor, team_id: int) -> dict[str, Any]:
    require(actor, Perm.INSPECTIONS_VIEW)
    row = await get_or_404(Team.select(), Team, team_id, _("No such team."))
    return _with_version(row, _TEAM_FIELDS)


async def list_team_rows(actor: Actor) -> list[dict[str, Any]]:
    require(actor, Perm.INSPECTIONS_VIEW)
    rows = await Team.select().order_by(Team.name)
    return [_with_version(r, _TEAM_FIELDS) for r in rows]


async def _team_values(data: TeamIn) -> dict[str, Any]:
    name = data.name.strip()
    if not name:
        raise ValidationFailed({"name": _("Enter a name.")})
    if data.lead_id is not None and not await StaffUser.exists().where(
        (StaffUser.id == data.lead_id) & (StaffUser.is_active == True)  # noqa: E712
    ):
        raise ValidationFailed({"lead_id": _("Choose an active user.")})
    return {"name": name, "email": data.email.strip(), "lead": data.lead_id}


async def create_team(actor: Actor, data: TeamIn, now: dt.datetime) -> dict[str, Any]:
    require(actor, Perm.SCHEDULES_EDIT)
    values = await _team_values(data)
    async with db.transaction():
        inserted = (
            await Team.insert(Team(**values))
            .on_conflict(target=Team.name, action="DO NOTHING")
            .returning(Team.id)
        )
        if not inserted:
            raise ValidationFailed({"name": _("A team of this name exists already.")})
        team_id = inserted[0]["id"]
        after = {"name": values["name"], "email": values["email"], "lead": values["lead"]}
        await audit.record(actor, "team.created", "team", team_id, now, after=after)
    return await get_team(actor, team_id)


async def update_team(
    actor: Actor, team_id: int, data: TeamIn, version: int | None, now: dt.datetime
) -> dict[str, Any]:
    """Replace the team's name, e-mail and lead. People belong to a team by its name
    (``StaffUser.team``): a renamed team keeps its schedules and inspections, and the accounts
    that named the old name are moved to the new one with it."""
    require(actor, Perm.SCHEDULES_EDIT)
    if version is None:
        raise ValidationFailed({"version": _("The record version is missing; reload and retry.")})
    values = await _team_values(data)
    async with db.transaction():
        row = await get_team(actor, team_id)
        if row["version"] != version:
            raise stale(_("team"))
        if values["name"] != row["name"] and await Team.exists().where(
            (Team.name == values["name"]) & (Team.id != team_id)
        ):
            raise ValidationFailed({"name": _("A team of this name exists already.")})
        same = (Team.id == team_id) & (Team.name == row["name"]) & (Team.email == row["email"])
        same &= Team.lead.is_null() if row["lead"] is None else (Team.lead == row["lead"])
        changed = (
            await Team.update({getattr(Team, k): v for k, v in values.items()})
            .where(same)
            .returning(Team.id)
        )
        if not changed:
            raise stale(_("team"))
        if values["name"] != row["name"]:
            await StaffUser.update({StaffUser.team: values["name"]}).where(
                StaffUser.team == row["name"]
            )
        before = {"name": row["name"], "email": row["email"], "lead": row["lead"]}
        after = {"name": values["name"], "email": values["email"], "lead": values["lead"]}
        await audit.record(actor, "team.updated", "team", team_id, now, before, after)
    return await get_team(actor, team_id)


# --- checklist templates ---------------------------------------------------------------------


async def get_checklist(actor: Actor, checklist_id: int) -> dict[str, Any]:
    require(actor, Perm.INSPECTIONS_VIEW)
    row = await get_or_404(
        ChecklistTemplate.select(), ChecklistTemplate, checklist_id, _("No such checklist.")
    )
    return _with_version(row, _CHECKLIST_FIELDS)


async def list_checklist_rows(actor: Actor) -> list[dict[str, Any]]:
    require(actor, Perm.INSPECTIONS_VIEW)
    rows = await ChecklistTemplate.select().order_by(ChecklistTemplate.code)
    return [_with_version(r, _CHECKLIST_FIELDS) for r in rows]


def _checklist_values(data: ChecklistIn) -> dict[str, Any]:
    keys = [item.key for item in data.items]
    if len(set(keys)) != len(keys):
        raise ValidationFailed({"items": _("Each item needs a key of its own.")})
    items = [
        {"key": i.key, "zh": i.zh, "en": i.en, "group": i.group.value, "critical": i.critical}
        for i in data.items
    ]
    return {
        "code": data.code,
        "name_zh": data.name_zh.strip(),
        "name_en": data.name_en.strip(),
        "items": json.dumps(items, ensure_ascii=False),
    }


async def create_checklist(actor: Actor, data: ChecklistIn, now: dt.datetime) -> dict[str, Any]:
    require(actor, Perm.SCHEDULES_EDIT)
    values = _checklist_values(data)
    async with db.transaction():
        inserted = (
            await ChecklistTemplate.insert(ChecklistTemplate(**values))
            .on_conflict(target=ChecklistTemplate.code, action="DO NOTHING")
            .returning(ChecklistTemplate.id)
        )
        if not inserted:
            raise ValidationFailed({"code": _("A checklist with this code exists already.")})
        checklist_id = inserted[0]["id"]
        after = {
            "code": values["code"],
            "name_zh": values["name_zh"],
            "name_en": values["name_en"],
            "items": len(data.items),
        }
        await audit.record(actor, "checklist.created", "checklist", checklist_id, now, after=after)
    return await get_checklist(actor, checklist_id)


async def update_checklist(
    actor: Actor, checklist_id: int, data: ChecklistIn, version: int | None, now: dt.datetime
) -> dict[str, Any]:
    """Replace the checklist. Inspections keep the answers they were recorded with; those
    recorded after the change are asked the new items."""
    require(actor, Perm.SCHEDULES_EDIT)
    if version is None:
        raise ValidationFailed({"version": _("The record version is missing; reload and retry.")})
    values = _checklist_values(data)
    async with db.transaction():
        row = await get_checklist(actor, checklist_id)
        if row["version"] != version:
            raise stale(_("checklist"))
        if values["code"] != row["code"] and await ChecklistTemplate.exists().where(
            (ChecklistTemplate.code == values["code"]) & (ChecklistTemplate.id != checklist_id)
        ):
            raise ValidationFailed({"code": _("A checklist with this code exists already.")})
        changed = (
            await ChecklistTemplate.update(
                {getattr(ChecklistTemplate, k): v for k, v in values.items()}
            )
            .where(
                (ChecklistTemplate.id == checklist_id)
                & (ChecklistTemplate.code == row["code"])
                & (ChecklistTemplate.name_zh == row["name_zh"])
                & (ChecklistTemplate.name_en == row["name_en"])
            )
            .returning(ChecklistTemplate.id)
        )
        if not changed:
            raise stale(_("checklist"))
        before = {
            "code": row["code"],
            "name_zh": row["name_zh"],
            "name_en": row["name_en"],
            "items": len(row["items"]),
        }
        after = {
            "code": values["code"],
            "name_zh": values["name_zh"],
            "name_en": values["name_en"],
            "items": len(data.items),
        }
        await audit.record(
            actor, "checklist.updated", "checklist", checklist_id, now, before, after
        )
    return await get_checklist(actor, checklist_id)


# --- rules -----------------------------------------------------------------------------------


async def list_rule_rows(actor: Actor) -> list[dict[str, Any]]:
    require(actor, Perm.INSPECTIONS_VIEW)
    rows = await Rule.select().order_by(Rule.code)
    return [{**r, "params": loads(r["params"])} for r in rows]


async def get_rule(actor: Actor, rule_id: int) -> dict[str, Any]:
    require(actor, Perm.INSPECTIONS_VIEW)
    row = await get_or_404(Rule.select(), Rule, rule_id, _("No such rule."))
    return {**row, "params": loads(row["params"])}


async def update_rule(actor: Actor, rule_id: int, data: RuleIn, now: dt.datetime) -> dict[str, Any]:
    """Enable or disable a rule and restate its basis and description; the rule's version goes
    up by one (its later firings cite the new version). 409 when ``data.version`` is stale."""
    require(actor, Perm.SCHEDULES_EDIT)
    async with db.transaction():
        row = await get_rule(actor, rule_id)
        values: dict[Any, Any] = {
            Rule.enabled: data.enabled,
            Rule.basis: data.basis.strip(),
            Rule.description: data.description.strip(),
            Rule.version: Rule.version + 1,
        }
        changed = (
            await Rule.update(values)
            .where((Rule.id == rule_id) & (Rule.version == data.version))
            .returning(Rule.id)
        )
        if not changed:
            raise stale(_("rule"))
        after = await get_rule(actor, rule_id)
        before = {k: row[k] for k in ("enabled", "basis", "description", "version")}
        await audit.record(
            actor,
            "rule.updated",
            "rule",
            rule_id,
            now,
            before,
            {
                "enabled": after["enabled"],
                "basis": after["basis"],
                "description": after["description"],
                "version": after["version"],
            },
        )
    return after
