"""The inspection report (issue 18, item 2): a PDF in the CJJ 99 shape, filed once when the
inspection is finalised (content-addressed under the media folder, its SHA-256 recorded and
audited), served as filed, and verified: a changed file is tampering, a re-render that differs
means the record or the templates changed, and the filed report is never replaced."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json

import pytest
from pypdf import PdfReader

from facilities.accounts.permissions import SYSTEM
from facilities.audit.tables import AuditEvent
from facilities.i18n import use_locale
from facilities.inspections import report_pdf
from facilities.inspections import services as inspections
from facilities.inspections.choices import Recommendation, Urgency
from facilities.inspections.schemas import FindingIn
from facilities.inspections.services import report_archive
from facilities.inspections.tables import Finding, Inspection, InspectionReport
from facilities.lib import media
from tests.kit.assets import make_asset, make_component
from tests.kit.clients import post_form
from tests.kit.inspections import finalise, footbridge, graded, plan, record, scores_for, submit
from tests.kit.media import jpeg, png

pytestmark = pytest.mark.usefixtures("seeded_policy")

CRACK = "主缆局部锈蚀，需除锈涂油 / local rust on the main cable"


def pdf_text(data: bytes) -> tuple[str, int]:
    """The text of every page, and the page count."""
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages), len(reader.pages)


def flat(text: str) -> str:
    """Text without the spaces and line breaks a PDF layout puts inside words."""
    return "".join(text.split())


async def filed_inspection(personas, now, media_root, scores=(72, 68, 85)) -> Inspection:
    asset, parts = await footbridge()
    final = await graded(
        personas,
        asset,
        now,
        media_root,
        scores_for(parts, *scores),
        findings=[
            FindingIn(description=CRACK, urgency=Urgency.MEDIUM, component_id=parts["cable"].id)
        ],
    )
    final.asset_code = asset.code  # type: ignore[attr-defined]
    return final


async def stored(media_root, filed: InspectionReport) -> bytes:
    return media.resolve(media_root, filed.storage_key).read_bytes()


async def test_the_report_shows_the_facts_scores_grade_people_and_page_numbers(
    personas, now, media_root
):
    final = await filed_inspection(personas, now, media_root)
    filed = await inspections.filed_report(SYSTEM, final.id)
    assert filed is not None
    text, pages = pdf_text(await stored(media_root, filed))
    words = flat(text)
    assert final.asset_code in words
    assert f"BCI{final.bci:.1f}" in words and final.grade == "C"
    assert f"{report_pdf.in_both('Grade')[1]}C" in words  # "Grade C" beside the BCI
    for name, score in (("木桥面板", "72"), ("主缆", "68"), ("桥台", "85")):
        assert name in words and score in words
    assert "0.45" in words and "0.15" in words and "0.40" in words  # the group weights
    zh, en = report_pdf.choice_pair(Recommendation.NONE, Recommendation)
    assert flat(zh) in words and flat(en) in words
    assert "Bob" in words and "Alice" in words  # the inspector and the reviewer who signed
    assert flat(CRACK) in words
    assert "grade_c" in words  # the rule that fired (grade C: a repair ticket)
    assert f"1/{pages}" in words and f"{pages}/{pages}" in words


async def test_component_shares_weigh_as_the_bci_does(personas, now, media_root):
    """The report's per-component weights, applied to the scores, give the stored BCI."""
    asset, parts = await footbridge()
    extra = await make_component(asset, "吊杆", group="superstructure")
    scores = {**scores_for(parts, 72, 68, 85), extra.id: 90}
    final = await graded(personas, asset, now, media_root, scores)
    shares = report_pdf.component_weights(
        [(p.id, p.group) for p in (parts["deck"], parts["cable"], parts["abutment"], extra)]
    )
    assert sum(shares.values()) == pytest.approx(1.0)
    assert round(sum(shares[c] * s for c, s in scores.items()), 1) == final.bci


async def test_finalising_files_the_report_once_with_its_hash_in_the_audit(
    personas, now, media_root
):
    final = await filed_inspection(personas, now, media_root)
    filed = await inspections.filed_report(SYSTEM, final.id)
    data = await stored(media_root, filed)
    assert filed.sha256 == hashlib.sha256(data).hexdigest() and filed.size == len(data)
    assert filed.storage_key == f"inspection-reports/{filed.sha256[:2]}/{filed.sha256}.pdf"
    events = await AuditEvent.select().where(AuditEvent.action == "inspection.report_archived")
    assert len(events) == 1 and events[0]["entity_id"] == final.id
    assert filed.sha256 in json.dumps(events[0]["changes"])

    again = await inspections.archive_report(personas["alice"], final.id, media_root, now)
    assert again.id == filed.id and again.sha256 == filed.sha256
    assert await InspectionReport.count() == 1
    assert await AuditEvent.count().where(AuditEvent.action == "inspection.report_archived") == 1
    assert len(list((media_root / "inspection-reports").rglob("*.pdf"))) == 1


async def test_a_failed_render_leaves_the_inspection_final_and_staff_file_it_later(
    personas, now, media_root, login, monkeypatch
):
    async def broken(view):
        raise RuntimeError("no fonts on this machine")

    monkeypatch.setattr(report_archive, "report_pdf", broken)
    final = await filed_inspection(personas, now, media_root)
    assert final.state == "final"
    assert await inspections.filed_report(SYSTEM, final.id) is None
    failed = await AuditEvent.select().where(AuditEvent.action == "inspection.report_failed")
    assert len(failed) == 1 and "no fonts" in json.dumps(failed[0]["changes"])

    monkeypatch.undo()
    alice = await login("alice")
    page = await alice.get(f"/inspections/{final.id}/report")
    assert page.status_code == 200 and f'action="/inspections/{final.id}/report"' in page.text
    assert (await alice.get(f"/inspections/{final.id}/report.pdf")).status_code == 404
    answer = await post_form(alice, f"/inspections/{final.id}/report", {})
    assert answer.status_code == 303
    filed = await inspections.filed_report(SYSTEM, final.id)
    assert filed is not None and filed.rendered_by == personas["alice"].id


