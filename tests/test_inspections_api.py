"""The inspections JSON API under /api/v1 (schedules, inspections, findings, tickets), its
OpenAPI description, and the token-protected iCalendar feed of a team's inspections."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from icalendar import Calendar

from facilities.accounts.permissions import SYSTEM
from facilities.inspections import services as inspections
from facilities.inspections.tables import Inspection, InspectionSchedule
from facilities.tickets.tables import RepairTicket, TicketAttachment
from tests.kit.assets import make_asset
from tests.kit.constants import TEST_SECRET, ZONE
from tests.kit.inspections import checklist_id, footbridge, make_schedule, make_team, plan
from tests.kit.media import png

pytestmark = pytest.mark.usefixtures("seeded_policy")  # the inspection policy, for every test


def schedule_body(asset_id: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "asset_id": asset_id,
        "inspection_type": "patrol",
        "rrule": "FREQ=WEEKLY;BYDAY=MO",
        "anchor": "fixed",
        "starts_on": "2026-01-05",
        "start_time": "08:00",
        "lead_days": 1,
        "tolerance_days": 2,
    }
    body.update(changes)
    return body


# --- schedules -----------------------------------------------------------------------------


async def test_schedule_create_list_get_update(api, now):
    asset = await make_asset()
    alice = await api("alice")
    created = await alice.post("/api/v1/schedules", schedule_body(asset.id))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["effective_rrule"] == "FREQ=WEEKLY;BYDAY=MO"
    assert body["version"] == 1 and body["status"] in {"on_track", "due_soon"}
    assert body["next_due_at"].endswith("Z") or "+00:00" in body["next_due_at"]
    listed = await alice.get("/api/v1/schedules", asset=asset.id)
    assert [s["id"] for s in listed.json()] == [body["id"]]
    assert (await alice.get("/api/v1/schedules", asset=asset.id + 1000)).json() == []
    one = await alice.get(f"/api/v1/schedules/{body['id']}")
    assert one.json()["rrule"] == "FREQ=WEEKLY;BYDAY=MO"
    updated = await alice.put(
        f"/api/v1/schedules/{body['id']}", schedule_body(asset.id, rrule="FREQ=DAILY", version=1)
    )
    assert updated.status_code == 200, updated.text
    assert (updated.json()["rrule"], updated.json()["version"]) == ("FREQ=DAILY", 2)


async def test_stale_schedule_update_is_409_and_changes_nothing(api, now):
    asset = await make_asset()
    alice = await api("alice")
    schedule_id = (await alice.post("/api/v1/schedules", schedule_body(asset.id))).json()["id"]
    assert (
        await alice.put(
            f"/api/v1/schedules/{schedule_id}",
            schedule_body(asset.id, rrule="FREQ=DAILY", version=1),
        )
    ).status_code == 200
    stale = await alice.put(
        f"/api/v1/schedules/{schedule_id}",
        schedule_body(asset.id, rrule="FREQ=MONTHLY;BYMONTHDAY=1", version=1),
    )
    assert stale.status_code == 409
    assert stale.json()["status_code"] == 409
    fresh = await inspections.get_schedule(SYSTEM, schedule_id)
    assert (fresh.rrule, fresh.version) == ("FREQ=DAILY", 2)


@pytest.mark.parametrize(
    "rule", ["FREQ=DAILY;INTERVAL=0", "FREQ=MINUTELY", "FREQ=NEVER", "FREQ=MONTHLY;BYMONTHDAY=0"]
)
async def test_bad_rrule_is_400_naming_the_field(api, rule):
    asset = await make_asset()
    alice = await api("alice")
    response = await alice.post("/api/v1/schedules", schedule_body(asset.id, rrule=rule))
    assert response.status_code == 400
    assert [e["key"] for e in response.json()["extra"]] == ["rrule"]
    preview = await alice.post("/api/v1/schedules/preview", schedule_body(asset.id, rrule=rule))
    assert preview.status_code == 400
    assert await InspectionSchedule.count() == 0


async def test_schedule_body_shape_is_checked(api):
    asset = await make_asset()
    alice = await api("alice")
    for changes in (
        {"lead_days": -1},
        {"start_time": "25:00"},
        {"surprise": 1},
        {"version": 2**40},
        {"anchor": "drifting"},
    ):
        response = await alice.post("/api/v1/schedules", schedule_body(asset.id, **changes))
        assert response.status_code == 400, changes


async def test_preview_returns_five_dates(api, now):
    asset = await make_asset()
    alice = await api("alice")
    response = await alice.post(
        "/api/v1/schedules/preview",
        schedule_body(asset.id, rrule="FREQ=MONTHLY;BYMONTHDAY=-1", starts_on="2026-01-31"),
    )
    assert response.status_code == 200
    assert len(response.json()["due_dates"]) == 5
    assert await InspectionSchedule.count() == 0


async def test_unknown_ids_are_404(api):
    alice = await api("alice")
    asset = await make_asset()
    for url in (
        "/api/v1/schedules/4242",
        "/api/v1/inspections/4242",
        "/api/v1/inspections/4242/findings",
        "/api/v1/schedules/99999999999",
    ):
        assert (await alice.get(url)).status_code == 404, url
    assert (
        await alice.put("/api/v1/schedules/4242", schedule_body(asset.id, version=1))
    ).status_code == 404
    assert (await alice.post("/api/v1/inspections/4242/start", {"version": 1})).status_code == 404
    assert (await alice.post("/api/v1/findings/4242/ticket", {})).status_code == 404
    unknown_asset = await alice.post("/api/v1/schedules", schedule_body(4242))
    assert unknown_asset.status_code == 400
    assert [e["key"] for e in unknown_asset.json()["extra"]] == ["asset_id"]


async def test_machine_clients_use_bearer_tokens_and_anonymous_get_401(app, anon, personas, now):
    from facilities.accounts import services as accounts
    from facilities.accounts.schemas import TokenCreate

    asset = await make_asset()
    token = await accounts.create_api_token(
        personas["admin"], TokenCreate(user_id=personas["alice"].id, name="robot"), now
    )
    response = await anon.post(
        "/api/v1/schedules",
        json=schedule_body(asset.id),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    assert (await anon.get("/api/v1/inspections")).status_code == 401


# --- inspections ---------------------------------------------------------------------------


async def test_inspection_happy_path_over_the_api(api, personas, now, settings):
    asset, parts = await footbridge()
    bob, alice = await api("bob"), await api("alice")
    created = await bob.post(
        "/api/v1/inspections",
        {
            "asset_id": asset.id,
            "inspection_type": "special",
            "trigger": "public_report",
            "due_on": "2026-11-30",
            "checklist_id": await checklist_id("patrol"),
        },
    )
    assert created.status_code == 201, created.text
    inspection = created.json()
    assert (inspection["state"], inspection["trigger"]) == ("planned", "public_report")
    iid = inspection["id"]
    listed = await bob.get("/api/v1/inspections")
    assert [r["id"] for r in listed.json()] == [iid]
    started = await bob.post(f"/api/v1/inspections/{iid}/start", {"version": 1})
    assert started.status_code == 200 and started.json()["state"] == "in_progress"
    recorded = await bob.put(
        f"/api/v1/inspections/{iid}/record",
        {
            "version": 2,
            "answers": {"railing": "ok", "drainage": "not_ok"},
            "answer_notes": {"drainage": "排水口堵塞"},
            "weather": "cloudy",
            "recommendation": "none",  # issue 16: no default; submitting needs one chosen
            "conditions": [
                {"component_id": parts["deck"].id, "score": 60},
                {"component_id": parts["cable"].id, "score": 90},
                {"component_id": parts["abutment"].id, "is_ok": True},
            ],
        },
    )
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["answers"]["drainage"] == {"answer": "not_ok", "note": "排水口堵塞"}
    finding = await bob.post(
        f"/api/v1/inspections/{iid}/findings",
        {
            "component_id": parts["cable"].id,
            "defect_type": "corrosion",
            "severity": "severe",
            "urgency": "short",
            "description": "主缆局部锈蚀，需涂油",
        },
    )
    assert finding.status_code == 201, finding.text
    later = await bob.post(
        f"/api/v1/inspections/{iid}/findings",
        {"defect_type": "wear", "urgency": "planned", "description": "扶手磨损"},
    )
    findings = await bob.get(f"/api/v1/inspections/{iid}/findings")
    assert [f["urgency"] for f in findings.json()] == ["short", "planned"]
    submitted = await bob.post(f"/api/v1/inspections/{iid}/submit", {"version": 3})
    assert submitted.json()["state"] == "submitted"
    refused = await bob.post(f"/api/v1/inspections/{iid}/finalise", {"version": 4})
    assert refused.status_code == 403
    # issue 16: the lamp was not scored, so finalising needs the flag and a reason
    final = await alice.post(
        f"/api/v1/inspections/{iid}/finalise",
        {"version": 4, "finalise_anyway": True, "unscored_reason": "照明另行检查"},
    )
    assert final.status_code == 200, final.text
    body = final.json()
    # 0.15*60 + 0.45*90 + 0.40*100 = 89.5: grade B
    assert (body["state"], body["bci"], body["grade"]) == ("final", 89.5, "B")
    assert body["reviewer_id"] == personas["alice"].id
    by_id = {f["id"]: f for f in body["findings"]}
    assert by_id[finding.json()["id"]]["ticket_id"] is not None  # urgent: automatic
    assert by_id[later.json()["id"]]["ticket_id"] is None
    assert await RepairTicket.count() == 2  # the short finding and the failed drainage check
    ticket = await bob.post(f"/api/v1/findings/{later.json()['id']}/ticket", {})
    assert ticket.status_code == 201, ticket.text
    again = await bob.post(f"/api/v1/findings/{later.json()['id']}/ticket", {})
    assert again.status_code == 200 and again.json() == ticket.json()
    assert await RepairTicket.count() == 3


async def test_inspection_api_conflicts_and_transitions(api, personas, now):
    asset = await make_asset()
    bob = await api("bob")
    iid = (
        await bob.post(
            "/api/v1/inspections",
            {"asset_id": asset.id, "inspection_type": "special", "due_on": "2026-11-30"},
        )
    ).json()["id"]
    assert (
        await bob.post(f"/api/v1/inspections/{iid}/submit", {"version": 1})
    ).status_code == 409  # not started
    assert (
        await bob.post(f"/api/v1/inspections/{iid}/start", {"version": 7})
    ).status_code == 409  # stale
    assert (
        await bob.put(
            f"/api/v1/inspections/{iid}/record", {"version": 1, "answers": {"railing": "maybe"}}
        )
    ).status_code == 400
    dave = await api("dave")
    assert (await dave.post(f"/api/v1/inspections/{iid}/start", {"version": 1})).status_code == 403
    assert (await dave.get(f"/api/v1/inspections/{iid}")).status_code == 200


async def test_finding_ticket_over_the_api_carries_photos(api, personas, now, settings):
    asset, _parts = await footbridge()
    inspection = await plan(personas["alice"], asset, now)
    bob = await api("bob")
    fid = (
        await bob.post(
            f"/api/v1/inspections/{inspection.id}/findings",
            {"defect_type": "rot", "description": "桥面板腐朽"},
        )
    ).json()["id"]
    await inspections.add_photo(
        personas["bob"],
        inspection.id,
        png(),
        fid,
        "",
        settings.media_path,
        settings.max_upload_bytes,
        now,
    )
    response = await bob.post(f"/api/v1/findings/{fid}/ticket", {})
    assert response.status_code == 201
    ticket_id = response.json()["ticket_id"]
    assert await TicketAttachment.count().where(TicketAttachment.ticket == ticket_id) == 1
    dave = await api("dave")
    assert (await dave.post(f"/api/v1/findings/{fid}/ticket", {})).status_code == 403


async def test_openapi_documents_the_inspection_routes(anon):
    schema = (await anon.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    for path in (
        "/api/v1/schedules",
        "/api/v1/schedules/{schedule_id}",
        "/api/v1/inspections",
        "/api/v1/inspections/{inspection_id}",
        "/api/v1/inspections/{inspection_id}/record",
        "/api/v1/inspections/{inspection_id}/finalise",
        "/api/v1/inspections/{inspection_id}/findings",
        "/api/v1/findings/{finding_id}/ticket",
    ):
        assert path in paths, path
    assert "ScheduleIn" in str(schema["components"]["schemas"].keys())
    assert "InspectionOut" in str(schema["components"]["schemas"].keys())
    assert not any(p.startswith("/inspections") for p in paths)


# --- the team calendar feed ----------------------------------------------------------------


async def test_team_calendar_feed_parses_with_stable_uids_and_needs_its_token(
    app, anon, personas, now
):
    asset = await make_asset(code="GX-QL-PH-001")
    team = await make_team(lead=personas["bob"])
    other_team = await make_team(name="公园设施组")
    schedule = await make_schedule(
        personas["alice"],
        asset,
        now,
        rule="FREQ=WEEKLY;BYDAY=MO",
        team_id=team,
        inspection_type="patrol",
        start_time="08:00",
    )
    await make_schedule(personas["alice"], await make_asset(), now, team_id=other_team)
    ad_hoc = await plan(personas["alice"], asset, now, team_id=team, due_on=dt.date(2026, 12, 2))
    token = inspections.team_token(team, TEST_SECRET)
    url = f"/inspections/calendar.ics?team={team}&token={token}"

    response = await anon.get(url)  # no login: the token is the credential
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    events = [c for c in calendar.walk("VEVENT")]
    uids = [str(e["UID"]) for e in events]
    assert len(uids) == len(set(uids))
    assert any(f"inspection-{ad_hoc.id}@" in uid for uid in uids)
    summaries = [str(e["SUMMARY"]) for e in events]
    assert all("GX-QL-PH-001" in s for s in summaries)  # nothing of the other team
    first = min(e.decoded("DTSTART") for e in events)
    assert first == dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC)  # Monday 08:00 Shanghai

    # The same occurrence keeps its UID once the scheduler has raised it.
    await inspections.raise_due(dt.datetime(2026, 11, 30, 0, 5, tzinfo=dt.UTC), ZONE)
    raised = await Inspection.objects().where(Inspection.schedule == schedule.id).first()
    again = Calendar.from_ical((await anon.get(url)).content)
    by_uid = {str(e["UID"]): e for e in again.walk("VEVENT")}
    assert set(uids) <= set(by_uid)
    monday = next(
        e
        for e in by_uid.values()
        if e.decoded("DTSTART") == dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC)
    )
    assert str(monday["URL"]).endswith(f"/inspections/{raised.id}")

    wrong = await anon.get(f"/inspections/calendar.ics?team={team}&token={'0' * 64}")
    assert wrong.status_code == 403
    other = inspections.team_token(other_team, TEST_SECRET)
    assert (
        await anon.get(f"/inspections/calendar.ics?team={team}&token={other}")
    ).status_code == 403
    assert (await anon.get(f"/inspections/calendar.ics?team={team}")).status_code == 403
    assert (await anon.get(f"/inspections/calendar.ics?team=abc&token={token}")).status_code == 403
    missing = 987654
    assert (
        await anon.get(
            f"/inspections/calendar.ics?team={missing}"
            f"&token={inspections.team_token(missing, TEST_SECRET)}"
        )
    ).status_code == 404


async def test_every_inspection_route_needs_a_login_except_the_token_feed(app):
    from facilities.web.auth import staff_guard

    unguarded = []
    for route in app.routes:
        if not route.path.startswith(
            ("/inspections", "/api/v1/schedules", "/api/v1/inspections", "/api/v1/findings")
        ):
            continue
        for handler in getattr(route, "route_handlers", []):
            if not handler.http_methods - {"HEAD", "OPTIONS"}:
                continue  # added by Litestar itself
            guards = [getattr(g, "func", g) for g in handler.resolve_guards()]
            if staff_guard not in guards:
                unguarded.append(route.path)
    assert sorted(set(unguarded)) == ["/inspections/calendar.ics"]
