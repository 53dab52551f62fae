"""Asset register factories with explicit, readable defaults; every argument can be overridden."""

from __future__ import annotations

from typing import Any

from facilities.accounts.permissions import SYSTEM
from facilities.assets import services as assets
from facilities.assets.choices import AssetType
from facilities.assets.schemas import AssetIn, ComponentIn, SiteIn
from facilities.assets.tables import Asset, Component, Site
from tests.kit.constants import NOW

_counter = 0


def _next() -> int:
    global _counter
    _counter += 1
    return _counter


async def make_site(name_zh: str | None = None, **fields: Any) -> Site:
    data = SiteIn(
        name_zh=name_zh or f"测试公园{_next()}",
        name_en=fields.pop("name_en", "Test Park"),
        **fields,
    )
    return await assets.create_site(SYSTEM, data, NOW)


async def make_asset(site: Site | None = None, code: str | None = None, **fields: Any) -> Asset:
    site = site or await make_site()
    values: dict[str, Any] = {
        "code": code or f"GX-T-{_next():04d}",
        "name_zh": "测试人行桥",
        "name_en": "Test footbridge",
        "asset_type": AssetType.FOOTBRIDGE,
        "site_id": site.id,
    }
    values.update(fields)
    return await assets.create_asset(SYSTEM, AssetIn(**values), NOW)


async def make_component(asset: Asset, name_zh: str = "主缆", **fields: Any) -> Component:
    return await assets.create_component(
        SYSTEM, asset.id, ComponentIn(name_zh=name_zh, **fields), NOW
    )
