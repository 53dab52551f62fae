"""Backup and restore of the embedded SQLite database.

The backup uses SQLite's online backup API: a consistent copy while the app keeps serving. The
restore checks that the file is a SQLite database of this application (it has the migration
table) and its integrity, then swaps it in atomically (write beside, then rename), removing the
old WAL files so no stale page survives.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 30.0


class NotABackup(ValueError):
    pass


def backup_sqlite(source: str | Path, target: Path) -> int:
    """Copy ``source`` to ``target`` online; returns the number of pages copied."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".part")
    temporary.unlink(missing_ok=True)
    with sqlite3.connect(source, timeout=BUSY_TIMEOUT_SECONDS) as src:
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


def restore_sqlite(backup: Path, target: str | Path) -> None:
    """Replace ``target`` with a checked copy of ``backup``."""
    check_backup(backup)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    backup_sqlite(backup, target.with_name(target.name + ".restoring"))
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(target.with_name(target.name + ".restoring"), target)
