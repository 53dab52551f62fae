"""The reporter's tracking page (the secret link is the key: status, photos, a dated timeline)
and the "still broken?" follow-up a reporter may send once per repair.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from facilities.accounts import services as accounts
from facilities.audit.tables import AuditEvent
from facilities.closures import public as closures_public
from facilities.closures.public import PublicClosure
from facilities.errors import InvalidTransition, NotFound
from facilities.i18n import gettext as _
from facilities.records import loads, valid_id
from facilities.reports.choices import (
    TICKET_ACTION_STEPS,
    Category,
    Channel,
    ReportStatus,
    TimelineKind,
)
from facilities.reports.schemas import ReportIn, StillBrokenIn
from facilities.reports.services.facility_search import Facility, find_facility
from facilities.reports.services.public_state import (
    REPORT_PUBLIC_COLUMNS,
    PublicReport,
    _public,
    _ticket_states,
    _TicketState,
    public_report,
)
from facilities.reports.services.receiving import Submitted, submit_report
from facilities.reports.tables import ReportPhoto, ServiceRequest
from facilities.tickets.choices import FIXED_REASONS
from facilities.tickets.choices import Status as TicketStatus


async def _by_token(token: str) -> ServiceRequest | None:
    if not token or len(token) > 100:
        return None
    return (
        await ServiceRequest.objects()
        .where(ServiceRequest.token_hash == accounts.digest(token))
        .first()
    )


@dataclasses.dataclass(frozen=True)
class TrackedPhoto:
    """A photo the reporter sent, shown to them (through their secret link) as a thumbnail."""

    id: int
    has_thumbnail: bool


@dataclasses.dataclass(frozen=True)
class Step:
    """One dated step of the reporter's timeline; ``number`` names a follow-up report."""

    at: dt.datetime
    kind: TimelineKind
    number: int | None = None


@dataclasses.dataclass(frozen=True)
class Tracking:
    report: PublicReport
    facility: Facility | None
    closure: PublicClosure | None
    photo_count: int
    has_contact: bool
    follow_ups: list[PublicReport]
    can_say_still_broken: bool
    photos: list[TrackedPhoto] = dataclasses.field(default_factory=list)
    timeline: list[Step] = dataclasses.field(default_factory=list)


REVIEW_STEPS = {
    ReportStatus.TICKETED: TimelineKind.TICKETED,
    ReportStatus.MERGED: TimelineKind.MERGED,
    ReportStatus.REJECTED: TimelineKind.REJECTED,
    ReportStatus.NOT_OURS: TimelineKind.NOT_OURS,
}


async def _timeline(report: ServiceRequest, follow_ups: list[dict[str, Any]]) -> list[Step]:
    """What happened to the report, oldest first: received, reviewed (the triage decision), its
    ticket's public progress after that (read from the audit trail, never a staff note), and the
    reporter's follow-ups."""
    steps = [Step(report.requested_at, TimelineKind.RECEIVED)]
    if report.status == ReportStatus.COVERED:
        steps.append(Step(report.requested_at, TimelineKind.COVERED))
    if report.triaged_at and report.status in REVIEW_STEPS:
        steps.append(Step(report.triaged_at, REVIEW_STEPS[ReportStatus(report.status)]))
    if report.ticket and report.status in (ReportStatus.TICKETED, ReportStatus.MERGED):
        since = report.triaged_at or report.requested_at
        events = (
            await AuditEvent.select(AuditEvent.action, AuditEvent.at, AuditEvent.changes)
            .where(
                (AuditEvent.entity_type == "ticket")
                & (AuditEvent.entity_id == report.ticket)
                & AuditEvent.action.is_in(sorted(TICKET_ACTION_STEPS))
                & (AuditEvent.at >= since)
            )
            .order_by(AuditEvent.at)
            .order_by(AuditEvent.id)
            .limit(TIMELINE_LIMIT)
        )
        for event in events:
            kind = TICKET_ACTION_STEPS[event["action"]]
            if kind == TimelineKind.CLOSED:
                reason = ((loads(event["changes"]) or {}).get("closing_reason") or [None, None])[1]
                if reason in FIXED_REASONS:
                    kind = TimelineKind.FIXED
            steps.append(Step(event["at"], kind))
    steps.extend(Step(f["requested_at"], TimelineKind.FOLLOW_UP, f["id"]) for f in follow_ups)
    order = {kind: i for i, kind in enumerate(TimelineKind)}
    return sorted(steps, key=lambda s: (s.at, order[s.kind]))


