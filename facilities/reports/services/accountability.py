"""Public accountability: per site and facility, the reports received, the median days from a
report to its repair, and how many closures reopened on or before the date first promised.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from zoneinfo import ZoneInfo

from piccolo.query.functions.aggregate import Count

from facilities.assets.tables import Asset, Site
from facilities.closures.choices import Status as ClosureStatus
from facilities.closures.tables import Closure, ClosurePromise
from facilities.reports.choices import ReportStatus
from facilities.reports.services.facility_search import IN_CARE
from facilities.reports.tables import ServiceRequest
from facilities.tickets.choices import FIXED_REASONS
from facilities.tickets.choices import Status as TicketStatus


@dataclasses.dataclass(frozen=True)
class Numbers:
    """Public figures for one facility or one site."""

    reports: int
    fix_days: tuple[float, ...]
    closures_promised: int
    closures_on_time: int

    @property
    def fixed(self) -> int:
        return len(self.fix_days)

    @property
    def median_days_to_fix(self) -> float | None:
        return round(statistics.median(self.fix_days), 1) if self.fix_days else None

    @property
    def on_time_rate(self) -> float | None:
        if not self.closures_promised:
            return None
        return round(self.closures_on_time / self.closures_promised, 3)

    def __add__(self, other: Numbers) -> Numbers:
        return Numbers(
            self.reports + other.reports,
            self.fix_days + other.fix_days,
            self.closures_promised + other.closures_promised,
            self.closures_on_time + other.closures_on_time,
        )


EMPTY = Numbers(0, (), 0, 0)


@dataclasses.dataclass(frozen=True)
class FacilityNumbers:
    id: int
    name_zh: str
    name_en: str
    asset_type: str
    numbers: Numbers


@dataclasses.dataclass(frozen=True)
class SiteNumbers:
    id: int
    name_zh: str
    name_en: str
    facilities: list[FacilityNumbers]

    @property
    def numbers(self) -> Numbers:
        total = EMPTY
        for facility in self.facilities:
            total = total + facility.numbers
        return total


@dataclasses.dataclass(frozen=True)
class Accountability:
    sites: list[SiteNumbers]

    @property
    def numbers(self) -> Numbers:
        total = EMPTY
        for site in self.sites:
            total = total + site.numbers
        return total

    def facility(self, asset_id: int) -> Numbers:
        for site in self.sites:
            for facility in site.facilities:
                if facility.id == asset_id:
                    return facility.numbers
        return EMPTY


def on_time(reopens_at: dt.datetime, promised_on: dt.date, zone: ZoneInfo) -> bool:
    """A reopening keeps its first promise when it happens on or before the promised day
    (the day read in the bureau's zone)."""
    return reopens_at.astimezone(zone).date() <= promised_on


async def accountability(
    now: dt.datetime, zone: ZoneInfo, *, asset_id: int | None = None
) -> Accountability:
    """Per site and facility: reports received, median days from report to repair (reports
    whose ticket was closed as repaired or replaced), and how many lifted closures reopened on
    or before the date first promised (ClosurePromise's oldest row). A report merged into a
    ticket another report already raised is the same problem again: it counts in neither
    figure, so a double submission or a crowd reporting one broken railing counts once."""
    asset_query = Asset.select(
        Asset.id, Asset.name_zh, Asset.name_en, Asset.asset_type, Asset.site
    ).where(IN_CARE)
    if asset_id is not None:
        asset_query = asset_query.where(Asset.id == asset_id)
    asset_rows = await asset_query.order_by(Asset.name_zh)
    ids = [a["id"] for a in asset_rows] or [0]
    counts = {
        r["asset"]: int(r["count"])
        for r in await ServiceRequest.select(ServiceRequest.asset, Count())
        .where(
            ServiceRequest.asset.is_in(ids)
            & (ServiceRequest.requested_at <= now)
            & (ServiceRequest.status != ReportStatus.MERGED)
        )
        .group_by(ServiceRequest.asset)
    }
    fixes: dict[int, list[float]] = {}
    fixed_rows = await ServiceRequest.select(
        ServiceRequest.asset,
        ServiceRequest.requested_at,
        ServiceRequest.ticket.status.as_alias("ticket_status"),
        ServiceRequest.ticket.closing_reason.as_alias("closing_reason"),
        ServiceRequest.ticket.closed_at.as_alias("closed_at"),
    ).where(
        ServiceRequest.asset.is_in(ids)
        & (ServiceRequest.status == ReportStatus.TICKETED)
        & (ServiceRequest.ticket.status == TicketStatus.CLOSED)
        & ServiceRequest.ticket.closing_reason.is_in(sorted(FIXED_REASONS))
    )
    for r in fixed_rows:
        if r["closed_at"] is None or r["closed_at"] > now:
            continue
        days = max(0.0, (r["closed_at"] - r["requested_at"]).total_seconds() / 86400)
        fixes.setdefault(r["asset"], []).append(days)
    lifted = await Closure.select(Closure.id, Closure.asset, Closure.reopens_at).where(
        Closure.asset.is_in(ids)
        & (Closure.status == ClosureStatus.LIFTED)
        & Closure.reopens_at.is_not_null()
        & (Closure.reopens_at <= now)
    )
    first_promise: dict[int, dt.date | None] = {}
    if lifted:
        for p in (
            await ClosurePromise.select(ClosurePromise.closure, ClosurePromise.planned_reopen_on)
            .where(ClosurePromise.closure.is_in([c["id"] for c in lifted]))
            .order_by(ClosurePromise.made_at)
            .order_by(ClosurePromise.id)
        ):
            first_promise.setdefault(p["closure"], p["planned_reopen_on"])
    promised: dict[int, int] = {}
    kept: dict[int, int] = {}
    for c in lifted:
        day = first_promise.get(c["id"])
        if day is None:
            continue  # no date was promised: nothing to keep
        promised[c["asset"]] = promised.get(c["asset"], 0) + 1
        if on_time(c["reopens_at"], day, zone):
            kept[c["asset"]] = kept.get(c["asset"], 0) + 1
    sites = {
        s["id"]: s
        for s in await Site.select(Site.id, Site.name_zh, Site.name_en).where(
            Site.id.is_in(sorted({a["site"] for a in asset_rows}) or [0])
        )
    }
    by_site: dict[int, list[FacilityNumbers]] = {}
    for a in asset_rows:
        by_site.setdefault(a["site"], []).append(
            FacilityNumbers(
                id=a["id"],
                name_zh=a["name_zh"],
                name_en=a["name_en"],
                asset_type=a["asset_type"],
                numbers=Numbers(
                    counts.get(a["id"], 0),
                    tuple(sorted(fixes.get(a["id"], []))),
                    promised.get(a["id"], 0),
                    kept.get(a["id"], 0),
                ),
            )
        )
    return Accountability(
        sites=sorted(
            (
                SiteNumbers(s["id"], s["name_zh"], s["name_en"], by_site[s["id"]])
                for s in sites.values()
            ),
            key=lambda s: s.name_zh,
        )
    )
