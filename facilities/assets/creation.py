"""Creating an asset from a page or the API: the asset and its default inspection schedules,
both or neither.

This composes two domains (inspections sit above the register, so the register's services
cannot call them); the pages and the API share it.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from facilities import db
from facilities.accounts.permissions import Actor
from facilities.assets import services as assets
from facilities.assets.schemas import AssetIn
from facilities.inspections import services as inspections
from facilities.web.clock import now_of


async def create_with_schedules(
    request: Request[Any, Any, Any], actor: Actor, data: AssetIn
) -> Any:
    """A new asset gets the policy's default inspection schedules for its type and grade."""
    now = now_of(request)
    async with db.transaction():  # both or neither
        asset = await assets.create_asset(actor, data, now)
        await inspections.apply_default_schedules(
            actor, asset.id, request.app.state.settings.zone, now
        )
    return asset
