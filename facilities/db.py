"""The database engine: SQLite by default, PostgreSQL by URL, one engine per process.

Piccolo finds its engine through ``piccolo_conf.DB``; :func:`configure` builds that engine from a
URL and binds every table to it, so the CLI, the web app, the scheduler and the tests all talk to
the same database with the same code. On SQLite every write runs in an IMMEDIATE transaction
(a deferred one that reads first fails at once with "database is locked" when another writer is
active), WAL is switched on once, and connections wait on a busy timeout instead of failing.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType, dict_factory

DEFAULT_URL = "sqlite:///var/facilities.db"
SQLITE_BUSY_TIMEOUT_SECONDS = 30.0

_engine: Engine | None = None
_pool_users = 0


class PooledSQLiteEngine(SQLiteEngine):
    """SQLite whose statements outside a transaction reuse open connections while a pool is open.

    Piccolo opens a connection for every such statement, and aiosqlite a thread for every
    connection: about 3 ms each on the 2-core machine, more than the statement itself on an
    indexed read, so a page of a dozen reads spent most of its time opening connections
    (bench/supervisor_home.py, bench/map.py). Inside :func:`connection_pool` (an app's lifespan)
    a statement borrows an idle connection and gives it back; with none idle it opens one, so
    nothing ever waits for a connection. Each statement still commits at once, so a reused
    connection holds no read snapshot between statements and sees every commit. Transactions
    keep opening their own connection (IMMEDIATE, as :func:`transaction` asks). Outside a pool
    (the CLI, services called directly) nothing changes.
    """

    #: Connections kept open between statements; more are opened when needed, then closed.
    MAX_IDLE = 8

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._idle: list[aiosqlite.Connection] = []
        self._pooling = False

    async def start_pool(self) -> None:
        self._pooling = True

    async def close_pool(self) -> None:
        self._pooling = False
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()

    async def _borrow(self) -> aiosqlite.Connection:
        if self._idle:
            return self._idle.pop()
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await connection.execute("PRAGMA foreign_keys = 1")
        return connection

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        if not self._pooling or (query_type == "insert" and self.get_version_sync() < 3.35):
            return await super()._run_in_new_connection(query, args, query_type, table)
        connection = await self._borrow()
        try:
            async with connection.execute(query, args or []) as cursor:
                await connection.commit()  # as Piccolo does: before fetching (RETURNING)
                rows = await cursor.fetchall()
        except BaseException:
            with contextlib.suppress(Exception):
                await connection.close()  # never hand on a connection in an unknown state
            raise
        if self._pooling and len(self._idle) < self.MAX_IDLE:
            self._idle.append(connection)
        else:
            await connection.close()
        return rows


def sqlite_path(url: str) -> str:
    """``sqlite:///var/x.db`` -> ``var/x.db``; ``sqlite:////srv/x.db`` -> ``/srv/x.db``."""
    return url.removeprefix("sqlite:///")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = sqlite_path(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            enable_wal(path)
        return PooledSQLiteEngine(path=path, timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
    if url.startswith(("postgres://", "postgresql://")):
        return PostgresEngine(config={"dsn": url}, log_queries=False)
    raise ValueError(f"unsupported database URL: {url}")


def enable_wal(path: str) -> None:
    """WAL lets readers run beside one writer; the mode is stored in the file, so once suffices."""
    connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()


def url_from_env() -> str:
    return os.environ.get("FACILITIES_DATABASE_URL", DEFAULT_URL)


def configure(url: str) -> Engine:
    """Make ``url`` the process's database: build the engine once and bind all tables to it."""
    global _engine
    if _engine is not None and engine_url(_engine) == url:
        return _engine
    _engine = make_engine(url)
    piccolo_conf = importlib.import_module(
        os.environ.get("PICCOLO_CONF", "facilities.piccolo_conf")
    )
    piccolo_conf.DB = _engine  # type: ignore[attr-defined]
    from piccolo.apps.migrations.tables import Migration

    for table in [*all_tables(), Migration]:  # Piccolo's own record of applied migrations too
        table._meta.db = _engine
    return _engine


def engine() -> Engine:
    """The configured engine (configured from the environment on first use)."""
    return _engine if _engine is not None else configure(url_from_env())


def engine_url(value: Engine) -> str:
    if isinstance(value, SQLiteEngine):
        return "sqlite:///" + value.path
    assert isinstance(value, PostgresEngine)
    return str(value.config.get("dsn", ""))


def is_sqlite() -> bool:
    return isinstance(engine(), SQLiteEngine)


def all_tables() -> list[Any]:
    """Every table of the project's apps."""
    from piccolo.conf.apps import Finder

    return Finder().get_table_classes()


def transaction() -> Any:
    """A write transaction: IMMEDIATE on SQLite (take the write lock up front), plain on PostgreSQL.

    Nested use joins the outer transaction, so a service can call another service inside its own.
    """
    current = engine()
    if isinstance(current, SQLiteEngine):
        return current.transaction(transaction_type=TransactionType.immediate)
    return current.transaction()


@contextlib.asynccontextmanager
async def connection_pool(min_size: int, max_size: int) -> AsyncIterator[None]:
    """Open the connection pool for the lifetime of an app (reference-counted: two apps in one
    process, as in the tests, share one pool): PostgreSQL's, or the reused reading connections
    of :class:`PooledSQLiteEngine`."""
    global _pool_users
    current = engine()
    if not isinstance(current, PostgresEngine | PooledSQLiteEngine):
        yield
        return
    if _pool_users == 0:
        if isinstance(current, PostgresEngine):
            await current.start_connection_pool(min_size=min_size, max_size=max_size)
        else:
            await current.start_pool()
    _pool_users += 1
    try:
        yield
    finally:
        _pool_users -= 1
        if _pool_users == 0:
            if isinstance(current, PostgresEngine):
                await current.close_connection_pool()
            else:
                await current.close_pool()


async def ping() -> bool:
    """True when the database answers a trivial query."""
    try:
        await engine().run_ddl("SELECT 1")
    except Exception:
        return False
    return True
