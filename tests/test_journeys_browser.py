"""Staff journeys end to end in the system Chromium (Playwright), against one real
`facilities serve` process with the demo story, a real SMTP server on loopback, and the
scheduler's jobs run by hand (`python -m scheduler run <job> --now ...`) as an operator would:

- an inspector on a phone fails a checklist item, records a finding with a photo and submits;
  the supervisor finalises and a repair ticket opens by itself, photo carried over;
- the crew works an assigned ticket from "my work" on a phone, with a comment and a photo;
  the supervisor verifies it;
- the supervisor passes the Pinghu bridge's reopening gate (shut while the repair is unverified,
  even to a forced POST), lifts the closure, and the announcement reaches the public notice in
  both languages and a confirmed subscriber's mailbox;
- the admin creates, edits and deactivates a user, and creates and revokes an API token.

Each step under test goes through the pages; only the starting state is seeded with services.
The server reads the wall clock, and the demo is loaded relative to it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from facilities.i18n import gettext, use_locale
from tests.kit.browser import (
    Pages,
    Server,
    chromium,
    fits_the_screen,
    log_in,
    mails_to,
    pages_for,
    smtp_on_loopback,
    start_server,
)

pytestmark = pytest.mark.browser

SUBSCRIBER = "lakeside.walker@example.org"


# --- the starting state (run in a subprocess against the server's database) ---------------


async def seed_journeys(shift_seconds: float) -> dict[str, Any]:
    """After the demo: a patrol of the lakeside boardwalk planned for bob today, and a citizen
    who confirmed a subscription to the Pinghu bridge's notices."""
    from facilities.assets import services as assets
    from facilities.closures import services as closures
    from facilities.closures.schemas import SubscribeIn
    from facilities.closures.tables import Closure, Subscription
    from facilities.demo import PINGHU_BRIDGE
    from facilities.demo_story import staff_actor
    from facilities.inspections import services as inspections
    from facilities.inspections.choices import InspectionType, Trigger
    from facilities.inspections.schemas import InspectionIn
    from facilities.inspections.tables import ChecklistTemplate
    from facilities.lib.clock import utcnow
    from facilities.settings import Settings

    settings = Settings.from_env()
    now = utcnow() + dt.timedelta(seconds=shift_seconds)
    bob, alice = await staff_actor("bob"), await staff_actor("alice")
    boardwalk = await assets.find_asset_by_code("GX-ZD-PH-001")
    bridge = await assets.find_asset_by_code(PINGHU_BRIDGE)
    assert boardwalk is not None and bridge is not None
    patrol_list = (
        await ChecklistTemplate.select(ChecklistTemplate.id)
        .where(ChecklistTemplate.code == "patrol")
        .first()
    )
    assert patrol_list is not None
    planned = await inspections.create_inspection(
        alice,
        InspectionIn(
            asset_id=boardwalk.id,
            inspection_type=InspectionType.PATROL,
            trigger=Trigger.EVENT,
            due_on=now.astimezone(settings.zone).date(),
            inspector_id=bob.id,
            checklist_id=patrol_list["id"],
        ),
        settings.zone,
        now,
    )
    await closures.subscribe(SubscribeIn(email=SUBSCRIBER, asset_id=bridge.id), "zh_CN", now)
    token = (
        await Subscription.select(Subscription.token)
        .where(Subscription.email == SUBSCRIBER)
        .first()
    )
    assert token is not None
    assert await closures.confirm_subscription(token["token"], now)
    closure = await Closure.select(Closure.id).where(Closure.asset == bridge.id).first()
    assert closure is not None
    return {"inspection": planned.id, "closure": closure["id"], "boardwalk": boardwalk.id}


