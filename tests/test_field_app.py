"""The offline field app's server side (issue 18, item 5): the person's bundle at
``/field/data.json`` (their due inspections and the tickets of them or their team, nobody
else's), the app shell, the manifest and the service worker (types and scope), the photo route
the offline queue uses (JSON answers, once-only with an Idempotency-Key), and logout clearing
the browser's storage."""

from __future__ import annotations

import datetime as dt

from facilities.accounts import services as accounts
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.schemas import UserUpdate
from facilities.inspections import services as inspections
from facilities.inspections.tables import InspectionPhoto
from facilities.tickets.choices import Status
from tests.kit.assets import make_asset, make_site
from tests.kit.clients import csrf_token
from tests.kit.inspections import checklist_id, finalise, make_team, plan, record, submit
from tests.kit.media import png_bytes
from tests.kit.tickets import drive_to, make_ticket


async def join_team(user_id: int, team: str, now: dt.datetime) -> None:
    user = await accounts.get_user(user_id)
    await accounts.update_user(
        SYSTEM,
        user.id,
        UserUpdate(
            display_name=user.display_name,
            email=user.email,
            role=user.role,
            language=user.language,
            team=team,
            is_active=True,
            version=user.version,
        ),
        now,
    )


async def seed(personas, now: dt.datetime) -> dict[str, int]:
    """Bob's patrol due today, one overdue, one far ahead, one of frank's team; carol's ticket,
    her team's ticket, and another crew's ticket."""
    alice, bob, carol = personas["alice"], personas["bob"], personas["carol"]
    site = await make_site("外业公园", name_en="Field Park")
    asset = await make_asset(site, code="GX-FD-001", name_zh="外业桥")
    today = now.date()
    patrol = await checklist_id("patrol")
    other_team = await make_team("西区巡检队")
    ids = {
        "today": (
            await plan(alice, asset, now, due_on=today, inspector_id=bob.id, checklist_id=patrol)
        ).id,
        "overdue": (
            await plan(alice, asset, now, due_on=today - dt.timedelta(days=5), inspector_id=bob.id)
        ).id,
        "far": (
            await plan(alice, asset, now, due_on=today + dt.timedelta(days=60), inspector_id=bob.id)
        ).id,
        "other_team": (await plan(alice, asset, now, due_on=today, team_id=other_team)).id,
    }
    await join_team(carol.id, "东区维修班", now)
    for key, fields in {
        "mine": {"assignee_id": carol.id, "title": "卡萝的工单"},
        "my_team": {"assignee_team": "东区维修班", "title": "本班工单"},
        "other_crew": {"assignee_team": "西区维修班", "title": "别班工单"},
    }.items():
        ticket = await make_ticket(alice, asset=asset, now=now, **fields)
        await drive_to(ticket.id, Status.IN_PROGRESS, alice, now)
        ids[key] = ticket.id
    return ids


async def test_the_bundle_holds_my_due_inspections_with_what_the_form_needs(login, personas, now):
    ids = await seed(personas, now)
    bob = await login("bob")

    response = await bob.get("/field/data.json")

    assert response.status_code == 200, response.text
    assert "no-store" in response.headers["cache-control"]
    data = response.json()
    assert data["user"]["id"] == personas["bob"].id
    listed = [i["id"] for i in data["inspections"]]
    assert listed == [ids["overdue"], ids["today"]]  # most urgent first; not far, not frank's
    today = next(i for i in data["inspections"] if i["id"] == ids["today"])
    assert today["asset"]["code"] == "GX-FD-001"
    assert today["checklist"] and all("key" in item for item in today["checklist"])
    assert today["version"] >= 1
    assert data["inspections"][0]["is_overdue"] is True
    assert {value for value, _label in data["choices"]["answers"]} == {"ok", "not_ok", "na"}
    assert data["tickets"] == []  # an inspector has no tickets assigned here


async def test_the_bundle_carries_the_assets_last_final_inspection(
    login, personas, now, media_root
):
    alice, bob = personas["alice"], personas["bob"]
    asset = await make_asset(code="GX-FD-LAST")
    earlier = now - dt.timedelta(days=40)
    done = await plan(alice, asset, earlier, due_on=earlier.date(), inspector_id=bob.id)
    await record(bob, done, earlier, summary="上次巡检：桥面良好")
    await submit(bob, done, earlier)
    await finalise(alice, done, earlier, media_root)
    await plan(alice, asset, now, due_on=now.date(), inspector_id=bob.id)
    client = await login("bob")

    data = (await client.get("/field/data.json")).json()

    (entry,) = data["inspections"]
    assert entry["last_inspection"]["id"] == done.id
    assert entry["last_inspection"]["summary"] == "上次巡检：桥面良好"


