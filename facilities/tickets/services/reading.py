"""Reading tickets: one ticket with the names its page shows, and lists filtered and paged by
keyset (a cursor of the last row's sort values), for pages, the API and exports.

Every read checks that the actor may view tickets.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from piccolo.columns.combination import WhereRaw

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.accounts.tables import StaffUser
from facilities.assets.services import contains
from facilities.assets.tables import Asset
from facilities.errors import NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.records import valid_id
from facilities.tickets.choices import FINAL_STATUSES, OPEN_STATUSES, TRANSITIONS, Action, Status
from facilities.tickets.schemas import TicketFilters
from facilities.tickets.services.scope import (
    acceptance_refusal,
    is_assigned_to,
    may_act_on,
    may_take,
)
from facilities.tickets.tables import RepairTicket


@dataclasses.dataclass(frozen=True)
class TicketView:
    """A ticket with the names a page shows and what the actor may do next."""

    ticket: RepairTicket
    asset_code: str
    asset_name_zh: str
    asset_name_en: str
    site_id: int
    assignee_name: str
    actions: tuple[Action, ...]
    is_overdue: bool
    can_take: bool = False  # unassigned, and the actor may take it ("Take it")
    accept_refusal: str = ""  # why "accept" is not offered to this actor (completed it)


def is_overdue(ticket: RepairTicket, now: dt.datetime) -> bool:
    return ticket.status in OPEN_STATUSES and ticket.sla_due_at < now


def allowed_actions(actor: Actor, ticket: RepairTicket) -> tuple[Action, ...]:
    """The transitions this actor may start from the ticket's status (the page's buttons):
    none on a ticket that is not theirs to work on (see :mod:`.scope`)."""
    if not may_act_on(actor, ticket):
        return ()
    return tuple(
        t.action for t in TRANSITIONS if ticket.status in t.sources and actor.role in t.roles
    )


async def _views(actor: Actor, tickets: list[RepairTicket], now: dt.datetime) -> list[TicketView]:
    asset_ids = {t.asset for t in tickets}
    user_ids = {t.assignee for t in tickets if t.assignee}
    assets = {
        r["id"]: r
        for r in await Asset.select(
            Asset.id, Asset.code, Asset.name_zh, Asset.name_en, Asset.site
        ).where(Asset.id.is_in(list(asset_ids) or [0]))
    }
    names = {
        r["id"]: r["display_name"]
        for r in await StaffUser.select(StaffUser.id, StaffUser.display_name).where(
            StaffUser.id.is_in(list(user_ids) or [0])
        )
    }
    return [
        TicketView(
            ticket=t,
            asset_code=assets[t.asset]["code"],
            asset_name_zh=assets[t.asset]["name_zh"],
            asset_name_en=assets[t.asset]["name_en"],
            site_id=assets[t.asset]["site"],
            assignee_name=names.get(t.assignee, "") if t.assignee else "",
            actions=allowed_actions(actor, t),
            is_overdue=is_overdue(t, now),
            can_take=may_take(actor, t),
        )
        for t in tickets
    ]


async def find_ticket(ticket_id: int) -> RepairTicket | None:
    if not valid_id(ticket_id):
        return None
    return await RepairTicket.objects().where(RepairTicket.id == ticket_id).first()


async def get_ticket(
    actor: Actor, ticket_id: int, now: dt.datetime, *, separate_acceptance: bool = True
) -> TicketView:
    """One ticket as its page shows it; "accept" is left out of the actions, with the reason
    in ``accept_refusal``, when the actor completed the work and someone else must accept it."""
    require(actor, Perm.TICKETS_VIEW)
    ticket = await find_ticket(ticket_id)
    if ticket is None:
        raise NotFound(_("No such ticket."))
    view = (await _views(actor, [ticket], now))[0]
    if Action.ACCEPT in view.actions and (
        refusal := await acceptance_refusal(actor, ticket, separate_acceptance)
    ):
        view = dataclasses.replace(
            view,
            actions=tuple(a for a in view.actions if a != Action.ACCEPT),
            accept_refusal=refusal,
        )
    return view


# Keyset pagination: each sort is a tuple of columns ending with the id, so the order is total and
# "the rows after this one" is one indexed range condition, however deep the page.
SORTS: dict[str, tuple[tuple[Any, bool], ...]] = {
    "-created": ((RepairTicket.created_at, False), (RepairTicket.id, False)),
    "-updated": ((RepairTicket.updated_at, False), (RepairTicket.id, False)),
    "due": ((RepairTicket.sla_due_at, True), (RepairTicket.id, True)),
    "priority": (
        (RepairTicket.priority, True),
        (RepairTicket.sla_due_at, True),
        (RepairTicket.id, True),
    ),
}


def _encode_cursor(ticket: RepairTicket, sort: str) -> str:
    values = []
    for column, _ascending in SORTS[sort]:
        value = getattr(ticket, column._meta.name)
        values.append(value.isoformat() if isinstance(value, dt.datetime) else value)
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> list[Any]:
    """The sort values of the last row seen, checked as strictly as any other input: a cursor
    comes from the URL, so a made-up one must be a 400, never a database error."""
    try:
        raw = json.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)),
            parse_constant=_refuse_constant,
        )
        columns = SORTS[sort]
        if not isinstance(raw, list) or len(raw) != len(columns):
            raise ValueError
        values: list[Any] = []
        for (column, _asc), value in zip(columns, raw, strict=True):
            if isinstance(column, type(RepairTicket.created_at)):
                if not isinstance(value, str):
                    raise ValueError
                instant = dt.datetime.fromisoformat(value)
                if instant.tzinfo is None or instant.utcoffset() is None:
                    raise ValueError
                values.append(instant.astimezone(dt.UTC))
            elif column is RepairTicket.id:
                if type(value) is not int or not valid_id(value):
                    raise ValueError
                values.append(value)
            else:
                if not isinstance(value, str):
                    raise ValueError
                values.append(value)
        return values
    except (ValueError, TypeError, OverflowError):
        raise ValidationFailed({"after": _("This page link is no longer valid.")}) from None


def _refuse_constant(name: str) -> Any:
    """JSON has no NaN or Infinity; Python's parser would accept them."""
    raise ValueError(name)


