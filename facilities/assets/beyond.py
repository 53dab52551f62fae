"""What the register's pages need from the domains above it, named here and provided by the app.

The register sits at the bottom of the domains (a ticket, an inspection, a closure each name an
asset), so its pages cannot import them. Two things still span them: the asset page shows the
asset's tickets, schedules, inspections and closures, and a new asset gets the policy's default
inspection schedules. The pages declare these as parameters typed with the Protocols below;
``facilities.app`` provides the implementations (``facilities.asset_file``) as Litestar
dependencies (runtime-checkable: Litestar checks each value against its type), so every
import still runs down.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from facilities.accounts.permissions import Actor
from facilities.assets.schemas import AssetIn
from facilities.assets.tables import Asset


@runtime_checkable
class AssetFile(Protocol):
    """The asset page's view of the domains above the register: template values by name."""

    async def __call__(self, actor: Actor, asset_id: int, now: dt.datetime) -> dict[str, Any]: ...


@runtime_checkable
class Commission(Protocol):
    """Create an asset with its default inspection schedules: both or neither."""

    async def __call__(
        self, actor: Actor, data: AssetIn, zone: ZoneInfo, now: dt.datetime
    ) -> Asset: ...
