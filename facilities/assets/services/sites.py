"""Sites: the parks, squares and streets that hold the assets. Read them, create and edit them
(a unique Chinese name; coordinates in pairs; a version checked on every edit).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from shapely.geometry.base import BaseGeometry

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.assets.schemas import SiteIn, SiteOut
from facilities.assets.services.checks import _coordinates_error, _fields, _taken
from facilities.assets.tables import Asset, Site
from facilities.audit import services as audit
from facilities.errors import NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib import geo
from facilities.records import stale, valid_id, versioned_update


def _site_taken() -> Any:
    return _taken("name_zh", _("A site with this name already exists."))


SITE_FIELDS = ("name_zh", "name_en", "kind", "address", "lat", "lng", "boundary", "water")

#: What a site's outline may be: one area, or several (a park on both banks of a river).
_BOUNDARY_TYPES = ("Polygon", "MultiPolygon")


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
    values = site_snapshot(site)
    values["boundary"] = json.loads(site.boundary) if site.boundary else None
    values["water"] = json.loads(site.water) if site.water else None
    return SiteOut(
        id=site.id,
        asset_count=asset_count,
        version=site.version,
        created_at=site.created_at,
        updated_at=site.updated_at,
        **values,
    )


def site_boundary(site: Site) -> BaseGeometry | None:
    """The site's stored outline as a shape, None when it has none."""
    if not site.boundary:
        return None
    return geo.parse_geometry(site.boundary, "boundary", _BOUNDARY_TYPES)


async def find_site(site_id: int) -> Site | None:
    if not valid_id(site_id):
        return None
    return await Site.objects().where(Site.id == site_id).first()


async def get_site(actor: Actor, site_id: int) -> Site:
    require(actor, Perm.ASSETS_VIEW)
    site = await find_site(site_id)
    if site is None:
        raise NotFound(_("No such site."))
    return site


def _read_boundary(data: SiteIn) -> tuple[BaseGeometry | None, dict[str, str]]:
    if not data.boundary.strip():
        return None, {}
    try:
        return geo.parse_geometry(data.boundary, "boundary", _BOUNDARY_TYPES), {}
    except ValidationFailed as exc:
        return None, dict(exc.errors)


def _read_water(data: SiteIn) -> tuple[str, dict[str, str]]:
    """The site's water as stored text ("" for none), or the field's error."""
    if not data.water.strip():
        return "", {}
    try:
        shape = geo.parse_geometry(data.water, "water", _BOUNDARY_TYPES)
    except ValidationFailed as exc:
        return "", dict(exc.errors)
    return geo.dump(shape), {}


async def _check_site(data: SiteIn, site_id: int | None = None) -> BaseGeometry | None:
    """Raise ``ValidationFailed`` with every field's error; return the outline read."""
    shape, errors = _read_boundary(data)
    errors.update(_read_water(data)[1])
    errors.update(_coordinates_error(data.lat, data.lng))
    query = Site.exists().where(Site.name_zh == data.name_zh.strip())
    if site_id is not None:
        query = query.where(Site.id != site_id)
    if await query:
        errors["name_zh"] = _("A site with this name already exists.")
    if errors:
        raise ValidationFailed(errors)
    return shape


def _site_values(data: SiteIn, shape: BaseGeometry | None) -> dict[str, Any]:
    values = _fields(data)
    for key in ("name_zh", "name_en", "address"):
        values[key] = values[key].strip()
    box: tuple[float, float, float, float] | tuple[None, None, None, None]
    if shape is not None:
        box = geo.bbox(shape)
    elif data.lat is not None and data.lng is not None:
        box = (data.lng, data.lat, data.lng, data.lat)
    else:
        box = (None, None, None, None)
    values["boundary"] = "" if shape is None else geo.dump(shape)
    values["bbox_west"], values["bbox_south"], values["bbox_east"], values["bbox_north"] = box
    values["water"] = _read_water(data)[0]
    return values


async def site_detail(actor: Actor, site_id: int) -> SiteOut:
    """One site as the API shows it, with its number of assets."""
    site = await get_site(actor, site_id)
    return site_out(site, await Asset.count().where(Asset.site == site.id))


async def create_site(actor: Actor, data: SiteIn, now: dt.datetime) -> Site:
    require(actor, Perm.ASSETS_EDIT)
    async with _site_taken(), db.transaction():
        shape = await _check_site(data)
        site = Site(**_site_values(data, shape), created_at=now, updated_at=now)
        await site.save()
        await audit.record(actor, "site.created", "site", site.id, now, after=site_snapshot(site))
    return site


async def update_site(actor: Actor, site_id: int, data: SiteIn, now: dt.datetime) -> Site:
    require(actor, Perm.ASSETS_EDIT)
    async with _site_taken(), db.transaction():
        site = await get_site(actor, site_id)
        shape = await _check_site(data, site.id)
        before = site_snapshot(site)
        values = {getattr(Site, k): v for k, v in _site_values(data, shape).items()}
        await versioned_update(Site, site.id, data.version, values, now, stale(_("site")))
        site = await get_site(actor, site_id)
        await audit.record(actor, "site.updated", "site", site.id, now, before, site_snapshot(site))
    return site
