"""CSV export and import of the asset register: one format both ways, all-or-nothing imports."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from facilities.accounts.permissions import SYSTEM
from facilities.assets import csvio
from facilities.assets import services as assets
from facilities.assets.choices import AssetType, ConditionGrade, Lifecycle, Material
from facilities.assets.schemas import AssetIn
from facilities.assets.tables import Asset, Site
from facilities.audit.tables import AuditEvent
from facilities.errors import PermissionDenied, ValidationFailed
from tests.kit.assets import make_asset, make_site
from tests.kit.database import on_postgres

FACILITIES_CLI = Path(sys.executable).parent / "facilities"


async def make_register(now: dt.datetime) -> dict[str, Site]:
    """Two sites and assets that use every kind of cell: text with commas, quotes and line
    breaks, numbers, dates, booleans, empty values."""
    park = await make_site("平湖公园", name_en="Pinghu Park")
    plaza = await make_site("雁鸣溪广场", name_en="Yanming Plaza")
    await assets.create_asset(
        SYSTEM,
        AssetIn(
            code="GX-QL-PH-001",
            name_zh="平湖公园景观悬索桥",
            name_en='Pinghu "Rainbow" bridge, east',
            asset_type=AssetType.SUSPENSION_FOOTBRIDGE,
            site_id=park.id,
            lat=22.551234,
            lng=113.941,
            location_note="湖心岛，东侧",
            built_year=2012,
            length_m=120.5,
            width_m=2.4,
            span_m=96.0,
            deck_material=Material.TIMBER,
            main_material=Material.STEEL,
            maintenance_class="II",
            maintenance_grade="I",
            is_special_structure=True,
            is_tension_critical=True,
            crowd_limit=200,
            condition_grade=ConditionGrade.B,
            condition_graded_on=dt.date(2026, 5, 1),
            description="第一行\r\n第二行，含逗号\n",
        ),
        now,
    )
    await make_asset(park, code="GX-TY-PH-002", name_zh="儿童乐园", asset_type=AssetType.PLAYGROUND)
    await make_asset(
        plaza,
        code="GX-GC-YM-001",
        name_zh="雁鸣溪广场",
        asset_type=AssetType.PLAZA,
        lifecycle=Lifecycle.UNDER_CONSTRUCTION,
        width_m=0.1 + 0.2,
    )
    return {"park": park, "plaza": plaza}


def parse(text: str) -> list[dict[str, str]]:
    return csvio.read_rows(text)


def to_csv(rows: list[dict[str, Any]], columns: tuple[str, ...] = csvio.COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return "\ufeff" + buffer.getvalue()


def new_row(**fields: str) -> dict[str, str]:
    row = {
        "code": "GX-NEW-001",
        "name_zh": "新建栈道",
        "asset_type": "boardwalk",
        "site": "平湖公园",
        "lifecycle": "in_use",
        "structure_type": "beam",
        "is_special_structure": "false",
        "is_tension_critical": "false",
    }
    row.update(fields)
    return row


async def export(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    response = await client.get("/assets/export.csv", params=params)
    assert response.status_code == 200, response.text[:500]
    return response


def codes(text: str) -> list[str]:
    return [row["code"] for row in parse(text)]


# --- export ----------------------------------------------------------------------------------


async def test_export_is_utf8_with_bom_and_the_documented_columns(login, now):
    await make_register(now)
    dave = await login("dave")

    response = await export(dave)

    assert response.headers["content-type"].startswith("text/csv")
    assert "charset=utf-8" in response.headers["content-type"]
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="assets-' in disposition
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == csvio.COLUMNS
    assert "site" in csvio.COLUMNS
    assert "version" not in csvio.COLUMNS
    records = parse(text)
    assert [r["code"] for r in records] == ["GX-GC-YM-001", "GX-QL-PH-001", "GX-TY-PH-002"]
    bridge = records[1]
    assert bridge["name_zh"] == "平湖公园景观悬索桥"
    assert bridge["name_en"] == 'Pinghu "Rainbow" bridge, east'
    assert bridge["site"] == "平湖公园"
    assert bridge["location_note"] == "湖心岛，东侧"
    assert (bridge["lat"], bridge["span_m"], bridge["built_year"]) == ("22.551234", "96", "2012")
    assert (bridge["is_tension_critical"], bridge["condition_graded_on"]) == ("true", "2026-05-01")
    assert bridge["crowd_limit"] == "200"
    assert records[2]["lat"] == ""


async def test_export_respects_the_filters(login, now):
    sites = await make_register(now)
    alice = await login("alice")

    by_site = await export(alice, site=sites["park"].id)
    by_type = await export(alice, type="plaza")
    by_text = await export(alice, q="乐园")
    by_status = await export(alice, status="under_construction")
    bad = await alice.get("/assets/export.csv", params={"type": "castle"})

    assert codes(by_site.text) == ["GX-QL-PH-001", "GX-TY-PH-002"]
    assert codes(by_type.text) == ["GX-GC-YM-001"]
    assert codes(by_text.text) == ["GX-TY-PH-002"]
    assert codes(by_status.text) == ["GX-GC-YM-001"]
    assert bad.status_code == 400


async def test_the_list_page_links_to_the_export_with_its_filters(login, now):
    sites = await make_register(now)
    alice = await login("alice")
    response = await alice.get("/assets", params={"site": sites["park"].id, "q": "平湖"})
    assert f"/assets/export.csv?site={sites['park'].id}&amp;q=" in response.text


async def test_export_needs_a_login(anon):
    response = await anon.get("/assets/export.csv")
    assert response.status_code == 303


async def test_cells_that_a_spreadsheet_would_run_as_formulas_are_defused(login, now):
    site = await make_site("平湖公园")
    await make_asset(site, code="GX-F-001", name_zh='=HYPERLINK("http://x","点击")')
    await make_asset(site, code="GX-F-002", name_zh="+1", name_en="@SUM(A1)", lat=-22.5, lng=-1)
    alice = await login("alice")

    text = (await export(alice)).text
    first, second = parse(text)

    assert first["name_zh"].startswith("'=")
    assert second["name_zh"] == "'+1"
    assert second["name_en"] == "'@SUM(A1)"
    assert second["lat"] == "-22.5"  # numbers are left alone
    # ...and the import reads them back as they were saved.
    result = await csvio.import_rows(SYSTEM, parse(text), now)
    assert (result.ok, result.unchanged, result.updated) == (True, 2, 0)


# --- round trip and import -------------------------------------------------------------------


async def test_export_then_import_changes_nothing(login, personas, now):
    await make_register(now)
    alice = await login("alice")
    events = await AuditEvent.count()
    text = (await export(alice)).text

    result = await csvio.import_rows(personas["alice"], parse(text), now)

    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert await AuditEvent.count() == events
    assert await Asset.count() == 3
    assert (await export(alice)).text == text


async def test_import_creates_new_rows_and_updates_changed_ones(login, personas, now):
    await make_register(now)
    alice = await login("alice")
    rows = parse((await export(alice)).text)
    rows[1]["built_year"] = "2011"
    rows[1]["condition_grade"] = "C"
    rows.append(new_row(code="GX-NEW-001", length_m="45.5", site="雁鸣溪广场"))
    later = now + dt.timedelta(days=1)

    result = await csvio.import_rows(personas["alice"], rows, later)

    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (1, 1, 2)
    bridge = await Asset.objects().where(Asset.code == "GX-QL-PH-001").first()
    assert (bridge.built_year, bridge.condition_grade, bridge.version) == (2011, "C", 2)
    assert bridge.description == "第一行\n第二行，含逗号"
    new = await Asset.objects(Asset.site).where(Asset.code == "GX-NEW-001").first()
    assert (new.length_m, new.site.name_zh, new.asset_type) == (45.5, "雁鸣溪广场", "boardwalk")
    events = await AuditEvent.select().where(AuditEvent.at == later).order_by(AuditEvent.id)
    assert [(e["action"], e["entity_id"], e["actor"]) for e in events] == [
        ("asset.updated", bridge.id, personas["alice"].id),
        ("asset.created", new.id, personas["alice"].id),
    ]


async def test_an_invalid_file_imports_nothing_and_names_each_line(personas, now):
    await make_site("平湖公园")
    existing = await make_asset(code="GX-OLD-001", name_zh="旧桥")
    rows = [
        new_row(code="GX-NEW-001"),  # line 2: fine
        new_row(code="GX-NEW-002", site="不存在的公园"),  # line 3
        new_row(code="GX-NEW-003", asset_type="castle"),  # line 4
        new_row(code="GX-NEW-001", name_zh="重复"),  # line 5 repeats line 2
        new_row(code="bad code", lat="95", lng="1"),  # line 6
        new_row(code="GX-OLD-001", name_zh="旧桥改名"),  # line 7: fine alone
    ]
    before = (await Asset.count(), await AuditEvent.count())

    result = await csvio.import_rows(personas["alice"], rows, now)

    assert not result.ok
    assert {(line, field) for line, field, _message in result.errors} == {
        (3, "site"),
        (4, "asset_type"),
        (5, "code"),
        (6, "code"),
        (6, "lat"),
    }
    messages = {(line, field): message for line, field, message in result.errors}
    assert "不存在的公园" in messages[(3, "site")]
    assert "2" in messages[(5, "code")]
    assert (result.created, result.updated) == (0, 0)
    assert (await Asset.count(), await AuditEvent.count()) == before
    assert (await Asset.objects().where(Asset.id == existing.id).first()).name_zh == "旧桥"


async def test_a_rule_broken_late_in_the_file_rolls_back_the_earlier_rows(personas, now):
    await make_site("平湖公园")
    rows = [
        new_row(code="GX-NEW-001"),
        new_row(code="GX-NEW-002"),
        new_row(code="GX-NEW-003", built_year="2099"),  # line 4: only the service knows
    ]

    result = await csvio.import_rows(personas["alice"], rows, now)

    assert not result.ok
    assert [(line, field) for line, field, _m in result.errors] == [(4, "built_year")]
    assert (result.created, result.updated, result.unchanged) == (0, 0, 0)
    assert await Asset.count() == 0
    assert await AuditEvent.count().where(AuditEvent.entity_type == "asset") == 0


async def test_a_file_missing_a_required_column_is_refused(now):
    text = to_csv([new_row()], columns=("code", "name_zh", "site"))
    with pytest.raises(ValidationFailed) as caught:
        csvio.read_rows(text)
    assert "asset_type" in caught.value.errors["file"]


async def test_viewers_cannot_import(personas, now):
    await make_site("平湖公园")
    with pytest.raises(PermissionDenied):
        await csvio.import_rows(personas["dave"], [new_row()], now)
    assert await Asset.count() == 0


# --- the command line ------------------------------------------------------------------------


async def run_cli(database_url: str, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITIES_")}
    env["FACILITIES_DATABASE_URL"] = database_url
    process = await asyncio.create_subprocess_exec(
        str(FACILITIES_CLI),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.skipif(on_postgres(), reason="the subprocess test uses the test's SQLite file")
async def test_cli_import_end_to_end(login, database_url, tmp_path, now):
    await make_register(now)
    alice = await login("alice")
    exported = await export(alice)
    # Written as a browser saves a download: the bytes as sent (BOM, CRLF line ends).
    unchanged_file = tmp_path / "assets.csv"
    unchanged_file.write_bytes(exported.content)
    rows = parse(exported.text)
    rows[0]["name_en"] = "Yanming Plaza (renamed)"
    rows.append(new_row(code="GX-NEW-001"))
    changed_file = tmp_path / "changed.csv"
    changed_file.write_text(to_csv(rows), encoding="utf-8", newline="")
    bad_file = tmp_path / "bad.csv"
    bad_file.write_text(
        to_csv([new_row(code="GX-NEW-009"), new_row(code="GX-NEW-010", site="无此公园")]),
        encoding="utf-8",
        newline="",
    )

    same = await run_cli(database_url, "import-assets", str(unchanged_file))
    changed = await run_cli(database_url, "import-assets", str(changed_file))
    bad = await run_cli(database_url, "import-assets", str(bad_file))

    assert same[0] == 0, same
    assert "0 created, 0 updated, 3 unchanged" in same[1]
    assert changed[0] == 0, changed
    assert "1 created, 1 updated, 2 unchanged" in changed[1]
    assert (await Asset.objects().where(Asset.code == "GX-GC-YM-001").first()).name_en == (
        "Yanming Plaza (renamed)"
    )
    assert await Asset.exists().where(Asset.code == "GX-NEW-001")
    event = (
        await AuditEvent.objects()
        .where(AuditEvent.action == "asset.created")
        .order_by(AuditEvent.id, ascending=False)
        .first()
    )
    assert event.actor_name == "system"
    assert bad[0] != 0
    assert "line 3, site" in bad[2]
    assert "nothing was imported" in bad[2]
    assert not await Asset.exists().where(Asset.code == "GX-NEW-009")


@pytest.mark.skipif(on_postgres(), reason="the subprocess test uses the test's SQLite file")
async def test_cli_refuses_a_file_without_the_required_columns(app, database_url, tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("code,name_zh\r\nGX-A-001,桥\r\n", encoding="utf-8")

    code, _out, err = await run_cli(database_url, "import-assets", str(path))

    assert code != 0
    assert "asset_type" in err
    assert await Asset.count() == 0
