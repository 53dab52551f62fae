"""The staff work calendar (/calendar): multi-day work as one bar per week row, tickets,
inspections and closures as layers, dragging a ticket's bar to reschedule it (guarded like the
edit form), and each person's own iCalendar feed."""

from __future__ import annotations

import datetime as dt
import re

from icalendar import Calendar

from facilities.accounts.tables import StaffUser
from facilities.audit.tables import AuditEvent
from facilities.homes.calendar_feed import token_user, user_token
from facilities.homes.calendar_layout import Item, lay_out, month_weeks, week_of
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType
from facilities.inspections.tables import Inspection
from facilities.tickets.choices import Status
from facilities.tickets.tables import RepairTicket
from tests.kit.assets import make_asset
from tests.kit.clients import csrf_token
from tests.kit.closures import make_closure
from tests.kit.constants import ZONE
from tests.kit.inspections import make_schedule, plan
from tests.kit.tickets import drive_to, make_ticket

D = dt.date
DEC_7 = D(2026, 12, 7)  # a Monday


def item(key: str, start: dt.date, end: dt.date, layer: str = "tickets") -> Item:
    return Item(key=key, layer=layer, start=start, end=end, title=key, url=f"/{key}")


def bars_of(rows, key: str) -> list[tuple[int, int, int, bool, bool]]:
    """(row index, column, span, continues before, continues after) of each bar of ``key``."""
    return [
        (n, bar.column, bar.span, bar.continues_before, bar.continues_after)
        for n, row in enumerate(rows)
        for bar in row.bars
        if bar.item.key == key
    ]


# --- the layout, on its own ------------------------------------------------------------------


def test_a_single_day_item_is_one_bar_one_column_wide():
    rows = lay_out(week_of(DEC_7), [item("one", D(2026, 12, 9), D(2026, 12, 9))])
    assert bars_of(rows, "one") == [(0, 2, 1, False, False)]


def test_a_three_day_item_is_one_bar_spanning_three_columns():
    rows = lay_out(month_weeks(D(2026, 12, 1)), [item("three", DEC_7, D(2026, 12, 9))])
    assert bars_of(rows, "three") == [(1, 0, 3, False, False)]


def test_an_item_across_a_week_boundary_is_cut_and_marked_as_continuing():
    # Saturday 12 to Tuesday 15 December
    rows = lay_out(month_weeks(D(2026, 12, 1)), [item("over", D(2026, 12, 12), D(2026, 12, 15))])
    assert bars_of(rows, "over") == [(1, 5, 2, False, True), (2, 0, 2, True, False)]


def test_an_item_beyond_the_weeks_shown_continues_out_of_them():
    # December 2026 is shown from Monday 30 November to Sunday 3 January
    weeks = month_weeks(D(2026, 12, 1))
    assert (weeks[0][0], weeks[-1][-1]) == (D(2026, 11, 30), D(2027, 1, 3))
    rows = lay_out(
        weeks,
        [
            item("before", D(2026, 11, 20), D(2026, 12, 2)),
            item("after", D(2027, 1, 2), D(2027, 2, 1)),
        ],
    )
    assert bars_of(rows, "before") == [(0, 0, 3, True, False)]
    assert bars_of(rows, "after") == [(len(rows) - 1, 5, 2, False, True)]
    # a week view cuts the same way at both ends
    week = lay_out(week_of(DEC_7), [item("long", D(2026, 12, 1), D(2026, 12, 31))])
    assert bars_of(week, "long") == [(0, 0, 7, True, True)]


def test_overlapping_items_take_separate_lanes_and_free_days_are_reused():
    rows = lay_out(
        week_of(DEC_7),
        [
            item("a", DEC_7, D(2026, 12, 9)),  # Mon-Wed
            item("b", D(2026, 12, 8), D(2026, 12, 10)),  # Tue-Thu: meets a
            item("c", D(2026, 12, 10), D(2026, 12, 11)),  # Thu-Fri: after a, meets b
            item("d", D(2026, 12, 12), D(2026, 12, 12)),  # Sat: meets nothing
        ],
    )
    lanes = {bar.item.key: bar.lane for bar in rows[0].bars}
    assert lanes["a"] != lanes["b"]
    assert lanes["b"] != lanes["c"]
    assert lanes["c"] == lanes["a"] == 0  # c fits after a in the top lane
    assert lanes["d"] == 0
    assert len(rows[0].lanes) == 2
    for lane in rows[0].lanes:  # no two bars of a lane share a day
        days = [c for bar in lane for c in range(bar.column, bar.column + bar.span)]
        assert len(days) == len(set(days))


