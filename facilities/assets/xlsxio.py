"""The asset register as a workbook, and files of assets and components read back as rows.

The workbook has two sheets: the assets (the CSV export's columns) and their components (one
row per part, in tree order, named by their asset's code; see :mod:`facilities.assets.componentio`).
Headers are the forms' labels in the reader's language; choices show their labels; numbers,
booleans and dates are typed cells.

Reading takes an xlsx or a CSV (UTF-8, or GB18030 as Excel saves it on a Chinese Windows), told
apart by content, never by name. Headers may be the column
codes (``code``, ``name_zh``: the CSV's) or the labels in either language; a choice may be its
code or its label in either language; so an exported workbook imports back as it is, and rows
reach the same checks as a CSV (:func:`facilities.assets.csvio.check_rows`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from collections.abc import Mapping
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from facilities.accounts.permissions import Actor
from facilities.assets import csvio
from facilities.assets import services as assets
from facilities.assets.componentio import COMPONENT_COLUMNS, export_values
from facilities.assets.labels import ASSET_AUDIT_FIELDS, COMPONENT_AUDIT_FIELDS
from facilities.assets.schemas import AssetFilters, AssetIn, ComponentIn
from facilities.errors import ValidationFailed
from facilities.i18n import LOCALES, N_, translate, use_locale
from facilities.i18n import gettext as _
from facilities.lib import xlsx
from facilities.web.spreadsheets import workbook

ASSETS_SHEET = N_("Assets")
COMPONENTS_SHEET = N_("Components")

#: Column -> its label's msgid (the forms' labels, as the asset's history shows them).
ASSET_LABELS: dict[str, str | tuple[str, str]] = {
    c: ASSET_AUDIT_FIELDS["site_id" if c == "site" else c].label for c in csvio.COLUMNS
}
COMPONENT_LABELS: dict[str, str | tuple[str, str]] = {
    c: N_("Asset code")
    if c == "asset"
    else COMPONENT_AUDIT_FIELDS["parent_id" if c == "parent" else c].label
    for c in COMPONENT_COLUMNS
}


def _choice_type(struct: type[msgspec.Struct], field: str) -> type[Enum] | None:
    """The enum a Struct's field takes (``None`` when it is not a choice)."""
    hints = typing.get_type_hints(struct, include_extras=True)
    hint = hints.get(field)
    candidates = typing.get_args(hint) if typing.get_args(hint) else (hint,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return candidate
    return None


ASSET_CHOICES = {c: t for c in csvio.COLUMNS if (t := _choice_type(AssetIn, c))}
COMPONENT_CHOICES = {c: t for c in COMPONENT_COLUMNS if (t := _choice_type(ComponentIn, c))}


def _choice(enum: type[Enum], value: Any) -> Any:
    return enum(value) if value not in (None, "") else None


async def export_workbook(
    actor: Actor, filters: AssetFilters, now: dt.datetime, zone: ZoneInfo
) -> bytes:
    """The assets the filters show, each followed on the second sheet by its components."""
    rows = assets.iter_assets(actor, filters, now)  # checks the permission and the filters now
    asset_rows: list[list[Any]] = []
    component_rows: list[list[Any]] = []
    async for row in rows:
        snapshot = assets.asset_snapshot(row.asset)
        snapshot["site"] = row.site_name_zh
        snapshot["geometry"] = assets.geometry_wkt(snapshot["geometry"])
        for column, enum in ASSET_CHOICES.items():
            snapshot[column] = _choice(enum, snapshot[column])
        asset_rows.append([snapshot[c] for c in csvio.COLUMNS])
        components = await assets.list_components(actor, row.asset.id)
        for values in export_values(row.asset.code, components):
            component_rows.append([values[c] for c in COMPONENT_COLUMNS])
    sheets = [
        xlsx.Sheet(
            translate(ASSETS_SHEET), [translate(ASSET_LABELS[c]) for c in csvio.COLUMNS], asset_rows
        ),
        xlsx.Sheet(
            translate(COMPONENTS_SHEET),
            [translate(COMPONENT_LABELS[c]) for c in COMPONENT_COLUMNS],
            component_rows,
        ),
    ]
    return await workbook(sheets, zone)


# --- reading ------------------------------------------------------------------------------


@dataclasses.dataclass
class Table:
    """Rows of one kind read from a file, as text by column code; ``first_line`` is the file's
    row (or line) number of the first of them."""

    rows: list[dict[str, str]] = dataclasses.field(default_factory=list)
    first_line: int = 2


@dataclasses.dataclass
class Upload:
    assets: Table
    components: Table


def _spellings(labels: Mapping[str, str | tuple[str, str]]) -> dict[str, str]:
    """Every way a header may be written -> its column code: the code, the label in each
    language."""
    names = {code.casefold(): code for code in labels}
    for locale in LOCALES:
        with use_locale(locale):
            names.update({translate(label).casefold(): code for code, label in labels.items()})
    return names


def _choice_spellings(enum: type[Enum]) -> dict[str, str]:
    names = {str(m.value).casefold(): str(m.value) for m in enum}
    for locale in LOCALES:
        with use_locale(locale):
            for member in enum:
                label = getattr(member, "label", None)
                if label:
                    names.setdefault(str(label).casefold(), str(member.value))
    return names


def _text(value: Any) -> str:
    """A cell as the text a CSV would hold (the checks read text, as from a form)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    # The checks undo a CSV's apostrophe before formula-like text; a workbook has none to undo.
    return csvio.defuse(str(value))


def _header_index(rows: list[list[Any]], names: dict[str, str], required: str) -> int | None:
    """Which of the first rows is the header (a note line may sit above it)."""
    for index, row in enumerate(rows[:5]):
        cells = {str(c).strip().casefold() for c in row if c is not None}
        if names.get(required.casefold()) and any(names.get(c) == required for c in cells):
            return index
    return None


def _table(
    rows: list[list[Any]],
    labels: Mapping[str, str | tuple[str, str]],
    choices: Mapping[str, type[Enum]],
    required: str,
    max_rows: int,
) -> Table | None:
    names = _spellings(labels)
    start = _header_index(rows, names, required)
    if start is None:
        return None
    columns = [names.get(str(c).strip().casefold()) if c is not None else None for c in rows[start]]
    choice_names = {column: _choice_spellings(enum) for column, enum in choices.items()}
    table = Table(first_line=start + 2)
    body = rows[start + 1 :]
    if len(body) > max_rows:
        raise ValidationFailed(
            {"file": _("The file has more than %(count)d rows.") % {"count": max_rows}}
        )
    for values in body:
        row: dict[str, str] = {}
        for column, value in zip(columns, values, strict=False):
            if column is None:
                continue
            text = _text(value)
            if column in choice_names:
                text = choice_names[column].get(text.strip().casefold(), text)
            row[column] = text
        table.rows.append(row)
    while table.rows and not any(table.rows[-1].values()):
        table.rows.pop()
    return table


def _csv_rows(data: bytes, max_rows: int) -> list[list[Any]]:
    import csv
    import io

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on a Chinese Windows saves "CSV" in the system code page (GBK, within GB18030).
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise ValidationFailed(
                {"file": _("The file is neither an Excel workbook (.xlsx) nor a CSV file.")}
            ) from None
    if "\x00" in text:
        raise ValidationFailed(
            {"file": _("The file is neither an Excel workbook (.xlsx) nor a CSV file.")}
        )
    rows: list[list[Any]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            rows.append([csvio.restore(cell) if cell else None for cell in row])
            if len(rows) > max_rows + 1:
                raise ValidationFailed(
                    {"file": _("The file has more than %(count)d rows.") % {"count": max_rows}}
                )
    except csv.Error as exc:
        raise ValidationFailed(
            {"file": _("The CSV file cannot be read: %(problem)s") % {"problem": str(exc)}}
        ) from None
    return rows


def read_upload(data: bytes, max_rows: int) -> Upload:
    """The assets and components in an xlsx (a sheet of each, found by their headers) or a CSV
    (one table, either kind); ``ValidationFailed`` naming ``file`` when it holds neither."""
    if xlsx.is_workbook(data):
        try:
            sheets = list(xlsx.read(data, max_rows).values())
        except xlsx.TooManyRows:
            raise ValidationFailed(
                {"file": _("The file has more than %(count)d rows.") % {"count": max_rows}}
            ) from None
        except xlsx.NotAWorkbook:
            raise ValidationFailed({"file": _("The Excel workbook cannot be read.")}) from None
    else:
        sheets = [_csv_rows(data, max_rows)]
    found = Upload(assets=Table(), components=Table())
    seen = False
    for rows in sheets:
        table = _table(rows, ASSET_LABELS, ASSET_CHOICES, "code", max_rows)
        if table is not None:
            found.assets, seen = table, True
            continue
        table = _table(rows, COMPONENT_LABELS, COMPONENT_CHOICES, "asset", max_rows)
        if table is not None:
            found.components, seen = table, True
    if not seen:
        raise ValidationFailed(
            {
                "file": _(
                    "No table of assets or components found: the first row must name the "
                    "columns, as in the export."
                )
            }
        )
    if found.assets.rows:
        missing = [
            c for c in ("code", "name_zh", "asset_type", "site") if c not in found.assets.rows[0]
        ]
        if missing:
            raise ValidationFailed(
                {"file": _("Missing columns: %(columns)s") % {"columns": ", ".join(missing)}}
            )
    return found


def column_label(kind: str, column: str) -> str:
    """The label of a column an error names, in the reader's language (the code if unknown)."""
    labels = ASSET_LABELS if kind == "assets" else COMPONENT_LABELS
    key = {"site_id": "site", "parent_id": "parent"}.get(column, column)
    label = labels.get(key)
    return translate(label) if label else column
