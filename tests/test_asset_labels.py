"""QR labels for a site's assets (``/sites/{id}/labels.pdf``) and where a scanned label leads
(``/q/{code}``): one QR per asset, decoding (zbar) to its ``/q/`` address; staff land on the
asset's page, which offers to start an inspection, and citizens on the report form with the
facility already chosen; an unknown code is a 404."""

from __future__ import annotations

import io

import pypdf
import pypdfium2
from pyzbar import pyzbar

from tests.kit.assets import make_asset, make_site

BASE = "http://127.0.0.1:8000"


def qr_codes(body: bytes) -> list[str]:
    """Every QR code on every page (at 216 DPI), in no particular order."""
    found = []
    document = pypdfium2.PdfDocument(body)
    for index in range(len(document)):
        image = document[index].render(scale=3).to_pil().convert("L")
        found.extend(code.data.decode() for code in pyzbar.decode(image))
    return found


async def test_a_sheet_has_one_label_per_asset_of_the_site(login, anon):
    site = await make_site("雁鸣公园", name_en="Yanming Park")
    other = await make_site("石鼓公园")
    codes = ["YM-QL-001", "YM-QL-002", "YM-BD-003"]
    made = [
        await make_asset(site, code=code, name_zh=f"雁鸣桥{number}", name_en=f"Yanming {number}")
        for number, code in enumerate(codes)
    ]
    await make_asset(other, code="SG-QL-001")

    response = await (await login("dave")).get(f"/sites/{site.id}/labels.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    decoded = sorted(qr_codes(response.content))
    assert decoded == [f"{BASE}/q/{code}" for code in sorted(codes)]
    scanned = await anon.get(decoded[0].removeprefix(BASE))  # a citizen scans YM-BD-003
    assert scanned.headers["location"] == f"/report?asset={made[2].id}"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.content)).pages)
    assert "YM-QL-001" in text and "雁鸣桥0" in text and "Yanming 2" in text
    assert "SG-QL-001" not in text
    page = pypdf.PdfReader(io.BytesIO(response.content)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)


async def test_more_assets_than_a_sheet_holds_go_on_to_a_second_sheet(login):
    site = await make_site("长湖公园")
    for number in range(25):
        await make_asset(site, code=f"CH-{number:03d}")
    response = await (await login("alice")).get(f"/sites/{site.id}/labels.pdf")
    assert len(pypdf.PdfReader(io.BytesIO(response.content)).pages) == 2
    assert len(qr_codes(response.content)) == 25


async def test_labels_of_an_unknown_site_are_a_404(login):
    response = await (await login("dave")).get("/sites/999999/labels.pdf")
    assert response.status_code == 404


async def test_a_scan_sends_staff_to_the_asset_and_citizens_to_report_there(anon, login):
    asset = await make_asset(code="GX-QL-PH-001")
    citizen = await anon.get("/q/GX-QL-PH-001")
    assert citizen.status_code == 303
    assert citizen.headers["location"] == f"/report?asset={asset.id}"
    assert "no-store" in citizen.headers["cache-control"]
    report = await anon.get(citizen.headers["location"])
    assert report.status_code == 200 and "测试人行桥" in report.text

    inspector = await login("bob")
    staff = await inspector.get("/q/GX-QL-PH-001")
    assert staff.status_code == 303
    assert staff.headers["location"] == f"/assets/{asset.id}"
    page = await inspector.get(staff.headers["location"])
    assert f'href="/inspections/new?asset={asset.id}"' in page.text

    viewer = await (await login("dave")).get(f"/assets/{asset.id}")
    assert "/inspections/new?asset=" not in viewer.text  # a viewer plans no inspections


async def test_an_unknown_code_is_a_404_page(anon):
    response = await anon.get("/q/NO-SUCH-CODE")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert (await anon.get("/q/" + "X" * 300)).status_code == 404
