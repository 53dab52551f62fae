"""The SQL of raising due inspections, one path per engine.

:func:`facilities.inspections.services.raising.raise_due` works on groups of schedules that share
everything deciding their next occurrence (:class:`_Due`); a group's outcome (:class:`_Move`) is
one occurrence to raise and where ``next_due_at`` goes next. This module reads a batch's groups
and applies the moves, as raw statements on the open transaction's connection: Piccolo's query
compiler costs more than the database itself for statements with thousands of parameters (the
values are still parameters, never text).

Why two paths: the same result is fastest by a different plan on each engine (measured in
``bench/raise_inspections.py``, results and the plans tried in bench/README.md).

- PostgreSQL hashes a ``GROUP BY`` and a ``VALUES`` list, so one statement per number of missed
  occurrences does it all: an UPDATE moving ``next_due_at`` from the group's value feeds the
  INSERT of exactly the rows it moved, and a concurrent run blocks on the same rows, then finds
  them moved and raises nothing.
- SQLite would sort every schedule for a ``GROUP BY`` and, given a ``VALUES`` list, build an
  automatic index over the schedules (3.8 s per 100k) or scan the groups per schedule (27 s per
  100k). So the groups are counted into, and then joined from, temporary tables typed like the
  schedule's columns with a unique index over the group; the INSERT and the UPDATE run in the
  same IMMEDIATE transaction, so nothing changes between them.

On both, the unique occurrence key drops an occurrence already raised (before a crash, or a
pre-holiday inspection under the same key), and a schedule moves only from the ``next_due_at``
its group was read with.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from facilities import db
from facilities.inspections.choices import State, Trigger
from facilities.inspections.tables import InspectionSchedule


@dataclasses.dataclass(frozen=True)
class _Due:
    """What decides a schedule's next occurrence: schedules equal in all of it are raised and
    moved alike (the group's columns are matched exactly when raising)."""

    rrule: str
    override_rrule: str
    anchor: str
    inspection_type: str
    starts_at: dt.datetime
    next_due_at: dt.datetime
    lead_days: int
    tolerance_days: int


@dataclasses.dataclass(frozen=True)
class _Move:
    """A group's outcome: the occurrence to raise and where ``next_due_at`` goes next."""

    group: _Due
    occurrence: dt.datetime
    following: dt.datetime | None
    missed: int
    schedules: int  # how many schedules the group had when read

    def params(self) -> tuple[Any, ...]:
        g = self.group
        stamp = self.occurrence.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        window_ends = self.occurrence + dt.timedelta(days=g.tolerance_days)
        return (
            *(getattr(g, column) for column in _GROUP_COLUMNS),  # astuple() deep-copies
            stamp,
            self.occurrence,
            window_ends,
            self.following,
            self.missed,
        )


_GROUP_COLUMNS = tuple(f.name for f in dataclasses.fields(_Due))
_GROUP_DECLARED = ", ".join(
    f"{c} {InspectionSchedule._meta.get_column_by_name(c).column_type}" for c in _GROUP_COLUMNS
)
_MOVE_COLUMNS = (*_GROUP_COLUMNS, "stamp", "due_at", "window_ends_at", "following", "missed")
_MOVE_TYPES: tuple[str, ...] = ("text",) * 4 + ("timestamptz",) * 2 + ("integer",) * 2
_MOVE_TYPES += ("text",) + ("timestamptz",) * 3 + ("integer",)
#: Groups per statement: SQLite and asyncpg both take at most 32,766 parameters (13 a group).
_GROUPS_PER_STATEMENT = 2000
_INSERT_COLUMNS = (
    "asset, schedule, occurrence_key, inspection_type, due_at, window_ends_at, team, checklist, "
    "created_at, updated_at, answers, trigger, state, recommendation, summary, passed, version"
)


def _in_batch(low: int, high: int | None, alias: str) -> tuple[str, list[Any]]:
    if high is None:
        return f"{alias}.id > ?", [low]
    return f"{alias}.id > ? AND {alias}.id <= ?", [low, high]


async def _due_groups(low: int, high: int | None, horizon: dt.datetime) -> list[tuple[_Due, int]]:
    """The batch's distinct groups of unsuspended schedules due before ``horizon``, each with
    its number of schedules.

    PostgreSQL hashes the GROUP BY. SQLite would sort every schedule of the batch for it, so
    there each schedule is counted into a temporary table keyed by its group instead: one probe
    of a few hundred keys per row (100,000 schedules: 0.12 s against 0.18 s)."""
    columns = ", ".join(_GROUP_COLUMNS)
    batch, args = _in_batch(low, high, "s")
    due = f"WHERE {batch} AND is_suspended = ? AND next_due_at IS NOT NULL AND next_due_at <= ?"
    args = [*args, False, horizon]
    # only column names and placeholders are interpolated below
    if db.is_sqlite():
        # declared with the schedule's column types, so rows read back convert alike
        await _execute(
            f"CREATE TEMP TABLE IF NOT EXISTS due_group ({_GROUP_DECLARED}, "
            f"schedules INTEGER, UNIQUE ({columns}))",
            [],
        )
        await _execute("DELETE FROM due_group", [])
        await _execute(
            f"INSERT INTO due_group SELECT {columns}, 1 FROM inspection_schedule AS s "  # noqa: S608
            f"{due} ON CONFLICT ({columns}) DO UPDATE SET schedules = schedules + 1",
            args,
        )
        rows = await _execute("SELECT * FROM due_group", [])
    else:
        rows = await _execute(
            f"SELECT {columns}, count(*) AS schedules "  # noqa: S608
            f"FROM inspection_schedule AS s {due} GROUP BY {columns}",
            args,
        )
    return [(_Due(**{c: row[c] for c in _GROUP_COLUMNS}), row["schedules"]) for row in rows]


def _constants() -> str:
    """The inserted columns every raised inspection shares, as SQL literals (checked plain)."""
    values = (Trigger.SCHEDULED.value, State.PLANNED.value, "")  # no recommendation yet
    assert all(c.isalnum() or c == "_" for value in values for c in value)
    return "'{}', " + ", ".join(f"'{v}'" for v in values) + ", '', NULL, 1"


_CONSTANTS = _constants()


_MATCH = " AND ".join(f"s.{c} = g.{c}" for c in _GROUP_COLUMNS)


async def _raise_sqlite(
    moves: list[_Move], batch: tuple[str, list[Any]], now: dt.datetime
) -> tuple[int, int]:
    """The INSERT then the UPDATE, in the same IMMEDIATE transaction, so nothing can change
    between them. The groups go to a temporary table whose columns have the schedule's types and
    a unique index over the group, so each schedule finds its group by one index lookup (a
    VALUES list makes SQLite index the schedules instead, or scan the groups per schedule)."""
    columns = ", ".join(_GROUP_COLUMNS)
    # only column names, placeholders and the checked constants are interpolated below
    await _execute(
        f"CREATE TEMP TABLE IF NOT EXISTS raise_group AS SELECT {columns}, "  # noqa: S608
        "'' AS stamp, next_due_at AS due_at, next_due_at AS window_ends_at, "
        "next_due_at AS following, lead_days AS missed FROM inspection_schedule WHERE 0",
        [],
    )
    await _execute(
        f"CREATE UNIQUE INDEX IF NOT EXISTS temp.raise_group_key ON raise_group ({columns})", []
    )
    await _execute("DELETE FROM raise_group", [])
    await _connection().executemany(
        f"INSERT INTO raise_group VALUES ({', '.join('?' * len(_MOVE_COLUMNS))})",  # noqa: S608
        [move.params() for move in moves],
    )
    where = f"{_MATCH} AND {batch[0]} AND s.is_suspended = ?"
    args = [*batch[1], False]
    before = (await _execute("SELECT coalesce(max(id), 0) AS id FROM inspection", []))[0]["id"]
    raised = await _execute_count(
        f"INSERT INTO inspection ({_INSERT_COLUMNS}) "  # noqa: S608
        "SELECT s.asset, s.id, CAST(s.id AS TEXT) || ':' || g.stamp, s.inspection_type, "
        f"g.due_at, g.window_ends_at, s.team, s.checklist, ?, ?, {_CONSTANTS} "
        f"FROM inspection_schedule AS s JOIN raise_group AS g ON {where} "
        "ON CONFLICT (occurrence_key) DO NOTHING",
        [now, now, *args],
    )
    coalesced = sum(move.missed * move.schedules for move in moves)
    if coalesced and raised < sum(move.schedules for move in moves):
        # Some occurrences existed already (raised before a crash, or a pre-holiday inspection
        # under the same key): count what was folded into the rows this statement inserted,
        # and only those.
        rows = await _execute(
            "SELECT coalesce(sum(g.missed), 0) AS missed FROM inspection AS i "  # noqa: S608
            "JOIN inspection_schedule AS s ON s.id = i.schedule "
            f"JOIN raise_group AS g ON {where} AND g.missed > 0 WHERE i.id > ?",
            [*args, before],
        )
        coalesced = int(rows[0]["missed"])
    await _execute_count(
        "UPDATE inspection_schedule AS s SET next_due_at = g.following "  # noqa: S608
        f"FROM raise_group AS g WHERE {where}",
        args,
    )
    return raised, coalesced


async def _raise_postgres(
    moves: list[_Move], batch: tuple[str, list[Any]], now: dt.datetime
) -> tuple[int, int]:
    """One statement per number of missed occurrences (and chunk of groups): an UPDATE moving
    ``next_due_at`` from the group's value feeds the INSERT of exactly the rows it moved (a
    concurrent run blocks on the same rows, then finds them moved and raises nothing); what the
    statement raised times the missed count is what it folded. The groups are a VALUES list,
    hashed. (Joining the INSERT's rows back to the UPDATE's to count per row would make
    PostgreSQL loop: it estimates one row for each.)"""
    one = "(" + ", ".join(f"?::{t}" for t in _MOVE_TYPES) + ")"
    by_missed: dict[int, list[_Move]] = {}
    for move in moves:
        by_missed.setdefault(move.missed, []).append(move)
    raised = coalesced = 0
    for missed, same in sorted(by_missed.items()):
        for chunk in range(0, len(same), _GROUPS_PER_STATEMENT):
            part = same[chunk : chunk + _GROUPS_PER_STATEMENT]
            args: list[Any] = [value for move in part for value in move.params()]
            values = ", ".join([one] * len(part))
            # only column names, placeholders and the checked constants are interpolated
            statement = (
                f"WITH g({', '.join(_MOVE_COLUMNS)}) AS (VALUES {values}), "  # noqa: S608
                "moved AS (UPDATE inspection_schedule AS s SET next_due_at = g.following "
                f"FROM g WHERE {_MATCH} AND {batch[0]} AND s.is_suspended = false "
                "RETURNING s.id, s.asset, s.inspection_type, s.team, s.checklist, g.stamp, "
                "g.due_at, g.window_ends_at) "
                f"INSERT INTO inspection ({_INSERT_COLUMNS}) "
                "SELECT m.asset, m.id, CAST(m.id AS TEXT) || ':' || m.stamp, m.inspection_type, "
                "m.due_at, m.window_ends_at, m.team, m.checklist, ?::timestamptz, "
                f"?::timestamptz, {_CONSTANTS} FROM moved AS m "
                "ON CONFLICT (occurrence_key) DO NOTHING"
            )
            count = await _execute_count(statement, [*args, *batch[1], now, now])
            raised += count
            coalesced += count * missed
    return raised, coalesced


def _native(sql: str) -> str:
    """The statement with PostgreSQL's numbered placeholders for SQLite's ``?`` (the statements
    here carry no ``?`` inside literals)."""
    if db.is_sqlite():
        return sql
    parts = sql.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))


def _connection() -> Any:
    """The open transaction's own connection. Piccolo's query compiler costs more than the
    database itself for statements with thousands of parameters, so raising bypasses it (the
    values are still parameters, never text)."""
    transaction = db.engine().current_transaction.get()  # type: ignore[attr-defined]
    assert transaction is not None, "run inside db.transaction()"
    return transaction.connection


async def _execute(sql: str, args: list[Any]) -> list[Any]:
    connection = _connection()
    if db.is_sqlite():
        async with connection.execute(sql, args) as cursor:
            return list(await cursor.fetchall())
    return list(await connection.fetch(_native(sql), *args))


async def _execute_count(sql: str, args: list[Any]) -> int:
    """Run a write; the number of rows it wrote."""
    connection = _connection()
    if db.is_sqlite():
        async with connection.execute(sql, args) as cursor:
            return int(cursor.rowcount)
    status = await connection.execute(_native(sql), *args)
    return int(status.split()[-1])
