"""Build and run the scheduler: one leader at a time, every run recorded.

Leadership: on PostgreSQL a session advisory lock held on a dedicated connection (not the pool,
which would release it at once); on SQLite an exclusive lock on a file beside the database.
Standbys retry every few seconds and take over when the leader's lock goes away. Jobs themselves
are idempotent, so even two leaders for a moment double nothing.

A new leader first hands back the outbox claims still in flight (a killed leader's, see
:func:`recover_claims`), then runs every job at once (a run due while nobody led is not lost).
On stop (SIGTERM) the leader starts nothing new, waits up to ``SHUTDOWN_GRACE_SECONDS`` for the
running jobs, cancels what overran (the job's ``release`` hands back its claims, the run is
recorded as cancelled), and only then releases the leader lock, so a standby takes over at its
next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import logging
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import asyncpg
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from facilities import db
from facilities.jobs import services as jobs
from facilities.lib.clock import utcnow
from facilities.notifications import services as notifications
from facilities.settings import Settings
from scheduler.registry import JOBS, JobSpec

log = logging.getLogger("scheduler")

RUNNER_NAME = f"{socket.gethostname()}:{os.getpid()}"
ADVISORY_LOCK_KEY = 0x46414331  # "FAC1"
STANDBY_POLL_SECONDS = 2.0  # a standby's look at the lock: takeover within ~2 s
TIMETABLE_PUBLISH_SECONDS = 60
MISFIRE_GRACE_SECONDS = 6 * 3600
SHUTDOWN_GRACE_SECONDS = 20.0  # under systemd's default TimeoutStopSec (90 s)
RELEASE_TIMEOUT_SECONDS = 5.0
CANCELLED_AT_SHUTDOWN = "cancelled at shutdown (overran the grace period)"

RunningJobs = set[asyncio.Task[Any]]


class SchedulerAlreadyRunning(RuntimeError):
    pass


async def run_job(
    spec: JobSpec, settings: Settings, now: dt.datetime | None = None, trigger: str = "schedule"
) -> int:
    """Run one job once and record the run (items handled, or the error)."""
    logical_now = now or utcnow()
    run_id = await jobs.start_run(spec.id, utcnow(), RUNNER_NAME, trigger)
    try:
        outcome = await spec.func(logical_now, settings)
    except asyncio.CancelledError:
        log.warning("job %s cancelled at shutdown", spec.id)
        await _after_cancel(spec, run_id, logical_now)
        raise
    except Exception as exc:
        log.exception("job %s failed", spec.id)
        await jobs.finish_run(run_id, utcnow(), 0, f"{type(exc).__name__}: {exc}")
        raise
    items, detail = int(outcome), str(getattr(outcome, "detail", ""))
    await jobs.finish_run(run_id, utcnow(), items, detail=detail)
    log.info("job %s handled %s item(s) %s", spec.id, items, detail)
    return items


async def _after_cancel(spec: JobSpec, run_id: int, logical_now: dt.datetime) -> None:
    """Hand back the cancelled run's claims and record it; bounded, and never raises."""
    try:
        async with asyncio.timeout(RELEASE_TIMEOUT_SECONDS):
            released = await spec.release(logical_now) if spec.release else 0
            await jobs.finish_run(
                run_id,
                utcnow(),
                0,
                CANCELLED_AT_SHUTDOWN,
                detail=f"{released} claim(s) released" if released else "",
            )
    except Exception:
        log.exception("job %s: could not release its claims after cancellation", spec.id)


async def _scheduled(spec: JobSpec, settings: Settings, running: RunningJobs) -> None:
    task = asyncio.current_task()
    assert task is not None
    running.add(task)
    try:
        with contextlib.suppress(Exception):  # already logged and recorded by run_job
            await run_job(spec, settings)
    finally:
        running.discard(task)


async def publish_timetable(scheduler: AsyncIOScheduler) -> None:
    entries = []
    for spec in JOBS:
        job = scheduler.get_job(spec.id)
        entries.append(
            {
                "job_id": spec.id,
                "description": spec.description,
                "schedule": spec.schedule,
                "next_run_at": getattr(job, "next_run_time", None),
            }
        )
    try:
        await jobs.publish_timetable(entries, RUNNER_NAME, utcnow())
    except Exception:
        log.exception("could not publish the timetable")


def build_scheduler(settings: Settings, running: RunningJobs | None = None) -> AsyncIOScheduler:
    """The timetable as APScheduler jobs: coalesced, one instance each, a generous misfire grace.

    Every job's first run is *now*: the store is in memory, so a fresh scheduler would otherwise
    compute its first fire time from now on and silently skip a run that fell due while no
    process led (a daily job missed by a failover would wait a day). ``running`` collects the
    tasks of the runs in progress, for :func:`stop_scheduler`."""
    start = dt.datetime.now(settings.zone)
    running = set() if running is None else running
    scheduler = AsyncIOScheduler(
        timezone=settings.zone,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
    )
    for spec in JOBS:
        scheduler.add_job(
            _scheduled,
            trigger=spec.trigger(settings.zone),
            args=[spec, settings, running],
            id=spec.id,
            name=spec.description,
            next_run_time=start,
        )
    scheduler.add_job(
        publish_timetable,
        "interval",
        seconds=TIMETABLE_PUBLISH_SECONDS,
        args=[scheduler],
        id="_publish_timetable",
        next_run_time=start,
    )
    return scheduler


