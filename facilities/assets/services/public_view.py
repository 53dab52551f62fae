"""What a citizen may see of the register: sites with their facilities in use, each with its
operational status (open or closed). Nothing else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from facilities.assets.choices import OperationalStatus
from facilities.assets.services.assets import operational_statuses
from facilities.assets.tables import Asset, Site


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


@dataclasses.dataclass(frozen=True)
class PublicPlace:
    """A drawing a citizen's map may show: a site (its boundary and water) or a facility in use
    (its line or area). Geometry is the stored GeoJSON text in WGS-84, "" when not drawn."""

    kind: str  # "site" or "asset"
    id: int
    name_zh: str
    name_en: str
    asset_type: str  # "" for a site
    geometry: str
    water: str = ""


async def public_places() -> list[PublicPlace]:
    """Every site with a boundary or water, and every drawn facility in use (never one under
    construction or decommissioned): the data of the offline basemap."""
    sites = await Site.select(
        Site.id, Site.name_zh, Site.name_en, Site.boundary, Site.water
    ).order_by(Site.id)
    rows = await (
        Asset.select(Asset.id, Asset.name_zh, Asset.name_en, Asset.asset_type, Asset.geometry)
        .where((Asset.lifecycle == "in_use") & (Asset.geometry != ""))
        .order_by(Asset.id)
    )
    places = [
        PublicPlace("site", s["id"], s["name_zh"], s["name_en"], "", s["boundary"], s["water"])
        for s in sites
        if s["boundary"] or s["water"]
    ]
    places.extend(
        PublicPlace("asset", r["id"], r["name_zh"], r["name_en"], r["asset_type"], r["geometry"])
        for r in rows
    )
    return places
