"""What citizens may see of closures: read-only views built only from public fields.

Nothing here selects a staff name, a cost, a contact, an internal comment or a ticket title: the
views name every column they read, so a new internal column can never leak by accident. The
public pages, feeds and the Open311 answers are all made from these views.

A closure *holds* (the facility is out of use) while it is in force, and also after it was
lifted until its announced reopening time arrives: the same rule as
``services.operational_statuses``. It counts as *reopened* from ``reopens_at`` on.

:func:`version` is the cheap fingerprint of everything these views show (ETag and
Last-Modified of every public page and feed), with the next instant at which the views change
by the clock alone (a planned start, an announced reopening, a reopening leaving the 30-day list).
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
from facilities.closures.tables import (
    Closure,
    ClosurePromise,
    ClosureTicket,
    NoticeUpdate,
    Subscription,
)

RECENTLY_REOPENED = dt.timedelta(days=30)
MAX_ID = 2_147_483_647


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


def _valid_id(value: int | None) -> bool:
    return value is not None and 0 < value <= MAX_ID


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
            span_m=r["span_m"],
            crowd_limit=r["crowd_limit"],
            lifecycle=r["lifecycle"],
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
    holding = await _closures(
        await _ordered(Closure.select(*CLOSURE_COLUMNS).where(_holds(now))).limit(limit)
    )
    planned = await _closures(
        await Closure.select(*CLOSURE_COLUMNS)
        .where(Closure.status == Status.PLANNED)
        .order_by(Closure.effective_from)
        .order_by(Closure.id)
        .limit(limit)
    )
    reopened = await _closures(
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
    return await _closures(rows), await _count(_holds(now))


async def closure(closure_id: int) -> PublicClosure | None:
    """A closure citizens may read (cancelled ones are gone from the public site)."""
    if not _valid_id(closure_id):
        return None
    rows = await Closure.select(*CLOSURE_COLUMNS).where(
        (Closure.id == closure_id) & (Closure.status != Status.CANCELLED)
    )
    found = await _closures(rows)
    return found[0] if found else None


async def asset(asset_id: int) -> PublicAsset | None:
    if not _valid_id(asset_id):
        return None
    return (await _assets({asset_id})).get(asset_id)


async def for_asset(asset_id: int) -> tuple[PublicAsset | None, list[PublicClosure]]:
    if not _valid_id(asset_id):
        return None, []
    assets = await _assets({asset_id})
    if asset_id not in assets:
        return None, []
    rows = (
        await Closure.select(*CLOSURE_COLUMNS)
        .where((Closure.asset == asset_id) & (Closure.status != Status.CANCELLED))
        .order_by(Closure.effective_from, ascending=False)
        .order_by(Closure.id, ascending=False)
        .limit(50)
    )
    return assets[asset_id], await _closures(rows)


async def in_force(now: dt.datetime, limit: int = 5000) -> list[PublicClosure]:
    """Closures holding now (GeoJSON, CAP, Open311 service notices): in force, or lifted with
    the announced reopening still ahead."""
    rows = await _ordered(Closure.select(*CLOSURE_COLUMNS).where(_holds(now))).limit(limit)
    return await _closures(rows)


async def in_force_for_asset(asset_id: int, now: dt.datetime) -> PublicClosure | None:
    if not _valid_id(asset_id):
        return None
    rows = await _ordered(
        Closure.select(*CLOSURE_COLUMNS).where((Closure.asset == asset_id) & _holds(now))
    ).limit(1)
    found = await _closures(rows)
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
    return await _closures(rows)


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


# --- the register of facilities ------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PublicSite:
    id: int
    name_zh: str
    name_en: str
    address: str
    lat: float | None
    lng: float | None


@dataclasses.dataclass(frozen=True)
class RegisterEntry:
    id: int
    name_zh: str
    name_en: str
    asset_type: str
    status: str  # OperationalStatus value


@dataclasses.dataclass(frozen=True)
class RegisterSite:
    site: PublicSite
    assets: list[RegisterEntry]

    def count(self, status: str) -> int:
        return sum(1 for a in self.assets if a.status == status)


SITE_COLUMNS = (Site.id, Site.name_zh, Site.name_en, Site.address, Site.lat, Site.lng)


async def site(site_id: int) -> PublicSite | None:
    if not _valid_id(site_id):
        return None
    row = await Site.select(*SITE_COLUMNS).where(Site.id == site_id).first()
    return PublicSite(**row) if row else None


async def register(now: dt.datetime, site_id: int | None = None) -> list[RegisterSite]:
    """Sites with their facilities in use and each one's operational status at ``now``
    (derived from closures by the one rule in ``services.operational_statuses``)."""
    from facilities.closures.services import operational_statuses

    sites_query = Site.select(*SITE_COLUMNS).order_by(Site.name_zh)
    assets_query = (
        Asset.select(Asset.id, Asset.name_zh, Asset.name_en, Asset.asset_type, Asset.site)
        .where(Asset.lifecycle == "in_use")
        .order_by(Asset.name_zh)
        .order_by(Asset.id)
    )
    if site_id is not None:
        sites_query = sites_query.where(Site.id == site_id)
        assets_query = assets_query.where(Asset.site == site_id)
    sites = await sites_query
    rows = await assets_query
    statuses = await operational_statuses([r["id"] for r in rows], now)
    by_site: dict[int, list[RegisterEntry]] = {}
    for r in rows:
        by_site.setdefault(r["site"], []).append(
            RegisterEntry(
                r["id"], r["name_zh"], r["name_en"], r["asset_type"], str(statuses[r["id"]].value)
            )
        )
    return [
        RegisterSite(PublicSite(**s), by_site[s["id"]])
        for s in sites
        if by_site.get(s["id"]) or site_id is not None
    ]


# --- subscriptions (read only) -------------------------------------------------------------


async def subscription_state(token: str) -> str | None:
    """ "active", "pending" (not confirmed yet), "unsubscribed", or None for an unknown token.
    Never the address."""
    if not token or len(token) > 64:
        return None
    row = (
        await Subscription.select(Subscription.confirmed_at, Subscription.unsubscribed_at)
        .where(Subscription.token == token)
        .first()
    )
    if row is None:
        return None
    if row["unsubscribed_at"] is not None:
        return "unsubscribed"
    return "active" if row["confirmed_at"] is not None else "pending"


# --- what changed, and when (ETag and Last-Modified) ---------------------------------------


@dataclasses.dataclass(frozen=True)
class Version:
    """A fingerprint of everything public about closures, assets and sites.

    ``token`` changes whenever any public view could change: a closure, notice update, linked
    ticket (its public progress), asset or site changed, or the clock crossed ``valid_until``.
    ``last_modified`` is the newest of those changes (and of the clock crossings passed).
    """

    token: str
    last_modified: dt.datetime | None
    valid_until: dt.datetime | None
    changed_at: dt.datetime | None = None


_VERSION_SQL = """
SELECT
  (SELECT max(updated_at) FROM closure) AS closure_at,
  (SELECT max(id) FROM closure) AS closure_id,
  (SELECT max(id) FROM notice_update) AS update_id,
  (SELECT max(published_at) FROM notice_update) AS published_at,
  (SELECT max(t.updated_at) FROM repair_ticket t
     WHERE t.id IN (SELECT ct.ticket FROM closure_ticket ct)) AS ticket_at,
  (SELECT count(*) FROM closure_ticket) AS links,
  (SELECT max(updated_at) FROM asset) AS asset_at,
  (SELECT max(id) FROM asset) AS asset_id,
  (SELECT max(updated_at) FROM site) AS site_at,
  (SELECT max(id) FROM site) AS site_id,
  (SELECT min(effective_from) FROM closure
     WHERE status = 'planned' AND effective_from > {}) AS next_start,
  (SELECT min(reopens_at) FROM closure
     WHERE status = 'lifted' AND reopens_at > {}) AS next_reopen,
  (SELECT min(reopens_at) FROM closure
     WHERE status = 'lifted' AND reopens_at > {}) AS next_expiry,
  (SELECT max(reopens_at) FROM closure
     WHERE status = 'lifted' AND reopens_at <= {}) AS last_reopen,
  (SELECT max(reopens_at) FROM closure
     WHERE status = 'lifted' AND reopens_at <= {}) AS last_expiry
