"""``facilities demo`` as ``make run`` calls it: a separate process on a fresh database. The demo
story writes e-mails (reporters, assignees), so the command needs the same process set-up as the
web app and the scheduler; it once failed with "no e-mail renderer" while every in-process test
passed. Also checks the drawn demo: the bridge is its 76.6 m line and its closure has a detour."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from facilities.lib import geo
from tests.kit.database import on_postgres

FACILITIES_CLI = Path(sys.executable).parent / "facilities"


def run(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITIES_")}
    env["FACILITIES_DATABASE_URL"] = f"sqlite:///{database}"
    env["FACILITIES_MEDIA_DIR"] = str(database.parent / "media")
    return subprocess.run(
        [str(FACILITIES_CLI), *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.skipif(on_postgres(), reason="the demo command is exercised once, on SQLite")
def test_the_demo_command_loads_the_drawn_story_once(tmp_path: Path) -> None:
    database = tmp_path / "demo.sqlite"
    assert run(database, "migrate").returncode == 0

    first = run(database, "demo")
    again = run(database, "demo")

    assert first.returncode == 0, first.stderr[-2000:]
    assert "7 assets" in first.stdout and "3 closures" in first.stdout
    assert again.returncode == 0, again.stderr[-2000:]
    assert "0 assets" in again.stdout and "0 closures" in again.stdout
    with sqlite3.connect(database) as connection:
        [(bridge_id, drawing)] = connection.execute(
            "SELECT id, geometry FROM asset WHERE code = 'GX-QL-PH-001'"
        ).fetchall()
        [(detour,)] = connection.execute(
            "SELECT detour_line FROM closure WHERE asset = ?", (bridge_id,)
        ).fetchall()
        outbox = connection.execute("SELECT COUNT(*) FROM notification").fetchone()[0]
    bridge = geo.parse_geometry(drawing, "geometry")
    assert bridge.geom_type == "LineString"
    assert geo.length_m(bridge) == pytest.approx(76.6, abs=0.05)
    assert json.loads(detour)["type"] == "LineString"
    assert outbox > 0  # the story's e-mails were rendered and queued
