"""Importing assets and components through the web: xlsx or CSV, a dry run that writes nothing,
then a confirmation that applies every row in one transaction, or none."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import httpx
import openpyxl
import pytest

from facilities.assets import importing
from facilities.assets.choices import AssetType, ComponentKind
from facilities.assets.tables import Asset, Component
from facilities.audit.tables import AuditEvent
from facilities.i18n import translate, use_locale
from tests.kit.assets import make_asset, make_component, make_site
from tests.kit.clients import csrf_token
from tests.kit.database import on_postgres
from tests.test_assets_csv import run_cli

pytestmark = pytest.mark.usefixtures("personas")


async def counts() -> tuple[int, int, int]:
    return await Asset.count(), await Component.count(), await AuditEvent.count()


async def make_register() -> dict[str, Any]:
    park = await make_site("平湖公园", name_en="Pinghu Park")
    bridge = await make_asset(
        park,
        code="GX-QL-PH-001",
        name_zh="平湖公园景观悬索桥",
        name_en='=HYPERLINK("http://x")',
        asset_type=AssetType.SUSPENSION_FOOTBRIDGE,
        built_year=2012,
        length_m=120.5,
        condition_graded_on=dt.date(2026, 5, 1),
        condition_grade="B",
    )
    cable = await make_component(bridge, "主缆", kind=ComponentKind.MAIN_CABLE)
    await make_component(bridge, "索夹", parent_id=cable.id, position=2)
    await make_asset(park, code="GX-TY-PH-002", name_zh="儿童乐园", asset_type=AssetType.PLAYGROUND)
    return {"park": park, "bridge": bridge}


async def upload(
    client: httpx.AsyncClient, content: bytes, name: str = "register.xlsx"
) -> httpx.Response:
    return await client.post(
        "/assets/import",
        data={"_csrf_token": await csrf_token(client)},
        files={"file": (name, content)},
    )


async def confirm(client: httpx.AsyncClient, checked: httpx.Response) -> httpx.Response:
    token = re.search(r'name="token" value="([^"]+)"', checked.text)
    sha = re.search(r'name="sha256" value="([^"]+)"', checked.text)
    assert token and sha, checked.text[:3000]
    return await client.post(
        "/assets/import/confirm",
        data={
            "_csrf_token": await csrf_token(client),
            "token": token.group(1),
            "sha256": sha.group(1),
        },
    )


def summary(response: httpx.Response) -> list[list[str]]:
    """The dry run's table: [sheet, to create, to update, unchanged] per sheet."""
    body = response.text.split('id="dry-run-title"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td></tr>", body)
    return [list(r) for r in rows]


def problems(response: httpx.Response) -> list[tuple[str, str, str, str]]:
    body = response.text.split('id="import-problems"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(
        r"<tr><td>(.*?)</td><td>(\d+)</td><td>(.*?)</td><td>(.*?)</td></tr>", body, re.S
    )
    return [tuple(c) for c in cells]


def workbook(assets: list[list[Any]], components: list[list[Any]] | None = None) -> bytes:
    """A workbook typed by hand, with the column codes as headers."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "assets"
    sheet.append(["code", "name_zh", "asset_type", "site", "built_year", "condition_graded_on"])
    for row in assets:
        sheet.append(row)
    if components is not None:
        parts = book.create_sheet("components")
        parts.append(["asset", "name_zh", "kind", "parent", "is_critical", "position"])
        for row in components:
            parts.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- the round trip -----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["zh_CN", "en"])
async def test_an_exported_workbook_imports_back_unchanged(login, language):
    """Headers and choices are labels in the exporter's language; any reader imports them."""
    await make_register()
    alice = await login("alice")
    exported = await alice.get("/assets/export.xlsx", cookies={"lang": language})
    with use_locale(language):
        code_header = translate("Code")
    assert openpyxl.load_workbook(io.BytesIO(exported.content)).worksheets[0]["A1"].value == (
        code_header
    )
    assert exported.status_code == 200
    before = await counts()

    checked = await upload(alice, exported.content)

    assert checked.status_code == 200, checked.text[:3000]
    assets_row, components_row = summary(checked)
    assert assets_row[1:] == ["0", "0", "2"]
    assert components_row[1:] == ["0", "0", "2"]
    assert await counts() == before


async def test_an_edited_workbook_dry_run_shows_updates_only_and_writes_nothing(login):
    register = await make_register()
    alice = await login("alice")
    book = openpyxl.load_workbook(io.BytesIO((await alice.get("/assets/export.xlsx")).content))
    assets_sheet, parts = book.worksheets
    assets_sheet.cell(row=2, column=2).value = "改名的悬索桥"  # name_zh of GX-QL-PH-001
    parts.cell(row=3, column=8).value = 5  # the clamp's order
    buffer = io.BytesIO()
    book.save(buffer)
    before = await counts()

    checked = await upload(alice, buffer.getvalue())

    assert checked.status_code == 200, checked.text[:3000]
    assert [row[1:] for row in summary(checked)] == [["0", "1", "1"], ["0", "1", "1"]]
    assert await counts() == before
    bridge = await Asset.objects().get(Asset.id == register["bridge"].id)
    assert bridge.name_zh == "平湖公园景观悬索桥"

    applied = await confirm(alice, checked)

    assert applied.status_code == 303, applied.text[:3000]
    bridge = await Asset.objects().get(Asset.id == register["bridge"].id)
    assert bridge.name_zh == "改名的悬索桥"
    clamp = await Component.objects().get(Component.name_zh == "索夹")
    assert clamp.position == 5


# --- dry runs with problems ----------------------------------------------------------------


async def test_a_dry_run_with_bad_rows_lists_each_problem_and_writes_nothing(login):
    await make_register()
    alice = await login("alice")
    alice.cookies.set("lang", "en")
    content = workbook(
        [
            ["GX-NEW-001", "新栈道", "boardwalk", "平湖公园", 2020, None],
            ["bad code", "坏编号", "boardwalk", "平湖公园", None, None],
            ["GX-NEW-002", "名", "no_such_type", "平湖公园", None, None],
            ["GX-NEW-003", "年份", "boardwalk", "平湖公园", 1500, None],
        ],
        [
            ["GX-NEW-001", "面板", "deck_planks", "没有的父件", None, None],
            ["GX-QL-PH-001", "吊杆", "hanger", "主缆", None, None],
        ],
    )
    before = await counts()

    checked = await upload(alice, content)

    assert checked.status_code == 400
    found = problems(checked)
    assert [(sheet, line, column) for sheet, line, column, _m in found] == [
        ("Assets", "3", "Code"),
        ("Assets", "4", "Type"),
        ("Assets", "5", "Year built"),
        ("Components", "2", "Part of"),
    ]
    assert "没有的父件" in found[-1][3]
    assert 'action="/assets/import/confirm"' not in checked.text
    assert await counts() == before


async def test_problems_are_in_the_readers_language(login):
    await make_register()
    alice = await login("alice")
    alice.cookies.set("lang", "en")
    content = workbook([["GX-NEW-003", "年份", "boardwalk", "没有的公园", None, None]])

    checked = await upload(alice, content)

    assert checked.status_code == 400
    assert problems(checked) == [("Assets", "2", "Site", "Unknown site: 没有的公园")]


async def test_confirm_applies_every_row_in_one_transaction(login):
    await make_register()
    alice = await login("alice")
    content = workbook(
        [
            ["GX-NEW-001", "新栈道", "boardwalk", "平湖公园", 2020, dt.datetime(2026, 3, 1)],
            ["GX-NEW-002", "新亭子", "pavilion", "平湖公园", None, None],
        ],
        [
            ["GX-NEW-001", "面板", "deck_planks", None, True, 1],
            ["GX-NEW-001", "栏杆", "railing", "面板", False, 2],
        ],
    )
    checked = await upload(alice, content)
    assert checked.status_code == 200, checked.text[:3000]
    assert [row[1:] for row in summary(checked)] == [["2", "0", "0"], ["2", "0", "0"]]
    assert not await Asset.exists().where(Asset.code == "GX-NEW-001")

    applied = await confirm(alice, checked)

    assert applied.status_code == 303, applied.text[:3000]
    boardwalk = await Asset.objects().get(Asset.code == "GX-NEW-001")
    assert boardwalk.condition_graded_on == dt.date(2026, 3, 1)
    deck = await Component.objects().get(Component.name_zh == "面板")
    railing = await Component.objects().get(Component.name_zh == "栏杆")
    assert deck.asset == boardwalk.id and deck.is_critical
    assert railing.parent == deck.id
    created = await AuditEvent.count().where(AuditEvent.action == "asset.created")
    assert created >= 2
    # The same confirmation again is not a second import (the file is gone, or replayed).
    again = await confirm(alice, checked)
    assert again.status_code in (303, 400)
    assert await Asset.count().where(Asset.code == "GX-NEW-001") == 1


async def test_a_row_refused_while_writing_undoes_the_rows_before_it(login, now):
    await make_register()
    alice = await login("alice")
    future = (now + dt.timedelta(days=400)).replace(tzinfo=None)
    content = workbook(
        [
            ["GX-NEW-001", "新栈道", "boardwalk", "平湖公园", None, None],
            # Passes the row checks; the service refuses a grading date in the future.
            ["GX-NEW-002", "未来", "boardwalk", "平湖公园", None, future],
        ]
    )
    before = await counts()

    checked = await upload(alice, content)

    assert checked.status_code == 400
    assert any(line == "3" for _s, line, _c, _m in problems(checked))
    assert [row[1:] for row in summary(checked)] == [["0", "0", "0"], ["0", "0", "0"]]
    assert await counts() == before


async def test_a_mixed_file_of_good_assets_and_a_bad_component_applies_nothing(login):
    await make_register()
    alice = await login("alice")
    content = workbook(
        [["GX-NEW-001", "新栈道", "boardwalk", "平湖公园", None, None]],
        [
            ["GX-NEW-001", "面板", "deck_planks", None, None, 1],
            ["GX-NOPE-9", "栏杆", "railing", None, None, 2],
        ],
    )
    alice.cookies.set("lang", "en")
    before = await counts()

    checked = await upload(alice, content)

    assert checked.status_code == 400
    assert [(s, line, m) for s, line, _c, m in problems(checked)] == [
        ("Components", "3", "Unknown asset: GX-NOPE-9")
    ]
    assert 'action="/assets/import/confirm"' not in checked.text
    assert await counts() == before


# --- CSV ----------------------------------------------------------------------------------


async def test_csv_files_of_assets_and_of_components_still_work(login):
    await make_register()
    alice = await login("alice")
    exported = await alice.get("/assets/export.csv")
    checked = await upload(alice, exported.content, "register.csv")
    assert checked.status_code == 200, checked.text[:3000]
    assert summary(checked)[0][1:] == ["0", "0", "2"]

    parts = "\ufeffasset,name_zh,kind,parent,position\r\nGX-TY-PH-002,滑梯,other,,1\r\n"
    checked = await upload(alice, parts.encode(), "parts.csv")
    assert checked.status_code == 200, checked.text[:3000]
    assert summary(checked)[1][1:] == ["1", "0", "0"]
    applied = await confirm(alice, checked)
    assert applied.status_code == 303
    assert await Component.exists().where(Component.name_zh == "滑梯")


async def test_a_csv_saved_by_excel_in_gbk_is_read(login):
    await make_register()
    alice = await login("alice")
    text = "code,name_zh,asset_type,site\r\nGX-NEW-001,新栈道,boardwalk,平湖公园\r\n"

    checked = await upload(alice, text.encode("gbk"), "register.csv")

    assert checked.status_code == 200, checked.text[:3000]
    assert summary(checked)[0][1:] == ["1", "0", "0"]
    assert (await confirm(alice, checked)).status_code == 303
    assert (await Asset.objects().get(Asset.code == "GX-NEW-001")).name_zh == "新栈道"


# --- limits and permissions --------------------------------------------------------------


async def test_a_viewer_may_not_import(login):
    dave = await login("dave")
    assert (await dave.get("/assets/import")).status_code == 403
    response = await upload(dave, workbook([["GX-NEW-001", "新", "boardwalk", "平湖公园"]]))
    assert response.status_code == 403
    assert not await Asset.exists().where(Asset.code == "GX-NEW-001")


async def test_an_editor_sees_the_import_page(login):
    alice = await login("alice")
    page = await alice.get("/assets/import")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert 'name="_submission"' in page.text


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "register.xlsx"),
        (b"PK\x03\x04 not really a zip", "register.xlsx"),
        (b"just some words\nwithout any columns\n", "register.csv"),
        (b"", "register.xlsx"),
        (b"code,name_zh,asset_type,site\r\n", "header-only.csv"),
    ],
)
async def test_a_file_that_is_neither_xlsx_nor_csv_is_refused(login, content, name):
    await make_site("平湖公园")
    alice = await login("alice")
    before = await counts()

    response = await upload(alice, content, name)

    assert response.status_code == 400
    assert 'id="file-error"' in response.text
    assert await counts() == before


