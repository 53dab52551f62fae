"""Public pages and feeds over HTTP, each measured as a ratio to a constant route, on two
server stacks side by side.

Seeds N closures in force (default 1,000: one asset each over 20 sites, the activation notice and
a staff update each, some extended, some with linked repair work) into a throw-away SQLite
database through the real services, serves the app as ``facilities serve`` does (uvicorn, one
worker) plus the reference route of ``bench/constant_app.py``, once per server stack, each on a
free loopback port, and from a separate client process measures the throughput of:

- ``constant``: ``GET /bench/constant``, two constant bytes through the same middleware (the
  reference: what the framework and the server cost with no work at all);
- ``home``: the public home page; ``notice``: a closure notice (one with a revised promise and
  repair progress); ``atom``: the site-wide Atom feed; ``atom_304``: the same feed revalidated
  with ``If-None-Match`` (answered 304).

The stacks: ``h11`` (uvicorn's pure-Python parser, what the app ran on until issue 20) and
``httptools`` (the C parser ``facilities serve`` now names, ``facilities.cli.HTTP_PARSER``);
with ``--baseline-tree DIR`` a third, ``before``: another checkout of the app (for example
``git archive <commit> | tar -x -C DIR``) served with h11, so a change to the middleware is
measured against the code before it in the same run. All servers stay up; the rounds alternate
between them, so machine noise hits each alike.

The client keeps C connections open (HTTP/1.1 keep-alive, a browser's csrftoken cookie, no
pipelining; its own asyncio loop, or with ``--load wrk`` Debian's wrk on one thread) and runs
the scenarios in rounds, each for S seconds, in a rotating order; a scenario's ratio is the
median over rounds of its throughput divided by the constant route's in the same round and
stack. It also reads each server's CPU time (``/proc/<pid>/stat``) over each scenario: the
constant route's server CPU per request is the stack's own cost. Targets: >= 0.6 for pages and
feeds, >= 0.85 for 304s (each stack); the constant route's server CPU <= 200 us per request and
every public route >= 1.5x the ``before`` stack's throughput (on httptools).
Loopback only; bounded in rounds and seconds; stops by itself.

    .venv/bin/python bench/public_http.py            # 1,000 closures, 5 rounds of 3 s
    .venv/bin/python bench/public_http.py --quick    # 200 closures, 3 rounds of 1 s
    .venv/bin/python bench/public_http.py --baseline-tree /tmp/before   # plus the code before
    .venv/bin/python bench/public_http.py --load wrk   # wrk as the load client (apt: wrk)
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
#: The constant route's server CPU per request on the stack `facilities serve` runs (us).
CPU_TARGET_US = 200
#: Every public route's throughput on that stack, as a multiple of the code before issue 20.
SPEEDUP_TARGET = 1.5


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


async def _requests(port: int, featured: int) -> dict[str, tuple[bytes, int]]:
    """Each scenario's request as a browser sends it, checked and warmed once."""
    # A browser's state: the CSRF cookie a form gave it (public pages set none; in a tree from
    # before issue 20's shared pages, `--baseline-tree`, there is no /form-token and the home
    # page sets it).
    status, headers = await _fetch(port, _request("/form-token", ""))
    if status == 404:
        status, headers = await _fetch(port, _request("/", ""))
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
    return requests


