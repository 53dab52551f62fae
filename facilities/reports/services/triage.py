"""Triage (staff), reading: the queue of new and recently covered reports with possible
duplicates, one report with its ticket, merge targets, follow-ups and history, a ticket's
reports, the report photos (staff only) and staff names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.accounts.tables import StaffUser
from facilities.audit import services as audit
from facilities.errors import NotFound
from facilities.i18n import gettext as _
from facilities.records import get_or_404, loads, valid_id
from facilities.reports.choices import TRIAGEABLE, ReportStatus, Stage
from facilities.reports.services.public_state import REPORT_PUBLIC_COLUMNS, _public
from facilities.reports.tables import ReportPhoto, ServiceRequest
from facilities.tickets.choices import FINAL_STATUSES
from facilities.tickets.tables import RepairTicket

#: Reports on the same facility and category this close in time are suggested as duplicates.
DUPLICATE_WINDOW = dt.timedelta(days=14)
RECENTLY_COVERED = dt.timedelta(days=30)


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """Another open report on the same facility and category, near in time."""

    report_id: int
    requested_at: dt.datetime
    status: str
    ticket_id: int | None
    excerpt: str


@dataclasses.dataclass(frozen=True)
class ReportRow:
    report: ServiceRequest
    asset_code: str
    asset_name_zh: str
    asset_name_en: str
    site_name_zh: str
    site_name_en: str
    client_name: str
    photos: list[ReportPhoto]
    stage: Stage
    status_notes: str
    suggestions: list[Suggestion]

    @property
    def attributes(self) -> dict[str, str]:
        return loads(self.report.attributes) or {}


STAFF_COLUMNS = (
    ServiceRequest.asset.code.as_alias("asset_code"),
    ServiceRequest.asset.name_zh.as_alias("asset_name_zh"),
    ServiceRequest.asset.name_en.as_alias("asset_name_en"),
    ServiceRequest.asset.site.name_zh.as_alias("site_name_zh"),  # type: ignore[union-attr]
    ServiceRequest.asset.site.name_en.as_alias("site_name_en"),  # type: ignore[union-attr]
    ServiceRequest.client.name.as_alias("client_name"),
)


async def _suggestions(
    reports: list[ServiceRequest], now: dt.datetime
) -> dict[int, list[Suggestion]]:
    """Possible duplicates of each report: same facility, same category, open, requested
    within DUPLICATE_WINDOW of it."""
    if not reports:
        return {}
    assets = sorted({r.asset for r in reports})
    first = min(r.requested_at for r in reports) - DUPLICATE_WINDOW
    last = max(r.requested_at for r in reports) + DUPLICATE_WINDOW
    candidates = await ServiceRequest.select(*REPORT_PUBLIC_COLUMNS).where(
        ServiceRequest.asset.is_in(assets)
        & (ServiceRequest.requested_at >= first)
        & (ServiceRequest.requested_at <= last)
        & ServiceRequest.status.is_in(
            [ReportStatus.NEW, ReportStatus.TICKETED, ReportStatus.MERGED, ReportStatus.COVERED]
        )
    )
    shown = {p.id: p for p in await _public(candidates, now)}
    by_id = {c["id"]: c for c in candidates}
    result: dict[int, list[Suggestion]] = {}
    for report in reports:
        found = []
        for other in candidates:
            if (
                other["id"] == report.id
                or other["asset"] != report.asset
                or other["category"] != report.category
                or abs(other["requested_at"] - report.requested_at) > DUPLICATE_WINDOW
                or not shown[other["id"]].is_open
            ):
                continue
            row = by_id[other["id"]]
            found.append(
                Suggestion(
                    report_id=row["id"],
                    requested_at=row["requested_at"],
                    status=row["status"],
                    ticket_id=row["ticket"],
                    excerpt=row["description"][:140],
                )
            )
        result[report.id] = sorted(found, key=lambda s: s.requested_at)
    return result


async def _rows(reports: list[ServiceRequest], now: dt.datetime, suggest: bool) -> list[ReportRow]:
    if not reports:
        return []
    ids = [r.id for r in reports]
    names = {
        r["id"]: r
        for r in await ServiceRequest.select(ServiceRequest.id, *STAFF_COLUMNS).where(
            ServiceRequest.id.is_in(ids)
        )
    }
    photos: dict[int, list[ReportPhoto]] = {}
    for photo in (
        await ReportPhoto.objects().where(ReportPhoto.report.is_in(ids)).order_by(ReportPhoto.id)
    ):
        photos.setdefault(photo.report, []).append(photo)
    public = {
        p.id: p
        for p in await _public(
            await ServiceRequest.select(*REPORT_PUBLIC_COLUMNS).where(ServiceRequest.id.is_in(ids)),
            now,
        )
    }
    suggestions = await _suggestions(reports, now) if suggest else {}
    return [
        ReportRow(
            report=r,
            asset_code=names[r.id]["asset_code"],
            asset_name_zh=names[r.id]["asset_name_zh"],
            asset_name_en=names[r.id]["asset_name_en"],
            site_name_zh=names[r.id]["site_name_zh"],
            site_name_en=names[r.id]["site_name_en"],
            client_name=names[r.id]["client_name"] or "",
            photos=photos.get(r.id, []),
            stage=public[r.id].stage,
            status_notes=public[r.id].status_notes,
            suggestions=suggestions.get(r.id, []),
        )
        for r in reports
    ]


@dataclasses.dataclass(frozen=True)
class Queue:
    new: list[ReportRow]
    covered: list[ReportRow]


async def triage_queue(actor: Actor, now: dt.datetime, limit: int = 200) -> Queue:
    """New reports, oldest first (with duplicate suggestions), and the recent reports a
    closure in force already answers (staff may still turn one into a ticket)."""
    require(actor, Perm.REPORTS_TRIAGE)
    new = (
        await ServiceRequest.objects()
        .where(ServiceRequest.status == ReportStatus.NEW)
        .order_by(ServiceRequest.requested_at)
        .order_by(ServiceRequest.id)
        .limit(limit)
    )
    covered = (
        await ServiceRequest.objects()
        .where(
            (ServiceRequest.status == ReportStatus.COVERED)
            & (ServiceRequest.requested_at >= now - RECENTLY_COVERED)
        )
        .order_by(ServiceRequest.requested_at, ascending=False)
        .limit(limit)
    )
    return Queue(new=await _rows(new, now, True), covered=await _rows(covered, now, False))


@dataclasses.dataclass(frozen=True)
class ReportDetail:
    row: ReportRow
    ticket: dict[str, Any] | None
    merge_targets: list[dict[str, Any]]
    follow_up_of: ReportRow | None
    follow_ups: list[ReportRow]
    #: The open report this one says it is the same as, and the reports that say so of this one.
    same_as: ReportRow | None
    same_here: list[ReportRow]
    history: list[dict[str, Any]]

    @property
    def can_triage(self) -> bool:
        return self.row.report.status in TRIAGEABLE


async def find_report(report_id: int) -> ServiceRequest | None:
    if not valid_id(report_id):
        return None
    return await ServiceRequest.objects().where(ServiceRequest.id == report_id).first()


async def get_report(actor: Actor, report_id: int, now: dt.datetime) -> ReportDetail:
    require(actor, Perm.REPORTS_TRIAGE)
    report = await find_report(report_id)
    if report is None:
        raise NotFound(_("No such report."))
    (row,) = await _rows([report], now, True)
    ticket = None
    if report.ticket:
        ticket = (
            await RepairTicket.select(
                RepairTicket.id,
                RepairTicket.title,
                RepairTicket.status,
                RepairTicket.closing_reason,
            )
            .where(RepairTicket.id == report.ticket)
            .first()
        )
    targets = await (
        RepairTicket.select(
            RepairTicket.id, RepairTicket.title, RepairTicket.status, RepairTicket.created_at
        )
        .where(
            (RepairTicket.asset == report.asset)
            & RepairTicket.status.not_in(sorted(FINAL_STATUSES))
        )
        .order_by(RepairTicket.created_at, ascending=False)
        .limit(50)
    )
    original = await find_report(report.follow_up_of) if report.follow_up_of else None
    follow_ups = (
        await ServiceRequest.objects()
        .where(ServiceRequest.follow_up_of == report.id)
        .order_by(ServiceRequest.requested_at)
    )
    same = await find_report(report.same_as) if report.same_as else None
    same_here = (
        await ServiceRequest.objects()
        .where(ServiceRequest.same_as == report.id)
        .order_by(ServiceRequest.requested_at)
    )
    return ReportDetail(
        row=row,
        ticket=ticket,
        merge_targets=targets,
        follow_up_of=(await _rows([original], now, False))[0] if original else None,
        follow_ups=await _rows(follow_ups, now, False),
        same_as=(await _rows([same], now, False))[0] if same else None,
        same_here=await _rows(same_here, now, False),
        history=list(reversed(await audit.list_events("service_request", report.id, 100))),
    )


async def reports_for_ticket(actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
    """The citizen reports a ticket answers (for the ticket page: "from report No. ...")."""
    require(actor, Perm.TICKETS_VIEW)
    if not valid_id(ticket_id):
        return []
    return await (
        ServiceRequest.select(
            ServiceRequest.id,
            ServiceRequest.status,
            ServiceRequest.category,
            ServiceRequest.requested_at,
            ServiceRequest.follow_up_of,
        )
        .where(ServiceRequest.ticket == ticket_id)
        .order_by(ServiceRequest.requested_at)
    )


async def get_photo(actor: Actor, photo_id: int) -> ReportPhoto:
    """A report photo (staff only; citizens' photos are never public by URL)."""
    require(actor, Perm.REPORTS_TRIAGE)
    return await get_or_404(ReportPhoto.objects(), ReportPhoto, photo_id, _("No such file."))


async def staff_names(ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    rows = await StaffUser.select(StaffUser.id, StaffUser.display_name).where(
        StaffUser.id.is_in(wanted)
    )
    return {r["id"]: r["display_name"] for r in rows}
