"""The app's own cost per request, without a server: ``GET /bench/constant`` (two constant bytes,
``bench/constant_app.py``) called straight through ``create_app()`` as ASGI, with a browser's
``csrftoken`` and ``lang`` cookies, timed in CPU time. What is left is Litestar and the app's
middleware and hooks; ``public_http.py`` measures the same route through a real server.

Uses the database the usual settings name (``FACILITIES_DATABASE_URL``, migrated); the constant
route reads nothing from it. ``--profile`` prints cProfile's top functions as well. Bounded in
requests; no network.

    FACILITIES_SCHEDULER_EMBEDDED=false .venv/bin/python bench/app_stack.py
    PYTHONPATH=/tmp/before .venv/bin/python /tmp/before/bench/app_stack.py  # another checkout
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/bench/constant",
        "raw_path": b"/bench/constant",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def measure(requests: int, repeats: int, profile: bool) -> None:
    from bench.constant_app import create_app

    app = create_app()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def call(headers: list[tuple[bytes, bytes]]) -> None:
        sent.clear()
        await app(_scope(headers), receive, send)  # type: ignore[arg-type]

    async with app.lifespan():
        await call([(b"host", b"127.0.0.1")])
        cookie = next(v for k, v in sent[0]["headers"] if k == b"set-cookie").split(b";")[0]
        headers = [
            (b"host", b"127.0.0.1"),
            (b"user-agent", b"bench"),
            (b"accept", b"text/html,*/*"),
            (b"cookie", b"lang=zh_CN; " + cookie),
        ]
        await call(headers)
        assert sent[0]["status"] == 200, sent[0]
        for _ in range(requests // 10):  # warm up
            await call(headers)
        best = float("inf")
        for _ in range(repeats):
            began = time.process_time()
            for _ in range(requests):
                await call(headers)
            best = min(best, (time.process_time() - began) / requests)
        print(f"app stack: {best * 1e6:.1f} us of CPU per request (best of {repeats} x {requests})")
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(requests // 4):
                await call(headers)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    asyncio.run(measure(args.requests, args.repeats, args.profile))


if __name__ == "__main__":
    main()
