"""Components: the parts of an asset, as a tree (each may sit under another part of the same
asset, never under itself or its own parts). Read them in tree order, create and edit them;
their history is filed under the asset.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.assets.schemas import ComponentIn, ComponentOut
from facilities.assets.services.assets import load_asset
from facilities.assets.services.checks import _fields
from facilities.assets.services.places import asset_shape, geometry_object, read_part
from facilities.assets.tables import Asset, Component
from facilities.audit import services as audit
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.records import get_or_404, stale, versioned_update

COMPONENT_FIELDS = tuple(n for n in ComponentIn.__struct_fields__ if n != "version")


def component_snapshot(component: Component) -> dict[str, Any]:
    return {
        name: getattr(component, "parent" if name == "parent_id" else name)
        for name in COMPONENT_FIELDS
    }


async def list_components(actor: Actor, asset_id: int) -> list[ComponentOut]:
    """The asset's components in tree order (each parent followed by its children)."""
    await load_asset(actor, asset_id)
    rows = await Component.objects().where(Component.asset == asset_id)
    children: dict[int | None, list[Component]] = {}
    for row in rows:
        children.setdefault(row.parent, []).append(row)
    ordered: list[ComponentOut] = []

    def walk(parent: int | None, depth: int) -> None:
        for row in sorted(children.get(parent, []), key=lambda c: (c.position, c.id)):
            ordered.append(component_out(row, depth))
            walk(row.id, depth + 1)

    walk(None, 0)
    return ordered


def component_out(row: Component, depth: int = 0) -> ComponentOut:
    values = component_snapshot(row)
    values["geometry"] = geometry_object(values["geometry"])
    return ComponentOut(id=row.id, asset_id=row.asset, depth=depth, version=row.version, **values)


async def _parents(asset_id: int) -> dict[int, int | None]:
    """Component id -> parent id, for every component of one asset."""
    rows = await Component.select(Component.id, Component.parent).where(Component.asset == asset_id)
    return {row["id"]: row["parent"] for row in rows}


async def component_depth(row: Component) -> int:
    """How many ancestors a component has (0 at the top of its asset's tree)."""
    parents = await _parents(row.asset)
    depth, seen, cursor = 0, {row.id}, parents.get(row.id, row.parent)
    while cursor is not None and cursor not in seen:
        seen.add(cursor)
        depth += 1
        cursor = parents.get(cursor)
    return depth


async def component_detail(actor: Actor, component_id: int) -> ComponentOut:
    """One component as the API shows it, with its depth in the tree."""
    row = await get_component(actor, component_id)
    return component_out(row, await component_depth(row))


async def get_component(actor: Actor, component_id: int) -> Component:
    require(actor, Perm.ASSETS_VIEW)
    row: Component = await get_or_404(
        Component.objects(), Component, component_id, _("No such component.")
    )
    return row


async def _check_parent(asset_id: int, parent_id: int | None, component_id: int | None) -> None:
    if parent_id is None:
        return
    parents = await _parents(asset_id)
    if parent_id not in parents:
        raise ValidationFailed({"parent_id": _("Choose a component of the same asset.")})
    seen: set[int] = set()
    cursor: int | None = parent_id
    while cursor is not None and cursor not in seen:
        if cursor == component_id:
            raise ValidationFailed(
                {"parent_id": _("A component cannot be placed under itself or its own parts.")}
            )
        seen.add(cursor)
        cursor = parents.get(cursor)


#: What a component's drawing may be: a tower or an anchor as a point, a cable as a line, a
#: deck span as an area.
COMPONENT_SHAPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon")


async def _component_values(asset: Asset, data: ComponentIn) -> dict[str, Any]:
    """The columns' values; the drawing is read and checked to lie on the asset."""
    values = _fields(data)
    values["parent"] = values.pop("parent_id")
    facility = asset_shape(asset.geometry, asset.lat, asset.lng)
    values["geometry"], errors = read_part(data.geometry, "geometry", COMPONENT_SHAPES, facility)
    if errors:
        raise ValidationFailed(errors)
    return values


async def create_component(
    actor: Actor, asset_id: int, data: ComponentIn, now: dt.datetime
) -> Component:
    require(actor, Perm.ASSETS_EDIT)
    async with db.transaction():
        asset = await load_asset(actor, asset_id)
        await _check_parent(asset.id, data.parent_id, None)
        values = await _component_values(asset, data)
        row = Component(asset=asset.id, **values, created_at=now, updated_at=now)
        await row.save()
        await audit.record(
            actor, "component.created", "asset", asset.id, now, after=component_snapshot(row)
        )
    return row


async def update_component(
    actor: Actor, component_id: int, data: ComponentIn, now: dt.datetime
) -> Component:
    require(actor, Perm.ASSETS_EDIT)
    async with db.transaction():
        row = await get_component(actor, component_id)
        await _check_parent(row.asset, data.parent_id, row.id)
        before = component_snapshot(row)
        asset = await load_asset(actor, row.asset)
        values = {
            getattr(Component, k): v for k, v in (await _component_values(asset, data)).items()
        }
        await versioned_update(Component, row.id, data.version, values, now, stale(_("component")))
        row = await get_component(actor, component_id)
        # Component changes are part of the asset's history, so they are filed under the asset.
        await audit.record(
            actor, "component.updated", "asset", row.asset, now, before, component_snapshot(row)
        )
    return row
