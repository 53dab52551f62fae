"""Scale-out on PostgreSQL: web with 1 vs 2 workers under one mixed load; scheduler replicas.

Seeds a throw-away PostgreSQL database ``facilities_bench_scale`` (dropped and created; migrated
with Piccolo's ``run_forwards``; bulk rows by COPY): N assets over a few sites, M repair tickets,
K inspection schedules all due at the sweep's ``now`` (the mix of ``bench/raise_inspections.py``),
a few closures in force (through the real services, so the public pages have content) and one
supervisor with an API token (``accounts.services.create_api_token``). Then:

- web: ``facilities serve --workers 1``, then ``--workers 2`` (scheduler off, free loopback port);
  a separate client process keeps C keep-alive connections busy for S seconds after a warm-up
  with the same mix on both: ``GET /``, ``GET /notices``, ``GET /feeds/notices.atom``,
  ``GET /api/v1/tickets?per_page=50`` and ``GET /api/v1/assets?per_page=25`` (bearer token),
  ``POST /api/v1/tickets``. Prints requests/s, p50/p95 per kind, status codes (no 5xx allowed),
  the server's CPU seconds, and RSS (current and peak) per worker process; the ratio 2 / 1.
- scheduler: ``python -m scheduler run raise_inspections --now <iso>`` once (1 replica), then,
  on the same data reset to all-due, three such processes started together (3 replicas). Prints
  the wall time of each sweep and the job's own time from ``job_run``; asserts that the number of
  inspections equals the number of due schedules, one per schedule (no duplicates).

    .venv/bin/python bench/scale.py                       # 100k assets, 1M tickets, 100k due
    .venv/bin/python bench/scale.py --tickets 100000 --assets 10000 --schedules 10000 --seconds 5

PostgreSQL: ``BENCH_PG_ADMIN`` (default ``postgres://postgres@127.0.0.1:5432/postgres``).
Loopback only; bounded in rows, seconds and timeouts; every process is stopped in ``finally``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import io
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
PG_DB = "facilities_bench_scale"
LOG_DIR = ROOT / "var" / "bench"
SITES = 5
# The load mix, one entry per request in a cycle (each connection starts at its own offset).
MIX = ["home", "notices", "atom", "tickets", "assets"] * 2 + ["create"]
KINDS = ("home", "notices", "atom", "tickets", "assets", "create")


# --- seeding ---------------------------------------------------------------------------------


def ticket_records(
    count: int, assets: int, seed: int = 7, first_id: int = 1, first_asset: int = 1
) -> Iterator[tuple[Any, ...]]:
    """The rows of ``bench/tickets_list.py`` (same distributions), generated lazily for COPY:
    ids from ``first_id``, on the ``assets`` asset ids from ``first_asset`` (for a database that
    already holds rows, as ``bench/soak.py`` seeds after the demo story)."""
    from tickets_list import HOURS, NOW, PRIORITIES, SOURCES, STATUSES

    rng = random.Random(seed)
    start = NOW - dt.timedelta(days=5 * 365)
    span = int((NOW - start).total_seconds())
    for n in range(first_id, first_id + count):
        created = start + dt.timedelta(seconds=rng.randrange(span))
        priority = rng.choice(PRIORITIES)
        status = rng.choice(STATUSES)
        closed = (
            created + dt.timedelta(hours=rng.randrange(1, 2000))
            if status in {"closed", "cancelled", "rejected"}
            else None
        )
        source = rng.choice(SOURCES)
        yield (
            n,
            first_asset - 1 + rng.randrange(1, assets + 1),
            f"Ticket {n} {source} repair",
            source,
            priority,
            status,
            created + dt.timedelta(hours=HOURS[priority]),
            created,
            closed or created,
            closed,
            *("", "minor", "", "", "", "", "", "", 1),
        )


async def create_database(url: str) -> None:
    """Drop and create the database named by ``url`` (through ``PG_ADMIN``), point the app's
    engine at it and migrate it with Piccolo's ``run_forwards``."""
    import asyncpg
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from facilities import db

    name = url.rpartition("/")[2]
    assert re.fullmatch(r"facilities_bench_\w+", name), name  # never drop anything else
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    db.configure(url)
    with contextlib.redirect_stdout(io.StringIO()):  # Piccolo prints every migration
        result = await run_forwards(app_name="all", migration_id="all", fake=False)
    assert result.success, result.message


