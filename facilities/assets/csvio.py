"""CSV export and import of assets, one format for both, so an export imports back unchanged.

The file is UTF-8 with a byte-order mark (Excel opens Chinese text correctly); the site is named
by its Chinese name; choices are their stored codes; the geometry is WKT (GeoJSON and
"lat, lng" are read too). Import is all-or-nothing: every row is
checked first with the same rules as the form, and nothing is written unless all rows pass.

A text cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) is written with a leading apostrophe, which spreadsheets show as
plain text; the import removes that apostrophe again, so the round trip stays exact.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import AsyncIterator, Callable, Iterable
from enum import Enum
from typing import Any

import msgspec

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.assets import services as assets
from facilities.assets.schemas import AssetIn
from facilities.assets.tables import Site
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib.forms import parse_fields

COLUMNS: tuple[str, ...] = tuple(
    "site" if name == "site_id" else name for name in AssetIn.__struct_fields__ if name != "version"
)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_formula_like(text: str) -> bool:
    """True for text that starts like a formula, even behind apostrophes already there (so
    "'=x" is escaped again and reads back as "'=x", not "=x")."""
    return text.lstrip("'").startswith(FORMULA_STARTS)


def defuse(text: str) -> str:
    """A text cell as written to the file: formula-like text gets a leading apostrophe."""
    return "'" + text if _is_formula_like(text) else text


def restore(text: str) -> str:
    """The inverse of :func:`defuse`, for cells read from a file."""
    return text[1:] if text.startswith("'") and _is_formula_like(text) else text


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value).removesuffix(".0") if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    return defuse(str(value))


def _line(values: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([_cell(v) for v in values])
    return buffer.getvalue()


async def export_lines(rows: AsyncIterator[assets.AssetRow]) -> AsyncIterator[str]:
    """The CSV text, a line at a time (streamed: a large register never sits in memory)."""
    yield "\ufeff" + _line(COLUMNS)
    async for row in rows:
        snapshot = assets.asset_snapshot(row.asset)
        snapshot["site"] = row.site_name_zh
        snapshot["geometry"] = assets.geometry_wkt(snapshot["geometry"])
        yield _line(snapshot[c] for c in COLUMNS)


@dataclasses.dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str, str]] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportAborted(Exception):
    """A row was refused while writing: everything written so far is rolled back."""


def read_rows(text: str) -> list[dict[str, str]]:
    """Rows of a CSV text (a leading byte-order mark is ignored)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [
        c for c in ("code", "name_zh", "asset_type", "site") if c not in (reader.fieldnames or [])
    ]
    if missing:
        raise ValidationFailed(
            {"file": _("Missing columns: %(columns)s") % {"columns": ", ".join(missing)}}
        )
    return list(reader)


async def import_rows(
    actor: Actor,
    rows: list[dict[str, str]],
    now: dt.datetime,
    progress: Callable[[], None] | None = None,
) -> ImportResult:
    """Create or update assets by code; line numbers in errors count the header as line 1."""
    result, parsed = await check_rows(actor, rows)
    if result.errors:
        return result
    try:
        async with db.transaction():
            await apply_rows(actor, parsed, now, result, progress)
    except ImportAborted:
        return dataclasses.replace(result, created=0, updated=0, unchanged=0)
    return result


async def check_rows(
    actor: Actor, rows: list[dict[str, str]], first_line: int = 2
) -> tuple[ImportResult, list[tuple[int, AssetIn]]]:
    """Every row read and checked as the form checks it, writing nothing: the errors, and the
    rows ready for :func:`apply_rows` (``first_line``: the file's line of the first row)."""
    require(actor, Perm.ASSETS_EDIT)
    result = ImportResult()
    sites = {row["name_zh"]: row["id"] for row in await Site.select(Site.id, Site.name_zh)}
    parsed: list[tuple[int, AssetIn]] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(rows, start=first_line):
        values = {k: restore(v or "") for k, v in raw.items() if k in COLUMNS}
        site_name = values.pop("site", "").strip()
        if site_name not in sites:
            result.errors.append((line, "site", _("Unknown site: %(name)s") % {"name": site_name}))
            continue
        values["site_id"] = str(sites[site_name])
        data, errors = parse_fields(AssetIn, values)
        for field, message in errors.items():
            result.errors.append((line, field, message))
        if data is None:
            continue
        if data.code in seen:
            result.errors.append(
                (line, "code", _("Code repeated from line %(line)s.") % {"line": seen[data.code]})
            )
            continue
        seen[data.code] = line
        parsed.append((line, data))
    return result, parsed


async def apply_rows(
    actor: Actor,
    parsed: list[tuple[int, AssetIn]],
    now: dt.datetime,
    result: ImportResult,
    progress: Callable[[], None] | None = None,
) -> None:
    """Write checked rows, inside the caller's transaction; a row the services refuse adds its
    errors to ``result`` and raises :class:`ImportAborted` (the caller's transaction rolls back)."""
    for line, data in parsed:
        await _upsert(actor, line, data, now, result)
        if progress:
            progress()


async def _upsert(
    actor: Actor, line: int, data: AssetIn, now: dt.datetime, result: ImportResult
) -> None:
    existing = await assets.find_asset_by_code(data.code)
    try:
        if existing is None:
            await assets.create_asset(actor, data, now)
            result.created += 1
            return
        incoming = {k: v for k, v in msgspec.structs.asdict(data).items() if k != "version"}
        incoming["site"] = incoming.pop("site_id")
        # Compared as stored: a file's WKT and the stored GeoJSON are the same shape.
        incoming["geometry"] = assets.canonical_geometry(incoming["geometry"])
        current = assets.asset_snapshot(existing)
        current["site"] = current.pop("site_id")
        if _comparable(incoming) == _comparable(current):
            result.unchanged += 1
            return
        versioned = msgspec.structs.replace(data, version=existing.version)
        await assets.update_asset(actor, existing.id, versioned, now)
        result.updated += 1
    except ValidationFailed as exc:
        result.errors.extend((line, field, message) for field, message in exc.errors.items())
        raise ImportAborted from exc


def _comparable(values: dict[str, Any]) -> dict[str, str]:
    return {k: _cell(v) for k, v in values.items()}
