"""A citizen reports a loose plank from a phone, in the system Chromium (Playwright), against a
real server process with the demo data: "near me" from the browser's location, the form, a
photo, the tracking page. The server machinery and flags are those of tests/kit/browser.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from facilities.i18n import use_locale
from tests.kit.browser import PHONE, Pages, Server, log_in, pages_for, start_server
from tests.kit.media import jpeg_with_metadata

pytestmark = pytest.mark.browser

# Standing on the Pinghu lakeside boardwalk of the demo (GX-ZD-PH-001 at 26.8961, 112.5830).
ON_THE_BOARDWALK = {"latitude": 26.8962, "longitude": 112.5832, "accuracy": 10}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo database served by `facilities serve` on a free loopback port."""
    with start_server(tmp_path_factory.mktemp("browser-reports")) as running:
        yield running


@pytest.fixture
def pages(server: Server, browser: Any, request: pytest.FixtureRequest) -> Iterator[Pages]:
    with pages_for(request, browser) as opened:
        yield opened


@pytest.fixture
def phone(pages: Pages) -> Any:
    """A phone-sized page that may read its (simulated) location."""
    return pages.open(
        "phone",
        "zh-CN",
        device_scale_factor=3,
        geolocation=ON_THE_BOARDWALK,
        permissions=["geolocation"],
    )


def fits_the_screen(page: Any) -> bool:
    width = page.evaluate("document.documentElement.scrollWidth")
    return int(width) <= PHONE["width"]


def test_a_citizen_reports_a_loose_plank_from_a_phone_and_tracks_it(server, pages, phone, tmp_path):
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

    # Staff triage it into a repair ticket and start the work; the citizen's tracking link
    # follows each step.
    from facilities.reports.choices import Stage
    from facilities.tickets.choices import Action

    def stage(value: Stage) -> str:
        with use_locale("zh_CN"):
            return str(value.label)

    assert stage(Stage.RECEIVED) in page.locator("#report-status").inner_text()
    tracking = page.url
    staff = pages.open("desktop")
    log_in(staff, base, "alice")
    staff.goto(f"{base}/triage/{reference}")
    staff.fill("#convert-form #title", "栈道东入口木板松动 Loose plank at the east entrance")
    staff.locator("#convert-form button[type=submit]").click()
    staff.wait_for_load_state()
    staff.goto(f"{base}/triage/{reference}")
    ticket = staff.locator(".page-head a[href^='/tickets/']")
    assert ticket.count() == 1
    page.goto(tracking)
    assert stage(Stage.INVESTIGATING) in page.locator("#report-status").inner_text()

    ticket.click()
    staff.wait_for_url(re.compile(r".*/tickets/\d+$"))
    assert "Loose plank at the east entrance" in staff.locator("h1").inner_text()
    for action in (Action.TRIAGE, Action.START):
        form = staff.locator(f'form.action-form:has(input[name="action"][value="{action}"])')
        form.locator("button").click()
        staff.wait_for_load_state()
    page.reload()
    assert stage(Stage.IN_PROGRESS) in page.locator("#report-status").inner_text()
    assert fits_the_screen(page)
