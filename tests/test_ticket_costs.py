"""Money on tickets (issue 19, item 5): labour and material lines summed exactly, the one rule
for a ticket's actual cost, roll-ups per asset, site, work class and year on a hand-made set
(with a year boundary in Shanghai time), budgets with spent, committed and remaining, the
exports read back, and the refusals (role, finished ticket, bad input, stale budget)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
from decimal import Decimal

import openpyxl
import pytest

from facilities.errors import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from facilities.tickets import services as tickets
from facilities.tickets.choices import CostKind, Status, WorkClass
from facilities.tickets.money_schemas import BudgetIn, CostFilters, CostLineIn, Dimension, Measure
from facilities.tickets.schemas import TicketIn
from facilities.tickets.services import budget, costs, rollups
from facilities.tickets.tables import TicketCostLine
from tests.kit.assets import make_asset, make_site
from tests.kit.clients import csrf_token
from tests.kit.constants import ZONE
from tests.kit.pages import english
from tests.kit.tickets import changes_of, drive_to, last_event, make_ticket

D = Decimal
UTC = dt.UTC


def edit_of(ticket, **changes) -> TicketIn:
    """The full editable state of ``ticket`` (as the edit form sends it), with changes."""
    values = {k: v for k, v in tickets.snapshot(ticket).items() if k != "status"}
    for key in ("cost_estimate", "cost_actual"):
        if values[key] is not None:
            values[key] = Decimal(values[key])
    return TicketIn(**{**values, "version": ticket.version, **changes})


def labour(hours: str, rate: str, **more: str) -> CostLineIn:
    return CostLineIn(kind=CostKind.LABOUR, hours=D(hours), hourly_rate=D(rate), **more)


def material(quantity: str, price: str, unit: str = "m²", **more: str) -> CostLineIn:
    return CostLineIn(
        kind=CostKind.MATERIAL, quantity=D(quantity), unit_price=D(price), unit=unit, **more
    )


# --- lines and the actual cost -------------------------------------------------------------


def test_a_line_amount_is_exact_and_rounded_half_up_to_the_fen():
    assert costs.line_amount(labour("7.5", "86.67")) == D("650.03")  # 650.025
    assert costs.line_amount(material("12.345", "3.33")) == D("41.11")  # 41.10885
    assert costs.line_amount(labour("0.01", "0.50")) == D("0.01")  # 0.005 rounds up
    assert costs.line_amount(material("3", "0.10")) == D("0.30")


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        (CostLineIn(kind=CostKind.LABOUR, hourly_rate=D("80")), {"hours"}),
        (CostLineIn(kind=CostKind.MATERIAL, quantity=D("2")), {"unit_price"}),
        (labour("-1", "80"), {"hours"}),
        (labour("1.005", "80"), {"hours"}),
        (labour("1", "80.001"), {"hourly_rate"}),
        (labour("1", "NaN"), {"hourly_rate"}),
        (labour("10000", "1"), {"hours"}),
        (
            CostLineIn(kind=CostKind.LABOUR, hours=D(1), hourly_rate=D(1), quantity=D(1)),
            {"quantity"},
        ),
        (material("1.0001", "1"), {"quantity"}),
    ],
)
def test_a_bad_line_names_its_fields(line, fields):
    with pytest.raises(ValidationFailed) as error:
        costs.line_amount(line)
    assert set(error.value.errors) == fields


async def test_lines_make_the_actual_cost_and_every_change_is_audited(personas, now):
    alice = personas["alice"]
    ticket = await make_ticket(alice, cost_estimate=D("800.00"), cost_actual=D("500.00"))
    first = await costs.add_line(alice, ticket.id, labour("7.5", "86.67", worker="木工"), now)
    await costs.add_line(alice, ticket.id, material("12.345", "3.33", description="防腐木板"), now)
    for _i in range(3):  # 0.1 three times is 0.30, never 0.30000000000000004
        await costs.add_line(alice, ticket.id, material("1", "0.10"), now)
    assert await costs.lines_total(ticket.id) == D("691.44")
    fresh = await tickets.find_ticket(ticket.id)
    assert costs.money(fresh.cost_actual) == D("691.44")  # the lines, not the 500 typed
    assert fresh.version == ticket.version + 5  # each line is an edit of the ticket
    event = await last_event(ticket.id, "ticket.cost_line_added")
    assert changes_of(event)["cost_actual"] == ["691.34", "691.44"]
    # an edit of the ticket keeps the lines' sum whatever is typed
    edited = await tickets.update_ticket(
        alice, ticket.id, edit_of(fresh, cost_actual=D("1.00")), now
    )
    assert costs.money(edited.cost_actual) == D("691.44")
    await costs.remove_line(alice, ticket.id, first.id, now)
    assert costs.money((await tickets.find_ticket(ticket.id)).cost_actual) == D("41.41")
    removed = changes_of(await last_event(ticket.id, "ticket.cost_line_removed"))
    assert removed["amount"] == ["650.03", None] and removed["worker"] == ["木工", None]
    assert removed["cost_actual"] == ["691.44", "41.41"]


async def test_who_may_not_edit_the_ticket_may_not_touch_its_lines(personas, now):
    alice, carol, dave = personas["alice"], personas["carol"], personas["dave"]
    ticket = await make_ticket(alice, assignee_id=carol.id)
    for actor in (carol, dave):  # crew (even assigned) and viewers do not edit tickets
        with pytest.raises(PermissionDenied):
            await costs.add_line(actor, ticket.id, labour("1", "80"), now)
    line = await costs.add_line(alice, ticket.id, labour("1", "80"), now)
    with pytest.raises(PermissionDenied):
        await costs.remove_line(carol, ticket.id, line.id, now)
    closed = await drive_to((await make_ticket(alice)).id, Status.CANCELLED, alice, now)
    with pytest.raises(InvalidTransition):
        await costs.add_line(alice, closed.id, labour("1", "80"), now)
    other = await make_ticket(alice)
    with pytest.raises(Exception, match="此工单上没有这条费用明细"):
        await costs.remove_line(alice, other.id, line.id, now)  # not that ticket's line
    assert await TicketCostLine.count() == 1


# --- the hand-made set ---------------------------------------------------------------------


@dataclasses.dataclass
class World:
    s1: int
    s2: int
    a1: int
    a2: int
    b1: int
    t: dict[str, int]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


async def build(personas) -> World:
    """Spent and committed on both sides of the new year in Shanghai (UTC+8): 2025-12-31T16:30Z
    is 00:30 on 1 January 2026 there, 15:30Z is 23:30 on 31 December 2025."""
    alice = personas["alice"]
    s1, s2 = await make_site("一号公园"), await make_site("二号广场")
    a1, a2, b1 = await make_asset(s1, "A1"), await make_asset(s1, "A2"), await make_asset(s2, "B1")
    early = at("2025-11-01T02:00:00")
    t: dict[str, int] = {}

    async def ticket(name, asset, when=early, **fields):
        made = await make_ticket(alice, asset, when, title=name, **fields)
        t[name] = made.id
        return made

    async def finish(name, when):
        await drive_to(t[name], Status.WORK_COMPLETE, alice, when)

    await ticket("T1", a1, work_class=WorkClass.MINOR, cost_actual=D("1000.10"))
    await finish("T1", at("2025-12-31T16:30:00"))  # 2026 locally
    await ticket("T2", a1, work_class=WorkClass.MAJOR)
    await costs.add_line(alice, t["T2"], labour("7.5", "86.67"), early)
    await costs.add_line(alice, t["T2"], material("12.345", "3.33"), early)
    await finish("T2", at("2025-12-31T15:30:00"))  # still 2025 locally
    await ticket("T3", a2, cost_actual=D("0.10"))
    await finish("T3", at("2026-06-01T02:00:00"))
    await ticket("T4", a2, cost_actual=D("0.20"))
    await finish("T4", at("2026-06-02T02:00:00"))
    await ticket("T5", b1, work_class=WorkClass.ROUTINE, cost_actual=D("50.00"))
    await drive_to(t["T5"], Status.CANCELLED, alice, at("2026-03-01T02:00:00"))  # closed: spent
    await ticket(
        "T6",
        b1,
        work_class=WorkClass.MEDIUM,
        cost_estimate=D("5000.00"),
        planned_start_on=dt.date(2026, 3, 1),
    )
    await ticket("T7", a1, at("2025-12-31T17:00:00"), cost_estimate=D("300.00"))  # 2026 locally
    await ticket("T8", a1, at("2025-12-31T15:00:00"), cost_estimate=D("100.00"))  # 2025 locally
    await ticket(
        "T9",
        a2,
        work_class=WorkClass.MAJOR,
        cost_estimate=D("1000.00"),
        planned_start_on=dt.date(2026, 3, 15),
    )
    await drive_to(t["T9"], Status.IN_PROGRESS, alice, early)
    await costs.add_line(alice, t["T9"], labour("10", "120"), early)  # 1200 > the estimate
    await ticket("T10", a1)  # no money at all
    return World(s1.id, s2.id, a1.id, a2.id, b1.id, t)


def cells(out) -> dict[tuple[str, int], tuple[str, int, str, int]]:
    return {
        (r.key, r.year): (
            str(r.spent.amount),
            r.spent.tickets,
            str(r.committed.amount),
            r.committed.tickets,
        )
        for r in out.rows
    }


async def test_roll_ups_per_site_asset_work_class_and_year(personas):
    w = await build(personas)
    alice = personas["alice"]
    y = [2026]
    by_site = await rollups.rollup(alice, Dimension.SITE, y, CostFilters(), ZONE)
    assert cells(by_site) == {
        (str(w.s1), 2026): ("1000.40", 3, "1500.00", 2),
        (str(w.s2), 2026): ("50.00", 1, "5000.00", 1),
    }
    assert {r.label for r in by_site.rows} == {"一号公园", "二号广场"}
    by_asset = await rollups.rollup(alice, Dimension.ASSET, y, CostFilters(), ZONE)
    assert cells(by_asset) == {
        (str(w.a1), 2026): ("1000.10", 1, "300.00", 1),
        (str(w.a2), 2026): ("0.30", 2, "1200.00", 1),
        (str(w.b1), 2026): ("50.00", 1, "5000.00", 1),
    }
    by_class = await rollups.rollup(alice, Dimension.WORK_CLASS, y, CostFilters(), ZONE)
    assert cells(by_class) == {
        ("minor", 2026): ("1000.40", 3, "300.00", 1),
        ("routine", 2026): ("50.00", 1, "0.00", 0),
        ("medium", 2026): ("0.00", 0, "5000.00", 1),
        ("major", 2026): ("0.00", 0, "1200.00", 1),
    }
    by_year = await rollups.rollup(alice, Dimension.YEAR, [2025, 2026], CostFilters(), ZONE)
    assert cells(by_year) == {
        ("0", 2025): ("691.14", 1, "100.00", 1),
        ("0", 2026): ("1050.40", 4, "6500.00", 3),
    }
    only_s1 = await rollups.rollup(
        alice, Dimension.YEAR, [2025, 2026], CostFilters(site=w.s1), ZONE
    )
    assert cells(only_s1) == {
        ("0", 2025): ("691.14", 1, "100.00", 1),
        ("0", 2026): ("1000.40", 3, "1500.00", 2),
    }
    assert (await rollups.rollup(alice, Dimension.SITE, [2024], CostFilters(), ZONE)).rows == []


async def test_each_number_lists_exactly_the_tickets_it_sums(personas):
    w = await build(personas)
    alice = personas["alice"]

    async def behind(year, measure, **narrowing):
        rows = await rollups.tickets_behind(
            alice, year, CostFilters(measure=measure, **narrowing), ZONE
        )
        return {r["title"]: str(r["amount"]) for r in rows}

    assert await behind(2026, Measure.SPENT, site=w.s1) == {
        "T1": "1000.10",
        "T3": "0.10",
        "T4": "0.20",
    }
    assert await behind(2025, Measure.SPENT) == {"T2": "691.14"}
    assert await behind(2026, Measure.COMMITTED) == {
        "T6": "5000.00",
        "T7": "300.00",
        "T9": "1200.00",
    }
    assert await behind(2025, Measure.COMMITTED, asset=w.a1) == {"T8": "100.00"}
    assert await behind(2026, Measure.SPENT, work_class=WorkClass.ROUTINE) == {"T5": "50.00"}


async def test_budget_spent_committed_remaining_and_over_budget(personas, now):
    w = await build(personas)
    alice, carol = personas["alice"], personas["carol"]
    first = await budget.set_budget(alice, w.s1, 2026, BudgetIn(amount=D("2000.00")), now)
    await budget.set_budget(alice, w.s2, 2026, BudgetIn(amount=D("10000")), now)
    rows = {b.site_id: b for b in await budget.budgets(alice, 2026, ZONE)}
    s1, s2 = rows[w.s1], rows[w.s2]
    assert (s1.amount, s1.spent, s1.committed, s1.remaining) == (
        D("2000.00"),
        D("1000.40"),
        D("1500.00"),
        D("-500.40"),
    )
    assert s1.over_budget and not s2.over_budget and s2.remaining == D("4950.00")
    # versioned edits: a stale one and a second "first" budget change nothing (409)
    await budget.set_budget(alice, w.s1, 2026, BudgetIn(amount=D("3000"), version=1), now)
    with pytest.raises(Conflict):
        await budget.set_budget(
            alice, w.s1, 2026, BudgetIn(amount=D("9"), version=first.version), now
        )
    with pytest.raises(Conflict):
        await budget.set_budget(alice, w.s1, 2026, BudgetIn(amount=D("9")), now)
    after = {b.site_id: b for b in await budget.budgets(alice, 2026, ZONE)}[w.s1]
    assert (after.amount, after.version, after.over_budget) == (D("3000.00"), 2, False)
    with pytest.raises(PermissionDenied):
        await budget.set_budget(carol, w.s1, 2027, BudgetIn(amount=D("1")), now)
    for bad in (D("-1"), D("0.001"), D("1E+11")):
        with pytest.raises(ValidationFailed):
            await budget.set_budget(alice, w.s1, 2027, BudgetIn(amount=bad), now)


# --- pages, exports, API -------------------------------------------------------------------


async def test_the_costs_page_shows_budgets_in_words_and_links_each_number(personas, login, now):
    w = await build(personas)
    await budget.set_budget(personas["alice"], w.s1, 2026, BudgetIn(amount=D("2000")), now)
    dave = english(await login("dave"))  # viewers read
    page = await dave.get("/tickets/costs", params={"year": 2026})
    assert page.status_code == 200
    assert "Over budget by ¥500.40" in page.text
    assert f"/tickets/costs/tickets?year=2026&amp;measure=spent&amp;site={w.s1}" in page.text
    assert "¥1,000.40" in page.text and "¥6,500.00" in page.text
    listing = await dave.get(
        "/tickets/costs/tickets", params={"year": 2026, "measure": "spent", "site": w.s1}
    )
    assert listing.status_code == 200
    assert set(re.findall(r'data-ticket="(\d+)"', listing.text)) == {
        str(w.t[n]) for n in ("T1", "T3", "T4")
    }
    for bad in ({"year": "1999"}, {"year": "x"}, {"site": "0"}, {"measure": "nope"}):
        response = await dave.get("/tickets/costs", params=bad)
        assert response.status_code == 400, bad
    assert (await dave.get("/tickets/budgets/1/2026")).status_code == 403


async def test_a_budget_is_set_through_its_form_and_a_stale_one_is_refused(personas, login):
    w = await build(personas)
    alice = await login("alice")
    url = f"/tickets/budgets/{w.s1}/2026"
    form = await alice.get(url)
    assert form.status_code == 200
    key = re.search(r'name="_submission" value="([^"]+)"', form.text).group(1)
    data = {"_csrf_token": await csrf_token(alice), "_submission": key, "amount": "2000.50"}
    assert (await alice.post(url, data=data)).status_code == 303
    assert (await alice.post(url, data=data)).status_code == 303  # a double submit: one budget
    assert (await budget.find_budget(w.s1, 2026)).version == 1
    stale = {**data, "_submission": "k2", "amount": "1", "version": "7"}
    response = await alice.post(url, data=stale)
    assert response.status_code == 409
    bad = await alice.post(
        url, data={**data, "_submission": "k3", "amount": "lots", "version": "1"}
    )
    assert bad.status_code == 400
    assert costs.money((await budget.find_budget(w.s1, 2026)).amount) == D("2000.50")


async def test_cost_lines_through_the_ticket_page(personas, login):
    alice_actor = personas["alice"]
    ticket = await make_ticket(alice_actor)
    alice = english(await login("alice"))
    page = await alice.get(f"/tickets/{ticket.id}")
    key = re.search(
        r'action="/tickets/\d+/cost-lines".*?name="_submission" value="([^"]+)"', page.text, re.S
    ).group(1)
    data = {
        "_csrf_token": await csrf_token(alice),
        "_submission": key,
        "kind": "material",
        "description": "防腐木板",
        "quantity": "12.345",
        "unit": "m²",
        "unit_price": "3.33",
    }
    assert (await alice.post(f"/tickets/{ticket.id}/cost-lines", data=data)).status_code == 303
    assert (await alice.post(f"/tickets/{ticket.id}/cost-lines", data=data)).status_code == 303
    assert await TicketCostLine.count() == 1  # the double submit added one line
    shown = await alice.get(f"/tickets/{ticket.id}")
    assert "¥41.11" in shown.text and "added a cost line" in shown.text
    bad = await alice.post(
        f"/tickets/{ticket.id}/cost-lines",
        data={**data, "_submission": "other", "kind": "labour", "quantity": "", "unit_price": ""},
    )
    assert bad.status_code == 400
    assert "Required for this kind of line." in bad.text
    (line,) = await TicketCostLine.select(TicketCostLine.id)
    carol = await login("carol")
    refused = await carol.post(
        f"/tickets/{ticket.id}/cost-lines/{line['id']}/delete",
        data={"_csrf_token": await csrf_token(carol)},
    )
    assert refused.status_code == 403
    removed = await alice.post(
        f"/tickets/{ticket.id}/cost-lines/{line['id']}/delete",
        data={"_csrf_token": await csrf_token(alice)},
    )
    assert removed.status_code == 303 and await TicketCostLine.count() == 0


async def test_exports_parse_back(personas, login, now):
    w = await build(personas)
    dave = english(await login("dave"))
    response = await dave.get("/tickets/costs.csv", params={"year": 2026, "by": "site"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0] == [
        "Site",
        "Year",
        "Spent (yuan)",
        "Tickets spent",
        "Committed (yuan)",
        "Tickets committed",
    ]
    assert sorted(rows[1:]) == [
        ["一号公园", "2026", "1000.40", "3", "1500.00", "2"],
        ["二号广场", "2026", "50.00", "1", "5000.00", "1"],
    ]
    lines = await dave.get("/tickets/cost-lines.csv", params={"year": 2025})
    body = list(csv.reader(io.StringIO(lines.text.lstrip("\ufeff"))))
    assert body[0][0] == "Ticket number" and body[0][-2] == "Amount (yuan)"
    assert [(r[0], r[2], r[-2]) for r in body[1:]] == [
        (str(w.t["T2"]), "Labour", "650.03"),
        (str(w.t["T2"]), "Materials", "41.11"),
        (str(w.t["T9"]), "Labour", "1200.00"),
    ]
    workbook = await dave.get("/tickets/costs.xlsx", params={"year": 2026, "site": w.s1})
    assert workbook.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(workbook.content))
    assert book.sheetnames == [
        "Costs by site",
        "Costs by asset",
        "Costs by work class",
        "Costs by year",
        "Cost lines",
    ]
    site_rows = list(book["Costs by site"].iter_rows(values_only=True))
    assert site_rows[1][0] == "一号公园" and D(str(site_rows[1][2])) == D("1000.40")
    assert len(site_rows) == 2  # the site filter holds
    assert (await dave.get("/tickets/costs.csv", params={"by": "planet"})).status_code == 400


async def test_a_hostile_description_is_text_in_every_export(personas, login, now):
    alice = personas["alice"]
    ticket = await make_ticket(alice, asset=await make_asset(await make_site("=1+1")))
    await costs.add_line(alice, ticket.id, labour("1", "1", description='=HYPERLINK("x")'), now)
    dave = await login("dave")
    text = (await dave.get("/tickets/cost-lines.csv", params={"year": 2026})).text
    assert "'=HYPERLINK" in text
    book = openpyxl.load_workbook(
        io.BytesIO((await dave.get("/tickets/costs.xlsx", params={"year": 2026})).content)
    )
    sheet = book.worksheets[-1]
    cell = [c for row in sheet.iter_rows() for c in row if c.value and "HYPERLINK" in str(c.value)]
    assert cell and cell[0].data_type == "s"


async def test_the_api_adds_lists_and_deletes_lines_and_reads_roll_ups_and_budgets(
    personas, api, now
):
    w = await build(personas)
    alice = await api("alice")
    ticket = await make_ticket(personas["alice"], asset_id=w.a1)
    url = f"/api/v1/tickets/{ticket.id}/cost-lines"
    added = await alice.post(url, {"kind": "labour", "hours": "7.5", "hourly_rate": "86.67"})
    assert added.status_code == 201 and added.json()["amount"] == "650.03"
    bad = await alice.post(url, {"kind": "labour", "hours": "1"})
    assert bad.status_code == 400 and "hourly_rate" in bad.text
    listed = (await alice.get(url)).json()
    assert listed["total"] == "650.03" and listed["cost_actual"] == "650.03"
    gone = await alice.client.delete(f"{url}/{added.json()['id']}", headers=alice.headers)
    assert gone.status_code == 204
    rollup = (await alice.get("/api/v1/costs/rollups", by="year", year=2026, years=2)).json()
    assert [(r["year"], r["spent"]["amount"]) for r in rollup["rows"]] == [
        (2025, "691.14"),
        (2026, "1050.40"),
    ]
    put = await alice.put(f"/api/v1/budgets/{w.s2}/2026", {"amount": "10000"})
    assert put.status_code == 200 and put.json()["remaining"] == "4950.00"
    stale = await alice.put(f"/api/v1/budgets/{w.s2}/2026", {"amount": "1", "version": 9})
    assert stale.status_code == 409
    listing = (await alice.get("/api/v1/budgets", year=2026)).json()
    assert {b["site_id"]: b["over_budget"] for b in listing} == {w.s1: False, w.s2: False}
    carol = await api("carol")
    assert (
        await carol.post(url, {"kind": "labour", "hours": "1", "hourly_rate": "1"})
    ).status_code == 403
