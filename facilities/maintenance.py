"""Backup and restore of the embedded SQLite database.

The backup uses SQLite's online backup API: a consistent copy while the app keeps serving. The
restore checks that the file is a SQLite database of this application (it has the migration
table) and its integrity, then swaps it in atomically (write beside, then rename), removing the
old WAL files so no stale page survives.

A restore refuses while the database is in use: every web process holds a shared lock on
``<database>.in-use.lock`` for its lifetime (:func:`serving`, entered in the app's lifespan), a
scheduler holds ``<database>.scheduler.lock``, and any other program with the database open
keeps SQLite from granting an exclusive lock. :func:`exclusive_use` takes all three (so no web
process or scheduler starts while the file is swapped) or says who holds the database;
``force`` skips the check.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 30.0


class NotABackup(ValueError):
    pass


class DatabaseInUse(RuntimeError):
    """The database is open elsewhere (a web process, a scheduler, another program)."""


def presence_lock(database: str | Path) -> Path:
    """The lock file every web process serving ``database`` holds shared."""
    return Path(f"{database}.in-use.lock")


def scheduler_lock(database: str | Path) -> Path:
    """The scheduler's leader lock beside ``database`` (``scheduler.runner.FileLock``)."""
    return Path(f"{database}.scheduler.lock")


@contextlib.asynccontextmanager
async def serving(database: str | Path | None) -> AsyncIterator[None]:
    """Announce a process using the SQLite ``database`` for as long as the block runs (a shared
    ``flock``, dropped by the kernel however the process ends); waits while a restore holds it.
    ``None`` (PostgreSQL, or an in-memory database) announces nothing."""
    if database is None or str(database) == ":memory:":
        yield
        return
    path = presence_lock(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _lock_exclusively(path: Path) -> int | None:
    """An exclusive ``flock`` on ``path`` without waiting: its descriptor, or None if held."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _open_elsewhere(database: Path) -> bool:
    """Another connection has ``database`` open: SQLite refuses this one an exclusive lock
    (in WAL mode even an idle connection that has read the database keeps it shared)."""
    if not database.exists():
        return False
    connection = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        connection.execute("BEGIN EXCLUSIVE")
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        connection.execute("ROLLBACK")
    except sqlite3.DatabaseError as exc:  # busy: open elsewhere; damaged: restore replaces it
        return exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    finally:
        connection.close()
    return False


@contextlib.contextmanager
def exclusive_use(database: str | Path) -> Iterator[None]:
    """Hold ``database`` alone for the block, or raise :class:`DatabaseInUse` naming who has it.
    The locks stay held until the block ends, so no web process or scheduler starts meanwhile."""
    database = Path(database)
    database.parent.mkdir(parents=True, exist_ok=True)
    holders = (
        (presence_lock(database), "the web app is running"),
        (scheduler_lock(database), "a scheduler is running (embedded or python -m scheduler)"),
    )
    with contextlib.ExitStack() as held:
        for path, who in holders:
            fd = _lock_exclusively(path)
            if fd is None:
                raise DatabaseInUse(f"{database} is in use: {who}")
            held.callback(os.close, fd)
        if _open_elsewhere(database):
            raise DatabaseInUse(f"{database} is in use: another program has it open")
        yield


def backup_sqlite(source: str | Path, target: Path) -> int:
    """Copy ``source`` to ``target`` online; returns the number of pages copied."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".part")
    temporary.unlink(missing_ok=True)
    # closing(): a connection's own ``with`` only ends its transaction, it does not close it
    with contextlib.closing(sqlite3.connect(source, timeout=BUSY_TIMEOUT_SECONDS)) as src:
        dst = sqlite3.connect(temporary)
        try:
            src.backup(dst, pages=1024)
            pages = dst.execute("PRAGMA page_count").fetchone()[0]
        finally:
            dst.close()
    os.replace(temporary, target)
    return int(pages)


def check_backup(path: Path) -> None:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise NotABackup(f"{path} is damaged (integrity check failed)")
            tables = {
                r[0]
                for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise NotABackup(f"{path} is not a SQLite database: {exc}") from None
    if "migration" not in tables or "asset" not in tables:
        raise NotABackup(f"{path} is not a backup of this application")


def restore_sqlite(backup: Path, target: str | Path, *, force: bool = False) -> None:
    """Replace ``target`` with a checked copy of ``backup``; :class:`DatabaseInUse` while
    anyone has ``target`` open, unless ``force``."""
    check_backup(backup)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.nullcontext() if force else exclusive_use(target):
        backup_sqlite(backup, target.with_name(target.name + ".restoring"))
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(target.with_name(target.name + ".restoring"), target)
