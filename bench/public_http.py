"""Public pages and feeds over HTTP, each measured as a ratio to a constant route.

Seeds N closures in force (default 1,000: one asset each over 20 sites, the activation notice and
a staff update each, some extended, some with linked repair work) into a throw-away SQLite
database through the real services, serves the app as ``facilities serve`` does (uvicorn, one
worker) plus the reference route of ``bench/constant_app.py`` on a free loopback port, and from a
separate client process measures the throughput of:

- ``constant``: ``GET /bench/constant``, two constant bytes through the same middleware (the
  reference: what the framework and the server cost with no work at all);
- ``home``: the public home page; ``notice``: a closure notice (one with a revised promise and
  repair progress); ``atom``: the site-wide Atom feed; ``atom_304``: the same feed revalidated
  with ``If-None-Match`` (answered 304).

The client keeps C connections open (HTTP/1.1 keep-alive, a browser's csrftoken cookie, no
pipelining) and runs the scenarios in rounds, each for S seconds, in a rotating order so machine
noise hits them alike; a scenario's ratio is the median over rounds of its throughput divided by
the constant route's in the same round. Targets: >= 0.6 for pages and feeds, >= 0.85 for 304s.
Loopback only; bounded in rounds and seconds; stops by itself.

    .venv/bin/python bench/public_http.py            # 1,000 closures, 5 rounds of 3 s
    .venv/bin/python bench/public_http.py --quick    # 200 closures, 3 rounds of 1 s
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FOLDER = ROOT / "var" / "bench"
NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
SITES = 20
SCENARIOS = ("constant", "home", "notice", "atom", "atom_304")
TARGETS = {"home": 0.6, "notice": 0.6, "atom": 0.6, "atom_304": 0.85}


# --- seeding (in its own process: the app's modules bind the database at import) ------------


async def seed(url: str, count: int) -> dict[str, Any]:
    from facilities import db
    from facilities.accounts import services as accounts
    from facilities.accounts.choices import Role
    from facilities.accounts.permissions import SYSTEM
    from facilities.accounts.schemas import UserCreate
    from facilities.assets import services as assets
    from facilities.assets.choices import AssetType, Material, StructureType
    from facilities.assets.schemas import AssetIn, SiteIn
    from facilities.closures import services as closures
    from facilities.closures.choices import Precision, Reason, SafetyMeasure, Scope
    from facilities.closures.schemas import ClosureIn, ExtendIn, LinkTicketIn, NoticeIn
    from facilities.tickets import services as tickets
    from facilities.tickets.schemas import TicketIn

    db.configure(url)
    user = await accounts.create_user(
        SYSTEM,
        UserCreate(
            username="alice",
            display_name="Alice",
            role=Role.SUPERVISOR,
            email="alice@bureau.example",
            password="bench-password-1",  # noqa: S106 - a throw-away database
        ),
        NOW,
    )
    alice = accounts.actor_of(user)
    sites = [
        await assets.create_site(
            SYSTEM,
            SiteIn(
                name_zh=f"测试公园{n:02d}",
                name_en=f"Bench Park {n:02d}",
                lat=26.8 + n / 100,
                lng=112.5 + n / 100,
            ),
            NOW,
        )
        for n in range(SITES)
    ]
    kinds = [AssetType.FOOTBRIDGE, AssetType.BOARDWALK, AssetType.PAVILION, AssetType.PLAYGROUND]
    measures = [SafetyMeasure.FENCING, SafetyMeasure.WARNING_SIGNS, SafetyMeasure.DETOUR]
    featured = 0
    for n in range(count):
        start = NOW - dt.timedelta(days=90) + dt.timedelta(minutes=n)
        asset = await assets.create_asset(
            SYSTEM,
            AssetIn(
                code=f"GX-B-{n:05d}",
                name_zh=f"测试设施{n:05d}",
                name_en=f"Bench facility {n:05d}",
                asset_type=kinds[n % len(kinds)],
                site_id=sites[n % SITES].id,
                lat=26.8 + n / 10000,
                lng=112.5 + n / 10000,
                built_year=2000 + n % 25,
                length_m=10.0 + n % 90,
                structure_type=StructureType.BEAM,
                deck_material=Material.TIMBER,
            ),
            start,
        )
        closure = await closures.create_closure(
            alice,
            ClosureIn(
                asset_id=asset.id,
                scope=Scope.FULL if n % 3 else Scope.PARTIAL,
                affected_part_zh="" if n % 3 else "东段",
                reason=Reason.REPAIR_WORKS,
                reason_zh=f"第{n}号设施维修：更换腐朽木板，除锈涂油。",
                reason_en=f"Facility {n} is repaired: rotten boards replaced, rust treated.",
                safety_measures=measures,
                detour_zh="请经北门绕行。",
                detour_en="Use the north gate.",
                effective_from=start,
                planned_reopen_on=(NOW + dt.timedelta(days=60 + n % 90)).date(),
                reopen_precision=Precision.BEFORE,
                is_urgent=n % 50 == 0,
            ),
            start,
        )
        await closures.write_update(
            alice,
            closure.id,
            NoticeIn(
                text_zh=f"第{n}号设施：施工进展顺利，两层滤网已布设。",
                text_en=f"Facility {n}: work is going well; two filter nets are in place.",
            ),
            start + dt.timedelta(days=1),
        )
        if n % 10 == 0:
            ticket = await tickets.open_ticket(
                alice,
                TicketIn(asset_id=asset.id, title=f"Internal work order {n}"),
                start,
            )
            await closures.link_ticket(
                alice,
                closure.id,
                LinkTicketIn(
                    ticket_id=ticket.id, public_label_zh="更换桥面板", public_label_en="New deck"
                ),
                start + dt.timedelta(hours=1),
            )
            current = await closures.find_closure(closure.id)
            assert current is not None
            await closures.extend(
                alice,
                closure.id,
                ExtendIn(
                    version=current.version,
                    planned_reopen_on=(NOW + dt.timedelta(days=200 + n % 30)).date(),
                    reason_zh="需要更多时间。",
                    reason_en="More time is needed.",
                ),
                start + dt.timedelta(days=2),
            )
            featured = featured or closure.id
    return {"featured": featured}


# --- the load client (in its own process) ---------------------------------------------------


def _request(path: str, cookie: str, extra: str = "") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n"
        f"Accept: text/html,*/*\r\nCookie: {cookie}\r\n{extra}\r\n"
    ).encode()


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
            break
    if length:
        await reader.readexactly(length)
    return status


async def _one_connection(
    port: int, request: bytes, expected: int, stop_at: float, latencies: list[float]
) -> tuple[int, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = errors = 0
    try:
        while time.perf_counter() < stop_at:
            began = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - began)
            if status == expected:
                done += 1
            else:
                errors += 1
    finally:
        writer.close()
    return done, errors


async def _fetch(port: int, raw: bytes) -> tuple[int, dict[str, str]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    headers: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        if line:
            name, _, value = line.decode("latin-1").partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
    if int(headers.get("content-length", "0")):
        await reader.readexactly(int(headers["content-length"]))
    writer.close()
    return int(head[9:12]), headers


def _cpu_seconds(pid: int) -> float:
    """The server's CPU time so far (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_client(
    port: int, pid: int, featured: int, seconds: float, rounds: int, connections: int
) -> None:
    # A browser's state: the CSRF cookie the first page set.
    status, headers = await _fetch(port, _request("/", "lang=zh_CN"))
    assert status == 200, status
    cookie = headers["set-cookie"].split(";", 1)[0]
    status, headers = await _fetch(port, _request("/feeds/notices.atom", cookie))
    assert status == 200, status
    etag = headers["etag"]
    requests = {
        "constant": (_request("/bench/constant", cookie), 200),
        "home": (_request("/", cookie), 200),
        "notice": (_request(f"/notices/{featured}", cookie), 200),
        "atom": (_request("/feeds/notices.atom", cookie), 200),
        "atom_304": (_request("/feeds/notices.atom", cookie, f"If-None-Match: {etag}\r\n"), 304),
    }
    for request, expected in requests.values():  # warm every cache once
        status, _ = await _fetch(port, request)
        assert status == expected, (request, status)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in SCENARIOS}
    for round_ in range(rounds):
        order = SCENARIOS[round_ % len(SCENARIOS) :] + SCENARIOS[: round_ % len(SCENARIOS)]
        for name in order:
            request, expected = requests[name]
            latencies: list[float] = []
            cpu_before = _cpu_seconds(pid)
            began = time.perf_counter()
            stop_at = began + seconds
            counts = await asyncio.gather(
                *(
                    _one_connection(port, request, expected, stop_at, latencies)
                    for _ in range(connections)
                )
            )
            elapsed = time.perf_counter() - began
            cpu = _cpu_seconds(pid) - cpu_before
            done = sum(c[0] for c in counts)
            errors = sum(c[1] for c in counts)
            latencies.sort()
            results[name].append(
                {
                    "rps": done / elapsed,
                    "per_cpu_second": done / cpu if cpu > 0 else 0.0,
                    "errors": errors,
                    "p50": latencies[len(latencies) // 2] * 1000 if latencies else 0.0,
                    "p95": latencies[int(len(latencies) * 0.95)] * 1000 if latencies else 0.0,
                }
            )
    print(json.dumps(results))


# --- orchestration --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITIES_")}
    env.update(
        FACILITIES_DATABASE_URL=url,
        FACILITIES_SCHEDULER_EMBEDDED="false",
        FACILITIES_PORT=str(port),
        FACILITIES_LOG_LEVEL="WARNING",
    )
    return env


def _wait_until_up(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                if b" 200 " in conn.recv(100):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--closures", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="200 closures, 3 rounds of 1 s")
    parser.add_argument("--seed-only", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--client", metavar="PORT:PID:FEATURED", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.closures, args.rounds, args.seconds = 200, 3, 1.0
    if args.seed_only:
        print(json.dumps(asyncio.run(seed(args.seed_only, args.closures))))
        return
    if args.client:
        port, pid, featured = (int(x) for x in args.client.split(":"))
        asyncio.run(run_client(port, pid, featured, args.seconds, args.rounds, args.connections))
        return

    FOLDER.mkdir(parents=True, exist_ok=True)
    path = FOLDER / "public_http.db"
    for leftover in FOLDER.glob("public_http.db*"):
        leftover.unlink()
    url = f"sqlite:///{path}"
    port = free_port()
    env = _env(url, port)
    cli = [sys.executable, "-m", "facilities.cli"]
    began = time.monotonic()
    subprocess.run([*cli, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    seeded = subprocess.run(
        [sys.executable, __file__, "--seed-only", url, "--closures", str(args.closures)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    featured = json.loads(seeded.stdout.strip().splitlines()[-1])["featured"]
    print(f"seeded {args.closures} closures in force in {time.monotonic() - began:.0f} s")
    # As `facilities serve` runs it (one worker, no proxy headers), plus the reference route.
    serve = [sys.executable, "-m", "uvicorn", "bench.constant_app:create_app", "--factory"]
    serve += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    serve += ["--no-proxy-headers", "--log-level", "warning"]
    server = subprocess.Popen(
        serve, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_until_up(port, server)
        budget = args.rounds * len(SCENARIOS) * args.seconds + 120
        client = subprocess.run(
            [
                sys.executable,
                __file__,
                "--client",
                f"{port}:{server.pid}:{featured}",
                "--seconds",
                str(args.seconds),
                "--rounds",
                str(args.rounds),
                "--connections",
                str(args.connections),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=budget,
            check=True,
        )
    finally:
        server.terminate()
        server.wait(timeout=15)
    results = json.loads(client.stdout.strip().splitlines()[-1])
    report(results, args)
    shutil.rmtree(FOLDER / "public_http_media", ignore_errors=True)


def report(results: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> None:
    """Two ratios per scenario, each the median over rounds of (scenario / constant) in the same
    round: by wall-clock throughput, and by requests per second of server CPU (the capacity
    measure; it holds when other work shares the machine, which wall-clock rates do not)."""
    constant = results["constant"]
    print(
        f"\n{args.rounds} rounds x {args.seconds:g} s per scenario, "
        f"{args.connections} keep-alive connections, {args.closures} closures in force\n"
    )
    print(
        f"{'scenario':<10} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'req/cpu-s':>10} "
        f"{'wall ratio':>10} {'cpu ratio':>10} {'target':>7}"
    )
    failed = False
    for name in SCENARIOS:
        rows = results[name]
        rps = statistics.median(r["rps"] for r in rows)
        per_cpu = statistics.median(r["per_cpu_second"] for r in rows)
        p50 = statistics.median(r["p50"] for r in rows)
        p95 = statistics.median(r["p95"] for r in rows)
        wall = statistics.median(r["rps"] / c["rps"] for r, c in zip(rows, constant, strict=True))
        cpu = statistics.median(
            r["per_cpu_second"] / c["per_cpu_second"]
            for r, c in zip(rows, constant, strict=True)
            if c["per_cpu_second"]
        )
        errors = sum(int(r["errors"]) for r in rows)
        target = TARGETS.get(name)
        mark = ""
        if target is not None:
            met = min(wall, cpu) >= target
            mark = f">={target:.2f} " + ("ok" if met else "MISSED")
            failed = failed or not met
        print(
            f"{name:<10} {rps:>7.0f} {p50:>7.2f} {p95:>7.2f} {per_cpu:>10.0f} "
            f"{wall:>10.2f} {cpu:>10.2f} {mark:>7}"
        )
        if errors:
            print(f"  {errors} unexpected status codes in {name}")
    print("\nall targets met (both ratios)" if not failed else "\nsome targets missed")


if __name__ == "__main__":
    main()