async def _measure(
    port: int, pid: int, request: bytes, expected: int, seconds: float, connections: int
) -> dict[str, float]:
    latencies: list[float] = []
    cpu_before = _cpu_seconds(pid)
    began = time.perf_counter()
    stop_at = began + seconds
    counts = await asyncio.gather(
        *(_one_connection(port, request, expected, stop_at, latencies) for _ in range(connections))
    )
    elapsed = time.perf_counter() - began
    cpu = _cpu_seconds(pid) - cpu_before
    done = sum(c[0] for c in counts)
    errors = sum(c[1] for c in counts)
    latencies.sort()
    return {
        "rps": done / elapsed,
        "per_cpu_second": done / cpu if cpu > 0 else 0.0,
        "cpu_us": cpu / done * 1e6 if done else 0.0,
        "errors": errors,
        "p50": latencies[len(latencies) // 2] * 1000 if latencies else 0.0,
        "p95": latencies[int(len(latencies) * 0.95)] * 1000 if latencies else 0.0,
    }


_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _wrk_ms(value: str) -> float:
    for unit in ("us", "ms", "s"):
        if value.endswith(unit):
            return float(value[: -len(unit)]) * _WRK_UNITS[unit]
    return float(value)


def _measure_wrk(
    port: int, pid: int, request: bytes, seconds: float, connections: int
) -> dict[str, float]:
    """The same request sent by wrk (Debian's ``wrk``, one thread: one core, as the Python
    client uses): a load tool cheap enough that the server, not the client, is what saturates.
    Any status but 2xx/3xx counts as an error (a 304 scenario's status is checked at warm-up)."""
    head, *lines = request.decode().split("\r\n")
    path = head.split(" ")[1]
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    for line in lines:
        if line and not line.lower().startswith("host:"):
            command += ["-H", line]
    cpu_before = _cpu_seconds(pid)
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    cpu = _cpu_seconds(pid) - cpu_before
    found: dict[str, float] = {"errors": 0.0, "p50": 0.0, "p95": float("nan")}
    done = 0
    for line in output.splitlines():
        words = line.split()
        if line.strip().startswith("50%"):
            found["p50"] = _wrk_ms(words[1])
        elif line.strip().startswith("99%"):
            found["p99"] = _wrk_ms(words[1])
        elif "requests in" in line:
            done = int(words[0])
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            found["errors"] = float(words[-1])
        elif line.startswith("Requests/sec:"):
            found["rps"] = float(words[1])
    found["per_cpu_second"] = done / cpu if cpu > 0 else 0.0
    found["cpu_us"] = cpu / done * 1e6 if done else 0.0
    return found


async def run_client(
    servers: dict[str, tuple[int, int]],
    featured: int,
    seconds: float,
    rounds: int,
    connections: int,
    load: str = "python",
) -> None:
    """``servers``: stack name -> (port, pid). Every round runs every stack, in a rotating
    order, and within it every scenario, in a rotating order; ``load``: this process's own
    asyncio client (``python``) or ``wrk``."""
    requests = {stack: await _requests(port, featured) for stack, (port, _pid) in servers.items()}
    stacks = list(servers)
    results: dict[str, dict[str, list[dict[str, float]]]] = {
        stack: {name: [] for name in SCENARIOS} for stack in stacks
    }
    for round_ in range(rounds):
        shift = round_ % len(stacks)
        for stack in stacks[shift:] + stacks[:shift]:
            port, pid = servers[stack]
            order = SCENARIOS[round_ % len(SCENARIOS) :] + SCENARIOS[: round_ % len(SCENARIOS)]
            for name in order:
                request, expected = requests[stack][name]
                results[stack][name].append(
                    _measure_wrk(port, pid, request, seconds, connections)
                    if load == "wrk"
                    else await _measure(port, pid, request, expected, seconds, connections)
                )
    print(json.dumps(results))


# --- orchestration --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(url: str, port: int, tree: Path = ROOT) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITIES_")}
    env.update(
        PYTHONPATH=str(tree),  # ahead of the editable install's path: the tree it serves
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
    parser.add_argument(
        "--baseline-tree",
        metavar="DIR",
        help="also serve another checkout of the app (the code before a change) on h11",
    )
    parser.add_argument(
        "--load",
        choices=("python", "wrk"),
        default="python",
        help="the load client: this script's own asyncio client, or wrk (Debian's `wrk` "
        "package; cheap enough that the server, not the client, saturates)",
    )
    parser.add_argument("--client", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load == "wrk" and shutil.which("wrk") is None:
        parser.error("--load wrk needs wrk on PATH (apt-get install wrk)")
    if args.quick:
        args.closures, args.rounds, args.seconds = 200, 3, 1.0
    if args.seed_only:
        print(json.dumps(asyncio.run(seed(args.seed_only, args.closures))))
        return
    if args.client:
        spec = json.loads(args.client)
        listening = {stack: (int(p[0]), int(p[1])) for stack, p in spec["servers"].items()}
        asyncio.run(
            run_client(
                listening,
                int(spec["featured"]),
                args.seconds,
                args.rounds,
                args.connections,
                args.load,
            )
        )
        return

    FOLDER.mkdir(parents=True, exist_ok=True)
    path = FOLDER / "public_http.db"
    for leftover in FOLDER.glob("public_http.db*"):
        leftover.unlink()
    url = f"sqlite:///{path}"
    env = _env(url, free_port())
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
    from facilities.cli import HTTP_PARSER  # the parser `facilities serve` runs

    stacks = {"h11": ("h11", ROOT), HTTP_PARSER: (HTTP_PARSER, ROOT)}
    if args.baseline_tree:
        stacks = {"before": ("h11", Path(args.baseline_tree).resolve()), **stacks}
    servers: dict[str, tuple[int, int]] = {}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for stack, (parser_name, tree) in stacks.items():
            port = free_port()
            process = _serve(tree, parser_name, _env(url, port, tree))
            processes.append(process)
            _wait_until_up(port, process)
            servers[stack] = (port, process.pid)
        budget = args.rounds * len(stacks) * len(SCENARIOS) * args.seconds + 180
        client = subprocess.run(
            [
                sys.executable,
                __file__,
                "--client",
                json.dumps({"servers": servers, "featured": featured}),
                "--seconds",
                str(args.seconds),
                "--rounds",
                str(args.rounds),
                "--connections",
                str(args.connections),
                "--load",
                args.load,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=budget,
            check=True,
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)
    results = json.loads(client.stdout.strip().splitlines()[-1])
    report(results, args)
    shutil.rmtree(FOLDER / "public_http_media", ignore_errors=True)


def _serve(tree: Path, parser_name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """As `facilities serve` runs it (one worker, no proxy headers), on the given HTTP parser,
    plus the reference route."""
    serve = [sys.executable, "-m", "uvicorn", "bench.constant_app:create_app", "--factory"]
    serve += ["--host", "127.0.0.1", "--port", env["FACILITIES_PORT"], "--workers", "1"]
    serve += ["--no-proxy-headers", "--log-level", "warning", "--http", parser_name]
    return subprocess.Popen(
        serve, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def report(results: dict[str, dict[str, list[dict[str, float]]]], args: argparse.Namespace) -> None:
    """Per stack, two ratios per scenario, each the median over rounds of (scenario / constant)
    in the same round: by wall-clock throughput, and by requests per second of server CPU (the
    capacity measure; it holds when other work shares the machine, which wall-clock rates do
    not). Then the stacks against each other: the constant route's server CPU per request, and
    each route's throughput on the served stack over the first stack's, per round."""
    stacks = list(results)
    print(
        f"\n{args.rounds} rounds x {args.seconds:g} s per scenario and stack, "
        f"{args.connections} keep-alive connections, {args.closures} closures in force, "
        f"load from {args.load}" + (" (p95 column: n/a)" if args.load == "wrk" else "")
    )
    failed = False
    for stack in stacks:
        print(f"\n[{stack}]")
        failed = _stack_table(results[stack]) or failed
    served, first = stacks[-1], stacks[0]
    print("\nconstant route, server CPU per request (median over rounds):")
    for stack in stacks:
        cpu_us = statistics.median(r["cpu_us"] for r in results[stack]["constant"])
        mark = ""
        if stack == served:
            met = cpu_us <= CPU_TARGET_US
            failed = failed or not met
            mark = f"  target <= {CPU_TARGET_US} us " + ("ok" if met else "MISSED")
        print(f"  {stack:<10} {cpu_us:>6.0f} us{mark}")
    print(f"\nthroughput {served} / {first} (median over rounds of the same round's ratio):")
    for name in SCENARIOS:
        pairs = zip(results[served][name], results[first][name], strict=True)
        wall = statistics.median(a["rps"] / b["rps"] for a, b in pairs if b["rps"])
        pairs = zip(results[served][name], results[first][name], strict=True)
        cpu = statistics.median(
            a["per_cpu_second"] / b["per_cpu_second"] for a, b in pairs if b["per_cpu_second"]
        )
        mark = ""
        if first == "before" and name != "constant":
            met = wall >= SPEEDUP_TARGET
            failed = failed or not met
            mark = f"  target >= {SPEEDUP_TARGET:.1f}x " + ("ok" if met else "MISSED")
        print(f"  {name:<10} wall {wall:>5.2f}x   per CPU-s {cpu:>5.2f}x{mark}")
    print("\nall targets met" if not failed else "\nsome targets missed")


def _stack_table(results: dict[str, list[dict[str, float]]]) -> bool:
    """One stack's scenarios against its constant route; True when a target was missed."""
    constant = results["constant"]
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
    return failed


if __name__ == "__main__":
    main()
