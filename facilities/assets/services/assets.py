"""Assets: the facilities of the register. Lists filtered and paged, one asset with its
operational status (derived from closures, plugged in by the app), create and edit (a unique
code; dates not in the future; a version checked on every edit), the pickers of other domains'
forms, and the condition grade a final inspection records.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from shapely.geometry.base import BaseGeometry

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.assets.choices import ConditionGrade, OperationalStatus
from facilities.assets.schemas import AssetFilters, AssetIn, AssetOut
from facilities.assets.services.checks import _coordinates_error, _fields, _taken
from facilities.assets.services.places import check_shape, geometry_object, place_values
from facilities.assets.services.search import contains
from facilities.assets.services.sites import find_site, site_boundary
from facilities.assets.tables import Asset, Site
from facilities.audit import services as audit
from facilities.errors import NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib import geo
from facilities.lib.pagination import Page
from facilities.records import box_meets, get_or_404, stale, valid_id, versioned_update

# The widest UTC offset in use (Kiribati, UTC+14): a date or year is "in the future" only when it
# is in the future everywhere. Services do not know the bureau's zone; with this bound a value
# typed in the morning in Shanghai (still yesterday in UTC) is never refused as "future".
_LATEST_OFFSET = dt.timedelta(hours=14)


def _latest_local_date(now: dt.datetime) -> dt.date:
    """The latest calendar date anywhere on Earth at ``now``."""
    return (now.astimezone(dt.UTC) + _LATEST_OFFSET).date()


def _code_taken() -> Any:
    return _taken("code", _("An asset with this code already exists."))


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
        conditions.append(Asset.site == (filters.site if valid_id(filters.site) else 0))
    if filters.type is not None:
        conditions.append(Asset.asset_type == filters.type)
    if filters.status is not None:
        conditions.append(Asset.lifecycle == filters.status)
    if filters.bbox.strip():
        conditions.append(box_meets(Asset, geo.parse_bbox(filters.bbox, "bbox")))
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


def iter_assets(
    actor: Actor, filters: AssetFilters, now: dt.datetime, batch: int = 500
) -> AsyncIterator[AssetRow]:
    """Every asset matching ``filters`` (all pages), for exports. The permission and the filters
    are checked here, before the first row is asked for: a streamed download that has started
    can no longer become an error page."""
    require(actor, Perm.ASSETS_VIEW)
    conditions = _asset_conditions(filters)

    async def rows() -> AsyncIterator[AssetRow]:
        last_code = ""
        while True:
            assets = (
                await Asset.objects(Asset.site)
                .where(*conditions)
                .where(Asset.code > last_code)
                .order_by(Asset.code)
                .limit(batch)
            )
            if not assets:
                return
            for row in await _rows(assets, now):
                yield row
            last_code = assets[-1].code

    return rows()


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
    asset: Asset = await get_or_404(Asset.objects(Asset.site), Asset, asset_id, _("No such asset."))
    return asset


async def get_asset(actor: Actor, asset_id: int, now: dt.datetime) -> AssetRow:
    """The asset as the register shows it, with its operational status at ``now``."""
    return (await _rows([await load_asset(actor, asset_id)], now))[0]


async def find_asset_by_code(code: str) -> Asset | None:
    return await Asset.objects().where(Asset.code == code).first()


def asset_out(row: AssetRow) -> AssetOut:
    a = row.asset
    values = asset_snapshot(a)
    values["geometry"] = geometry_object(values["geometry"])
    return AssetOut(
        id=a.id,
        site_name_zh=row.site_name_zh,
        operational_status=row.operational_status,
        version=a.version,
        created_at=a.created_at,
        updated_at=a.updated_at,
        **values,
    )


async def _check_asset(
    data: AssetIn, now: dt.datetime, asset_id: int | None = None
) -> BaseGeometry | None:
    """Raise ``ValidationFailed`` with every field's error; return the geometry read."""
    shape, errors = check_shape(data)
    site = await find_site(data.site_id)
    if site is None:
        errors["site_id"] = _("Choose an existing site.")
    elif shape is not None:
        boundary = site_boundary(site)
        if boundary is not None:
            try:
                geo.check_within(shape, boundary, "geometry")
            except ValidationFailed as exc:
                errors.update(exc.errors)
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
    return shape


def _text(value: str) -> str:
    """Trimmed, with line breaks stored as ``\n`` (browsers send ``\r\n`` from a textarea), so a
    value reads back the same from a form, the API, a CSV file or the command line."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def _asset_values(data: AssetIn, shape: BaseGeometry | None) -> dict[str, Any]:
    values = _fields(data)
    values["site"] = values.pop("site_id")
    for key in ("name_zh", "name_en", "location_note", "description"):
        values[key] = _text(values[key])
    values.update(place_values(data, shape))
    return values


async def create_asset(actor: Actor, data: AssetIn, now: dt.datetime) -> Asset:
    require(actor, Perm.ASSETS_EDIT)
    async with _code_taken(), db.transaction():
        shape = await _check_asset(data, now)
        asset = Asset(**_asset_values(data, shape), created_at=now, updated_at=now)
        await asset.save()
        await audit.record(
            actor, "asset.created", "asset", asset.id, now, after=asset_snapshot(asset)
        )
    return asset


async def update_asset(actor: Actor, asset_id: int, data: AssetIn, now: dt.datetime) -> Asset:
    require(actor, Perm.ASSETS_EDIT)
    async with _code_taken(), db.transaction():
        current = await load_asset(actor, asset_id)
        shape = await _check_asset(data, now, current.id)
        before = asset_snapshot(current)
        values = {getattr(Asset, k): v for k, v in _asset_values(data, shape).items()}
        await versioned_update(Asset, current.id, data.version, values, now, stale(_("asset")))
        asset = await load_asset(actor, current.id)
        await audit.record(
            actor, "asset.updated", "asset", asset.id, now, before, asset_snapshot(asset)
        )
    return asset


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
    """Record the grade of a final inspection as the asset's current condition (audited, and a
    new version, so an edit form opened before it conflicts instead of overwriting it)."""
    require(actor, Perm.ASSETS_EDIT)
    if not valid_id(asset_id) or grade not in {g.value for g in ConditionGrade}:
        raise NotFound(_("No such asset."))
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