async def test_crew_see_their_own_and_their_teams_tickets_never_another_crews(login, personas, now):
    ids = await seed(personas, now)
    carol = await login("carol")

    data = (await carol.get("/field/data.json")).json()

    listed = {t["id"] for t in data["tickets"]}
    assert listed == {ids["mine"], ids["my_team"]}
    assert ids["other_crew"] not in listed
    assert all(t["can_complete"] for t in data["tickets"])
    assert data["inspections"] == []  # crew record no inspections


async def test_the_data_and_the_shell_need_a_login(anon):
    data = await anon.get("/field/data.json", headers={"accept": "application/json"})
    page = await anon.get("/field")

    assert data.status_code == 401
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=/field")


async def test_the_shell_links_the_manifest_and_the_script(login):
    bob = await login("bob")

    response = await bob.get("/field")

    assert response.status_code == 200
    assert '<link rel="manifest" href="/field/manifest.webmanifest">' in response.text
    assert '<script src="/static/js/field.js" defer></script>' in response.text
    assert 'id="field-app"' in response.text


async def test_the_manifest_makes_the_app_installable(anon):
    response = await anon.get("/field/manifest.webmanifest")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["start_url"] == "/field"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"]
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}
    for icon in manifest["icons"]:
        image = await anon.get(icon["src"])
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"


async def test_the_service_worker_is_javascript_allowed_the_field_scope(anon):
    response = await anon.get("/field/sw.js")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["service-worker-allowed"] == "/field"
    assert "no-cache" in response.headers["cache-control"]
    assert 'addEventListener("fetch"' in response.text


async def test_a_photo_taken_offline_is_stored_once_whatever_the_retries(api, personas, now):
    ids = await seed(personas, now)
    bob = await api("bob")
    headers = {**bob.headers, "idempotency-key": "field-photo-1"}
    url = f"/field/inspections/{ids['today']}/photos"

    first = await bob.client.post(url, files={"file": ("deck.png", png_bytes())}, headers=headers)
    again = await bob.client.post(url, files={"file": ("deck.png", png_bytes())}, headers=headers)

    assert first.status_code == 201, first.text
    assert again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    count = await InspectionPhoto.count().where(InspectionPhoto.inspection == ids["today"])
    assert count == 1


async def test_a_photo_on_a_final_inspection_is_a_clear_json_conflict(
    api, personas, now, media_root
):
    alice, bob = personas["alice"], personas["bob"]
    asset = await make_asset(code="GX-FD-FINAL")
    done = await plan(alice, asset, now, due_on=now.date(), inspector_id=bob.id)
    await record(bob, done, now)
    await submit(bob, done, now)
    await finalise(alice, done, now, media_root)
    session = await api("bob")

    response = await session.upload(f"/field/inspections/{done.id}/photos", png_bytes(), "x.png")

    assert response.status_code == 409
    assert response.json()["detail"]
    assert (await inspections.photos_of(done.id)) == []


async def test_a_photo_without_a_file_or_with_a_non_image_is_a_400(api, personas, now):
    ids = await seed(personas, now)
    bob = await api("bob")
    url = f"/field/inspections/{ids['today']}/photos"

    empty = await bob.client.post(url, data={"caption": "x"}, headers=bob.headers)
    text = await bob.upload(url, b"not an image", "x.png")

    assert empty.status_code == 400
    assert empty.json()["extra"][0]["key"] == "file"
    assert text.status_code == 400


async def test_another_inspectors_inspection_takes_no_photo(api, personas, now):
    ids = await seed(personas, now)
    carol = await api("carol")
    bob = await api("bob")

    crew = await carol.upload(f"/field/inspections/{ids['today']}/photos", png_bytes(), "a.png")
    not_his = await bob.upload(
        f"/field/inspections/{ids['other_team']}/photos", png_bytes(), "b.png"
    )

    assert crew.status_code == 403
    assert not_his.status_code == 403


async def test_logout_clears_the_browsers_storage(login):
    bob = await login("bob")
    token = await csrf_token(bob)
    response = await bob.post("/logout", data={"_csrf_token": token})

    assert response.status_code == 303
    assert response.headers["clear-site-data"] == '"cache", "storage"'
