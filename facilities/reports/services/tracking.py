"""The reporter's tracking page (the secret link is the key) and the "still broken?" follow-up
a reporter may send once per repair.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from facilities.accounts import services as accounts
from facilities.closures import public as closures_public
from facilities.closures.public import PublicClosure
from facilities.errors import InvalidTransition, NotFound
from facilities.i18n import gettext as _
from facilities.records import loads
from facilities.reports.choices import Category, Channel, ReportStatus
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
class Tracking:
    report: PublicReport
    facility: Facility | None
    closure: PublicClosure | None
    photo_count: int
    has_contact: bool
    follow_ups: list[PublicReport]
    can_say_still_broken: bool


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
    return Tracking(
        report=shown,
        facility=await find_facility(report.asset),
        closure=await closures_public.in_force_for_asset(report.asset, now),
        photo_count=await ReportPhoto.count().where(ReportPhoto.report == report.id),
        has_contact=bool(report.contact_email or report.contact_phone),
        follow_ups=await _public(follow_rows, now),
        can_say_still_broken=await _still_broken_allowed(report),
    )


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
