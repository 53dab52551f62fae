"""Browser journeys in the system Chromium (Playwright), against a real server process.

Skipped when /usr/bin/chromium is missing, unless REQUIRE_BROWSER=1 (as in .ci/run), which turns
the skip into a failure so CI can never pass without having run them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from facilities.demo import DEMO_PASSWORD
from tests.conftest import free_port, on_postgres

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = ROOT / "var" / "screenshots"


def _require_browser() -> None:
    if on_postgres():
        pytest.skip("browser journeys run once, on SQLite")
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing but REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated demo database and `facilities serve` on a free loopback port."""
    _require_browser()
    folder = tmp_path_factory.mktemp("browser")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITIES_")}
    env.update(
        FACILITIES_DATABASE_URL=f"sqlite:///{folder}/browser.db",
        FACILITIES_SCHEDULER_EMBEDDED="false",
        FACILITIES_PORT=str(port),
        FACILITIES_LOG_LEVEL="WARNING",
    )
    cli = [sys.executable, "-m", "facilities.cli"]
    for command in (["migrate"], ["demo"]):
        subprocess.run(
            cli + command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120
        )
    process = subprocess.Popen(
        [*cli, "serve"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("the server did not start")
        time.sleep(0.1)  # waiting for a process to listen, not for time to pass in a rule
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def page(server: str, request: pytest.FixtureRequest) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        if getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
        browser.close()


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
