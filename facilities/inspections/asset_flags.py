"""What the staff asset map marks on an asset from the domains above the register: its open P0/P1
tickets and whether an inspection is due or overdue. The register declares the slot
(:func:`facilities.assets.services.map_view.use_flag_source`); ``facilities.wiring`` plugs
:func:`asset_flags` into it. Inspections sit above tickets, so this is the lowest place that may
read both."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

from facilities.assets.services.map_view import MapFlags
from facilities.inspections.services.common import OPEN_STATES
from facilities.inspections.services.schedules import DUE_SOON
from facilities.inspections.tables import Inspection
from facilities.tickets.services.urgent import open_urgent_counts


async def due_states(now: dt.datetime, asset_ids: Sequence[int] | None = None) -> dict[int, str]:
    """asset id -> "overdue" (an open inspection past its window, or past its due time when it
    has none) or "due" (one due within :data:`DUE_SOON`), of ``asset_ids`` when given (the
    assets in view: few rows, so few timestamps to read)."""
    if asset_ids is not None and not asset_ids:
        return {}
    query = Inspection.select(Inspection.asset, Inspection.due_at, Inspection.window_ends_at).where(
        Inspection.state.is_in(list(OPEN_STATES)) & (Inspection.due_at <= now + DUE_SOON)
    )
    if asset_ids is not None:
        query = query.where(Inspection.asset.is_in(list(asset_ids)))
    states: dict[int, str] = {}
    for r in await query:
        overdue = (r["window_ends_at"] or r["due_at"]) < now
        asset = int(r["asset"])
        if overdue or asset not in states:
            states[asset] = "overdue" if overdue else "due"
    return states


async def asset_flags(now: dt.datetime, asset_ids: Sequence[int] | None = None) -> MapFlags:
    """Urgent tickets are counted for every asset (a short answer either way); due states only
    for ``asset_ids`` when given. The two reads run side by side: on SQLite each statement
    opens its own connection, and waiting for one before the other doubled that cost."""
    urgent, due = await asyncio.gather(open_urgent_counts(), due_states(now, asset_ids))
    return MapFlags(urgent=urgent, due=due)
