"""The staff asset map on 10,000 assets, side by side with the plain asset list, on both engines.

Seeds 10,000 placed assets over five sites in Hengyang's high-tech zone (2 km x 1.5 km each; 70 %
points, 30 % short lines with their bounding boxes; grades A-E or none), 300 open P0/P1 tickets
and 800 open inspections (a third overdue) into a throw-away database per engine, then measures,
in one run per engine:

1. the bbox query in-process (``map_view.map_data``, what ``/assets/map.json`` answers) for a
   typical visible area (a zoom-17 view of 1,280 x 512 px: 1.37 km x 0.55 km) and for a whole
   site (zoom 16, capped at 1,000 rows), interleaved with the list page's service
   (``assets.list_assets``, page 1 of 25) as the reference: p50/p95 and the ratio of p95s;
2. the data request's size (compact JSON, as served);
3. over HTTP through `facilities serve` (loopback), in the system Chromium (Playwright): the
   data request and the list page fetched by the logged-in browser (p50/p95), the map's first
   render (navigation start to the markers added) against the list page's load, and the
   10,000 markers of every site at once (``limit=10000``) with the longest main-thread task
   during their chunked loading.

    .venv/bin/python bench/map.py                      # both engines
    .venv/bin/python bench/map.py --engines sqlite --samples 30

Targets (issue 17): under 100 kB of map data for the visible area; bbox p95 within 2x of the list
page's. PostgreSQL: ``BENCH_PG_ADMIN`` (default ``postgres://postgres@127.0.0.1:5432/postgres``);
the script creates and drops ``facilities_bench_map``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg
import msgspec

from facilities import db
from facilities.accounts.permissions import SYSTEM
from facilities.assets import services as assets
from facilities.assets.schemas import AssetFilters
from facilities.assets.services import map_view
from facilities.settings import Settings
from facilities.wiring import connect_domains

NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
USER, PASSWORD = "bench", "bench-password-0123"

SITES = 5
SITE_W_M, SITE_H_M = 2000.0, 1500.0
ORIGIN = (112.560, 26.880)  # lng, lat of the first site's south-west corner
M_PER_DEG_LAT = 110_950.0
M_PER_DEG_LNG = 111_320.0 * math.cos(math.radians(26.9))
TYPES = ["footbridge", "boardwalk", "pavilion", "playground", "lighting", "fountain", "other"]
GRADES = ["A", "B", "B", "C", "C", "D", "E", None, None]


def site_box(index: int) -> tuple[float, float, float, float]:
    west = ORIGIN[0] + index * 0.03
    south = ORIGIN[1] + (index % 2) * 0.02
    return (west, south, west + SITE_W_M / M_PER_DEG_LNG, south + SITE_H_M / M_PER_DEG_LAT)


def view_box(index: int, width_m: float, height_m: float) -> str:
    """A box of the given size around the middle of site ``index`` (what a map shows)."""
    west, south, east, north = site_box(index)
    lng, lat = (west + east) / 2, (south + north) / 2
    half_w, half_h = width_m / 2 / M_PER_DEG_LNG, height_m / 2 / M_PER_DEG_LAT
    return ",".join(f"{v:.6f}" for v in (lng - half_w, lat - half_h, lng + half_w, lat + half_h))


#: zoom 17 (1.07 m/px at this latitude) on a 1,280 x 512 px map; zoom 16 is twice each way
TYPICAL = view_box(2, 1370, 550)
WHOLE_SITE = view_box(2, 2740, 1100)


def asset_rows(count: int, seed: int = 11) -> list[tuple[Any, ...]]:
    """(code, name_zh, asset_type, site, lat, lng, west, south, east, north, geometry, grade)"""
    rng = random.Random(seed)
    rows = []
    for n in range(1, count + 1):
        site = (n - 1) % SITES
        west, south, east, north = site_box(site)
        lng, lat = rng.uniform(west, east), rng.uniform(south, north)
        geometry = ""
        box = (lng, lat, lng, lat)
        if rng.random() < 0.3:  # a short path or bridge: a line of 20-80 m
            length = rng.uniform(20, 80)
            angle = rng.uniform(0, math.pi)
            d_lng = math.cos(angle) * length / M_PER_DEG_LNG
            d_lat = math.sin(angle) * length / M_PER_DEG_LAT
            end = (round(lng + d_lng, 7), round(lat + d_lat, 7))
            start = (round(lng, 7), round(lat, 7))
            geometry = json.dumps({"type": "LineString", "coordinates": [start, end]})
            box = (min(start[0], end[0]), min(start[1], end[1]), max(start[0], end[0]))
            box = (*box, max(start[1], end[1]))
        rows.append(
            (
                f"GX-BM-{n:05d}",
                f"高新区设施{n}",
                rng.choice(TYPES),
                site + 1,
                lat,
                lng,
                *box,
                geometry,
                rng.choice(GRADES),
            )
        )
    return rows


ASSET_COLUMNS = (
    "code",
    "name_zh",
    "asset_type",
    "site",
    "lat",
    "lng",
    "bbox_west",
    "bbox_south",
    "bbox_east",
    "bbox_north",
    "geometry",
    "condition_grade",
)


def ticket_rows(assets_count: int, seed: int = 12) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    rows = []
    for n in range(1, 2301):
        urgent = n <= 300
        created = NOW - dt.timedelta(hours=rng.randrange(1, 2000))
        rows.append(
            (
                rng.randrange(1, assets_count + 1),
                f"Ticket {n}",
                rng.choice(["P0", "P1"]) if urgent else rng.choice(["P2", "P3"]),
                rng.choice(["new", "triaged", "scheduled", "in_progress"]) if urgent else "closed",
                created + dt.timedelta(hours=24),
                created,
                created,
            )
        )
    return rows


TICKET_COLUMNS = ("asset", "title", "priority", "status", "sla_due_at", "created_at", "updated_at")


def inspection_rows(assets_count: int, seed: int = 13) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(800):
        due = NOW + dt.timedelta(hours=rng.randrange(-30 * 24, 7 * 24))
        rows.append(
            (
                rng.randrange(1, assets_count + 1),
                "patrol",
                "planned",
                due,
                due + dt.timedelta(days=1),
            )
        )
    return rows


INSPECTION_COLUMNS = ("asset", "inspection_type", "state", "due_at", "window_ends_at")


def site_rows() -> list[tuple[Any, ...]]:
    rows = []
    for index in range(SITES):
        west, south, east, north = site_box(index)
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        rows.append(
            (
                f"基准园区{index + 1}",
                f"Bench park {index + 1}",
                json.dumps({"type": "Polygon", "coordinates": [ring]}),
                west,
                south,
                east,
                north,
            )
        )
    return rows


SITE_COLUMNS = (
    "name_zh",
    "name_en",
    "boundary",
    "bbox_west",
    "bbox_south",
    "bbox_east",
    "bbox_north",
)


async def migrate(url: str) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    db.configure(url)
    result = await run_forwards(app_name="all", migration_id="all", fake=False)
    assert result.success, result.message


def _insert(columns: tuple[str, ...], table: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def seed_sqlite(path: Path, data: dict[str, list[tuple[Any, ...]]]) -> None:
    def text(row: tuple[Any, ...]) -> list[Any]:
        return [v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v for v in row]

    connection = sqlite3.connect(path)
    for table, columns in TABLES.items():
        connection.executemany(_insert(columns, table), (text(r) for r in data[table]))
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


async def seed_postgres(url: str, data: dict[str, list[tuple[Any, ...]]]) -> None:
    connection = await asyncpg.connect(url)
    for table, columns in TABLES.items():
        await connection.copy_records_to_table(table, columns=list(columns), records=data[table])
    await connection.execute("VACUUM ANALYZE")
    await connection.close()


TABLES = {
    "site": SITE_COLUMNS,
    "asset": ASSET_COLUMNS,
    "repair_ticket": TICKET_COLUMNS,
    "inspection": INSPECTION_COLUMNS,
}


async def create_user() -> None:
    from facilities.accounts import services as accounts
    from facilities.accounts.choices import Role
    from facilities.accounts.schemas import UserCreate

    await accounts.create_user(
        SYSTEM,
        UserCreate(username=USER, display_name="Bench", role=Role.SUPERVISOR, password=PASSWORD),
        NOW,
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * share) - 1)]


def encoded(data: map_view.MapData) -> bytes:
    return msgspec.json.encode(data.as_json())  # what Litestar sends: compact UTF-8


async def measure_services(samples: int) -> dict[str, Any]:
    scenarios = {
        "list page (page 1, 25 rows)": lambda: assets.list_assets(SYSTEM, AssetFilters(), NOW),
        "map, typical view (z17)": lambda: map_view.map_data(
            SYSTEM, map_view.MapFilters(bbox=TYPICAL), NOW
        ),
        "map, whole site (z16, capped)": lambda: map_view.map_data(
            SYSTEM, map_view.MapFilters(bbox=WHOLE_SITE), NOW
        ),
    }
    timings: dict[str, list[float]] = {name: [] for name in scenarios}
    for call in scenarios.values():  # warm up
        await call()
    for _ in range(samples):
        for name, call in scenarios.items():
            started = time.perf_counter()
            await call()
            timings[name].append((time.perf_counter() - started) * 1000)
    typical = await map_view.map_data(SYSTEM, map_view.MapFilters(bbox=TYPICAL), NOW)
    whole = await map_view.map_data(SYSTEM, map_view.MapFilters(bbox=WHOLE_SITE), NOW)
    return {
        "timings": timings,
        "typical": (len(typical.rows), typical.truncated, len(encoded(typical))),
        "whole": (len(whole.rows), whole.truncated, len(encoded(whole))),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(url: str, folder: Path) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITIES_")}
    env.update(
        FACILITIES_DATABASE_URL=url,
        FACILITIES_MEDIA_DIR=str(folder / "media"),
        FACILITIES_SCHEDULER_EMBEDDED="false",
        FACILITIES_PORT=str(port),
        FACILITIES_BASE_URL=base,
        FACILITIES_LOG_LEVEL="WARNING",
    )
    log = (folder / "map-server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "facilities.cli", "serve"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    import httpx

    deadline = time.monotonic() + 60
    try:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit((folder / "map-server.log").read_text())
            time.sleep(0.1)  # waiting for the server to listen
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


LONG_TASKS = """
window.__longest = 0;
try {
  new PerformanceObserver(function (list) {
    list.getEntries().forEach(function (e) {
      window.__longest = Math.max(window.__longest, e.duration);
    });
  }).observe({ type: "longtask", buffered: true });
} catch (e) {}
"""

FETCH_TIMES = """
async ([urls, rounds]) => {
  const out = {};
  for (const u of urls) { out[u] = { ms: [], bytes: 0 }; }
  for (let i = 0; i < rounds; i++) {
    for (const u of urls) {
      const t = performance.now();
      const accept = u.includes(".json") ? "application/json" : "text/html";
      const r = await fetch(u, { headers: { Accept: accept }, credentials: "same-origin" });
      const body = await r.arrayBuffer();
      out[u].ms.push(performance.now() - t);
      out[u].bytes = body.byteLength;
      if (!r.ok) { throw new Error(u + " " + r.status); }
    }
  }
  return out;
}
"""


def measure_browser(base: str, rounds: int, loads: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    results: dict[str, Any] = {}
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        context.add_init_script(LONG_TASKS)
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.on(
            "request",
            lambda r: (
                outside.append(r.url)
                if not r.url.startswith(("http://127.0.0.1", "data:"))
                else None
            ),
        )
        page.goto(f"{base}/login")
        page.fill("#username", USER)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "/login" not in page.url, "could not log in"

        data_url = f"/assets/map.json?bbox={TYPICAL}"
        page.goto(f"{base}/assets")
        results["fetch"] = page.evaluate(FETCH_TIMES, [[data_url, "/assets"], rounds])

        sizes: list[tuple[str, int]] = []
        page.on(
            "response",
            lambda r: (
                sizes.append((r.url, len(r.body())))
                if "/assets/map.json" in r.url and r.ok
                else None
            ),
        )
        renders: dict[str, list[float]] = {"map": [], "list": [], "drawn": []}
        for _ in range(loads):
            page.goto(f"{base}/assets/map?bbox={TYPICAL}")
            page.wait_for_function("() => document.querySelector('#staff-map')?.dataset.drawnAt")
            renders["map"].append(float(page.locator("#staff-map").get_attribute("data-drawn-at")))
            renders["drawn"].append(float(page.locator("#staff-map").get_attribute("data-drawn")))
            page.goto(f"{base}/assets")
            page.wait_for_load_state("load")
            renders["list"].append(
                page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            )
        results["renders"] = renders
        results["page_request"] = sizes[-1] if sizes else ("", 0)
        sizes.clear()

        page.goto(f"{base}/assets/map?limit=10000")
        page.wait_for_function(
            "() => { const d = document.querySelector('#staff-map')?.dataset;"
            " return d && d.completeAt && d.drawnAt && Number(d.drawn) > 0; }",
            timeout=300_000,
        )
        section = page.locator("#staff-map")
        results["all"] = {
            "drawn": int(section.get_attribute("data-drawn") or 0),
            "drawn_at": float(section.get_attribute("data-drawn-at") or 0),
            "complete_at": float(section.get_attribute("data-complete-at") or 0),
            "longest_task": page.evaluate("window.__longest"),
        }
        # pan and zoom with 10,000 markers in: how long a zoom takes to settle
        started = time.perf_counter()
        page.locator("#staff-map .leaflet-control-zoom-in").click()
        page.wait_for_function("() => !document.querySelector('#staff-map .leaflet-zoom-anim')")
        results["all"]["zoom_ms"] = (time.perf_counter() - started) * 1000
        browser.close()
    results["outside"] = outside
    return results


def report(engine: str, services: dict[str, Any], browser: dict[str, Any] | None) -> None:
    timings = services["timings"]
    print(f"\n{engine}: in-process (ms), {len(next(iter(timings.values())))} interleaved samples")
    print(f"{'scenario':34} {'p50':>8} {'p95':>8} {'p95 / list':>11}")
    reference = percentile(timings["list page (page 1, 25 rows)"], 0.95)
    for name, values in timings.items():
        p95 = percentile(values, 0.95)
        print(f"{name:34} {statistics.median(values):8.2f} {p95:8.2f} {p95 / reference:10.2f}x")
    for label, (rows, truncated, size) in (
        ("typical view", services["typical"]),
        ("whole site", services["whole"]),
    ):
        print(
            f"map data, {label}: {rows} assets, {size / 1024:.1f} kB"
            f"{' (truncated at the cap)' if truncated else ''}"
            f" -> {'under' if size < 100 * 1024 else 'OVER'} the 100 kB target"
        )
    if browser is None:
        return
    print(f"{engine}: in Chromium over HTTP (ms)")
    for url, found in browser["fetch"].items():
        values = found["ms"]
        print(
            f"  fetch {url[:40]:40} p50 {statistics.median(values):7.2f} "
            f"p95 {percentile(values, 0.95):7.2f}  {found['bytes'] / 1024:.1f} kB"
        )
    fetched = list(browser["fetch"].values())
    ratio = percentile(fetched[0]["ms"], 0.95) / percentile(fetched[1]["ms"], 0.95)
    print(f"  data request p95 / list page p95: {ratio:.2f}x")
    renders = browser["renders"]
    map_ms, list_ms = statistics.median(renders["map"]), statistics.median(renders["list"])
    print(
        f"  first render: map (markers added) {map_ms:.0f} ms, list page (load) {list_ms:.0f} ms"
        f" -> {map_ms / list_ms:.2f}x; {int(statistics.median(renders['drawn']))} markers"
    )
    url, size = browser["page_request"]
    print(f"  the map page's own data request: {size / 1024:.1f} kB ({url.split('?', 1)[-1]})")
    everything = browser["all"]
    print(
        f"  all {everything['drawn']} markers at once: drawn at {everything['drawn_at']:.0f} ms, "
        f"clustering complete at {everything['complete_at']:.0f} ms, longest main-thread task "
        f"{everything['longest_task']:.0f} ms, a zoom step settles in "
        f"{everything['zoom_ms']:.0f} ms"
    )
    print(f"  requests off loopback: {len(browser['outside'])}")


async def prepare(engine: str, data: dict[str, list[tuple[Any, ...]]]) -> str:
    if engine == "sqlite":
        folder = ROOT / "var" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "map.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        await migrate(url)
        started = time.perf_counter()
        seed_sqlite(path, data)
    else:
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute("DROP DATABASE IF EXISTS facilities_bench_map WITH (FORCE)")
        await admin.execute("CREATE DATABASE facilities_bench_map")
        await admin.close()
        url = PG_ADMIN.rpartition("/")[0] + "/facilities_bench_map"
        await migrate(url)
        started = time.perf_counter()
        await seed_postgres(url, data)
    print(
        f"{engine}: seeded {len(data['asset']):,} assets in {time.perf_counter() - started:.1f} s"
    )
    db.configure(url)
    async with db.connection_pool(1, 4):
        await create_user()
    return url


async def services_of(url: str, samples: int) -> dict[str, Any]:
    db.configure(url)
    connect_domains(Settings())
    async with db.connection_pool(1, 4):
        return await measure_services(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=30, help="browser fetches of each URL")
    parser.add_argument("--loads", type=int, default=5, help="page loads of each page")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    data = {
        "site": site_rows(),
        "asset": asset_rows(args.assets),
        "repair_ticket": ticket_rows(args.assets),
        "inspection": inspection_rows(args.assets),
    }
    for engine in (e.strip() for e in args.engines.split(",")):
        url = asyncio.run(prepare(engine, data))
        services = asyncio.run(services_of(url, args.samples))
        browser = None
        if not args.no_browser:
            with serving(url, ROOT / "var" / "bench") as base:
                browser = measure_browser(base, args.rounds, args.loads)
        report(engine, services, browser)
        if engine != "sqlite":
            with contextlib.suppress(Exception):
                asyncio.run(drop_postgres())


async def drop_postgres() -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute("DROP DATABASE IF EXISTS facilities_bench_map WITH (FORCE)")
    await admin.close()


if __name__ == "__main__":
    main()
