"""The offline field app in the system Chromium (issue 18, item 5), against a real server:

- the inspector opens /field online (the service worker keeps the shell, IndexedDB the data),
  goes offline, reloads, records an inspection with a photo and sees it waiting;
- back online the queue is sent; the photo's first answer is lost on the way (the server saved
  it, the phone never heard), so the phone sends it again with the same Idempotency-Key and the
  server answers with the first result: exactly one record and one photo;
- logging out leaves no IndexedDB database and no cache behind;
- the crew completes a ticket offline the same way: exactly one transition, also when the
  request is sent once more by hand.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.kit.browser import Pages, Server, log_in, pages_for, start_server

pytestmark = pytest.mark.browser

APP = "#field-app"


# --- the starting state and the server's view (run in subprocesses) -----------------------


async def seed_field(shift_seconds: float) -> dict[str, Any]:
    """After the demo: a patrol of the lakeside boardwalk for bob due today, and a ticket in
    progress assigned to carol."""
    from facilities.assets import services as assets
    from facilities.demo_story import staff_actor
    from facilities.inspections import services as inspections
    from facilities.inspections.choices import InspectionType, Trigger
    from facilities.inspections.schemas import InspectionIn
    from facilities.inspections.tables import ChecklistTemplate
    from facilities.lib.clock import utcnow
    from facilities.settings import Settings
    from facilities.tickets import services as tickets
    from facilities.tickets.choices import Action
    from facilities.tickets.schemas import TicketIn, TransitionIn

    settings = Settings.from_env()
    now = utcnow() + dt.timedelta(seconds=shift_seconds)
    alice, bob, carol = (
        await staff_actor("alice"),
        await staff_actor("bob"),
        await staff_actor("carol"),
    )
    boardwalk = await assets.find_asset_by_code("GX-ZD-PH-001")
    assert boardwalk is not None
    patrol = (
        await ChecklistTemplate.select(ChecklistTemplate.id)
        .where(ChecklistTemplate.code == "patrol")
        .first()
    )
    assert patrol is not None
    planned = await inspections.create_inspection(
        alice,
        InspectionIn(
            asset_id=boardwalk.id,
            inspection_type=InspectionType.PATROL,
            trigger=Trigger.EVENT,
            due_on=now.astimezone(settings.zone).date(),
            inspector_id=bob.id,
            checklist_id=patrol["id"],
        ),
        settings.zone,
        now,
    )
    ticket = await tickets.open_ticket(
        alice,
        TicketIn(asset_id=boardwalk.id, title="外业：栏杆螺栓松动", assignee_id=carol.id),
        now,
    )
    for action, extra in (
        (Action.TRIAGE, {}),
        (Action.SCHEDULE, {"planned_start_on": now.date()}),
        (Action.START, {}),
    ):
        ticket = await tickets.transition(
            alice, ticket.id, TransitionIn(action=action, version=ticket.version, **extra), now
        )
    contested = await inspections.create_inspection(
        alice,
        InspectionIn(
            asset_id=boardwalk.id,
            inspection_type=InspectionType.SPECIAL,
            trigger=Trigger.EVENT,
            due_on=now.astimezone(settings.zone).date(),
            inspector_id=bob.id,
        ),
        settings.zone,
        now,
    )
    return {
        "inspection": planned.id,
        "version": planned.version,
        "ticket": ticket.id,
        "contested": contested.id,
    }


async def finalise_elsewhere(inspection_id: int) -> str:
    """The supervisor records, and signs off, the inspection at the office meanwhile."""
    from facilities.demo_story import staff_actor
    from facilities.inspections.tables import Inspection
    from facilities.lib.clock import utcnow
    from facilities.settings import Settings
    from tests.kit.inspections import finalise, record, submit

    alice = await staff_actor("alice")
    now = utcnow()
    row = await Inspection.objects().where(Inspection.id == inspection_id).first()
    assert row is not None
    await record(alice, row, now, summary="办公室已定稿")
    await submit(alice, row, now)
    done = await finalise(alice, row, now, Settings.from_env().media_path)
    return str(done.state)


async def server_view(inspection_id: int, ticket_id: int) -> dict[str, Any]:
    """What the server holds: the inspection's state and version, its photos and record
    events, the ticket's status and its "complete" events."""
    from facilities.audit.tables import AuditEvent
    from facilities.inspections.tables import Inspection, InspectionPhoto
    from facilities.tickets.tables import RepairTicket

    inspection = await Inspection.select().where(Inspection.id == inspection_id).first()
    ticket = await RepairTicket.select().where(RepairTicket.id == ticket_id).first()
    assert inspection is not None and ticket is not None

    async def events(kind: str, entity: int, action: str) -> int:
        return await AuditEvent.count().where(
            (AuditEvent.entity_type == kind)
            & (AuditEvent.entity_id == entity)
            & (AuditEvent.action == action)
        )

    return {
        "state": inspection["state"],
        "version": inspection["version"],
        "summary": inspection["summary"],
        "photos": await InspectionPhoto.count().where(InspectionPhoto.inspection == inspection_id),
        "recorded": await events("inspection", inspection_id, "inspection.recorded"),
        "ticket_status": ticket["status"],
        "completed": await events("ticket", ticket_id, "ticket.complete"),
    }


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with start_server(
        tmp_path_factory.mktemp("field"), seed="tests.test_field_app_browser:seed_field"
    ) as running:
        yield running


