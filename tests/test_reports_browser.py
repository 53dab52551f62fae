"""A citizen reports a loose plank from a phone, in the system Chromium (Playwright), against a
real server process with the demo data: "near me" from the browser's location, the form, a
photo, the tracking page. The server fixture and flags are those of tests/test_browser.py."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, on_postgres
from tests.test_media import jpeg_with_metadata

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = ROOT / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
# Standing on the Pinghu lakeside boardwalk of the demo (GX-ZD-PH-001 at 26.8961, 112.5830).
ON_THE_BOARDWALK = {"latitude": 26.8962, "longitude": 112.5832, "accuracy": 10}


def _require_browser() -> None:
    if on_postgres():
        pytest.skip("browser journeys run once, on SQLite")
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing but REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is not installed")


@dataclasses.dataclass(frozen=True)
class Server:
    url: str
    media: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A migrated demo database and `facilities serve` on a free loopback port."""
    _require_browser()
    folder = tmp_path_factory.mktemp("browser-reports")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITIES_")}
    env.update(
        FACILITIES_DATABASE_URL=f"sqlite:///{folder}/browser.db",
        FACILITIES_MEDIA_DIR=str(folder / "media"),
        FACILITIES_SCHEDULER_EMBEDDED="false",
        FACILITIES_PORT=str(port),
        FACILITIES_LOG_LEVEL="WARNING",
    )
    cli = [sys.executable, "-m", "facilities.cli"]
    for command in (["migrate"], ["demo"]):
        subprocess.run(
            [*cli, *command], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120
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
        yield Server(base, folder / "media")
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def phone(server: Server, request: pytest.FixtureRequest) -> Iterator[object]:
    """A phone-sized page that may read its (simulated) location."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport=PHONE,
            device_scale_factor=3,
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
            geolocation=ON_THE_BOARDWALK,
            permissions=["geolocation"],
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        if getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
        browser.close()


def fits_the_screen(page: object) -> bool:
    width = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    return int(width) <= PHONE["width"]


def test_a_citizen_reports_a_loose_plank_from_a_phone(server, phone, tmp_path):
    page = phone
    base = server.url
    page.goto(f"{base}/report")
    assert fits_the_screen(page)
    # Near me: the page's script asks the browser where we are and lists what is close.
    page.click("#find-nearby")
    nearest = page.locator("#nearby-list li a").first
    nearest.wait_for()
    assert nearest.inner_text() == "平湖公园环湖木栈道"
    nearest.click()
    page.wait_for_url(re.compile(r".*/report\?asset=\d+&lat=26\.89\d+&lng=112\.58\d+$"))
    assert page.locator("#facility-name").inner_text() == "平湖公园环湖木栈道"
    assert fits_the_screen(page)

    photo = tmp_path / "IMG_2041.JPG"
    photo.write_bytes(jpeg_with_metadata((1200, 900)))
    page.select_option("#category", "deck_damage")
    page.fill(
        "#description",
        "东入口往里第三块木板松动，踩上去会翘起来。A loose plank near the east entrance.",
    )
    page.fill("#contact_email", "walker@example.org")
    page.set_input_files("#photos", str(photo))
    page.click("#submit-report")

    page.wait_for_url(re.compile(r".*/reports/[A-Za-z0-9_-]{20,}$"))
    reference = page.locator("#reference").inner_text()
    assert reference.isdigit()
    assert reference in page.locator(".flash").inner_text()
    token = page.url.rsplit("/", 1)[1]
    assert page.locator("#tracking-link").inner_text().endswith(f"/reports/{token}")
    assert "木板松动" in page.locator("#report-description").inner_text()
    assert fits_the_screen(page)

    # What an Open311 client now reads about it: where it was, no contact, the photo cleaned.
    (item,) = httpx.get(f"{base}/open311/v2/requests/{reference}.json", timeout=5).json()
    assert (item["service_code"], item["status"]) == ("deck_damage", "open")
    assert round(item["lat"], 4) == 26.8962 and round(item["long"], 4) == 112.5832
    assert "walker@example.org" not in str(item)
    (stored,) = [
        p for p in (server.media / "reports").iterdir() if not p.name.endswith(".thumb.jpg")
    ]
    raw = stored.read_bytes()
    assert raw.startswith(b"\xff\xd8") and b"Exif" not in raw and b"PhoneMaker" not in raw
