"""Bodies for the permission matrix's import routes: a CSV of one new asset to check, and a
file already checked (staged, as the dry run leaves it) to confirm."""

from __future__ import annotations

from typing import Any

from facilities.assets import importing
from facilities.assets.tables import Site
from tests.kit.permission_world import World


async def _csv(world: World, who: str) -> bytes:
    site = await Site.objects().get(Site.id == world.site)
    code = f"GX-MX-{who.upper()}"
    return f"code,name_zh,asset_type,site\r\n{code},矩阵导入,footbridge,{site.name_zh}\r\n".encode()


async def import_check(world: World, who: str) -> dict[str, Any]:
    return {"file": ("assets.csv", await _csv(world, who), "text/csv")}


async def import_confirm(world: World, who: str) -> dict[str, Any]:
    data = await _csv(world, who)
    actor = world.actors.get(who) or world.actors["alice"]  # anonymous: turned away first
    token = importing.stage(world.media, actor, data, world.now)
    return {"token": token, "sha256": importing.digest(data)}
