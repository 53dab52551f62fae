"""Asset register services: the only code that writes sites, assets and components."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import asyncpg
import msgspec
from piccolo.columns.combination import Where
from piccolo.columns.operators.comparison import ComparisonOperator

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.assets.choices import ConditionGrade, OperationalStatus
from facilities.assets.schemas import (
    AssetFilters,
    AssetIn,
    AssetOut,
    ComponentIn,
    ComponentOut,
    SiteIn,
    SiteOut,
)
from facilities.assets.tables import Asset, Component, Site
from facilities.audit import services as audit
from facilities.errors import Conflict, NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib.pagination import Page
from facilities.lib.text import like_pattern

MAX_ID = 2_147_483_647

# The widest UTC offset in use (Kiribati, UTC+14): a date or year is "in the future" only when it
# is in the future everywhere. Services do not know the bureau's zone; with this bound a value
# typed in the morning in Shanghai (still yesterday in UTC) is never refused as "future".
_LATEST_OFFSET = dt.timedelta(hours=14)


def _latest_local_date(now: dt.datetime) -> dt.date:
    """The latest calendar date anywhere on Earth at ``now``."""
    return (now.astimezone(dt.UTC) + _LATEST_OFFSET).date()


def _valid_id(value: int) -> bool:
    return 0 < value <= MAX_ID


class _LikeEscaped(ComparisonOperator):
    """LIKE with backslash as its escape character, stated: PostgreSQL assumes it, SQLite has no
    default escape, so without the clause ``50%`` would not find "50%" on SQLite."""

    template = "{name} LIKE {value} ESCAPE '\\'"


class _ILikeEscaped(ComparisonOperator):
    template = "{name} ILIKE {value} ESCAPE '\\'"


def contains(column: Any, term: str) -> Where:
    """``column`` contains ``term`` literally (``%``, ``_`` and ``\\`` are not wildcards),
    case-insensitively (SQLite's LIKE folds ASCII case; PostgreSQL uses ILIKE)."""
    postgres = column._meta.engine_type in ("postgres", "cockroach")
    operator = _ILikeEscaped if postgres else _LikeEscaped
    return Where(column=column, value=like_pattern(term), operator=operator)


def _is_unique_violation(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.UniqueViolationError):
        return True
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE constraint failed" in str(exc)


@contextlib.asynccontextmanager
async def _taken(field: str, message: str) -> AsyncIterator[None]:
    """Two saves can both pass the "is it taken?" check before either commits; the unique index
    then refuses the second. Report that as the same field error, not a database error. (Wrap
    the whole transaction: on PostgreSQL a failed statement aborts it.)"""
    try:
        yield
    except Exception as exc:
        if _is_unique_violation(exc):
            raise ValidationFailed({field: message}) from exc
        raise


def _site_taken() -> Any:
    return _taken("name_zh", _("A site with this name already exists."))


def _code_taken() -> Any:
    return _taken("code", _("An asset with this code already exists."))


def _fields(struct: msgspec.Struct, *, skip: Iterable[str] = ("version",)) -> dict[str, Any]:
    return {k: v for k, v in msgspec.structs.asdict(struct).items() if k not in skip}


def _stale(kind: str) -> Conflict:
    return Conflict(
        _("Someone else saved this %(kind)s while you were editing. Your changes were not saved.")
        % {"kind": kind}
    )


# --- sites ---------------------------------------------------------------------------------

SITE_FIELDS = ("name_zh", "name_en", "kind", "address", "lat", "lng")


def site_snapshot(site: Site) -> dict[str, Any]:
    return {name: getattr(site, name) for name in SITE_FIELDS}


async def list_sites(actor: Actor) -> list[SiteOut]:
    require(actor, Perm.ASSETS_VIEW)
    sites = await Site.objects().order_by(Site.name_zh)
    counts = {
        row["site"]: int(row["n"])
        for row in await Asset.raw("SELECT site, COUNT(*) AS n FROM asset GROUP BY site")
    }
    return [site_out(site, counts.get(site.id, 0)) for site in sites]


def site_out(site: Site, asset_count: int = 0) -> SiteOut:
    return SiteOut(
        id=site.id,
        asset_count=asset_count,
        version=site.version,
        created_at=site.created_at,
        updated_at=site.updated_at,
        **site_snapshot(site),
    )


async def find_site(site_id: int) -> Site | None:
    if not _valid_id(site_id):
        return None
    return await Site.objects().where(Site.id == site_id).first()


async def get_site(actor: Actor, site_id: int) -> Site:
    require(actor, Perm.ASSETS_VIEW)
    site = await find_site(site_id)
    if site is None:
        raise NotFound(_("No such site."))
    return site


def _coordinates_error(lat: float | None, lng: float | None) -> dict[str, str]:
    if (lat is None) != (lng is None):
        return {"lng" if lng is None else "lat": _("Give both latitude and longitude, or neither.")}
    return {}


async def _check_site(data: SiteIn, site_id: int | None = None) -> None:
    errors = _coordinates_error(data.lat, data.lng)
    query = Site.exists().where(Site.name_zh == data.name_zh.strip())
    if site_id is not None:
        query = query.where(Site.id != site_id)
    if await query:
        errors["name_zh"] = _("A site with this name already exists.")
    if errors:
        raise ValidationFailed(errors)


def _site_values(data: SiteIn) -> dict[str, Any]:
    values = _fields(data)
    for key in ("name_zh", "name_en", "address"):
        values[key] = values[key].strip()
    return values


async def site_detail(actor: Actor, site_id: int) -> SiteOut:
    """One site as the API shows it, with its number of assets."""
    site = await get_site(actor, site_id)
    return site_out(site, await Asset.count().where(Asset.site == site.id))


async def create_site(actor: Actor, data: SiteIn, now: dt.datetime) -> Site:
    require(actor, Perm.ASSETS_EDIT)
    async with _site_taken(), db.transaction():
        await _check_site(data)
        site = Site(**_site_values(data), created_at=now, updated_at=now)
        await site.save()
        await audit.record(actor, "site.created", "site", site.id, now, after=site_snapshot(site))
    return site


async def update_site(actor: Actor, site_id: int, data: SiteIn, now: dt.datetime) -> Site:
    require(actor, Perm.ASSETS_EDIT)
    async with _site_taken(), db.transaction():
        site = await get_site(actor, site_id)
        await _check_site(data, site.id)
        before = site_snapshot(site)
        values = {getattr(Site, k): v for k, v in _site_values(data).items()}
        await _versioned_update(Site, site.id, data.version, values, now, _("site"))
        site = await get_site(actor, site_id)
        await audit.record(actor, "site.updated", "site", site.id, now, before, site_snapshot(site))
    return site


async def _versioned_update(
    table: Any,
    row_id: int,
    expected: int | None,
    values: dict[Any, Any],
    now: dt.datetime,
    kind: str,
) -> None:
    """UPDATE ... WHERE id = ? AND version = ?: a stale form or API call changes nothing."""
    if expected is None:
        raise ValidationFailed({"version": _("The record version is missing; reload and retry.")})
    values = {**values, table.updated_at: now, table.version: expected + 1}
    changed = (
        await table.update(values)
        .where((table.id == row_id) & (table.version == expected))
        .returning(table.id)
    )
    if not changed:
        raise _stale(kind)


# --- assets --------------------------------------------------------------------------------

ASSET_FIELDS = tuple(name for name in AssetIn.__struct_fields__ if name not in {"version"})


def asset_snapshot(asset: Asset) -> dict[str, Any]:
    values = {name: getattr(asset, name) for name in ASSET_FIELDS if name != "site_id"}
    values["site_id"] = asset.site.id if isinstance(asset.site, Site) else asset.site
    return values


StatusSource = Callable[[Iterable[int], dt.datetime], Awaitable[dict[int, OperationalStatus]]]
_status_source: StatusSource | None = None


def use_status_source(source: StatusSource) -> None:
    """Plug in the derivation of operational status from closures.

    Closures sit above assets in the dependency order (a closure names an asset), so the
    register cannot import them; the composition root (``facilities.app.create_app``) passes
    ``closures.services.operational_statuses`` here once. Without it, nothing is closed.
    """
    global _status_source
    _status_source = source


async def operational_statuses(
    asset_ids: Iterable[int], now: dt.datetime
) -> dict[int, OperationalStatus]:
    """Each asset's operational status, derived from its closures in force at ``now``."""
    ids = list(asset_ids)
    if _status_source is None:
        return dict.fromkeys(ids, OperationalStatus.IN_SERVICE)
    return await _status_source(ids, now)


@dataclasses.dataclass(frozen=True)
class AssetRow:
    """An asset with its site's name and derived status, as lists and pages show it."""

    asset: Asset
    site_name_zh: str
    site_name_en: str
    operational_status: OperationalStatus


def _asset_conditions(filters: AssetFilters) -> list[Any]:
    conditions: list[Any] = []
    term = filters.q.strip()
    if term:
        conditions.append(
            contains(Asset.code, term)
            | contains(Asset.name_zh, term)
            | contains(Asset.name_en, term)
        )
    if filters.site is not None:
        # An id that cannot exist matches nothing (and never reaches PostgreSQL as an overflow).
        conditions.append(Asset.site == (filters.site if _valid_id(filters.site) else 0))
    if filters.type is not None:
        conditions.append(Asset.asset_type == filters.type)
    if filters.status is not None:
        conditions.append(Asset.lifecycle == filters.status)
    return conditions


def _asset_query(filters: AssetFilters) -> Any:
    return Asset.objects(Asset.site).where(*_asset_conditions(filters))


async def list_assets(actor: Actor, filters: AssetFilters, now: dt.datetime) -> Page[AssetRow]:
    require(actor, Perm.ASSETS_VIEW)
    total = await Asset.count().where(*_asset_conditions(filters))
    offset = (filters.page - 1) * filters.per_page
    assets = await _asset_query(filters).order_by(Asset.code).offset(offset).limit(filters.per_page)
    return Page(
        items=await _rows(assets, now), number=filters.page, per_page=filters.per_page, total=total
    )


async def iter_assets(
    actor: Actor, filters: AssetFilters, now: dt.datetime, batch: int = 500
) -> Any:
    """Every asset matching ``filters`` (all pages), for exports."""
    require(actor, Perm.ASSETS_VIEW)
    last_code = ""
    while True:
        assets = (
            await _asset_query(filters)
            .where(Asset.code > last_code)
            .order_by(Asset.code)
            .limit(batch)
        )
        if not assets:
            return
        for row in await _rows(assets, now):
            yield row
        last_code = assets[-1].code


async def _rows(assets: list[Asset], now: dt.datetime) -> list[AssetRow]:
    statuses = await operational_statuses((a.id for a in assets), now)
    return [
        AssetRow(
            asset=a,
            site_name_zh=a.site.name_zh,
            site_name_en=a.site.name_en,
            operational_status=statuses[a.id],
        )
        for a in assets
    ]


async def load_asset(actor: Actor, asset_id: int) -> Asset:
    """The asset with its site, for a reader (404 when there is none); no derived status."""
    require(actor, Perm.ASSETS_VIEW)
    asset = None
    if _valid_id(asset_id):
        asset = await Asset.objects(Asset.site).where(Asset.id == asset_id).first()
    if asset is None:
        raise NotFound(_("No such asset."))
    return asset


async def get_asset(actor: Actor, asset_id: int, now: dt.datetime) -> AssetRow:
    """The asset as the register shows it, with its operational status at ``now``."""
    return (await _rows([await load_asset(actor, asset_id)], now))[0]


async def find_asset_by_code(code: str) -> Asset | None:
    return await Asset.objects().where(Asset.code == code).first()


def asset_out(row: AssetRow) -> AssetOut:
    a = row.asset
    values = asset_snapshot(a)
    return AssetOut(
        id=a.id,
        site_name_zh=row.site_name_zh,
        operational_status=row.operational_status,
        version=a.version,
        created_at=a.created_at,
        updated_at=a.updated_at,
        **values,
    )


async def _check_asset(data: AssetIn, now: dt.datetime, asset_id: int | None = None) -> None:
    errors: dict[str, str] = {}
    if await find_site(data.site_id) is None:
        errors["site_id"] = _("Choose an existing site.")
    same_code = Asset.exists().where(Asset.code == data.code)
    if asset_id is not None:
        same_code = same_code.where(Asset.id != asset_id)
    if await same_code:
        errors["code"] = _("An asset with this code already exists.")
    latest = _latest_local_date(now)
    if data.built_year is not None and data.built_year > latest.year:
        errors["built_year"] = _("The year built cannot be in the future.")
    if data.condition_graded_on is not None and data.condition_graded_on > latest:
        errors["condition_graded_on"] = _("The grading date cannot be in the future.")
    errors.update(_coordinates_error(data.lat, data.lng))
    if errors:
        raise ValidationFailed(errors)


def _text(value: str) -> str:
    """Trimmed, with line breaks stored as ``\n`` (browsers send ``\r\n`` from a textarea), so a
    value reads back the same from a form, the API, a CSV file or the command line."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def _asset_values(data: AssetIn) -> dict[str, Any]:
    values = _fields(data)
    values["site"] = values.pop("site_id")
    for key in ("name_zh", "name_en", "location_note", "description"):
        values[key] = _text(values[key])
    return values


async def create_asset(actor: Actor, data: AssetIn, now: dt.datetime) -> Asset:
    require(actor, Perm.ASSETS_EDIT)
    async with _code_taken(), db.transaction():
        await _check_asset(data, now)
        asset = Asset(**_asset_values(data), created_at=now, updated_at=now)
        await asset.save()
        await audit.record(
            actor, "asset.created", "asset", asset.id, now, after=asset_snapshot(asset)
        )
    return asset


async def update_asset(actor: Actor, asset_id: int, data: AssetIn, now: dt.datetime) -> Asset:
    require(actor, Perm.ASSETS_EDIT)
    async with _code_taken(), db.transaction():
        current = await load_asset(actor, asset_id)
        await _check_asset(data, now, current.id)
        before = asset_snapshot(current)
        values = {getattr(Asset, k): v for k, v in _asset_values(data).items()}
        await _versioned_update(Asset, current.id, data.version, values, now, _("asset"))
        asset = await load_asset(actor, current.id)
        await audit.record(
            actor, "asset.updated", "asset", asset.id, now, before, asset_snapshot(asset)
        )
    return asset


# --- components ----------------------------------------------------------------------------

COMPONENT_FIELDS = tuple(n for n in ComponentIn.__struct_fields__ if n != "version")


def component_snapshot(component: Component) -> dict[str, Any]:
    return {
        name: getattr(component, "parent" if name == "parent_id" else name)
        for name in COMPONENT_FIELDS
    }


async def list_components(actor: Actor, asset_id: int) -> list[ComponentOut]:
    """The asset's components in tree order (each parent followed by its children)."""
    await load_asset(actor, asset_id)
    rows = await Component.objects().where(Component.asset == asset_id)
    children: dict[int | None, list[Component]] = {}
    for row in rows:
        children.setdefault(row.parent, []).append(row)
    ordered: list[ComponentOut] = []

    def walk(parent: int | None, depth: int) -> None:
        for row in sorted(children.get(parent, []), key=lambda c: (c.position, c.id)):
            ordered.append(component_out(row, depth))
            walk(row.id, depth + 1)

    walk(None, 0)
    return ordered


def component_out(row: Component, depth: int = 0) -> ComponentOut:
    values = component_snapshot(row)
    return ComponentOut(id=row.id, asset_id=row.asset, depth=depth, version=row.version, **values)


async def _parents(asset_id: int) -> dict[int, int | None]:
    """Component id -> parent id, for every component of one asset."""
    rows = await Component.select(Component.id, Component.parent).where(Component.asset == asset_id)
    return {row["id"]: row["parent"] for row in rows}


async def component_depth(row: Component) -> int:
    """How many ancestors a component has (0 at the top of its asset's tree)."""
    parents = await _parents(row.asset)
    depth, seen, cursor = 0, {row.id}, parents.get(row.id, row.parent)
    while cursor is not None and cursor not in seen:
        seen.add(cursor)
        depth += 1
        cursor = parents.get(cursor)
    return depth


async def component_detail(actor: Actor, component_id: int) -> ComponentOut:
    """One component as the API shows it, with its depth in the tree."""
    row = await get_component(actor, component_id)
    return component_out(row, await component_depth(row))


async def get_component(actor: Actor, component_id: int) -> Component:
    require(actor, Perm.ASSETS_VIEW)
    row = None
    if _valid_id(component_id):
        row = await Component.objects().where(Component.id == component_id).first()
    if row is None:
        raise NotFound(_("No such component."))
    return row


async def _check_parent(asset_id: int, parent_id: int | None, component_id: int | None) -> None:
    if parent_id is None:
        return
    parents = await _parents(asset_id)
    if parent_id not in parents:
        raise ValidationFailed({"parent_id": _("Choose a component of the same asset.")})
    seen: set[int] = set()
    cursor: int | None = parent_id
    while cursor is not None and cursor not in seen:
        if cursor == component_id:
            raise ValidationFailed(
                {"parent_id": _("A component cannot be placed under itself or its own parts.")}
            )
        seen.add(cursor)
        cursor = parents.get(cursor)


def _component_values(data: ComponentIn) -> dict[str, Any]:
    values = _fields(data)
    values["parent"] = values.pop("parent_id")
    return values


async def create_component(
    actor: Actor, asset_id: int, data: ComponentIn, now: dt.datetime
) -> Component:
    require(actor, Perm.ASSETS_EDIT)
    async with db.transaction():
        asset = await load_asset(actor, asset_id)
        await _check_parent(asset.id, data.parent_id, None)
        row = Component(asset=asset.id, **_component_values(data), created_at=now, updated_at=now)
        await row.save()
        await audit.record(
            actor, "component.created", "asset", asset.id, now, after=component_snapshot(row)
        )
    return row


async def update_component(
    actor: Actor, component_id: int, data: ComponentIn, now: dt.datetime
) -> Component:
    require(actor, Perm.ASSETS_EDIT)
    async with db.transaction():
        row = await get_component(actor, component_id)
        await _check_parent(row.asset, data.parent_id, row.id)
        before = component_snapshot(row)
        values = {getattr(Component, k): v for k, v in _component_values(data).items()}
        await _versioned_update(Component, row.id, data.version, values, now, _("component"))
        row = await get_component(actor, component_id)
        # Component changes are part of the asset's history, so they are filed under the asset.
        await audit.record(
            actor, "component.updated", "asset", row.asset, now, before, component_snapshot(row)
        )
    return row


# --- public view ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PublicAsset:
    """What a citizen may see of an asset: names, kind, place, open or closed. Nothing else."""

    id: int
    name_zh: str
    name_en: str
    asset_type: str
    operational_status: OperationalStatus


@dataclasses.dataclass(frozen=True)
class PublicSite:
    id: int
    name_zh: str
    name_en: str
    assets: list[PublicAsset]


async def public_register(now: dt.datetime) -> list[PublicSite]:
    """Sites with their in-use facilities and each one's operational status."""
    sites = await Site.select(Site.id, Site.name_zh, Site.name_en).order_by(Site.name_zh)
    rows = await (
        Asset.select(Asset.id, Asset.name_zh, Asset.name_en, Asset.asset_type, Asset.site)
        .where(Asset.lifecycle == "in_use")
        .order_by(Asset.name_zh)
    )
    statuses = await operational_statuses((r["id"] for r in rows), now)
    by_site: dict[int, list[PublicAsset]] = {}
    for r in rows:
        by_site.setdefault(r["site"], []).append(
            PublicAsset(r["id"], r["name_zh"], r["name_en"], r["asset_type"], statuses[r["id"]])
        )
    return [
        PublicSite(s["id"], s["name_zh"], s["name_en"], by_site.get(s["id"], []))
        for s in sites
        if by_site.get(s["id"])
    ]


async def all_asset_choices(actor: Actor) -> list[dict[str, Any]]:
    """id, code and names of every asset in use, for pickers in other domains' forms."""
    require(actor, Perm.ASSETS_VIEW)
    return await (
        Asset.select(Asset.id, Asset.code, Asset.name_zh, Asset.name_en)
        .where(Asset.lifecycle != "decommissioned")
        .order_by(Asset.code)
    )


async def set_condition_grade(
    actor: Actor, asset_id: int, grade: str, graded_on: dt.date, now: dt.datetime
) -> None:
    require(actor, Perm.ASSETS_EDIT)
    if not _valid_id(asset_id) or grade not in {g.value for g in ConditionGrade}:
        raise NotFound(_("No such asset."))
    """Record the grade of a final inspection as the asset's current condition (audited, and a
    new version, so an edit form opened before it conflicts instead of overwriting it)."""
    async with db.transaction():
        asset = await Asset.objects().where(Asset.id == asset_id).first()
        if asset is None:
            raise NotFound(_("No such asset."))
        before = {
            "condition_grade": asset.condition_grade,
            "condition_graded_on": asset.condition_graded_on,
        }
        await Asset.update(
            {
                Asset.condition_grade: grade,
                Asset.condition_graded_on: graded_on,
                Asset.updated_at: now,
                Asset.version: Asset.version + 1,
            }
        ).where(Asset.id == asset_id)
        await audit.record(
            actor,
            "asset.graded",
            "asset",
            asset_id,
            now,
            before,
            {"condition_grade": grade, "condition_graded_on": graded_on},
        )
