"""Backup while the database is in use, then restore, then compare; bad files are refused."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from facilities import db
from facilities.assets.tables import Asset
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
        pytest.skip("backup/restore commands are for SQLite; PostgreSQL uses pg_dump")


async def test_backup_then_restore_brings_back_exactly_the_saved_data(settings, tmp_path):
    # No app runs here: restore refuses a database a running app holds open (test_restore_guard.py).
    db.configure(settings.database_url)
    await make_asset(code="GX-BK-001")
    backup = tmp_path / "copy.db"
    made = _run(settings, "backup", str(backup))
    assert made.returncode == 0, made.stderr
    # changes after the backup...
    await make_asset(code="GX-BK-002")
    await Asset.update({Asset.name_zh: "改过的名字"}).where(Asset.code == "GX-BK-001")
    restored = _run(settings, "restore", str(backup), "--yes")
    assert restored.returncode == 0, restored.stderr
    db.configure(settings.database_url)
    rows = await Asset.select(Asset.code, Asset.name_zh).order_by(Asset.code)
    assert rows == [{"code": "GX-BK-001", "name_zh": "测试人行桥"}]


async def test_restore_refuses_a_file_that_is_not_a_backup(app, settings, tmp_path):
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not a database at all" * 100)
    result = _run(settings, "restore", str(bogus), "--yes")
    assert result.returncode != 0
    assert "not a SQLite database" in result.stderr
    assert await Asset.count() == 0  # the real database is untouched and still works
