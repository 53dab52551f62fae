"""Raising due inspections: ``inspections.services.raise_due`` against a hand-written floor.

Seeds N inspection schedules (default 100,000 then 1,000,000), every one of them due, with a mix
of daily / weekly / monthly / yearly rules, patrols among them (the run's ``now`` is inside the
flood season, so the seasonal override is exercised) over N/100 assets, into a throw-away
database per engine. Then, side by side on the same data:

- floor: one ``INSERT INTO inspection (...) SELECT ... FROM inspection_schedule WHERE
  next_due_at <= now`` (it computes nothing and does not advance ``next_due_at``);
- raise_due: the real service, raising every due occurrence exactly once and advancing each
  schedule to its next occurrence.

Prints seconds, the ratio raise_due / floor and the growth from the first size to the last.

    .venv/bin/python bench/raise_inspections.py                       # 100k and 1M, both engines
    .venv/bin/python bench/raise_inspections.py --sizes 20000 --engines sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sqlite3
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


async def floor_sqlite(path: Path) -> float:
    connection = sqlite3.connect(path)
    sql = FLOOR_SQL.format(key="id || ':floor'", now="?", false="0")
    started = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    inserted = connection.execute(sql, (NOW, NOW, NOW)).rowcount
    connection.commit()
    elapsed = time.perf_counter() - started
    connection.execute("DELETE FROM inspection")
    connection.commit()
    connection.close()
    return check_floor(inserted, elapsed)


async def floor_postgres(url: str) -> float:
    connection = await asyncpg.connect(url)
    sql = FLOOR_SQL.format(key="id || ':floor'", now="$1", false="false")
    started = time.perf_counter()
    status = await connection.execute(sql, NOW)
    elapsed = time.perf_counter() - started
    await connection.execute("TRUNCATE inspection CASCADE")
    await connection.execute("VACUUM ANALYZE inspection")
    await connection.close()
    return check_floor(int(status.split()[-1]), elapsed)


def check_floor(inserted: int, elapsed: float) -> float:
    FLOOR_COUNTS.append(inserted)
    return elapsed


FLOOR_COUNTS: list[int] = []


async def timed_raise(expected: int) -> tuple[float, int]:
    started = time.perf_counter()
    result = await inspections.raise_due(NOW, ZONE)
    elapsed = time.perf_counter() - started
    assert int(result) == expected, (int(result), expected)
    again = await inspections.raise_due(NOW, ZONE)  # exactly once: a rerun raises nothing
    assert int(again) == 0, int(again)
    return elapsed, int(result)


async def run_size(engine: str, size: int) -> tuple[float, float]:
    assets = max(1, size // 100)
    rows = schedule_rows(size, assets)
    if engine == "sqlite":
        folder = ROOT / "var" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "raise_inspections.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        await migrate(url)
        started = time.perf_counter()
        seed_sqlite(path, rows, assets)
        seeded = time.perf_counter() - started
        floor = await floor_sqlite(path)
    else:
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {PG_DB}")
        await admin.close()
        url = PG_ADMIN.rpartition("/")[0] + "/" + PG_DB
        await migrate(url)
        started = time.perf_counter()
        await seed_postgres(url, rows, assets)
        seeded = time.perf_counter() - started
        floor = await floor_postgres(url)
    print(f"{engine}: seeded {size:,} schedules in {seeded:.1f} s", flush=True)
    db.configure(url)
    async with db.connection_pool(1, 4):
        raised, count = await timed_raise(FLOOR_COUNTS[-1])
    if engine == "postgres":
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        await admin.close()
    print(
        f"{engine} {size:>9,}: floor {floor:7.2f} s, raise_due {raised:7.2f} s "
        f"({count:,} raised), ratio {raised / floor:5.2f}x",
        flush=True,
    )
    return floor, raised


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--engines", default="sqlite,postgres")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    table: list[tuple[str, int, float, float]] = []
    for engine in (e.strip() for e in args.engines.split(",")):
        for size in sizes:
            floor, raised = await run_size(engine, size)
            table.append((engine, size, floor, raised))
    print(f"\n{'engine':9} {'schedules':>10} {'floor s':>8} {'raise_due s':>11} {'ratio':>7}")
    for engine, size, floor, raised in table:
        print(f"{engine:9} {size:>10,} {floor:8.2f} {raised:11.2f} {raised / floor:6.2f}x")
    for engine in dict.fromkeys(e for e, *_ in table):
        runs = [(s, f, r) for e, s, f, r in table if e == engine]
        if len(runs) > 1:
            (s0, f0, r0), (s1, f1, r1) = runs[0], runs[-1]
            print(
                f"{engine}: growth {s0:,} -> {s1:,} ({s1 / s0:.0f}x rows): floor {f1 / f0:.1f}x,"
                f" raise_due {r1 / r0:.1f}x"
            )


if __name__ == "__main__":
    asyncio.run(main())
