"""Graceful stop and fail-over of ``python -m scheduler``.

In process: a stop waits for the running job (then releases the lock), and a job that overruns
the grace period is cancelled, hands back its outbox claims and is recorded as cancelled.
Out of process: SIGTERM ends a real scheduler cleanly. The PostgreSQL fault tests (twenty
SIGKILLs of the leader at random points, a server restart mid-run) are in
``test_scheduler_faults.py``; the process helpers both use are tests/kit/processes.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import signal
import time
from typing import Any

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from facilities.jobs import services as jobs
from facilities.jobs.tables import JobRun
from facilities.lib.clock import utcnow
from facilities.notifications import services as notifications
from facilities.notifications.choices import Status
from facilities.notifications.tables import Notification
from scheduler import registry, runner
from scheduler.registry import JobSpec
from tests.kit.processes import eventually, start_scheduler, stop_all, tails

# Runs alone, in the main process: scheduler replicas within time bounds, with no second
# worker competing for the two cores.
pytestmark = pytest.mark.serial


def hourly(spec_id: str, func: Any, **fields: Any) -> JobSpec:
    return JobSpec(
        id=spec_id,
        func=func,
        trigger=lambda zone: IntervalTrigger(hours=1, timezone=zone),
        schedule="hourly",
        description=spec_id,
        **fields,
    )


async def other_process_can_lead(settings) -> bool:
    lock = runner.leader_lock(settings)
    if not await lock.acquire():
        return False
    await lock.release()
    return True


# --- in process ----------------------------------------------------------------------------


async def test_stop_waits_for_the_running_job_then_releases_the_lock(app, settings, monkeypatch):
    started, finish = asyncio.Event(), asyncio.Event()

    async def slow(now: dt.datetime, settings: Any) -> int:
        started.set()
        await finish.wait()
        return 7

    monkeypatch.setattr(runner, "JOBS", [hourly("slow", slow)])
    stop = asyncio.Event()
    leading = asyncio.create_task(runner.lead_while_possible(settings, stop, standby=True))
    await asyncio.wait_for(started.wait(), 10)  # a new leader runs its jobs at once
    stop.set()
    done, _ = await asyncio.wait({leading}, timeout=0.5)
    assert not done, "the scheduler stopped under a running job"
    assert not await other_process_can_lead(settings)  # still the leader while the job runs
    finish.set()
    await asyncio.wait_for(leading, 10)
    run = await JobRun.objects().where(JobRun.job_id == "slow").first()
    assert (run.items, run.error, run.finished_at is not None) == (7, "", True)
    assert await other_process_can_lead(settings)


class HangingSender:
    """Takes a message and never finishes sending it."""

    def __init__(self) -> None:
        self.sending = asyncio.Event()

    async def send(self, message: Notification) -> None:
        self.sending.set()
        await asyncio.Event().wait()


async def test_a_job_overrunning_the_grace_period_is_cancelled_and_releases_its_claims(
    app, settings, monkeypatch
):
    now = utcnow()
    await notifications.enqueue(
        to="a@example.org",
        template="password_changed",
        context={"display_name": "A", "at": now},
        language="en",
        dedupe_key="hang",
        now=now,
    )
    sender = HangingSender()

    async def deliver(now: dt.datetime, settings: Any) -> int:
        return await notifications.deliver_due(now, sender, 50, 8)

    spec = dataclasses.replace(registry.BY_ID["deliver_notifications"], func=deliver)
    monkeypatch.setattr(runner, "JOBS", [spec])
    monkeypatch.setattr(runner, "SHUTDOWN_GRACE_SECONDS", 0.3)
    stop = asyncio.Event()
    leading = asyncio.create_task(runner.lead_while_possible(settings, stop, standby=True))
    await asyncio.wait_for(sender.sending.wait(), 10)
    assert (await Notification.objects().first()).status == Status.SENDING
    stop.set()
    await asyncio.wait_for(leading, 10)
    message = await Notification.objects().first()
    assert (message.status, message.claim_token, message.attempts) == (Status.PENDING, "", 0)
    run = await JobRun.objects().where(JobRun.job_id == "deliver_notifications").first()
    assert run.error == runner.CANCELLED_AT_SHUTDOWN
    assert run.detail == "1 claim(s) released"
    assert run.finished_at is not None
    assert await other_process_can_lead(settings)


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: Notification) -> None:
        self.sent.append(message.dedupe_key)


async def test_a_new_leader_sends_at_once_what_a_killed_leader_had_claimed(
    app, settings, monkeypatch
):
    """A leader killed mid-send leaves its claims ("sending"); the next leader hands them back
    as it takes over, so they go out now rather than after the claim timeout, and what the
    dead leader had confirmed sent is not sent again."""
    now = utcnow()
    for key in ("confirmed", "in flight"):
        await notifications.enqueue(
            to="a@example.org",
            template="password_changed",
            context={"display_name": "A", "at": now},
            language="en",
            dedupe_key=key,
            now=now,
        )
    token, claimed = await notifications.claim_due(now, 10)  # the leader that will die
    assert len(claimed) == 2
    await Notification.update({Notification.status: Status.SENT, Notification.sent_at: now}).where(
        Notification.dedupe_key == "confirmed"
    )
    _token, nothing = await notifications.claim_due(now, 10)
    assert nothing == []  # without a takeover the claim holds until CLAIM_TIMEOUT
    sender = RecordingSender()

    async def deliver(now: dt.datetime, settings: Any) -> int:
        return await notifications.deliver_due(now, sender, 50, 8)

    spec = dataclasses.replace(registry.BY_ID["deliver_notifications"], func=deliver)
    monkeypatch.setattr(runner, "JOBS", [spec])
    stop = asyncio.Event()
    leading = asyncio.create_task(runner.lead_while_possible(settings, stop, standby=True))

    async def delivered() -> bool:
        return await JobRun.exists().where(JobRun.finished_at.is_not_null())

    try:
        await eventually(delivered, 10, "the new leader's delivery run")
    finally:
        stop.set()
        await asyncio.wait_for(leading, 10)
    assert sender.sent == ["in flight"]
    rows = await Notification.objects().order_by(Notification.dedupe_key)
    assert [(m.dedupe_key, m.status) for m in rows] == [
        ("confirmed", Status.SENT),
        ("in flight", Status.SENT),
    ]
    assert all(m.claim_token != token for m in rows if m.dedupe_key == "in flight")


async def test_a_new_leader_closes_the_runs_a_dead_leader_left_open(app):
    """The history must not show a killed leader's run as running forever; a manual run by
    another process may still be going and stays open; a closed run keeps its outcome."""
    now = utcnow()
    dead = await jobs.start_run("raise_inspections", now, "dead-host:41", "schedule")
    manual = await jobs.start_run("raise_inspections", now, "laptop:7", "manual")
    done = await jobs.start_run("send_reminders", now, "dead-host:41", "schedule")
    await jobs.finish_run(done, now, 3)
    await runner.recover_claims()
    runs = {r.id: r for r in await JobRun.objects()}
    assert runs[dead].finished_at is not None and runs[dead].error == jobs.ABANDONED
    assert runs[manual].finished_at is None
    assert (runs[done].items, runs[done].error) == (3, "")


def test_every_job_runs_at_once_when_a_scheduler_takes_over(settings):
    scheduler = runner.build_scheduler(settings)
    before = dt.datetime.now(settings.zone)
    for spec in registry.JOBS:  # daily ones too: a run due during a fail-over is not lost
        assert scheduler.get_job(spec.id).next_run_time <= before


# --- real processes ------------------------------------------------------------------------


async def test_sigterm_stops_a_real_scheduler_cleanly_and_frees_the_lock(app, settings, tmp_path):
    process = start_scheduler(settings, tmp_path, "one")
    try:
        runner_name = f"{os.uname().nodename}:{process.pid}"

        async def has_run() -> bool:
            return await JobRun.exists().where(JobRun.runner == runner_name)

        await eventually(has_run, 30, "the scheduler to lead and run its jobs")
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 30)
        stopped = time.monotonic() - started
    finally:
        stop_all([process])
    log = (tmp_path / "one.log").read_text(errors="replace")
    assert code == 0, tails(tmp_path)
    assert "SIGTERM received: stopping" in log
    assert "stopped leading" in log
    assert stopped < 10
    assert await other_process_can_lead(settings)
    unfinished = await JobRun.count().where(JobRun.finished_at.is_null())
    assert unfinished == 0  # every run it started was finished (or recorded as cancelled)
