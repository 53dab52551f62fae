"""The money exports: cost roll-ups and cost lines as CSV (headers in the reader's language,
text a spreadsheet would run as a formula defused as in the other exports) and as one Excel
workbook (a sheet per roll-up and one of lines; text cells never formulas, amounts numbers)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from facilities.assets.csvio import defuse
from facilities.i18n import N_, translate
from facilities.lib.xlsx import Sheet
from facilities.tickets.choices import CostKind
from facilities.tickets.labels import AUDIT_FIELDS
from facilities.tickets.money_schemas import Dimension, RollupOut
from facilities.web.spreadsheets import workbook, zone_note

#: A roll-up's columns after its key: the headers of each export.
ROLLUP_HEADERS = (
    N_("Year"),
    N_("Spent (yuan)"),
    N_("Tickets spent"),
    N_("Committed (yuan)"),
    N_("Tickets committed"),
)
DIMENSION_HEADERS = {
    Dimension.SITE: N_("Site"),
    Dimension.ASSET: N_("Asset"),
    Dimension.WORK_CLASS: N_("Work class"),
    Dimension.YEAR: N_("Year"),
    Dimension.CONTRACTOR: N_("Contractor"),
}
SHEET_TITLES = {
    Dimension.SITE: N_("Costs by site"),
    Dimension.ASSET: N_("Costs by asset"),
    Dimension.WORK_CLASS: N_("Costs by work class"),
    Dimension.YEAR: N_("Costs by year"),
    Dimension.CONTRACTOR: N_("Costs by contractor"),
}
LINE_HEADERS = (
    N_("Ticket number"),
    N_("Asset code"),
    AUDIT_FIELDS["cost_kind"].label,
    AUDIT_FIELDS["description"].label,
    AUDIT_FIELDS["worker"].label,
    AUDIT_FIELDS["hours"].label,
    AUDIT_FIELDS["hourly_rate"].label,
    AUDIT_FIELDS["quantity"].label,
    AUDIT_FIELDS["unit"].label,
    AUDIT_FIELDS["unit_price"].label,
    AUDIT_FIELDS["amount"].label,
    N_("Created"),
)


def rollup_headers(out: RollupOut) -> list[str]:
    if out.dimension == Dimension.YEAR:
        return [translate(h) for h in ROLLUP_HEADERS]
    return [translate(DIMENSION_HEADERS[out.dimension])] + [translate(h) for h in ROLLUP_HEADERS]


def rollup_rows(out: RollupOut) -> list[list[Any]]:
    rows = []
    for row in out.rows:
        cells: list[Any] = [] if out.dimension == Dimension.YEAR else [row.label]
        cells += [
            row.year,
            row.spent.amount,
            row.spent.tickets,
            row.committed.amount,
            row.committed.tickets,
        ]
        rows.append(cells)
    return rows


def line_rows(lines: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """Cost lines (``rollups.lines_in``) as table rows, typed."""
    return [
        [
            line["ticket"],
            line["asset_code"],
            CostKind(line["kind"]),
            line["description"],
            line["worker"],
            line["hours"],
            line["hourly_rate"],
            line["quantity"],
            line["unit"],
            line["unit_price"],
            line["amount"],
            line["created_at"],
        ]
        for line in lines
    ]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, CostKind):
        return value.label
    if isinstance(value, str):
        return defuse(value)
    if isinstance(value, Decimal):
        return f"{value:f}"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def csv_text(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A whole CSV file (a byte-order mark so Excel reads it as UTF-8)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([defuse(h) for h in headers])
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return "\ufeff" + buffer.getvalue()


def line_headers() -> list[str]:
    return [translate(h) for h in LINE_HEADERS]


async def workbook_bytes(
    rollups: Sequence[RollupOut], lines: Sequence[dict[str, Any]], zone: ZoneInfo
) -> bytes:
    sheets = [
        Sheet(translate(SHEET_TITLES[out.dimension]), rollup_headers(out), rollup_rows(out))
        for out in rollups
    ]
    sheets.append(
        Sheet(translate(N_("Cost lines")), line_headers(), line_rows(lines), note=zone_note(zone))
    )
    return await workbook(sheets, zone)
