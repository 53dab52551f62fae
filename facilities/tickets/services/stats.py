"""Tickets in aggregate: the dashboard's backlog, overdue count, time to repair and SLA
compliance; the open P0s among some assets; planned work for the calendar; the open count.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections.abc import Iterable
from typing import Any

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.tickets.choices import FIXED_REASONS, OPEN_STATUSES, Priority, Status
from facilities.tickets.tables import RepairTicket


@dataclasses.dataclass(frozen=True)
class Dashboard:
    backlog: dict[str, dict[str, int]]  # priority -> status -> count
    open_total: int
    overdue: int
    mttr_days: dict[int, float | None]  # window days -> median days to repair
    sla_compliance: dict[int, float | None]  # window days -> share closed on time
    closed_counts: dict[int, int]
    per_asset: list[dict[str, Any]]


def median_days(durations: Iterable[dt.timedelta]) -> float | None:
    values = [d.total_seconds() / 86400 for d in durations]
    return round(statistics.median(values), 1) if values else None


async def dashboard(
    actor: Actor, now: dt.datetime, windows: tuple[int, ...] = (30, 90)
) -> Dashboard:
    require(actor, Perm.TICKETS_VIEW)
    open_list = sorted(OPEN_STATUSES)
    rows = await RepairTicket.raw(
        "SELECT priority, status, COUNT(*) AS n FROM repair_ticket "
        "WHERE status IN ({}, {}, {}, {}, {}, {}) GROUP BY priority, status",
        *open_list,
    )
    backlog: dict[str, dict[str, int]] = {p.value: {} for p in Priority}
    for r in rows:
        backlog[r["priority"]][r["status"]] = int(r["n"])
    overdue = await RepairTicket.count().where(
        RepairTicket.status.is_in(open_list) & (RepairTicket.sla_due_at < now)
    )
    mttr: dict[int, float | None] = {}
    compliance: dict[int, float | None] = {}
    closed_counts: dict[int, int] = {}
    for days in windows:
        closed = await RepairTicket.select(
            RepairTicket.created_at,
            RepairTicket.closed_at,
            RepairTicket.sla_due_at,
            RepairTicket.closing_reason,
        ).where(
            (RepairTicket.status == Status.CLOSED)
            & (RepairTicket.closed_at >= now - dt.timedelta(days=days))
            & (RepairTicket.closed_at <= now)
        )
        fixed = [r for r in closed if r["closing_reason"] in FIXED_REASONS]
        mttr[days] = median_days(r["closed_at"] - r["created_at"] for r in fixed)
        on_time = sum(1 for r in fixed if r["closed_at"] <= r["sla_due_at"])
        compliance[days] = round(on_time / len(fixed), 3) if fixed else None
        closed_counts[days] = len(fixed)
    per_asset = await RepairTicket.raw(
        "SELECT a.id, a.code, a.name_zh, a.name_en, COUNT(*) AS n, "
        "SUM(CASE WHEN t.priority = 'P0' THEN 1 ELSE 0 END) AS p0 "
        "FROM repair_ticket t JOIN asset a ON a.id = t.asset "
        "WHERE t.status IN ({}, {}, {}, {}, {}, {}) "
        "GROUP BY a.id, a.code, a.name_zh, a.name_en ORDER BY n DESC, a.code LIMIT 20",
        *open_list,
    )
    return Dashboard(
        backlog=backlog,
        open_total=sum(sum(v.values()) for v in backlog.values()),
        overdue=overdue,
        mttr_days=mttr,
        sla_compliance=compliance,
        closed_counts=closed_counts,
        per_asset=per_asset,
    )


async def open_p0_assets(asset_ids: Iterable[int]) -> set[int]:
    ids = list(asset_ids)
    if not ids:
        return set()
    rows = await RepairTicket.select(RepairTicket.asset).where(
        RepairTicket.asset.is_in(ids)
        & (RepairTicket.priority == Priority.P0)
        & RepairTicket.status.is_in(sorted(OPEN_STATUSES))
    )
    return {r["asset"] for r in rows}


async def planned_between(actor: Actor, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """Open tickets whose planned work overlaps [first, last] (the calendar; ``version`` lets
    its drag-to-reschedule meet the same stale-edit check as the edit form)."""
    require(actor, Perm.TICKETS_VIEW)
    return await (
        RepairTicket.select(
            RepairTicket.id,
            RepairTicket.title,
            RepairTicket.priority,
            RepairTicket.status,
            RepairTicket.planned_start_on,
            RepairTicket.planned_end_on,
            RepairTicket.version,
            RepairTicket.asset.code.as_alias("asset_code"),
        )
        .where(
            RepairTicket.status.is_in(sorted(OPEN_STATUSES | {Status.ACCEPTED}))
            & RepairTicket.planned_start_on.is_not_null()
            & (RepairTicket.planned_start_on <= last)
            & (
                (RepairTicket.planned_end_on >= first)
                | (RepairTicket.planned_end_on.is_null() & (RepairTicket.planned_start_on >= first))
            )
        )
        .order_by(RepairTicket.planned_start_on)
        .order_by(RepairTicket.priority)
    )


async def count_open() -> int:
    return await RepairTicket.count().where(RepairTicket.status.is_in(sorted(OPEN_STATUSES)))
