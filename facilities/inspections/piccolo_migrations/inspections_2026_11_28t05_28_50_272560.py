"""Seed the default inspection policy (checklists, default schedules, rules). Inserts only what
is missing, so it is safe on a database where staff already edited the policy."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-28T05:28:50:272560"
VERSION = "1.38.0"
DESCRIPTION = "default inspection policy"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="inspections", description=DESCRIPTION)

    async def seed():
        from facilities.inspections.services import ensure_policy

        await ensure_policy()

    manager.add_raw(seed)
    return manager
