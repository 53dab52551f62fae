"""Inspection services as a spec: schedules, recording, finalising (grade, next due date),
findings to tickets (photos carried over), failed checklist items, rules and their firings,
default schedules, permissions.

The helpers shared by the inspection test files are tests/kit/inspections.py."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from PIL import Image

from facilities.accounts.permissions import SYSTEM
from facilities.assets.choices import AssetType
from facilities.assets.tables import Asset
from facilities.audit.tables import AuditEvent
from facilities.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from facilities.inspections import services as inspections
from facilities.inspections.choices import (
    Anchor,
    Answer,
    DefectType,
    FindingStatus,
    InspectionType,
    Recommendation,
    Severity,
    State,
    Urgency,
)
from facilities.inspections.schemas import ConditionIn, FindingIn, RecordIn, ScheduleIn
from facilities.inspections.tables import (
    ClosureProposal,
    Finding,
    Inspection,
    InspectionSchedule,
    RuleFiring,
)
from facilities.tickets.choices import PhotoTag, Priority, Source
from facilities.tickets.tables import RepairTicket, TicketAttachment
from tests.kit.assets import make_asset, make_component
from tests.kit.constants import ZONE
from tests.kit.inspections import (
    checklist_id,
    finalise,
    footbridge,
    graded,
    make_schedule,
    plan,
    record,
    scores_for,
    submit,
)
from tests.kit.media import png

pytestmark = pytest.mark.usefixtures("seeded_policy")  # the inspection policy, for every test


# --- schedules -----------------------------------------------------------------------------


async def test_create_schedule_sets_the_next_due_date_and_audits(personas, now):
    asset = await make_asset()
    schedule = await make_schedule(personas["alice"], asset, now)
    # now is 2026-11-28 10:00 in Shanghai: the next 1st of the month at 09:00
    assert schedule.next_due_at == dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    assert schedule.starts_at == dt.datetime(2026, 1, 1, 1, 0, tzinfo=dt.UTC)
    events = await AuditEvent.select().where(AuditEvent.action == "schedule.created")
    assert len(events) == 1 and events[0]["entity_id"] == asset.id


async def test_bad_rules_and_unknown_references_are_field_errors(personas, now):
    asset = await make_asset()
    with pytest.raises(ValidationFailed) as caught:
        await make_schedule(personas["alice"], asset, now, rule="FREQ=DAILY;INTERVAL=0")
    assert set(caught.value.errors) == {"rrule"}
    with pytest.raises(ValidationFailed) as caught:
        await make_schedule(personas["alice"], asset, now, team_id=999, checklist_id=998)
    assert set(caught.value.errors) == {"team_id", "checklist_id"}
    assert await InspectionSchedule.count() == 0


async def test_stale_schedule_update_is_a_conflict_and_changes_nothing(personas, now):
    asset = await make_asset()
    schedule = await make_schedule(personas["alice"], asset, now)
    data = ScheduleIn(
        asset_id=asset.id,
        inspection_type=InspectionType.ROUTINE_MONTHLY,
        rrule="FREQ=MONTHLY;BYMONTHDAY=-1",
        starts_on=dt.date(2026, 1, 1),
        version=1,
    )
    updated = await inspections.update_schedule(personas["alice"], schedule.id, data, ZONE, now)
    assert updated.version == 2
    assert updated.next_due_at == dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)
    with pytest.raises(Conflict):
        await inspections.update_schedule(
            personas["alice"],
            schedule.id,
            ScheduleIn(
                **{**{f: getattr(data, f) for f in data.__struct_fields__}, "rrule": "FREQ=DAILY"}
            ),
            ZONE,
            now,
        )
    again = await inspections.get_schedule(personas["alice"], schedule.id)
    assert (again.rrule, again.version) == ("FREQ=MONTHLY;BYMONTHDAY=-1", 2)


async def test_only_supervisors_edit_schedules(personas, now):
    asset = await make_asset()
    for who in ("bob", "carol", "dave"):
        with pytest.raises(PermissionDenied):
            await make_schedule(personas[who], asset, now)
        with pytest.raises(PermissionDenied):
            await inspections.apply_default_schedules(personas[who], asset.id, ZONE, now)


async def test_default_schedules_follow_the_policy_and_apply_once(personas, now):
    asset = await make_asset(asset_type=AssetType.SUSPENSION_FOOTBRIDGE, maintenance_grade="I")
    created = await inspections.apply_default_schedules(personas["alice"], asset.id, ZONE, now)
    rows = {s.inspection_type: s for s in await inspections.list_schedules(SYSTEM, asset.id)}
    assert created == len(rows) == 6
    assert set(rows) == {
        "patrol",
        "routine_monthly",
        "periodic_routine",
        "periodic_structural",
        "hands_on_critical",
        "pre_holiday",
    }
    assert rows["patrol"].rrule == "FREQ=DAILY"  # maintenance grade I: daily patrol
    assert rows["periodic_structural"].anchor == Anchor.FLOATING
    assert rows["periodic_routine"].checklist == await checklist_id("suspension_periodic")
    # a second click adds nothing
    assert await inspections.apply_default_schedules(personas["alice"], asset.id, ZONE, now) == 0
    assert await InspectionSchedule.count() == 6


async def test_ungraded_playground_gets_weekly_patrol(personas, now):
    asset = await make_asset(asset_type=AssetType.PLAYGROUND)
    await inspections.apply_default_schedules(personas["alice"], asset.id, ZONE, now)
    rows = {s.inspection_type: s.rrule for s in await inspections.list_schedules(SYSTEM, asset.id)}
    assert rows == {
        "patrol": "FREQ=WEEKLY;BYDAY=MO",
        "routine_monthly": "FREQ=MONTHLY;BYMONTHDAY=1",
        "pre_holiday": "FREQ=YEARLY;BYMONTH=4,9;BYMONTHDAY=21",
    }


# --- recording and the state machine ---------------------------------------------------------


async def test_lifecycle_planned_in_progress_submitted_final(personas, now, settings):
    asset, parts = await footbridge()
    inspection = await plan(personas["alice"], asset, now)
    assert inspection.state == State.PLANNED
    started = await inspections.start(personas["bob"], inspection.id, inspection.version, now)
    assert (started.state, started.inspector) == (State.IN_PROGRESS, personas["bob"].id)
    await record(
        personas["bob"],
        started,
        now,
        scores_for(parts, 95, 92, 94),
        weather="sunny",
        summary="桥况良好",
    )
    submitted = await submit(personas["bob"], started, now)
    assert submitted.state == State.SUBMITTED
    with pytest.raises(InvalidTransition):
        await record(personas["bob"], submitted, now, scores_for(parts, 10, 10, 10))
    final = await finalise(personas["alice"], submitted, now, settings.media_path)
    assert (final.state, final.reviewer, final.grade) == (State.FINAL, personas["alice"].id, "A")
    assert final.bci == pytest.approx(0.15 * 95 + 0.45 * 92 + 0.40 * 94, abs=0.05)
    assert final.passed is True
    with pytest.raises(InvalidTransition):
        await inspections.add_finding(
            personas["bob"], final.id, FindingIn(description="too late"), now
        )
    actions = [
        e["action"]
        for e in await AuditEvent.select(AuditEvent.action)
        .where(AuditEvent.entity_type == "inspection")
        .order_by(AuditEvent.id)
    ]
    assert actions == [
        "inspection.created",
        "inspection.started",
        "inspection.recorded",
        "inspection.recommended",  # issue 16: the chosen recommendation (no default) is audited
        "inspection.submitted",
        "inspection.finalised",
        "inspection.finalised_unscored",  # issue 16: the lamp was not scored; the kit's reason
        "inspection.report_archived",  # issue 18: the report filed once the finalisation committed
    ]


async def test_stale_version_is_a_conflict(personas, now):
    asset = await make_asset()
    inspection = await plan(personas["alice"], asset, now)
    await inspections.start(personas["bob"], inspection.id, inspection.version, now)
    with pytest.raises(Conflict):
        await inspections.start(personas["bob"], inspection.id, inspection.version, now)
    with pytest.raises(Conflict):
        await inspections.save_record(
            personas["bob"], inspection.id, RecordIn(version=inspection.version), now
        )


async def test_record_refuses_components_and_items_that_are_not_this_inspections(personas, now):
    asset, _parts = await footbridge()
    other = await make_asset()
    foreign = await make_component(other, "别的桥的主缆")
    inspection = await plan(
        personas["alice"], asset, now, checklist_id=await checklist_id("patrol")
    )
    with pytest.raises(ValidationFailed) as caught:
        await inspections.save_record(
            personas["bob"],
            inspection.id,
            RecordIn(
                version=1,
                conditions=[ConditionIn(component_id=foreign.id, score=50)],
                answers={"railing": Answer.OK, "no_such_item": Answer.NOT_OK},
            ),
            now,
        )
    assert set(caught.value.errors) == {"conditions.0", "answers.no_such_item"}
    assert (await inspections.get_inspection(SYSTEM, inspection.id)).version == 1


async def test_permissions_viewer_and_crew_cannot_record_inspector_cannot_finalise(
    personas, now, settings
):
    asset, parts = await footbridge()
    inspection = await plan(personas["alice"], asset, now)
    for who in ("carol", "dave"):
        with pytest.raises(PermissionDenied):
            await inspections.start(personas[who], inspection.id, 1, now)
        with pytest.raises(PermissionDenied):
            await inspections.save_record(personas[who], inspection.id, RecordIn(version=1), now)
        with pytest.raises(PermissionDenied):
            await inspections.add_finding(
                personas[who], inspection.id, FindingIn(description="x"), now
            )
        with pytest.raises(PermissionDenied):
            await plan(personas[who], asset, now)
    await record(personas["bob"], inspection, now, scores_for(parts, 90, 90, 90))
    await submit(personas["bob"], inspection, now)
    for who in ("bob", "carol", "dave"):
        with pytest.raises(PermissionDenied):
            await finalise(personas[who], inspection, now, settings.media_path)
    assert (await inspections.get_inspection(SYSTEM, inspection.id)).state == State.SUBMITTED
    # everyone on the staff may read
    assert (await inspections.get_inspection(personas["dave"], inspection.id)).id == inspection.id


async def test_planning_checks_the_people_and_things_it_names(personas, now):
    asset = await make_asset()
    with pytest.raises(ValidationFailed) as caught:
        await plan(
            personas["alice"], asset, now, inspector_id=9999, team_id=9998, checklist_id=9997
        )
    assert set(caught.value.errors) == {"inspector_id", "team_id", "checklist_id"}
    with pytest.raises(NotFound):
        await inspections.get_inspection(SYSTEM, 2**40)


# --- finalising: grade and the next due date -------------------------------------------------


async def test_finalising_updates_the_asset_grade(personas, now, settings):
    asset, parts = await footbridge()
    # 0.15*80 + 0.45*90 + 0.40*70 = 80.5: grade B
    final = await graded(personas, asset, now, settings.media_path, scores_for(parts, 80, 90, 70))
    assert (final.bci, final.grade) == (80.5, "B")
    fresh = await Asset.objects().where(Asset.id == asset.id).first()
    assert fresh.condition_grade == "B"
    assert fresh.condition_graded_on == dt.date(2026, 11, 28)
    history = await inspections.grade_history(asset.id)
    assert [(h["grade"], h["bci"]) for h in history] == [("B", 80.5)]


async def test_direct_control_defect_caps_the_grade_at_d(personas, now, settings):
    asset, parts = await footbridge()
    final = await graded(
        personas,
        asset,
        now,
        settings.media_path,
        scores_for(parts, 95, 95, 95),
        findings=[
            FindingIn(
                description="吊杆断丝",
                is_direct_control=True,
                urgency=Urgency.MEDIUM,
                severity=Severity.SEVERE,
            )
        ],
    )
    assert final.bci == 95.0
    assert (final.grade, final.passed) == ("D", False)


async def test_finalising_moves_a_floating_schedule_from_the_completion(personas, now, settings):
    asset, parts = await footbridge()
    schedule = await make_schedule(
        personas["alice"],
        asset,
        now,
        rule="FREQ=MONTHLY;INTERVAL=6",
        anchor=Anchor.FLOATING,
        starts_on=dt.date(2026, 11, 1),
        inspection_type=InspectionType.PERIODIC_ROUTINE,
    )
    assert schedule.next_due_at == dt.datetime(2027, 5, 1, 1, 0, tzinfo=dt.UTC)
    raised_at = dt.datetime(2027, 5, 1, 2, 0, tzinfo=dt.UTC)
    assert int(await inspections.raise_due(raised_at, ZONE)) == 1
    inspection = await Inspection.objects().where(Inspection.schedule == schedule.id).first()
    # floating: nothing more is due until this one is completed
    assert (await inspections.get_schedule(SYSTEM, schedule.id)).next_due_at is None
    done = dt.datetime(2027, 5, 20, 7, 0, tzinfo=dt.UTC)  # 15:00 in Shanghai
    await record(personas["bob"], inspection, done, scores_for(parts, 90, 90, 90))
    await submit(personas["bob"], inspection, done)
    await finalise(personas["alice"], inspection, done, settings.media_path)
    moved = await inspections.get_schedule(SYSTEM, schedule.id)
    assert moved.last_completed_at == done
    assert moved.next_due_at == dt.datetime(2027, 11, 20, 7, 0, tzinfo=dt.UTC)


async def test_finalising_leaves_a_fixed_schedule_on_its_calendar(personas, now, settings):
    asset, parts = await footbridge()
    schedule = await make_schedule(personas["alice"], asset, now)
    await inspections.raise_due(dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC), ZONE)
    inspection = await Inspection.objects().where(Inspection.schedule == schedule.id).first()
    late = dt.datetime(2026, 12, 9, 2, 0, tzinfo=dt.UTC)
    await record(personas["bob"], inspection, late, scores_for(parts, 90, 90, 90))
    await submit(personas["bob"], inspection, late)
    await finalise(personas["alice"], inspection, late, settings.media_path)
    fresh = await inspections.get_schedule(SYSTEM, schedule.id)
    assert fresh.last_completed_at == late
    assert fresh.next_due_at == dt.datetime(2027, 1, 1, 1, 0, tzinfo=dt.UTC)


# --- findings and tickets ------------------------------------------------------------------


async def test_finding_to_ticket_carries_the_photos_over(personas, now, settings):
    asset, parts = await footbridge()
    inspection = await plan(personas["alice"], asset, now)
    finding = await inspections.add_finding(
        personas["bob"],
        inspection.id,
        FindingIn(
            component_id=parts["deck"].id,
            defect_type=DefectType.ROT,
            severity=Severity.MODERATE,
            urgency=Urgency.MEDIUM,
            description="3号至7号木桥面板腐朽",
        ),
        now,
    )
    for colour in ((200, 40, 40), (40, 200, 40)):
        await inspections.add_photo(
            personas["bob"],
            inspection.id,
            png(colour),
            finding.id,
            "腐朽处",
            settings.media_path,
            settings.max_upload_bytes,
            now,
        )
    ticket_id = await inspections.finding_to_ticket(
        personas["bob"], finding.id, settings.media_path, now
    )
    ticket = await RepairTicket.objects().where(RepairTicket.id == ticket_id).first()
    assert ticket.asset == asset.id and ticket.component == parts["deck"].id
    assert (ticket.source, ticket.priority) == (Source.INSPECTION, Priority.P2)
    assert "3号至7号木桥面板腐朽" in ticket.title
    attachments = await TicketAttachment.objects().where(TicketAttachment.ticket == ticket_id)
    assert len(attachments) == 2
    assert {a.tag for a in attachments} == {PhotoTag.BEFORE}
    assert all(a.content_type == "image/png" and a.caption == "腐朽处" for a in attachments)
    for a in attachments:
        stored = settings.media_path / a.storage_key
        assert Image.open(stored).size == (32, 24)
    fresh = await Finding.objects().where(Finding.id == finding.id).first()
    assert (fresh.status, fresh.ticket) == (FindingStatus.TICKETED, ticket_id)
    # the button pressed again opens nothing new
    again = await inspections.finding_to_ticket(
        personas["bob"], finding.id, settings.media_path, now
    )
    assert again == ticket_id
    assert await RepairTicket.count() == 1


async def test_viewers_cannot_open_tickets_from_findings(personas, now, settings):
    asset = await make_asset()
    inspection = await plan(personas["alice"], asset, now)
    finding = await inspections.add_finding(
        personas["bob"], inspection.id, FindingIn(description="x"), now
    )
    with pytest.raises(PermissionDenied):
        await inspections.finding_to_ticket(personas["dave"], finding.id, settings.media_path, now)
    with pytest.raises(NotFound):
        await inspections.finding_to_ticket(personas["bob"], 987654, settings.media_path, now)


async def test_urgent_findings_and_failed_items_open_tickets_on_finalising(personas, now, settings):
    asset, parts = await footbridge()
    inspection = await plan(
        personas["alice"], asset, now, checklist_id=await checklist_id("patrol")
    )
    fresh = await inspections.get_inspection(SYSTEM, inspection.id)
    await inspections.save_record(
        personas["bob"],
        inspection.id,
        RecordIn(
            version=fresh.version,
            answers={
                "railing": Answer.NOT_OK,
                "lighting": Answer.NOT_OK,
                "deck_surface": Answer.OK,
            },
            answer_notes={"railing": "东侧栏杆松动"},
            conditions=[
                ConditionIn(component_id=parts["deck"].id, score=85),
                ConditionIn(component_id=parts["cable"].id, score=85),
                ConditionIn(component_id=parts["abutment"].id, score=85),
            ],
            # issue 16: no default recommendation any more; submitting needs one chosen
            recommendation=Recommendation.NONE,
        ),
        now,
    )
    short = await inspections.add_finding(
        personas["bob"],
        inspection.id,
        FindingIn(
            component_id=parts["abutment"].id,
            urgency=Urgency.SHORT,
            severity=Severity.SEVERE,
            defect_type=DefectType.SETTLEMENT,
            description="桥台沉降",
        ),
        now,
    )
    await inspections.add_photo(
        personas["bob"],
        inspection.id,
        png(),
        short.id,
        "",
        settings.media_path,
        settings.max_upload_bytes,
        now,
    )
    planned = await inspections.add_finding(
        personas["bob"],
        inspection.id,
        FindingIn(urgency=Urgency.PLANNED, description="油漆剥落"),
        now,
    )
    await submit(personas["bob"], inspection, now)
    await finalise(personas["alice"], inspection, now, settings.media_path)

    tickets = {t.title: t for t in await RepairTicket.objects()}
    by_finding = {f.id: f for f in await Finding.objects()}
    assert by_finding[short.id].ticket is not None
    assert by_finding[planned.id].ticket is None  # not urgent: a button, not automatic
    assert by_finding[planned.id].status == FindingStatus.OPEN
    short_ticket = next(t for t in tickets.values() if t.id == by_finding[short.id].ticket)
    assert short_ticket.priority == Priority.P1
    assert await TicketAttachment.count().where(TicketAttachment.ticket == short_ticket.id) == 1
    failed = [t for t in tickets.values() if t.id != short_ticket.id]
    assert len(failed) == 2
    railing = next(t for t in failed if "栏杆" in t.title)
    lighting = next(t for t in failed if "照明" in t.title)
    assert railing.priority == Priority.P1  # a critical item
    assert railing.description.endswith("东侧栏杆松动")  # the inspector's note carried over
    assert lighting.priority == Priority.P2
    # each failed item is a finding of this inspection, linked to its ticket
    for ticket in (railing, lighting):
        finding = next(f for f in by_finding.values() if f.ticket == ticket.id)
        assert (finding.inspection, finding.status) == (inspection.id, FindingStatus.TICKETED)
        assert ticket.title in finding.description


# --- rules ---------------------------------------------------------------------------------


async def test_grade_e_proposes_a_closure_opens_p0_and_plans_a_special_inspection(
    personas, now, settings
):
    asset, parts = await footbridge()
    final = await graded(personas, asset, now, settings.media_path, scores_for(parts, 30, 40, 45))
    assert final.grade == "E"
    proposal = await ClosureProposal.objects().where(ClosureProposal.asset == asset.id).first()
    assert (proposal.scope, proposal.status) == ("full", "proposed")
    assert f"#{final.id}" in proposal.reason
    p0 = await RepairTicket.objects().where(RepairTicket.priority == Priority.P0)
    assert len(p0) == 1 and p0[0].asset == asset.id
    special = await Inspection.objects().where(
        (Inspection.inspection_type == InspectionType.SPECIAL) & (Inspection.id != final.id)
    )
    assert len(special) == 1 and special[0].due_at == now + dt.timedelta(days=7)
    firings = await inspections.list_firings(SYSTEM, asset.id)
    assert [f["rule_code"] for f in firings] == ["grade_e_or_immediate_critical"]
    assert firings[0]["outcome"] == {
        "closure_proposal": proposal.id,
        "ticket": p0[0].id,
        "special_inspection": special[0].id,
    }
    assert (await Asset.objects().where(Asset.id == asset.id).first()).condition_grade == "E"
    assert [p["id"] for p in await inspections.list_proposals(SYSTEM, asset.id)] == [proposal.id]


async def test_immediate_defect_on_a_critical_component_fires_whatever_the_grade(
    personas, now, settings
):
    asset, parts = await footbridge()
    final = await graded(
        personas,
        asset,
        now,
        settings.media_path,
        scores_for(parts, 95, 95, 95),
        findings=[
            FindingIn(
                component_id=parts["cable"].id,
                urgency=Urgency.IMMEDIATE,
                severity=Severity.CRITICAL,
                defect_type=DefectType.CORROSION,
                description="主缆锚固端严重锈蚀",
            )
        ],
    )
    assert final.grade == "A"
    codes = [f["rule_code"] for f in await inspections.list_firings(SYSTEM, asset.id)]
    assert codes == ["grade_e_or_immediate_critical"]
    priorities = sorted(t.priority for t in await RepairTicket.objects())
    assert priorities == [Priority.P0, Priority.P0]  # the finding's own and the make-safe one


async def test_grade_d_shortens_intervals_with_the_reason_and_a_better_grade_restores_them(
    personas, now, settings
):
    asset, parts = await footbridge()
    periodic = await make_schedule(
        personas["alice"],
        asset,
        now,
        rule="FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1",
        inspection_type=InspectionType.PERIODIC_ROUTINE,
        starts_on=dt.date(2026, 3, 1),
    )
    patrol = await make_schedule(
        personas["alice"],
        asset,
        now,
        rule="FREQ=WEEKLY;BYDAY=MO",
        inspection_type=InspectionType.PATROL,
        starts_on=dt.date(2026, 1, 5),
        start_time="08:00",
    )
    monthly = await make_schedule(personas["alice"], asset, now)
    assert periodic.next_due_at == dt.datetime(2027, 3, 1, 1, 0, tzinfo=dt.UTC)
    # 0.15*60 + 0.45*60 + 0.40*60 = 60: grade D
    final = await graded(personas, asset, now, settings.media_path, scores_for(parts, 60, 60, 60))
    assert final.grade == "D"
    fresh = {s.id: s for s in await inspections.list_schedules(SYSTEM, asset.id)}
    assert fresh[periodic.id].override_rrule == "FREQ=MONTHLY;INTERVAL=6"
    assert "grade_d" in fresh[periodic.id].override_reason
    assert "2026-11-28" in fresh[periodic.id].override_reason
    assert inspections.effective_rule(fresh[periodic.id]) == "FREQ=MONTHLY;INTERVAL=6"
    # the schedule's own rule, start and time of day are kept
    assert fresh[periodic.id].rrule == "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1"
    assert fresh[periodic.id].starts_at == periodic.starts_at
    assert fresh[periodic.id].next_due_at == dt.datetime(2027, 3, 1, 1, 0, tzinfo=dt.UTC)
    # patrol becomes daily, still at 08:00: tomorrow morning
    assert fresh[patrol.id].override_rrule == "FREQ=DAILY"
    assert fresh[patrol.id].next_due_at == dt.datetime(2026, 11, 29, 0, 0, tzinfo=dt.UTC)
    assert fresh[monthly.id].override_rrule == ""  # not a periodic or patrol schedule
    proposal = await ClosureProposal.objects().where(ClosureProposal.asset == asset.id).first()
    assert proposal.scope == "restricted"
    firings = await RuleFiring.objects()
    assert len(firings) == 1
    assert sorted(json.loads(firings[0].outcome)["schedules"]) == sorted([periodic.id, patrol.id])
    assert await AuditEvent.count().where(AuditEvent.action == "schedule.shortened") == 2

    later = now + dt.timedelta(days=30)
    better = await graded(
        personas, asset, later, settings.media_path, scores_for(parts, 92, 92, 92)
    )
    assert better.grade == "A"
    restored = {s.id: s for s in await inspections.list_schedules(SYSTEM, asset.id)}
    assert restored[periodic.id].override_rrule == restored[periodic.id].override_reason == ""
    assert restored[periodic.id].next_due_at == dt.datetime(2027, 3, 1, 1, 0, tzinfo=dt.UTC)
    assert restored[patrol.id].next_due_at == dt.datetime(2027, 1, 4, 0, 0, tzinfo=dt.UTC)


async def test_shortened_monthly_rule_from_the_31st_does_not_skip_short_months(personas, now):
    asset = await make_asset()
    schedule = await make_schedule(
        personas["alice"],
        asset,
        now,
        rule="FREQ=YEARLY;BYMONTH=8;BYMONTHDAY=31",
        inspection_type=InspectionType.PERIODIC_ROUTINE,
        starts_on=dt.date(2026, 8, 31),
    )
    await inspections._shorten_intervals(asset.id, ZONE, now, "grade D")
    fresh = await inspections.get_schedule(SYSTEM, schedule.id)
    dates = inspections.recurrence.upcoming(
        inspections.effective_rule(fresh), dt.datetime(2026, 8, 31, 9, 0), now, ZONE, 3
    )
    # every six months, on the 31st or the month's last day: never a whole year
    assert [d.astimezone(ZONE).date().isoformat() for d in dates] == [
        "2027-02-28",
        "2027-08-31",
        "2028-02-29",
    ]


async def test_grade_c_opens_a_planned_repair_ticket(personas, now, settings):
    asset, parts = await footbridge()
    final = await graded(personas, asset, now, settings.media_path, scores_for(parts, 70, 70, 70))
    assert final.grade == "C"
    codes = [f["rule_code"] for f in await inspections.list_firings(SYSTEM, asset.id)]
    assert codes == ["grade_c"]
    assert await ClosureProposal.count() == 0


async def test_a_disabled_rule_does_not_fire(personas, now, settings):
    from facilities.inspections.tables import Rule

    await inspections.ensure_rules()
    await Rule.update({Rule.enabled: False}).where(Rule.code == "grade_c")
    asset, parts = await footbridge()
    await graded(personas, asset, now, settings.media_path, scores_for(parts, 70, 70, 70))
    assert await RuleFiring.count() == 0
    assert await RepairTicket.count() == 0


async def test_recommendation_and_summary_are_kept(personas, now, settings):
    asset, parts = await footbridge()
    final = await graded(personas, asset, now, settings.media_path, scores_for(parts, 90, 90, 90))
    inspection = await plan(personas["alice"], asset, now)
    await record(
        personas["bob"],
        inspection,
        now,
        scores_for(parts, 90, 90, 90),
        recommendation=Recommendation.RESTRICT,
        summary="限流通行",
    )
    saved = await inspections.get_inspection(SYSTEM, inspection.id)
    assert (saved.recommendation, saved.summary) == (Recommendation.RESTRICT, "限流通行")
    assert final.recommendation == Recommendation.NONE
