"""The staff asset map's data: the assets in the visible box as compact rows, and the points of
given assets (for the ticket, triage and inspector maps of the domains above).

Only the visible area is sent: the box is matched against the indexed ``bbox_*`` columns (the
same test as ``/api/v1/assets?bbox=``), and a response holds at most ``limit`` rows, saying
``truncated`` when there were more (the page then asks the reader to zoom in or filter). Rows
are arrays in the order of :data:`FIELDS`, the asset type and status as indexes into
:data:`TYPES` and :data:`STATUSES`, coordinates to 6 decimals (about 0.1 m): about 60 bytes an
asset, so a full response stays well under 100 kB.

Open P0/P1 tickets and due inspections belong to domains above the register: they come from a
slot (:func:`use_flag_source`) the composition root (``facilities.wiring``) fills, like the
operational status does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Annotated, Any

import msgspec
from piccolo.query.functions.aggregate import Max, Min

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.assets.choices import AssetType, ConditionGrade, Lifecycle, OperationalStatus
from facilities.assets.schemas import AssetFilters, Id
from facilities.assets.services.assets import _asset_conditions, operational_statuses
from facilities.assets.tables import Asset
from facilities.i18n import current_locale

#: What a row holds, in order.
FIELDS = ("id", "lat", "lng", "code", "name", "type", "grade", "status", "urgent", "due")
TYPES = tuple(t.value for t in AssetType)
#: A closure's effect first (closed, restricted), else the lifecycle when not simply in use.
STATUSES = (
    OperationalStatus.IN_SERVICE.value,
    OperationalStatus.RESTRICTED.value,
    OperationalStatus.CLOSED.value,
    Lifecycle.UNDER_CONSTRUCTION.value,
    Lifecycle.DECOMMISSIONED.value,
)
GRADES = tuple(g.value for g in ConditionGrade)
#: Rows per response unless the request asks for fewer (or, up to MAX_LIMIT, more).
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000


class MapFilters(msgspec.Struct, kw_only=True):
    """The asset map's query: the visible box and the filters of the page's form."""

    #: "west,south,east,north" in WGS-84 degrees; empty: everywhere.
    bbox: Annotated[str, msgspec.Meta(max_length=200)] = ""
    site: Id | None = None
    type: AssetType | None = None
    #: A condition grade, or "none" for assets never graded.
    grade: Annotated[str, msgspec.Meta(pattern=r"^(|[A-E]|none)$")] = ""
    #: Only assets with an open P0 or P1 ticket.
    urgent: bool = False
    #: Only assets with an inspection due (within a week) or overdue.
    due: bool = False
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT


@dataclasses.dataclass(frozen=True)
class MapFlags:
    """What the domains above say of assets at a moment: open P0/P1 tickets per asset, and
    ``"due"`` or ``"overdue"`` per asset with an open inspection due within a week."""

    urgent: dict[int, int] = dataclasses.field(default_factory=dict)
    due: dict[int, str] = dataclasses.field(default_factory=dict)


#: (now, the asset ids to flag or None for every asset) -> the flags
FlagSource = Callable[[dt.datetime, Sequence[int] | None], Awaitable[MapFlags]]
_flag_source: FlagSource | None = None


def use_flag_source(source: FlagSource | None) -> None:
    """Plug in the tickets' and inspections' flags (``facilities.wiring`` does, once). Without
    it no asset has an open ticket or a due inspection."""
    global _flag_source
    _flag_source = source


async def map_flags(now: dt.datetime, asset_ids: Sequence[int] | None = None) -> MapFlags:
    return MapFlags() if _flag_source is None else await _flag_source(now, asset_ids)


@dataclasses.dataclass(frozen=True)
class MapData:
    rows: list[list[Any]]
    truncated: bool
    limit: int

    def as_json(self) -> dict[str, Any]:
        return {
            "fields": FIELDS,
            "types": TYPES,
            "statuses": STATUSES,
            "rows": self.rows,
            "count": len(self.rows),
            "truncated": self.truncated,
            "limit": self.limit,
        }


def _status(lifecycle: str, operational: OperationalStatus) -> int:
    if operational != OperationalStatus.IN_SERVICE or lifecycle == Lifecycle.IN_USE:
        return STATUSES.index(operational.value)
    return STATUSES.index(lifecycle)


_PLACE = (
    Asset.lat,
    Asset.lng,
    Asset.bbox_west,
    Asset.bbox_south,
    Asset.bbox_east,
    Asset.bbox_north,
)


def _point(row: dict[str, Any]) -> tuple[float, float]:
    """(lng, lat) to 6 decimals: the asset's point ("a point on it"), else the middle of its
    box (a drawn line or area with no point given)."""
    if row["lat"] is not None and row["lng"] is not None:
        lng, lat = float(row["lng"]), float(row["lat"])
    else:
        lng = (row["bbox_west"] + row["bbox_east"]) / 2.0
        lat = (row["bbox_south"] + row["bbox_north"]) / 2.0
    return round(lng, 6), round(lat, 6)


def _name(row: dict[str, Any], english: bool) -> str:
    return str(row["name_en"] or row["name_zh"]) if english else str(row["name_zh"])


async def map_data(actor: Actor, filters: MapFilters, now: dt.datetime) -> MapData:
    """The placed assets in the box that pass the filters, by id, at most ``filters.limit``."""
    require(actor, Perm.ASSETS_VIEW)
    conditions = _asset_conditions(
        AssetFilters(bbox=filters.bbox, site=filters.site, type=filters.type)
    )  # raises ValidationFailed naming "bbox" for a box that is not one
    conditions.append(Asset.bbox_west.is_not_null())  # placed: a point or a drawn shape
    if filters.grade == "none":
        conditions.append(Asset.condition_grade.is_null())
    elif filters.grade:
        conditions.append(Asset.condition_grade == filters.grade)
    # To filter by the flags they are read first, for every asset; otherwise only for the
    # assets found (a much shorter answer).
    flags = await map_flags(now) if filters.urgent or filters.due else None
    if flags is not None:
        for wanted, flagged in ((filters.urgent, flags.urgent), (filters.due, flags.due)):
            if wanted:
                if not flagged:
                    return MapData(rows=[], truncated=False, limit=filters.limit)
                conditions.append(Asset.id.is_in(sorted(flagged)))
    found = (
        await Asset.select(
            Asset.id,
            *_PLACE,
            Asset.code,
            Asset.name_zh,
            Asset.name_en,
            Asset.asset_type,
            Asset.condition_grade,
            Asset.lifecycle,
        )
        .where(*conditions)
        .order_by(Asset.id)
        .limit(filters.limit + 1)
    )
    truncated = len(found) > filters.limit
    found = found[: filters.limit]
    ids = [r["id"] for r in found]
    if flags is None:  # read side by side (see asset_flags): a connection each on SQLite
        shown, statuses = await asyncio.gather(map_flags(now, ids), operational_statuses(ids, now))
    else:
        shown, statuses = flags, await operational_statuses(ids, now)
    english = current_locale() == "en"
    rows = [
        [
            r["id"],
            *reversed(_point(r)),
            r["code"],
            _name(r, english),
            TYPES.index(r["asset_type"]) if r["asset_type"] in TYPES else TYPES.index("other"),
            r["condition_grade"] or "",
            _status(r["lifecycle"], statuses[r["id"]]),
            shown.urgent.get(r["id"], 0),
            shown.due.get(r["id"], ""),
        ]
        for r in found
    ]
    return MapData(rows=rows, truncated=truncated, limit=filters.limit)


async def asset_points(actor: Actor, asset_ids: Iterable[int]) -> dict[int, tuple[float, float]]:
    """asset id -> (lng, lat) of the assets that have a place (the others are left out)."""
    require(actor, Perm.ASSETS_VIEW)
    ids = sorted(set(asset_ids))
    points: dict[int, tuple[float, float]] = {}
    for first in range(0, len(ids), 500):  # bounded IN lists on either engine
        chunk = ids[first : first + 500]
        for r in await Asset.select(Asset.id, *_PLACE).where(
            Asset.id.is_in(chunk), Asset.bbox_west.is_not_null()
        ):
            points[r["id"]] = _point(r)
    return points


async def asset_extent(actor: Actor, site: int | None = None) -> tuple[float, ...] | None:
    """(west, south, east, north) around every placed asset (of one site), where the map
    opens; None when nothing is placed."""
    require(actor, Perm.ASSETS_VIEW)
    query = Asset.select(
        Min(Asset.bbox_west, alias="w"),
        Min(Asset.bbox_south, alias="s"),
        Max(Asset.bbox_east, alias="e"),
        Max(Asset.bbox_north, alias="n"),
    )
    if site is not None:
        query = query.where(Asset.site == site)
    found = await query.first()
    if not found or any(found[key] is None for key in "wsen"):
        return None
    return tuple(round(float(found[key]), 6) for key in "wsen")
