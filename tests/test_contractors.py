"""The contractor register (issue 19, item 6): supervisors keep it, everyone on staff reads it;
tickets are assigned to a register entry (the ticket's contractor text follows the register's
name); a contractor's on-time rate and cost per year on known tickets, each number linking to
its tickets; the work order e-mailed through the outbox to a real SMTP server, in the
contractor's language, once per double submit, refused without an address; and the migration
that turns the old free-text contractors into register entries."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import importlib
import re
from decimal import Decimal
from email import policy

import pytest

from facilities.errors import Conflict, PermissionDenied, ValidationFailed
from facilities.notifications.tables import Notification
from facilities.tickets import services as tickets
from facilities.tickets.choices import Priority, Status
from facilities.tickets.money_schemas import ContractorIn
from facilities.tickets.schemas import TicketIn
from facilities.tickets.services import contractors, costs, rollups
from facilities.tickets.tables import Contractor, RepairTicket
from scheduler.jobs import notifications as outbox_job
from tests.kit.assets import make_asset, make_site
from tests.kit.clients import csrf_token
from tests.kit.constants import ZONE
from tests.kit.pages import english
from tests.kit.tickets import drive_to, last_event, make_ticket

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def entry(name: str = "衡阳路桥养护公司", **fields) -> ContractorIn:
    values = {
        "contact_person": "李工",
        "phone": "0734-1234567",
        "email": "orders@luqiao.example",
        "contract_number": "HY-2026-017",
        "contract_start_on": dt.date(2026, 1, 1),
        "contract_end_on": dt.date(2026, 12, 31),
        "scope": "桥梁日常养护",
    }
    values.update(fields)
    return ContractorIn(name=name, **values)


@pytest.fixture
def smtp_settings(settings, smtp_server):
    return dataclasses.replace(
        settings,
        email_backend="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        mail_from="facilities@bureau.example",
    )


async def deliver(smtp_settings, smtp_server, now) -> list[tuple[str, str, str]]:
    """Run the outbox job once; (to, subject, text) of each message the server received."""
    start = len(smtp_server.messages)
    await outbox_job.deliver(now + dt.timedelta(minutes=1), smtp_settings)
    mails = []
    for envelope in smtp_server.messages[start:]:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_body(("plain",))
        mails.append((str(message["To"]), str(message["Subject"]), body.get_content()))
    return mails


# --- the register --------------------------------------------------------------------------


async def test_supervisors_keep_the_register_and_a_stale_edit_is_refused(personas, now):
    alice, carol, dave = personas["alice"], personas["carol"], personas["dave"]
    row = await contractors.create_contractor(alice, entry(), now)
    assert (row.version, row.is_active, row.language) == (1, True, "zh_CN")
    with pytest.raises(ValidationFailed) as taken:
        await contractors.create_contractor(alice, entry(" 衡阳路桥养护公司 "), now)
    assert set(taken.value.errors) == {"name"}
    with pytest.raises(ValidationFailed) as backwards:
        await contractors.create_contractor(
            alice, entry("另一家", contract_end_on=dt.date(2025, 1, 1)), now
        )
    assert set(backwards.value.errors) == {"contract_end_on"}
    for actor in (carol, dave):
        with pytest.raises(PermissionDenied):
            await contractors.create_contractor(actor, entry("乙公司"), now)
    assert [c.name for c in await contractors.list_contractors(dave)] == ["衡阳路桥养护公司"]
    changed = await contractors.update_contractor(
        alice, row.id, entry(phone="0734-7654321", version=1), now
    )
    assert (changed.phone, changed.version) == ("0734-7654321", 2)
    with pytest.raises(Conflict):
        await contractors.update_contractor(alice, row.id, entry(phone="x", version=1), now)
    assert (await contractors.get_contractor(dave, row.id)).phone == "0734-7654321"
    event = (
        await RepairTicket.raw(
            "SELECT changes FROM audit_event WHERE action = 'contractor.updated'"
        )
    )[0]
    assert "0734-7654321" in str(event["changes"])


async def test_a_ticket_takes_a_contractor_from_the_register_and_follows_its_name(personas, now):
    alice = personas["alice"]
    firm = await contractors.create_contractor(alice, entry(), now)
    ticket = await make_ticket(alice, contractor_id=firm.id, contractor="typed over")
    assert (ticket.contractor_id, ticket.contractor) == (firm.id, "衡阳路桥养护公司")
    await contractors.update_contractor(alice, firm.id, entry("衡阳路桥集团", version=1), now)
    assert (await tickets.find_ticket(ticket.id)).contractor == "衡阳路桥集团"
    # retired: no longer offered or accepted on another ticket, kept on its own
    await contractors.update_contractor(
        alice, firm.id, entry("衡阳路桥集团", is_active=False, version=2), now
    )
    assert await contractors.options() == []
    assert await contractors.options(firm.id) == [(firm.id, "衡阳路桥集团")]
    with pytest.raises(ValidationFailed) as retired:
        await make_ticket(alice, contractor_id=firm.id)
    assert set(retired.value.errors) == {"contractor_id"}
    with pytest.raises(ValidationFailed):
        await make_ticket(alice, contractor_id=999_999)
    fresh = await tickets.find_ticket(ticket.id)
    values = {k: v for k, v in tickets.snapshot(fresh).items() if k != "status"}
    values.update(title="仍是这家", version=fresh.version)
    edited = await tickets.update_ticket(alice, ticket.id, TicketIn(**values), now)
    assert edited.contractor_id == firm.id


async def test_register_pages_for_readers_and_keepers(personas, login):
    dave = english(await login("dave"))
    alice = english(await login("alice"))
    assert (await dave.get("/contractors/new")).status_code == 403
    form = await alice.get("/contractors/new")
    key = re.search(r'name="_submission" value="([^"]+)"', form.text).group(1)
    data = {
        "_csrf_token": await csrf_token(alice),
        "_submission": key,
        "name": "雁鸣溪园林",
        "email": "yanming@example.org",
        "language": "en",
        "is_active": "true",
    }
    created = await alice.post("/contractors", data=data)
    assert created.status_code == 303
    assert (await alice.post("/contractors", data=data)).status_code == 303  # a double submit
    assert await Contractor.count() == 1
    (row,) = await Contractor.select()
    listing = await dave.get("/contractors")
    assert listing.status_code == 200 and "雁鸣溪园林" in listing.text
    page = await dave.get(f"/contractors/{row['id']}")
    assert page.status_code == 200 and "yanming@example.org" in page.text
    bad = await alice.post(
        "/contractors", data={**data, "_submission": "k2", "email": "not an address"}
    )
    assert bad.status_code == 400
    stale = await alice.post(
        f"/contractors/{row['id']}",
        data={**data, "_submission": "k3", "version": "9", "phone": "1"},
    )
    assert stale.status_code == 409 and "Someone else saved" in stale.text
    assert (await dave.get("/contractors/999999")).status_code == 404


# --- on time and cost ----------------------------------------------------------------------


async def test_on_time_rate_and_cost_per_year_on_known_tickets(personas, login, now):
    alice = personas["alice"]
    firm = await contractors.create_contractor(alice, entry(), now)
    other = await contractors.create_contractor(alice, entry("别家"), now)
    asset = await make_asset()

    async def done(opened, finished, priority=Priority.P2, contractor=firm.id, cost=None):
        made = await make_ticket(
            alice,
            asset,
            at(opened),
            contractor_id=contractor,
            priority=priority,
            cost_actual=cost,
        )
        if finished:
            await drive_to(made.id, Status.WORK_COMPLETE, alice, at(finished))
        return made.id

    on_time = await done("2026-02-01T00:00:00", "2026-02-10T00:00:00", cost=Decimal("100.10"))
    late = await done("2026-02-01T00:00:00", "2026-03-20T00:00:00", cost=Decimal("200.20"))
    urgent = await done(
        "2026-02-01T00:00:00", "2026-02-05T00:00:00", Priority.P1, cost=Decimal("300")
    )
    new_year = await done("2025-12-20T00:00:00", "2025-12-31T16:30:00")  # 2026 in Shanghai
    old = await done("2025-06-01T00:00:00", "2025-06-05T00:00:00")  # 2025
    await done("2026-02-01T00:00:00", None)  # open: not counted
    await done("2026-02-01T00:00:00", "2026-02-02T00:00:00", contractor=other.id)
    years = await rollups.on_time_by_year(alice, firm.id, [2025, 2026], ZONE)
    assert [(y.year, y.completed, y.on_time, str(y.spent)) for y in years] == [
        (2025, 1, 1, "0.00"),
        (2026, 4, 3, "600.30"),
    ]
    assert years[1].rate == 0.75 and years[0].rate == 1.0
    assert (await rollups.on_time_by_year(alice, firm.id, [2024], ZONE))[0].rate is None
    behind = await rollups.tickets_behind(
        alice, 2026, rollups.CostFilters(measure="on_time", contractor=firm.id), ZONE
    )
    assert {r["id"] for r in behind} == {on_time, urgent, new_year}
    dave = english(await login("dave"))
    page = await dave.get(f"/contractors/{firm.id}")
    assert page.status_code == 200
    assert "75% (3/4)" in page.text and "¥600.30" in page.text
    link = f"/tickets/costs/tickets?year=2026&amp;measure=completed&amp;contractor={firm.id}"
    assert link in page.text
    listing = await dave.get(html_unescape(link))
    assert set(map(int, re.findall(r'data-ticket="(\d+)"', listing.text))) == {
        on_time,
        late,
        urgent,
        new_year,
    }
    assert old not in set(map(int, re.findall(r'data-ticket="(\d+)"', listing.text)))


def html_unescape(text: str) -> str:
    return text.replace("&amp;", "&")


# --- the work order ------------------------------------------------------------------------


async def test_the_work_order_reaches_the_contractor_in_its_language_once(
    personas, login, now, smtp_settings, smtp_server
):
    alice_actor = personas["alice"]
    firm = await contractors.create_contractor(alice_actor, entry(language="en"), now)
    site = await make_site("平湖公园", name_en="Pinghu Park")
    asset = await make_asset(site, "GX-QL-PH-001", name_en="Pinghu suspension bridge")
    ticket = await make_ticket(
        alice_actor,
        asset,
        contractor_id=firm.id,
        scope="Replace deck planks 3-9 and grease the main cables",
        priority=Priority.P1,
        planned_start_on=dt.date(2026, 12, 1),
        planned_end_on=dt.date(2026, 12, 5),
    )
    alice = await login("alice")
    page = await alice.get(f"/tickets/{ticket.id}")
    form = page.text[page.text.index(f'action="/tickets/{ticket.id}/work-order"') :]
    key = re.search(r'name="_submission" value="([^"]+)"', form).group(1)
    data = {"_csrf_token": await csrf_token(alice), "_submission": key}
    assert (await alice.post(f"/tickets/{ticket.id}/work-order", data=data)).status_code == 303
    assert (await alice.post(f"/tickets/{ticket.id}/work-order", data=data)).status_code == 303
    again = await alice.post(f"/tickets/{ticket.id}/work-order", data={**data, "_submission": "x"})
    assert again.status_code == 303  # the same order, already queued: still one mail
    ((to, subject, text),) = await deliver(smtp_settings, smtp_server, now)
    assert to == "orders@luqiao.example"
    assert subject == f"Work order #{ticket.id}: {ticket.title}"
    for fact in (
        "GX-QL-PH-001 Pinghu suspension bridge",
        "Pinghu Park",
        "Replace deck planks 3-9",
        "HY-2026-017",
        "P1",
        "Due (SLA)",
        f"Questions about this work order: reply to this e-mail and quote #{ticket.id}.",
    ):
        assert fact in text, fact
    # the contractor cannot open the staff pages: the order links to none
    assert f"{smtp_settings.base_url}/tickets/" not in text
    assert (await last_event(ticket.id, "ticket.work_order_sent"))["actor"] == alice_actor.id


async def test_a_chinese_work_order_and_the_refusals(personas, now, smtp_settings, smtp_server):
    alice, carol = personas["alice"], personas["carol"]
    firm = await contractors.create_contractor(alice, entry(), now)
    ticket = await make_ticket(alice, contractor_id=firm.id)
    assert await contractors.send_work_order(alice, ticket.id, now) is True
    assert await contractors.send_work_order(alice, ticket.id, now) is False
    ((_to, _subject, text),) = await deliver(smtp_settings, smtp_server, now)
    assert "P2 · 一般" in text  # written in Chinese (the register's default)
    silent = await contractors.create_contractor(alice, entry("无邮箱公司", email=""), now)
    quiet = await make_ticket(alice, contractor_id=silent.id)
    with pytest.raises(ValidationFailed) as no_address:
        await contractors.send_work_order(alice, quiet.id, now)
    assert "无邮箱公司" in next(iter(no_address.value.errors.values()))
    with pytest.raises(ValidationFailed):
        await contractors.send_work_order(alice, (await make_ticket(alice)).id, now)
    with pytest.raises(PermissionDenied):
        await contractors.send_work_order(carol, ticket.id, now)
    assert await Notification.count().where(Notification.template == "work_order") == 1


async def test_the_work_order_page_says_why_without_an_address(personas, login, now):
    alice_actor = personas["alice"]
    silent = await contractors.create_contractor(alice_actor, entry(email=""), now)
    ticket = await make_ticket(alice_actor, contractor_id=silent.id)
    alice = english(await login("alice"))
    response = await alice.post(
        f"/tickets/{ticket.id}/work-order", data={"_csrf_token": await csrf_token(alice)}
    )
    assert response.status_code == 400
    assert "has no e-mail address in the register" in response.text


# --- the API -------------------------------------------------------------------------------


async def test_the_contractor_api(personas, api, now):
    alice, dave = await api("alice"), await api("dave")
    created = await alice.post("/api/v1/contractors", {"name": "API 公司", "email": "a@b.example"})
    assert created.status_code == 201
    body = created.json()
    assert (body["version"], body["is_active"]) == (1, True)
    assert (await alice.post("/api/v1/contractors", {"name": "API 公司"})).status_code == 400
    assert (await dave.post("/api/v1/contractors", {"name": "别的"})).status_code == 403
    url = f"/api/v1/contractors/{body['id']}"
    assert (await dave.get(url)).json()["name"] == "API 公司"
    updated = await alice.put(url, {**body_in(body), "phone": "123", "version": 1})
    assert updated.status_code == 200 and updated.json()["version"] == 2
    assert (await alice.put(url, {**body_in(body), "version": 1})).status_code == 409
    assert [c["name"] for c in (await dave.get("/api/v1/contractors")).json()] == ["API 公司"]
    assert (await dave.get("/api/v1/contractors/999999")).status_code == 404


def body_in(out: dict) -> dict:
    return {k: v for k, v in out.items() if k not in {"id", "version"}}


# --- the migration -------------------------------------------------------------------------


async def test_the_migration_registers_the_typed_contractors_and_links_their_tickets(personas):
    alice = personas["alice"]
    first = await make_ticket(alice, contractor=" 衡阳路桥 ", contractor_contact="李工 139")
    second = await make_ticket(alice, contractor="衡阳路桥", contractor_contact="王工")
    third = await make_ticket(alice, contractor="雁鸣园林")
    none = await make_ticket(alice)
    migration = importlib.import_module(
        "facilities.tickets.piccolo_migrations.tickets_2026_12_07t09_36_25_000000"
    )
    for _run in range(2):  # safe to run twice
        manager = await migration.forwards()
        for step in manager.raw:
            await step()
    rows = {r["name"]: r for r in await Contractor.select()}
    assert set(rows) == {"衡阳路桥", "雁鸣园林"}
    assert rows["衡阳路桥"]["contact_person"] == "王工"  # the last in sort order
    linked = {
        r["id"]: r["contractor_id"]
        for r in await RepairTicket.select(RepairTicket.id, RepairTicket.contractor_id)
    }
    assert linked[first.id] == linked[second.id] == rows["衡阳路桥"]["id"]
    assert linked[third.id] == rows["雁鸣园林"]["id"] and linked[none.id] is None


async def test_short_fields_too_short_for_the_hostile_sweep_are_shown_escaped(personas, login, now):
    alice = personas["alice"]
    firm = await contractors.create_contractor(
        alice, entry(phone="<b>0734</b>", contract_number="<i>HY</i>"), now
    )
    ticket = await make_ticket(alice, contractor_id=firm.id)
    await costs.add_line(
        alice,
        ticket.id,
        costs.CostLineIn(
            kind="material", quantity=Decimal("1"), unit_price=Decimal("1"), unit="<u>m</u>"
        ),
        now,
    )
    dave = await login("dave")
    for url, raw in (
        (f"/contractors/{firm.id}", ("<b>0734</b>", "<i>HY</i>")),
        ("/contractors", ("<b>0734</b>", "<i>HY</i>")),
        (f"/tickets/{ticket.id}", ("<u>m</u>",)),
    ):
        page = (await dave.get(url)).text
        for text in raw:
            assert text not in page and text.replace("<", "&lt;").replace(">", "&gt;") in page
