"""Telling the reporter by e-mail: the report received (with its tracking link), opened as a
repair ticket (or added to one), fixed (its ticket closed as repaired), and a "still broken"
follow-up received. Only a reporter who left an address is written to, in the language they
reported in; every message is an outbox row queued in the transaction of the change it tells
(the delivery job sends it), once per event (a dedupe key).

A message that cannot be composed is logged and skipped: it never costs the report or the
change it tells about.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from facilities.assets.tables import Asset
from facilities.notifications import services as notifications
from facilities.reports.choices import Category, ReportStatus
from facilities.reports.tables import ServiceRequest
from facilities.tickets.choices import FIXED_REASONS
from facilities.tickets.choices import Status as TicketStatus
from facilities.tickets.tables import RepairTicket

log = logging.getLogger(__name__)

LANGUAGES = ("zh_CN", "en")


def report_language(value: str | None) -> str:
    """A language a report may be stored in: ``zh_CN`` or ``en``, from a locale or an
    Accept-Language-like code (``en-GB``, ``zh-Hans-CN``); empty or unknown gives ``""``."""
    text = (value or "").strip().replace("-", "_").lower()
    if not text:
        return ""
    if text == "en" or text.startswith("en_"):
        return "en"
    if text == "zh" or text.startswith("zh_"):
        return "zh_CN"
    return ""


async def mail_reporter(
    report: ServiceRequest | dict[str, Any],
    event: str,
    now: dt.datetime,
    *,
    dedupe: str = "",
    **context: Any,
) -> int | None:
    """Queue ``templates/emails/report_<event>.*`` to the report's reporter, if they left an
    address; returns the outbox row's id (None: no address, already queued, or not composed)."""
    row = report if isinstance(report, dict) else report.to_dict()
    address = (row.get("contact_email") or "").strip()
    if not address:
        return None
    asset = await _asset_names(row["asset"])
    try:
        return await notifications.enqueue(
            to=address,
            template=f"report_{event}",
            context={
                "report_id": row["id"],
                "category": row["category"],
                "Category": Category,
                "facility": asset,
                **context,
            },
            language=report_language(row.get("language")) or LANGUAGES[0],
            dedupe_key=f"report_{event}:{row['id']}{dedupe}",
            now=now,
        )
    except Exception:  # a template or rendering fault: the report and its change are kept
        log.exception("report %s: the %s e-mail could not be queued", row["id"], event)
        return None


async def _asset_names(asset_id: int) -> dict[str, str]:
    row = await Asset.select(Asset.name_zh, Asset.name_en).where(Asset.id == asset_id).first()
    return row or {"name_zh": "", "name_en": ""}


#: Tickets followed through "duplicate of" (a report on a duplicate follows the original).
DUPLICATE_HOPS = 4


async def ticket_moved(ticket: RepairTicket, before: str, now: dt.datetime) -> None:
    """Told inside every ticket transition: when a ticket is closed as repaired, each report
    on it (or on a ticket marked a duplicate of it) is fixed, and its reporter is told."""
    if ticket.status != TicketStatus.CLOSED or ticket.closing_reason not in FIXED_REASONS:
        return
    if before == TicketStatus.CLOSED:
        return
    ids, frontier = {ticket.id}, {ticket.id}
    for _hop in range(DUPLICATE_HOPS):
        rows = await RepairTicket.select(RepairTicket.id).where(
            RepairTicket.duplicate_of.is_in(sorted(frontier))
            & (RepairTicket.status == TicketStatus.DUPLICATE)
        )
        frontier = {r["id"] for r in rows} - ids
        if not frontier:
            break
        ids |= frontier
    reports = (
        await ServiceRequest.select(
            ServiceRequest.id,
            ServiceRequest.asset,
            ServiceRequest.category,
            ServiceRequest.contact_email,
            ServiceRequest.language,
        )
        .where(
            ServiceRequest.ticket.is_in(sorted(ids))
            & ServiceRequest.status.is_in([ReportStatus.TICKETED, ReportStatus.MERGED])
            & (ServiceRequest.contact_email != "")
        )
        .order_by(ServiceRequest.id)
    )
    for report in reports:
        await mail_reporter(
            report,
            "fixed",
            now,
            dedupe=f":{ticket.id}",
            closing_reason=ticket.closing_reason,
        )


async def reporter_language(ticket_id: int, email: str) -> str | None:
    """The language the citizen with ``email`` used for their report on the ticket."""
    row = (
        await ServiceRequest.select(ServiceRequest.language)
        .where((ServiceRequest.ticket == ticket_id) & (ServiceRequest.contact_email == email))
        .order_by(ServiceRequest.id)
        .first()
    )
    language = row["language"] if row else None
    return language if language in LANGUAGES else None