async def seed(url: str, args: argparse.Namespace) -> dict[str, Any]:
    import asyncpg
    from raise_inspections import COLUMNS as SCHEDULE_COLUMNS
    from raise_inspections import schedule_rows
    from tickets_list import COLUMNS as TICKET_COLUMNS

    await create_database(url)

    timings: dict[str, float] = {}
    now = dt.datetime.now(dt.UTC)
    connection = await asyncpg.connect(url)
    try:
        began = time.perf_counter()
        await connection.execute(
            "INSERT INTO site (name_zh, name_en, kind, address, created_at, updated_at, version) "
            "SELECT '基准公园' || i, 'Bench park ' || i, 'park', '', $1, $1, 1 "
            "FROM generate_series(1, $2) AS i",
            now,
            SITES,
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
            records=(
                (
                    f"B-{i:06d}",
                    f"资产{i}",
                    f"Asset {i}",
                    "footbridge",
                    i % SITES + 1,
                    "in_use",
                    "beam",
                    False,
                    False,
                    "",
                    "",
                    now,
                    now,
                    1,
                )
                for i in range(1, args.assets + 1)
            ),
        )
        timings["assets"] = time.perf_counter() - began
        began = time.perf_counter()
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
            columns=[*TICKET_COLUMNS, *extra],
            records=ticket_records(args.tickets, args.assets),
        )
        await connection.execute("SELECT setval('repair_ticket_id_seq', $1)", args.tickets)
        timings["tickets"] = time.perf_counter() - began
        began = time.perf_counter()
        await connection.copy_records_to_table(
            "inspection_schedule",
            columns=SCHEDULE_COLUMNS,
            records=schedule_rows(args.schedules, args.assets),
        )
        await connection.execute("SELECT setval('inspection_schedule_id_seq', $1)", args.schedules)
        # The all-due state, to reset to between the two sweeps.
        await connection.execute(
            "CREATE TABLE bench_due AS SELECT id, next_due_at FROM inspection_schedule"
        )
        timings["schedules"] = time.perf_counter() - began
    finally:
        await connection.close()

    began = time.perf_counter()
    token = await seed_people_and_closures(args.closures, now)
    timings["user, token, closures"] = time.perf_counter() - began
    connection = await asyncpg.connect(url)
    try:
        began = time.perf_counter()
        await connection.execute("ANALYZE")
        timings["analyze"] = time.perf_counter() - began
    finally:
        await connection.close()
    return {"token": token, "timings": timings}


async def seed_people_and_closures(count: int, now: dt.datetime) -> str:
    from facilities.accounts import services as accounts
    from facilities.accounts.choices import Role
    from facilities.accounts.permissions import SYSTEM
    from facilities.accounts.schemas import TokenCreate, UserCreate
    from facilities.closures import services as closures
    from facilities.closures.choices import Precision, Reason, SafetyMeasure, Scope
    from facilities.closures.schemas import ClosureIn, NoticeIn

    user = await accounts.create_user(
        SYSTEM,
        UserCreate(
            username="bench",
            display_name="Bench supervisor",
            role=Role.SUPERVISOR,
            email="bench@bureau.example",
            password="bench-password-1",  # noqa: S106 - a throw-away database
        ),
        now,
    )
    token = await accounts.create_api_token(
        SYSTEM, TokenCreate(name="bench scale", user_id=user.id), now
    )
    staff = accounts.actor_of(user)
    for n in range(count):
        start = now - dt.timedelta(days=30) + dt.timedelta(hours=n)
        closure = await closures.create_closure(
            staff,
            ClosureIn(
                asset_id=n * 97 + 1,
                scope=Scope.FULL if n % 3 else Scope.PARTIAL,
                affected_part_zh="" if n % 3 else "东段",
                reason=Reason.REPAIR_WORKS,
                reason_zh=f"第{n}号设施维修：更换腐朽木板。",
                reason_en=f"Facility {n} is repaired: rotten boards replaced.",
                safety_measures=[SafetyMeasure.FENCING, SafetyMeasure.DETOUR],
                detour_zh="请经北门绕行。",
                detour_en="Use the north gate.",
                effective_from=start,
                planned_reopen_on=(now + dt.timedelta(days=30 + n)).date(),
                reopen_precision=Precision.BEFORE,
            ),
            start,
        )
        await closures.write_update(
            staff,
            closure.id,
            NoticeIn(text_zh=f"第{n}号设施：施工进展顺利。", text_en=f"Facility {n}: going well."),
            start + dt.timedelta(hours=1),
        )
    return token


