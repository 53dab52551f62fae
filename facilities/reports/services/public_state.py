"""The public state of a report: what the public (Open311, the facility page, the tracking
page) may see of it, its stage derived from its own decision, its ticket or its closure (never
copied), and the public listings of reports.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from facilities.closures.choices import Status as ClosureStatus
from facilities.closures.tables import Closure
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.records import valid_id
from facilities.reports.choices import (
    OPEN_STAGES,
    TICKET_STAGES,
    PublicStatus,
    ReportStatus,
    Stage,
    is_value,
)
from facilities.reports.tables import ServiceRequest
from facilities.tickets.choices import FIXED_REASONS, ClosingReason
from facilities.tickets.choices import Status as TicketStatus
from facilities.tickets.tables import RepairTicket

#: Open311 date ranges may span at most this long (GeoReport v2).
MAX_RANGE = dt.timedelta(days=90)
#: Most requests in one Open311 answer.
LIST_LIMIT = 1000


@dataclasses.dataclass(frozen=True)
class PublicReport:
    """A report as the public (Open311, the facility page, the tracking page) may see it: no
    contact, no staff names, no ticket title; a rejected report's text is withheld."""

    id: int
    asset_id: int
    asset_code: str
    asset_name_zh: str
    asset_name_en: str
    category: str
    description: str
    lat: float | None
    lng: float | None
    address: str
    requested_at: dt.datetime
    updated_at: dt.datetime
    stage: Stage
    status_notes: str
    closure_id: int | None
    follow_up_of: int | None

    @property
    def status(self) -> PublicStatus:
        return PublicStatus.OPEN if self.stage in OPEN_STAGES else PublicStatus.CLOSED

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES


REPORT_PUBLIC_COLUMNS = (
    ServiceRequest.id,
    ServiceRequest.asset,
    ServiceRequest.category,
    ServiceRequest.description,
    ServiceRequest.lat,
    ServiceRequest.lng,
    ServiceRequest.address_string,
    ServiceRequest.status,
    ServiceRequest.public_reason,
    ServiceRequest.ticket,
    ServiceRequest.closure,
    ServiceRequest.follow_up_of,
    ServiceRequest.requested_at,
    ServiceRequest.updated_at,
    ServiceRequest.asset.code.as_alias("asset_code"),
    ServiceRequest.asset.name_zh.as_alias("asset_name_zh"),
    ServiceRequest.asset.name_en.as_alias("asset_name_en"),
    ServiceRequest.asset.lat.as_alias("asset_lat"),
    ServiceRequest.asset.lng.as_alias("asset_lng"),
)


@dataclasses.dataclass(frozen=True)
class _TicketState:
    status: str
    closing_reason: str | None
    updated_at: dt.datetime
    closed_at: dt.datetime | None


async def _ticket_states(ticket_ids: Iterable[int]) -> dict[int, _TicketState]:
    """Each ticket's state, a duplicate replaced by the ticket it duplicates (a few hops)."""
    wanted = {t for t in ticket_ids if t}
    states: dict[int, _TicketState] = {}
    duplicate_of: dict[int, int] = {}
    pending = set(wanted)
    for _hop in range(4):
        if not pending:
            break
        rows = await RepairTicket.select(
            RepairTicket.id,
            RepairTicket.status,
            RepairTicket.closing_reason,
            RepairTicket.updated_at,
            RepairTicket.closed_at,
            RepairTicket.duplicate_of,
        ).where(RepairTicket.id.is_in(sorted(pending)))
        pending = set()
        for r in rows:
            states[r["id"]] = _TicketState(
                r["status"], r["closing_reason"], r["updated_at"], r["closed_at"]
            )
            if r["status"] == TicketStatus.DUPLICATE and r["duplicate_of"]:
                duplicate_of[r["id"]] = r["duplicate_of"]
                if r["duplicate_of"] not in states:
                    pending.add(r["duplicate_of"])
    result = {}
    for ticket_id in wanted:
        current, seen = ticket_id, set()
        while current in duplicate_of and current not in seen and duplicate_of[current] in states:
            seen.add(current)
            current = duplicate_of[current]
        if current in states:
            result[ticket_id] = states[current]
    return result


