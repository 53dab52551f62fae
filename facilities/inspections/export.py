"""The inspections list as an Excel workbook: the rows the list page shows (the same filters),
headers in the reader's language, types and states by their labels, times as Excel dates in the
bureau's zone."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from facilities.i18n import N_, translate
from facilities.inspections.choices import InspectionType, State
from facilities.inspections.labels import INSPECTION_AUDIT_FIELDS as AUDIT_FIELDS
from facilities.lib.xlsx import Sheet
from facilities.web.spreadsheets import workbook, zone_note
from facilities.web.templating import local_name

#: Column -> header msgid (the inspection's own labels where it has them).
HEADERS: dict[str, str | tuple[str, str]] = {
    "id": N_("Inspection number"),
    "asset_code": N_("Asset code"),
    "asset_name": N_("Asset"),
    "inspection_type": AUDIT_FIELDS["type"].label,
    "state": AUDIT_FIELDS["state"].label,
    "due_at": AUDIT_FIELDS["due"].label,
    "window_ends_at": N_("Window ends"),
    "is_overdue": N_("Overdue"),
    "inspector_name": N_("Inspector"),
    "completed_at": N_("Completed at"),
    "bci": N_("BCI"),
    "grade": AUDIT_FIELDS["grade"].label,
}


def _cells(row: dict[str, Any]) -> list[Any]:
    values = {
        **row,
        "asset_name": local_name(row, "asset_name"),
        "inspection_type": InspectionType(row["inspection_type"]),
        "state": State(row["state"]),
    }
    return [values.get(column) for column in HEADERS]


async def xlsx_bytes(rows: list[dict[str, Any]], zone: ZoneInfo) -> bytes:
    headers = [translate(label) for label in HEADERS.values()]
    sheet = Sheet(
        translate(N_("Inspections")), headers, [_cells(r) for r in rows], note=zone_note(zone)
    )
    return await workbook([sheet], zone)