@pytest.fixture
def pages(server: Server, browser: Any, request: pytest.FixtureRequest) -> Iterator[Pages]:
    with pages_for(request, browser) as opened:
        yield opened


def photo(folder: Path) -> Path:
    path = folder / "deck.jpg"
    Image.new("RGB", (800, 600), "sienna").save(path, format="JPEG")
    return path


class LoseFirstAnswer:
    """A route handler: the first matching request reaches the server, but its answer never
    reaches the page (a signal lost on the bridge); later ones go through."""

    def __init__(self) -> None:
        self.calls = 0
        self.keys: list[str] = []
        self.bodies: list[str | None] = []

    def __call__(self, route: Any) -> None:
        self.calls += 1
        self.keys.append(route.request.headers.get("idempotency-key", ""))
        self.bodies.append(route.request.post_data)
        if self.calls == 1:
            route.fetch()  # the server does the work ...
            route.abort("internetdisconnected")  # ... and the phone never hears
        else:
            route.continue_()


def open_ready(page: Any, server: Server) -> None:
    page.goto(f"{server}/field")
    page.wait_for_selector(f'{APP}[data-ready="yes"]')
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def go_offline_and_reload(page: Any, server: Server) -> None:
    page.context.set_offline(True)
    shell = page.reload()  # the shell comes from the service worker, the data from IndexedDB
    assert shell is not None and shell.from_service_worker
    page.wait_for_selector(f'{APP}[data-ready="yes"]')
    assert page.evaluate("navigator.onLine") is False


def sync_through_a_lost_answer(page: Any, lost: LoseFirstAnswer) -> None:
    """Back online: the automatic sync loses one answer and stops; "Send now" sends the rest."""
    page.evaluate("document.querySelector('#field-app').removeAttribute('data-synced')")
    page.context.set_offline(False)
    page.wait_for_selector(f"{APP}[data-synced]")  # the first run, stopped by the lost answer
    assert lost.calls == 1
    assert page.get_attribute(APP, "data-pending") != "0"
    page.click("#field-sync")
    page.wait_for_selector(f'{APP}[data-pending="0"]')
    assert page.get_attribute(APP, "data-conflicts") == "0"
    assert lost.calls == 2
    assert lost.keys[0] and lost.keys[0] == lost.keys[1]  # the same key, sent again


def stored_names(page: Any) -> dict[str, list[str]]:
    return page.evaluate(
        """async () => ({
            databases: (await indexedDB.databases()).map(d => d.name),
            caches: await caches.keys(),
        })"""
    )


def log_out_and_check_nothing_stays(page: Any, server: Server) -> None:
    assert "facilities-field" in stored_names(page)["databases"]
    page.click("#field-logout button")
    page.wait_for_url(f"{server}/login*")
    left = stored_names(page)
    assert "facilities-field" not in left["databases"]
    assert not [name for name in left["caches"] if name.startswith("facilities-field")]


