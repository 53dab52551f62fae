"""Triage (staff), deciding: convert a report to a repair ticket (photos copied, reporter
e-mail carried), merge it into an open ticket, reject it with a public reason, or mark it not
our responsibility. Each decision is taken exactly once (a conditional update on status and
version) and audited.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.audit import services as audit
from facilities.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib import media
from facilities.records import claim
from facilities.reports.choices import TRIAGEABLE, Category, Channel, ReportStatus, attributes_for
from facilities.reports.schemas import AnswerIn, ConvertIn, MergeIn
from facilities.reports.services.receiving import _snapshot
from facilities.reports.services.reporter_mail import mail_reporter
from facilities.reports.services.triage import ReportRow, _rows, find_report
from facilities.reports.tables import ReportPhoto, ServiceRequest
from facilities.tickets import services as tickets
from facilities.tickets.choices import FINAL_STATUSES, PhotoTag, Source
from facilities.tickets.schemas import CommentIn, TicketIn
from facilities.tickets.tables import RepairTicket

log = logging.getLogger(__name__)

BUREAU_ZONE = ZoneInfo("Asia/Shanghai")


async def _claim(
    actor: Actor,
    report_id: int,
    version: int,
    status: ReportStatus,
    now: dt.datetime,
    *,
    ticket_id: int | None = None,
    public_reason: str = "",
) -> ServiceRequest:
    """Move a report out of triage exactly once: a conditional update on status and version,
    so two people deciding at once cannot both win (the second gets a Conflict)."""
    report = await find_report(report_id)
    if report is None:
        raise NotFound(_("No such report."))
    if report.status not in TRIAGEABLE:
        raise InvalidTransition(_("This report has already been dealt with."))
    if report.version != version:
        raise Conflict(_("Someone else changed this report first. Reload it and try again."))
    changed = await claim(
        ServiceRequest,
        (ServiceRequest.id == report.id)
        & (ServiceRequest.version == version)
        & ServiceRequest.status.is_in(sorted(TRIAGEABLE)),
        {
            ServiceRequest.status: status,
            ServiceRequest.ticket: ticket_id,
            ServiceRequest.public_reason: public_reason,
            ServiceRequest.triaged_at: now,
            ServiceRequest.triaged_by: actor.id,
            ServiceRequest.updated_at: now,
            ServiceRequest.version: version + 1,
        },
        ServiceRequest.id,
    )
    if not changed:
        raise Conflict(_("Someone else changed this report first. Reload it and try again."))
    updated = await find_report(report.id)
    assert updated is not None
    await audit.record(
        actor,
        f"report.{status.value}",
        "service_request",
        report.id,
        now,
        _snapshot(report),
        _snapshot(updated),
    )
    return updated


def _local_name(zh: str, en: str) -> str:
    from facilities import i18n

    return en if i18n.current_locale() == "en" and en else zh


def ticket_description(report: ServiceRequest, row: ReportRow, zone: ZoneInfo = BUREAU_ZONE) -> str:
    """Everything the report says, for the ticket (staff only: the contact is included)."""
    lines = [report.description.strip() or _("(no description)"), "", "—"]
    lines.append(
        _("Citizen report No. %(id)s, received %(at)s")
        % {
            "id": report.id,
            "at": report.requested_at.astimezone(zone).isoformat(sep=" ", timespec="minutes"),
        }
    )
    lines.append(_("Category: %(category)s") % {"category": Category(report.category).label})
    for attribute in attributes_for(report.category):
        value = row.attributes.get(attribute.code)
        if value:
            names = dict(attribute.values)
            shown = _(names[value]) if value in names else value
            lines.append(f"{_(attribute.description)} {shown}")
    if report.lat is not None and report.lng is not None:
        lines.append(_("Location: %(lat)s, %(lng)s") % {"lat": report.lat, "lng": report.lng})
    if report.address_string:
        lines.append(_("Address: %(address)s") % {"address": report.address_string})
    channel = Channel(report.channel).label
    if row.client_name:
        channel = f"{channel} ({row.client_name})"
    lines.append(_("Received through: %(channel)s") % {"channel": channel})
    if report.follow_up_of:
        lines.append(
            _("Follow-up of report No. %(id)s: the reporter says it is still broken.")
            % {"id": report.follow_up_of}
        )
    if report.same_as:
        lines.append(
            _("Same problem as report No. %(id)s, the reporter says.") % {"id": report.same_as}
        )
    contact = ", ".join(
        v for v in (report.contact_name, report.contact_email, report.contact_phone) if v
    )
    if contact:
        lines.append(_("Reporter (never public): %(contact)s") % {"contact": contact})
    return "\n".join(lines)[:8000]


async def _copy_photos(
    actor: Actor,
    ticket_id: int,
    report: ServiceRequest,
    media_root: Any,
    max_bytes: int,
    now: dt.datetime,
    created: list[Any],
) -> None:
    caption = _("Citizen photo, report No. %(id)s") % {"id": report.id}
    for photo in (
        await ReportPhoto.objects().where(ReportPhoto.report == report.id).order_by(ReportPhoto.id)
    ):
        try:
            data = media.resolve(media_root, photo.storage_key).read_bytes()
        except OSError:
            log.warning("report %s: photo %s is missing on disk", report.id, photo.storage_key)
            continue
        attachment = await tickets.add_attachment(
            actor,
            ticket_id,
            data,
            photo.filename,
            PhotoTag.BEFORE,
            caption,
            media_root,
            max(max_bytes, len(data)),
            now,
            max_pixels=media.PIXEL_CEILING,  # vetted when the citizen sent it
        )
        created.append(attachment)


async def convert_to_ticket(
    actor: Actor,
    report_id: int,
    data: ConvertIn,
    now: dt.datetime,
    *,
    media_root: Any,
    max_upload_bytes: int,
    zone: ZoneInfo = BUREAU_ZONE,
) -> RepairTicket:
    """Open a repair ticket from the report: its text, category, location and contact in the
    description, its photos attached, the reporter's e-mail as the ticket's reporter."""
    require(actor, Perm.REPORTS_TRIAGE)
    require(actor, Perm.TICKETS_CREATE)
    created: list[Any] = []
    try:
        async with db.transaction():
            report = await find_report(report_id)
            if report is None:
                raise NotFound(_("No such report."))
            if report.status not in TRIAGEABLE:
                raise InvalidTransition(_("This report has already been dealt with."))
            (row,) = await _rows([report], now, False)
            title = data.title.strip() or (
                f"{Category(report.category).label} · "
                f"{_local_name(row.asset_name_zh, row.asset_name_en)}"
            )
            ticket = await tickets.open_ticket(
                actor,
                TicketIn(
                    asset_id=report.asset,
                    title=title[:200],
                    description=ticket_description(report, row, zone),
                    source=Source.CITIZEN_REPORT,
                    priority=data.priority,
                    work_class=data.work_class,
                    reporter_email=report.contact_email,
                ),
                now,
            )
            claimed = await _claim(
                actor, report.id, data.version, ReportStatus.TICKETED, now, ticket_id=ticket.id
            )
            await mail_reporter(claimed, "ticketed", now, ticket_id=ticket.id, merged=False)
            await _copy_photos(actor, ticket.id, report, media_root, max_upload_bytes, now, created)
    except BaseException:
        for attachment in created:
            media.remove(media_root, attachment.storage_key, attachment.thumbnail_key)
        raise
    return ticket


async def merge_into_ticket(
    actor: Actor,
    report_id: int,
    data: MergeIn,
    now: dt.datetime,
    *,
    media_root: Any,
    max_upload_bytes: int,
    zone: ZoneInfo = BUREAU_ZONE,
) -> RepairTicket:
    """The report joins an open ticket: its photos are attached there and its text recorded
    as an internal comment; its public status follows that ticket from now on."""
    require(actor, Perm.REPORTS_TRIAGE)
    require(actor, Perm.TICKETS_WORK)
    created: list[Any] = []
    try:
        async with db.transaction():
            ticket = await tickets.find_ticket(data.ticket_id)
            if ticket is None:
                raise ValidationFailed({"ticket_id": _("No ticket has this number.")})
            if ticket.status in FINAL_STATUSES:
                raise ValidationFailed(
                    {"ticket_id": _("That ticket is finished; choose an open one.")}
                )
            report = await find_report(report_id)
            if report is None:
                raise NotFound(_("No such report."))
            (row,) = await _rows([report], now, False)
            claimed = await _claim(
                actor, report.id, data.version, ReportStatus.MERGED, now, ticket_id=ticket.id
            )
            await mail_reporter(claimed, "ticketed", now, ticket_id=ticket.id, merged=True)
            await tickets.add_comment(
                actor,
                ticket.id,
                CommentIn(body=ticket_description(report, row, zone)[:4000], is_public=False),
                now,
            )
            await _copy_photos(actor, ticket.id, report, media_root, max_upload_bytes, now, created)
    except BaseException:
        for attachment in created:
            media.remove(media_root, attachment.storage_key, attachment.thumbnail_key)
        raise
    return ticket


async def reject_report(
    actor: Actor, report_id: int, data: AnswerIn, now: dt.datetime
) -> ServiceRequest:
    """Close the report without work; the reason is public (its text is then withheld)."""
    require(actor, Perm.REPORTS_TRIAGE)
    reason = data.reason.strip()
    if not reason:
        raise ValidationFailed({"reason": _("Say why, in words the reporter will read.")})
    async with db.transaction():
        return await _claim(
            actor, report_id, data.version, ReportStatus.REJECTED, now, public_reason=reason
        )


async def mark_not_ours(
    actor: Actor, report_id: int, data: AnswerIn, now: dt.datetime
) -> ServiceRequest:
    """Close the report as someone else's responsibility (the reason may say whose)."""
    require(actor, Perm.REPORTS_TRIAGE)
    async with db.transaction():
        return await _claim(
            actor,
            report_id,
            data.version,
            ReportStatus.NOT_OURS,
            now,
            public_reason=data.reason.strip(),
        )
