"""The tickets CSV export: its columns, and the file's lines streamed from a ticket list.

Text a spreadsheet would run as a formula is defused the same way as the assets export
(:func:`facilities.assets.csvio.defuse`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from typing import Any

from facilities.assets.csvio import defuse
from facilities.tickets import services as tickets

CSV_COLUMNS = (
    "id",
    "asset_code",
    "title",
    "status",
    "priority",
    "source",
    "work_class",
    "sla_due_at",
    "is_overdue",
    "assignee",
    "assignee_team",
    "contractor",
    "planned_start_on",
    "planned_end_on",
    "cost_estimate",
    "cost_actual",
    "closing_reason",
    "created_at",
    "closed_at",
)


def _csv_cell(value: Any) -> str:
    """A cell as text; text a spreadsheet would run as a formula (a title like
    ``=HYPERLINK(...)`` typed by anyone who reports a problem) gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return defuse(value)
    return str(value)


async def csv_lines(rows: AsyncIterator[tickets.TicketView]) -> AsyncIterator[str]:
    """The file's lines: a byte-order mark and the header, then one line per ticket."""

    def line(values: list[Any]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow([_csv_cell(v) for v in values])
        return buffer.getvalue()

    yield "\ufeff" + line(list(CSV_COLUMNS))
    async for view in rows:
        t = view.ticket
        yield line(
            [
                t.id,
                view.asset_code,
                t.title,
                t.status,
                t.priority,
                t.source,
                t.work_class,
                t.sla_due_at,
                "yes" if view.is_overdue else "no",
                view.assignee_name,
                t.assignee_team,
                t.contractor,
                t.planned_start_on,
                t.planned_end_on,
                tickets.money(t.cost_estimate),
                tickets.money(t.cost_actual),
                t.closing_reason,
                t.created_at,
                t.closed_at,
            ]
        )
