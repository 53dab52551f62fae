"""`facilities restore` refuses while the SQLite database is in use (the web app running, a
scheduler running, another program holding it open), with a message that says what to do and
exit code 3, and leaves the database untouched; it restores when the database is idle, or
anyway with --force."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from facilities import db, maintenance
from facilities.assets.tables import Asset
from scheduler.runner import FileLock
from tests.kit.assets import make_asset
from tests.kit.database import on_postgres

ROOT = Path(__file__).resolve().parents[1]


def _run(settings, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITIES_")}
    env["FACILITIES_DATABASE_URL"] = settings.database_url
    return subprocess.run(
        [sys.executable, "-m", "facilities.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(autouse=True)
def sqlite_only():
    if on_postgres():
        pytest.skip("the restore command is for SQLite; PostgreSQL uses pg_restore")


@pytest.fixture
def database(settings) -> Path:
    return Path(db.sqlite_path(settings.database_url))


@pytest.fixture
async def saved(app, database, tmp_path) -> Path:
    """A backup holding one asset, GX-RG-001; the live database then gets a second one."""
    await make_asset(code="GX-RG-001")
    backup = tmp_path / "saved.db"
    maintenance.backup_sqlite(database, backup)
    await make_asset(code="GX-RG-002")
    return backup


async def codes() -> list[str]:
    return [row["code"] for row in await Asset.select(Asset.code).order_by(Asset.code)]


def assert_refused(result: subprocess.CompletedProcess[str], who: str) -> None:
    assert result.returncode == 3, result.stdout + result.stderr
    assert "is in use" in result.stderr and who in result.stderr
    assert "--force" in result.stderr and "Stop" in result.stderr


async def test_restore_refuses_while_another_connection_holds_the_database(
    settings, database, saved
):
    holder = sqlite3.connect(database)
    try:
        holder.execute("SELECT count(*) FROM asset").fetchone()  # open, idle, not in a write

        result = _run(settings, "restore", str(saved), "--yes")

        assert_refused(result, "another program has it open")
    finally:
        holder.close()
    assert await codes() == ["GX-RG-001", "GX-RG-002"]


async def test_restore_refuses_while_the_web_app_runs(app, settings, saved):
    async with app.lifespan():  # what a web process holds from start-up to shutdown
        result = _run(settings, "restore", str(saved), "--yes")

    assert_refused(result, "the web app is running")
    assert await codes() == ["GX-RG-001", "GX-RG-002"]


async def test_restore_refuses_while_a_scheduler_runs(settings, database, saved):
    lock = FileLock(maintenance.scheduler_lock(database))
    assert await lock.acquire()
    try:
        result = _run(settings, "restore", str(saved), "--yes")
    finally:
        await lock.release()

    assert_refused(result, "a scheduler is running")
    assert await codes() == ["GX-RG-001", "GX-RG-002"]


async def test_restore_with_force_goes_ahead_while_the_database_is_held(settings, database, saved):
    holder = sqlite3.connect(database)
    holder.execute("SELECT count(*) FROM asset").fetchone()
    lock = FileLock(maintenance.scheduler_lock(database))
    assert await lock.acquire()
    try:
        result = _run(settings, "restore", str(saved), "--yes", "--force")
    finally:
        await lock.release()
        holder.close()

    assert result.returncode == 0, result.stderr
    assert await codes() == ["GX-RG-001"]


async def test_restore_goes_ahead_when_the_database_is_idle(app, settings, saved):
    async with app.lifespan():
        pass  # the app ran and stopped: its lock went with it

    result = _run(settings, "restore", str(saved), "--yes")

    assert result.returncode == 0, result.stderr
    assert "restored" in result.stdout
    assert await codes() == ["GX-RG-001"]


async def test_the_check_holds_the_database_until_the_swap_is_done(database, saved):
    with maintenance.exclusive_use(database):
        with pytest.raises(maintenance.DatabaseInUse, match="web app"):
            maintenance.restore_sqlite(saved, database)
    maintenance.restore_sqlite(saved, database)

    assert await codes() == ["GX-RG-001"]
