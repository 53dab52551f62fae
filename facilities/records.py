"""Row helpers every domain's services share: one way to say "this id", "that row or a 404",
"update it only if nobody saved first", "claim it only if still free" and "a row as its Out
struct". Services call these instead of repeating the SQL shape, so a fix lands everywhere.

Below the domains and above :mod:`facilities.db`: no domain imports here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import msgspec

from facilities.errors import Conflict, NotFound, ValidationFailed
from facilities.i18n import gettext as _

#: The largest id a column holds on either engine (PostgreSQL's ``integer``); a larger number in
#: a URL or a form is "no such record", never an overflow error from the driver.
MAX_ID = 2_147_483_647

OutT = TypeVar("OutT")


def valid_id(value: int | None) -> bool:
    """Whether ``value`` can be an id at all (so a lookup is worth making)."""
    return value is not None and 0 < value <= MAX_ID


def loads(value: Any) -> Any:
    """A JSON column's value: SQLite hands back text, PostgreSQL the decoded value."""
    return json.loads(value) if isinstance(value, str) else value


async def get_or_404(query: Any, table: Any, row_id: int | None, message: str) -> Any:
    """The first row of ``query`` whose id is ``row_id``, or NotFound with ``message``.

    ``query`` is a Piccolo ``objects()`` or ``select()`` query (joins, columns, prefetches as the
    caller needs); an impossible id never reaches the database."""
    row = None
    if valid_id(row_id):
        row = await query.where(table.id == row_id).first()
    if row is None:
        raise NotFound(message)
    return row


def stale(kind: str) -> Conflict:
    """The 409 a person sees when someone else saved first."""
    return Conflict(
        _("Someone else saved this %(kind)s while you were editing. Your changes were not saved.")
        % {"kind": kind}
    )


async def versioned_update(
    table: Any,
    row_id: int,
    expected: int | None,
    values: Mapping[Any, Any],
    now: dt.datetime,
    conflict: Conflict,
) -> None:
    """``UPDATE … SET version = version + 1 WHERE id = ? AND version = ?``: a stale form or API
    call changes nothing and raises ``conflict`` (a 409)."""
    if expected is None:
        raise ValidationFailed({"version": _("The record version is missing; reload and retry.")})
    values = {**values, table.updated_at: now, table.version: expected + 1}
    changed = (
        await table.update(values)
        .where((table.id == row_id) & (table.version == expected))
        .returning(table.id)
    )
    if not changed:
        raise conflict


async def claim(table: Any, where: Any, values: Mapping[Any, Any], *returning: Any) -> list[Any]:
    """``UPDATE … SET values WHERE where RETURNING …``: the rows this caller changed, and so owns.

    The condition is checked and the write made in one statement, so of two callers (two
    requests, two scheduler replicas) racing for the same row exactly one gets it back."""
    return list(
        await table.update(dict(values)).where(where).returning(*(returning or (table.id,)))
    )


def to_out(struct: type[OutT], row: Any) -> OutT:
    """A row (a Piccolo object, a select's dict, a dataclass) as its Out struct, field by field
    by name (msgspec ``from_attributes``); a field the row lacks is an error, not a default."""
    return msgspec.convert(row, struct, from_attributes=not isinstance(row, dict))


def to_outs(struct: type[OutT], rows: Iterable[Any]) -> list[OutT]:
    return [to_out(struct, row) for row in rows]


def box_meets(columns: Any, box: tuple[float, float, float, float]) -> Any:
    """The condition that a row's bounding box meets ``box`` (west, south, east, north).

    ``columns`` is anything with ``bbox_west/south/east/north`` columns: a table, or a foreign
    key to one (``Closure.asset``). Boxes meet unless one lies wholly beside the other; a row
    with no place has a null box and never matches. Plain comparisons on indexed columns, so the
    query is the same on SQLite and PostgreSQL.
    """
    west, south, east, north = box
    return (
        (columns.bbox_east >= west)
        & (columns.bbox_west <= east)
        & (columns.bbox_north >= south)
        & (columns.bbox_south <= north)
    )
