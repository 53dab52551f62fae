"""The web server and the scheduler survive a PostgreSQL restart (PostgreSQL only).

A real ``facilities serve`` (uvicorn) and a real ``python -m scheduler`` run against the test
database; the PostgreSQL cluster serving ``TEST_DATABASE_URL`` is restarted under them. While it
is down ``/readyz`` answers 503 (quickly: no hang), then 200 again; staff API calls succeed at once
(no burst of 500s from dead pooled connections); neither process exits; the scheduler takes the
leader lock again within ``RELEAD_LIMIT`` seconds and runs its jobs; and the web server's output
holds no traceback loop.

The restart breaks every other session on that server, so this module holds this one test only
(it is the last in its module), and a ``finally`` block starts PostgreSQL again if it is not
accepting connections, whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from facilities.accounts import services as accounts
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.schemas import TokenCreate
from facilities.jobs.tables import JobRun
from facilities.lib.clock import utcnow
from scheduler import runner
from tests.kit.constants import TEST_SECRET
from tests.kit.database import on_postgres
from tests.kit.processes import (
    ROOT,
    leading_pid,
    pg_ctlcluster,
    start_scheduler,
    stop_all,
    subprocess_env,
    tails,
)
from tests.kit.servers import free_port

pytestmark = [
    pytest.mark.serial,
    pytest.mark.wall_clock,  # the web server and scheduler subprocesses read the real clock
    pytest.mark.postgres_only,
    pytest.mark.skipif(not on_postgres(), reason="restarts PostgreSQL (set TEST_DATABASE_URL)"),
]

POLL = 0.05  # seconds between /readyz probes
PROBE_TIMEOUT = 5.0  # a /readyz answer slower than this counts as a hang
RECOVERY_LIMIT = 60.0  # seconds from the restart to /readyz green again
RELEAD_LIMIT = 20.0  # seconds from PostgreSQL accepting connections to a leading scheduler
MAX_TRACEBACKS = 10  # in the web server's whole output: a few while down, no loop
STAFF_CALLS = 20  # concurrent staff API calls right after recovery: all must be 200


def start_web(settings: Any, port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [str(Path(sys.executable).with_name("facilities")), "serve", "--port", str(port)],
            cwd=ROOT,
            env=subprocess_env(
                settings,
                FACILITIES_SCHEDULER_EMBEDDED="false",
                FACILITIES_HOST="127.0.0.1",
                FACILITIES_PORT=str(port),
                FACILITIES_SECRET_KEY=TEST_SECRET,
                FACILITIES_MEDIA_DIR=str(settings.media_dir),
            ),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@contextlib.asynccontextmanager
async def connect(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the test's own, outside the app's pool."""
    conn = await asyncpg.connect(url, timeout=5)
    try:
        yield conn
    finally:
        await conn.close()


async def runs_since(url: str, runner_name: str, since: Any) -> int:
    async with connect(url) as conn:
        return int(
            await conn.fetchval(
                f"SELECT count(*) FROM {JobRun._meta.tablename} "  # noqa: S608  (a constant)
                "WHERE runner = $1 AND started_at > $2",
                runner_name,
                since,
            )
        )


def traceback_count(log: Path, start: int = 0) -> int:
    return log.read_text(errors="replace")[start:].count("Traceback")


class CutConnection:
    """A connection the server drops right after it was opened (a restart beginning)."""

    closed = False

    async def fetchval(self, *args: Any) -> Any:
        raise asyncpg.exceptions.ConnectionDoesNotExistError(
            "connection was closed in the middle of operation"
        )

    async def close(self) -> None:
        self.closed = True

    def is_closed(self) -> bool:
        return self.closed


@pytest.mark.parametrize("where", ["handshake", "lock query"])
async def test_a_connection_cut_while_taking_the_leader_lock_means_standby(monkeypatch, where):
    """Around a restart the lock connection can die mid-handshake or right after it; the
    scheduler must stand by and retry, not exit (asyncpg raises InterfaceError subclasses)."""
    cut = CutConnection()

    async def connect_then_cut(*args: Any, **kwargs: Any) -> CutConnection:
        if where == "handshake":
            await cut.fetchval()
        return cut

    monkeypatch.setattr(runner.asyncpg, "connect", connect_then_cut)
    lock = runner.AdvisoryLock("postgres://postgres@127.0.0.1:5432/x")
    assert await lock.acquire() is False
    assert lock.connection is None
    assert cut.closed == (where == "lock query")


