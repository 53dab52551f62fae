"""Composite indexes for the ticket list's keyset pagination (one per sort, each ending with the
id), and for the asset page and "my work". Plain CREATE INDEX works on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-28T05:25:08:163571"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes for keyset pagination"

INDEXES = {
    "repair_ticket_created_id": "(created_at, id)",
    "repair_ticket_updated_id": "(updated_at, id)",
    "repair_ticket_due_id": "(sla_due_at, id)",
    "repair_ticket_priority_due_id": "(priority, sla_due_at, id)",
    "repair_ticket_status_created_id": "(status, created_at, id)",
    "repair_ticket_asset_status": "(asset, status)",
    "repair_ticket_assignee_status_due": "(assignee, status, sla_due_at)",
}


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