async def _closure_states(closure_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    ids = sorted({c for c in closure_ids if c})
    if not ids:
        return {}
    rows = await Closure.select(
        Closure.id, Closure.status, Closure.reopens_at, Closure.updated_at
    ).where(Closure.id.is_in(ids))
    return {r["id"]: r for r in rows}


def stage_of(
    status: str,
    public_reason: str,
    ticket: _TicketState | None,
    closure: dict[str, Any] | None,
    now: dt.datetime,
) -> tuple[Stage, str]:
    """The public stage and status notes of a report: its own decision, or its ticket's, or
    its closure's. The notes are translated in the current language."""
    reason = public_reason.strip()
    if status == ReportStatus.REJECTED:
        return Stage.NO_FURTHER_ACTION, reason or _("This report was not accepted.")
    if status == ReportStatus.NOT_OURS:
        base = _("This is not the responsibility of the construction bureau.")
        return Stage.NOT_OURS, f"{base} {reason}" if reason else base
    if status == ReportStatus.COVERED and closure is not None:
        reopens_at = closure["reopens_at"]
        if closure["status"] == ClosureStatus.CANCELLED:
            return Stage.CLOSED, _("The closure of this facility was cancelled.")
        if closure["status"] == ClosureStatus.LIFTED and reopens_at and reopens_at <= now:
            return Stage.CLOSED, _("The repair is finished and the facility has reopened.")
        return Stage.CLOSURE, _(
            "This facility is already closed for repair; your report was added to the closure "
            "and no separate ticket was opened."
        )
    if status in (ReportStatus.TICKETED, ReportStatus.MERGED) and ticket is not None:
        stage = TICKET_STAGES.get(ticket.status, Stage.INVESTIGATING)
        if ticket.status == TicketStatus.CLOSED:
            if ticket.closing_reason in FIXED_REASONS:
                stage = Stage.FIXED
            reason = ticket.closing_reason or ""
            reason_label = ClosingReason(reason).label if is_value(ClosingReason, reason) else ""
            return stage, reason_label or Stage.CLOSED.label
        if ticket.status in (TicketStatus.REJECTED, TicketStatus.CANCELLED):
            return stage, _("No repair is planned for this report.")
        return stage, ""
    return Stage.RECEIVED, ""


async def _public(rows: list[dict[str, Any]], now: dt.datetime) -> list[PublicReport]:
    ticket_states = await _ticket_states(r["ticket"] for r in rows)
    closure_states = await _closure_states(r["closure"] for r in rows)
    result = []
    for r in rows:
        ticket = ticket_states.get(r["ticket"]) if r["ticket"] else None
        closure = closure_states.get(r["closure"]) if r["closure"] else None
        stage, notes = stage_of(r["status"], r["public_reason"], ticket, closure, now)
        updated = max(
            [r["updated_at"]]
            + ([ticket.updated_at] if ticket else [])
            + ([closure["updated_at"]] if closure else [])
        )
        result.append(
            PublicReport(
                id=r["id"],
                asset_id=r["asset"],
                asset_code=r["asset_code"],
                asset_name_zh=r["asset_name_zh"],
                asset_name_en=r["asset_name_en"],
                category=r["category"],
                description="" if r["status"] == ReportStatus.REJECTED else r["description"],
                # where the reporter stood, else where the facility is (public either way)
                lat=r["lat"] if r["lat"] is not None else r["asset_lat"],
                lng=r["lng"] if r["lat"] is not None else r["asset_lng"],
                address=r["address_string"],
                requested_at=r["requested_at"],
                updated_at=updated,
                stage=stage,
                status_notes=notes,
                closure_id=r["closure"],
                follow_up_of=r["follow_up_of"],
            )
        )
    return result


async def public_report(report_id: int, now: dt.datetime) -> PublicReport | None:
    if not valid_id(report_id):
        return None
    rows = await ServiceRequest.select(*REPORT_PUBLIC_COLUMNS).where(ServiceRequest.id == report_id)
    found = await _public(rows, now)
    return found[0] if found else None


async def public_reports(
    now: dt.datetime,
    *,
    ids: Sequence[int] = (),
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    categories: Sequence[str] = (),
    statuses: Sequence[str] = (),
    limit: int = LIST_LIMIT,
) -> list[PublicReport]:
    """Reports for Open311 listings, newest first: by ids, or requested within [start, end]
    (at most MAX_RANGE apart), of some categories, filtered by public status."""
    if ids:
        valid = sorted({i for i in ids if valid_id(i)})
        rows = await ServiceRequest.select(*REPORT_PUBLIC_COLUMNS).where(
            ServiceRequest.id.is_in(valid or [0])
        )
        rows.sort(key=lambda r: r["requested_at"], reverse=True)
        return await _public(rows, now)
    end = end or now
    start = start or end - MAX_RANGE
    if end < start:
        raise ValidationFailed({"end_date": _("end_date is before start_date.")})
    if end - start > MAX_RANGE:
        raise ValidationFailed(
            {"end_date": _("start_date and end_date may be at most 90 days apart.")}
        )
    query = ServiceRequest.select(*REPORT_PUBLIC_COLUMNS).where(
        (ServiceRequest.requested_at >= start) & (ServiceRequest.requested_at <= end)
    )
    if categories:
        query = query.where(ServiceRequest.category.is_in(list(categories)))
    rows = await query.order_by(ServiceRequest.requested_at, ascending=False).limit(limit * 3)
    found = await _public(rows, now)
    if statuses:
        found = [r for r in found if r.status in statuses]
    return found[:limit]


async def open_reports_for(asset_id: int, now: dt.datetime, limit: int = 20) -> list[PublicReport]:
    """Open reports on one facility (shown before a citizen reports it again)."""
    rows = (
        await ServiceRequest.select(*REPORT_PUBLIC_COLUMNS)
        .where(
            (ServiceRequest.asset == asset_id)
            & ServiceRequest.status.is_in(
                [ReportStatus.NEW, ReportStatus.TICKETED, ReportStatus.MERGED, ReportStatus.COVERED]
            )
        )
        .order_by(ServiceRequest.requested_at, ascending=False)
        .limit(limit * 5)
    )
    return [r for r in await _public(rows, now) if r.is_open][:limit]
