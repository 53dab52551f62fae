"""The reused SQLite connections of an app's lifespan (``db.PooledSQLiteEngine``): a reused
connection still sees every commit made elsewhere, a failed statement leaves nothing behind
that blocks a writer, transactions keep working beside it, and when the app stops no
connection stays open (so ``facilities restore`` may run)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from facilities import db
from facilities.assets.tables import Asset
from facilities.maintenance import _open_elsewhere
from tests.kit.assets import make_asset
from tests.kit.database import on_postgres


@pytest.fixture(autouse=True)
def sqlite_only() -> None:
    if on_postgres():
        pytest.skip("the reused connections are SQLite's; PostgreSQL has its own pool")


def _path(url: str) -> Path:
    return Path(db.sqlite_path(url))


async def test_a_reused_connection_sees_what_another_process_commits(database_url: str) -> None:
    await make_asset(code="GX-POOL-1")
    async with db.connection_pool(1, 4):
        assert await Asset.count() == 1  # the connection now kept idle has read the database
        other = sqlite3.connect(_path(database_url))
        other.execute("UPDATE asset SET name_zh = '另一个进程改的' WHERE code = 'GX-POOL-1'")
        other.commit()
        other.close()
        row = await Asset.select(Asset.name_zh).where(Asset.code == "GX-POOL-1").first()
        assert row == {"name_zh": "另一个进程改的"}


async def test_a_failed_statement_blocks_no_writer_and_transactions_still_work(
    database_url: str,
) -> None:
    asset = await make_asset(code="GX-POOL-2")
    async with db.connection_pool(1, 4):
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            await Asset.raw("INSERT INTO asset SELECT * FROM asset WHERE code = 'GX-POOL-2'")
        async with db.transaction():
            await Asset.update({Asset.name_zh: "事务里改的"}).where(Asset.id == asset.id)
        other = sqlite3.connect(_path(database_url), timeout=0)
        other.execute("UPDATE asset SET location_note = 'x'")  # no lock left behind: no wait
        other.commit()
        other.close()
        row = await Asset.select(Asset.name_zh, Asset.location_note).first()
        assert row == {"name_zh": "事务里改的", "location_note": "x"}


async def test_the_connections_close_when_the_app_stops(database_url: str) -> None:
    await make_asset(code="GX-POOL-3")
    path = _path(database_url)
    async with db.connection_pool(1, 4):
        assert await Asset.count() == 1
        assert _open_elsewhere(path)  # the app is using it: restore would be refused
        async with db.connection_pool(1, 4):  # a second app in the process shares the pool
            assert await Asset.count() == 1
        assert _open_elsewhere(path)
    assert not _open_elsewhere(path)  # stopped: nothing holds the file open
    assert await Asset.count() == 1  # and outside a pool statements still run
