"""A citizen reads the closure notice on a phone, in Chinese and then in English, and subscribes
(Playwright with the system Chromium, against a real `facilities serve` process)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, _require_browser

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
#: The story happened a year before the tests' own clock, so the real clock finds the bridge
#: closed (the server reads the wall clock; nothing here can pin it).
SHIFT = -dt.timedelta(days=365)
PHONE = {"width": 390, "height": 844}


async def _seed(url: str) -> None:
    from facilities import db
    from tests.test_public_pages import build_story

    db.configure(url)
    story = await build_story(SHIFT)
    print(story.closure.id)


def seed_main() -> None:  # pragma: no cover - run in a subprocess
    asyncio.run(_seed(os.environ["FACILITIES_DATABASE_URL"]))


@pytest.fixture(scope="module")
def notice_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A migrated database with the story, and `facilities serve` on a free loopback port."""
    _require_browser()
    folder = tmp_path_factory.mktemp("public-browser")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITIES_")}
    env.update(
        FACILITIES_DATABASE_URL=f"sqlite:///{folder}/public.db",
        FACILITIES_SCHEDULER_EMBEDDED="false",
        FACILITIES_PORT=str(port),
        FACILITIES_LOG_LEVEL="WARNING",
    )
    cli = [sys.executable, "-m", "facilities.cli"]
    subprocess.run(
        [*cli, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120
    )
    seeded = subprocess.run(
        [sys.executable, "-c", "from tests.test_public_browser import seed_main; seed_main()"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    closure_id = int(seeded.stdout.strip().splitlines()[-1])
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
        yield base, closure_id
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def phone(notice_server: tuple[str, int], request: pytest.FixtureRequest) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        if getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
        browser.close()


def _fits_the_screen(page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_citizen_reads_the_notice_in_chinese_then_english_and_subscribes(notice_server, phone):
    base, closure_id = notice_server
    page = phone
    page.goto(f"{base}/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert _fits_the_screen(page)
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
    assert _fits_the_screen(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "public_notice_zh.png"), full_page=True)

    # the language switch keeps the reader on the notice
    page.click("a[hreflang='en']")
    page.wait_for_url(f"{base}/notices/{closure_id}")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Pinghu Park Landscape Suspension Bridge"
    assert page.locator("p.expected").inner_text() == "Expected to reopen before 1 May"
    assert page.locator(".revisions >> text=Expected to reopen before 15 April").is_visible()
    assert page.locator("dl.facts >> text=76.6 m").is_visible()
    assert page.locator(".progress-list >> text=New timber deck").is_visible()
    assert _fits_the_screen(page)
    page.screenshot(path=str(SCREENSHOTS / "public_notice_en.png"), full_page=True)

    # subscribing to the bridge: the address is not shown back
    page.fill("#subscribe-email", "citizen.browser@example.org")
    page.check("input[name=target][value^='asset:']")
    page.click("form.subscribe button[type=submit]")
    page.wait_for_url(f"{base}/subscriptions/requested")
    assert page.locator("h1").inner_text() == "Check your e-mail"
    assert "citizen.browser@example.org" not in page.content()