#: Most ticket steps read for one timeline (a ticket moves a few dozen times at most).
TIMELINE_LIMIT = 200


async def _fixed_ticket(report: ServiceRequest) -> _TicketState | None:
    """The report's ticket when it was closed as repaired (the "still broken?" question)."""
    if report.status not in (ReportStatus.TICKETED, ReportStatus.MERGED) or not report.ticket:
        return None
    state = (await _ticket_states([report.ticket])).get(report.ticket)
    if state and state.status == TicketStatus.CLOSED and state.closing_reason in FIXED_REASONS:
        return state
    return None


async def _still_broken_allowed(report: ServiceRequest) -> bool:
    fixed = await _fixed_ticket(report)
    if fixed is None:
        return False
    since = fixed.closed_at or fixed.updated_at
    return not await ServiceRequest.exists().where(
        (ServiceRequest.follow_up_of == report.id) & (ServiceRequest.requested_at >= since)
    )


async def tracking(token: str, now: dt.datetime) -> Tracking:
    """What the reporter sees at their secret link; NotFound for any other token."""
    report = await _by_token(token)
    if report is None:
        raise NotFound(_("No report has this tracking link."))
    shown = await public_report(report.id, now)
    assert shown is not None
    follow_rows = (
        await ServiceRequest.select(*REPORT_PUBLIC_COLUMNS)
        .where(ServiceRequest.follow_up_of == report.id)
        .order_by(ServiceRequest.requested_at)
    )
    photos = (
        await ReportPhoto.select(ReportPhoto.id, ReportPhoto.thumbnail_key)
        .where(ReportPhoto.report == report.id)
        .order_by(ReportPhoto.id)
    )
    return Tracking(
        report=shown,
        facility=await find_facility(report.asset),
        closure=await closures_public.in_force_for_asset(report.asset, now),
        photo_count=len(photos),
        has_contact=bool(report.contact_email),  # updates come by e-mail only
        follow_ups=await _public(follow_rows, now),
        can_say_still_broken=await _still_broken_allowed(report),
        photos=[TrackedPhoto(p["id"], bool(p["thumbnail_key"])) for p in photos],
        timeline=await _timeline(report, follow_rows),
    )


async def tracked_photo(token: str, photo_id: int) -> ReportPhoto:
    """A photo of the report this tracking link belongs to (NotFound for any other photo: the
    link is the only key a citizen has)."""
    report = await _by_token(token)
    photo = (
        await ReportPhoto.objects()
        .where((ReportPhoto.id == photo_id) & (ReportPhoto.report == report.id))
        .first()
        if report is not None and valid_id(photo_id)
        else None
    )
    if photo is None:
        raise NotFound(_("No such file."))
    return photo


async def still_broken(
    token: str, data: StillBrokenIn, now: dt.datetime, *, media_root: Any, max_upload_bytes: int
) -> Submitted:
    """The reporter says a repair did not fix it: a follow-up report, linked to this one,
    goes back to triage (once per repair)."""
    report = await _by_token(token)
    if report is None:
        raise NotFound(_("No report has this tracking link."))
    if not await _still_broken_allowed(report):
        raise InvalidTransition(
            _("This report is not closed as repaired, or you have already told us.")
        )
    return await submit_report(
        ReportIn(
            asset_id=report.asset,
            category=Category(report.category),
            description=data.description.strip(),
            attributes=loads(report.attributes) or {},
            lat=report.lat,
            lng=report.lng,
            address_string=report.address_string,
            contact_name=report.contact_name,
            contact_email=report.contact_email,
            contact_phone=report.contact_phone,
            device_id=report.device_id,
            account_id=report.account_id,
            language=report.language,
        ),
        [],
        now,
        media_root=media_root,
        max_upload_bytes=max_upload_bytes,
        channel=Channel(report.channel),
        follow_up_of=report.id,
    )
