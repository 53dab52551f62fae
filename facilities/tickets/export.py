"""The tickets exports: the CSV file's lines streamed from a ticket list, and the same columns as
an Excel workbook (headers in the reader's language, choices by their labels, times as Excel
dates in the bureau's zone).

Text a spreadsheet would run as a formula is defused in the CSV the same way as the assets export
(:func:`facilities.assets.csvio.defuse`); in the workbook it is a text cell, never a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

from facilities.assets.csvio import defuse
from facilities.i18n import N_, translate
from facilities.lib.xlsx import Sheet
from facilities.tickets import services as tickets
from facilities.tickets.choices import ClosingReason, Priority, Source, Status, WorkClass
from facilities.tickets.labels import AUDIT_FIELDS
from facilities.web.spreadsheets import workbook, zone_note

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


#: Column -> its header in the workbook (the ticket form's labels where it has the field).
XLSX_HEADERS: dict[str, str | tuple[str, str]] = {
    "id": N_("Ticket number"),
    "asset_code": N_("Asset code"),
    "title": AUDIT_FIELDS["title"].label,
    "status": AUDIT_FIELDS["status"].label,
    "priority": AUDIT_FIELDS["priority"].label,
    "source": AUDIT_FIELDS["source"].label,
    "work_class": AUDIT_FIELDS["work_class"].label,
    "sla_due_at": N_("Due"),
    "is_overdue": N_("Overdue"),
    "assignee": AUDIT_FIELDS["assignee_id"].label,
    "assignee_team": AUDIT_FIELDS["assignee_team"].label,
    "contractor": AUDIT_FIELDS["contractor"].label,
    "planned_start_on": AUDIT_FIELDS["planned_start_on"].label,
    "planned_end_on": AUDIT_FIELDS["planned_end_on"].label,
    "cost_estimate": AUDIT_FIELDS["cost_estimate"].label,
    "cost_actual": AUDIT_FIELDS["cost_actual"].label,
    "closing_reason": AUDIT_FIELDS["closing_reason"].label,
    "created_at": N_("Created"),
    "closed_at": N_("Finished"),
}
#: Columns holding a choice, shown in the workbook by its label.
_CHOICES = {
    "status": Status,
    "priority": Priority,
    "source": Source,
    "work_class": WorkClass,
    "closing_reason": ClosingReason,
}


def _values(view: tickets.TicketView) -> list[Any]:
    """One ticket's cells in ``CSV_COLUMNS`` order, typed (the CSV writes them as text)."""
    t = view.ticket
    return [
        t.id,
        view.asset_code,
        t.title,
        t.status,
        t.priority,
        t.source,
        t.work_class,
        t.sla_due_at,
        view.is_overdue,
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


async def csv_lines(rows: AsyncIterator[tickets.TicketView]) -> AsyncIterator[str]:
    """The file's lines: a byte-order mark and the header, then one line per ticket."""

    def line(values: list[Any]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow([_csv_cell(v) for v in values])
        return buffer.getvalue()

    yield "\ufeff" + line(list(CSV_COLUMNS))
    async for view in rows:
        values = _values(view)
        values[CSV_COLUMNS.index("is_overdue")] = "yes" if view.is_overdue else "no"
        yield line(values)


def _labelled(column: str, value: Any) -> Any:
    choice = _CHOICES.get(column)
    return choice(value) if choice is not None and value else value


async def xlsx_bytes(rows: AsyncIterator[tickets.TicketView], zone: ZoneInfo) -> bytes:
    """The tickets as a workbook (one sheet, the CSV's columns)."""
    table = [
        [_labelled(c, v) for c, v in zip(CSV_COLUMNS, _values(view), strict=True)]
        async for view in rows
    ]
    headers = [translate(XLSX_HEADERS[c]) for c in CSV_COLUMNS]
    return await workbook(
        [Sheet(translate(N_("Repair tickets")), headers, table, note=zone_note(zone))], zone
    )
