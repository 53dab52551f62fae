"""Printed documents: how long the closure notice and a filed inspection report take to lay out
as PDF, side by side with rendering the same HTML page, and whether the event loop keeps
serving meanwhile.

Sets up a throw-away SQLite database with the demo (the Pinghu bridge, closed, drawn, with its
17 components), then files one more inspection of the bridge with every component scored and 20
photos (5 findings with 4 photos each, 1600 x 1200 JPEGs as a phone takes them, stored through
the real service, so resized as uploads are). Then, interleaved round-robin so machine noise hits
them alike, it times:

- the notice sheet (A4): its HTML (``notice_html``: the template with the map and QR codes) and
  its PDF (WeasyPrint on that HTML, ``web.documents.render_pdf``);
- the inspection report: its HTML (``report_html`` on the gathered facts) and its PDF.

It prints p50/p95, the PDF/HTML ratio, the targets (the notice under 1 s, the report under 5 s on
this machine) and the event loop's longest stall while a PDF is laid out (a 5 ms ticker runs
beside each rendering: WeasyPrint runs in a worker thread, so the loop should keep ticking).

    .venv/bin/python bench/documents.py              # 10 rounds
    .venv/bin/python bench/documents.py --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image

from facilities import demo
from facilities.accounts.permissions import SYSTEM
from facilities.app import configure_process
from facilities.assets import services as assets
from facilities.closures import public
from facilities.closures.tables import Closure
from facilities.demo_story import staff_actor
from facilities.inspections import services as inspections
from facilities.inspections.report_pdf import report_html
from facilities.inspections.schemas import FindingIn
from facilities.inspections.services.report_contents import report_view
from facilities.inspections.tables import Inspection
from facilities.public.documents.notice import notice_html
from facilities.settings import Settings
from facilities.web.documents import render_pdf
from tests.kit.inspections import finalise, plan, record, submit

NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
BASE = "https://facilities.example"
TARGETS = {"notice": 1.0, "report": 5.0}


def phone_photo(n: int) -> bytes:
    """A 1600 x 1200 JPEG with some detail (a flat colour compresses to nothing)."""
    image = Image.new("RGB", (1600, 1200), (40 + 20 * n % 200, 90, 160))
    for x in range(0, 1600, 40):
        for y in range(0, 1200, 40):
            image.putpixel((x + n % 40, y), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


async def setup(media_root: Path) -> tuple[public.PublicClosure, Inspection]:
    await demo.load(NOW, Settings().zone, media_root)
    bridge = await assets.find_asset_by_code(demo.PINGHU_BRIDGE)
    assert bridge is not None
    closure_row = await Closure.objects().where(Closure.asset == bridge.id).first()
    closure = await public.closure(closure_row.id)
    assert closure is not None
    alice, bob = await staff_actor("alice"), await staff_actor("bob")
    components = await assets.list_components(SYSTEM, bridge.id)
    inspection = await plan(alice, bridge, NOW)
    await record(bob, inspection, NOW, {c.id: 55.0 + (c.id % 30) for c in components})
    for n in range(5):
        finding = await inspections.add_finding(
            bob,
            inspection.id,
            FindingIn(description=f"病害 {n + 1}：桥面板腐朽", component_id=components[n].id),
            NOW,
        )
        for k in range(4):
            await inspections.add_photo(
                bob,
                inspection.id,
                phone_photo(4 * n + k),
                finding.id,
                f"照片 {4 * n + k + 1}",
                media_root,
                20 * 1024 * 1024,
                NOW,
            )
    await submit(bob, inspection, NOW)
    final = await finalise(alice, inspection, NOW + dt.timedelta(hours=1), media_root)
    return closure, final


async def stall_while(work: Awaitable[Any]) -> tuple[Any, float]:
    """``work``'s result and the longest gap between 5 ms ticks while it ran (seconds)."""
    done = False
    longest = 0.0

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.005)
            tick = time.perf_counter()
            longest = max(longest, tick - last - 0.005)
            last = tick

    task = asyncio.create_task(ticker())
    try:
        result = await work
    finally:
        done = True
        await task
    return result, longest


async def measure(rounds: int, media_root: Path) -> None:
    closure, final = await setup(media_root)
    view = await report_view(final, media_root, draft=False)
    photos = sum(len(f.get("photos", [])) for f in view.get("findings", [])) + len(
        view.get("other_photos", [])
    )
    print(f"report: {len(view.get('components', []))} components, {photos} photos embedded")

    async def notice_page() -> str:
        return await notice_html(closure, size="a4", base=BASE, contact="0734-1234567", now=NOW)

    async def report_page() -> str:
        return report_html(view)

    subjects: dict[str, Callable[[], Awaitable[str]]] = {
        "notice": notice_page,
        "report": report_page,
    }
    times: dict[str, list[float]] = {f"{k} {p}": [] for k in subjects for p in ("html", "pdf")}
    stalls: dict[str, float] = dict.fromkeys(subjects, 0.0)
    sizes: dict[str, int] = {}
    for _ in range(rounds):
        for name, page in subjects.items():
            started = time.perf_counter()
            html = await page()
            times[f"{name} html"].append(time.perf_counter() - started)
            started = time.perf_counter()
            pdf, stall = await stall_while(render_pdf(html))
            times[f"{name} pdf"].append(time.perf_counter() - started)
            stalls[name] = max(stalls[name], stall)
            sizes[name] = len(pdf)

    def p95(values: list[float]) -> float:
        return sorted(values)[max(0, round(0.95 * len(values)) - 1)]

    print(f"\n{rounds} rounds, interleaved (ms)")
    print(f"{'document':28}{'p50':>10}{'p95':>10}")
    for key, values in times.items():
        print(f"{key:28}{1000 * statistics.median(values):10.1f}{1000 * p95(values):10.1f}")
    print()
    for name, target in TARGETS.items():
        html_p50 = statistics.median(times[f"{name} html"])
        pdf_p95 = p95(times[f"{name} pdf"])
        pdf_p50 = statistics.median(times[f"{name} pdf"])
        verdict = "met" if pdf_p95 < target else "NOT met"
        print(
            f"{name}: PDF p95 {pdf_p95:.2f} s (target < {target:.0f} s: {verdict}); "
            f"PDF / HTML p50 = {pdf_p50 / html_p50:.0f}x; {sizes[name] / 1024:.0f} kB; "
            f"longest event-loop stall while laying out: {1000 * stalls[name]:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-documents-") as folder:
        root = Path(folder)
        settings = Settings(database_url=f"sqlite:///{root / 'documents.db'}")
        configure_process(settings)

        async def run() -> None:
            from piccolo.apps.migrations.commands.forwards import run_forwards

            await run_forwards(app_name="all", migration_id="all", fake=False)
            await measure(args.rounds, root / "media")

        asyncio.run(run())


if __name__ == "__main__":
    main()