def test_an_inspection_recorded_offline_reaches_the_server_once(
    server: Server, pages: Pages, tmp_path: Path
):
    ids = server.seeded
    page = pages.open("phone")
    log_in(page, server.url, "bob")
    open_ready(page, server)
    assert page.locator(f'li[data-inspection="{ids["inspection"]}"]').count() == 1

    go_offline_and_reload(page, server)
    page.click(f'li[data-inspection="{ids["inspection"]}"] button')
    form = page.locator(f'form[data-field-inspection="{ids["inspection"]}"]')
    for radio in form.locator('input[type="radio"][value="ok"]').all():
        radio.check()
    for score in form.locator('input[type="number"]').all():
        score.fill("90")
    form.locator('select[name="recommendation"]').select_option("none")
    form.locator('textarea[name="summary"]').fill("外业离线巡检：栈道完好 Boardwalk fine")
    form.locator('input[type="file"]').set_input_files(str(photo(tmp_path)))
    form.locator('button[type="submit"]').click()

    page.wait_for_selector(f'{APP}[data-pending="2"]')  # the record and the photo, waiting
    kinds = page.locator("#pending-list li").evaluate_all(
        "items => items.map(i => i.dataset.kind + ':' + i.dataset.state)"
    )
    assert kinds == ["record:pending", "photo:pending"]
    before = server.call(
        "tests.test_field_app_browser:server_view", ids["inspection"], ids["ticket"]
    )
    assert before["photos"] == 0 and before["recorded"] == 0  # nothing left the phone

    lost = LoseFirstAnswer()
    page.context.route("**/field/inspections/*/photos", lost)
    sync_through_a_lost_answer(page, lost)

    after = server.call(
        "tests.test_field_app_browser:server_view", ids["inspection"], ids["ticket"]
    )
    assert after["recorded"] == 1
    assert after["photos"] == 1  # sent twice, stored once
    assert after["version"] == ids["version"] + 1
    assert after["summary"] == "外业离线巡检：栈道完好 Boardwalk fine"
    assert after["state"] == "in_progress"

    log_out_and_check_nothing_stays(page, server)


def test_a_ticket_completed_offline_moves_once(server: Server, pages: Pages):
    ids = server.seeded
    page = pages.open("phone")
    log_in(page, server.url, "carol")
    open_ready(page, server)

    go_offline_and_reload(page, server)
    page.click(f'li[data-ticket="{ids["ticket"]}"] button')
    form = page.locator(f'form[data-field-ticket="{ids["ticket"]}"]')
    form.locator('textarea[name="note"]').fill("螺栓已紧固 Bolts tightened")
    form.locator('button[type="submit"]').click()
    page.wait_for_selector(f'{APP}[data-pending="1"]')

    lost = LoseFirstAnswer()
    page.context.route("**/api/v1/tickets/*/transitions", lost)
    sync_through_a_lost_answer(page, lost)

    view = server.call("tests.test_field_app_browser:server_view", ids["inspection"], ids["ticket"])
    assert view["ticket_status"] == "work_complete"
    assert view["completed"] == 1
    # read again after the sync: the work waits for acceptance, nothing more for carol to do
    page.wait_for_selector(f'li[data-ticket="{ids["ticket"]}"] button', state="detached")

    # once more by hand, the same key and body: the first answer, no second transition
    page.context.unroute("**/api/v1/tickets/*/transitions")
    again = page.evaluate(
        """async ([url, key, body]) => {
            const token = document.cookie.split("; ").find(c => c.startsWith("csrftoken="))
                .slice("csrftoken=".length);
            const r = await fetch(url, {method: "POST", body, headers: {
                "Content-Type": "application/json", "Accept": "application/json",
                "X-CSRFToken": token, "Idempotency-Key": key}});
            return {status: r.status, replayed: r.headers.get("idempotent-replayed")};
        }""",
        [f"/api/v1/tickets/{ids['ticket']}/transitions", lost.keys[0], lost.bodies[0]],
    )
    assert again == {"status": 200, "replayed": "true"}
    view = server.call("tests.test_field_app_browser:server_view", ids["inspection"], ids["ticket"])
    assert view["completed"] == 1
    assert json.loads(lost.bodies[0] or "{}")["action"] == "complete"

    log_out_and_check_nothing_stays(page, server)


def test_work_on_an_inspection_finalised_meanwhile_is_kept_as_a_conflict(
    server: Server, pages: Pages
):
    ids = server.seeded
    page = pages.open("phone")
    log_in(page, server.url, "bob")
    open_ready(page, server)
    go_offline_and_reload(page, server)
    page.click(f'li[data-inspection="{ids["contested"]}"] button')
    form = page.locator(f'form[data-field-inspection="{ids["contested"]}"]')
    form.locator('textarea[name="summary"]').fill("桥上离线记录")
    form.locator('button[type="submit"]').click()
    page.wait_for_selector(f'{APP}[data-pending="1"]')

    assert server.call("tests.test_field_app_browser:finalise_elsewhere", ids["contested"]) == (
        "final"
    )
    page.context.set_offline(False)

    page.wait_for_selector(f'{APP}[data-conflicts="1"]')  # kept, never silently dropped
    item = page.locator('#pending-list li[data-state="conflict"]')
    assert item.get_attribute("data-kind") == "record"
    message = item.locator(".is-conflict").inner_text()
    assert message.split(": ", 1)[1].strip()  # after "not accepted": the server's own words
    item.locator("button").click()  # the person reads it and discards it
    page.wait_for_selector(f'{APP}[data-conflicts="0"]')
    assert page.get_attribute(APP, "data-pending") == "0"
