"""The public home page through the README's nginx cache, as a ratio to nginx serving the same
bytes from a file; and how many of those requests reached the app.

Seeds N closures in force (``bench/public_http.py``'s ``seed``; default 1,000) into a throw-away
SQLite database under ``var/bench``, serves the app as ``facilities serve`` does (uvicorn,
httptools, one worker; ``public_http._serve``) with ``FACILITIES_PUBLIC_MAX_AGE`` (``--max-age``)
and ``FACILITIES_TRUSTED_PROXIES=127.0.0.1``, and puts Debian's nginx in front of it with the
README's own ```nginx block (``tests/kit/nginx.py``, as ``tests/test_nginx_cache.py`` runs it).
The same nginx (same worker count) has a second server on another loopback port that serves the
home page's exact bytes, fetched once through the cache, from a file: the reference, what nginx
costs when it has nothing to look up.

wrk (Debian's ``wrk``, one thread, C keep-alive connections, ``Accept-Language: zh-CN``, no
cookie: an anonymous reader) then measures ``cache`` (``GET /`` through the cache) and ``static``
(the file) in R rounds of S seconds each, alternating which goes first, so machine noise hits
both alike; the ratio is the median over rounds of cache / static in the same round. Around the
cached runs it reads the app's own Prometheus counter (``facilities_http_requests_total`` for
route ``/``, any status, straight from the app's port) to count the requests that reached the
origin, and divides by the max-age windows the measured span covers.

Targets: cache / static >= 0.8; at most 1 origin request for the page per max-age window. The
measured span covers at least two max-age windows (checked). Loopback only; bounded in rounds
and seconds; stops by itself.

    .venv/bin/python bench/nginx_cache.py            # 1,000 closures, max-age 30, 5 rounds of 10 s
    .venv/bin/python bench/nginx_cache.py --quick    # 200 closures, max-age 5, 3 rounds of 3 s
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.public_http import (
    FOLDER,
    _env,
    _measure_wrk,
    _serve,
    _wait_until_up,
    free_port,
    seed,
)

WORK = FOLDER / "nginx_cache"
DATABASE = FOLDER / "nginx_cache.db"
LANGUAGE = "zh-CN"
#: The anonymous reader's request: no cookie (a cookie would bypass the cache), one language.
REQUEST = (
    f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\nAccept: text/html,*/*\r\n"
    f"Accept-Language: {LANGUAGE}\r\n\r\n"
).encode()
RATIO_TARGET = 0.8
ORIGIN_TARGET = 1.0  # origin requests for the page per max-age window


def static_server(port: int, root: Path) -> str:
    """The reference: the home page's bytes from a file, in the same nginx (``extra``)."""
    return f"""
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location = / {{
            try_files /home.html =404;
            types {{ }}
            default_type "text/html; charset=utf-8";
        }}
    }}
"""


def origin_requests(app_port: int) -> dict[str, float]:
    """The app's own count of requests for route ``/`` by status, from its ``/metrics`` (read
    from loopback, which the endpoint allows)."""
    import httpx

    text = httpx.get(f"http://127.0.0.1:{app_port}/metrics", timeout=10).text
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("facilities_http_requests_total{") and 'route="/"' in line:
            labels, _, value = line.rpartition(" ")
            status = labels.split('status="', 1)[1].split('"', 1)[0]
            counts[status] = counts.get(status, 0.0) + float(value)
    return counts


