"""Real processes on the test database, for the scheduler, fail-over, fault and PostgreSQL
restart tests: ``python -m scheduler`` replicas started and stopped, their logs, who holds the
leader lock, polling until something happens, and the Debian cluster serving the database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from scheduler import runner

ROOT = Path(__file__).resolve().parents[2]
POLL = 0.2  # seconds between looks at the database while waiting for something
PG_READY_LIMIT = 60.0  # seconds to wait for pg_isready after a restart (or a rescue start)


def subprocess_env(settings, **extra):
    """This process's environment for a child on the test database (no other FACILITIES_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITIES_")}
    env.update(FACILITIES_DATABASE_URL=settings.database_url, **extra)
    return env


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


def start_scheduler(settings, logs: Path, name: str, **env: str) -> subprocess.Popen[bytes]:
    """A real ``python -m scheduler`` on the test database (console e-mail unless ``env`` says
    otherwise), its output in ``logs/<name>.log``."""
    with open(logs / f"{name}.log", "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "scheduler"],
            cwd=ROOT,
            env=subprocess_env(settings, **{"FACILITIES_EMAIL_BACKEND": "console", **env}),
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


LEADER_SQL = """
SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = $1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def cluster_of(url: str) -> tuple[str, str, str, int]:
    """(version, cluster name, host, port) of the Debian cluster serving ``url``."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    listing = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True
    ).stdout
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == str(port):
            return fields[0], fields[1], host, port
    raise AssertionError(f"no local PostgreSQL cluster on port {port}:\n{listing}")


def pg_ctlcluster(version: str, cluster: str, action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, action],
        capture_output=True,
        text=True,
        timeout=120,
    )


def pg_isready(host: str, port: int) -> bool:
    probe = subprocess.run(
        ["pg_isready", "-q", "-h", host, "-p", str(port), "-U", "postgres", "-t", "2"],
        capture_output=True,
    )
    return probe.returncode == 0


def wait_pg_ready(host: str, port: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if pg_isready(host, port):
            return True
        time.sleep(0.2)
    return False


async def leading_pid(url: str) -> int | None:
    """The OS pid of the scheduler holding the leader lock; None while nobody leads or while
    the database does not answer."""
    try:
        conn = await asyncpg.connect(url, timeout=2)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        return None
    try:
        name = await conn.fetchval(LEADER_SQL, runner.ADVISORY_LOCK_KEY)
    finally:
        await conn.close()
    return int(name.rsplit(":", 1)[1]) if name else None
