"""Which closures citizens see, and in what order: the home page's lists, the full list of those
holding now, one closure, one facility's closures, the lists behind the GeoJSON, CAP,
iCalendar and Atom feeds, and a notice's published timeline.

A closure *holds* (the facility is out of use) while it is in force, and also after it was
lifted until its announced reopening time arrives: the same rule as
``services.operational_statuses``. It counts as *reopened* from ``reopens_at`` on."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from facilities.closures.choices import IN_FORCE, NoticeState, Status
from facilities.closures.public.views import (
    CLOSURE_COLUMNS,
    PublicAsset,
    PublicClosure,
    Update,
    public_assets,
    public_closures,
)
from facilities.closures.tables import Closure, NoticeUpdate
from facilities.records import valid_id

#: How long a reopened facility stays on the public lists and feeds.
RECENTLY_REOPENED = dt.timedelta(days=30)


def _holds(now: dt.datetime) -> Any:
    """In force now, or lifted with the reopening still ahead (see the module docstring)."""
    return (Closure.status.is_in(sorted(IN_FORCE)) & (Closure.effective_from <= now)) | (
        (Closure.status == Status.LIFTED) & (Closure.reopens_at > now)
    )


def _recently_reopened(now: dt.datetime) -> Any:
    return (
        (Closure.status == Status.LIFTED)
        & (Closure.reopens_at <= now)
        & (Closure.reopens_at >= now - RECENTLY_REOPENED)
    )


def _ordered(query: Any) -> Any:
    """Urgent first, then the newest closure first (id breaks ties: a stable order)."""
    return (
        query.order_by(Closure.is_urgent, ascending=False)
        .order_by(Closure.effective_from, ascending=False)
        .order_by(Closure.id, ascending=False)
    )


async def _count(where: Any) -> int:
    return int(await Closure.count().where(where))


@dataclasses.dataclass(frozen=True)
class Home:
    in_force: list[PublicClosure]
    planned: list[PublicClosure]
    reopened: list[PublicClosure]
    in_force_total: int = 0
    planned_total: int = 0
    reopened_total: int = 0


async def home(now: dt.datetime, limit: int = 500) -> Home:
    """Closures holding now (urgent first), planned ones (soonest first), and facilities
    reopened in the last 30 days; each list cut at ``limit``, with its full count."""
    holding = await public_closures(
        await _ordered(Closure.select(*CLOSURE_COLUMNS).where(_holds(now))).limit(limit)
    )
    planned = await public_closures(
        await Closure.select(*CLOSURE_COLUMNS)
        .where(Closure.status == Status.PLANNED)
        .order_by(Closure.effective_from)
        .order_by(Closure.id)
        .limit(limit)
    )
    reopened = await public_closures(
        await Closure.select(*CLOSURE_COLUMNS)
        .where(_recently_reopened(now))
        .order_by(Closure.reopens_at, ascending=False)
        .order_by(Closure.id, ascending=False)
        .limit(limit)
    )
    return Home(
        in_force=holding,
        planned=planned,
        reopened=reopened,
        in_force_total=await _count(_holds(now)) if len(holding) >= limit else len(holding),
        planned_total=await _count(Closure.status == Status.PLANNED)
        if len(planned) >= limit
        else len(planned),
        reopened_total=await _count(_recently_reopened(now))
        if len(reopened) >= limit
        else len(reopened),
    )


async def holding_page(
    now: dt.datetime, page: int, per_page: int
) -> tuple[list[PublicClosure], int]:
    """One page of the closures holding now (the full list behind the home page), and the total."""
    offset = (max(page, 1) - 1) * per_page
    query = _ordered(Closure.select(*CLOSURE_COLUMNS).where(_holds(now))).limit(per_page)
    rows = await (query.offset(offset) if offset else query)
    return await public_closures(rows), await _count(_holds(now))


async def closure(closure_id: int) -> PublicClosure | None:
    """A closure citizens may read (cancelled ones are gone from the public site)."""
    if not valid_id(closure_id):
        return None
    rows = await Closure.select(*CLOSURE_COLUMNS).where(
        (Closure.id == closure_id) & (Closure.status != Status.CANCELLED)
    )
    found = await public_closures(rows)
    return found[0] if found else None


async def asset(asset_id: int) -> PublicAsset | None:
    if not valid_id(asset_id):
        return None
    return (await public_assets({asset_id})).get(asset_id)


async def for_asset(asset_id: int) -> tuple[PublicAsset | None, list[PublicClosure]]:
    if not valid_id(asset_id):
        return None, []
    assets = await public_assets({asset_id})
    if asset_id not in assets:
        return None, []
    rows = (
        await Closure.select(*CLOSURE_COLUMNS)
        .where((Closure.asset == asset_id) & (Closure.status != Status.CANCELLED))
        .order_by(Closure.effective_from, ascending=False)
        .order_by(Closure.id, ascending=False)
        .limit(50)
    )
    return assets[asset_id], await public_closures(rows)


async def in_force(now: dt.datetime, limit: int = 5000) -> list[PublicClosure]:
    """Closures holding now (GeoJSON, CAP, Open311 service notices): in force, or lifted with
    the announced reopening still ahead."""
    rows = await _ordered(Closure.select(*CLOSURE_COLUMNS).where(_holds(now))).limit(limit)
    return await public_closures(rows)


async def holding_or_planned(now: dt.datetime, limit: int = 5000) -> list[PublicClosure]:
    """Closures holding now and planned ones (not started yet), in one list ordered like
    :func:`in_force`: the GeoJSON feed behind the maps, which outline the planned ones."""
    rows = await _ordered(
        Closure.select(*CLOSURE_COLUMNS).where(_holds(now) | (Closure.status == Status.PLANNED))
    ).limit(limit)
    return await public_closures(rows)


async def in_force_for_asset(asset_id: int, now: dt.datetime) -> PublicClosure | None:
    if not valid_id(asset_id):
        return None
    rows = await _ordered(
        Closure.select(*CLOSURE_COLUMNS).where((Closure.asset == asset_id) & _holds(now))
    ).limit(1)
    found = await public_closures(rows)
    return found[0] if found else None


async def calendar(now: dt.datetime, limit: int = 5000) -> list[PublicClosure]:
    """Every closure window worth a calendar entry: planned, holding, or reopened in the last
    30 days (the iCalendar feed)."""
    rows = await _ordered(
        Closure.select(*CLOSURE_COLUMNS).where(
            Closure.status.is_in([*sorted(IN_FORCE), Status.PLANNED])
            | ((Closure.status == Status.LIFTED) & (Closure.reopens_at >= now - RECENTLY_REOPENED))
        )
    ).limit(limit)
    return await public_closures(rows)


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
        query = query.where(NoticeUpdate.closure._.asset._.site == site_id)
    rows = (
        await query.order_by(NoticeUpdate.published_at, ascending=False)
        .order_by(NoticeUpdate.id, ascending=False)
        .limit(limit)
    )
    ids = sorted({r["closure"] for r in rows})
    closures = {
        c.id: c
        for c in await public_closures(
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
