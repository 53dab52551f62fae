"""The triage queue as an Excel workbook: a sheet of new reports and one of the reports a closure
already answered, as the triage page lists them; headers in the reader's language, choices by
their labels, times as Excel dates in the bureau's zone. A citizen's text is a text cell, never
a formula. The reporters' contact details stay out of the file (they are on the report's page
for those who must call back)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from facilities.i18n import N_, translate
from facilities.lib.xlsx import Sheet
from facilities.reports.choices import Category, Channel, ReportStatus
from facilities.reports.labels import AUDIT_FIELDS
from facilities.reports.services import Queue, ReportRow
from facilities.web.spreadsheets import workbook, zone_note
from facilities.web.templating import local_name

#: Column -> header msgid (the triage table's own words where it has them).
HEADERS: dict[str, str | tuple[str, str]] = {
    "id": N_("No."),
    "requested_at": N_("Received"),
    "asset_code": N_("Asset code"),
    "asset_name": N_("Facility"),
    "category": AUDIT_FIELDS["category"].label,
    "status": AUDIT_FIELDS["status"].label,
    "channel": AUDIT_FIELDS["channel"].label,
    "description": N_("Description"),
    "address_string": N_("Address"),
    "photos": N_("Photos"),
    "duplicates": N_("Possible duplicates"),
    "follow_up_of": AUDIT_FIELDS["follow_up_of"].label,
    "same_as": AUDIT_FIELDS["same_as"].label,
}


def _cells(row: ReportRow) -> list[Any]:
    r = row.report
    values: dict[str, Any] = {
        "id": r.id,
        "requested_at": r.requested_at,
        "asset_code": row.asset_code,
        "asset_name": local_name(
            {"name_zh": row.asset_name_zh, "name_en": row.asset_name_en}, "name"
        ),
        "category": Category(r.category),
        "status": ReportStatus(r.status),
        "channel": Channel(r.channel),
        "description": r.description,
        "address_string": r.address_string,
        "photos": len(row.photos),
        "duplicates": " ".join(f"#{s.report_id}" for s in row.suggestions),
        "follow_up_of": r.follow_up_of,
        "same_as": r.same_as,
    }
    return [values[column] for column in HEADERS]


async def xlsx_bytes(queue: Queue, zone: ZoneInfo) -> bytes:
    headers = [translate(label) for label in HEADERS.values()]
    note = zone_note(zone)
    sheets = [
        Sheet(translate(title), headers, [_cells(row) for row in rows], note=note)
        for title, rows in (
            (N_("To triage"), queue.new),
            (N_("Answered by a closure"), queue.covered),
        )
    ]
    return await workbook(sheets, zone)