def worker_pid(folder: Path) -> int:
    """nginx's (one) worker process: the one that serves both servers."""
    master = int((folder / "nginx.pid").read_text())
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    workers = [
        int(pid)
        for pid in children
        if b"worker process" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    assert len(workers) == 1, f"expected one nginx worker, found {workers}"
    return workers[0]


def prime(cache_base: str, static_base: str, page: Path) -> dict[str, Any]:
    """Fetch ``/`` through the cache (twice: the second must be a HIT), keep its bytes as the
    static file, and check the static server answers the same bytes."""
    import httpx

    headers = {"accept-language": LANGUAGE, "accept": "text/html,*/*", "user-agent": "bench"}
    first = httpx.get(f"{cache_base}/", headers=headers, timeout=30)
    assert first.status_code == 200, first.status_code
    assert "set-cookie" not in first.headers, first.headers
    assert first.headers["cache-control"].startswith("public, max-age="), first.headers
    second = httpx.get(f"{cache_base}/", headers=headers, timeout=30)
    assert second.headers.get("x-cache-status") == "HIT", second.headers
    assert second.content == first.content
    page.write_bytes(second.content)
    static = httpx.get(f"{static_base}/", headers=headers, timeout=30)
    assert static.status_code == 200 and static.content == second.content
    return {
        "bytes": len(second.content),
        "cache_control": second.headers["cache-control"],
        "content_type": static.headers["content-type"],
    }


def measure(args: argparse.Namespace, app_port: int, pid: int) -> dict[str, Any]:
    from tests.kit.nginx import nginx

    static_port = free_port()
    www = WORK / "www"
    www.mkdir(parents=True)
    with nginx(WORK, app_port, static_server(static_port, www)) as cache_base:
        static_base = f"http://127.0.0.1:{static_port}"
        page = prime(cache_base, static_base, www / "home.html")
        worker = worker_pid(WORK)
        ports = {"cache": int(cache_base.rsplit(":", 1)[1]), "static": static_port}
        rounds: dict[str, list[dict[str, float]]] = {"cache": [], "static": []}
        before = origin_requests(app_port)
        began = time.monotonic()
        for n in range(args.rounds):
            order = ("cache", "static") if n % 2 == 0 else ("static", "cache")
            for name in order:
                result = _measure_wrk(ports[name], worker, REQUEST, args.seconds, args.connections)
                rounds[name].append(result)
                print(f"  round {n + 1} {name:<6} {result['rps']:>9.0f} req/s", flush=True)
        span = time.monotonic() - began
        after = origin_requests(app_port)
    statuses = sorted(set(before) | set(after))
    origin = {s: after.get(s, 0.0) - before.get(s, 0.0) for s in statuses}
    return {"page": page, "rounds": rounds, "span": span, "origin": origin}


def report(results: dict[str, Any], args: argparse.Namespace) -> bool:
    """The table and a PASS/MISS per target; True when every target was met."""
    rounds = results["rounds"]
    cache, static = rounds["cache"], rounds["static"]
    ratios = [c["rps"] / s["rps"] for c, s in zip(cache, static, strict=True) if s["rps"]]
    ratio = statistics.median(ratios)
    span, max_age = results["span"], args.max_age
    windows = math.ceil(span / max_age)
    origin = sum(results["origin"].values())
    per_window = origin / windows
    requests = sum(r["rps"] * args.seconds for r in cache)
    errors = sum(int(r["errors"]) for r in cache + static)
    page = results["page"]
    print(
        f"\nhome page ({page['bytes']:,} bytes, {page['cache_control']}), {args.closures} "
        f"closures in force; wrk -t1 -c{args.connections}, {args.rounds} rounds x "
        f"{args.seconds:g} s each, alternating; one nginx worker"
    )
    print(f"\n{'round':<6} {'cache req/s':>12} {'static req/s':>13} {'cache/static':>13}")
    for n, (c, s) in enumerate(zip(cache, static, strict=True), 1):
        print(f"{n:<6} {c['rps']:>12.0f} {s['rps']:>13.0f} {c['rps'] / s['rps']:>13.2f}")
    print(
        f"{'median':<6} {statistics.median(r['rps'] for r in cache):>12.0f} "
        f"{statistics.median(r['rps'] for r in static):>13.0f} {ratio:>13.2f}"
    )
    cpu_cache = statistics.median(r["cpu_us"] for r in cache)
    cpu_static = statistics.median(r["cpu_us"] for r in static)
    p50_cache = statistics.median(r["p50"] for r in cache)
    p50_static = statistics.median(r["p50"] for r in static)
    print(
        f"nginx worker CPU per request: cache {cpu_cache:.1f} us, static {cpu_static:.1f} us; "
        f"p50 latency: cache {p50_cache:.2f} ms, static {p50_static:.2f} ms"
    )
    by_status = ", ".join(f"{s}: {v:.0f}" for s, v in results["origin"].items()) or "none"
    print(
        f"\norigin requests for / during the measured span: {origin:.0f} ({by_status}) of "
        f"~{requests:,.0f} served through the cache; span {span:.1f} s = {windows} windows of "
        f"max-age {max_age} s -> {per_window:.2f} per window"
    )
    if errors:
        print(f"{errors} non-2xx/3xx responses")
    spans_two = span >= 2 * max_age
    if not spans_two:
        print(f"the span is shorter than 2 x max-age ({2 * max_age} s): use more rounds/seconds")
    ratio_met = ratio >= RATIO_TARGET
    origin_met = per_window <= ORIGIN_TARGET and spans_two
    print(f"\n{'target':<44} {'measured':>9}  result")
    print(
        f"{'cache / static req/s (median) >= ' + str(RATIO_TARGET):<44} {ratio:>9.2f}  "
        + ("PASS" if ratio_met else "MISS")
    )
    print(
        f"{'origin requests per page per max-age <= 1':<44} {per_window:>9.2f}  "
        + ("PASS" if origin_met else "MISS")
    )
    return ratio_met and origin_met and not errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--closures", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0, help="per round and server")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--max-age", type=int, default=30, help="FACILITIES_PUBLIC_MAX_AGE")
    parser.add_argument(
        "--quick", action="store_true", help="200 closures, max-age 5, 3 rounds of 3 s"
    )
    parser.add_argument("--seed-only", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.closures, args.rounds, args.seconds, args.max_age = 200, 3, 3.0, 5
    if args.seed_only:
        print(json.dumps(asyncio.run(seed(args.seed_only, args.closures))))
        return
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            parser.error(f"{tool} is needed (apt-get install {tool})")
    if 2 * args.rounds * args.seconds < 2 * args.max_age:
        parser.error("the measured span must cover 2 max-age windows: more rounds or seconds")
    if args.rounds * args.seconds * 2 > 360:
        parser.error("keep the measured span under 6 minutes")

    FOLDER.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir()
    for leftover in FOLDER.glob(f"{DATABASE.name}*"):
        leftover.unlink()
    url = f"sqlite:///{DATABASE}"
    app_port = free_port()
    env = _env(url, app_port)
    env.update(
        FACILITIES_PUBLIC_MAX_AGE=str(args.max_age),
        FACILITIES_TRUSTED_PROXIES="127.0.0.1",
    )
    began = time.monotonic()
    cli = [sys.executable, "-m", "facilities.cli"]
    subprocess.run([*cli, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(
        [sys.executable, __file__, "--seed-only", url, "--closures", str(args.closures)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(
        f"seeded {args.closures} closures in force in {time.monotonic() - began:.0f} s", flush=True
    )
    from facilities.cli import HTTP_PARSER  # the parser `facilities serve` runs

    process = _serve(ROOT, HTTP_PARSER, env)
    try:
        _wait_until_up(app_port, process)
        results = measure(args, app_port, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=15)
    met = report(results, args)
    print("\nall targets met" if met else "\nsome targets missed")
    shutil.rmtree(WORK, ignore_errors=True)
    for leftover in FOLDER.glob(f"{DATABASE.name}*"):
        leftover.unlink()


if __name__ == "__main__":
    main()