def _after(sort: str, values: list[Any]) -> Any:
    """Rows after the cursor, as one row-value comparison ``(a, b, id) > (x, y, z)``: both
    engines answer it with a single range scan of the matching composite index."""
    columns = SORTS[sort]
    names = ", ".join(f"repair_ticket.{column._meta.db_column_name}" for column, _ in columns)
    operator = ">" if columns[0][1] else "<"
    placeholders = ", ".join("{}" for _ in columns)
    return WhereRaw(f"({names}) {operator} ({placeholders})", *values)


def ticket_conditions(filters: TicketFilters, now: dt.datetime) -> list[Any]:
    """The WHERE conditions of the ticket list's filters: the list, its counts, exports and the
    board (``board.py``, which counts its columns with exactly these) all read through them."""
    conditions: list[Any] = []
    if filters.status == "open":
        conditions.append(RepairTicket.status.is_in(sorted(OPEN_STATUSES)))
    elif filters.status == "final":
        conditions.append(RepairTicket.status.is_in(sorted(FINAL_STATUSES)))
    elif filters.status:
        if filters.status not in {s.value for s in Status}:
            raise ValidationFailed({"status": _("Choose one of the listed options.")})
        conditions.append(RepairTicket.status == filters.status)
    if filters.priority:
        conditions.append(RepairTicket.priority == filters.priority)
    if filters.asset:
        conditions.append(RepairTicket.asset == filters.asset)
    if filters.site:
        conditions.append(RepairTicket.asset.site == filters.site)
    if filters.assignee:
        conditions.append(RepairTicket.assignee == filters.assignee)
    if filters.source:
        conditions.append(RepairTicket.source == filters.source)
    if filters.overdue:
        conditions.append(RepairTicket.status.is_in(sorted(OPEN_STATUSES)))
        conditions.append(RepairTicket.sla_due_at < now)
    if filters.q.strip():
        # ``contains`` states the LIKE escape character: SQLite has no default one, so a plain
        # ``ilike`` would treat "50%" or "a_b" as wildcards there.
        term = filters.q.strip()
        conditions.append(
            contains(RepairTicket.title, term) | contains(RepairTicket.description, term)
        )
    return conditions


