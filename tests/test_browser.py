"""Browser journeys in the system Chromium (Playwright), against a real server process (the
server and page machinery is tests/kit/browser.py; the ``server`` and ``page`` fixtures are in
tests/conftest.py).

Skipped when /usr/bin/chromium is missing, unless REQUIRE_BROWSER=1 (as in .ci/run), which turns
the skip into a failure so CI can never pass without having run them.
"""

from __future__ import annotations

import pytest

from facilities.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_log_in_create_an_asset_see_it_listed_and_switch_language(server, page):
    page.goto(f"{server}/assets")
    assert "/login" in page.url  # staff pages need a login
    page.fill("#username", "alice")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/assets")
    assert page.locator("text=GX-QL-PH-001").count() == 1

    page.click("a[href='/assets/new']")
    page.fill("#code", "GX-QL-PH-009")
    page.fill("#name_zh", "平湖公园北侧人行桥")
    page.fill("#name_en", "Pinghu North Footbridge")
    page.select_option("#site_id", label="平湖公园")
    page.fill("#length_m", "abc")  # a mistake first: the form must keep everything typed
    page.click("form.card button[type=submit]")
    assert page.locator("#length_m-error").is_visible()
    assert page.input_value("#name_zh") == "平湖公园北侧人行桥"
    page.fill("#length_m", "18.5")
    page.click("form.card button[type=submit]")
    page.wait_for_url(f"{server}/assets/*")
    assert page.locator("h1").inner_text() == "平湖公园北侧人行桥"

    page.goto(f"{server}/assets?q=PH-009")
    assert page.locator("table.table tbody tr").count() == 1
    assert page.locator("text=GX-QL-PH-009").count() == 1

    page.click("a[hreflang='en']")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Assets"
    assert page.locator("text=Pinghu North Footbridge").count() == 1
