"""Which migrations have not run yet: used by ``/readyz`` and the command line."""

from __future__ import annotations


async def pending_migrations() -> int:
    """How many migrations have not run yet (0 when the schema is current)."""
    from piccolo.apps.migrations.commands.check import CheckMigrationManager

    statuses = await CheckMigrationManager(app_name="all").get_migration_statuses()
    return sum(1 for status in statuses if not status.has_ran)