# --- the load client (its own process) -------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, chunked = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


def _requests(config: dict[str, Any], cookie: str) -> dict[str, Any]:
    def get(path: str, headers: str) -> bytes:
        return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode()

    browser = f"User-Agent: bench\r\nAccept: text/html,*/*\r\nCookie: {cookie}\r\n"
    api = "User-Agent: bench\r\nAccept: application/json\r\n"
    api += f"Authorization: Bearer {config['token']}\r\n"

    def create(n: int) -> bytes:
        body = json.dumps(
            {
                "asset_id": n % config["assets"] + 1,
                "title": f"Bench load ticket {n}",
                "priority": "P3",
                "source": "patrol",
            }
        ).encode()
        head = f"POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\n{api}"
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        return head.encode() + body

    return {
        "home": (get("/", browser), 200),
        "notices": (get("/notices", browser), 200),
        "atom": (get("/feeds/notices.atom", browser), 200),
        "tickets": (get("/api/v1/tickets?per_page=50", api), 200),
        "assets": (get("/api/v1/assets?per_page=25", api), 200),
        "create": (create, 201),
    }


async def _connection(
    config: dict[str, Any],
    requests: dict[str, Any],
    mix: list[str],
    offset: int,
    measure_from: float,
    stop_at: float,
    samples: dict[str, list[float]],
    statuses: dict[str, dict[str, int]],
) -> None:
    port = config["port"]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = offset
    try:
        while (began := time.perf_counter()) < stop_at:
            kind = mix[n % len(mix)]
            n += 1
            request = requests[kind][0]
            raw = request(n * 1000 + offset) if callable(request) else request
            try:
                writer.write(raw)
                status = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError):
                status = 0  # the connection dropped: count it and reconnect
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            if began >= measure_from:
                samples[kind].append(time.perf_counter() - began)
                key = str(status)
                statuses[kind][key] = statuses[kind].get(key, 0) + 1
    finally:
        writer.close()


