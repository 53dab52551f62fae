"""The contractor register takes over from the free-text contractor on tickets: one register
entry per distinct name typed so far (trimmed; as its contact person one of the contacts typed
with it, the last in sort order), and every such ticket linked to its entry. Also one budget per
site and year (a unique index). A separate migration because Piccolo runs a migration's raw
steps before the tables and columns it adds. Plain SQL for SQLite and PostgreSQL; safe to run
twice."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T09:36:25:000000"
VERSION = "1.38.0"
DESCRIPTION = "contractor register from the tickets' free text; one budget per site and year"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tickets", description=DESCRIPTION)

    async def register_contractors():
        from facilities.tickets.tables import RepairTicket

        await RepairTicket.raw(
            "CREATE UNIQUE INDEX IF NOT EXISTS site_budget_site_year ON site_budget (site, year)"
        )
        await RepairTicket.raw(
            "INSERT INTO contractor (name, contact_person, phone, email, language, "
            "contract_number, scope, is_active, version) "
            "SELECT TRIM(contractor), MAX(TRIM(contractor_contact)), '', '', 'zh_CN', '', '', "
            "{}, 1 FROM repair_ticket WHERE TRIM(contractor) <> '' "
            "AND TRIM(contractor) NOT IN (SELECT name FROM contractor) "
            "GROUP BY TRIM(contractor)",
            True,
        )
        await RepairTicket.raw(
            "UPDATE repair_ticket SET contractor_id = (SELECT contractor.id FROM contractor "
            "WHERE contractor.name = TRIM(repair_ticket.contractor)) "
            "WHERE TRIM(contractor) <> '' AND contractor_id IS NULL"
        )

    async def drop_index():
        from facilities.tickets.tables import RepairTicket

        await RepairTicket.raw("DROP INDEX IF EXISTS site_budget_site_year")

    manager.add_raw(register_contractors)
    manager.add_raw_backwards(drop_index)
    return manager