"""
_INSTANTS = ("closure_at", "published_at", "ticket_at", "asset_at", "site_at")


def _instant(value: Any) -> dt.datetime | None:
    """Aggregates come back as datetimes on PostgreSQL and as stored text on SQLite."""
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


async def version(now: dt.datetime) -> Version:
    """One query: the newest change of every public fact, and the clock's next effect."""
    window = now - RECENTLY_REOPENED
    rows = await Closure.raw(_VERSION_SQL, now, now, window, now, window)
    row = rows[0]
    instants = [_instant(row[name]) for name in _INSTANTS]
    next_expiry = _instant(row["next_expiry"])
    upcoming = [
        _instant(row["next_start"]),
        _instant(row["next_reopen"]),
        next_expiry + RECENTLY_REOPENED if next_expiry else None,
    ]
    last_expiry = _instant(row["last_expiry"])
    passed = [
        _instant(row["last_reopen"]),
        last_expiry + RECENTLY_REOPENED if last_expiry else None,
    ]
    valid_until = min((u for u in upcoming if u is not None), default=None)
    changed_at = max((i for i in instants if i is not None), default=None)
    last_modified = max((i for i in [changed_at, *passed] if i is not None), default=None)
    parts = [
        *(i.isoformat() if i else "-" for i in instants),
        *(str(row[name]) for name in ("closure_id", "update_id", "links", "asset_id", "site_id")),
        valid_until.isoformat() if valid_until else "-",
        last_modified.isoformat() if last_modified else "-",
    ]
    return Version("|".join(parts), last_modified, valid_until, changed_at)


async def last_changed(now: dt.datetime | None = None) -> dt.datetime | None:
    """The newest change to anything public about closures, their linked repair work, assets
    and sites; with ``now``, also the newest clock crossing (a reopening) that changed a view."""
    current = await version(now or dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    return current.last_modified if now is not None else current.changed_at
