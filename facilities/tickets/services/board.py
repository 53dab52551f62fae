"""The ticket board: open work in one column per status, counted in full (a column shows at most
:data:`CARDS_PER_COLUMN` cards, its count says how many there are), optionally split into
swimlanes by priority or by assignee.

A card dropped on another column is turned into the one transition that leads there from the
ticket's status (:func:`move_action`) and handed to :func:`.writing.transition`: the same rules,
guards, audit and messages as the ticket page's buttons, so the board can never do what the page
may not. Moves that end outside the board (close, reject, cancel, duplicate) stay on the page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import msgspec
from piccolo.query.functions.aggregate import Count

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.accounts.tables import StaffUser
from facilities.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.tickets.choices import (
    BOARD_COLUMNS,
    TRANSITIONS,
    TRANSITIONS_BY_ACTION,
    Action,
    Priority,
    Status,
)
from facilities.tickets.schemas import BoardMoveIn, TicketFilters, TransitionIn
from facilities.tickets.services.reading import (
    TicketView,
    find_ticket,
    list_tickets,
    ticket_conditions,
)
from facilities.tickets.services.writing import transition
from facilities.tickets.tables import RepairTicket

#: Cards shown per column (the most urgent first); the count above it is the full number.
CARDS_PER_COLUMN = 50
#: How the board may be split into swimlanes (``?lanes=``).
LANES = ("none", "priority", "assignee")
#: The lane of tickets nobody is assigned to by name.
NOBODY = "none"


@dataclasses.dataclass(frozen=True)
class Lane:
    key: str  # "" (no lanes), a priority, an assignee's id, or NOBODY
    label: str
    counts: dict[str, int]  # status -> tickets of this lane in that column


@dataclasses.dataclass(frozen=True)
class Move:
    """A column a card may be moved to by this actor, the action it takes, and what the
    action asks for before it is sent ("note", "planned_start_on", or nothing)."""

    action: Action
    asks: str = ""


@dataclasses.dataclass(frozen=True)
class Board:
    lanes_by: str
    columns: tuple[Status, ...]
    counts: dict[str, int]  # status -> every ticket in that column (with the filters)
    lanes: list[Lane]
    cards: dict[tuple[str, str], list[TicketView]]  # (lane key, status) -> cards shown
    moves: dict[int, dict[str, Move]]  # ticket id -> column -> the move there

    def shown(self, status: str) -> int:
        return sum(len(v) for (_lane, s), v in self.cards.items() if s == status)


def lands_in(action: Action, ticket: RepairTicket) -> str | None:
    """The status ``action`` leaves the ticket in (resume: where it was held from)."""
    return TRANSITIONS_BY_ACTION[action].target or ticket.held_from


def move_action(ticket: RepairTicket, target: Status) -> Action | None:
    """The transition from the ticket's status into the column ``target`` (None: there is
    none: the board has no way from here to there)."""
    for rule in TRANSITIONS:
        if ticket.status in rule.sources and (rule.target or ticket.held_from) == target:
            return rule.action
    return None


def moves_of(view: TicketView) -> dict[str, Move]:
    """The columns this actor may move the card to: the page's actions that end on the
    board. Data the action always needs is asked for first; what depends on the ticket's
    files (an "after" photo, or a note) the server asks for when it is missing."""
    found = {}
    for action in view.actions:
        target = lands_in(action, view.ticket)
        if target in BOARD_COLUMNS and target != view.ticket.status:
            needs = TRANSITIONS_BY_ACTION[action].needs
            asks = ""
            if "note" in needs:
                asks = "note"
            elif "planned_start_on" in needs and view.ticket.planned_start_on is None:
                asks = "planned_start_on"
            found[str(target)] = Move(action, asks)
    return found


def described(moves: dict[str, Move]) -> dict[str, dict[str, str]]:
    """The moves as the page's script reads them (a card's ``data-moves``, a move's answer):
    column -> the action, its label in the reader's language, and what it asks for."""
    return {
        target: {"action": move.action.value, "label": str(move.action.label), "asks": move.asks}
        for target, move in moves.items()
    }


def lane_of(view: TicketView, lanes_by: str) -> str:
    if lanes_by == "priority":
        return str(view.ticket.priority)
    if lanes_by == "assignee":
        return str(view.ticket.assignee) if view.ticket.assignee else NOBODY
    return ""


