"""What citizens may see of closures: read-only views built only from public fields.

Nothing here selects a staff name, a cost, a contact, an internal comment or a ticket title: the
views name every column they read, so a new internal column can never leak by accident. The
public pages, feeds and the Open311 answers are all made from these views.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from facilities.assets.tables import Asset, Site
from facilities.closures.choices import (
    IN_FORCE,
    TICKET_PROGRESS,
    NoticeState,
    PublicProgress,
    Status,
)
from facilities.closures.tables import Closure, ClosurePromise, ClosureTicket, NoticeUpdate

RECENTLY_REOPENED = dt.timedelta(days=30)


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


@dataclasses.dataclass(frozen=True)
class Promise:
    made_at: dt.datetime
    planned_reopen_on: dt.date | None
    precision: str
    reason_zh: str
    reason_en: str


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


async def _assets(ids: set[int]) -> dict[int, PublicAsset]:
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
        )
        for r in rows
    }


async def _closures(rows: list[dict[str, Any]]) -> list[PublicClosure]:
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    assets = await _assets({r["asset"] for r in rows})
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
        measures = r["safety_measures"]
        result.append(
            PublicClosure(
                **values,
                asset=assets[r["asset"]],
                safety_measures=json.loads(measures) if isinstance(measures, str) else measures,
                promises=promises.get(r["id"], []),
                progress=progress.get(r["id"], []),
            )
        )
    return result


@dataclasses.dataclass(frozen=True)
class Home:
    in_force: list[PublicClosure]
    planned: list[PublicClosure]
    reopened: list[PublicClosure]


async def home(now: dt.datetime, limit: int = 500) -> Home:
    """Closures in force, planned ones, and facilities reopened in the last 30 days."""
    rows = (
        await Closure.select(*CLOSURE_COLUMNS)
        .where(
            Closure.status.is_in([*sorted(IN_FORCE), Status.PLANNED])
            | ((Closure.status == Status.LIFTED) & (Closure.reopens_at >= now - RECENTLY_REOPENED))
        )
        .order_by(Closure.effective_from, ascending=False)
        .limit(limit)
    )
    closures = await _closures(rows)
    return Home(
        in_force=[c for c in closures if c.status in IN_FORCE],
        planned=[c for c in closures if c.status == Status.PLANNED],
        reopened=[c for c in closures if c.status == Status.LIFTED],
    )


async def closure(closure_id: int) -> PublicClosure | None:
    """A closure citizens may read (cancelled ones are gone from the public site)."""
    if not 0 < closure_id <= 2_147_483_647:
        return None
    rows = await Closure.select(*CLOSURE_COLUMNS).where(
        (Closure.id == closure_id) & (Closure.status != Status.CANCELLED)
    )
    found = await _closures(rows)
    return found[0] if found else None


async def for_asset(asset_id: int) -> tuple[PublicAsset | None, list[PublicClosure]]:
    assets = await _assets({asset_id})
    if asset_id not in assets:
        return None, []
    rows = (
        await Closure.select(*CLOSURE_COLUMNS)
        .where((Closure.asset == asset_id) & (Closure.status != Status.CANCELLED))
        .order_by(Closure.effective_from, ascending=False)
        .limit(50)
    )
    return assets[asset_id], await _closures(rows)


async def in_force(now: dt.datetime, limit: int = 5000) -> list[PublicClosure]:
    """Closures in force now (GeoJSON, CAP, Open311 service notices)."""
    rows = (
        await Closure.select(*CLOSURE_COLUMNS)
        .where(Closure.status.is_in(sorted(IN_FORCE)) & (Closure.effective_from <= now))
        .order_by(Closure.effective_from, ascending=False)
        .limit(limit)
    )
    return await _closures(rows)


async def in_force_for_asset(asset_id: int, now: dt.datetime) -> PublicClosure | None:
    rows = (
        await Closure.select(*CLOSURE_COLUMNS)
        .where(
            (Closure.asset == asset_id)
            & Closure.status.is_in(sorted(IN_FORCE))
            & (Closure.effective_from <= now)
        )
        .order_by(Closure.effective_from, ascending=False)
        .limit(1)
    )
    found = await _closures(rows)
    return found[0] if found else None


async def timeline(closure_id: int, limit: int = 200) -> list[Update]:
    rows = (
        await NoticeUpdate.select(
            NoticeUpdate.id,
            NoticeUpdate.closure,
            NoticeUpdate.published_at,
            NoticeUpdate.text_zh,
            NoticeUpdate.text_en,
        )
        .where((NoticeUpdate.closure == closure_id) & (NoticeUpdate.state == NoticeState.PUBLISHED))
        .order_by(NoticeUpdate.published_at, ascending=False)
        .order_by(NoticeUpdate.id, ascending=False)
        .limit(limit)
    )
    return [
        Update(r["id"], r["closure"], r["published_at"], r["text_zh"], r["text_en"]) for r in rows
    ]


async def recent_updates(
    *, asset_id: int | None = None, site_id: int | None = None, limit: int = 50
) -> list[tuple[Update, PublicClosure]]:
    """Published updates, newest first, with their closure (the Atom feeds)."""
    query = NoticeUpdate.select(
        NoticeUpdate.id,
        NoticeUpdate.closure,
        NoticeUpdate.published_at,
        NoticeUpdate.text_zh,
        NoticeUpdate.text_en,
    ).where(
        (NoticeUpdate.state == NoticeState.PUBLISHED)
        & (NoticeUpdate.closure.status != Status.CANCELLED)
    )
    if asset_id is not None:
        query = query.where(NoticeUpdate.closure.asset == asset_id)
    if site_id is not None:
        query = query.where(NoticeUpdate.closure.asset.site == site_id)
    rows = (
        await query.order_by(NoticeUpdate.published_at, ascending=False)
        .order_by(NoticeUpdate.id, ascending=False)
        .limit(limit)
    )
    ids = sorted({r["closure"] for r in rows})
    closures = {
        c.id: c
        for c in await _closures(
            await Closure.select(*CLOSURE_COLUMNS).where(Closure.id.is_in(ids or [0]))
        )
    }
    return [
        (
            Update(r["id"], r["closure"], r["published_at"], r["text_zh"], r["text_en"]),
            closures[r["closure"]],
        )
        for r in rows
    ]


async def last_changed() -> dt.datetime | None:
    """The newest change to anything public about closures (for ETag and Last-Modified)."""
    row = (
        await Closure.select(Closure.updated_at)
        .order_by(Closure.updated_at, ascending=False)
        .first()
    )
    return row["updated_at"] if row else None
