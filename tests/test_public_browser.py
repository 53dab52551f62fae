"""A citizen reads the closure notice on a phone, in Chinese and then in English, and subscribes
(Playwright with the system Chromium, against a real `facilities serve` process)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.kit.browser import (
    SCREENSHOTS,
    Server,
    fits_the_screen,
    mails_to,
    pages_for,
    smtp_on_loopback,
    start_server,
)

pytestmark = pytest.mark.browser

#: The story happened a year before the tests' own clock, so the real clock finds the bridge
#: closed (the server reads the wall clock; nothing here can pin it).
SHIFT = -dt.timedelta(days=365)
CITIZEN = "citizen.browser@example.org"


async def seed_story(shift_seconds: float) -> int:
    """The public pages' landmark story (tests/kit/public_story.py), moved by the shift; its
    closure id."""
    from tests.kit.public_story import build_story

    story = await build_story(dt.timedelta(seconds=shift_seconds))
    return int(story.closure.id)


@pytest.fixture(scope="module")
def notice_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The story (no demo) served with e-mail going to a real SMTP server on loopback."""
    with (
        smtp_on_loopback() as smtp,
        start_server(
            tmp_path_factory.mktemp("public-browser"),
            demo=False,
            seed="tests.test_public_browser:seed_story",
            shift=SHIFT,
            smtp=smtp,
        ) as running,
    ):
        yield running


@pytest.fixture
def phone(notice_server: Server, browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    with pages_for(request, browser) as pages:
        yield pages.open("phone", "zh-CN")


def test_citizen_reads_the_notice_in_chinese_then_english_and_subscribes(notice_server, phone):
    base, closure_id = notice_server.url, notice_server.seeded
    page = phone
    page.goto(f"{base}/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert fits_the_screen(page)
    # the bridge is listed among the closures in force; the reader opens its notice
    page.locator(f"#holding-title ~ ul a[href='/notices/{closure_id}']").click()
    page.wait_for_url(f"{base}/notices/{closure_id}")
    assert page.locator("h1").inner_text() == "平湖公园景观悬索桥"
    expected = page.locator("p.expected").inner_text()
    assert "5月1日" in expected
    assert page.locator("text=请经公园北门环湖步道绕行。").is_visible()
    assert page.locator("ol.timeline li").count() == 3
    assert page.locator("text=湖面已布设两层滤网，防止材料落水。").is_visible()
    assert page.locator("link[rel=alternate][type='application/atom+xml']").count() >= 1
    assert fits_the_screen(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "public_notice_zh.png"), full_page=True)

    # the language switch keeps the reader on the notice
    page.click("a[hreflang='en']")
    page.wait_for_url(f"{base}/notices/{closure_id}")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Pinghu Park Landscape Suspension Bridge"
    # the shifted story's promise (1 May, a year back) has passed by the real clock: it says so
    assert (
        page.locator("p.expected").inner_text()
        == "Expected to reopen before 1 May; this date has passed."
    )
    assert page.locator(".revisions >> text=Expected to reopen before 15 April").is_visible()
    assert page.locator("dl.facts >> text=76.6 m").is_visible()
    assert page.locator(".progress-list >> text=New timber deck").is_visible()
    assert fits_the_screen(page)
    page.screenshot(path=str(SCREENSHOTS / "public_notice_en.png"), full_page=True)

    # subscribing to the bridge: the address is not shown back
    page.fill("#subscribe-email", CITIZEN)
    page.check("input[name=target][value^='asset:']")
    page.click("form.subscribe button[type=submit]")
    page.wait_for_url(f"{base}/subscriptions/requested")
    assert page.locator("h1").inner_text() == "Check your e-mail"
    assert CITIZEN not in page.content()

    # double opt-in: the outbox job delivers the confirmation to the real SMTP server, and
    # following its link confirms the subscription
    smtp = notice_server.smtp
    assert smtp is not None and not any(CITIZEN in m.rcpt_tos for m in smtp.messages)
    notice_server.run_job(
        "deliver_notifications", dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    )
    (mail,) = mails_to(smtp, CITIZEN)
    links = set(re.findall(rf"{re.escape(base)}/subscriptions/confirm/[A-Za-z0-9_-]+", mail))
    assert len(links) == 1, mail
    page.goto(links.pop())
    page.click("form[action^='/subscriptions/confirm/'] button[type=submit]")
    page.locator("h1", has_text="Subscription confirmed").wait_for()
    assert page.locator("h1").inner_text() == "Subscription confirmed"
    assert fits_the_screen(page)
    # the notice now has someone to tell: the confirmed subscriber counts for the fan-out
    assert notice_server.call("tests.test_public_browser:confirmed_subscribers", closure_id) == [
        CITIZEN
    ]


async def confirmed_subscribers(closure_id: int) -> list[str]:
    """Who would be told about this closure's next update (confirmed, not unsubscribed)."""
    from facilities.closures.tables import Closure, Subscription

    closure = await Closure.select(Closure.asset).where(Closure.id == closure_id).first()
    assert closure is not None
    rows = await Subscription.select(Subscription.email).where(
        (Subscription.asset == closure["asset"])
        & Subscription.confirmed_at.is_not_null()
        & Subscription.unsubscribed_at.is_null()
    )
    return [row["email"] for row in rows]


def csrf_cookie(page: Any) -> str:
    found = [c["value"] for c in page.context.cookies() if c["name"] == "csrftoken"]
    return found[0] if found else ""


@pytest.fixture
def desktop(notice_server: Server, browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    with pages_for(request, browser) as pages:
        yield pages


def test_a_form_on_a_shared_page_gets_the_readers_token_from_script(notice_server, desktop):
    """The notice is the same bytes for every reader (a shared cache may serve it), so its form
    carries no token; static/js/forms.js fetches one when the reader starts filling it in."""
    base, closure_id = notice_server.url, notice_server.seeded
    page = desktop.open("desktop", "zh-CN")
    page.goto(f"{base}/notices/{closure_id}")
    slot = page.locator("form.subscribe input[name=_csrf_token]")
    assert slot.input_value() == "" and csrf_cookie(page) == ""
    page.fill("#subscribe-email", "script.reader@example.org")
    with page.expect_request(
        lambda r: r.method == "POST" and r.url == f"{base}/subscriptions"
    ) as posted:
        page.click("form.subscribe button[type=submit]")
    page.wait_for_url(f"{base}/subscriptions/requested")
    token = csrf_cookie(page)
    assert token and f"_csrf_token={token}" in (posted.value.post_data or "")


def test_without_javascript_the_form_is_shown_once_more_with_a_token(notice_server, desktop):
    """No script to fetch a token: the server shows the form again, filled in, with the
    reader's token, and the second press subscribes."""
    base, closure_id = notice_server.url, notice_server.seeded
    page = desktop.open("desktop", "en", java_script_enabled=False)
    page.goto(f"{base}/notices/{closure_id}")
    page.fill("#subscribe-email", "no.script@example.org")
    page.check("input[name=target][value^='asset:']")
    page.click("form.subscribe button[type=submit]")
    page.wait_for_url(f"{base}/subscriptions")
    assert page.locator("[role=status]").inner_text() == (
        "Please press Subscribe once more to send your request."
    )
    assert page.locator("#subscribe-email").input_value() == "no.script@example.org"
    assert page.locator("input[name=target][value^='asset:']").is_checked()
    token = csrf_cookie(page)
    assert token and page.locator("input[name=_csrf_token]").input_value() == token
    page.click("form.subscribe button[type=submit]")
    page.wait_for_url(f"{base}/subscriptions/requested")
    assert page.locator("h1").inner_text() == "Check your e-mail"
