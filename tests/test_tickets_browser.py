"""A repair ticket from new to closed in the system Chromium, the way a supervisor works it."""

from __future__ import annotations

import pytest

from facilities.i18n import use_locale
from facilities.tickets.choices import ClosingReason, Status
from tests.kit.browser import log_in

pytestmark = pytest.mark.browser


def act(page, action: str, **fields: str) -> None:
    form = page.locator(f'form.action-form:has(input[name="action"][value="{action}"])')
    for name, value in fields.items():
        target = form.locator(f'[name="{name}"]')
        if target.evaluate("e => e.tagName") == "SELECT":
            target.select_option(value)
        else:
            target.fill(value)
    form.locator("button").click()
    page.wait_for_load_state()


def test_a_ticket_goes_from_new_to_closed(server, page):
    log_in(page, server, "alice")

    page.goto(f"{server}/tickets/new")
    page.select_option("#asset_id", label="GX-YL-PH-001 平湖公园儿童游乐场")
    page.fill("#title", "滑梯扶手松动 Loose slide handrail")
    page.select_option("#priority", "P2")
    page.click("form.card button[type=submit]")
    page.wait_for_url(f"{server}/tickets/*")
    ticket_url = page.url

    act(page, "triage")
    act(page, "schedule", planned_start_on="2027-01-05")
    act(page, "start")
    act(page, "complete", note="已紧固扶手螺栓 Handrail bolts tightened; no after photo")
    # she completed the work herself: someone else accepts it (FACILITIES_SEPARATE_ACCEPTANCE),
    # and the page says why there is no accept button for her
    accept = page.locator('form.action-form:has(input[name="action"][value="accept"])')
    assert accept.count() == 0
    assert page.locator("#accept-why").count() == 1
    page.context.clear_cookies()  # alice leaves; the administrator accepts
    log_in(page, server, "admin")
    page.goto(ticket_url)
    act(page, "accept")
    act(page, "close", closing_reason="repaired")

    assert page.url.startswith(ticket_url)
    with use_locale("zh_CN"):
        closed, repaired = Status.CLOSED.label, ClosingReason.REPAIRED.label
    badges = page.locator(".page-head .badge").all_inner_texts()
    assert closed in badges
    assert repaired in badges
    assert page.locator("form.action-form").count() == 0  # nothing left to do
    timeline = page.locator("#timeline").inner_text()
    assert "Handrail bolts tightened" in timeline