def test_an_end_before_the_start_is_read_as_one_day_and_items_outside_are_left_out():
    rows = lay_out(
        week_of(DEC_7),
        [item("odd", D(2026, 12, 9), D(2026, 12, 1)), item("away", D(2027, 3, 1), D(2027, 3, 2))],
    )
    assert bars_of(rows, "odd") == [(0, 2, 1, False, False)]
    assert bars_of(rows, "away") == []


# --- the page --------------------------------------------------------------------------------


def bar_classes(html: str, href: str) -> list[str]:
    """The class attribute of each bar whose link is ``href``."""
    return re.findall(
        r'<li class="(wcal-bar[^"]*)"[^>]*>(?:(?!</li>).)*?href="' + re.escape(href) + '"',
        html,
        flags=re.S,
    )


async def test_the_month_and_week_show_a_three_day_ticket_as_one_spanning_bar(login, personas, now):
    asset = await make_asset(code="GX-CAL-001")
    ticket = await make_ticket(
        personas["alice"],
        asset,
        title="更换吊杆",
        planned_start_on=DEC_7,
        planned_end_on=D(2026, 12, 9),
    )
    client = await login("alice")
    month = await client.get("/calendar", params={"month": "2026-12"})
    assert month.status_code == 200
    classes = bar_classes(month.text, f"/tickets/{ticket.id}")
    assert len(classes) == 1
    assert " c1 " in f" {classes[0]} " and " s3 " in f" {classes[0]} "
    assert 'draggable="true"' in month.text  # alice may edit tickets
    week = await client.get("/calendar", params={"week": "2026-W50"})
    assert week.status_code == 200
    assert [c.split()[2:4] for c in bar_classes(week.text, f"/tickets/{ticket.id}")] == [
        ["c1", "s3"]
    ]
    # the old address sends here, keeping what it was asked
    old = await client.get("/tickets/calendar", params={"week": "2026-W50"})
    assert (old.status_code, old.headers["location"]) == (301, "/calendar?week=2026-W50")


async def test_work_over_a_weekend_is_two_bars_marked_as_continuing(login, personas):
    asset = await make_asset(code="GX-CAL-002")
    ticket = await make_ticket(
        personas["alice"], asset, planned_start_on=D(2026, 12, 12), planned_end_on=D(2026, 12, 15)
    )
    page = await (await login("dave")).get("/calendar", params={"month": "2026-12"})
    classes = bar_classes(page.text, f"/tickets/{ticket.id}")
    assert len(classes) == 2
    assert "goes-on" in classes[0] and "from-before" not in classes[0]
    assert "from-before" in classes[1] and "goes-on" not in classes[1]
    assert 'draggable="true"' not in page.text  # a viewer cannot move work


async def test_layers_are_chosen_by_the_query_or_the_form(login, personas, now):
    alice = personas["alice"]
    asset = await make_asset(code="GX-CAL-003")
    ticket = await make_ticket(alice, asset, planned_start_on=DEC_7)
    closure = await make_closure(
        alice,
        asset,
        now,
        effective_from=now + dt.timedelta(days=10),
        planned_reopen_on=D(2026, 12, 20),
    )
    inspection = await plan(alice, asset, now, due_on=D(2026, 12, 10))
    links = {
        "tickets": f'href="/tickets/{ticket.id}"',
        "closures": f'href="/closures/{closure.id}"',
        "inspections": f'href="/inspections/{inspection.id}"',
    }
    client = await login("bob")

    async def shown(params: list[tuple[str, str]]) -> set[str]:
        response = await client.get("/calendar", params=[("month", "2026-12"), *params])
        assert response.status_code == 200
        return {layer for layer, link in links.items() if link in response.text}

    assert await shown([]) == set(links)  # every layer by default
    assert await shown([("layers", "tickets")]) == {"tickets"}
    assert await shown([("layers", "closures,inspections")]) == {"closures", "inspections"}
    # the no-JS form: a hidden empty value and one value per ticked box
    assert await shown([("layers", ""), ("layers", "closures")]) == {"closures"}
    assert await shown([("layers", "")]) == set()  # every box unticked
    response = await client.get("/calendar", params={"layers": "tickets"})
    page = response.text
    assert 'name="layers" value="tickets" checked' in page
    assert 'name="layers" value="closures" checked' not in page
    # a closure is one bar from its first day to the day before the promised reopening
    full = await client.get("/calendar", params={"week": "2026-W50", "layers": "closures"})
    assert [c.split()[2:4] for c in bar_classes(full.text, f"/closures/{closure.id}")] == [
        ["c2", "s6"]
    ]


