"""The supervisor's home (``/staff``) on a large register, side by side with the ticket list page.

Seeds 1,000,000 tickets over 10,000 assets (the ticket list benchmark's data set) and 100,000
inspections (five years of them: 97 % final, the rest planned, a third of those overdue) into a
throw-away database per engine, starts ``facilities serve`` on loopback, logs in as a supervisor
and fetches ``/staff`` and ``/tickets/`` (open tickets, page 1) alternately over HTTP, so machine
noise hits both alike. Prints p50/p95 per page and the ratio of the home's p95 to the list's.

Target (issue 19): the home's p95 within 2x of the ticket list page's.

    .venv/bin/python bench/supervisor_home.py                      # both engines, 1M tickets
    .venv/bin/python bench/supervisor_home.py --rows 100000 --engines sqlite --samples 30

PostgreSQL: ``BENCH_PG_ADMIN`` (default ``postgres://postgres@127.0.0.1:5432/postgres``); the
script creates and drops ``facilities_bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

import asyncpg
import httpx
import tickets_list  # the 1M-ticket data set and its seeding
from map import percentile, serving

from facilities import db
from facilities.accounts import services as accounts
from facilities.accounts.choices import Role
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.schemas import UserCreate

NOW = tickets_list.NOW
USER, PASSWORD = "bench-supervisor", "bench-password-1234"
INSPECTION_COLUMNS = (
    "asset",
    "inspection_type",
    "trigger",
    "state",
    "due_at",
    "window_ends_at",
    "completed_at",
    "answers",
    "recommendation",
    "no_restriction_reason",
    "unscored_reason",
    "summary",
    "created_at",
    "updated_at",
    "version",
)


def inspection_rows(count: int, assets: int, seed: int = 19) -> list[tuple[Any, ...]]:
    """Five years of inspections: final ones in the past, open ones around now (a third of them
    overdue), as a bureau's register looks after years of use."""
    rng = random.Random(seed)
    span = 5 * 365 * 24
    rows = []
    for _ in range(count):
        final = rng.random() < 0.97
        if final:
            due = NOW - dt.timedelta(hours=rng.randrange(24, span))
            done: dt.datetime | None = due + dt.timedelta(hours=rng.randrange(0, 96))
        else:
            due = NOW + dt.timedelta(hours=rng.randrange(-30 * 24, 60 * 24))
            done = None
        kind = rng.choice(["patrol", "routine", "periodic"])
        rows.append(
            (
                rng.randrange(1, assets + 1),
                kind,
                "scheduled",
                "final" if final else "planned",
                due,
                due + dt.timedelta(days=7),
                done,
                "{}",
                "",
                "",
                "",
                "",
                due - dt.timedelta(days=14),
                done or due,
                1,
            )
        )
    return rows


def seed_inspections_sqlite(path: Path, rows: list[tuple[Any, ...]]) -> None:
    def text(value: Any) -> Any:
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value

    connection = sqlite3.connect(path)
    marks = ", ".join("?" * len(INSPECTION_COLUMNS))
    connection.executemany(
        f"INSERT INTO inspection ({', '.join(INSPECTION_COLUMNS)}) VALUES ({marks})",
        ([text(v) for v in row] for row in rows),
    )
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


async def seed_inspections_postgres(url: str, rows: list[tuple[Any, ...]]) -> None:
    connection = await asyncpg.connect(url)
    await connection.copy_records_to_table(
        "inspection", columns=list(INSPECTION_COLUMNS), records=rows
    )
    await connection.execute("VACUUM ANALYZE")
    await connection.close()


async def prepare(engine: str, tickets: list[tuple[Any, ...]], args: Any) -> str:
    """A migrated, seeded database with the bench supervisor; its URL."""
    inspections = inspection_rows(args.inspections, args.assets)
    started = time.perf_counter()
    if engine == "sqlite":
        folder = ROOT / "var" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "supervisor_home.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        await tickets_list.migrate(url)
        tickets_list.seed_sqlite(path, tickets, args.assets)
        seed_inspections_sqlite(path, inspections)
    else:
        admin = await asyncpg.connect(tickets_list.PG_ADMIN)
        await admin.execute("DROP DATABASE IF EXISTS facilities_bench WITH (FORCE)")
        await admin.execute("CREATE DATABASE facilities_bench")
        await admin.close()
        url = tickets_list.PG_ADMIN.rpartition("/")[0] + "/facilities_bench"
        await tickets_list.migrate(url)
        await tickets_list.seed_postgres(url, tickets, args.assets)
        await seed_inspections_postgres(url, inspections)
    db.configure(url)
    async with db.connection_pool(1, 2):
        user = UserCreate(
            username=USER, display_name="Bench", role=Role.SUPERVISOR, password=PASSWORD
        )
        await accounts.create_user(SYSTEM, user, NOW)
    print(
        f"{engine}: seeded {len(tickets):,} tickets and {len(inspections):,} inspections "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return url


def measure(base: str, samples: int) -> dict[str, list[float]]:
    """Alternating GETs of the two pages by one logged-in supervisor, after a warm-up."""
    pages = {"/staff (supervisor home)": "/staff", "/tickets/ (ticket list)": "/tickets/"}
    timings: dict[str, list[float]] = {name: [] for name in pages}
    with httpx.Client(base_url=base, timeout=60) as client:
        client.get("/login")
        token = client.cookies["csrftoken"]
        answer = client.post(
            "/login", data={"username": USER, "password": PASSWORD, "_csrf_token": token}
        )
        assert answer.status_code == 303, answer.text
        for path in pages.values():  # warm-up: templates compiled, caches filled
            assert client.get(path).status_code == 200
        for _ in range(samples):
            for name, path in pages.items():
                started = time.perf_counter()
                response = client.get(path)
                timings[name].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
    return timings


def report(engine: str, timings: dict[str, list[float]]) -> None:
    print(f"\n{engine}: page latency over HTTP (ms), {len(next(iter(timings.values())))} each")
    print(f"{'page':28} {'p50':>8} {'p95':>8}")
    p95 = {}
    for name, values in timings.items():
        p95[name] = percentile(values, 0.95)
        print(f"{name:28} {statistics.median(values):8.2f} {p95[name]:8.2f}")
    home, listing = p95.values()
    print(f"supervisor home / ticket list (p95): {home / listing:.2f}x (target <= 2x)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--inspections", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--engines", default="sqlite,postgres")
    args = parser.parse_args()
    tickets = tickets_list.ticket_rows(args.rows, args.assets)
    folder = ROOT / "var" / "bench"
    for engine in args.engines.split(","):
        url = await prepare(engine.strip(), tickets, args)
        with serving(url, folder) as base:
            timings = await asyncio.to_thread(measure, base, args.samples)
        report(engine.strip(), timings)


if __name__ == "__main__":
    asyncio.run(main())
