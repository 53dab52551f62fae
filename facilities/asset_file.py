"""The asset's file: what its page shows from the domains above the register, and commissioning
a new asset with its default inspection schedules.

These span tickets, inspections and closures, which all sit above the asset register, so they
live here, beside the app, and reach the register's pages as Litestar dependencies (the
Protocols in :mod:`facilities.assets.beyond`). Each domain's services stay independent of the
page that composes them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from facilities import db
from facilities.accounts.permissions import Actor
from facilities.assets import services as assets
from facilities.assets.beyond import AssetFile, Commission
from facilities.assets.schemas import AssetIn
from facilities.assets.tables import Asset
from facilities.closures import services as closures
from facilities.inspections import services as inspections
from facilities.tickets import services as tickets
from facilities.tickets.choices import OPEN_STATUSES


async def asset_file(actor: Actor, asset_id: int, now: dt.datetime) -> dict[str, Any]:
    """The asset's tickets, schedules (with their status at ``now``), recent inspections, grade
    history, closure proposals and closures, by the names the asset page uses."""
    ticket_rows = await tickets.tickets_for_asset(actor, asset_id, now)
    schedules = await inspections.list_schedules(actor, asset_id)
    overdue = await inspections.overdue_schedules([s.id for s in schedules], now)
    return {
        "tickets": ticket_rows,
        "open_p0": any(
            t.ticket.priority == "P0" and t.ticket.status in OPEN_STATUSES for t in ticket_rows
        ),
        "schedules": [(s, inspections.schedule_status(s, now, s.id in overdue)) for s in schedules],
        "recent_inspections": await inspections.list_inspections(
            actor, now, asset_id=asset_id, open_only=False, limit=10
        ),
        "grade_history": await inspections.grade_history(asset_id),
        "proposals": await inspections.list_proposals(actor, asset_id),
        "closures": await closures.list_closures(actor, asset_id=asset_id),
    }


async def commission_asset(actor: Actor, data: AssetIn, zone: ZoneInfo, now: dt.datetime) -> Asset:
    """A new asset gets the policy's default inspection schedules for its type and grade."""
    async with db.transaction():  # both or neither
        asset = await assets.create_asset(actor, data, now)
        await inspections.apply_default_schedules(actor, asset.id, zone, now)
    return asset


def provide_asset_file() -> AssetFile:
    return asset_file


def provide_commission() -> Commission:
    return commission_asset
