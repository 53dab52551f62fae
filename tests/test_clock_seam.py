"""The wall clock is read in one place. Services, pages, feeds and templates take ``now``; the
web app reads its own clock (``create_app(clock=...)``) once per request; only the CLI, an entry
point like the scheduler, asks ``lib/clock.utcnow`` directly. A new reading elsewhere is a time
bomb: a page that agrees with its test only near the day the test was written."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from facilities.lib.clock import SettableClock

ROOT = Path(__file__).resolve().parents[1]
WALL_CLOCK = re.compile(
    r"\butcnow\(\)|datetime\.now\(|datetime\.utcnow\(|date\.today\(\)|\btime\.time\(\)"
)
#: Where reading the wall clock is the point: the clock itself, and the CLI's commands.
ALLOWED = {"facilities/lib/clock.py", "facilities/cli.py"}


def _readings(paths: list[Path], pattern: re.Pattern[str]) -> list[str]:
    found = []
    for path in paths:
        name = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line) and name not in ALLOWED:
                found.append(f"{name}:{number}: {line.strip()}")
    return found


def test_only_the_clock_and_the_cli_read_the_wall_clock():
    sources = [
        p for p in (ROOT / "facilities").rglob("*.py") if "piccolo_migrations" not in p.parts
    ]
    assert len(sources) > 100  # the walk found the package
    assert _readings(sources, WALL_CLOCK) == []


def test_no_template_asks_for_the_time():
    templates = list((ROOT / "templates").rglob("*.html")) + list(
        (ROOT / "templates").rglob("*.txt")
    )
    assert len(templates) > 50
    assert _readings(templates, re.compile(r"\bnow\(\)|\butcnow\b")) == []


def test_a_settable_clock_runs_from_its_start_and_can_be_frozen_or_moved():
    start = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
    clock = SettableClock(start)
    first, second = clock(), clock()
    assert start <= first <= second < start + dt.timedelta(minutes=1)
    clock.set(start + dt.timedelta(days=3), frozen=True)
    assert clock() == clock() == start + dt.timedelta(days=3)
    clock.advance(dt.timedelta(hours=1))
    assert clock() == start + dt.timedelta(days=3, hours=1)