async def stop_scheduler(scheduler: AsyncIOScheduler, running: RunningJobs) -> None:
    """Stop gracefully: start nothing new, let the running jobs finish within
    ``SHUTDOWN_GRACE_SECONDS``, cancel the rest (they release their claims), then shut down.

    APScheduler's ``AsyncIOExecutor.shutdown`` cancels its tasks whatever ``wait`` says (a
    synchronous method cannot wait on the loop), so the waiting is done here, on the tasks."""
    scheduler.pause()
    pending = {task for task in running if not task.done()}
    if pending:
        log.info(
            "waiting up to %s s for %d running job(s) to finish",
            SHUTDOWN_GRACE_SECONDS,
            len(pending),
        )
        _done, late = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE_SECONDS)
        for task in late:
            task.cancel()
        if late:
            log.warning("cancelled %d job(s) that overran the shutdown grace period", len(late))
            await asyncio.wait(late, timeout=RELEASE_TIMEOUT_SECONDS + 1)
    scheduler.shutdown(wait=False)


# --- leadership ----------------------------------------------------------------------------


class LeaderLock(Protocol):
    async def acquire(self) -> bool: ...
    async def still_held(self) -> bool: ...
    async def release(self) -> None: ...


class FileLock:
    """SQLite: an exclusive ``flock`` on ``<database>.scheduler.lock``; the kernel drops it when
    the process dies, however it dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    async def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, RUNNER_NAME.encode())
        self.fd = fd
        return True

    async def still_held(self) -> bool:
        return self.fd is not None

    async def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


class AdvisoryLock:
    """PostgreSQL: ``pg_try_advisory_lock`` on a dedicated connection. If that connection dies
    (leader killed, network cut, server restart) the server releases the lock."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.connection: Any = None

    async def acquire(self) -> bool:
        try:
            connection = await asyncpg.connect(
                self.dsn,
                timeout=10,
                # who leads, for operators and the fail-over test: pg_stat_activity shows it
                server_settings={"application_name": f"facilities-scheduler {RUNNER_NAME}"[:63]},
            )
        except (OSError, asyncpg.PostgresError, TimeoutError):
            log.warning("database unreachable; scheduler stays on standby")
            return False
        try:
            got = await connection.fetchval("SELECT pg_try_advisory_lock($1)", ADVISORY_LOCK_KEY)
        except (OSError, asyncpg.PostgresError, TimeoutError, asyncpg.InterfaceError):
            # The server went away between the connect and the lock query (a restart just
            # beginning): stand by and retry, as when the connect itself fails; never exit.
            log.warning("database connection lost while taking the leader lock; standing by")
            with contextlib.suppress(Exception):
                await connection.close()
            return False
        if not got:
            await connection.close()
            return False
        self.connection = connection
        return True

    async def still_held(self) -> bool:
        if self.connection is None or self.connection.is_closed():
            return False
        try:
            await asyncio.wait_for(self.connection.fetchval("SELECT 1"), timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError, asyncpg.InterfaceError):
            return False
        return True

    async def release(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.close()
            self.connection = None


def leader_lock(settings: Settings) -> LeaderLock:
    if settings.is_sqlite:
        return FileLock(Path(db.sqlite_path(settings.database_url) + ".scheduler.lock"))
    return AdvisoryLock(settings.database_url)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def lead_while_possible(settings: Settings, stop: asyncio.Event, *, standby: bool) -> None:
    """Run the scheduler whenever this process holds the leader lock, until ``stop`` is set.

    Without ``standby`` a lock held by someone else is an error (a second SQLite scheduler).
    """
    lock = leader_lock(settings)
    announced_standby = False
    while not stop.is_set():
        if not await lock.acquire():
            if not standby:
                raise SchedulerAlreadyRunning(
                    "another scheduler process already runs on this database; "
                    "on SQLite only one may run (use PostgreSQL for several)"
                )
            if not announced_standby:
                log.info("scheduler %s on standby: another process leads", RUNNER_NAME)
                announced_standby = True
            await _wait(stop, STANDBY_POLL_SECONDS)
            continue
        announced_standby = False
        log.info("scheduler %s is the leader", RUNNER_NAME)
        await recover_claims()
        running: RunningJobs = set()
        scheduler = build_scheduler(settings, running)
        scheduler.start()
        try:
            while not stop.is_set() and await lock.still_held():
                await _wait(stop, STANDBY_POLL_SECONDS)
        finally:
            try:
                await stop_scheduler(scheduler, running)
            finally:
                await lock.release()
            log.info("scheduler %s stopped leading", RUNNER_NAME)


async def recover_claims() -> int:
    """On taking the lead, release the claims earlier leaders left in flight, so a leader killed
    mid-send delays its messages by one takeover rather than by the outbox's CLAIM_TIMEOUT, and
    close the runs they left open in the history.

    Sound because this process runs no job at this point (``lead_while_possible`` stops or
    cancels its runs before it lets a lock go), so no claim in flight is its own; see
    ``notifications.release_claims_in_flight`` for why no confirmed send is repeated. Every
    other job claims its work inside one transaction (a conditional update or a unique key), so
    a killed run leaves nothing to release. Bounded and never raises: if the database fails
    here, the claims still come back after the timeout."""
    try:
        async with asyncio.timeout(RELEASE_TIMEOUT_SECONDS):
            released = await notifications.release_claims_in_flight()
            abandoned = await jobs.abandon_runs(RUNNER_NAME, utcnow())
    except Exception:
        log.exception("could not recover what an earlier leader left behind")
        return 0
    if released or abandoned:
        log.warning(
            "released %d outbox claim(s) and closed %d run(s) left by an earlier leader",
            released,
            abandoned,
        )
    return released


@contextlib.asynccontextmanager
async def embedded_scheduler(settings: Settings) -> AsyncIterator[None]:
    """Run the scheduler inside the web process for the app's lifetime (``make run``)."""
    stop = asyncio.Event()
    task = asyncio.create_task(lead_while_possible(settings, stop, standby=True))
    try:
        yield
    finally:
        stop.set()
        await task
