"""Reading closures for staff: one closure, the list, its linked tickets, its promises and its
history, and the operational status of assets derived from the closures that hold.

Nothing here writes; the public reading of closures (only public fields) is
:mod:`facilities.closures.public`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.assets.choices import OperationalStatus
from facilities.audit import services as audit
from facilities.closures.choices import IN_FORCE, Scope, Status
from facilities.closures.services.common import DONE_TICKET_STATUSES, IRRELEVANT_TICKET_STATUSES
from facilities.closures.tables import Closure, ClosurePromise, ClosureTicket
from facilities.errors import NotFound
from facilities.i18n import gettext as _
from facilities.lib import geo
from facilities.records import box_meets, valid_id
from facilities.tickets.tables import RepairTicket

#: Up to this many asset ids, :func:`operational_statuses` filters them in SQL.
SMALL_ID_LIST = 500


async def find_closure(closure_id: int) -> Closure | None:
    if not valid_id(closure_id):
        return None
    return await Closure.objects().where(Closure.id == closure_id).first()


async def get_closure(actor: Actor, closure_id: int) -> Closure:
    require(actor, Perm.CLOSURES_VIEW)
    closure = await find_closure(closure_id)
    if closure is None:
        raise NotFound(_("No such closure."))
    return closure


async def list_closures(
    actor: Actor,
    statuses: Iterable[str] | None = None,
    asset_id: int | None = None,
    bbox: str = "",
) -> list[dict[str, Any]]:
    """Closures, newest start first (at most 500). ``bbox`` ("west,south,east,north") keeps
    those whose drawings, or whose facility, meet the box (a malformed box: 400 naming bbox)."""
    require(actor, Perm.CLOSURES_VIEW)
    query = Closure.select(
        *Closure.all_columns(),
        Closure.asset.code.as_alias("asset_code"),
        Closure.asset.name_zh.as_alias("asset_name_zh"),
        Closure.asset.name_en.as_alias("asset_name_en"),
    )
    if statuses:
        query = query.where(Closure.status.is_in(list(statuses)))
    if asset_id is not None:
        query = query.where(Closure.asset == asset_id)
    if bbox.strip():
        box = geo.parse_bbox(bbox, "bbox")
        query = query.where(box_meets(Closure, box) | box_meets(Closure.asset, box))
    return await query.order_by(Closure.effective_from, ascending=False).limit(500)


async def operational_statuses(
    asset_ids: Iterable[int], now: dt.datetime
) -> dict[int, OperationalStatus]:
    """Derived from closures in force: a full closure closes the asset, any other restricts it.

    A lifted closure whose announced reopening time has not come yet still holds: the facility
    reopens at ``reopens_at``, not at the moment somebody pressed "lift"."""
    ids = list(asset_ids)
    statuses = dict.fromkeys(ids, OperationalStatus.IN_SERVICE)
    if not ids:
        return statuses
    holding = (Closure.effective_from <= now) & (
        Closure.status.is_in(sorted(IN_FORCE))
        | ((Closure.status == Status.LIFTED) & (Closure.reopens_at > now))
    )
    # For a long list (the public register) read the closures that hold and match in Python:
    # they are few, and an IN list of every asset id would exceed PostgreSQL's 32,767 bound
    # parameters per statement.
    if len(ids) <= SMALL_ID_LIST:
        holding = holding & Closure.asset.is_in(ids)
    rows = await Closure.select(Closure.asset, Closure.scope).where(holding)
    for row in rows:
        if row["asset"] not in statuses:
            continue
        if row["scope"] == Scope.FULL:
            statuses[row["asset"]] = OperationalStatus.CLOSED
        elif statuses[row["asset"]] != OperationalStatus.CLOSED:
            statuses[row["asset"]] = OperationalStatus.RESTRICTED
    return statuses


async def linked_tickets(closure_id: int) -> list[dict[str, Any]]:
    return (
        await ClosureTicket.select(
            ClosureTicket.id,
            ClosureTicket.ticket,
            ClosureTicket.public_label_zh,
            ClosureTicket.public_label_en,
            ClosureTicket.ticket.status.as_alias("status"),
            ClosureTicket.ticket.title.as_alias("title"),
            ClosureTicket.ticket.updated_at.as_alias("ticket_updated_at"),
        )
        .where(ClosureTicket.closure == closure_id)
        .order_by(ClosureTicket.id)
    )


async def linkable_tickets(actor: Actor, closure: Closure) -> list[dict[str, Any]]:
    """The closed asset's tickets not linked yet (open ones first), for the link form."""
    require(actor, Perm.CLOSURES_VIEW)
    linked = [
        r["ticket"]
        for r in await ClosureTicket.select(ClosureTicket.ticket).where(
            ClosureTicket.closure == closure.id
        )
    ]
    query = RepairTicket.select(
        RepairTicket.id, RepairTicket.title, RepairTicket.status, RepairTicket.priority
    ).where(
        (RepairTicket.asset == closure.asset)
        & RepairTicket.status.not_in(sorted(IRRELEVANT_TICKET_STATUSES))
    )
    if linked:
        query = query.where(RepairTicket.id.not_in(linked))
    rows = await query.order_by(RepairTicket.id, ascending=False).limit(200)
    return sorted(rows, key=lambda r: (r["status"] in DONE_TICKET_STATUSES, -r["id"]))


async def history(actor: Actor, closure_id: int) -> list[dict[str, Any]]:
    """The closure's audit trail, newest first."""
    require(actor, Perm.CLOSURES_VIEW)
    return await audit.list_events("closure", closure_id)


async def promises(closure_id: int) -> list[ClosurePromise]:
    return (
        await ClosurePromise.objects()
        .where(ClosurePromise.closure == closure_id)
        .order_by(ClosurePromise.made_at)
        .order_by(ClosurePromise.id)
    )


async def fresh_closure(closure_id: int) -> Closure:
    """The closure as stored now, re-read after a write (it exists: the caller just wrote it)."""
    closure = await find_closure(closure_id)
    assert closure is not None
    return closure


async def count_in_force() -> int:
    return await Closure.count().where(Closure.status.is_in(sorted(IN_FORCE)))