async def _counts(
    filters: TicketFilters, now: dt.datetime, lanes_by: str
) -> dict[tuple[str, str], int]:
    """(lane key, status) -> tickets, in one grouped query with the list's filters."""
    conditions: list[Any] = ticket_conditions(msgspec.structs.replace(filters, status=""), now)
    conditions.append(RepairTicket.status.is_in([s.value for s in BOARD_COLUMNS]))
    lane_column = {"priority": RepairTicket.priority, "assignee": RepairTicket.assignee}.get(
        lanes_by
    )
    grouped = [RepairTicket.status, *([lane_column] if lane_column is not None else [])]
    rows = await (
        RepairTicket.select(*grouped, Count(RepairTicket.id, alias="n"))
        .where(*conditions)
        .group_by(*grouped)
    )
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        if lanes_by == "priority":
            lane = str(row["priority"])
        elif lanes_by == "assignee":
            lane = str(row["assignee"]) if row["assignee"] else NOBODY
        else:
            lane = ""
        counts[(lane, str(row["status"]))] = int(row["n"])
    return counts


async def _lanes(lanes_by: str, counts: dict[tuple[str, str], int]) -> list[Lane]:
    def lane(key: str, label: str) -> Lane:
        return Lane(key, label, {s: n for (k, s), n in counts.items() if k == key})

    if lanes_by == "priority":
        return [lane(p.value, p.label) for p in Priority]
    if lanes_by == "assignee":
        ids = sorted({int(k) for k, _s in counts if k not in ("", NOBODY)})
        rows = await StaffUser.select(StaffUser.id, StaffUser.display_name).where(
            StaffUser.id.is_in(ids or [0])
        )
        names = sorted((r["display_name"], str(r["id"])) for r in rows)
        return [lane(key, name) for name, key in names] + [lane(NOBODY, _("Not assigned"))]
    return [lane("", "")]


async def board(
    actor: Actor, filters: TicketFilters, now: dt.datetime, lanes_by: str = "none"
) -> Board:
    """The board with the list's filters (its status filter aside: the columns are the
    statuses), the most urgent cards of each column, and every count in full."""
    require(actor, Perm.TICKETS_VIEW)
    if lanes_by not in LANES:
        raise ValidationFailed({"lanes": _("Choose one of the listed options.")})
    base = msgspec.structs.replace(filters, sort="priority", per_page=CARDS_PER_COLUMN, after="")
    counted = await _counts(base, now, lanes_by)
    lanes = await _lanes(lanes_by, counted)
    cards: dict[tuple[str, str], list[TicketView]] = {}
    moves: dict[int, dict[str, Move]] = {}
    for status in BOARD_COLUMNS:
        page = await list_tickets(actor, msgspec.structs.replace(base, status=status.value), now)
        for view in page.items:
            cards.setdefault((lane_of(view, lanes_by), status.value), []).append(view)
            moves[view.ticket.id] = moves_of(view)
    totals: dict[str, int] = {}
    for (_lane, status_value), n in counted.items():
        totals[status_value] = totals.get(status_value, 0) + n
    return Board(lanes_by, BOARD_COLUMNS, totals, lanes, cards, moves)


async def move_ticket(
    actor: Actor,
    data: BoardMoveIn,
    now: dt.datetime,
    *,
    separate_acceptance: bool = True,
) -> tuple[RepairTicket, Action]:
    """Move a card to the column ``data.to`` through :func:`.writing.transition` (which checks
    the version, the role, the assignment and the data again, in its transaction). Refused
    with 409 when no transition leads there from the ticket's status, or the card was stale."""
    require(actor, Perm.TICKETS_VIEW)
    if data.to not in BOARD_COLUMNS:
        raise ValidationFailed({"to": _("Choose one of the board's columns.")})
    ticket = await find_ticket(data.ticket_id)
    if ticket is None:
        raise NotFound(_("No such ticket."))
    if ticket.version != data.version:
        raise Conflict(_("Someone else changed this ticket first. Reload it and try again."))
    action = move_action(ticket, data.to)
    if action is None:
        raise InvalidTransition(
            _("A ticket cannot move from “%(from)s” to “%(to)s”.")
            % {"from": Status(ticket.status).label, "to": data.to.label}
        )
    moved = await transition(
        actor,
        ticket.id,
        TransitionIn(
            action=action,
            version=data.version,
            note=data.note,
            planned_start_on=data.planned_start_on,
        ),
        now,
        separate_acceptance=separate_acceptance,
    )
    return moved, action