async def test_an_oversized_file_is_refused(app, login):
    await make_site("平湖公园")
    alice = await login("alice")
    app.state.settings = app.state.settings.__class__(
        **{**app.state.settings.__dict__, "max_upload_bytes": 2048}
    )
    content = (
        "code,name_zh,asset_type,site\r\n" + "GX-A-1,名,boardwalk,平湖公园\r\n" * 200
    ).encode()

    response = await upload(alice, content, "big.csv")

    assert response.status_code == 400
    assert 'id="file-error"' in response.text
    assert not await Asset.exists()


async def test_too_many_rows_are_refused(login, monkeypatch):
    await make_site("平湖公园")
    alice = await login("alice")
    monkeypatch.setattr(importing, "MAX_IMPORT_ROWS", 3)
    rows = [[f"GX-N-{i}", "名", "boardwalk", "平湖公园"] for i in range(4)]

    response = await upload(alice, workbook(rows))

    assert response.status_code == 400
    assert 'id="file-error"' in response.text
    assert not await Asset.exists()


# --- the command line ------------------------------------------------------------------------


@pytest.mark.skipif(on_postgres(), reason="the subprocess test uses the test's SQLite file")
async def test_the_cli_imports_a_workbook_too(login, database_url, tmp_path):
    await make_register()
    alice = await login("alice")
    book = openpyxl.load_workbook(io.BytesIO((await alice.get("/assets/export.xlsx")).content))
    book.worksheets[1].append(["GX-TY-PH-002", "滑梯"])
    path = tmp_path / "register.xlsx"
    book.save(path)

    code, out, err = await run_cli(database_url, "import-assets", str(path))

    assert code == 0, err
    assert "assets: 0 created, 0 updated, 2 unchanged" in out
    assert "components: 1 created, 0 updated, 2 unchanged" in out
    assert await Component.exists().where(Component.name_zh == "滑梯")