async def run_client(config: dict[str, Any]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", config["port"])
    writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: lang=zh_CN\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    writer.close()
    found = re.search(rb"(?i)set-cookie:\s*(csrftoken=[^;\r\n]+)", head)
    cookie = "lang=zh_CN" + ("; " + found.group(1).decode() if found else "")
    requests = _requests(config, cookie)
    # Pre-flight: each kind once. A kind that answers 5xx is reported and left out of the mix
    # (the same mix on both runs), so the rest is still measured; the script then exits 1.
    preflight: dict[str, int] = {}
    reader, writer = await asyncio.open_connection("127.0.0.1", config["port"])
    for kind in KINDS:
        request = requests[kind][0]
        writer.write(request(0) if callable(request) else request)
        preflight[kind] = await _read_response(reader)
    writer.close()
    broken = [kind for kind, status in preflight.items() if status >= 500]
    mix = [kind for kind in MIX if kind not in broken]
    samples: dict[str, list[float]] = {k: [] for k in KINDS}
    statuses: dict[str, dict[str, int]] = {k: {} for k in KINDS}
    start = time.perf_counter()
    measure_from = start + config["warmup"]
    stop_at = measure_from + config["seconds"]
    tasks = [
        asyncio.create_task(
            _connection(config, requests, mix, i, measure_from, stop_at, samples, statuses)
        )
        for i in range(config["concurrency"])
    ]
    await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
    cpu_before = sum(_cpu_seconds(pid) for pid in config["pids"])
    own_before = time.process_time()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - measure_from
    cpu = sum(_cpu_seconds(pid) for pid in config["pids"]) - cpu_before
    own = time.process_time() - own_before
    out: dict[str, Any] = {
        "elapsed": elapsed,
        "server_cpu": cpu,
        "client_cpu": own,
        "preflight": preflight,
        "skipped": broken,
        "kinds": {},
    }
    for kind in [k for k in KINDS if k not in broken]:
        values = sorted(samples[kind])
        out["kinds"][kind] = {
            "count": len(values),
            "p50": values[len(values) // 2] * 1000 if values else 0.0,
            "p95": values[int(len(values) * 0.95)] * 1000 if values else 0.0,
            "statuses": statuses[kind],
            "expected": str(requests[kind][1]),
        }
    print(json.dumps(out))


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def app_env(url: str, port: int = 0) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITIES_")}
    env.update(
        FACILITIES_DATABASE_URL=url,
        FACILITIES_SCHEDULER_EMBEDDED="false",
        FACILITIES_LOG_LEVEL="WARNING",
        FACILITIES_HOST="127.0.0.1",
    )
    if port:
        env["FACILITIES_PORT"] = str(port)
    return env


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(c) for c in task.read_text().split()]
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in kB: the resident set now and its peak."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            values[name] = int(value.split()[0])
    return values["VmRSS"], values["VmHWM"]


def web_workers(master: int, expected: int) -> list[int]:
    """The processes that serve requests: the master itself with one worker (uvicorn runs the
    server in-process), else its spawned children (not multiprocessing's resource tracker)."""
    if expected == 1:
        return [master]
    return [c for c in children(master) if "resource_tracker" not in cmdline(c)]


def wait_until_serving(port: int, server: subprocess.Popen[bytes], workers: int) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited during start-up (see {LOG_DIR})")
        if len(web_workers(server.pid, workers)) == workers:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    if b" 200 " in conn.recv(100):
                        time.sleep(1.0 if workers > 1 else 0.0)  # let every worker finish
                        return
            except OSError:
                pass
        time.sleep(0.2)
    raise SystemExit("the server did not start in time")


def stop(process: subprocess.Popen[Any], extra: list[int] | None = None) -> None:
    """SIGTERM the process we started (uvicorn's master stops its workers); kill it and the
    workers we recorded, by pid, if it does not exit in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for pid in extra or []:
        try:
            if Path(f"/proc/{pid}").exists():
                os.kill(pid, 9)
        except ProcessLookupError:
            pass


def run_web(url: str, token: str, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    log = (LOG_DIR / f"scale_serve_{workers}.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "facilities.cli", "serve", "--workers", str(workers)],
        cwd=ROOT,
        env=app_env(url, port),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    pids: list[int] = []
    try:
        wait_until_serving(port, server, workers)
        pids = web_workers(server.pid, workers)
        config = {
            "port": port,
            "token": token,
            "pids": [server.pid, *pids] if workers > 1 else pids,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "concurrency": args.concurrency,
            "assets": args.assets,
        }
        client = subprocess.run(
            [sys.executable, __file__, "--client", json.dumps(config)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=args.warmup + args.seconds + 120,
            check=False,
        )
        if client.returncode:
            raise SystemExit(f"the load client failed:\n{client.stderr[-3000:]}")
        result = json.loads(client.stdout.strip().splitlines()[-1])
        result["memory"] = {pid: memory_kb(pid) for pid in pids}
        result["master_memory"] = memory_kb(server.pid) if workers > 1 else None
        return result
    finally:
        stop(server, pids if workers > 1 else [])
        log.close()


def run_sweep(url: str, now: dt.datetime, replicas: int, timeout: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "scheduler", "run", "raise_inspections"]
    command += ["--now", now.isoformat()]
    processes: list[subprocess.Popen[str]] = []
    began = time.perf_counter()
    try:
        for _ in range(replicas):
            processes.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=app_env(url),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        outputs = [p.communicate(timeout=timeout) for p in processes]
        elapsed = time.perf_counter() - began
    finally:
        for process in processes:
            stop(process)
    items = []
    for process, (out, err) in zip(processes, outputs, strict=True):
        if process.returncode:
            raise SystemExit(f"a scheduler replica failed ({process.returncode}): {err[-2000:]}")
        found = re.search(r"raise_inspections: (\d+) item", out)
        items.append(int(found.group(1)) if found else -1)
    return {"wall": elapsed, "items": items}


async def db_check(url: str, now: dt.datetime, replicas: int) -> dict[str, Any]:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(
            "SELECT count(*) AS total, count(DISTINCT schedule) AS schedules, "
            "count(DISTINCT occurrence_key) AS keys FROM inspection"
        )
        still_due = await connection.fetchval(
            "SELECT count(*) FROM inspection_schedule WHERE NOT is_suspended AND next_due_at <= $1",
            now,
        )
        runs = await connection.fetch(
            "SELECT extract(epoch FROM finished_at - started_at) AS seconds, items, error "
            "FROM job_run WHERE job_id = 'raise_inspections' ORDER BY id DESC LIMIT $1",
            replicas,
        )
    finally:
        await connection.close()
    return {**dict(row), "still_due": still_due, "runs": [dict(r) for r in runs]}


async def reset_schedules(url: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute("TRUNCATE inspection CASCADE")
        await connection.execute(
            "UPDATE inspection_schedule s SET next_due_at = b.next_due_at FROM bench_due b "
            "WHERE s.id = b.id"
        )
        await connection.execute("VACUUM ANALYZE inspection_schedule")
        await connection.execute("VACUUM ANALYZE inspection")
    finally:
        await connection.close()


async def count_due(url: str, now: dt.datetime) -> int:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM inspection_schedule "
                "WHERE NOT is_suspended AND next_due_at - lead_days * interval '1 day' <= $1",
                now,
            )
        )
    finally:
        await connection.close()


# --- report ----------------------------------------------------------------------------------


def report_web(results: dict[int, dict[str, Any]], args: argparse.Namespace) -> list[str]:
    """Print the web table; return the kinds left out because they answered 5xx."""
    print(
        f"\nweb: {args.concurrency} keep-alive connections, {args.warmup:g} s warm-up then "
        f"{args.seconds:g} s, mix per cycle of {len(MIX)}: 2x each GET, 1x POST /api/v1/tickets"
    )
    print(
        f"{'workers':>7} {'kind':<8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}  statuses (expected)"
    )
    totals: dict[int, float] = {}
    for workers, result in results.items():
        elapsed = result["elapsed"]
        total = 0
        for kind in result["kinds"]:
            row = result["kinds"][kind]
            total += row["count"]
            print(
                f"{workers:>7} {kind:<8} {row['count'] / elapsed:>8.1f} {row['p50']:>8.1f} "
                f"{row['p95']:>8.1f}  {row['statuses']} ({row['expected']})"
            )
        totals[workers] = total / elapsed
        all_p95 = max(row["p95"] for row in result["kinds"].values())
        print(
            f"{workers:>7} {'ALL':<8} {totals[workers]:>8.1f} {'':>8} {all_p95:>8.1f}  "
            f"(max p95 of the kinds); server CPU {result['server_cpu']:.1f} s "
            f"= {total / max(result['server_cpu'], 1e-9):.0f} req/CPU-s; client CPU "
            f"{result['client_cpu']:.1f} s"
        )
        for pid, (rss, peak) in result["memory"].items():
            print(f"        worker pid {pid}: RSS {rss / 1024:.0f} MB (peak {peak / 1024:.0f} MB)")
        if result["master_memory"]:
            rss, peak = result["master_memory"]
            print(f"        uvicorn master (supervisor only): RSS {rss / 1024:.0f} MB")
    if 1 in totals and 2 in totals:
        print(f"throughput ratio 2 workers / 1 worker: {totals[2] / totals[1]:.2f}x")
    errors = {
        (w, k): s
        for w, r in results.items()
        for k in r["kinds"]
        for s in r["kinds"][k]["statuses"]
        if s.startswith("5") or s == "0"
    }
    print("5xx / dropped connections: " + (str(errors) if errors else "none"))
    assert not errors, errors
    skipped = sorted({k for r in results.values() for k in r["skipped"]})
    for workers, result in results.items():
        for kind in result["skipped"]:
            print(
                f"NOT MEASURED with {workers} worker(s): {kind} answered "
                f"{result['preflight'][kind]} in the pre-flight (see {LOG_DIR}/scale_serve_*.log)"
            )
    return skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--schedules", type=int, default=100_000)
    parser.add_argument("--closures", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        asyncio.run(run_client(json.loads(args.client)))
        return
    assert args.assets >= max(SITES, args.closures * 97 + 1), "too few assets for the closures"

    from raise_inspections import NOW as SWEEP_NOW

    LOG_DIR.mkdir(parents=True, exist_ok=True)
    url = PG_ADMIN.rpartition("/")[0] + "/" + PG_DB
    began = time.perf_counter()
    seeded = asyncio.run(seed(url, args))
    print(
        f"seeded {args.assets:,} assets over {SITES} sites, {args.tickets:,} tickets, "
        f"{args.schedules:,} schedules, {args.closures} closures in "
        f"{time.perf_counter() - began:.0f} s ("
        + ", ".join(f"{k} {v:.1f} s" for k, v in seeded["timings"].items())
        + ")",
        flush=True,
    )

    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average before the web runs: {load}", flush=True)
    results = {}
    for workers in (1, 2):
        results[workers] = run_web(url, seeded["token"], workers, args)
        print(f"web with {workers} worker(s): done", flush=True)
    skipped = report_web(results, args)

    due = asyncio.run(count_due(url, SWEEP_NOW))
    sweeps: dict[int, dict[str, Any]] = {}
    timeout = 600.0
    for replicas in (1, args.replicas):
        asyncio.run(reset_schedules(url))
        sweep = run_sweep(url, SWEEP_NOW, replicas, timeout)
        sweep.update(asyncio.run(db_check(url, SWEEP_NOW, replicas)))
        sweeps[replicas] = sweep
        print(f"sweep with {replicas} replica(s): done", flush=True)
    print(f"\nscheduler: raise_inspections --now {SWEEP_NOW.isoformat()}, {due:,} due schedules")
    print(
        f"{'replicas':>8} {'wall s':>7} {'job s (each)':>20} {'items (each)':>22} "
        f"{'inspections':>11} {'schedules':>9} {'still due':>9}"
    )
    for replicas, s in sweeps.items():
        job = ", ".join(f"{float(r['seconds']):.1f}" for r in reversed(s["runs"]))
        items = ", ".join(str(i) for i in s["items"])
        print(
            f"{replicas:>8} {s['wall']:>7.1f} {job:>20} {items:>22} {s['total']:>11,} "
            f"{s['schedules']:>9,} {s['still_due']:>9}"
        )
        assert s["total"] == due, (replicas, s["total"], due)
        assert s["schedules"] == due and s["keys"] == due, s
        assert s["still_due"] == 0, s
        assert sum(s["items"]) == due, s["items"]
    one, many = sweeps[1]["wall"], sweeps[args.replicas]["wall"]
    print(
        f"{args.replicas} replicas / 1 replica (wall): {many / one:.2f}x; "
        f"inspections == due schedules ({due:,}), one per schedule: no duplicates"
    )
    if skipped:
        raise SystemExit(f"failed: {', '.join(skipped)} answered 5xx and were not measured")


if __name__ == "__main__":
    main()
