"""Open P0/P1 tickets counted per asset, for the staff asset map's markers and its "has open
P0/P1" filter. Urgent tickets are few (they are made safe within a day or a week): the whole set
is read when the map filters by it, else only for the assets in view."""

from __future__ import annotations

from collections.abc import Sequence

from piccolo.query.functions.aggregate import Count

from facilities.tickets.choices import OPEN_STATUSES, Priority
from facilities.tickets.tables import RepairTicket

URGENT = (Priority.P0, Priority.P1)


async def open_urgent_counts(asset_ids: Sequence[int] | None = None) -> dict[int, int]:
    """asset id -> open P0 and P1 tickets on it (of ``asset_ids`` when given; assets with none
    are left out)."""
    if asset_ids is not None and not asset_ids:
        return {}
    query = RepairTicket.select(RepairTicket.asset, Count(RepairTicket.id, alias="n")).where(
        RepairTicket.priority.is_in([p.value for p in URGENT])
        & RepairTicket.status.is_in(sorted(OPEN_STATUSES))
    )
    if asset_ids is not None:
        query = query.where(RepairTicket.asset.is_in(list(asset_ids)))
    return {int(r["asset"]): int(r["n"]) for r in await query.group_by(RepairTicket.asset)}