async def test_the_served_pdf_is_the_filed_bytes_with_its_hash_as_etag(
    personas, now, media_root, login
):
    final = await filed_inspection(personas, now, media_root)
    filed = await inspections.filed_report(SYSTEM, final.id)
    dave = await login("dave")  # a viewer may read the report
    served = await dave.get(f"/inspections/{final.id}/report.pdf")
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["etag"] == f'"{filed.sha256}"'
    assert f'filename="inspection-{final.id}.pdf"' in served.headers["content-disposition"]
    assert served.content == await stored(media_root, filed)
    again = await dave.get(
        f"/inspections/{final.id}/report.pdf", headers={"If-None-Match": f'"{filed.sha256}"'}
    )
    assert again.status_code == 304 and again.content == b""


async def test_a_changed_finding_makes_the_re_render_differ_and_the_filed_report_stands(
    personas, now, media_root, login
):
    final = await filed_inspection(personas, now, media_root)
    filed = await inspections.filed_report(SYSTEM, final.id)
    assert (await inspections.verify_report(SYSTEM, final.id, media_root)).status == "ok"

    await Finding.update({Finding.description: "桥面板已更换 / rewritten after filing"}).where(
        Finding.inspection == final.id
    )
    check = await inspections.verify_report(SYSTEM, final.id, media_root)
    assert check.status == "differs" and not check.ok
    assert check.file_sha256 == check.recorded_sha256 == filed.sha256
    assert check.rerendered_sha256 != filed.sha256
    with use_locale("en"):
        assert "differs from the filed one" in check.message

    alice = await login("alice")
    served = await alice.get(f"/inspections/{final.id}/report.pdf")
    assert hashlib.sha256(served.content).hexdigest() == filed.sha256
    assert flat(CRACK) in flat(pdf_text(served.content)[0])  # the words as filed
    page = await alice.get(f"/inspections/{final.id}/report")
    assert "verification-differs" in page.text and filed.sha256 in page.text
    assert (await inspections.filed_report(SYSTEM, final.id)).sha256 == filed.sha256


async def test_a_tampered_file_is_detected_and_not_served(personas, now, media_root, login):
    final = await filed_inspection(personas, now, media_root)
    filed = await inspections.filed_report(SYSTEM, final.id)
    path = media.resolve(media_root, filed.storage_key)
    path.write_bytes(path.read_bytes() + b"\n% a line added after filing\n")

    check = await inspections.verify_report(SYSTEM, final.id, media_root)
    assert check.status == "tampered"
    assert check.file_sha256 != check.recorded_sha256 == filed.sha256
    alice = await login("alice")
    assert (await alice.get(f"/inspections/{final.id}/report.pdf")).status_code == 409
    page = await alice.get(f"/inspections/{final.id}/report")
    assert "verification-tampered" in page.text

    path.unlink()
    assert (await inspections.verify_report(SYSTEM, final.id, media_root)).status == "missing"


async def test_a_draft_gets_a_preview_marked_draft_and_nothing_is_filed(
    personas, now, media_root, login
):
    asset, parts = await footbridge()
    inspection = await plan(personas["alice"], asset, now)
    await record(personas["bob"], inspection, now, scores_for(parts, 90, 90, 90))
    bob = await login("bob")
    served = await bob.get(f"/inspections/{inspection.id}/report.pdf")
    assert served.status_code == 200 and served.headers["cache-control"] == "no-store"
    assert "etag" not in served.headers
    words = flat(pdf_text(served.content)[0])
    assert "DRAFT" in words and asset.code in words
    assert await InspectionReport.count() == 0
    refused = await inspections.verify_report(SYSTEM, inspection.id, media_root)
    assert refused.status == "not_filed"


async def test_a_seventeen_component_inspection_with_photos_renders(
    personas, now, media_root, settings
):
    asset = await make_asset(code="GX-QL-PH-017")
    groups = ["deck_system", "superstructure", "substructure"]
    components = [
        await make_component(asset, f"构件{n:02d}", group=groups[n % 3]) for n in range(17)
    ]
    inspection = await plan(personas["alice"], asset, now)
    await record(personas["bob"], inspection, now, {c.id: 60 + n for n, c in enumerate(components)})
    photos = 0
    for n, component in enumerate(components[:4]):
        finding = await inspections.add_finding(
            personas["bob"],
            inspection.id,
            FindingIn(description=f"病害{n}", component_id=component.id),
            now,
        )
        for picture in (png((30 * n, 90, 160)), jpeg(colour=f"#{40 * n:02x}4080")):
            await inspections.add_photo(
                personas["bob"],
                inspection.id,
                picture,
                finding.id,
                f"照片{n}",
                media_root,
                settings.max_upload_bytes,
                now,
            )
            photos += 1
    await submit(personas["bob"], inspection, now)
    final = await finalise(personas["alice"], inspection, now + dt.timedelta(hours=1), media_root)
    filed = await inspections.filed_report(SYSTEM, final.id)
    assert filed is not None
    data = await stored(media_root, filed)
    text, pages = pdf_text(data)
    words = flat(text)
    assert all(f"构件{n:02d}" in words for n in range(17))
    assert f"1/{pages}" in words
    embedded = {
        hashlib.sha256(image.data).hexdigest()
        for page in PdfReader(io.BytesIO(data)).pages
        for image in page.images
    }
    assert len(embedded) == photos  # every photo, each once
