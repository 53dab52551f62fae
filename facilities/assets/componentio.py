"""Components in a file (a spreadsheet's second sheet, or a CSV of their own): one row per part.

A component has no code of its own, so a row names it the way a register (台账) does: by its
asset's code and its Chinese name, unique within the asset. Its place in the tree is the Chinese
name of the part it belongs to (``parent``), which must be on the same asset, already saved or on
an earlier row (an export lists parents before their parts). Renaming a part through a file
therefore adds a new part; rename it on its form instead.

Rows are checked like :mod:`facilities.assets.csvio` checks assets (the same Struct, the same
messages), first all of them without writing, then written in the caller's transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import msgspec

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.assets import services as assets
from facilities.assets.csvio import ImportAborted, ImportResult, restore
from facilities.assets.schemas import ComponentIn, ComponentOut
from facilities.assets.services.components import COMPONENT_SHAPES
from facilities.assets.tables import Asset, Component
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib.forms import parse_fields

#: The file's columns: the asset's code, then the component form's fields (the parent by name).
COMPONENT_COLUMNS: tuple[str, ...] = (
    "asset",
    *("parent" if n == "parent_id" else n for n in ComponentIn.__struct_fields__ if n != "version"),
)


@dataclasses.dataclass(frozen=True)
class ComponentRow:
    line: int
    asset_code: str
    parent_name: str
    data: ComponentIn


def export_values(asset_code: str, components: list[ComponentOut]) -> list[dict[str, Any]]:
    """The asset's components (in tree order) as file rows, parents named."""
    names = {c.id: c.name_zh for c in components}
    rows = []
    for c in components:
        values: dict[str, Any] = {
            name: getattr(c, name) for name in COMPONENT_COLUMNS if name not in ("asset", "parent")
        }
        values["asset"] = asset_code
        values["parent"] = names.get(c.parent_id, "") if c.parent_id else ""
        values["geometry"] = assets.geometry_wkt(
            msgspec.json.encode(c.geometry).decode() if c.geometry else ""
        )
        rows.append(values)
    return rows


async def check_rows(
    actor: Actor, rows: list[dict[str, str]], codes_in_file: set[str], first_line: int = 2
) -> tuple[ImportResult, list[ComponentRow]]:
    """Every row checked without writing: its asset (saved, or on the assets sheet), its fields,
    no part named twice on one asset, a parent that is not the part itself."""
    require(actor, Perm.ASSETS_EDIT)
    result = ImportResult()
    wanted = {(raw.get("asset") or "").strip() for raw in rows} - codes_in_file - {""}
    saved = (
        {r["code"] for r in await Asset.select(Asset.code).where(Asset.code.is_in(list(wanted)))}
        if wanted
        else set()
    )
    known = codes_in_file | saved
    # The parts already saved on the assets named, by asset code: where a parent may be.
    saved_parts: set[tuple[str, str]] = set()
    if saved:
        saved_parts = {
            (r["code"], r["name_zh"])
            for r in await Component.select(
                Component.asset.code.as_alias("code"), Component.name_zh
            ).where(Component.asset.code.is_in(sorted(saved)))
        }
    parsed: list[ComponentRow] = []
    seen: dict[tuple[str, str], int] = {}
    for line, raw in enumerate(rows, start=first_line):
        values = {k: restore(v or "") for k, v in raw.items() if k in COMPONENT_COLUMNS}
        code = values.pop("asset", "").strip()
        parent = values.pop("parent", "").strip()
        if code not in known:
            result.errors.append((line, "asset", _("Unknown asset: %(code)s") % {"code": code}))
            continue
        data, errors = parse_fields(ComponentIn, values)
        for field, message in errors.items():
            result.errors.append((line, field, message))
        if data is None:
            continue
        key = (code, data.name_zh)
        if key in seen:
            result.errors.append(
                (line, "name_zh", _("Name repeated from line %(line)s.") % {"line": seen[key]})
            )
            continue
        if parent == data.name_zh:
            result.errors.append(
                (line, "parent", _("A component cannot be placed under itself or its own parts."))
            )
            continue
        if parent and (code, parent) not in seen and (code, parent) not in saved_parts:
            result.errors.append((line, "parent", _name_problem(parent, 0)))
            continue
        seen[key] = line
        parsed.append(ComponentRow(line, code, parent, data))
    return result, parsed


async def apply_rows(
    actor: Actor, parsed: list[ComponentRow], now: dt.datetime, result: ImportResult
) -> None:
    """Create or update each component, inside the caller's transaction (after the assets, so a
    new asset's parts find it); a refused row adds its errors and raises ImportAborted."""
    for row in parsed:
        try:
            await _upsert(actor, row, now, result)
        except ValidationFailed as exc:
            field_of = {"parent_id": "parent"}
            result.errors.extend(
                (row.line, field_of.get(f, f), message) for f, message in exc.errors.items()
            )
            raise ImportAborted from exc


async def _upsert(actor: Actor, row: ComponentRow, now: dt.datetime, result: ImportResult) -> None:
    asset = await assets.find_asset_by_code(row.asset_code)
    if asset is None:  # checked before; only a concurrent delete gets here
        raise ValidationFailed({"asset": _("Unknown asset: %(code)s") % {"code": row.asset_code}})
    saved = await Component.objects().where(Component.asset == asset.id)
    by_name: dict[str, list[Component]] = {}
    for component in saved:
        by_name.setdefault(component.name_zh, []).append(component)
    parent_id = None
    if row.parent_name:
        parents = by_name.get(row.parent_name, [])
        if len(parents) != 1:
            raise ValidationFailed({"parent": _name_problem(row.parent_name, len(parents))})
        parent_id = parents[0].id
    data = msgspec.structs.replace(row.data, parent_id=parent_id)
    same = by_name.get(data.name_zh, [])
    if len(same) > 1:
        raise ValidationFailed({"name_zh": _name_problem(data.name_zh, len(same))})
    if not same:
        await assets.create_component(actor, asset.id, data, now)
        result.created += 1
        return
    existing = same[0]
    incoming = {k: v for k, v in msgspec.structs.asdict(data).items() if k != "version"}
    stored, errors = assets.read_part(data.geometry, "geometry", COMPONENT_SHAPES, None)
    incoming["geometry"] = stored if not errors else data.geometry
    if _comparable(incoming) == _comparable(assets.component_snapshot(existing)):
        result.unchanged += 1
        return
    versioned = msgspec.structs.replace(data, version=existing.version)
    await assets.update_component(actor, existing.id, versioned, now)
    result.updated += 1


def _name_problem(name: str, count: int) -> str:
    if count == 0:
        return _("No component named %(name)s on this asset.") % {"name": name}
    return _("Several components of this asset are named %(name)s; rename them first.") % {
        "name": name
    }


def _comparable(values: dict[str, Any]) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in values.items()}
