"""Migrations build every table and column the code declares, and every table takes a row,
on SQLite and on PostgreSQL (the suite runs on both)."""

import datetime as dt
import re

from facilities import db
from facilities.accounts import services as accounts
from facilities.accounts.schemas import TokenCreate
from facilities.jobs import services as jobs
from facilities.notifications import preferences
from facilities.notifications import services as notifications
from facilities.notifications.choices import Delivery, StaffEvent
from tests.kit.assets import make_asset, make_component
from tests.kit.clients import client_for_app, csrf_token


async def _database_columns(table) -> set[str]:
    name = table._meta.tablename
    if db.is_sqlite():
        return {row["name"] for row in await table.raw(f"PRAGMA table_info({name})")}
    rows = await table.raw(
        "SELECT column_name FROM information_schema.columns WHERE table_name = {}", name
    )
    return {row["column_name"] for row in rows}


async def test_every_declared_column_exists_in_the_migrated_database(app):
    missing = []
    for table in db.all_tables():
        present = await _database_columns(table)
        for column in table._meta.columns:
            if column._meta.db_column_name not in present:
                missing.append(f"{table._meta.tablename}.{column._meta.db_column_name}")
    assert missing == [], "columns without a migration: " + ", ".join(missing)


async def money_rows(admin, ticket, now) -> None:
    """A contractor, a cost line and a site budget (issue 19, money and contractors)."""
    from decimal import Decimal

    from facilities.tickets.choices import CostKind
    from facilities.tickets.money_schemas import BudgetIn, ContractorIn, CostLineIn
    from facilities.tickets.services import budget, contractors, costs
    from facilities.tickets.tables import RepairTicket

    await contractors.create_contractor(admin, ContractorIn(name="row"), now)
    await costs.add_line(
        admin,
        ticket.id,
        CostLineIn(kind=CostKind.LABOUR, hours=Decimal("1"), hourly_rate=Decimal("80")),
        now,
    )
    (row,) = await RepairTicket.raw(
        "SELECT asset.site AS site FROM repair_ticket JOIN asset ON asset.id = repair_ticket.asset "
        "WHERE repair_ticket.id = {}",
        ticket.id,
    )
    await budget.set_budget(admin, row["site"], 2026, BudgetIn(amount=Decimal("1000")), now)


async def test_every_table_takes_a_row(app, settings, personas, now):
    """The demo story (which also proves it loads on this engine), plus what it does not make."""
    from facilities import demo
    from facilities.closures import services as closures
    from facilities.closures.schemas import SubscribeIn
    from facilities.inspections import services as inspections
    from facilities.tickets import services as tickets
    from facilities.tickets.choices import PhotoTag, Priority
    from tests.kit.media import png_bytes

    admin = personas["admin"]
    await demo.load(now, settings.zone, settings.media_path)
    await make_component(await make_asset())
    ticket = (
        (await tickets.list_tickets(admin, tickets.TicketFilters(status=""), now)).items[0].ticket
    )
    ticket_id = ticket.id
    await tickets.add_attachment(
        admin,
        ticket_id,
        png_bytes(),
        "p.png",
        PhotoTag.AFTER,
        "",
        settings.media_path,
        settings.max_upload_bytes,
        now,
    )
    await tickets.set_sla_hours(admin, Priority.P1, 100, now)
    await money_rows(admin, ticket, now)
    from facilities.inspections.choices import InspectionType
    from facilities.inspections.schemas import InspectionIn

    inspection = await inspections.create_inspection(
        admin,
        InspectionIn(
            asset_id=ticket.asset,
            inspection_type=InspectionType.SPECIAL,
            due_on=(now + dt.timedelta(days=3)).date(),
        ),
        settings.zone,
        now,
    )
    await inspections.add_photo(
        admin,
        inspection.id,
        png_bytes(),
        None,
        "",
        settings.media_path,
        settings.max_upload_bytes,
        now,
    )
    await inspections.send_reminders(now + dt.timedelta(days=400), settings.zone)
    await closures.subscribe(SubscribeIn(email="citizen@example.org"), "zh_CN", now)
    await closures.draft_from_ticket_progress(now, frozenset())
    from facilities.reports import services as reports
    from facilities.reports.choices import Category
    from facilities.reports.schemas import KeyCreate, ReportIn

    await reports.create_key(admin, KeyCreate(name="ci"), now)
    await reports.submit_report(
        ReportIn(asset_id=ticket.asset, category=Category.OTHER, description="row"),
        [reports.Upload("row.png", png_bytes())],
        now,
        media_root=settings.media_path,
        max_upload_bytes=settings.max_upload_bytes,
    )
    user = await accounts.find_user_by_username("alice")
    await accounts.start_session(user, "127.0.0.1", "pytest", now, 12)
    await accounts.create_api_token(admin, TokenCreate(name="ci", user_id=user.id), now)
    await accounts.rate_hit("test", 60, now)
    from facilities.accounts import saved_filters

    await saved_filters.save_filter(admin, "tickets", tickets.TicketFilters, "row", "", now)
    await notifications.enqueue(
        to="a@example.org",
        template="password_changed",
        context={"display_name": "A", "at": now},
        language="en",
        dedupe_key="row",
        now=now,
    )
    await preferences.save_preferences(user.id, {StaffEvent.TICKET_ASSIGNED: Delivery.DIGEST}, now)
    await preferences.deliver_to_staff(
        preferences.StaffRecipient(user.email, "en", user.id),
        StaffEvent.TICKET_ASSIGNED,
        template="ticket_assigned",
        context={"ticket_id": ticket_id, "title": "row", "due": now, "priority": "P2"},
        dedupe_key="digest-row",
        now=now,
    )
    run_id = await jobs.start_run("deliver_notifications", now, "pytest", "manual")
    await jobs.finish_run(run_id, now + dt.timedelta(seconds=1), 0)
    await jobs.publish_timetable(
        [
            {
                "job_id": "deliver_notifications",
                "description": "",
                "schedule": "",
                "next_run_at": None,
            }
        ],
        "pytest",
        now,
    )
    async with client_for_app(app) as client:  # a form sent with its one-time key
        form = await client.get("/report", params={"asset": ticket.asset})
        key = re.search(r'name="_submission" value="([^"]+)"', form.text)
        assert key, "the report form carries a submission key"
        await client.post(
            "/report",
            data={
                "_csrf_token": await csrf_token(client),
                "_submission": key.group(1),
                "asset_id": str(ticket.asset),
                "category": Category.OTHER,
                "description": "row",
            },
        )
    empty = [t._meta.tablename for t in db.all_tables() if await t.count() == 0]
    assert empty == [], f"tables without a row (add them to this test): {empty}"
