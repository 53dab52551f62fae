"""The closures list as an Excel workbook: the rows the list page shows (the same status filter),
headers by the closure forms' labels in the reader's language, choices by their labels, times as
Excel dates in the bureau's zone."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from facilities.closures.choices import Precision, Reason, Scope, Status
from facilities.closures.labels import AUDIT_FIELDS
from facilities.i18n import N_, translate
from facilities.lib.xlsx import Sheet
from facilities.web.spreadsheets import workbook, zone_note
from facilities.web.templating import local_name

_FORM_COLUMNS = (
    "scope",
    "status",
    "is_urgent",
    "reason",
    "affected_part_zh",
    "effective_from",
    "planned_reopen_on",
    "reopen_precision",
    "reopens_at",
    "signed_off_at",
)
#: Column -> header msgid.
HEADERS: dict[str, str | tuple[str, str]] = {
    "id": N_("Closure number"),
    "asset_code": N_("Asset code"),
    "asset_name": N_("Asset"),
    **{column: AUDIT_FIELDS[column].label for column in _FORM_COLUMNS},
    "lifted_at": N_("Lifted at"),
}
_CHOICES = {"scope": Scope, "status": Status, "reason": Reason, "reopen_precision": Precision}


def _cells(row: dict[str, Any]) -> list[Any]:
    values = {**row, "asset_name": local_name(row, "asset_name")}
    for column, choice in _CHOICES.items():
        values[column] = choice(row[column]) if row.get(column) else None
    return [values.get(column) for column in HEADERS]


async def xlsx_bytes(rows: list[dict[str, Any]], zone: ZoneInfo) -> bytes:
    headers = [translate(label) for label in HEADERS.values()]
    sheet = Sheet(
        translate(N_("Closures")), headers, [_cells(r) for r in rows], note=zone_note(zone)
    )
    return await workbook([sheet], zone)