async def test_bad_layers_and_periods_are_a_400_in_the_readers_language(login):
    client = await login("alice")
    bad = await client.get("/calendar", params={"layers": "tickets,secrets"})
    assert bad.status_code == 400
    assert "请从以下图层中选择：tickets、inspections、closures" in bad.text
    for params in ({"week": "2026-W60"}, {"week": "2026-50"}, {"month": "2026-13"}):
        response = await client.get("/calendar", params=params, headers={"Accept-Language": "en"})
        assert response.status_code == 400, params
        assert "YYYY-MM" in response.text


# --- dragging a ticket's bar -----------------------------------------------------------------


async def reschedule(client, ticket_id: int, start: str, version: int, **headers: str):
    return await client.post(
        f"/calendar/tickets/{ticket_id}/reschedule",
        data={"planned_start_on": start, "version": str(version)},
        headers={
            "x-csrftoken": await csrf_token(client),
            "accept": "application/json",
            "accept-language": "en",
            **headers,
        },
    )


async def dates_of(ticket_id: int) -> tuple[dt.date, dt.date | None, int]:
    row = (
        await RepairTicket.select(
            RepairTicket.planned_start_on, RepairTicket.planned_end_on, RepairTicket.version
        )
        .where(RepairTicket.id == ticket_id)
        .first()
    )
    assert row is not None
    return row["planned_start_on"], row["planned_end_on"], row["version"]


async def updates_of(ticket_id: int) -> int:
    return await AuditEvent.count().where(
        (AuditEvent.action == "ticket.updated") & (AuditEvent.entity_id == ticket_id)
    )


async def test_a_drag_shifts_start_and_end_by_the_same_days_through_the_edit_service(
    login, personas
):
    ticket = await make_ticket(
        personas["alice"], planned_start_on=DEC_7, planned_end_on=D(2026, 12, 9)
    )
    client = await login("alice")
    response = await reschedule(client, ticket.id, "2026-12-10", ticket.version)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": ticket.id,
        "version": ticket.version + 1,
        "planned_start_on": "2026-12-10",
        "planned_end_on": "2026-12-12",
    }
    assert await dates_of(ticket.id) == (D(2026, 12, 10), D(2026, 12, 12), ticket.version + 1)
    assert await updates_of(ticket.id) == 1  # audited like any edit


async def test_a_repeated_drop_with_its_key_moves_the_ticket_once(login, personas):
    ticket = await make_ticket(personas["alice"], planned_start_on=DEC_7)
    client = await login("alice")
    first = await reschedule(
        client, ticket.id, "2026-12-08", ticket.version, **{"idempotency-key": "k1"}
    )
    again = await reschedule(
        client, ticket.id, "2026-12-08", ticket.version, **{"idempotency-key": "k1"}
    )
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers.get("idempotent-replayed") == "true"
    assert await dates_of(ticket.id) == (D(2026, 12, 8), None, ticket.version + 1)
    assert await updates_of(ticket.id) == 1


async def test_a_stale_drag_is_a_409_and_changes_nothing(login, personas):
    ticket = await make_ticket(
        personas["alice"], planned_start_on=DEC_7, planned_end_on=D(2026, 12, 9)
    )
    client = await login("alice")
    assert (await reschedule(client, ticket.id, "2026-12-14", ticket.version)).status_code == 200
    stale = await reschedule(client, ticket.id, "2026-12-21", ticket.version)
    assert stale.status_code == 409
    assert "Someone else changed this ticket" in stale.json()["detail"]
    assert await dates_of(ticket.id) == (D(2026, 12, 14), D(2026, 12, 16), ticket.version + 1)


