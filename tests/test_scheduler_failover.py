"""Graceful stop and fail-over of ``python -m scheduler``.

In process: a stop waits for the running job (then releases the lock), and a job that overruns
the grace period is cancelled, hands back its outbox claims and is recorded as cancelled.
Out of process: SIGTERM ends a real scheduler cleanly; on PostgreSQL three real replicas survive
five SIGKILLs of their leader with every e-mail sent exactly once and every inspection raised once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from apscheduler.triggers.interval import IntervalTrigger

from facilities.inspections.choices import InspectionType
from facilities.inspections.tables import Inspection, InspectionSchedule
from facilities.jobs.tables import JobRun
from facilities.lib.clock import utcnow
from facilities.notifications import services as notifications
from facilities.notifications.choices import Status
from facilities.notifications.tables import Notification
from scheduler import registry, runner
from scheduler.registry import JobSpec
from tests.conftest import on_postgres
from tests.factories import make_asset
from tests.test_inspections_services import (  # noqa: F401  (an autouse fixture)
    make_schedule,
    seeded_policy,
)
from tests.test_scheduler import ROOT, _env

POLL = 0.2  # seconds between looks at the database while waiting for something
TAKEOVER_LIMIT = 15.0  # seconds from the leader's death to a new leader


async def eventually(check: Callable[[], Awaitable[Any]], within: float, what: str) -> Any:
    """Poll ``check`` until it returns something truthy, or fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(POLL)


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


def test_every_job_runs_at_once_when_a_scheduler_takes_over(settings):
    scheduler = runner.build_scheduler(settings)
    before = dt.datetime.now(settings.zone)
    for spec in registry.JOBS:  # daily ones too: a run due during a fail-over is not lost
        assert scheduler.get_job(spec.id).next_run_time <= before


# --- real processes ------------------------------------------------------------------------


def start_scheduler(settings, logs: Path, name: str) -> subprocess.Popen[bytes]:
    with open(logs / f"{name}.log", "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "scheduler"],
            cwd=ROOT,
            env=_env(settings, FACILITIES_EMAIL_BACKEND="console"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def tails(logs: Path) -> str:
    return "\n".join(
        f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-15:])
        for path in sorted(logs.glob("*.log"))
    )


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


LEADER_SQL = """
SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = $1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


async def leader_pid(conn: asyncpg.Connection) -> int | None:
    """The OS pid of the scheduler holding the leader lock (its lock connection is named
    ``facilities-scheduler <host>:<pid>``), or None while nobody leads."""
    name = await conn.fetchval(LEADER_SQL, runner.ADVISORY_LOCK_KEY)
    return int(name.rsplit(":", 1)[1]) if name else None


async def test_three_replicas_survive_five_leader_kills(app, settings, personas, tmp_path):
    if not on_postgres():
        pytest.skip("several scheduler replicas need PostgreSQL")
    rounds, per_round, schedules = 5, 5, 12
    start = utcnow()
    for _ in range(schedules):  # daily patrols since five days ago: one overdue occurrence each
        await make_schedule(
            personas["alice"],
            await make_asset(),
            start - dt.timedelta(days=5),
            rule="FREQ=DAILY",
            starts_on=(start - dt.timedelta(days=5)).date(),
            inspection_type=InspectionType.PATROL,
        )

    async def enqueue_batch(batch: int) -> None:
        now = utcnow()
        for n in range(per_round):
            await notifications.enqueue(
                to=f"r{batch}-{n}@example.org",
                template="password_changed",
                context={"display_name": f"R{batch}", "at": now},
                language="en",
                dedupe_key=f"failover-{batch}-{n}",
                now=now,
            )

    def batch_sent(batch: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            sent = await Notification.count().where(
                Notification.dedupe_key.like(f"failover-{batch}-%")
                & (Notification.status == Status.SENT)
            )
            return sent == per_round

        return check

    await enqueue_batch(0)
    processes = [start_scheduler(settings, tmp_path, f"s{i}") for i in range(3)]
    by_pid = {p.pid: p for p in processes}
    conn = await asyncpg.connect(settings.database_url)
    takeovers: list[float] = []
    try:
        killed: set[int] = set()
        killed_at = 0.0
        for batch in range(rounds + 1):

            async def new_leader() -> int | None:
                pid = await leader_pid(conn)
                return pid if pid in by_pid and pid not in killed else None

            within = 60 if batch == 0 else TAKEOVER_LIMIT
            pid = await eventually(new_leader, within, f"a leader (round {batch})")
            if batch:
                takeovers.append(time.monotonic() - killed_at)
                # only now a replacement (as systemd's Restart=always would): the takeover
                # above was a standby's, not a fresh process's
                replacement = start_scheduler(settings, tmp_path, f"s{len(processes)}")
                processes.append(replacement)
                by_pid[replacement.pid] = replacement
            await eventually(batch_sent(batch), 60, f"e-mail batch {batch} to be sent")
            if batch == rounds:
                break
            os.kill(pid, signal.SIGKILL)
            killed_at = time.monotonic()
            killed.add(pid)
            await asyncio.to_thread(by_pid[pid].wait, 10)
            await enqueue_batch(batch + 1)

        async def raised() -> bool:
            return await Inspection.count() >= schedules

        await eventually(raised, 30, "the due inspections")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{tails(tmp_path)}") from None
    finally:
        await conn.close()
        await asyncio.to_thread(stop_all, processes)

    print(f"\ntakeover after SIGKILL (s): {', '.join(f'{t:.2f}' for t in takeovers)}")
    assert len(takeovers) == rounds
    assert max(takeovers) < TAKEOVER_LIMIT
    mine = await Notification.objects().where(Notification.dedupe_key.like("failover-%"))
    assert len(mine) == (rounds + 1) * per_round
    assert {(m.status, m.attempts) for m in mine} == {(Status.SENT, 1)}
    assert await Inspection.count() == schedules
    for schedule in await InspectionSchedule.objects():
        assert await Inspection.count().where(Inspection.schedule == schedule.id) == 1
    runners = {row["runner"] for row in await JobRun.select(JobRun.runner)}
    assert len(runners) >= rounds + 1, runners  # every leader ran jobs
