"""A citizen double-taps the report form's submit button, or goes back and sends it again, in the
system Chromium against a real server process: one report is made. The page's script ignores a
second tap; a form sent again carries the same one-time submission key, and the server
(facilities/accounts/submissions.py) answers it with the first report's tracking page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.kit.browser import Pages, Server, pages_for, start_server

pytestmark = pytest.mark.browser


async def seed(shift_seconds: float) -> dict[str, int]:
    """The Pinghu boardwalk alone (run in the server's set-up process)."""
    from tests.kit.assets import make_site
    from tests.kit.reports import make_boardwalk

    boardwalk = await make_boardwalk(site=await make_site("平湖公园"))
    return {"boardwalk": boardwalk.id}


async def reports_saying(text: str) -> int:
    """How many reports hold ``text`` (run against the server's database)."""
    from facilities.reports.tables import ServiceRequest

    return await ServiceRequest.count().where(ServiceRequest.description.like(f"%{text}%"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with start_server(
        tmp_path_factory.mktemp("browser-submissions"),
        demo=False,
        seed="tests.test_submissions_browser:seed",
    ) as running:
        yield running


@pytest.fixture
def pages(server: Server, browser: Any, request: pytest.FixtureRequest) -> Iterator[Pages]:
    with pages_for(request, browser) as opened:
        yield opened


def test_a_double_tap_on_submit_makes_one_report(server, pages):
    """The page's script ignores the second tap (and disables the button); the server would
    answer a second POST with the first's report anyway (the back-button test below)."""
    words = "双击测试"
    page = pages.open("phone", "zh-CN")
    page.goto(f"{server.url}/report?asset={server.seeded['boardwalk']}")
    assert page.locator("script[src='/static/js/forms.js']").count() == 1
    page.select_option("#category", "deck_damage")
    page.fill("#description", f"东入口木板松动，{words}")

    page.locator("#submit-report").dblclick()

    page.wait_for_url(re.compile(r".*/reports/[A-Za-z0-9_-]{20,}$"))
    assert words in page.locator("#report-description").inner_text()
    assert server.call("tests.test_submissions_browser:reports_saying", words) == 1


def test_going_back_and_sending_the_form_again_makes_no_second_report(server, pages):
    """The back button shows the form as it was sent, key and all; sending it again answers
    with the first report's tracking page."""
    words = "返回重发测试"
    page = pages.open("phone", "zh-CN")
    page.goto(f"{server.url}/report?asset={server.seeded['boardwalk']}")
    page.select_option("#category", "deck_damage")
    page.fill("#description", f"东入口木板松动，{words}")
    page.click("#submit-report")
    page.wait_for_url(re.compile(r".*/reports/[A-Za-z0-9_-]{20,}$"))
    tracking = page.url

    page.go_back()
    page.wait_for_url(re.compile(r".*/report\?asset=\d+$"))
    assert words in page.locator("#description").input_value()
    page.click("#submit-report")
    page.wait_for_url(re.compile(r".*/reports/[A-Za-z0-9_-]{20,}$"))

    assert page.url == tracking
    assert server.call("tests.test_submissions_browser:reports_saying", words) == 1