async def test_who_may_not_edit_tickets_cannot_drag_and_the_reason_is_given(login, personas, now):
    carol = personas["carol"]
    ticket = await make_ticket(personas["alice"], planned_start_on=DEC_7, assignee_id=carol.id)
    for who in ("carol", "bob", "dave"):  # even carol, whose ticket it is: editing is supervisors'
        refused = await reschedule(await login(who), ticket.id, "2026-12-10", ticket.version)
        assert refused.status_code == 403, who
        assert refused.json()["detail"]
    assert await dates_of(ticket.id) == (DEC_7, None, ticket.version)
    # a finished ticket cannot be edited, so cannot be moved
    await drive_to(ticket.id, Status.CANCELLED, personas["alice"], now)
    version = (await dates_of(ticket.id))[2]
    done = await reschedule(await login("alice"), ticket.id, "2026-12-10", version)
    assert done.status_code == 409
    assert "finished ticket" in done.json()["detail"]


async def test_bad_drops_are_a_clear_4xx(login, personas):
    ticket = await make_ticket(personas["alice"], planned_start_on=DEC_7)
    unplanned = await make_ticket(personas["alice"])
    client = await login("alice")
    bad_date = await reschedule(client, ticket.id, "2026-02-30", ticket.version)
    assert bad_date.status_code == 400
    assert "planned_start_on" in bad_date.text
    far = await reschedule(client, ticket.id, "2999-12-01", ticket.version)
    assert far.status_code == 400
    missing = await reschedule(client, 999_999, "2026-12-10", 1)
    assert missing.status_code == 404
    nothing_to_move = await reschedule(client, unplanned.id, "2026-12-10", unplanned.version)
    assert nothing_to_move.status_code == 409
    assert "no planned dates" in nothing_to_move.json()["detail"]
    assert await dates_of(ticket.id) == (DEC_7, None, ticket.version)


async def test_a_drag_without_the_csrf_token_is_refused(login, personas):
    ticket = await make_ticket(personas["alice"], planned_start_on=DEC_7)
    client = await login("alice")
    response = await client.post(
        f"/calendar/tickets/{ticket.id}/reschedule",
        data={"planned_start_on": "2026-12-10", "version": str(ticket.version)},
    )
    assert response.status_code == 403
    assert await dates_of(ticket.id) == (DEC_7, None, ticket.version)


# --- each person's iCalendar feed ------------------------------------------------------------


def events_of(body: bytes) -> dict[str, dict[str, object]]:
    calendar = Calendar.from_ical(body)
    return {
        str(e["uid"]).split("@")[0]: {
            "start": e.decoded("dtstart"),
            "end": e.decoded("dtend"),
            "summary": str(e["summary"]),
            "url": str(e["url"]),
        }
        for e in calendar.walk("VEVENT")
    }


async def test_a_persons_feed_lists_their_own_work_as_all_day_events(
    anon, login, personas, now, settings
):
    alice, bob, carol = personas["alice"], personas["bob"], personas["carol"]
    asset = await make_asset(code="GX-ICS-001")
    mine = await make_ticket(
        alice,
        asset,
        title="换木板",
        assignee_id=carol.id,
        planned_start_on=DEC_7,
        planned_end_on=D(2026, 12, 9),
    )
    others = await make_ticket(alice, asset, assignee_id=bob.id, planned_start_on=DEC_7)
    unplanned = await make_ticket(alice, asset, assignee_id=carol.id)
    inspection = await plan(alice, asset, now, due_on=D(2026, 12, 10), inspector_id=bob.id)
    closure = await make_closure(alice, asset, now, planned_reopen_on=D(2027, 4, 30))

    carol_feed = await anon.get(
        "/calendar/me.ics", params={"token": user_token(carol.id, settings.secret_key)}
    )
    assert carol_feed.status_code == 200
    assert carol_feed.headers["content-type"].startswith("text/calendar")
    events = events_of(carol_feed.content)
    assert set(events) == {f"ticket-{mine.id}"}  # not bob's, not the unplanned, no closures
    assert events[f"ticket-{mine.id}"]["start"] == DEC_7
    assert events[f"ticket-{mine.id}"]["end"] == D(2026, 12, 10)  # exclusive end
    assert "换木板" in str(events[f"ticket-{mine.id}"]["summary"])
    assert str(events[f"ticket-{mine.id}"]["url"]).endswith(f"/tickets/{mine.id}")
    assert f"ticket-{unplanned.id}" not in events

    bob_events = events_of(
        (
            await anon.get(
                "/calendar/me.ics", params={"token": user_token(bob.id, settings.secret_key)}
            )
        ).content
    )
    assert set(bob_events) == {f"ticket-{others.id}", f"inspection-{inspection.id}"}
    assert bob_events[f"inspection-{inspection.id}"]["start"] == D(2026, 12, 10)
    assert bob_events[f"inspection-{inspection.id}"]["end"] == D(2026, 12, 11)
    assert InspectionType.SPECIAL.label in str(bob_events[f"inspection-{inspection.id}"]["summary"])

    alice_url = "/calendar/me.ics?token=" + user_token(alice.id, settings.secret_key)
    alice_events = events_of((await anon.get(alice_url)).content)
    assert alice_events[f"closure-{closure.id}"]["start"] == now.astimezone(settings.zone).date()
    assert alice_events[f"closure-{closure.id}"]["end"] == D(2027, 4, 30)

    # moving the work keeps its UID and moves the event
    client = await login("alice")
    assert (await reschedule(client, mine.id, "2026-12-14", mine.version)).status_code == 200
    moved = events_of(
        (
            await anon.get(
                "/calendar/me.ics", params={"token": user_token(carol.id, settings.secret_key)}
            )
        ).content
    )
    assert (moved[f"ticket-{mine.id}"]["start"], moved[f"ticket-{mine.id}"]["end"]) == (
        D(2026, 12, 14),
        D(2026, 12, 17),
    )


