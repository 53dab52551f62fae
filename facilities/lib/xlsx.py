"""Excel workbooks (.xlsx) written and read with openpyxl, the same way for every register.

Writing: one sheet per table, a bold frozen header row with an autofilter, widths fitted to the
contents. Each cell keeps its type: numbers as numbers, booleans as booleans, dates and times as
Excel dates, a choice (an Enum) as its label. Excel has no time zones, so an instant is written
as the bureau's local wall time (the caller says so in a note above the table). Text is always a
text cell, never a formula: ``=HYPERLINK(...)`` typed by a citizen stays the characters it was.

Reading: the file is checked by its content (an xlsx is a zip holding ``xl/workbook.xml``), its
unpacked size is bounded (a small zip may unpack to gigabytes), and at most ``max_rows`` rows are
read per sheet. Pure: no web framework, no ORM.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
#: Excel's limits: a sheet title, a cell's text.
MAX_TITLE = 31
MAX_CELL_TEXT = 32_767
MIN_WIDTH, MAX_WIDTH = 6, 60
INVALID_TITLE = frozenset("[]:*?/\\")
#: How much an xlsx may unpack to (all its parts together).
MAX_UNPACKED_BYTES = 100 * 1024 * 1024


class NotAWorkbook(ValueError):
    """The bytes are not an xlsx workbook openpyxl can read (or unpack too large)."""


class TooManyRows(ValueError):
    def __init__(self, sheet: str, limit: int) -> None:
        super().__init__(f"{sheet}: more than {limit} rows")
        self.sheet = sheet
        self.limit = limit


@dataclasses.dataclass(frozen=True)
class Sheet:
    """One table: its title, its header cells, its rows (values of any cell type)."""

    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    #: Columns (0-based) kept in the file but hidden: codes a re-import reads.
    hidden: Sequence[int] = ()
    #: A line above the table (for example "Times are Asia/Shanghai local time"); the header
    #: row then moves down one.
    note: str = ""


def _text_width(value: Any) -> int:
    text = value if isinstance(value, str) else str(value)
    line = max(text.splitlines() or [""], key=len)
    # CJK characters are about twice as wide as Latin ones.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in line[: MAX_WIDTH * 2])


def _write_cell(ws: Any, row: int, column: int, value: Any, zone: ZoneInfo) -> int:
    """Write one typed cell; returns its display width."""
    if isinstance(value, Enum):  # a choice: its label (in the reader's language) when it has one
        value = getattr(value, "label", value.value)
    if value is None or value == "":
        return 0
    cell = ws.cell(row=row, column=column)
    if isinstance(value, bool):
        cell.value = value
        return 5
    if isinstance(value, dt.datetime):
        local = value.astimezone(zone) if value.tzinfo else value
        cell.value = local.replace(tzinfo=None)
        cell.number_format = DATETIME_FORMAT
        return 16
    if isinstance(value, dt.date):
        cell.value = value
        cell.number_format = DATE_FORMAT
        return 10
    if isinstance(value, int | float):
        cell.value = value
        return len(str(value))
    if isinstance(value, Decimal):
        cell.value = float(value)
        cell.number_format = "0.00"
        return len(str(value))
    text = str(value)[:MAX_CELL_TEXT]
    cell.value = text
    cell.data_type = "s"  # never a formula, whatever the text starts with
    return _text_width(text)


def build(sheets: Sequence[Sheet], zone: ZoneInfo) -> bytes:
    """The workbook's bytes. Instants are written as wall time in ``zone``."""
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    bold = Font(bold=True)
    for sheet in sheets:
        title = "".join("_" if ch in INVALID_TITLE else ch for ch in sheet.title)[:MAX_TITLE]
        ws = workbook.create_sheet(title=title or f"Sheet{len(workbook.worksheets) + 1}")
        top = 1
        if sheet.note:
            _write_cell(ws, 1, 1, sheet.note, zone)
            ws.cell(row=1, column=1).font = Font(italic=True)
            top = 2
        widths = [_text_width(h) + 2 for h in sheet.headers]
        for column, header in enumerate(sheet.headers, start=1):
            _write_cell(ws, top, column, header, zone)
            ws.cell(row=top, column=column).font = bold
        last = top
        for last, values in enumerate(sheet.rows, start=top + 1):
            for column, value in enumerate(values, start=1):
                width = _write_cell(ws, last, column, value, zone)
                if column <= len(widths) and width > widths[column - 1]:
                    widths[column - 1] = width
        for column, width in enumerate(widths, start=1):
            letter = get_column_letter(column)
            ws.column_dimensions[letter].width = max(MIN_WIDTH, min(MAX_WIDTH, width + 1))
            if column - 1 in sheet.hidden:
                ws.column_dimensions[letter].hidden = True
        ws.freeze_panes = ws.cell(row=top + 1, column=1)
        if sheet.headers:
            ws.auto_filter.ref = f"A{top}:{get_column_letter(len(sheet.headers))}{max(last, top)}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def is_workbook(data: bytes) -> bool:
    """True when the bytes are a zip holding an Excel workbook part (by content, not by name)."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _cell_value(value: Any) -> Any:
    """A read cell as the writer gave it: whole floats back to ints (Excel stores every number
    as a float), a midnight datetime in a date-formatted cell stays a datetime (the caller
    decides)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, str):
        return value
    return value


def read(data: bytes, max_rows: int) -> dict[str, list[list[Any]]]:
    """Sheet title -> its rows (header row included, blank trailing rows dropped); raises
    :class:`NotAWorkbook` or :class:`TooManyRows` (more than ``max_rows`` after the header)."""
    if not is_workbook(data):
        raise NotAWorkbook("not an xlsx workbook")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise NotAWorkbook("the workbook unpacks too large")
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except NotAWorkbook:
        raise
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise NotAWorkbook(str(exc)) from exc
    sheets: dict[str, list[list[Any]]] = {}
    try:
        for ws in workbook.worksheets:
            rows: list[list[Any]] = []
            blanks = 0  # blank rows not yet kept: only kept when a filled row follows
            for values in ws.iter_rows(values_only=True):
                row = [_cell_value(v) for v in values]
                while row and (row[-1] is None or row[-1] == ""):
                    row.pop()
                if not row:
                    blanks += 1
                    continue
                if len(rows) + blanks > max_rows + 2:  # a note line and the header
                    raise TooManyRows(ws.title, max_rows)
                rows.extend([] for _ in range(blanks))
                blanks = 0
                rows.append(row)
            sheets[ws.title] = rows
    except TooManyRows:
        raise
    except Exception as exc:
        raise NotAWorkbook(str(exc)) from exc
    finally:
        workbook.close()
    return sheets