# Keep this test the last one of its module: it restarts the server every other test talks to.
async def test_web_and_scheduler_survive_a_postgres_restart(
    app, settings, personas, tmp_path, postgres_comes_back
):
    version, cluster, *_where = postgres_comes_back
    token = await accounts.create_api_token(
        SYSTEM, TokenCreate(name="restart-probe", user_id=personas["alice"].id), utcnow()
    )
    staff = {"authorization": f"Bearer {token}", "accept": "application/json"}
    port = free_port()
    web_log = tmp_path / "web.log"
    web = start_web(settings, port, web_log)
    scheduler = start_scheduler(settings, tmp_path, "scheduler")
    scheduler_name = f"{os.uname().nodename}:{scheduler.pid}"
    timeline: list[tuple[float, str]] = []  # (seconds since the restart began, /readyz outcome)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=PROBE_TIMEOUT
        ) as client:
            # --- before: ready, staff API answers, the scheduler leads and has run its jobs
            deadline = time.monotonic() + 60
            while True:
                assert web.poll() is None, "the web server exited at start-up"
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the web server never became ready"
                await asyncio.sleep(0.2)
            assert (await client.get("/api/v1/tickets", headers=staff)).status_code == 200
            deadline = time.monotonic() + 60
            while await leading_pid(settings.database_url) != scheduler.pid:
                assert scheduler.poll() is None, "the scheduler exited at start-up"
                assert time.monotonic() < deadline, "the scheduler never led"
                await asyncio.sleep(0.2)

            restarted_at = utcnow()
            async with connect(settings.database_url) as conn:
                assert await conn.fetchval("SELECT pg_postmaster_start_time()") < restarted_at
            # --- restart PostgreSQL (in a thread) while probing /readyz every POLL seconds
            began = time.monotonic()
            restart = asyncio.create_task(
                asyncio.to_thread(pg_ctlcluster, version, cluster, "restart")
            )
            api_503s = 0  # staff calls answered 503 (retry) while the database was away
            first_503: float | None = None  # seconds from the restart to the first 503
            back_200: float | None = None  # ... to the first 200 after it
            pg_back: float | None = None  # ... to the restart command's return (PostgreSQL up)
            while True:
                elapsed = time.monotonic() - began
                assert elapsed < RECOVERY_LIMIT, "/readyz not green again in time"
                if pg_back is None and restart.done():
                    done = restart.result()
                    assert done.returncode == 0, done.stderr
                    pg_back = elapsed
                    timeline.append((round(elapsed, 2), "restart command returned"))
                try:
                    response = await client.get("/readyz")
                except httpx.TimeoutException:
                    hung = f"/readyz hung (> {PROBE_TIMEOUT} s) at {elapsed:.2f} s"
                    raise AssertionError(hung) from None
                except httpx.TransportError as exc:
                    gone = f"/readyz unreachable at {elapsed:.2f} s: {exc!r}"
                    raise AssertionError(gone) from None
                outcome = f"{response.status_code} {response.text[:40]}"
                assert response.status_code in (200, 503), outcome
                # a staff call meanwhile: answered, or a 503 to retry; never a 500
                call = await client.get("/api/v1/tickets", headers=staff)
                assert call.status_code in (200, 503), f"{call.status_code} {call.text[:80]}"
                if call.status_code == 503:
                    api_503s += 1
                    assert call.headers["retry-after"] == "5"
                    assert call.json()["status_code"] == 503
                if not timeline or timeline[-1][1] != outcome:
                    timeline.append((round(elapsed, 2), outcome))
                if response.status_code == 503 and first_503 is None:
                    first_503 = elapsed
                if response.status_code == 200 and first_503 is not None and back_200 is None:
                    back_200 = elapsed
                if back_200 is not None and pg_back is not None and response.status_code == 200:
                    break  # green, and the restart is over
                await asyncio.sleep(POLL)
            async with connect(settings.database_url) as conn:
                pg_started = await conn.fetchval("SELECT pg_postmaster_start_time()")
            assert pg_started > restarted_at, "PostgreSQL was not restarted"

            # --- at once after recovery: concurrent staff calls, every one answered
            log_mark = len(web_log.read_text(errors="replace"))
            answers = await asyncio.gather(
                *(client.get("/api/v1/tickets", headers=staff) for _ in range(STAFF_CALLS))
            )
            codes = sorted(r.status_code for r in answers)
            assert codes == [200] * STAFF_CALLS, f"staff API after the restart: {codes}"

            # --- the scheduler leads again (counted from the new postmaster's start) and runs jobs
            while await leading_pid(settings.database_url) != scheduler.pid:
                assert scheduler.poll() is None, "the scheduler exited"
                waited = (utcnow() - pg_started).total_seconds()
                assert waited < RELEAD_LIMIT, "the scheduler did not lead again in time"
                await asyncio.sleep(0.2)
            releading = (utcnow() - pg_started).total_seconds()
            deadline = time.monotonic() + 30
            while not await runs_since(settings.database_url, scheduler_name, restarted_at):
                assert time.monotonic() < deadline, "the scheduler ran no job after the restart"
                await asyncio.sleep(0.2)
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get("/api/v1/tickets", headers=staff)).status_code == 200
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n/readyz timeline: {timeline}\n{tails(tmp_path)}") from None
    finally:
        alive = (web.poll() is None, scheduler.poll() is None)
        await asyncio.to_thread(stop_all, [web, scheduler])

    print(
        f"\nPostgreSQL restart (seconds from its start): /readyz 503 at {first_503:.2f}, "
        f"new postmaster started at {(pg_started - restarted_at).total_seconds():.2f}, "
        f"/readyz 200 again at {back_200:.2f}, restart command returned at {pg_back:.2f}; "
        f"scheduler leading again {releading:.2f} s after the new postmaster started\n"
        f"/readyz timeline: {timeline}\n"
        f"staff calls answered 503 meanwhile: {api_503s}; "
        f"tracebacks in web output: {traceback_count(web_log)}"
    )
    assert alive == (True, True), f"web alive, scheduler alive: {alive}"
    assert traceback_count(web_log, log_mark) == 0, "tracebacks after recovery"
    assert traceback_count(web_log) < MAX_TRACEBACKS
