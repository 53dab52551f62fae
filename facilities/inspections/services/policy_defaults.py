"""The default policy in the database: seeding it where missing (checklists, default schedules,
rules), and giving an asset the default schedules for its type and maintenance grade. The policy
itself is data in :mod:`facilities.inspections.policy`."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.assets.tables import Asset
from facilities.i18n import gettext as _
from facilities.inspections import policy
from facilities.inspections.choices import Anchor, InspectionType
from facilities.inspections.schemas import ScheduleIn
from facilities.inspections.services.rules import ensure_rules
from facilities.inspections.services.schedules import create_schedule
from facilities.inspections.tables import ChecklistTemplate, DefaultSchedule, InspectionSchedule
from facilities.records import get_or_404


async def ensure_policy() -> None:
    """Seed the default policy (checklists, default schedules, rules) where it is missing, as
    the migration does: safe to run on a database where staff already edited the policy."""
    for row in policy.checklist_rows():
        await ChecklistTemplate.insert(ChecklistTemplate(**row)).on_conflict(action="DO NOTHING")
    if not await DefaultSchedule.exists():
        await DefaultSchedule.insert(
            *[
                DefaultSchedule(
                    asset_type=kind,
                    maintenance_grade=grade,
                    inspection_type=itype,
                    rrule=rule,
                    anchor=anchor,
                    lead_days=lead,
                    tolerance_days=tol,
                    checklist_code=checklist,
                )
                for kind, grade, itype, rule, anchor, lead, tol, checklist in (
                    policy.DEFAULT_SCHEDULES
                )
            ]
        )
    await ensure_rules()


async def apply_default_schedules(
    actor: Actor, asset_id: int, zone: ZoneInfo, now: dt.datetime
) -> int:
    """Give an asset the policy's schedules for its type and maintenance grade (those of a type
    it does not have yet); returns how many were created."""
    require(actor, Perm.SCHEDULES_EDIT)
    asset = await get_or_404(
        Asset.select(Asset.asset_type, Asset.maintenance_grade),
        Asset,
        asset_id,
        _("No such asset."),
    )
    grade = asset["maintenance_grade"] or ""
    defaults = await DefaultSchedule.select().where(
        DefaultSchedule.asset_type.is_in([asset["asset_type"], "*"])
        & DefaultSchedule.maintenance_grade.is_in([grade, "*"])
    )
    # The most specific policy row wins: this asset type before "*", this grade before "*".
    defaults.sort(key=lambda r: (r["asset_type"] == "*", r["maintenance_grade"] == "*", r["id"]))
    checklists = {
        r["code"]: r["id"]
        for r in await ChecklistTemplate.select(ChecklistTemplate.id, ChecklistTemplate.code)
    }
    today = now.astimezone(zone).date()
    created = 0
    async with db.transaction():  # all or nothing, and a double click adds nothing twice
        existing = {
            r["inspection_type"]
            for r in await InspectionSchedule.select(InspectionSchedule.inspection_type).where(
                InspectionSchedule.asset == asset_id
            )
        }
        for row in defaults:
            if row["inspection_type"] in existing:
                continue
            existing.add(row["inspection_type"])
            await create_schedule(
                actor,
                ScheduleIn(
                    asset_id=asset_id,
                    inspection_type=InspectionType(row["inspection_type"]),
                    rrule=row["rrule"],
                    anchor=Anchor(row["anchor"]),
                    starts_on=today,
                    lead_days=row["lead_days"],
                    tolerance_days=row["tolerance_days"],
                    checklist_id=checklists.get(row["checklist_code"]),
                ),
                zone,
                now,
            )
            created += 1
    return created
