"""Report triage: converting a report into a ticket (every field and every photo kept, or
nothing at all), merging it into an open ticket, rejecting it with a public reason, passing it on
as not ours; one decision per report, and only triagers decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from PIL import Image

from facilities.audit.tables import AuditEvent
from facilities.errors import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from facilities.reports import services as reports
from facilities.reports.choices import Category, PublicStatus, ReportStatus, Stage
from facilities.reports.schemas import AnswerIn, ConvertIn, MergeIn
from facilities.tickets import services as tickets
from facilities.tickets.choices import PhotoTag, Priority, Source, Status
from facilities.tickets.tables import RepairTicket, TicketAttachment, TicketComment
from tests.kit.media import files_under, jpeg, jpeg_with_metadata
from tests.kit.reports import NEAR_BOARDWALK, make_boardwalk, make_report, report_row
from tests.kit.tickets import drive_to, make_ticket

# --- triage --------------------------------------------------------------------------------


async def test_converting_keeps_every_field_and_every_photo(app, personas, media_root, now):
    bob = personas["bob"]  # an inspector triages
    asset = await make_boardwalk()
    submitted = await make_report(
        asset,
        media_root=media_root,
        photos=(jpeg(colour="red"), jpeg_with_metadata((320, 240))),
        lat=NEAR_BOARDWALK[0],
        lng=NEAR_BOARDWALK[1],
        address_string="东入口 east entrance",
        attributes={"defect": "loose", "where": "第12块 plank 12"},
        contact_name="张三",
        contact_phone="+86 138 0000 0000",
    )
    report_id = submitted.report.id
    later = now + dt.timedelta(hours=3)

    ticket = await reports.convert_to_ticket(
        bob,
        report_id,
        ConvertIn(version=1, priority=Priority.P1),
        later,
        media_root=media_root,
        max_upload_bytes=2_000_000,
    )

    assert ticket.asset == asset.id
    assert ticket.source == Source.CITIZEN_REPORT
    assert ticket.priority == Priority.P1
    assert ticket.reporter_email == "citizen@example.org"
    assert ticket.created_by == bob.id
    assert "Deck damage" in ticket.title or "桥面" in ticket.title or "木" in ticket.title
    for text in (
        "a loose plank near the east entrance",
        f"{NEAR_BOARDWALK[0]}, {NEAR_BOARDWALK[1]}",
        "东入口 east entrance",
        "第12块 plank 12",
        "张三",
        "+86 138 0000 0000",
        str(report_id),
    ):
        assert text in ticket.description, text
    attachments = await TicketAttachment.objects().where(TicketAttachment.ticket == ticket.id)
    assert len(attachments) == 2
    assert {a.tag for a in attachments} == {PhotoTag.BEFORE}
    assert all(a.uploaded_by == bob.id for a in attachments)
    sizes = set()
    for a in attachments:
        raw = (media_root / a.storage_key).read_bytes()
        assert b"Exif" not in raw and b"PhoneMaker" not in raw
        with Image.open(media_root / a.storage_key) as image:
            sizes.add(image.size)
    assert sizes == {(64, 48), (320, 240)}
    report = await report_row(report_id)
    assert (report.status, report.ticket, report.triaged_by, report.triaged_at) == (
        ReportStatus.TICKETED,
        ticket.id,
        bob.id,
        later,
    )
    assert report.version == 2
    shown = await reports.public_report(report_id, later)
    assert (shown.stage, shown.status) == (Stage.INVESTIGATING, PublicStatus.OPEN)
    assert await AuditEvent.exists().where(
        (AuditEvent.action == "report.ticketed") & (AuditEvent.entity_id == report_id)
    )
    (linked,) = await reports.reports_for_ticket(bob, ticket.id)
    assert (linked["id"], linked["status"]) == (report_id, ReportStatus.TICKETED)


async def test_a_failed_conversion_leaves_no_ticket_and_no_files(
    app, personas, media_root, now, monkeypatch
):
    submitted = await make_report(media_root=media_root, photos=(jpeg(), jpeg(colour="blue")))
    files_before = files_under(media_root)
    calls = {"n": 0}
    original = tickets.add_attachment

    async def failing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return await original(*args, **kwargs)

    monkeypatch.setattr(tickets, "add_attachment", failing)
    with pytest.raises(OSError):
        await reports.convert_to_ticket(
            personas["alice"],
            submitted.report.id,
            ConvertIn(version=1),
            now,
            media_root=media_root,
            max_upload_bytes=2_000_000,
        )
    assert await RepairTicket.count() == 0
    assert await TicketAttachment.count() == 0
    assert files_under(media_root) == files_before
    assert (await report_row(submitted.report.id)).status == ReportStatus.NEW


async def test_two_people_cannot_both_decide_the_same_report(app, personas, media_root, now):
    submitted = await make_report(media_root=media_root)
    files = {"media_root": media_root, "max_upload_bytes": 2_000_000}
    await reports.convert_to_ticket(
        personas["alice"], submitted.report.id, ConvertIn(version=1), now, **files
    )
    with pytest.raises(InvalidTransition):
        await reports.convert_to_ticket(
            personas["bob"], submitted.report.id, ConvertIn(version=1), now, **files
        )
    with pytest.raises(InvalidTransition):
        await reports.reject_report(
            personas["bob"], submitted.report.id, AnswerIn(version=2, reason="x"), now
        )
    assert await RepairTicket.count() == 1
    other = await make_report(media_root=media_root)
    with pytest.raises(Conflict):
        await reports.reject_report(
            personas["bob"], other.report.id, AnswerIn(version=7, reason="x"), now
        )
    assert (await report_row(other.report.id)).status == ReportStatus.NEW


async def test_merging_into_an_open_ticket(app, personas, media_root, now):
    asset = await make_boardwalk()
    ticket = await make_ticket(personas["alice"], asset=asset, title="栈道木板更换")
    submitted = await make_report(asset, media_root=media_root, photos=(jpeg(),))

    merged = await reports.merge_into_ticket(
        personas["bob"],
        submitted.report.id,
        MergeIn(version=1, ticket_id=ticket.id),
        now,
        media_root=media_root,
        max_upload_bytes=2_000_000,
    )

    assert merged.id == ticket.id
    report = await report_row(submitted.report.id)
    assert (report.status, report.ticket) == (ReportStatus.MERGED, ticket.id)
    (comment,) = await TicketComment.objects().where(TicketComment.ticket == ticket.id)
    assert "a loose plank" in comment.body and comment.is_public is False
    assert await TicketAttachment.count().where(TicketAttachment.ticket == ticket.id) == 1
    assert await RepairTicket.count() == 1
    # the report's public status now follows that ticket
    await drive_to(ticket.id, Status.IN_PROGRESS, personas["alice"], now)
    assert (await reports.public_report(report.id, now)).stage == Stage.IN_PROGRESS


async def test_merging_needs_an_open_ticket(app, personas, media_root, now):
    asset = await make_boardwalk()
    finished = await make_ticket(personas["alice"], asset=asset)
    await drive_to(finished.id, Status.CANCELLED, personas["alice"], now)
    submitted = await make_report(asset, media_root=media_root)
    files = {"media_root": media_root, "max_upload_bytes": 2_000_000}
    for ticket_id in (finished.id, 999_999):
        with pytest.raises(ValidationFailed) as refused:
            await reports.merge_into_ticket(
                personas["alice"],
                submitted.report.id,
                MergeIn(version=1, ticket_id=ticket_id),
                now,
                **files,
            )
        assert set(refused.value.errors) == {"ticket_id"}
    assert (await report_row(submitted.report.id)).status == ReportStatus.NEW


async def test_rejecting_needs_a_public_reason_and_withholds_the_text(
    app, personas, media_root, now
):
    submitted = await make_report(media_root=media_root, description="骂人的话 abusive words")
    with pytest.raises(ValidationFailed) as refused:
        await reports.reject_report(
            personas["alice"], submitted.report.id, AnswerIn(version=1, reason="  "), now
        )
    assert set(refused.value.errors) == {"reason"}
    await reports.reject_report(
        personas["alice"],
        submitted.report.id,
        AnswerIn(version=1, reason="重复提交 / sent twice"),
        now,
    )
    shown = await reports.public_report(submitted.report.id, now)
    assert (shown.stage, shown.status) == (Stage.NO_FURTHER_ACTION, PublicStatus.CLOSED)
    assert shown.status_notes == "重复提交 / sent twice"
    assert shown.description == ""


async def test_not_our_responsibility(app, personas, media_root, now):
    submitted = await make_report(media_root=media_root, category=Category.LIGHTING)
    await reports.mark_not_ours(
        personas["bob"],
        submitted.report.id,
        AnswerIn(version=1, reason="路灯归供电公司 / the power company"),
        now,
    )
    shown = await reports.public_report(submitted.report.id, now)
    assert (shown.stage, shown.status) == (Stage.NOT_OURS, PublicStatus.CLOSED)
    assert "the power company" in shown.status_notes
    assert (await report_row(submitted.report.id)).status == ReportStatus.NOT_OURS


@pytest.mark.parametrize("username", ["carol", "dave"])
async def test_only_triagers_may_triage(app, personas, media_root, now, username):
    submitted = await make_report(media_root=media_root)
    actor = personas[username]
    files = {"media_root": media_root, "max_upload_bytes": 2_000_000}
    with pytest.raises(PermissionDenied):
        await reports.triage_queue(actor, now)
    with pytest.raises(PermissionDenied):
        await reports.convert_to_ticket(
            actor, submitted.report.id, ConvertIn(version=1), now, **files
        )
    with pytest.raises(PermissionDenied):
        await reports.reject_report(
            actor, submitted.report.id, AnswerIn(version=1, reason="x"), now
        )
    assert (await report_row(submitted.report.id)).status == ReportStatus.NEW
