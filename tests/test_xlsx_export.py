"""Excel exports of the staff lists: what the filters show, headers in the reader's language,
typed cells (dates as dates, times as the bureau's local time), text never a formula."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest

from facilities.assets.choices import AssetType, ComponentKind, Lifecycle
from facilities.i18n import translate, use_locale
from facilities.lib import xlsx
from facilities.tickets.choices import Priority
from tests.kit.assets import make_asset, make_component, make_site
from tests.kit.closures import make_closure
from tests.kit.inspections import plan
from tests.kit.reports import make_report
from tests.kit.tickets import make_ticket

ZONE = ZoneInfo("Asia/Shanghai")
FORMULA = '=HYPERLINK("http://evil.example","click")'

pytestmark = pytest.mark.usefixtures("personas")


def local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(ZONE).replace(tzinfo=None)


async def download(client: httpx.AsyncClient, url: str, **params: Any) -> Any:
    response = await client.get(url, params=params)
    assert response.status_code == 200, response.text[:2000]
    assert response.headers["content-type"] == xlsx.MEDIA_TYPE
    assert response.headers["content-disposition"].startswith("attachment;")
    assert ".xlsx" in response.headers["content-disposition"]
    return openpyxl.load_workbook(io.BytesIO(response.content))


def table(sheet: Any) -> tuple[list[str], list[list[Any]]]:
    """(header, rows) of a sheet, skipping the note line above the header if there is one."""
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    start = 1 if sheet.freeze_panes == "A3" else 0
    return [str(c) for c in rows[start]], rows[start + 1 :]


def column(header: list[str], rows: list[list[Any]], name: str) -> list[Any]:
    index = header.index(name)
    return [row[index] for row in rows]


def label(msgid: str, locale: str) -> str:
    with use_locale(locale):
        return translate(msgid)


async def make_register() -> dict[str, Any]:
    park = await make_site("平湖公园", name_en="Pinghu Park")
    plaza = await make_site("雁鸣广场", name_en="Yanming Plaza")
    bridge = await make_asset(
        park,
        code="GX-QL-PH-001",
        name_zh="平湖公园景观悬索桥",
        name_en=FORMULA,
        asset_type=AssetType.SUSPENSION_FOOTBRIDGE,
        built_year=2012,
        length_m=120.5,
        is_special_structure=True,
        condition_graded_on=dt.date(2026, 5, 1),
        condition_grade="B",
    )
    cable = await make_component(bridge, "主缆", kind=ComponentKind.MAIN_CABLE, is_critical=True)
    await make_component(bridge, "索夹", parent_id=cable.id, kind=ComponentKind.CABLE_CLAMP)
    await make_asset(plaza, code="GX-GC-YM-001", name_zh="广场", asset_type=AssetType.PLAZA)
    return {"park": park, "plaza": plaza, "bridge": bridge}


# --- assets --------------------------------------------------------------------------------


async def test_the_asset_workbook_has_typed_cells_and_a_frozen_filtered_header(login):
    await make_register()
    dave = await login("dave")  # a viewer may export what the list shows

    book = await download(dave, "/assets/export.xlsx")

    assets_sheet, parts = book.worksheets
    assert assets_sheet.freeze_panes == "A2"
    assert assets_sheet.auto_filter.ref.startswith("A1:")
    header, rows = table(assets_sheet)
    assert column(header, rows, label("Code", "zh_CN")) == ["GX-GC-YM-001", "GX-QL-PH-001"]
    bridge = dict(zip(header, rows[1], strict=False))
    graded = bridge[label("Graded on", "zh_CN")]
    assert isinstance(graded, dt.datetime) and graded.date() == dt.date(2026, 5, 1)
    assert assets_sheet.cell(row=3, column=header.index(label("Graded on", "zh_CN")) + 1).is_date
    assert bridge[label("Year built", "zh_CN")] == 2012
    assert bridge[label("Length (m)", "zh_CN")] == 120.5
    assert bridge[label("Special structure", "zh_CN")] is True
    assert bridge[label("Type", "zh_CN")] == AssetType.SUSPENSION_FOOTBRIDGE.label
    assert bridge[label("Site", "zh_CN")] == "平湖公园"
    # Widths follow the contents, within bounds.
    widths = [assets_sheet.column_dimensions[c].width for c in "ABC"]
    assert all(xlsx.MIN_WIDTH <= w <= xlsx.MAX_WIDTH for w in widths)

    part_header, part_rows = table(parts)
    assert parts.freeze_panes == "A2"
    names = column(part_header, part_rows, label("Name (Chinese)", "zh_CN"))
    parents = column(part_header, part_rows, label("Part of", "zh_CN"))
    assert list(zip(names, parents, strict=True)) == [("主缆", None), ("索夹", "主缆")]
    critical = column(
        part_header, part_rows, label("Critical component (a failure endangers people)", "zh_CN")
    )
    assert critical == [True, False]


async def test_formula_looking_text_stays_text(login):
    await make_register()
    alice = await login("alice")
    response = await alice.get("/assets/export.xlsx")

    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    cells = [c for row in sheet.iter_rows() for c in row if c.value == FORMULA]
    assert cells and all(c.data_type == "s" for c in cells)
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    # In the file itself: a shared string, no <f> element anywhere.
    import zipfile

    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert not any(b"<f>" in archive.read(n) for n in sheets)


async def test_headers_and_choices_follow_the_readers_language(login):
    await make_register()
    alice = await login("alice")
    alice.cookies.set("lang", "en")

    book = await download(alice, "/assets/export.xlsx")

    header, rows = table(book.worksheets[0])
    assert header[:3] == ["Code", "Name (Chinese)", "Name (English)"]
    assert label("Code", "zh_CN") != "Code"  # the Chinese workbook says it otherwise
    with use_locale("en"):
        expected = AssetType.SUSPENSION_FOOTBRIDGE.label
    assert column(header, rows, "Type")[1] == expected


async def test_the_asset_workbook_holds_what_the_filters_show(login):
    register = await make_register()
    await make_asset(
        register["park"], code="GX-X-9", name_zh="在建", lifecycle=Lifecycle.UNDER_CONSTRUCTION
    )
    alice = await login("alice")

    book = await download(alice, "/assets/export.xlsx", site=register["park"].id, status="in_use")

    header, rows = table(book.worksheets[0])
    assert column(header, rows, label("Code", "zh_CN")) == ["GX-QL-PH-001"]
    _parts_header, part_rows = table(book.worksheets[1])
    assert len(part_rows) == 2  # the plaza has none; only the shown assets' parts


async def test_bad_filters_are_a_400_not_a_broken_file(login):
    alice = await login("alice")
    response = await alice.get("/assets/export.xlsx", params={"site": "nope"})
    assert response.status_code == 400


# --- tickets -------------------------------------------------------------------------------


async def test_the_ticket_workbook_has_local_times_labels_and_the_lists_filters(
    login, personas, now
):
    register = await make_register()
    alice_actor = personas["alice"]
    urgent = await make_ticket(
        alice_actor, register["bridge"], now, title=FORMULA, priority=Priority.P0
    )
    await make_ticket(alice_actor, register["bridge"], now, title="普通", priority=Priority.P3)
    alice = await login("alice")

    book = await download(alice, "/tickets/export.xlsx", priority="P0")

    sheet = book.worksheets[0]
    assert sheet.freeze_panes == "A3"  # a note on the zone, then the header
    assert "Asia/Shanghai" in str(sheet["A1"].value)
    header, rows = table(sheet)
    assert len(rows) == 1
    ticket = dict(zip(header, rows[0], strict=False))
    assert ticket[label("Title", "zh_CN")] == FORMULA
    assert ticket[label("Priority", "zh_CN")] == Priority.P0.label
    assert ticket[label("Created", "zh_CN")] == local(urgent.created_at)
    assert ticket[label("Due", "zh_CN")] == local(urgent.sla_due_at)
    assert ticket[label("Ticket number", "zh_CN")] == urgent.id
    assert isinstance(ticket[label("Overdue", "zh_CN")], bool)


# --- inspections, closures, citizen reports ---------------------------------------------


async def test_the_inspection_workbook_matches_the_list(login, personas, now):
    register = await make_register()
    inspection = await plan(personas["alice"], register["bridge"], now)
    alice = await login("alice")
    page = await alice.get("/inspections")
    assert 'href="/inspections/export.xlsx"' in page.text

    book = await download(alice, "/inspections/export.xlsx", asset=register["bridge"].id)

    header, rows = table(book.worksheets[0])
    assert column(header, rows, label("Inspection number", "zh_CN")) == [inspection.id]
    assert column(header, rows, label("Due", "zh_CN")) == [dt.datetime(2026, 11, 29, 17, 0)]
    other = await download(alice, "/inspections/export.xlsx", asset=(await make_asset()).id)
    assert table(other.worksheets[0])[1] == []


async def test_the_closure_workbook_follows_the_status_filter(login, personas, now):
    register = await make_register()
    closure = await make_closure(personas["alice"], register["bridge"], now)
    alice = await login("alice")
    page = await alice.get("/closures")
    assert 'href="/closures/export.xlsx' in page.text

    book = await download(alice, "/closures/export.xlsx", status="all")

    header, rows = table(book.worksheets[0])
    assert column(header, rows, label("Closure number", "zh_CN")) == [closure.id]
    assert column(header, rows, label("Closed from", "zh_CN")) == [local(closure.effective_from)]
    assert column(header, rows, label("Asset code", "zh_CN")) == ["GX-QL-PH-001"]
    lifted = await download(alice, "/closures/export.xlsx", status="lifted")
    assert table(lifted.worksheets[0])[1] == []
    assert (await alice.get("/closures/export.xlsx", params={"status": "nope"})).status_code == 400


async def test_the_triage_workbook_keeps_citizen_text_as_text(login, now, media_root):
    register = await make_register()
    submitted = await make_report(
        register["bridge"], now=now, media_root=media_root, description=FORMULA + " 桥面破损"
    )
    alice = await login("alice")
    page = await alice.get("/triage")
    assert 'href="/triage/export.xlsx"' in page.text

    book = await download(alice, "/triage/export.xlsx")

    header, rows = table(book.worksheets[0])
    report = dict(zip(header, rows[0], strict=False))
    assert report[label("No.", "zh_CN")] == submitted.report.id
    assert report[label("Description", "zh_CN")] == FORMULA + " 桥面破损"
    assert report[label("Received", "zh_CN")] == local(submitted.report.requested_at)
    assert "citizen@example.org" not in str(rows)
    assert all(c.data_type != "f" for row in book.worksheets[0].iter_rows() for c in row)


async def test_a_viewer_may_not_export_the_triage_queue(login):
    dave = await login("dave")
    assert (await dave.get("/triage/export.xlsx")).status_code == 403


async def test_anonymous_visitors_are_sent_to_log_in(anon):
    for url in ("/assets/export.xlsx", "/tickets/export.xlsx", "/inspections/export.xlsx"):
        response = await anon.get(url)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")


# --- the workbook helper itself ------------------------------------------------------------


def test_a_file_is_a_workbook_by_content_not_by_name():
    data = xlsx.build([xlsx.Sheet("t", ["a"], [["x"]])], ZONE)
    assert xlsx.is_workbook(data)
    assert not xlsx.is_workbook(b"code,name\r\n")
    assert not xlsx.is_workbook(b"PK\x03\x04garbage")
    with pytest.raises(xlsx.NotAWorkbook):
        xlsx.read(b"PK\x03\x04garbage", 10)


def test_reading_stops_at_the_row_cap():
    data = xlsx.build([xlsx.Sheet("t", ["a"], [[i] for i in range(20)])], ZONE)
    assert len(xlsx.read(data, 50)["t"]) == 21
    with pytest.raises(xlsx.TooManyRows):
        xlsx.read(data, 5)


def test_instants_are_written_as_local_wall_time():
    moment = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
    data = xlsx.build([xlsx.Sheet("t", ["when"], [[moment]])], ZONE)
    [_, [cell]] = xlsx.read(data, 5)["t"]
    assert cell == dt.datetime(2026, 11, 28, 10, 0)