@dataclasses.dataclass(frozen=True)
class TicketPage:
    items: list[TicketView]
    next_cursor: str | None


def check_filters(filters: TicketFilters, now: dt.datetime) -> None:
    """Raise ValidationFailed for filters that cannot be applied (before a response starts:
    a streamed export cannot turn into a 400 once its first line is sent)."""
    ticket_conditions(filters, now)
    if filters.after:
        _decode_cursor(filters.after, filters.sort)


async def list_tickets(actor: Actor, filters: TicketFilters, now: dt.datetime) -> TicketPage:
    require(actor, Perm.TICKETS_VIEW)
    conditions = ticket_conditions(filters, now)
    if filters.after:
        conditions.append(_after(filters.sort, _decode_cursor(filters.after, filters.sort)))
    query = RepairTicket.objects().where(*conditions)
    for column, ascending in SORTS[filters.sort]:
        query = query.order_by(column, ascending=ascending)
    rows = await query.limit(filters.per_page + 1)
    more = len(rows) > filters.per_page
    rows = rows[: filters.per_page]
    cursor = _encode_cursor(rows[-1], filters.sort) if more and rows else None
    return TicketPage(items=await _views(actor, rows, now), next_cursor=cursor)


async def count_up_to(actor: Actor, filters: TicketFilters, now: dt.datetime, most: int) -> int:
    """How many tickets match ``filters``, counting at most ``most``: the ids of at most ``most``
    rows are read (no ticket is built), so a home's "100+" costs the same on a million tickets."""
    require(actor, Perm.TICKETS_VIEW)
    query = RepairTicket.select(RepairTicket.id).where(*ticket_conditions(filters, now))
    return len(await query.limit(most))


async def iter_tickets(
    actor: Actor, filters: TicketFilters, now: dt.datetime, batch: int = 500
) -> AsyncIterator[TicketView]:
    """Every ticket matching ``filters`` from the first (``filters.after`` is ignored), page
    after page, for exports. Call :func:`check_filters` first while the caller can still answer
    with an error."""
    require(actor, Perm.TICKETS_VIEW)
    ticket_conditions(filters, now)
    cursor = ""
    while True:
        page = await list_tickets(
            actor, msgspec.structs.replace(filters, after=cursor, per_page=min(batch, 200)), now
        )
        for item in page.items:
            yield item
        if not page.next_cursor:
            return
        cursor = page.next_cursor


async def assigned_open(
    actor: Actor, now: dt.datetime, limit: int | None = None
) -> list[TicketView]:
    """Open tickets assigned to the actor or their team, soonest due first (at most ``limit``):
    the crew's home and the field app. Without a team this is one indexed query by assignee;
    with one, the open list is read page by page (the list has no team filter) and narrowed."""
    if (actor.team or "").strip():
        found: list[TicketView] = []
        async for view in iter_tickets(actor, TicketFilters(status="open", sort="due"), now):
            if is_assigned_to(actor, view.ticket):
                found.append(view)
                if limit is not None and len(found) >= limit:
                    break
        return found
    if actor.id is None:
        return []
    filters = TicketFilters(status="open", sort="due", assignee=actor.id, per_page=200)
    items = (await list_tickets(actor, filters, now)).items
    return items if limit is None else items[:limit]


async def tickets_for_asset(
    actor: Actor, asset_id: int, now: dt.datetime, limit: int = 20
) -> list[TicketView]:
    """Open tickets first (most urgent first), then the most recently closed."""
    require(actor, Perm.TICKETS_VIEW)
    open_rows = await (
        RepairTicket.objects()
        .where((RepairTicket.asset == asset_id) & RepairTicket.status.is_in(sorted(OPEN_STATUSES)))
        .order_by(RepairTicket.priority)
        .order_by(RepairTicket.sla_due_at)
        .limit(limit)
    )
    recent = await (
        RepairTicket.objects()
        .where((RepairTicket.asset == asset_id) & RepairTicket.status.not_in(sorted(OPEN_STATUSES)))
        .order_by(RepairTicket.updated_at, ascending=False)
        .limit(5)
    )
    return await _views(actor, [*open_rows, *recent], now)