async def verify_pinghu_repair(closure_id: int) -> dict[str, Any]:
    """What the gate waits for, done through the services: both linked repair tickets completed
    by the crew and accepted by the supervisor, and a passed final acceptance inspection."""
    from facilities.closures import services as closures
    from facilities.demo_story import _inspect, staff_actor
    from facilities.inspections.choices import InspectionType, Trigger
    from facilities.lib.clock import utcnow
    from facilities.settings import Settings
    from facilities.tickets import services as tickets
    from facilities.tickets.choices import Action
    from facilities.tickets.schemas import TransitionIn
    from facilities.tickets.tables import RepairTicket

    settings = Settings.from_env()
    now = utcnow()
    carol, alice = await staff_actor("carol"), await staff_actor("alice")
    closure = await closures.get_closure(alice, closure_id)
    for linked in await closures.linked_tickets(closure_id):
        for actor, action, note in (
            (carol, Action.COMPLETE, "全部完工 All work done"),
            (alice, Action.ACCEPT, ""),
        ):
            row = await RepairTicket.objects().where(RepairTicket.id == linked["ticket"]).first()
            assert row is not None
            await tickets.transition(
                actor, row.id, TransitionIn(action=action, version=row.version, note=note), now
            )
    accepted = await _inspect(
        closure.asset,
        InspectionType.ACCEPTANCE,
        Trigger.POST_REPAIR,
        now - dt.timedelta(minutes=5),
        {"deck_system": 92, "superstructure": 90, "substructure": 91, "ancillary": 90},
        [],
        "桥面板全部更换，主缆保养完成，验收合格。 Deck replaced, cables serviced: accepted.",
        settings.zone,
        settings.media_path,
    )
    return {"acceptance": accepted.id, "grade": accepted.grade, "passed": accepted.passed}


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with (
        smtp_on_loopback() as smtp,
        start_server(
            tmp_path_factory.mktemp("journeys"),
            seed="tests.test_journeys_browser:seed_journeys",
            smtp=smtp,
        ) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Any]:
    with chromium() as running:
        yield running


@pytest.fixture
def pages(browser: Any, request: pytest.FixtureRequest) -> Iterator[Pages]:
    with pages_for(request, browser) as opened:
        yield opened


