"""The index a home's "by status, soonest due first" reads walk: (status, sla_due_at, id).

Work awaiting acceptance (``status = 'work_complete'`` ordered by due time) otherwise sorts every
ticket of that status. Plain CREATE INDEX works on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T10:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index tickets by status and due time"

INDEXES = {"repair_ticket_status_due_id": "(status, sla_due_at, id)"}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tickets", description=DESCRIPTION)

    async def create_indexes():
        from facilities.tickets.tables import RepairTicket

        for name, columns in INDEXES.items():
            await RepairTicket.raw(f"CREATE INDEX IF NOT EXISTS {name} ON repair_ticket {columns}")

    async def drop_indexes():
        from facilities.tickets.tables import RepairTicket

        for name in INDEXES:
            await RepairTicket.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
