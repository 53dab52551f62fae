"""Repair ticket lists: filters and search, keyset pagination (and the exports that walk the
same way), cursors from the URL, the dashboard's numbers on a known data set, the board's
calendar and per-asset helpers."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from facilities.accounts.permissions import Actor
from facilities.errors import ValidationFailed
from facilities.tickets import services as tickets
from facilities.tickets.choices import Action, ClosingReason, Priority, Source, Status
from facilities.tickets.schemas import TicketFilters
from facilities.tickets.tables import RepairTicket
from tests.kit.assets import make_asset, make_site
from tests.kit.tickets import drive_to, make_ticket, seed_tickets, transition_data

# --- listing: filters and keyset pagination -------------------------------------------------


def filters(**values: Any) -> TicketFilters:
    return TicketFilters(**values)


async def ids(actor: Actor, now: dt.datetime, **values: Any) -> set[int]:
    page = await tickets.list_tickets(actor, filters(per_page=200, **values), now)
    return {v.ticket.id for v in page.items}


async def test_list_filters(personas, now):
    alice, carol, bob = personas["alice"], personas["carol"], personas["bob"]
    park, plaza = await make_site("平湖公园"), await make_site("雁鸣溪广场")
    bridge, lights = await make_asset(park), await make_asset(plaza)
    a = await make_ticket(
        alice,
        bridge,
        title="50% 的木板腐朽",
        priority=Priority.P0,
        now=now - dt.timedelta(days=2),
        assignee_id=carol.id,
    )
    b = await make_ticket(
        alice, bridge, title="500 块木板", description="Deck planks", source=Source.CITIZEN_REPORT
    )
    c = await make_ticket(
        alice, lights, title="灯杆 a_b 损坏", assignee_id=bob.id, source=Source.CITIZEN_REPORT
    )
    d = await make_ticket(alice, lights, title="灯杆 axb 损坏", priority=Priority.P3)
    e = await make_ticket(alice, lights, title="已关闭", priority=Priority.P3)
    await drive_to(e.id, Status.CLOSED, alice, now)
    f = await make_ticket(alice, bridge, title="已排期")
    await drive_to(f.id, Status.SCHEDULED, alice, now)

    assert await ids(alice, now) == {a.id, b.id, c.id, d.id, f.id}  # default: open
    assert await ids(alice, now, status="open") == {a.id, b.id, c.id, d.id, f.id}
    assert await ids(alice, now, status="final") == {e.id}
    assert await ids(alice, now, status="") == {a.id, b.id, c.id, d.id, e.id, f.id}
    assert await ids(alice, now, status="scheduled") == {f.id}
    assert await ids(alice, now, status="closed") == {e.id}
    assert await ids(alice, now, priority=Priority.P0) == {a.id}
    assert await ids(alice, now, priority=Priority.P3, status="") == {d.id, e.id}
    assert await ids(alice, now, asset=bridge.id) == {a.id, b.id, f.id}
    assert await ids(alice, now, site=plaza.id, status="") == {c.id, d.id, e.id}
    assert await ids(alice, now, assignee=carol.id) == {a.id}
    assert await ids(alice, now, source=Source.CITIZEN_REPORT) == {b.id, c.id}
    assert await ids(alice, now, overdue=True) == {a.id}
    assert await ids(alice, now + dt.timedelta(days=31), overdue=True) == {a.id, b.id, c.id, f.id}
    # search: in title or description, case-insensitive, % and _ are plain characters
    assert await ids(alice, now, q="50%") == {a.id}
    assert await ids(alice, now, q="50") == {a.id, b.id}
    assert await ids(alice, now, q="a_b") == {c.id}
    assert await ids(alice, now, q="_") == {c.id}
    assert await ids(alice, now, q="%") == {a.id}
    assert await ids(alice, now, q="DECK") == {b.id}
    assert await ids(alice, now, q="  灯杆  ") == {c.id, d.id}
    assert await ids(alice, now, q="灯杆", priority=Priority.P3) == {d.id}
    with pytest.raises(ValidationFailed):
        await tickets.list_tickets(alice, filters(status="bogus"), now)


def expected_order(rows: list[dict[str, Any]], sort: str) -> list[int]:
    keys = {
        "-created": (lambda r: (r["created_at"], r["id"]), True),
        "-updated": (lambda r: (r["updated_at"], r["id"]), True),
        "due": (lambda r: (r["sla_due_at"], r["id"]), False),
        "priority": (lambda r: (r["priority"], r["sla_due_at"], r["id"]), False),
    }
    key, reverse = keys[sort]
    return [r["id"] for r in sorted(rows, key=key, reverse=reverse)]


@pytest.mark.parametrize("sort", ["-created", "-updated", "due", "priority"])
async def test_keyset_pagination_visits_every_ticket_once_in_order(sort, personas, now):
    rows = await seed_tickets(130, now)
    assert len(rows) == 130
    seen: list[int] = []
    cursor = ""
    pages = 0
    while True:
        page = await tickets.list_tickets(
            personas["alice"], filters(status="", sort=sort, per_page=25, after=cursor), now
        )
        pages += 1
        seen.extend(v.ticket.id for v in page.items)
        if page.next_cursor is None:
            break
        assert len(page.items) == 25
        cursor = page.next_cursor
    assert pages == 6
    assert seen == expected_order(rows, sort)
    # exports walk the same way
    exported = [
        v.ticket.id
        async for v in tickets.iter_tickets(
            personas["alice"], filters(status="", sort=sort), now, batch=40
        )
    ]
    assert exported == seen


def _cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


GARBAGE_CURSORS = [
    "garbage!!",
    "%%%",
    "é",
    _cursor({"a": 1}),
    _cursor([1]),
    _cursor(["2026-11-28T02:00:00+00:00"]),
    _cursor(["not a date", 5]),
    _cursor([None, 5]),
    _cursor(["2026-11-28T02:00:00+00:00", "five"]),
    _cursor(["2026-11-28T02:00:00+00:00", 2**40]),
    _cursor(["2026-11-28T02:00:00+00:00", 0]),
    _cursor(["2026-11-28T02:00:00", 5]),
    base64.urlsafe_b64encode(b'["2026-11-28T02:00:00+00:00", Infinity]').decode(),
    base64.urlsafe_b64encode(b'["2026-11-28T02:00:00+00:00", NaN]').decode(),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
]


async def test_a_garbage_cursor_is_a_validation_error(personas, now):
    """A cursor comes from the URL: anything made up is a 400, never a database error."""
    await seed_tickets(3, now)
    for after in GARBAGE_CURSORS:
        with pytest.raises(ValidationFailed) as refused:
            await tickets.list_tickets(personas["alice"], filters(status="", after=after), now)
        assert set(refused.value.errors) == {"after"}, after


async def test_a_cursor_of_one_sort_is_refused_by_another(personas, now):
    await seed_tickets(30, now)
    page = await tickets.list_tickets(personas["alice"], filters(status="", per_page=10), now)
    assert page.next_cursor
    with pytest.raises(ValidationFailed):
        await tickets.list_tickets(
            personas["alice"], filters(status="", sort="priority", after=page.next_cursor), now
        )


# --- the dashboard --------------------------------------------------------------------------


async def _close_repaired(
    actor: Actor, ticket: RepairTicket, at: dt.datetime, reason: ClosingReason
) -> None:
    ticket = await drive_to(ticket.id, Status.ACCEPTED, actor, ticket.created_at)
    await tickets.transition(
        actor, ticket.id, transition_data(Action.CLOSE, ticket, 0, closing_reason=reason), at
    )


async def test_dashboard_numbers_on_a_known_data_set(personas, now):
    alice = personas["alice"]
    day = dt.timedelta(days=1)
    bridge, lights = await make_asset(code="GX-QL-PH-001"), await make_asset(code="GX-LD-002")
    # open: A (P0, new, overdue), B (P1, triaged), C (P2, in progress, overdue), D (P1, on hold)
    await make_ticket(alice, bridge, priority=Priority.P0, now=now - 2 * day)
    b = await make_ticket(alice, bridge, priority=Priority.P1, now=now - day)
    await drive_to(b.id, Status.TRIAGED, alice, now - day)
    c = await make_ticket(alice, lights, priority=Priority.P2, now=now - 40 * day)
    await drive_to(c.id, Status.IN_PROGRESS, alice, now - 39 * day)
    d = await make_ticket(alice, bridge, priority=Priority.P1, now=now - 3 * day)
    await drive_to(d.id, Status.ON_HOLD, alice, now - 3 * day)
    # accepted: work done, waiting to be closed: not in the open backlog
    e = await make_ticket(alice, lights, priority=Priority.P1, now=now - 4 * day)
    await drive_to(e.id, Status.ACCEPTED, alice, now - 4 * day)
    # fixed and closed: F 5 days (on time), G 12 days (late), H 10 days 50 days ago (on time),
    # K long ago (outside both windows)
    f = await make_ticket(alice, bridge, priority=Priority.P1, now=now - 10 * day)
    await _close_repaired(alice, f, now - 5 * day, ClosingReason.REPAIRED)
    g = await make_ticket(alice, bridge, priority=Priority.P1, now=now - 20 * day)
    await _close_repaired(alice, g, now - 8 * day, ClosingReason.REPLACED)
    h = await make_ticket(alice, lights, priority=Priority.P2, now=now - 60 * day)
    await _close_repaired(alice, h, now - 50 * day, ClosingReason.REPAIRED)
    k = await make_ticket(alice, lights, priority=Priority.P2, now=now - 130 * day)
    await _close_repaired(alice, k, now - 100 * day, ClosingReason.REPAIRED)
    # closed without a repair, rejected, cancelled: never in MTTR nor SLA compliance
    i = await make_ticket(alice, bridge, priority=Priority.P3, now=now - 2 * day)
    await drive_to(i.id, Status.CLOSED, alice, now - day)
    j = await make_ticket(alice, bridge, priority=Priority.P3, now=now - 2 * day)
    await drive_to(j.id, Status.REJECTED, alice, now - day)

    stats = await tickets.dashboard(personas["dave"], now)
    assert stats.open_total == 4
    assert stats.overdue == 2
    assert stats.backlog == {
        "P0": {"new": 1},
        "P1": {"triaged": 1, "on_hold": 1},
        "P2": {"in_progress": 1},
        "P3": {},
    }
    assert stats.mttr_days == {30: 8.5, 90: 10.0}
    assert stats.closed_counts == {30: 2, 90: 3}
    assert stats.sla_compliance == {30: 0.5, 90: 0.667}
    assert [(r["code"], int(r["n"]), int(r["p0"])) for r in stats.per_asset] == [
        ("GX-QL-PH-001", 3, 1),
        ("GX-LD-002", 1, 0),
    ]
    # nothing closed in the window: no number rather than a made-up zero
    empty = await tickets.dashboard(personas["dave"], now + 400 * day)
    assert empty.mttr_days == {30: None, 90: None}
    assert empty.sla_compliance == {30: None, 90: None}
    assert empty.overdue == 4


async def test_board_calendar_and_asset_helpers(personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    planned = await make_ticket(
        alice,
        asset,
        planned_start_on=dt.date(2026, 12, 30),
        planned_end_on=dt.date(2027, 1, 3),
        priority=Priority.P0,
    )
    await make_ticket(alice, asset, planned_start_on=dt.date(2027, 2, 1))
    rows = await tickets.planned_between(alice, dt.date(2027, 1, 1), dt.date(2027, 1, 31))
    assert [r["id"] for r in rows] == [planned.id]
    assert await tickets.open_p0_assets([asset.id]) == {asset.id}
    assert await tickets.open_p0_assets([]) == set()
    views = await tickets.tickets_for_asset(alice, asset.id, now)
    assert views[0].ticket.id == planned.id
