"""The public register of facilities: sites, with their facilities in use and each one's
operational status at a given time (derived from closures by the one rule in
``services.operational_statuses``)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from facilities.assets.tables import Asset, Site
from facilities.records import valid_id


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
    if not valid_id(site_id):
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
