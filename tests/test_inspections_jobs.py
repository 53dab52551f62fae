"""The scheduler's inspection jobs: raising exactly once (twice, after a crash, two at once, after
ten days down) and reminders delivered exactly once over real SMTP, escalating when overdue."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import email
from collections.abc import Iterator
from email import policy

import jinja2
import pytest

from facilities.accounts.permissions import SYSTEM
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType, State
from facilities.inspections.tables import Inspection, InspectionSchedule, ReminderSent
from facilities.jobs.tables import JobRun
from facilities.notifications import services as notifications
from facilities.notifications.senders import SmtpSender
from facilities.notifications.tables import Notification
from facilities.web.templating import environment
from scheduler import registry, runner
from tests.kit.assets import make_asset
from tests.kit.constants import ZONE
from tests.kit.database import on_postgres
from tests.kit.inspections import make_schedule, make_team

pytestmark = pytest.mark.usefixtures("seeded_policy")  # the inspection policy, for every test

DAY = dt.timedelta(days=1)


async def inspections_of(schedule_id: int) -> list[Inspection]:
    return (
        await Inspection.objects()
        .where(Inspection.schedule == schedule_id)
        .order_by(Inspection.due_at)
    )


async def next_due(schedule_id: int) -> dt.datetime | None:
    return (await inspections.get_schedule(SYSTEM, schedule_id)).next_due_at


# --- raising -------------------------------------------------------------------------------


async def test_raising_twice_raises_once(personas, now):
    asset = await make_asset()
    schedule = await make_schedule(personas["alice"], asset, now, tolerance_days=2)
    due = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    assert schedule.next_due_at == due
    before = await inspections.raise_due(due - dt.timedelta(minutes=1), ZONE)
    assert int(before) == 0  # not yet due (no lead time)
    at = due + dt.timedelta(minutes=5)
    first = await inspections.raise_due(at, ZONE)
    second = await inspections.raise_due(at, ZONE)
    assert (int(first), int(second)) == (1, 0)
    rows = await inspections_of(schedule.id)
    assert len(rows) == 1
    assert (rows[0].due_at, rows[0].state, rows[0].asset) == (due, State.PLANNED, asset.id)
    assert rows[0].window_ends_at == due + 2 * DAY
    assert rows[0].inspection_type == InspectionType.ROUTINE_MONTHLY
    assert await next_due(schedule.id) == dt.datetime(2027, 1, 1, 1, 0, tzinfo=dt.UTC)


async def test_lead_days_raise_ahead_of_the_due_date(personas, now):
    asset = await make_asset()
    schedule = await make_schedule(personas["alice"], asset, now, lead_days=5)
    # due 2026-12-01 09:00; five days ahead is 11-26 09:00, already past at ``now`` (11-28)
    assert int(await inspections.raise_due(now, ZONE)) == 1
    assert (await inspections_of(schedule.id))[0].due_at == dt.datetime(
        2026, 12, 1, 1, 0, tzinfo=dt.UTC
    )


async def test_each_schedule_keeps_its_own_lead_time_under_the_longest(personas, now):
    """A run reads only schedules due within the longest lead time in use; inside that bound
    each schedule is still due by its own lead time."""
    asset = await make_asset()
    short = await make_schedule(personas["alice"], asset, now, lead_days=2)
    long = await make_schedule(personas["alice"], asset, now, lead_days=10)
    # both due 2026-12-01 09:00; at ``now`` (11-28) that is inside 10 days, not inside 2
    assert int(await inspections.raise_due(now, ZONE)) == 1
    assert [len(await inspections_of(s.id)) for s in (short, long)] == [0, 1]
    assert int(await inspections.raise_due(now + 2 * DAY, ZONE)) == 1
    assert [len(await inspections_of(s.id)) for s in (short, long)] == [1, 1]


async def test_crash_between_insert_and_next_due_update_still_raises_once(personas, now):
    asset = await make_asset()
    schedule = await make_schedule(personas["alice"], asset, now)
    due = schedule.next_due_at
    assert due is not None
    # The first run inserted its inspection and died before moving next_due_at.
    await Inspection.insert(
        Inspection(
            asset=asset.id,
            schedule=schedule.id,
            occurrence_key=inspections.occurrence_key(schedule.id, due),
            inspection_type=schedule.inspection_type,
            state=State.PLANNED,
            due_at=due,
            window_ends_at=due,
            answers="{}",
            created_at=now,
            updated_at=now,
        )
    )
    assert await next_due(schedule.id) == due
    result = await inspections.raise_due(due + dt.timedelta(minutes=10), ZONE)
    assert int(result) == 0
    assert len(await inspections_of(schedule.id)) == 1
    assert await next_due(schedule.id) == dt.datetime(2027, 1, 1, 1, 0, tzinfo=dt.UTC)
    # and the next occurrence is raised normally, once
    await inspections.raise_due(dt.datetime(2027, 1, 1, 2, 0, tzinfo=dt.UTC), ZONE)
    await inspections.raise_due(dt.datetime(2027, 1, 1, 2, 0, tzinfo=dt.UTC), ZONE)
    assert len(await inspections_of(schedule.id)) == 2


async def test_two_concurrent_raise_runs_raise_each_occurrence_once(app, personas, now):
    if not on_postgres():
        pytest.skip("two real concurrent writers need PostgreSQL")
    schedules = []
    for _ in range(12):
        asset = await make_asset()
        schedules.append(await make_schedule(personas["alice"], asset, now))
    at = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
    results = await asyncio.gather(
        inspections.raise_due(at, ZONE, batch=5), inspections.raise_due(at, ZONE, batch=5)
    )
    assert sum(int(r) for r in results) == 12
    for schedule in schedules:
        assert len(await inspections_of(schedule.id)) == 1
        assert await next_due(schedule.id) == dt.datetime(2027, 1, 1, 1, 0, tzinfo=dt.UTC)
    assert await Inspection.count() == 12


async def test_ten_days_down_coalesce_into_one_inspection_and_the_run_says_so(
    app, settings, personas, now
):
    asset = await make_asset()
    schedule = await make_schedule(
        personas["alice"],
        asset,
        now,
        rule="FREQ=DAILY",
        starts_on=dt.date(2026, 11, 29),
        inspection_type=InspectionType.PATROL,
        start_time="08:00",
    )
    first_due = dt.datetime(2026, 11, 29, 0, 0, tzinfo=dt.UTC)
    assert schedule.next_due_at == first_due
    back = first_due + 10 * DAY + dt.timedelta(hours=2)  # 12-09 10:00 Shanghai
    spec = registry.BY_ID["raise_inspections"]
    items = await runner.run_job(spec, settings, now=back)
    assert items == 1
    rows = await inspections_of(schedule.id)
    assert len(rows) == 1
    assert rows[0].due_at == first_due + 10 * DAY  # the latest missed one
    run = await JobRun.objects().where(JobRun.job_id == "raise_inspections").first()
    assert run.items == 1
    assert "10 missed occurrence(s) coalesced" in run.detail
    assert await next_due(schedule.id) == first_due + 11 * DAY
    # a rerun raises nothing and claims no coalescing it did not do
    assert await runner.run_job(spec, settings, now=back) == 0
    last = await JobRun.objects().order_by(JobRun.id, ascending=False).first()
    assert (last.items, last.detail) == (0, "")


async def test_coalescing_counts_only_the_occurrences_this_run_raised(personas, now):
    """Two patrols down for ten days share a group; one's latest occurrence exists already (a
    row written before the run): only the other is raised, and only its ten folded occurrences
    are reported."""
    schedules = []
    for _ in range(2):
        asset = await make_asset()
        schedules.append(
            await make_schedule(
                personas["alice"],
                asset,
                now,
                rule="FREQ=DAILY",
                starts_on=dt.date(2026, 11, 29),
                inspection_type=InspectionType.PATROL,
                start_time="08:00",
            )
        )
    first_due = dt.datetime(2026, 11, 29, 0, 0, tzinfo=dt.UTC)
    latest = first_due + 10 * DAY
    await Inspection.insert(
        Inspection(
            asset=schedules[0].asset,
            schedule=schedules[0].id,
            occurrence_key=inspections.occurrence_key(schedules[0].id, latest),
            inspection_type=InspectionType.PATROL,
            state=State.PLANNED,
            due_at=latest,
            window_ends_at=latest,
            answers="{}",
            created_at=now,
            updated_at=now,
        )
    )
    result = await inspections.raise_due(latest + dt.timedelta(hours=2), ZONE)
    assert (result.raised, result.coalesced) == (1, 10)
    for schedule in schedules:
        assert len(await inspections_of(schedule.id)) == 1
        assert await next_due(schedule.id) == latest + DAY


async def test_batches_split_by_id_raise_every_schedule_once(personas, now):
    """Schedules of one group spread over several batches (and the last, open-ended one)."""
    schedules = [await make_schedule(personas["alice"], await make_asset(), now) for _ in range(7)]
    at = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
    assert int(await inspections.raise_due(at, ZONE, batch=3)) == 7
    assert int(await inspections.raise_due(at, ZONE, batch=3)) == 0
    for schedule in schedules:
        assert len(await inspections_of(schedule.id)) == 1
        assert await next_due(schedule.id) == dt.datetime(2027, 1, 1, 1, 0, tzinfo=dt.UTC)


async def test_suspended_schedules_raise_nothing(personas, now):
    asset = await make_asset()
    schedule = await make_schedule(personas["alice"], asset, now, is_suspended=True)
    assert int(await inspections.raise_due(dt.datetime(2027, 6, 1, tzinfo=dt.UTC), ZONE)) == 0
    assert await inspections_of(schedule.id) == []


# --- reminders over real SMTP --------------------------------------------------------------

EMAIL_KINDS = ("before_due", "due_day", "overdue_lead", "overdue_supervisor")


@pytest.fixture
def inspection_emails() -> Iterator[None]:
    """Stand-ins for the reminder e-mails, with the same context, whose subjects name the kind:
    the assertions below read which reminder went to whom. (The real templates are rendered in
    both languages by tests/test_templates.py.)"""
    env = environment()
    stand_ins: dict[str, str] = {}
    for kind in EMAIL_KINDS:
        for suffix, body in (
            ("subject.txt", f"[{kind}] {{{{ asset_code }}}} #{{{{ inspection_id }}}}"),
            (
                "txt",
                f"{kind}: inspection #{{{{ inspection_id }}}} of {{{{ asset_code }}}} "
                "{{ asset_name }} due {{ due }}",
            ),
        ):
            stand_ins[f"emails/inspection_{kind}.{suffix}"] = body
    original = env.loader
    env.loader = jinja2.ChoiceLoader([jinja2.DictLoader(stand_ins), original])  # type: ignore[list-item]
    if env.cache is not None:
        env.cache.clear()
    try:
        yield
    finally:
        env.loader = original
        if env.cache is not None:
            env.cache.clear()


def smtp_sender(settings, smtp_server) -> SmtpSender:
    return SmtpSender(
        dataclasses.replace(
            settings,
            email_backend="smtp",
            smtp_host="127.0.0.1",
            smtp_port=smtp_server.port,
            mail_from="facilities@bureau.example",
        )
    )


async def deliver(settings, smtp_server, at: dt.datetime) -> list[tuple[str, str]]:
    """Send what is due; (recipient, subject) of each message the SMTP server received."""
    start = len(smtp_server.messages)
    await notifications.deliver_due(at, smtp_sender(settings, smtp_server), 50, 3)
    received = []
    for envelope in smtp_server.messages[start:]:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        received.append((str(message["To"]), str(message["Subject"])))
    return sorted(received)


async def reminded_schedule(personas, now):
    asset = await make_asset(code="GX-QL-PH-001")
    team = await make_team(lead=personas["bob"])
    schedule = await make_schedule(
        personas["alice"], asset, now, lead_days=3, tolerance_days=2, team_id=team
    )
    assert int(await inspections.raise_due(now, ZONE)) == 1
    inspection = (await inspections_of(schedule.id))[0]
    return inspection


async def test_reminders_are_delivered_once_each_and_escalate_when_overdue(
    personas, now, settings, smtp_server, inspection_emails
):
    inspection = await reminded_schedule(personas, now)
    due = inspection.due_at  # 2026-12-01 09:00 Shanghai
    mailbox, lead = "bridges@bureau.example", "bob@bureau.example"
    supervisors = ["admin@bureau.example", "alice@bureau.example"]
    key = f"#{inspection.id}"

    # three days ahead (lead time): the team's mailbox and its lead
    assert await inspections.send_reminders(now, ZONE) == 1
    assert await inspections.send_reminders(now + dt.timedelta(hours=1), ZONE) == 0
    assert await deliver(settings, smtp_server, now) == sorted(
        [
            (mailbox, f"[before_due] GX-QL-PH-001 {key}"),
            (lead, f"[before_due] GX-QL-PH-001 {key}"),
        ]
    )
    # the due day, in the morning before the due hour
    morning = due - dt.timedelta(minutes=30)
    assert await inspections.send_reminders(morning, ZONE) == 1
    assert await inspections.send_reminders(morning, ZONE) == 0
    assert [to for to, _s in await deliver(settings, smtp_server, morning)] == sorted(
        [mailbox, lead]
    )
    # within the tolerance window nothing more
    assert await inspections.send_reminders(due + DAY, ZONE) == 0
    # past the window: the team lead only
    overdue = inspection.window_ends_at + dt.timedelta(hours=1)
    assert await inspections.send_reminders(overdue, ZONE) == 1
    assert await inspections.send_reminders(overdue + DAY, ZONE) == 0
    assert await deliver(settings, smtp_server, overdue) == [
        (lead, f"[overdue_lead] GX-QL-PH-001 {key}"),
    ]
    # three days after the window: the supervisors
    later = inspection.window_ends_at + dt.timedelta(days=3, hours=1)
    assert await inspections.send_reminders(later, ZONE) == 1
    assert await inspections.send_reminders(later + DAY, ZONE) == 0
    assert [to for to, _s in await deliver(settings, smtp_server, later)] == supervisors
    # a further run of the jobs sends nothing at all
    assert await inspections.send_reminders(later + 10 * DAY, ZONE) == 0
    assert await deliver(settings, smtp_server, later + 10 * DAY) == []
    assert len(smtp_server.messages) == 7
    kinds = [r.kind for r in await ReminderSent.objects().order_by(ReminderSent.id)]
    assert kinds == ["before_due", "due_day", "overdue_lead", "overdue_supervisor"]


async def test_an_inspection_found_overdue_skips_the_pointless_reminders(
    personas, now, settings, smtp_server, inspection_emails
):
    inspection = await reminded_schedule(personas, now)
    much_later = inspection.window_ends_at + dt.timedelta(days=5)
    assert await inspections.send_reminders(much_later, ZONE) == 2
    sent = await deliver(settings, smtp_server, much_later)
    subjects = {s.split("]")[0] for _to, s in sent}
    assert subjects == {"[overdue_lead", "[overdue_supervisor"}
    assert await Notification.count().where(Notification.template.like("%before_due")) == 0


async def test_finished_inspections_get_no_reminders(
    personas, now, settings, smtp_server, inspection_emails
):
    inspection = await reminded_schedule(personas, now)
    await Inspection.update({Inspection.state: State.SUBMITTED}).where(
        Inspection.id == inspection.id
    )
    assert await inspections.send_reminders(inspection.window_ends_at + 5 * DAY, ZONE) == 0


async def test_reminder_job_runs_through_the_runner(
    app, settings, personas, now, smtp_server, inspection_emails
):
    await reminded_schedule(personas, now)
    items = await runner.run_job(registry.BY_ID["inspection_reminders"], settings, now=now)
    assert items == 1
    assert await InspectionSchedule.count() == 1
