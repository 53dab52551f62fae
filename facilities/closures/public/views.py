"""The public views of a closure and its asset: frozen dataclasses made only from the columns
named in :data:`ASSET_COLUMNS` and :data:`CLOSURE_COLUMNS`, and the builders that read them
(a closure with its asset, every promise made and the public progress of its linked work,
which reads "planned" until the closure starts).

A new internal column never reaches a citizen by accident: nothing here selects a whole row."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from facilities.assets.tables import Asset, Site
from facilities.closures.choices import (
    IN_FORCE,
    TICKET_PROGRESS,
    Precision,
    PublicProgress,
    Status,
)
from facilities.closures.tables import Closure, ClosurePromise, ClosureTicket
from facilities.records import loads

#: Closures whose reopening is still to come: a passed promise date means a broken promise.
AWAITING_REOPENING = IN_FORCE | {Status.PLANNED}


def promise_broken_at(day: dt.date, precision: str, zone: dt.tzinfo) -> dt.datetime:
    """The instant a promise to reopen is broken if the facility has not reopened: the start
    (in the bureau's ``zone``) of the promised day for "before 1 May", of the day after for
    "on 1 May"."""
    last = day if precision == Precision.BEFORE else day + dt.timedelta(days=1)
    return dt.datetime.combine(last, dt.time(), tzinfo=zone).astimezone(dt.UTC)


@dataclasses.dataclass(frozen=True)
class PublicAsset:
    id: int
    code: str
    name_zh: str
    name_en: str
    asset_type: str
    site_id: int
    site_name_zh: str
    site_name_en: str
    lat: float | None
    lng: float | None
    built_year: int | None
    length_m: float | None
    width_m: float | None
    structure_type: str
    deck_material: str | None
    main_material: str | None
    span_m: float | None = None
    crowd_limit: int | None = None
    lifecycle: str = "in_use"
    #: The facility's drawing (GeoJSON text, WGS-84), "" when only its point is known.
    geometry: str = ""


@dataclasses.dataclass(frozen=True)
class Promise:
    made_at: dt.datetime
    planned_reopen_on: dt.date | None
    precision: str
    reason_zh: str
    reason_en: str


@dataclasses.dataclass(frozen=True)
class Revision:
    """A promise that was replaced: when, why, and what had been promised before."""

    made_at: dt.datetime
    reason_zh: str
    reason_en: str
    was: Promise


@dataclasses.dataclass(frozen=True)
class Progress:
    label_zh: str
    label_en: str
    progress: PublicProgress


@dataclasses.dataclass(frozen=True)
class Update:
    id: int
    closure_id: int
    published_at: dt.datetime
    text_zh: str
    text_en: str


@dataclasses.dataclass(frozen=True)
class PublicClosure:
    id: int
    asset: PublicAsset
    scope: str
    affected_part_zh: str
    affected_part_en: str
    crowd_limit: int | None
    hours_zh: str
    hours_en: str
    reason: str
    reason_zh: str
    reason_en: str
    safety_measures: list[str]
    detour_zh: str
    detour_en: str
    #: The drawings (GeoJSON text, WGS-84; "" when not drawn): the closed extent (empty: the
    #: whole facility), the detour, the fences and the entrances.
    extent: str
    detour_line: str
    fences: str
    entrances: str
    reopening_criteria_zh: str
    reopening_criteria_en: str
    effective_from: dt.datetime
    planned_reopen_on: dt.date | None
    reopen_precision: str
    status: str
    is_urgent: bool
    reopens_at: dt.datetime | None
    reopening_announced_at: dt.datetime | None
    sequence: int
    updated_at: dt.datetime
    created_at: dt.datetime
    promises: list[Promise]
    progress: list[Progress]

    @property
    def in_force(self) -> bool:
        return self.status in IN_FORCE

    @property
    def revised(self) -> list[Promise]:
        """Earlier promises, newest first (the ones that were not kept)."""
        return list(reversed(self.promises[:-1]))

    @property
    def revisions(self) -> list[Revision]:
        """Each time the promise moved, newest first: when, why, and what it had been."""
        return [
            Revision(new.made_at, new.reason_zh, new.reason_en, old)
            for old, new in reversed(list(zip(self.promises, self.promises[1:], strict=False)))
        ]

    def holds(self, now: dt.datetime) -> bool:
        """The facility is (partly) out of use at ``now``."""
        if self.status in IN_FORCE:
            return self.effective_from <= now
        return (
            self.status == Status.LIFTED and self.reopens_at is not None and self.reopens_at > now
        )

    def reopened(self, now: dt.datetime) -> bool:
        return (
            self.status == Status.LIFTED and self.reopens_at is not None and self.reopens_at <= now
        )

    def overdue(self, now: dt.datetime, zone: dt.tzinfo) -> bool:
        """The promised reopening date has passed at ``now`` and the facility has not been
        reopened (nor its reopening announced)."""
        if self.planned_reopen_on is None or self.status not in AWAITING_REOPENING:
            return False
        return promise_broken_at(self.planned_reopen_on, self.reopen_precision, zone) <= now


ASSET_COLUMNS = (
    Asset.id,
    Asset.code,
    Asset.name_zh,
    Asset.name_en,
    Asset.asset_type,
    Asset.site,
    Asset.lat,
    Asset.lng,
    Asset.built_year,
    Asset.length_m,
    Asset.width_m,
    Asset.structure_type,
    Asset.deck_material,
    Asset.main_material,
    Asset.span_m,
    Asset.crowd_limit,
    Asset.lifecycle,
    Asset.geometry,
)
CLOSURE_COLUMNS = (
    Closure.id,
    Closure.asset,
    Closure.scope,
    Closure.affected_part_zh,
    Closure.affected_part_en,
    Closure.crowd_limit,
    Closure.hours_zh,
    Closure.hours_en,
    Closure.reason,
    Closure.reason_zh,
    Closure.reason_en,
    Closure.safety_measures,
    Closure.detour_zh,
    Closure.detour_en,
    Closure.extent,
    Closure.detour_line,
    Closure.fences,
    Closure.entrances,
    Closure.reopening_criteria_zh,
    Closure.reopening_criteria_en,
    Closure.effective_from,
    Closure.planned_reopen_on,
    Closure.reopen_precision,
    Closure.status,
    Closure.is_urgent,
    Closure.reopens_at,
    Closure.reopening_announced_at,
    Closure.sequence,
    Closure.updated_at,
    Closure.created_at,
)


async def public_assets(ids: set[int]) -> dict[int, PublicAsset]:
    """The public view of each asset in ``ids`` (with its site's names), by id."""
    if not ids:
        return {}
    rows = await Asset.select(*ASSET_COLUMNS).where(Asset.id.is_in(sorted(ids)))
    sites = {
        s["id"]: s
        for s in await Site.select(Site.id, Site.name_zh, Site.name_en).where(
            Site.id.is_in(sorted({r["site"] for r in rows}) or [0])
        )
    }
    return {
        r["id"]: PublicAsset(
            id=r["id"],
            code=r["code"],
            name_zh=r["name_zh"],
            name_en=r["name_en"],
            asset_type=r["asset_type"],
            site_id=r["site"],
            site_name_zh=sites[r["site"]]["name_zh"],
            site_name_en=sites[r["site"]]["name_en"],
            lat=r["lat"],
            lng=r["lng"],
            built_year=r["built_year"],
            length_m=r["length_m"],
            width_m=r["width_m"],
            structure_type=r["structure_type"],
            deck_material=r["deck_material"],
            main_material=r["main_material"],
            span_m=r["span_m"],
            crowd_limit=r["crowd_limit"],
            lifecycle=r["lifecycle"],
            geometry=r["geometry"],
        )
        for r in rows
    }


async def public_closures(rows: list[dict[str, Any]]) -> list[PublicClosure]:
    """Closure rows selected with :data:`CLOSURE_COLUMNS` as public views, in the same order,
    each with its asset, promises and the public progress of its linked tickets."""
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    assets = await public_assets({r["asset"] for r in rows})
    promise_rows = (
        await ClosurePromise.select(
            ClosurePromise.closure,
            ClosurePromise.made_at,
            ClosurePromise.planned_reopen_on,
            ClosurePromise.precision,
            ClosurePromise.reason_zh,
            ClosurePromise.reason_en,
        )
        .where(ClosurePromise.closure.is_in(ids))
        .order_by(ClosurePromise.made_at)
        .order_by(ClosurePromise.id)
    )
    progress_rows = (
        await ClosureTicket.select(
            ClosureTicket.closure,
            ClosureTicket.public_label_zh,
            ClosureTicket.public_label_en,
            ClosureTicket.ticket.status.as_alias("status"),
        )
        .where(ClosureTicket.closure.is_in(ids))
        .order_by(ClosureTicket.id)
    )
    promises: dict[int, list[Promise]] = {}
    for p in promise_rows:
        promises.setdefault(p["closure"], []).append(
            Promise(
                p["made_at"], p["planned_reopen_on"], p["precision"], p["reason_zh"], p["reason_en"]
            )
        )
    progress: dict[int, list[Progress]] = {}
    for t in progress_rows:
        shown = TICKET_PROGRESS.get(t["status"])
        if shown is not None:
            progress.setdefault(t["closure"], []).append(
                Progress(t["public_label_zh"], t["public_label_en"], shown)
            )
    result = []
    for r in rows:
        values = {k: r[k] for k in r if k not in {"asset", "safety_measures"}}
        work = progress.get(r["id"], [])
        if r["status"] == Status.PLANNED:
            # the closure has not started: its work is planned, whatever the crew has begun
            work = [dataclasses.replace(p, progress=PublicProgress.PLANNED) for p in work]
        result.append(
            PublicClosure(
                **values,
                asset=assets[r["asset"]],
                safety_measures=loads(r["safety_measures"]),
                promises=promises.get(r["id"], []),
                progress=work,
            )
        )
    return result
