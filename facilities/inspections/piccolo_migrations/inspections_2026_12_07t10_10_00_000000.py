"""The index the open-inspection lists walk: (state, due_at), one range per open state
(``inspections.list_inspections``). Plain CREATE INDEX works on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T10:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index inspections by state and due time"

INDEXES = {"inspection_state_due_id": "(state, due_at, id)"}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="inspections", description=DESCRIPTION)

    async def create_indexes():
        from facilities.inspections.tables import Inspection

        for name, columns in INDEXES.items():
            await Inspection.raw(f"CREATE INDEX IF NOT EXISTS {name} ON inspection {columns}")

    async def drop_indexes():
        from facilities.inspections.tables import Inspection

        for name in INDEXES:
            await Inspection.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
