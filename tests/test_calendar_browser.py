"""The staff work calendar in the system Chromium: a three-day ticket is ONE bar spanning its
three day columns in the month view and in the week view (measured against the day cells), a
bar dragged to another day moves the ticket's planned dates on the server, and a drag the
server refuses (someone changed the ticket meanwhile) says why and leaves the bar where it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from facilities.i18n import gettext, use_locale
from tests.kit.browser import Pages, Server, log_in, pages_for, start_server

pytestmark = pytest.mark.browser


async def seed_calendar(shift_seconds: float) -> dict[str, Any]:
    """A ticket planned Tuesday to Thursday of the week after next (in the bureau's zone, as
    the server's own clock reads it)."""
    from facilities.assets.tables import Asset
    from facilities.demo_story import staff_actor
    from facilities.lib.clock import utcnow
    from facilities.settings import Settings
    from facilities.tickets import services as tickets
    from facilities.tickets.schemas import TicketIn

    alice = await staff_actor("alice")
    now = utcnow() + dt.timedelta(seconds=shift_seconds)
    today = now.astimezone(Settings.from_env().zone).date()
    monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=14)
    asset = await Asset.select(Asset.id).order_by(Asset.id).first()
    assert asset is not None
    ticket = await tickets.open_ticket(
        alice,
        TicketIn(
            asset_id=asset["id"],
            title="日历：三天的工作 three days of work",
            planned_start_on=monday + dt.timedelta(days=1),
            planned_end_on=monday + dt.timedelta(days=3),
        ),
        now,
    )
    return {"ticket": int(ticket.id), "monday": monday.isoformat()}


async def dates_of(ticket_id: int) -> list[str]:
    from facilities.tickets.tables import RepairTicket

    row = await (
        RepairTicket.select(RepairTicket.planned_start_on, RepairTicket.planned_end_on)
        .where(RepairTicket.id == ticket_id)
        .first()
    )
    assert row is not None
    return [row["planned_start_on"].isoformat(), row["planned_end_on"].isoformat()]


async def edited_elsewhere(ticket_id: int) -> int:
    """Someone else saves the ticket (its version moves on)."""
    from facilities.tickets.tables import RepairTicket

    await RepairTicket.update({RepairTicket.version: RepairTicket.version + 1}).where(
        RepairTicket.id == ticket_id
    )
    return 1


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with start_server(
        tmp_path_factory.mktemp("calendar"), seed="tests.test_calendar_browser:seed_calendar"
    ) as running:
        yield running


@pytest.fixture
def pages(server: Server, browser: Any, request: pytest.FixtureRequest) -> Iterator[Pages]:
    with pages_for(request, browser) as opened:
        yield opened


def day_of(server: Server, days: int) -> dt.date:
    return dt.date.fromisoformat(server.seeded["monday"]) + dt.timedelta(days=days)


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def box(locator: Any) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None
    return found


def assert_spans(page: Any, ticket_id: int, first: dt.date, last: dt.date) -> None:
    """The ticket is one bar, from inside its first day's column to inside its last day's."""
    bars = page.locator(f'.wcal-bar[data-key="ticket-{ticket_id}"]')
    assert bars.count() == 1
    bar = box(bars)
    start = box(page.locator(f'.wcal-day[data-date="{first.isoformat()}"]'))
    end = box(page.locator(f'.wcal-day[data-date="{last.isoformat()}"]'))
    before = box(
        page.locator(f'.wcal-day[data-date="{(first - dt.timedelta(days=1)).isoformat()}"]')
    )
    after = box(page.locator(f'.wcal-day[data-date="{(last + dt.timedelta(days=1)).isoformat()}"]'))
    # same row: the bar lies within the week's cells vertically
    assert start["y"] <= bar["y"] and bar["y"] + bar["height"] <= start["y"] + start["height"]
    # it starts in the first day's column and ends in the last day's
    assert start["x"] - 1 <= bar["x"] < start["x"] + start["width"] / 2
    right = bar["x"] + bar["width"]
    assert end["x"] + end["width"] / 2 < right <= end["x"] + end["width"] + 1
    # and reaches neither the day before nor the day after
    assert bar["x"] >= before["x"] + before["width"] - 1
    assert right <= after["x"] + 1
    assert bar["width"] > 2.5 * start["width"]


def drop_on(page: Any, bar: Any, day: dt.date) -> None:
    """Drag ``bar`` (by its middle) onto ``day``'s cell, by the cell's date number: the rest
    of a busy day is covered by other bars, on which a drop counts as well but which
    Playwright will not aim at."""
    cell = page.locator(f'.wcal-day[data-date="{day.isoformat()}"]')
    bar.drag_to(cell, target_position={"x": box(cell)["width"] / 2, "y": 8})


def test_a_three_day_ticket_is_one_bar_in_the_month_and_in_the_week(pages, server):
    page = pages.open("desktop", "zh-CN")
    log_in(page, server.url, "alice")
    ticket = server.seeded["ticket"]
    first, last = day_of(server, 1), day_of(server, 3)
    page.goto(f"{server.url}/calendar?month={first.strftime('%Y-%m')}")
    assert_spans(page, ticket, first, last)
    page.goto(f"{server.url}/calendar?week={iso_week(first)}")
    assert_spans(page, ticket, first, last)


def test_dragging_a_bar_moves_the_planned_dates_and_a_refused_drag_says_why(pages, server):
    page = pages.open("desktop", "zh-CN")
    log_in(page, server.url, "alice")
    ticket = server.seeded["ticket"]
    month = day_of(server, 1).strftime("%Y-%m")
    page.goto(f"{server.url}/calendar?month={month}")
    bar = page.locator(f'.wcal-bar[data-key="ticket-{ticket}"]')
    # grabbed by its middle (Wednesday), dropped on Thursday of the next week: eight days on
    with page.expect_navigation():  # accepted: the page is laid out again
        drop_on(page, bar, day_of(server, 10))
    moved = [day_of(server, 9).isoformat(), day_of(server, 11).isoformat()]
    assert server.call("tests.test_calendar_browser:dates_of", ticket) == moved
    assert_spans(page, ticket, day_of(server, 9), day_of(server, 11))

    # someone else saves the ticket while the page is open: the next drag is refused
    server.call("tests.test_calendar_browser:edited_elsewhere", ticket)
    where = box(bar)
    drop_on(page, bar, day_of(server, 2))
    status = page.locator("#wcal-status.bad")
    status.wait_for()
    with use_locale("zh_CN"):
        reason = gettext(
            "Someone else changed this ticket while you were editing. Your changes were not saved."
        )
    assert reason in status.inner_text()
    assert "refused" in (bar.get_attribute("class") or "")
    after = box(bar)  # the bar is back where it was: same column and span
    assert (after["x"], after["width"]) == (where["x"], where["width"])
    assert server.call("tests.test_calendar_browser:dates_of", ticket) == moved
