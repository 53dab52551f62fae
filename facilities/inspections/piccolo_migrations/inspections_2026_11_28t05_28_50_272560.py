"""Seed the default inspection policy (checklists, default schedules, rules). Inserts only what
is missing, so it is safe on a database where staff already edited the policy."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-28T05:28:50:272560"
VERSION = "1.38.0"
DESCRIPTION = "default inspection policy"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="inspections", description=DESCRIPTION)

    async def seed():
        from facilities.inspections import policy
        from facilities.inspections.services import ensure_rules
        from facilities.inspections.tables import ChecklistTemplate, DefaultSchedule

        for row in policy.checklist_rows():
            await ChecklistTemplate.insert(ChecklistTemplate(**row)).on_conflict(
                action="DO NOTHING")
        if not await DefaultSchedule.exists():
            await DefaultSchedule.insert(*[
                DefaultSchedule(asset_type=kind, maintenance_grade=grade, inspection_type=itype,
                                rrule=rule, anchor=anchor, lead_days=lead, tolerance_days=tol,
                                checklist_code=checklist)
                for kind, grade, itype, rule, anchor, lead, tol, checklist
                in policy.DEFAULT_SCHEDULES])
        await ensure_rules()

    manager.add_raw(seed)
    return manager
