"""The ticket board in the system Chromium: a card dragged (native HTML5 drag and drop) to a
column its ticket may move to lands there, the ticket's status changes on the server and the
counts follow; a drag the server refuses puts the card back and says why in the live region; a
move that needs a reason asks for it in a dialog; and every column can be reached, by its jump
link and by scrolling, on a 1366x768 screen and on a phone (390x844)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from facilities.i18n import gettext, use_locale
from facilities.tickets.choices import BOARD_COLUMNS, Status
from tests.kit.browser import (
    PHONE,
    Pages,
    Server,
    fits_the_screen,
    log_in,
    pages_for,
    start_server,
)

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}


async def seed_board(shift_seconds: float) -> dict[str, int]:
    """Three P0 tickets (shown first in their columns) on a demo asset: two new, one in
    progress."""
    from facilities.assets.tables import Asset
    from facilities.demo_story import staff_actor
    from facilities.lib.clock import utcnow
    from facilities.tickets import services as tickets
    from facilities.tickets.choices import Priority
    from facilities.tickets.schemas import TicketIn
    from tests.kit.tickets import drive_to

    alice = await staff_actor("alice")
    now = utcnow() + dt.timedelta(seconds=shift_seconds)  # the server's clock
    asset = await Asset.select(Asset.id).order_by(Asset.id).first()
    assert asset is not None

    async def opened(title: str) -> int:
        ticket = await tickets.open_ticket(
            alice, TicketIn(asset_id=asset["id"], title=title, priority=Priority.P0), now
        )
        return int(ticket.id)

    ids = {
        "triage_me": await opened("看板：待分诊 drag to triage"),
        "stuck": await opened("看板：不能直接开工 cannot start from new"),
        "hold_me": await opened("看板：待暂停 put on hold"),
    }
    await drive_to(ids["hold_me"], Status.IN_PROGRESS, alice, now)
    return ids


async def status_of(ticket_id: int) -> str:
    from facilities.tickets.tables import RepairTicket

    row = await RepairTicket.select(RepairTicket.status).where(RepairTicket.id == ticket_id).first()
    assert row is not None
    return str(row["status"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with start_server(
        tmp_path_factory.mktemp("board"), seed="tests.test_board_browser:seed_board"
    ) as running:
        yield running


@pytest.fixture
def pages(server: Server, browser: Any, request: pytest.FixtureRequest) -> Iterator[Pages]:
    with pages_for(request, browser) as opened:
        yield opened


def count_of(page: Any, status: str) -> int:
    return int(page.locator(f'.board-head[data-column="{status}"] .board-count').inner_text())


def card(page: Any, ticket_id: int) -> Any:
    return page.locator(f"#card-{ticket_id}")


def cell(page: Any, status: str) -> Any:
    return page.locator(f'.board-cell[data-column="{status}"]')


def drag(page: Any, ticket_id: int, status: str) -> None:
    """Drag the card by its top edge (not its "Move to…" select) onto the column ``status``."""
    card(page, ticket_id).drag_to(cell(page, status), source_position={"x": 4, "y": 4})


def in_chinese(message: str, **values: Any) -> str:
    with use_locale("zh_CN"):
        text = gettext(message)
        labels = {k: (v.label if isinstance(v, Status) else v) for k, v in values.items()}
        return text % labels if labels else text


def open_board(pages: Pages, server: Server, phone: bool = False) -> Any:
    """The board as alice sees it on a 1366x768 screen (or a phone's 390x844)."""
    page = pages.open("phone" if phone else "desktop", "zh-CN")
    if not phone:
        page.set_viewport_size(LAPTOP)
    log_in(page, server.url, "alice")
    page.goto(f"{server.url}/tickets/board")
    return page


def test_an_allowed_drag_moves_the_ticket(server, pages):
    from playwright.sync_api import expect

    ticket = server.seeded["triage_me"]
    page = open_board(pages, server)
    new_before, triaged_before = count_of(page, "new"), count_of(page, "triaged")

    drag(page, ticket, "triaged")

    landed = page.locator(f'.board-cell[data-column="triaged"] #card-{ticket}')
    expect(landed).to_be_visible()
    expect(landed).not_to_have_class("moving")
    expect(landed).to_have_attribute("data-status", "triaged")
    expect(page.locator("#board-live")).to_have_class("board-live flash flash-success")
    assert server.call("tests.test_board_browser:status_of", ticket) == "triaged"
    assert count_of(page, "new") == new_before - 1
    assert count_of(page, "triaged") == triaged_before + 1
    jump = page.locator('.board-jump .board-count[data-count="triaged"]')
    assert jump.inner_text() == str(triaged_before + 1)
    # the card's "Move to…" now offers the moves from its new status
    options = card(page, ticket).locator("select option").all()
    assert {o.get_attribute("value") for o in options} == {
        "",
        "scheduled",
        "in_progress",
        "on_hold",
    }

    page.reload()  # the server agrees
    expect(page.locator(f'.board-cell[data-column="triaged"] #card-{ticket}')).to_be_visible()


def test_a_refused_drag_puts_the_card_back_and_says_why(server, pages):
    from playwright.sync_api import expect

    ticket = server.seeded["stuck"]
    page = open_board(pages, server)
    before = count_of(page, "in_progress")

    drag(page, ticket, "in_progress")

    live = page.locator("#board-live")
    expect(live).to_have_class("board-live flash flash-error")
    expect(live).to_have_text(
        in_chinese(
            "A ticket cannot move from “%(from)s” to “%(to)s”.",
            **{"from": Status.NEW, "to": Status.IN_PROGRESS},
        )
    )
    back = page.locator(f'.board-cell[data-column="new"] #card-{ticket}')
    expect(back).to_be_visible()
    expect(back).not_to_have_class("moving")
    assert server.call("tests.test_board_browser:status_of", ticket) == "new"
    assert count_of(page, "in_progress") == before


def test_a_move_that_needs_a_reason_asks_for_it(server, pages):
    from playwright.sync_api import expect

    ticket = server.seeded["hold_me"]
    page = open_board(pages, server)

    drag(page, ticket, "on_hold")

    dialog = page.locator("#board-dialog")
    expect(dialog).to_be_visible()
    # cancelled: nothing happens, the card stays
    dialog.locator("[data-close]").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(f'.board-cell[data-column="in_progress"] #card-{ticket}')).to_be_visible()

    # the keyboard's way: the card's own "Move to…" form, then the reason
    card(page, ticket).locator("select").select_option("on_hold")
    card(page, ticket).locator("button[type=submit]").click()
    expect(dialog).to_be_visible()
    page.fill("#board-note", "等待钢索到货 waiting for the cable")
    dialog.locator("button[value=send]").click()

    expect(page.locator(f'.board-cell[data-column="on_hold"] #card-{ticket}')).to_be_visible()
    assert server.call("tests.test_board_browser:status_of", ticket) == "on_hold"


@pytest.mark.parametrize("phone", [False, True], ids=["1366x768", "390x844"])
def test_every_column_is_reachable(server, pages, phone):
    from playwright.sync_api import expect

    page = open_board(pages, server, phone)
    width = PHONE["width"] if phone else LAPTOP["width"]

    assert fits_the_screen(page)  # the board scrolls in its own frame, not the page
    frame = page.locator("#board")
    expect(frame).to_have_class("board-frame more-right")  # the cue: more columns to the right
    for status in BOARD_COLUMNS:
        page.locator(f'.board-jump a[href="#col-{status}"]').click()
        head = page.locator(f"#col-{status}")
        expect(head).to_be_in_viewport(ratio=0.9)
        box = head.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, status
    expect(frame).to_have_class("board-frame more-left")  # the last column: nothing further right

    # scrolling by hand reaches them too: back to the first column, then each in turn
    scroller = page.locator(".board-scroll")
    scroller.evaluate("s => { s.scrollLeft = 0; }")
    for status in BOARD_COLUMNS:
        page.locator(f"#col-{status}").scroll_into_view_if_needed()
        expect(page.locator(f"#col-{status}")).to_be_in_viewport(ratio=0.9)