async def test_the_calendar_page_shows_the_persons_own_feed_link(login, personas, settings):
    page = await (await login("carol")).get("/calendar")
    token = user_token(personas["carol"].id, settings.secret_key)
    assert f"/calendar/me.ics?token={token}" in page.text
    assert user_token(personas["alice"].id, settings.secret_key) not in page.text


async def test_a_wrong_feed_token_is_a_404_that_tells_nothing(anon, personas, settings):
    carol = personas["carol"]
    good = user_token(carol.id, settings.secret_key)
    team_token = inspections.team_token(carol.id, settings.secret_key)  # another feed's token
    wrong = [
        "",
        "nonsense",
        f"{carol.id}-{'0' * 64}",
        f"{personas['alice'].id}-{good.split('-', 1)[1]}",  # carol's MAC on alice's id
        team_token,
        f"{carol.id}-{team_token}",
        user_token(carol.id, "another secret"),
        "99999999999-" + "0" * 64,
    ]
    answers = set()
    for token in wrong:
        response = await anon.get("/calendar/me.ics", params={"token": token})
        assert response.status_code == 404, token
        assert "BEGIN:VCALENDAR" not in response.text
        answers.add(response.text)
    assert (await anon.get("/calendar/me.ics")).status_code == 404
    assert len(answers) == 1  # the same answer whatever was wrong
    assert token_user(good, settings.secret_key) == carol.id
    # a person made inactive loses their feed
    await StaffUser.update({StaffUser.is_active: False}).where(StaffUser.id == carol.id)
    assert (await anon.get("/calendar/me.ics", params={"token": good})).status_code == 404


async def test_an_inspection_due_before_the_days_shown_is_shown_while_its_window_runs(
    login, personas, now
):
    """Raised on 1 December with ten days' tolerance: it is work for the week of 7 December
    too, from the week's first day to the end of its window."""
    alice = personas["alice"]
    asset = await make_asset(code="GX-CAL-009")
    await make_schedule(alice, asset, now, starts_on=D(2026, 12, 1), tolerance_days=10, lead_days=0)
    raised_at = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    await inspections.raise_due(raised_at, ZONE)
    (inspection,) = await Inspection.select(Inspection.id, Inspection.window_ends_at).where(
        Inspection.asset == asset.id
    )
    assert inspection["window_ends_at"].astimezone(ZONE).date() == D(2026, 12, 11)
    client = await login("bob")
    week = await client.get("/calendar", params={"week": "2026-W50", "layers": "inspections"})
    bars = bar_classes(week.text, f"/inspections/{inspection['id']}")
    assert len(bars) == 1
    assert "c1 s5" in bars[0]  # Monday 7 to Friday 11 December
    later = await client.get("/calendar", params={"week": "2026-W51", "layers": "inspections"})
    assert f"/inspections/{inspection['id']}" not in later.text  # the window is over
