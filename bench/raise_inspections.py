"""Raising due inspections: ``inspections.services.raise_due`` against a hand-written floor.

Seeds N inspection schedules (default 100,000 then 1,000,000), every one of them due, with a mix
of daily / weekly / monthly / yearly rules, patrols among them (the run's ``now`` is inside the
flood season, so the seasonal override is exercised) over N/100 assets, into a throw-away
database per engine. Then, side by side on the same data, ``--repeat`` times (the two alternate,
and the data is put back to all-due between rounds, so machine noise falls on both alike):

- floor: one ``INSERT INTO inspection (...) SELECT ... FROM inspection_schedule WHERE
  next_due_at <= now`` (it computes nothing and does not advance ``next_due_at``);
- raise_due: the real service, raising every due occurrence exactly once and advancing each
  schedule to its next occurrence.

Prints seconds per round, then per size the median of each, the median of the rounds' ratios
raise_due / floor (with the lowest and highest) and the growth from the first size to the last.

    .venv/bin/python bench/raise_inspections.py                       # 100k and 1M, both engines
    .venv/bin/python bench/raise_inspections.py --sizes 20000 --engines sqlite --repeat 1
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg

from facilities import db
from facilities.inspections import services as inspections
from facilities.lib import recurrence

ZONE = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 7, 15, 2, 30, tzinfo=dt.UTC)  # 10:30 Shanghai, inside the flood season
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
PG_DB = "facilities_bench_raise"
# (inspection type, rule, weight)
MIX = [
    ("patrol", "FREQ=DAILY", 30),
    ("patrol", "FREQ=DAILY;INTERVAL=3", 15),
    ("patrol", "FREQ=WEEKLY;BYDAY=MO", 15),
    ("routine_monthly", "FREQ=MONTHLY;BYMONTHDAY=1", 25),
    ("periodic_routine", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1", 10),
    ("hands_on_critical", "FREQ=YEARLY;BYMONTH=10;BYMONTHDAY=15", 5),
]
START_DAYS = 28  # distinct start dates (2026-01-01 + 0..27 days, 09:00 local)
COLUMNS = (
    "id",
    "asset",
    "inspection_type",
    "rrule",
    "anchor",
    "starts_at",
    "lead_days",
    "tolerance_days",
    "next_due_at",
    "is_suspended",
    "override_rrule",
    "override_reason",
    "created_at",
    "updated_at",
    "version",
)


def schedule_rows(count: int, assets: int, seed: int = 11) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    kinds = [(kind, rule) for kind, rule, weight in MIX for _ in range(weight)]
    latest: dict[tuple[str, dt.datetime], dt.datetime] = {}
    rows = []
    for n in range(1, count + 1):
        kind, rule = rng.choice(kinds)
        start_local = dt.datetime(2026, 1, 1, 9, 0) + dt.timedelta(days=rng.randrange(START_DAYS))
        starts_at = recurrence.localize(start_local, ZONE)
        key = (rule, start_local)
        if key not in latest:  # the last occurrence at or before now: every schedule is due
            before = starts_at - dt.timedelta(seconds=1)
            occurrence = recurrence.next_after(rule, start_local, before, ZONE, inclusive=True)
            assert occurrence is not None
            while (following := recurrence.next_after(rule, start_local, occurrence, ZONE)) and (
                following <= NOW
            ):
                occurrence = following
            latest[key] = occurrence if occurrence <= NOW else starts_at
        due = latest[key]
        if due > NOW:  # a yearly rule not yet started: due at its start, which is in the past
            due = starts_at
        rows.append(
            (
                n,
                rng.randrange(1, assets + 1),
                kind,
                rule,
                "fixed",
                starts_at,
                0,
                rng.choice((0, 1, 2)),
                due,
                False,
                "",
                "",
                NOW,
                NOW,
                1,
            )
        )
    return rows


FLOOR_SQL = (
    "INSERT INTO inspection (asset, schedule, occurrence_key, inspection_type, trigger, state, "
    "due_at, window_ends_at, team, checklist, answers, recommendation, summary, created_at, "
    "updated_at, version) "
    "SELECT asset, id, {key}, inspection_type, 'scheduled', 'planned', next_due_at, next_due_at, "
    "team, checklist, '{{}}', 'none', '', {now}, {now}, 1 "
    "FROM inspection_schedule WHERE next_due_at <= {now} AND is_suspended = {false}"
)


async def migrate(url: str) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    db.configure(url)
    result = await run_forwards(app_name="all", migration_id="all", fake=False)
    assert result.success, result.message


def seed_sqlite(path: Path, rows: list[tuple[Any, ...]], assets: int) -> None:
    connection = sqlite3.connect(path)  # datetimes go through Piccolo's adapter (UTC text)
    now = NOW.isoformat(sep=" ")
    connection.execute(
        "INSERT INTO site (name_zh, name_en, kind, address, created_at, updated_at, "
        "version) VALUES ('基准', 'Bench', 'park', '', ?, ?, 1)",
        (now, now),
    )
    connection.executemany(
        "INSERT INTO asset (code, name_zh, name_en, asset_type, site, lifecycle, structure_type, "
        "is_special_structure, is_tension_critical, description, location_note, created_at, "
        "updated_at, version) VALUES (?, ?, '', 'footbridge', 1, 'in_use', 'beam', 0, 0, '', '',"
        " ?, ?, 1)",
        [(f"B-{i:06d}", f"资产{i}", now, now) for i in range(1, assets + 1)],
    )
    connection.executemany(
        f"INSERT INTO inspection_schedule ({', '.join(COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(COLUMNS))})",
        rows,
    )
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


async def seed_postgres(url: str, rows: list[tuple[Any, ...]], assets: int) -> None:
    connection = await asyncpg.connect(url)
    await connection.execute(
        "INSERT INTO site (name_zh, name_en, kind, address, created_at, updated_at, version) "
        "VALUES ('基准', 'Bench', 'park', '', $1, $1, 1)",
        NOW,
    )
    await connection.execute(
        "INSERT INTO asset (code, name_zh, name_en, asset_type, site, lifecycle, structure_type, "
        "is_special_structure, is_tension_critical, description, location_note, created_at, "
        "updated_at, version) SELECT 'B-' || lpad(i::text, 6, '0'), '资产' || i, '', "
        "'footbridge', 1, 'in_use', 'beam', false, false, '', '', $1, $1, 1 "
        "FROM generate_series(1, $2) AS i",
        NOW,
        assets,
    )
    await connection.copy_records_to_table("inspection_schedule", columns=COLUMNS, records=rows)
    await connection.execute("SELECT setval('inspection_schedule_id_seq', $1)", len(rows))
    await connection.execute("ANALYZE")
    await connection.close()


async def floor_sqlite(path: Path) -> tuple[float, int]:
    connection = sqlite3.connect(path)
    sql = FLOOR_SQL.format(key="id || ':floor'", now="?", false="0")
    started = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    inserted = connection.execute(sql, (NOW, NOW, NOW)).rowcount
    connection.commit()
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed, inserted


async def floor_postgres(url: str) -> tuple[float, int]:
    connection = await asyncpg.connect(url)
    sql = FLOOR_SQL.format(key="id || ':floor'", now="$1", false="false")
    started = time.perf_counter()
    status = await connection.execute(sql, NOW)
    elapsed = time.perf_counter() - started
    await connection.close()
    return elapsed, int(status.split()[-1])


# Between rounds: no inspections, every schedule back at the due date it was seeded with (kept
# in bench_due), and the engine's housekeeping done, so every round starts from the same state.
KEEP_DUE = (
    "CREATE TABLE bench_due (id INTEGER PRIMARY KEY, next_due_at {type})",
    "INSERT INTO bench_due SELECT id, next_due_at FROM inspection_schedule",
)
RESTORE_DUE = (
    "UPDATE inspection_schedule SET next_due_at = bench_due.next_due_at FROM bench_due "
    "WHERE bench_due.id = inspection_schedule.id AND inspection_schedule.next_due_at IS NOT "
    "bench_due.next_due_at"
)


def reset_sqlite(path: Path, first: bool) -> None:
    connection = sqlite3.connect(path)
    if first:
        for statement in KEEP_DUE:
            connection.execute(statement.format(type="TEXT"))
    connection.execute("DELETE FROM inspection")
    connection.execute(RESTORE_DUE)
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


async def reset_postgres(url: str, first: bool) -> None:
    connection = await asyncpg.connect(url)
    if first:
        for statement in KEEP_DUE:
            await connection.execute(statement.format(type="timestamptz"))
    await connection.execute("TRUNCATE inspection CASCADE")
    await connection.execute(RESTORE_DUE.replace("IS NOT", "IS DISTINCT FROM"))
    await connection.execute("VACUUM ANALYZE inspection_schedule")
    await connection.execute("VACUUM ANALYZE inspection")
    await connection.close()


async def timed_raise(url: str, expected: int, check_rerun: bool) -> float:
    """Seconds for raise_due to raise ``expected`` inspections. With ``check_rerun``, also runs
    it again (it must raise nothing) and prints that rerun's time: the steady state, where a
    run every ten minutes finds next to nothing due."""
    db.configure(url)
    async with db.connection_pool(1, 4):
        started = time.perf_counter()
        result = await inspections.raise_due(NOW, ZONE)
        elapsed = time.perf_counter() - started
        assert int(result) == expected, (int(result), expected)
        if check_rerun:
            started = time.perf_counter()
            again = await inspections.raise_due(NOW, ZONE)
            print(f"  rerun with nothing due: {time.perf_counter() - started:.2f} s", flush=True)
            assert int(again) == 0, int(again)
    return elapsed


async def seed(engine: str, size: int) -> tuple[str, float]:
    """A fresh, migrated database holding ``size`` due schedules: its URL and the seconds taken."""
    assets = max(1, size // 100)
    rows = schedule_rows(size, assets)
    if engine == "sqlite":
        path = sqlite_path()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        await migrate(url)
        started = time.perf_counter()
        seed_sqlite(path, rows, assets)
    else:
        await drop_postgres(create=True)
        url = PG_ADMIN.rpartition("/")[0] + "/" + PG_DB
        await migrate(url)
        started = time.perf_counter()
        await seed_postgres(url, rows, assets)
    return url, time.perf_counter() - started


def sqlite_path() -> Path:
    folder = ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "raise_inspections.db"


async def drop_postgres(create: bool = False) -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    if create:
        await admin.execute(f"CREATE DATABASE {PG_DB}")
    await admin.close()


async def run_size(engine: str, size: int, repeat: int) -> list[tuple[float, float]]:
    """``repeat`` rounds of (floor, raise_due) seconds on one seeded database."""
    url, seeded = await seed(engine, size)
    print(f"{engine}: seeded {size:,} schedules in {seeded:.1f} s", flush=True)
    rounds = []
    for round_ in range(repeat):
        if engine == "sqlite":
            reset_sqlite(sqlite_path(), first=round_ == 0)
            floor, inserted = await floor_sqlite(sqlite_path())
            reset_sqlite(sqlite_path(), first=False)
        else:
            await reset_postgres(url, first=round_ == 0)
            floor, inserted = await floor_postgres(url)
            await reset_postgres(url, first=False)
        raised = await timed_raise(url, inserted, check_rerun=round_ == 0)
        rounds.append((floor, raised))
        print(
            f"{engine} {size:>9,} round {round_ + 1}: floor {floor:7.2f} s, raise_due "
            f"{raised:7.2f} s ({inserted:,} raised), ratio {raised / floor:5.2f}x",
            flush=True,
        )
    if engine == "postgres":
        await drop_postgres()
    return rounds


def median(values: list[float]) -> float:
    return statistics.median(values)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of floor then raise_due")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    table: list[tuple[str, int, list[tuple[float, float]]]] = []
    for engine in (e.strip() for e in args.engines.split(",")):
        for size in sizes:
            table.append((engine, size, await run_size(engine, size, args.repeat)))
    print(
        f"\n{'engine':9} {'schedules':>10} {'floor s':>8} {'raise_due s':>11} "
        f"{'ratio (median)':>14} {'lowest':>7} {'highest':>7}"
    )
    for engine, size, rounds in table:
        ratios = [raised / floor for floor, raised in rounds]
        print(
            f"{engine:9} {size:>10,} {median([f for f, _ in rounds]):8.2f} "
            f"{median([r for _, r in rounds]):11.2f} {median(ratios):13.2f}x "
            f"{min(ratios):6.2f}x {max(ratios):6.2f}x"
        )
    for engine in dict.fromkeys(e for e, *_ in table):
        runs = [(s, rounds) for e, s, rounds in table if e == engine]
        if len(runs) > 1:
            (s0, first), (s1, last) = runs[0], runs[-1]
            floors = median([f for f, _ in last]) / median([f for f, _ in first])
            raises = median([r for _, r in last]) / median([r for _, r in first])
            print(
                f"{engine}: growth {s0:,} -> {s1:,} ({s1 / s0:.0f}x rows, medians): floor "
                f"{floors:.1f}x, raise_due {raises:.1f}x"
            )


if __name__ == "__main__":
    asyncio.run(main())