def photo_file(folder: Path, name: str, colour: str) -> Path:
    """A phone-camera-sized JPEG, made with Pillow."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1600, 1200), colour).save(buffer, format="JPEG", quality=80)
    path = folder / name
    path.write_bytes(buffer.getvalue())
    return path


def zh(message: Any) -> str:
    with use_locale("zh_CN"):
        return str(message.label) if hasattr(message, "label") else gettext(message)


def image_loaded(page: Any, selector: str) -> bool:
    """The <img> is shown with real pixels (its thumbnail was served and decoded); lazy images
    load once scrolled into view, so this waits for that (up to the page timeout)."""
    image = page.locator(selector).first
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    return bool(image.evaluate("img => img.naturalWidth > 0"))


def press(page: Any, form_selector: str) -> None:
    page.locator(form_selector).locator("button[type=submit]").first.click()
    page.wait_for_load_state()


# --- journeys ------------------------------------------------------------------------------


def test_inspector_fails_a_check_on_a_phone_and_a_ticket_opens_with_the_photo(
    server, pages, tmp_path
):
    from facilities.inspections.choices import FindingStatus, State
    from facilities.tickets.choices import Source

    base, inspection_id = server.url, server.seeded["inspection"]
    phone = pages.open("phone")
    log_in(phone, base, "bob")
    phone.goto(f"{base}/inspections?mine=true")
    row = phone.locator("table.inspections-list tbody tr", has_text="GX-ZD-PH-001")
    assert row.count() == 1
    assert fits_the_screen(phone)
    row.locator(f"a[href='/inspections/{inspection_id}']").first.click()
    phone.wait_for_url(f"{base}/inspections/{inspection_id}")
    press(phone, f"form[action='/inspections/{inspection_id}/start']")
    assert zh(State.IN_PROGRESS) in phone.locator(".page-head").first.inner_text()

    # the checklist: everything fine but the railing, with a note
    for item in phone.locator("fieldset.check-item").all():
        key = item.locator("input[type=radio]").first.get_attribute("name")
        answer = "not_ok" if key == "answer__railing" else "ok"
        item.locator(f"input[value='{answer}']").check()
    phone.fill("#note__railing", "东段第12根立柱松动 Post 12 on the east section is loose")
    phone.fill("#summary", "栏杆一处松动，其余正常。 One loose railing post; the rest is fine.")
    phone.select_option("#recommendation", "none")  # issue 16: no default, chosen by hand
    phone.locator("#record-form button[type=submit]:not([name])").click()
    phone.wait_for_url(f"{base}/inspections/{inspection_id}")
    assert phone.locator("input[name=answer__railing][value=not_ok]").is_checked()
    assert "Post 12" in phone.input_value("#note__railing")

    # a finding for the loose post, with the photo taken on the spot
    form = phone.locator("form.finding-form")
    form.locator("[name=defect_type]").select_option("loose_fastener")
    form.locator("[name=severity]").select_option("moderate")
    form.locator("[name=urgency]").select_option("short")
    form.locator("[name=description]").fill(
        "东段第12根栏杆立柱底座螺栓松动。 Base bolts of post 12 loose."
    )
    form.locator("#finding-file").set_input_files(
        str(photo_file(tmp_path, "IMG_0412.JPG", "sienna"))
    )
    form.locator("[name=caption]").fill("12号立柱 Post 12")
    form.locator("button[type=submit]").click()
    phone.wait_for_url(re.compile(rf".*/inspections/{inspection_id}(#findings)?$"))
    finding = phone.locator("article.finding").first
    assert "Base bolts of post 12" in finding.inner_text()
    assert image_loaded(phone, "article.finding img")
    assert fits_the_screen(phone)

    press(phone, f"form[action='/inspections/{inspection_id}/submit']")
    assert zh(State.SUBMITTED) in phone.locator(".page-head").first.inner_text()
    assert phone.locator(f"form[action='/inspections/{inspection_id}/finalise']").count() == 0

    # the supervisor reviews and finalises; the urgent finding and the failed item open tickets
    desk = pages.open("desktop")
    log_in(desk, base, "alice")
    desk.goto(f"{base}/inspections/{inspection_id}")
    press(desk, f"form[action='/inspections/{inspection_id}/finalise']")
    assert zh(State.FINAL) in desk.locator(".page-head").first.inner_text()
    finding = desk.locator("article.finding").first
    assert zh(FindingStatus.TICKETED) in finding.inner_text()
    ticket_link = finding.locator("a[href^='/tickets/']")
    ticket_href = ticket_link.get_attribute("href")
    assert ticket_href and re.fullmatch(r"/tickets/\d+", ticket_href)
    ticket_link.click()
    desk.wait_for_url(f"{base}{ticket_href}")
    assert "Base bolts of post 12" in desk.locator("h1").inner_text()
    assert zh(Source.INSPECTION) in desk.locator("dl.facts").first.inner_text()
    gallery = desk.locator("#photos .gallery li")
    assert gallery.count() == 1 and "Post 12" in gallery.inner_text()
    assert image_loaded(desk, "#photos .gallery img")

    # both are in the tickets list: the finding's and the failed railing check's
    desk.goto(f"{base}/tickets?asset={server.seeded['boardwalk']}")
    listed = desk.locator("main").inner_text()
    assert "Base bolts of post 12" in listed
    failed_check = desk.locator("main a", has_text="栏杆扶手牢固")
    assert failed_check.count() == 1
    failed_check.click()
    desk.wait_for_load_state()
    assert "Post 12 on the east section is loose" in desk.locator("main").inner_text()


def test_crew_completes_work_with_a_photo_on_a_phone_and_the_supervisor_verifies(
    server, pages, tmp_path
):
    from facilities.tickets.choices import Action, PhotoTag, Status

    base = server.url
    phone = pages.open("phone")
    log_in(phone, base, "carol")
    phone.goto(f"{base}/tickets/mine")
    assert fits_the_screen(phone)
    job = phone.locator("main a", has_text="Worn swing chains")
    assert job.count() == 1
    job.click()
    phone.wait_for_url(re.compile(r".*/tickets/\d+$"))
    ticket_url = phone.url
    assert zh(Status.SCHEDULED) in phone.locator(".page-head").first.inner_text()

    def act(page: Any, action: Action, note: str = "") -> None:
        form = page.locator(f'form.action-form:has(input[name="action"][value="{action}"])')
        if note:
            form.locator("textarea[name=note]").fill(note)
        form.locator("button").click()
        page.wait_for_load_state()

    act(phone, Action.START)
    assert zh(Status.IN_PROGRESS) in phone.locator(".page-head").first.inner_text()
    comment = "已更换两侧秋千吊链。 Both swing chains replaced with new ones."
    phone.fill("#body", comment)
    phone.locator("form[action$='/comments'] button[type=submit]").click()
    phone.wait_for_load_state()
    assert comment in phone.locator("#timeline").inner_text()

    upload = phone.locator("form[action$='/attachments']")
    assert upload.locator("[name=tag]").input_value() == PhotoTag.AFTER
    upload.locator("#file").set_input_files(str(photo_file(tmp_path, "IMG_0413.JPG", "teal")))
    upload.locator("[name=caption]").fill("完工后 After")
    upload.locator("button[type=submit]").click()
    phone.wait_for_load_state()
    assert image_loaded(phone, "#photos .gallery img")
    act(phone, Action.COMPLETE)  # the after photo stands in for a note
    assert zh(Status.WORK_COMPLETE) in phone.locator(".page-head").first.inner_text()
    assert phone.locator("form.action-form").count() == 0  # verifying is not the crew's job
    assert fits_the_screen(phone)

    desk = pages.open("desktop")
    log_in(desk, base, "alice")
    desk.goto(ticket_url)
    act(desk, Action.ACCEPT)
    assert zh(Status.ACCEPTED) in desk.locator(".page-head").first.inner_text()
    timeline = desk.locator("#timeline").inner_text()
    assert comment in timeline
    for status in (Status.IN_PROGRESS, Status.WORK_COMPLETE, Status.ACCEPTED):
        assert zh(status) in timeline
    gallery = desk.locator("#photos .gallery li")
    assert gallery.count() == 1
    assert zh(PhotoTag.AFTER) in gallery.inner_text()
    assert image_loaded(desk, "#photos .gallery img")
    thumbnail = desk.locator("#photos .gallery img").get_attribute("src")
    served = desk.request.get(f"{base}{thumbnail}")
    assert served.status == 200 and served.headers["content-type"].startswith("image/")


def test_supervisor_passes_the_reopening_gate_and_the_reopening_is_announced(server, pages):
    from facilities.closures.choices import Status as ClosureStatus

    base, closure_id = server.url, server.seeded["closure"]
    desk = pages.open("desktop")
    log_in(desk, base, "alice")

    # the repair is not verified yet: the gate is shut, and says why
    desk.goto(f"{base}/closures/{closure_id}")
    assert desk.locator("#gate .gate-summary.ok").count() == 0
    assert desk.locator("form[action$='/sign-off'] button").is_disabled()
    desk.goto(f"{base}/closures/{closure_id}/lift")
    lift_button = desk.locator("form[action$='/lift'] button[type=submit]")
    assert lift_button.is_disabled()
    # forcing it (the button enabled by hand, as a crafted POST would) is refused
    lift_button.evaluate("button => button.removeAttribute('disabled')")
    with desk.expect_response(lambda r: r.request.method == "POST") as refused:
        lift_button.click()
    assert refused.value.status == 409
    desk.wait_for_load_state()
    refusal = zh(
        "The reopening criteria are not all met. An administrator may override them with a "
        "written reason."
    )
    assert refusal in desk.locator("main").inner_text()
    desk.goto(f"{base}/closures/{closure_id}")
    assert zh(ClosureStatus.LIFTED) not in desk.locator(".page-head").first.inner_text()

    # the crew finish, the supervisor accepts, an acceptance inspection passes (seeded)
    verified = server.call("tests.test_journeys_browser:verify_pinghu_repair", closure_id)
    assert verified["passed"] is True

    desk.reload()
    criteria = desk.locator("#gate li")
    assert criteria.count() == 4
    sign_off = desk.locator("form[action$='/sign-off'] button")
    assert sign_off.is_enabled()
    sign_off.click()
    desk.wait_for_load_state()
    assert desk.locator("#gate .gate-summary.ok").is_visible()  # all four criteria met
    desk.locator(f"a[href='/closures/{closure_id}/lift']").click()
    desk.wait_for_url(f"{base}/closures/{closure_id}/lift")
    lift_button = desk.locator("form[action$='/lift'] button[type=submit]")
    assert lift_button.is_enabled()
    lift_button.click()
    desk.wait_for_url(f"{base}/closures/{closure_id}")
    assert zh(ClosureStatus.LIFTED) in desk.locator(".page-head").first.inner_text()

    # the scheduler announces it, notifies subscribers and delivers the mail
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
    assert server.run_job("announce_reopenings", later).endswith(": 1 item(s)")
    server.run_job("notify_subscribers", later)
    server.run_job("deliver_notifications", later)

    citizen = pages.open("phone")
    citizen.goto(f"{base}/notices/{closure_id}")
    with use_locale("zh_CN"):
        reopened_zh = gettext(
            "Reopened. The repair was completed and verified by an acceptance inspection."
        )
    assert reopened_zh in citizen.locator("main").inner_text()
    with use_locale("zh_CN"):
        before, _when, after = gettext("Reopened %(when)s").partition("%(when)s")
    state = citizen.locator(".notice-state .badge").first
    assert "tone-ok" in (state.get_attribute("class") or "")
    assert state.inner_text().startswith(before) and state.inner_text().endswith(after)
    citizen.click("a[hreflang='en']")
    citizen.wait_for_url(f"{base}/notices/{closure_id}")
    english = citizen.locator("main").inner_text()
    assert citizen.locator(".notice-state .badge").first.inner_text().startswith("Reopened ")
    assert "Reopened. The repair was completed and verified by an acceptance inspection." in (
        english
    )

    assert server.smtp is not None
    mails = [m for m in mails_to(server.smtp, SUBSCRIBER) if "/subscriptions/confirm/" not in m]
    assert any(reopened_zh in mail for mail in mails), mails


def test_admin_manages_users_and_api_tokens(server, pages):
    from facilities.accounts.choices import Role

    base = server.url
    admin = pages.open("desktop")
    log_in(admin, base, "admin")
    admin.goto(f"{base}/admin/users")
    admin.click("a[href='/admin/users/new']")
    admin.fill("#username", "erin")
    admin.fill("#display_name", "周二 Erin Zhou")
    admin.fill("#email", "erin@bureau.example")
    admin.select_option("#role", Role.VIEWER)
    admin.fill("#password", "a long enough password")
    admin.locator("main form button[type=submit]").click()
    admin.wait_for_url(f"{base}/admin/users")
    row = admin.locator("table tbody tr", has_text="erin")
    assert zh(Role.VIEWER) in row.inner_text()

    row.locator("a").click()
    admin.wait_for_url(re.compile(r".*/admin/users/\d+/edit$"))
    edit_url = admin.url
    admin.select_option("#role", Role.INSPECTOR)
    admin.locator("main form button[type=submit]").click()
    admin.wait_for_url(f"{base}/admin/users")
    assert zh(Role.INSPECTOR) in admin.locator("table tbody tr", has_text="erin").inner_text()

    # erin logs in from another browser, as an inspector now
    other = pages.open("desktop")
    log_in(other, base, "erin", "a long enough password")
    other.goto(f"{base}/inspections")
    assert other.url == f"{base}/inspections"

    admin.goto(edit_url)
    admin.uncheck("#is_active")
    admin.locator("main form button[type=submit]").click()
    admin.wait_for_url(f"{base}/admin/users")
    with use_locale("zh_CN"):
        no = gettext("No")
    assert admin.locator("table tbody tr", has_text="erin").locator("td").nth(3).inner_text() == no

    # her open session ends, and she cannot log in again
    other.goto(f"{base}/inspections")
    assert "/login" in other.url
    other.fill("#username", "erin")
    other.fill("#password", "a long enough password")
    other.click("button[type=submit]")
    other.wait_for_load_state()
    assert "/login" in other.url

    # an API token: shown once, works, then revoked
    admin.goto(f"{base}/admin/tokens")
    admin.fill("#name", "GIS nightly sync")
    alice = admin.locator("#user_id option", has_text="alice").get_attribute("value")
    admin.select_option("#user_id", alice)
    admin.locator("form[action='/admin/tokens'] button[type=submit]").click()
    admin.wait_for_load_state()
    token = admin.locator("#new-token").inner_text().strip()
    assert len(token) >= 20
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{base}/api/v1/assets", headers=headers, timeout=5).status_code == 200
    admin.goto(f"{base}/admin/tokens")
    assert admin.locator("#new-token").count() == 0  # shown once only
    assert token not in admin.content()
    listed = admin.locator("table tbody tr", has_text="GIS nightly sync")
    listed.locator("form[action$='/revoke'] button").click()
    admin.wait_for_url(f"{base}/admin/tokens")
    assert httpx.get(f"{base}/api/v1/assets", headers=headers, timeout=5).status_code == 401
