"""Inspection pages: the due list, the calendar, the schedule editor with its preview, the
inspection form (record, findings with photos, one-click tickets), the condition history chart,
their 400/409 re-renders that keep what was typed, and who may do what."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from facilities.accounts.permissions import SYSTEM
from facilities.assets.choices import AssetType
from facilities.i18n import use_locale
from facilities.inspections import services as inspections
from facilities.inspections.choices import State
from facilities.inspections.schemas import FindingIn
from facilities.inspections.tables import Finding, Inspection, InspectionPhoto, InspectionSchedule
from facilities.tickets.tables import RepairTicket, TicketAttachment
from tests.kit.assets import make_asset
from tests.kit.clients import csrf_token, post_form
from tests.kit.constants import ZONE
from tests.kit.inspections import (
    checklist_id,
    footbridge,
    graded,
    make_schedule,
    make_team,
    plan,
    record,
    scores_for,
    submit,
)
from tests.kit.media import png

pytestmark = pytest.mark.usefixtures("seeded_policy")  # the inspection policy, for every test


def schedule_form(asset_id: int, **changes: str) -> dict[str, str]:
    values = {
        "asset_id": str(asset_id),
        "inspection_type": "routine_monthly",
        "rrule": "FREQ=MONTHLY;BYMONTHDAY=-1",
        "anchor": "fixed",
        "starts_on": "2026-01-31",
        "start_time": "09:30",
        "lead_days": "3",
        "tolerance_days": "2",
        "checklist_id": "",
        "team_id": "",
    }
    values.update(changes)
    return values


def field_value(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', html)
    assert match, f"no field {name}"
    return match.group(1)


# --- lists and calendar --------------------------------------------------------------------


async def test_anonymous_visitors_are_sent_to_log_in(anon):
    for path in (
        "/inspections",
        "/inspections/calendar",
        "/inspections/schedules",
        "/inspections/1",
    ):
        response = await anon.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


async def test_due_list_shows_open_inspections_and_marks_the_overdue(login, personas, now):
    asset = await make_asset(code="GX-QL-PH-001")
    overdue = await plan(personas["alice"], asset, now, due_on=dt.date(2026, 11, 20))
    upcoming = await plan(personas["alice"], asset, now, due_on=dt.date(2026, 12, 20))
    client = await login("dave")
    page = await client.get("/inspections")
    assert page.status_code == 200
    assert f'href="/inspections/{overdue.id}"' in page.text
    assert f'href="/inspections/{upcoming.id}"' in page.text
    assert page.text.index(f"/inspections/{overdue.id}") < page.text.index(
        f"/inspections/{upcoming.id}"
    )
    assert page.text.count('class="overdue"') == 1
    only = await client.get("/inspections", params={"overdue": "true"})
    assert f'href="/inspections/{upcoming.id}"' not in only.text
    assert (
        "Plan an inspection"
        not in (await client.get("/inspections", headers={"Accept-Language": "en"})).text
    )  # a viewer plans nothing
    bad = await client.get("/inspections", params={"asset": "abc"})
    assert bad.status_code == 400


async def test_month_calendar_shows_raised_and_projected_inspections(login, personas, now):
    asset = await make_asset(code="GX-QL-PH-002")
    team = await make_team(lead=personas["bob"])
    await make_schedule(
        personas["alice"],
        asset,
        now,
        rule="FREQ=WEEKLY;BYDAY=MO",
        team_id=team,
        inspection_type="patrol",
    )
    raised = await plan(personas["alice"], asset, now, due_on=dt.date(2026, 12, 3))
    client = await login("bob")
    page = await client.get(
        "/inspections/calendar", params={"month": "2026-12"}, headers={"Accept-Language": "en"}
    )
    assert page.status_code == 200
    assert f'href="/inspections/{raised.id}"' in page.text
    assert page.text.count('class="projected"') == 5  # the five Mondays of December 2026
    assert "/inspections/calendar.ics?team=" in page.text
    assert (
        await client.get("/inspections/calendar", params={"month": "12/2026"})
    ).status_code == 400


# --- schedules -----------------------------------------------------------------------------


async def test_schedule_form_previews_the_next_five_dates_without_saving(login, now):
    asset = await make_asset()
    client = await login("alice")
    blank = await client.get(f"/inspections/schedules/new?asset={asset.id}")
    assert blank.status_code == 200
    assert 'name="action" value="preview"' in blank.text
    preview = await post_form(
        client, "/inspections/schedules", {**schedule_form(asset.id), "action": "preview"}
    )
    assert preview.status_code == 200
    dates = re.findall(r'<time datetime="([^"]+)"', preview.text)
    assert [d[:10] for d in dates] == [
        "2026-11-30",
        "2026-12-31",
        "2027-01-31",
        "2027-02-28",
        "2027-03-31",
    ]
    assert all(d.endswith("T01:30:00+00:00") for d in dates)  # 09:30 in Shanghai
    assert field_value(preview.text, "rrule") == "FREQ=MONTHLY;BYMONTHDAY=-1"
    assert await InspectionSchedule.count() == 0


async def test_schedule_preview_and_save_with_a_bad_rule_re_render_400_keeping_values(login):
    asset = await make_asset()
    client = await login("alice")
    for action in ("preview", "save"):
        response = await post_form(
            client,
            "/inspections/schedules",
            {
                **schedule_form(asset.id, rrule="FREQ=DAILY;INTERVAL=0", lead_days="abc"),
                "action": action,
            },
        )
        assert response.status_code == 400
        assert field_value(response.text, "rrule") == "FREQ=DAILY;INTERVAL=0"
        assert field_value(response.text, "lead_days") == "abc"
        assert 'id="lead_days-error"' in response.text
    response = await post_form(
        client,
        "/inspections/schedules",
        {**schedule_form(asset.id, rrule="FREQ=DAILY;INTERVAL=0"), "action": "save"},
    )
    assert response.status_code == 400
    assert 'id="rrule-error"' in response.text
    assert field_value(response.text, "start_time") == "09:30"
    assert await InspectionSchedule.count() == 0


async def test_create_and_edit_a_schedule_then_a_stale_edit_is_409(login, personas, now):
    asset = await make_asset()
    client = await login("alice")
    created = await post_form(
        client, "/inspections/schedules", {**schedule_form(asset.id), "action": "save"}
    )
    assert created.status_code == 303
    assert created.headers["location"] == f"/inspections/schedules?asset={asset.id}"
    schedule = await InspectionSchedule.objects().first()
    assert (schedule.rrule, schedule.lead_days, schedule.tolerance_days) == (
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        3,
        2,
    )
    listing = await client.get(created.headers["location"])
    assert "FREQ=MONTHLY;BYMONTHDAY=-1" in listing.text
    edit = await client.get(f"/inspections/schedules/{schedule.id}/edit")
    assert field_value(edit.text, "starts_on") == "2026-01-31"
    assert field_value(edit.text, "start_time") == "09:30"
    saved = await post_form(
        client,
        f"/inspections/schedules/{schedule.id}",
        {
            **schedule_form(asset.id, rrule="FREQ=MONTHLY;BYMONTHDAY=1"),
            "version": "1",
            "action": "save",
        },
    )
    assert saved.status_code == 303
    stale = await post_form(
        client,
        f"/inspections/schedules/{schedule.id}",
        {**schedule_form(asset.id, rrule="FREQ=WEEKLY;BYDAY=FR"), "version": "1", "action": "save"},
    )
    assert stale.status_code == 409
    assert field_value(stale.text, "rrule") == "FREQ=WEEKLY;BYDAY=FR"
    assert field_value(stale.text, "version") == "2"
    fresh = await InspectionSchedule.objects().first()
    assert (fresh.rrule, fresh.version) == ("FREQ=MONTHLY;BYMONTHDAY=1", 2)


async def test_only_supervisors_get_the_schedule_editor(login, now):
    asset = await make_asset()
    for who in ("bob", "carol", "dave"):
        client = await login(who)
        assert (await client.get("/inspections/schedules/new")).status_code == 403
        refused = await post_form(
            client, "/inspections/schedules", {**schedule_form(asset.id), "action": "save"}
        )
        assert refused.status_code == 403
        assert (
            await post_form(client, "/inspections/schedules/defaults", {"asset_id": str(asset.id)})
        ).status_code == 403
    assert await InspectionSchedule.count() == 0


async def test_apply_default_schedules_button(login, now):
    asset = await make_asset(asset_type=AssetType.FOOTBRIDGE, maintenance_grade="II")
    client = await login("alice")
    page = await client.get(f"/inspections/schedules?asset={asset.id}")
    assert "/inspections/schedules/defaults" in page.text
    applied = await post_form(
        client, "/inspections/schedules/defaults", {"asset_id": str(asset.id)}
    )
    assert applied.status_code == 303
    rows = {s.inspection_type: s.rrule for s in await InspectionSchedule.objects()}
    assert rows["patrol"] == "FREQ=DAILY;INTERVAL=3"
    assert set(rows) == {
        "patrol",
        "routine_monthly",
        "periodic_routine",
        "periodic_structural",
        "pre_holiday",
    }
    listing = await client.get(applied.headers["location"])
    assert listing.text.count('id="schedule-') == 5
    again = await post_form(client, "/inspections/schedules/defaults", {"asset_id": str(asset.id)})
    assert again.status_code == 303
    assert await InspectionSchedule.count() == 5


async def test_shortened_interval_is_shown_with_its_reason(login, personas, now, settings):
    asset, parts = await footbridge()
    await make_schedule(
        personas["alice"],
        asset,
        now,
        rule="FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1",
        inspection_type="periodic_routine",
        starts_on=dt.date(2026, 3, 1),
    )
    await graded(personas, asset, now, settings.media_path, scores_for(parts, 60, 60, 60))
    client = await login("dave")
    page = await client.get(
        f"/inspections/schedules?asset={asset.id}", headers={"Accept-Language": "en"}
    )
    assert "Interval shortened" in page.text
    # the reason is stored as the rule and the day, and read in each reader's language
    schedule = (await inspections.list_schedules(personas["alice"], asset.id))[0]
    day = now.astimezone(ZONE).date().isoformat()
    assert schedule.override_reason == f"grade_d:{day}"
    assert f"Grade D on {day}: shortened by rule grade_d" in page.text
    chinese = await client.get(
        f"/inspections/schedules?asset={asset.id}", headers={"Accept-Language": "zh-CN"}
    )
    with use_locale("zh_CN"):
        assert inspections.describe_shortening(schedule.override_reason) in chinese.text
    assert "Grade D on" not in chinese.text
    assert "FREQ=MONTHLY;INTERVAL=6" in page.text
    assert "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1" in page.text
    assert "grade_d" in page.text and 'class="firing"' in page.text
    assert 'class="proposal"' in page.text


# --- the inspection form -------------------------------------------------------------------


async def test_inspection_form_renders_for_a_phone_with_its_script(login, personas, now):
    asset, parts = await footbridge()
    inspection = await plan(
        personas["alice"], asset, now, checklist_id=await checklist_id("patrol")
    )
    client = await login("bob")
    page = await client.get(f"/inspections/{inspection.id}")
    assert page.status_code == 200
    assert '<script src="/static/js/inspection.js" defer></script>' in page.text
    assert f'data-draft-key="inspection-{inspection.id}"' in page.text
    assert 'name="answer__railing" value="not_ok"' in page.text
    assert f'name="score__{parts["cable"].id}"' in page.text
    assert "<script>" not in page.text  # the CSP forbids inline scripts
    script = await client.get("/static/js/inspection.js")
    assert script.status_code == 200 and "localStorage" in script.text
    css = await client.get("/static/css/app.css")
    assert "@media (max-width: 640px)" in css.text and ".inspection-form .choice" in css.text


async def test_recording_saves_answers_and_conditions(login, personas, now):
    asset, parts = await footbridge()
    inspection = await plan(
        personas["alice"], asset, now, checklist_id=await checklist_id("patrol")
    )
    client = await login("bob")
    response = await post_form(
        client,
        f"/inspections/{inspection.id}/record",
        {
            "version": "1",
            "answer__railing": "not_ok",
            "note__railing": "东侧松动",
            "answer__lighting": "ok",
            f"score__{parts['cable'].id}": "72.5",
            f"ok__{parts['deck'].id}": "false",
            f"cnote__{parts['deck'].id}": "板腐朽",
            "weather": "rain",
            "recommendation": "restrict",
            "summary": "雨天检查",
        },
    )
    assert response.status_code == 303
    saved = await inspections.get_inspection(SYSTEM, inspection.id)
    assert saved.state == State.IN_PROGRESS and saved.inspector == personas["bob"].id
    assert inspections.answers_of(saved)["railing"] == {"answer": "not_ok", "note": "东侧松动"}
    conditions = await inspections.conditions_of(inspection.id)
    assert conditions[parts["cable"].id]["score"] == 72.5
    assert conditions[parts["deck"].id]["is_ok"] is False
    page = await client.get(f"/inspections/{inspection.id}")
    assert 'name="answer__railing" value="not_ok" checked' in page.text
    assert field_value(page.text, f"score__{parts['cable'].id}") == "72.5"
    assert field_value(page.text, "version") == "2"


async def test_invalid_record_re_renders_400_keeping_every_answer(login, personas, now):
    asset, parts = await footbridge()
    inspection = await plan(
        personas["alice"], asset, now, checklist_id=await checklist_id("patrol")
    )
    client = await login("bob")
    response = await post_form(
        client,
        f"/inspections/{inspection.id}/record",
        {
            "version": "1",
            "answer__railing": "not_ok",
            "note__railing": "东侧松动",
            f"score__{parts['cable'].id}": "140",
            f"score__{parts['deck'].id}": "88",
            "weather": "tornado",
            "summary": "未完成",
        },
    )
    assert response.status_code == 400
    assert 'name="answer__railing" value="not_ok" checked' in response.text
    assert field_value(response.text, "note__railing") == "东侧松动"
    assert field_value(response.text, f"score__{parts['cable'].id}") == "140"
    assert field_value(response.text, f"score__{parts['deck'].id}") == "88"
    assert f'id="score__{parts["cable"].id}-error"' in response.text
    assert 'id="weather-error"' in response.text
    assert "未完成" in response.text
    assert (await inspections.get_inspection(SYSTEM, inspection.id)).version == 1


async def test_stale_record_is_409_and_keeps_the_answers(login, personas, now):
    asset, parts = await footbridge()
    inspection = await plan(personas["alice"], asset, now)
    await inspections.start(personas["bob"], inspection.id, 1, now)  # his: he records it
    client = await login("bob")
    response = await post_form(
        client,
        f"/inspections/{inspection.id}/record",
        {"version": "1", f"score__{parts['cable'].id}": "66", "summary": "旧版本"},
    )
    assert response.status_code == 409
    assert field_value(response.text, f"score__{parts['cable'].id}") == "66"
    assert "旧版本" in response.text


async def test_save_and_submit_then_finalise_by_a_supervisor(login, personas, now):
    asset, parts = await footbridge()
    inspection = await plan(personas["alice"], asset, now)
    bob = await login("bob")
    response = await post_form(
        bob,
        f"/inspections/{inspection.id}/record",
        {
            "version": "1",
            "then": "submit",
            # issue 16: no default recommendation; submitting needs one chosen
            "recommendation": "none",
            **{f"score__{p.id}": "95" for p in parts.values()},
        },
    )
    assert response.status_code == 303
    assert (await inspections.get_inspection(SYSTEM, inspection.id)).state == State.SUBMITTED
    refused = await post_form(bob, f"/inspections/{inspection.id}/finalise", {"version": "3"})
    assert refused.status_code == 403
    alice = await login("alice")
    page = await alice.get(f"/inspections/{inspection.id}")
    assert f'action="/inspections/{inspection.id}/finalise"' in page.text
    stale = await post_form(alice, f"/inspections/{inspection.id}/finalise", {"version": "1"})
    assert stale.status_code == 409
    final = await post_form(alice, f"/inspections/{inspection.id}/finalise", {"version": "3"})
    assert final.status_code == 303
    done = await inspections.get_inspection(SYSTEM, inspection.id)
    assert (done.state, done.grade) == (State.FINAL, "A")
    shown = await alice.get(f"/inspections/{inspection.id}")
    assert 'class="final-grade"' in shown.text and 'id="record-form"' not in shown.text


async def test_viewer_and_crew_cannot_record_or_start(login, personas, now):
    asset, _parts = await footbridge()
    inspection = await plan(personas["alice"], asset, now)
    for who in ("carol", "dave"):
        client = await login(who)
        page = await client.get(f"/inspections/{inspection.id}")
        assert page.status_code == 200 and 'id="record-form"' not in page.text
        for action in ("record", "start", "submit", "finalise"):
            response = await post_form(
                client, f"/inspections/{inspection.id}/{action}", {"version": "1"}
            )
            assert response.status_code == 403, (who, action)
        refused = await post_form(
            client, f"/inspections/{inspection.id}/findings", {"description": "x"}
        )
        assert refused.status_code == 403
    fresh = await inspections.get_inspection(SYSTEM, inspection.id)
    assert (fresh.state, fresh.version) == (State.PLANNED, 1)
    assert await Finding.count() == 0


async def test_finding_with_a_photo_then_one_click_ticket(login, personas, now, settings):
    asset, parts = await footbridge()
    inspection = await plan(personas["alice"], asset, now)
    client = await login("bob")
    token = await csrf_token(client)
    response = await client.post(
        f"/inspections/{inspection.id}/findings",
        data={
            "_csrf_token": token,
            "component_id": str(parts["deck"].id),
            "defect_type": "rot",
            "severity": "moderate",
            "urgency": "planned",
            "description": "5号木桥面板腐朽",
            "caption": "近景",
        },
        files={"file": ("deck.png", png(), "image/png")},
    )
    assert response.status_code == 303, response.text
    finding = await Finding.objects().first()
    photo = await InspectionPhoto.objects().first()
    assert (photo.finding, photo.caption, photo.content_type) == (finding.id, "近景", "image/png")
    page = await client.get(f"/inspections/{inspection.id}")
    assert f'src="/inspections/photos/{photo.id}/thumbnail"' in page.text
    assert f'action="/inspections/findings/{finding.id}/ticket"' in page.text
    image = await client.get(f"/inspections/photos/{photo.id}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    thumb = await client.get(f"/inspections/photos/{photo.id}/thumbnail")
    assert thumb.headers["content-type"] == "image/jpeg"
    opened = await post_form(client, f"/inspections/findings/{finding.id}/ticket", {})
    assert opened.status_code == 303
    ticket = await RepairTicket.objects().first()
    assert await TicketAttachment.count().where(TicketAttachment.ticket == ticket.id) == 1
    after = await client.get(f"/inspections/{inspection.id}")
    assert f'href="/tickets/{ticket.id}"' in after.text
    assert f'action="/inspections/findings/{finding.id}/ticket"' not in after.text
    viewer = await login("dave")
    assert (
        await post_form(viewer, f"/inspections/findings/{finding.id}/ticket", {})
    ).status_code == 403


async def test_invalid_finding_re_renders_400_keeping_values(login, personas, now):
    asset, _parts = await footbridge()
    inspection = await plan(personas["alice"], asset, now)
    client = await login("bob")
    response = await post_form(
        client,
        f"/inspections/{inspection.id}/findings",
        {
            "defect_type": "rot",
            "severity": "apocalyptic",
            "urgency": "short",
            "description": "",
            "caption": "看这里",
        },
    )
    assert response.status_code == 400
    assert 'id="severity-error"' in response.text and 'id="description-error"' in response.text
    assert re.search(r'<option value="short"\s+selected', response.text)
    assert await Finding.count() == 0
    not_a_photo = await client.post(
        f"/inspections/{inspection.id}/photos",
        data={"_csrf_token": await csrf_token(client)},
        files={"file": ("x.png", b"not an image at all", "image/png")},
    )
    assert not_a_photo.status_code == 400
    assert await InspectionPhoto.count() == 0


async def test_plan_an_inspection_by_hand(login, personas, now):
    asset = await make_asset()
    client = await login("bob")
    form = await client.get(f"/inspections/new?asset={asset.id}")
    assert form.status_code == 200
    bad = await post_form(
        client,
        "/inspections",
        {
            "asset_id": str(asset.id),
            "inspection_type": "special",
            "trigger": "event",
            "due_on": "2026-13-01",
        },
    )
    assert bad.status_code == 400 and field_value(bad.text, "due_on") == "2026-13-01"
    created = await post_form(
        client,
        "/inspections",
        {
            "asset_id": str(asset.id),
            "inspection_type": "acceptance",
            "trigger": "post_repair",
            "due_on": "2026-12-05",
            "inspector_id": str(personas["bob"].id),
        },
    )
    assert created.status_code == 303
    row = await Inspection.objects().first()
    assert created.headers["location"] == f"/inspections/{row.id}"
    assert row.due_at == dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)  # 17:00 Shanghai
    viewer = await login("dave")
    assert (await viewer.get("/inspections/new")).status_code == 403


async def test_unknown_inspections_are_404(login):
    client = await login("dave")
    for path in (
        "/inspections/99999",
        "/inspections/photos/99999",
        "/inspections/assets/99999/history",
        "/inspections/schedules?asset=99999",
    ):
        assert (await client.get(path)).status_code == 404, path


# --- condition history chart -----------------------------------------------------------


async def test_asset_history_is_an_inline_svg_of_grade_over_time(login, personas, now, settings):
    asset, parts = await footbridge()
    await graded(personas, asset, now, settings.media_path, scores_for(parts, 95, 95, 95))
    await graded(
        personas,
        asset,
        now + dt.timedelta(days=90),
        settings.media_path,
        scores_for(parts, 70, 70, 70),
    )
    await graded(
        personas,
        asset,
        now + dt.timedelta(days=180),
        settings.media_path,
        scores_for(parts, 40, 40, 40),
    )
    client = await login("dave")
    page = await client.get(f"/inspections/assets/{asset.id}/history")
    assert page.status_code == 200
    svg = page.text[page.text.index("<svg") : page.text.index("</svg>")]
    assert 'role="img"' in svg
    points = re.findall(r'<circle class="grade-point[^"]*" cx="([\d.]+)" cy="([\d.]+)"', svg)
    assert len(points) == 3
    xs = [float(x) for x, _y in points]
    ys = [float(y) for _x, y in points]
    assert xs == sorted(xs) and xs[0] < xs[-1]
    assert ys[0] < ys[1] < ys[2]  # A at the top, C below it, E at the bottom
    assert re.search(r'<polyline class="grade-line"[^>]*points="[\d., ]+"', svg)
    assert "<script" not in svg
    empty = await client.get(f"/inspections/assets/{(await make_asset()).id}/history")
    assert empty.status_code == 200 and "<svg" not in empty.text


async def test_grade_e_proposal_is_shown_to_staff(login, personas, now, settings):
    asset, parts = await footbridge()
    await graded(personas, asset, now, settings.media_path, scores_for(parts, 30, 30, 30))
    client = await login("dave")
    index = await client.get("/inspections", headers={"Accept-Language": "en"})
    assert 'class="proposal"' in index.text and "Full closure" in index.text
    history = await client.get(f"/inspections/assets/{asset.id}/history")
    assert "grade_e_or_immediate_critical" in history.text


@pytest.mark.parametrize("who", ["carol", "dave"])
async def test_only_recorders_add_photos(login, personas, now, who):
    asset = await make_asset()
    inspection = await plan(personas["alice"], asset, now)
    await inspections.add_finding(personas["bob"], inspection.id, FindingIn(description="x"), now)
    client = await login(who)
    response = await client.post(
        f"/inspections/{inspection.id}/photos",
        data={"_csrf_token": await csrf_token(client)},
        files={"file": ("x.png", png(), "image/png")},
    )
    assert response.status_code == 403
    assert await InspectionPhoto.count() == 0


async def test_submitting_from_the_page_needs_an_in_progress_inspection(login, personas, now):
    asset = await make_asset()
    inspection = await plan(personas["alice"], asset, now)
    client = await login("bob")
    response = await post_form(client, f"/inspections/{inspection.id}/submit", {"version": "1"})
    assert response.status_code == 409
    started = await post_form(client, f"/inspections/{inspection.id}/start", {"version": "1"})
    assert started.status_code == 303
    await record(personas["bob"], inspection, now)
    await submit(personas["bob"], inspection, now)
    assert (await inspections.get_inspection(SYSTEM, inspection.id)).state == State.SUBMITTED
