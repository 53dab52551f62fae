"""servicerequestupdates (mySociety's Open311 extension): every public change of any report in
a window, read from the audit trail (triage decisions, their tickets' progress, the reopening
of the facility closed under them), so nothing is stored twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from facilities.audit.tables import AuditEvent
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.records import loads
from facilities.reports.choices import TICKET_STAGES, ReportStatus, Stage, is_value
from facilities.reports.services.public_state import LIST_LIMIT, MAX_RANGE
from facilities.reports.tables import ServiceRequest
from facilities.tickets.choices import FIXED_REASONS, ClosingReason
from facilities.tickets.choices import Status as TicketStatus


@dataclasses.dataclass(frozen=True)
class RequestUpdate:
    update_id: str
    service_request_id: int
    status: Stage
    updated_at: dt.datetime
    description: str


REPORT_EVENT_STAGES = {
    "report.ticketed": Stage.INVESTIGATING,
    "report.merged": Stage.INVESTIGATING,
    "report.rejected": Stage.NO_FURTHER_ACTION,
    "report.not_ours": Stage.NOT_OURS,
}
TICKET_ACTIONS = (
    "ticket.triage",
    "ticket.schedule",
    "ticket.start",
    "ticket.complete",
    "ticket.accept",
    "ticket.rework",
    "ticket.close",
    "ticket.hold",
    "ticket.resume",
    "ticket.reject",
    "ticket.mark_duplicate",
    "ticket.cancel",
)


async def request_updates(
    start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime, limit: int = LIST_LIMIT
) -> list[RequestUpdate]:
    """Every public change of any report within [start, end], oldest first: triage decisions,
    the progress of their tickets, the reopening of the facility closed under them. Read from
    the audit trail, so nothing is stored twice."""
    end = end or now
    start = start or end - MAX_RANGE
    if end < start:
        raise ValidationFailed({"end_date": _("end_date is before start_date.")})
    if end - start > MAX_RANGE:
        raise ValidationFailed(
            {"end_date": _("start_date and end_date may be at most 90 days apart.")}
        )
    window = (AuditEvent.at >= start) & (AuditEvent.at <= end)
    updates: list[RequestUpdate] = []
    report_events = (
        await AuditEvent.select()
        .where(
            window
            & (AuditEvent.entity_type == "service_request")
            & AuditEvent.action.is_in(sorted(REPORT_EVENT_STAGES))
        )
        .order_by(AuditEvent.at)
        .limit(limit)
    )
    for event in report_events:
        changes = loads(event["changes"]) or {}
        stage = REPORT_EVENT_STAGES[event["action"]]
        reason = (changes.get("public_reason") or [None, ""])[1] or ""
        if stage == Stage.INVESTIGATING:
            text = _("A repair ticket deals with this report.")
        elif stage == Stage.NOT_OURS:
            base = _("This is not the responsibility of the construction bureau.")
            text = f"{base} {reason}" if reason else base
        else:
            text = reason or _("This report was not accepted.")
        updates.append(
            RequestUpdate(f"r{event['id']}", event["entity_id"], stage, event["at"], text)
        )
    ticket_events = (
        await AuditEvent.select()
        .where(
            window
            & (AuditEvent.entity_type == "ticket")
            & AuditEvent.action.is_in(list(TICKET_ACTIONS))
        )
        .order_by(AuditEvent.at)
        .limit(limit * 2)
    )
    if ticket_events:
        linked = await ServiceRequest.select(
            ServiceRequest.id, ServiceRequest.ticket, ServiceRequest.triaged_at
        ).where(
            ServiceRequest.ticket.is_in(sorted({e["entity_id"] for e in ticket_events}))
            & ServiceRequest.status.is_in([ReportStatus.TICKETED, ReportStatus.MERGED])
        )
        by_ticket: dict[int, list[dict[str, Any]]] = {}
        for row in linked:
            by_ticket.setdefault(row["ticket"], []).append(row)
        for event in ticket_events:
            changes = loads(event["changes"]) or {}
            status = (changes.get("status") or [None, None])[1]
            if status is None:
                continue
            stage = TICKET_STAGES.get(status, Stage.INVESTIGATING)
            reason = (changes.get("closing_reason") or [None, None])[1]
            text = stage.label
            if status == TicketStatus.CLOSED:
                if reason in FIXED_REASONS:
                    stage = Stage.FIXED
                text = (
                    ClosingReason(reason).label
                    if is_value(ClosingReason, reason)
                    else Stage.CLOSED.label
                )
            for row in by_ticket.get(event["entity_id"], []):
                if row["triaged_at"] and event["at"] < row["triaged_at"]:
                    continue
                updates.append(
                    RequestUpdate(
                        f"t{event['id']}-{row['id']}", row["id"], stage, event["at"], text
                    )
                )
    lifted = (
        await AuditEvent.select()
        .where(
            window
            & (AuditEvent.entity_type == "closure")
            & AuditEvent.action.is_in(
                ["closure.lifted", "closure.lifted_override", "closure.cancelled"]
            )
        )
        .order_by(AuditEvent.at)
        .limit(limit)
    )
    if lifted:
        covered = await ServiceRequest.select(ServiceRequest.id, ServiceRequest.closure).where(
            ServiceRequest.closure.is_in(sorted({e["entity_id"] for e in lifted}))
            & (ServiceRequest.status == ReportStatus.COVERED)
        )
        for event in lifted:
            for row in covered:
                if row["closure"] != event["entity_id"]:
                    continue
                text = (
                    _("The closure of this facility was cancelled.")
                    if event["action"] == "closure.cancelled"
                    else _("The repair is finished; the facility reopens as announced.")
                )
                updates.append(
                    RequestUpdate(
                        f"c{event['id']}-{row['id']}", row["id"], Stage.CLOSED, event["at"], text
                    )
                )
    updates.sort(key=lambda u: (u.updated_at, u.update_id))
    return updates[:limit]
