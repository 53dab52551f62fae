"""Ticket list latency on a large register: page 1 vs a deep page, filtered lists, side by side.

Seeds N tickets over M assets (default 1,000,000 over 10,000) into a throw-away database per
engine, then times the real service ``tickets.list_tickets`` for each scenario, interleaving the
scenarios round-robin so machine noise hits them alike. Prints p50/p95 per scenario and the ratio
of the deep page (page 5,000 of 50) to page 1.

    .venv/bin/python bench/tickets_list.py                    # both engines, 1M rows
    .venv/bin/python bench/tickets_list.py --rows 100000 --engines sqlite
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg

from facilities import db
from facilities.accounts.permissions import SYSTEM
from facilities.tickets import services as tickets
from facilities.tickets.schemas import TicketFilters
from facilities.tickets.services import reading as ticket_reading
from facilities.tickets.tables import RepairTicket

NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
STATUSES = (
    ["new"] * 3
    + ["triaged"] * 3
    + ["scheduled"] * 4
    + ["in_progress"] * 6
    + ["work_complete"] * 2
    + ["on_hold"] * 2
    + ["closed"] * 75
    + ["cancelled"] * 3
    + ["rejected"] * 2
)
PRIORITIES = ["P0"] * 2 + ["P1"] * 18 + ["P2"] * 50 + ["P3"] * 30
SOURCES = ["inspection", "patrol", "citizen_report", "event", "planned"]
HOURS = {"P0": 24, "P1": 168, "P2": 720, "P3": 2160}


def ticket_rows(count: int, assets: int, seed: int = 7) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    start = NOW - dt.timedelta(days=5 * 365)
    span = int((NOW - start).total_seconds())
    rows = []
    for n in range(1, count + 1):
        created = start + dt.timedelta(seconds=rng.randrange(span))
        priority = rng.choice(PRIORITIES)
        status = rng.choice(STATUSES)
        closed = (
            created + dt.timedelta(hours=rng.randrange(1, 2000))
            if status in {"closed", "cancelled", "rejected"}
            else None
        )
        rows.append(
            (
                n,
                rng.randrange(1, assets + 1),
                f"Ticket {n} {rng.choice(SOURCES)} repair",
                rng.choice(SOURCES),
                priority,
                status,
                created + dt.timedelta(hours=HOURS[priority]),
                created,
                closed or created,
                closed,
            )
        )
    return rows


COLUMNS = (
    "id",
    "asset",
    "title",
    "source",
    "priority",
    "status",
    "sla_due_at",
    "created_at",
    "updated_at",
    "closed_at",
)


async def migrate(url: str) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    db.configure(url)
    result = await run_forwards(app_name="all", migration_id="all", fake=False)
    assert result.success, result.message


def seed_sqlite(path: Path, rows: list[tuple[Any, ...]], assets: int) -> None:
    connection = sqlite3.connect(path)
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
        [(f"B-{i:05d}", f"资产{i}", now, now) for i in range(1, assets + 1)],
    )

    def text(value: Any) -> Any:
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value

    connection.executemany(
        f"INSERT INTO repair_ticket ({', '.join(COLUMNS)}, description, work_class, "
        "assignee_team, contractor, contractor_contact, scope, status_note, reporter_email, "
        f"version) VALUES ({', '.join('?' * len(COLUMNS))}, "
        "'', 'minor', '', '', '', '', '', '', 1)",
        ([text(v) for v in row] for row in rows),
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
    await connection.copy_records_to_table(
        "asset",
        columns=[
            "code",
            "name_zh",
            "name_en",
            "asset_type",
            "site",
            "lifecycle",
            "structure_type",
            "is_special_structure",
            "is_tension_critical",
            "description",
            "location_note",
            "created_at",
            "updated_at",
            "version",
        ],
        records=[
            (
                f"B-{i:05d}",
                f"资产{i}",
                "",
                "footbridge",
                1,
                "in_use",
                "beam",
                False,
                False,
                "",
                "",
                NOW,
                NOW,
                1,
            )
            for i in range(1, assets + 1)
        ],
    )
    extra = (
        "description",
        "work_class",
        "assignee_team",
        "contractor",
        "contractor_contact",
        "scope",
        "status_note",
        "reporter_email",
        "version",
    )
    await connection.copy_records_to_table(
        "repair_ticket",
        columns=[*COLUMNS, *extra],
        records=[(*row, "", "minor", "", "", "", "", "", "", 1) for row in rows],
    )
    await connection.execute("SELECT setval('repair_ticket_id_seq', $1)", len(rows))
    await connection.execute("ANALYZE")
    await connection.close()


async def deep_cursor(filters: TicketFilters, page: int) -> str:
    """The cursor that starts page ``page`` (computed once, as a user paging would reach it)."""
    offset = (page - 1) * filters.per_page - 1
    query = RepairTicket.objects().where(*ticket_reading._conditions(filters, NOW))
    for column, ascending in tickets.SORTS[filters.sort]:
        query = query.order_by(column, ascending=ascending)
    row = (await query.offset(offset).limit(1))[0]
    return ticket_reading._encode_cursor(row, filters.sort)


async def measure(samples: int, rows: int) -> list[tuple[str, list[float]]]:
    deep = min(5000, rows // 50 // 2)
    base = TicketFilters(per_page=50)
    scenarios: dict[str, TicketFilters] = {
        "open, newest first, page 1": base,
        "all, newest first, deep page": TicketFilters(
            per_page=50,
            status="",
            after=await deep_cursor(TicketFilters(per_page=50, status=""), deep),
        ),
        "all, newest first, page 1": TicketFilters(per_page=50, status=""),
        "open P1 on one asset": TicketFilters(per_page=50, priority="P1", asset=1234),
        "overdue, by due date": TicketFilters(per_page=50, overdue=True, sort="due"),
        "open by priority, page 1": TicketFilters(per_page=50, sort="priority"),
        "all by priority, deep page": TicketFilters(
            per_page=50,
            status="",
            sort="priority",
            after=await deep_cursor(TicketFilters(per_page=50, status="", sort="priority"), deep),
        ),
    }
    timings: dict[str, list[float]] = {name: [] for name in scenarios}
    for filters in scenarios.values():  # warm up
        await tickets.list_tickets(SYSTEM, filters, NOW)
    for _ in range(samples):
        for name, filters in scenarios.items():
            started = time.perf_counter()
            page = await tickets.list_tickets(SYSTEM, filters, NOW)
            timings[name].append((time.perf_counter() - started) * 1000)
            assert page.items or name.startswith("open P1"), name
    return list(timings.items())


def report(engine: str, results: list[tuple[str, list[float]]]) -> None:
    print(f"\n{engine}: ticket list latency (ms), {len(results[0][1])} samples each")
    print(f"{'scenario':34} {'p50':>8} {'p95':>8}")
    p95: dict[str, float] = {}
    for name, values in results:
        values = sorted(values)
        p95[name] = values[int(len(values) * 0.95) - 1]
        print(f"{name:34} {statistics.median(values):8.2f} {p95[name]:8.2f}")
    deep = p95["all, newest first, deep page"] / p95["all, newest first, page 1"]
    deep_priority = p95["all by priority, deep page"] / p95["open by priority, page 1"]
    print(f"deep page / page 1 (p95): newest first {deep:.2f}x, by priority {deep_priority:.2f}x")


async def run_engine(engine: str, rows: list[tuple[Any, ...]], assets: int, samples: int) -> None:
    if engine == "sqlite":
        folder = ROOT / "var" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "tickets.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        await migrate(url)
        started = time.perf_counter()
        seed_sqlite(path, rows, assets)
    else:
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute("DROP DATABASE IF EXISTS facilities_bench WITH (FORCE)")
        await admin.execute("CREATE DATABASE facilities_bench")
        await admin.close()
        url = PG_ADMIN.rpartition("/")[0] + "/facilities_bench"
        await migrate(url)
        started = time.perf_counter()
        await seed_postgres(url, rows, assets)
    print(f"{engine}: seeded {len(rows):,} tickets in {time.perf_counter() - started:.1f} s")
    db.configure(url)
    async with db.connection_pool(1, 4):
        report(engine, await measure(samples, len(rows)))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--engines", default="sqlite,postgres")
    args = parser.parse_args()
    rows = ticket_rows(args.rows, args.assets)
    for engine in args.engines.split(","):
        await run_engine(engine.strip(), rows, args.assets, args.samples)


if __name__ == "__main__":
    asyncio.run(main())
