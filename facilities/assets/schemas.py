"""Asset register shapes: one Struct per input serves the HTML form, the CSV row and the JSON API,
so a rule (a range, a length, a pattern) is written once."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec

from facilities.assets.choices import (
    AssetType,
    ComponentGroup,
    ComponentKind,
    ConditionGrade,
    Lifecycle,
    MaintenanceClass,
    MaintenanceGrade,
    Material,
    OperationalStatus,
    SiteKind,
    StructureType,
)

Id = Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)]
NameZh = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
NameEn = Annotated[str, msgspec.Meta(max_length=128)]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Metres = Annotated[float, msgspec.Meta(gt=0, le=100_000)]
AssetCode = Annotated[
    str, msgspec.Meta(min_length=2, max_length=40, pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)*$")
]
Version = Annotated[int, msgspec.Meta(ge=1)]
#: A drawn facility as typed or pasted: about 200 kB is some 8,000 points, a whole park outline.
GeometryText = Annotated[str, msgspec.Meta(max_length=200_000)]


class SiteIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name_zh: NameZh
    name_en: NameEn = ""
    kind: SiteKind = SiteKind.PARK
    address: Annotated[str, msgspec.Meta(max_length=256)] = ""
    lat: Latitude | None = None
    lng: Longitude | None = None
    #: The site's outline: GeoJSON text (Polygon or MultiPolygon) or WKT, in WGS-84; "" for none.
    boundary: GeometryText = ""
    #: Lakes and streams on the site (Polygon or MultiPolygon), drawn on the offline basemap.
    water: GeometryText = ""
    version: Version | None = None


class SiteOut(msgspec.Struct, kw_only=True):
    id: int
    name_zh: str
    name_en: str
    kind: SiteKind
    address: str
    lat: float | None
    lng: float | None
    #: The GeoJSON outline (Polygon or MultiPolygon, WGS-84), or null when not drawn.
    boundary: dict[str, Any] | None
    #: The site's water (Polygon or MultiPolygon, WGS-84), or null when not drawn.
    water: dict[str, Any] | None
    asset_count: int
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class AssetIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: AssetCode
    name_zh: NameZh
    name_en: NameEn = ""
    asset_type: AssetType
    site_id: Id
    lifecycle: Lifecycle = Lifecycle.IN_USE
    lat: Latitude | None = None
    lng: Longitude | None = None
    #: GeoJSON text (a geometry or a Feature), WKT or "lat, lng", in WGS-84; "" for none.
    geometry: GeometryText = ""
    location_note: Annotated[str, msgspec.Meta(max_length=256)] = ""
    built_year: Annotated[int, msgspec.Meta(ge=1800, le=2200)] | None = None
    length_m: Metres | None = None
    width_m: Metres | None = None
    span_m: Metres | None = None
    structure_type: StructureType = StructureType.OTHER
    deck_material: Material | None = None
    main_material: Material | None = None
    maintenance_class: MaintenanceClass | None = None
    maintenance_grade: MaintenanceGrade | None = None
    is_special_structure: bool = False
    is_tension_critical: bool = False
    crowd_limit: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None
    condition_grade: ConditionGrade | None = None
    condition_graded_on: dt.date | None = None
    description: Annotated[str, msgspec.Meta(max_length=4000)] = ""
    version: Version | None = None


class AssetFilters(msgspec.Struct, kw_only=True):
    q: Annotated[str, msgspec.Meta(max_length=100)] = ""
    #: "west,south,east,north" in WGS-84 degrees: assets whose bounding box meets it.
    bbox: Annotated[str, msgspec.Meta(max_length=200)] = ""
    site: Id | None = None
    type: AssetType | None = None
    status: Lifecycle | None = None
    page: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1
    per_page: Annotated[int, msgspec.Meta(ge=1, le=200)] = 25


class AssetOut(msgspec.Struct, kw_only=True):
    id: int
    code: str
    name_zh: str
    name_en: str
    asset_type: AssetType
    site_id: int
    site_name_zh: str
    lifecycle: Lifecycle
    operational_status: OperationalStatus
    lat: float | None
    lng: float | None
    #: The GeoJSON geometry object (Point, LineString or Polygon, WGS-84); null when only the
    #: point ``lat``/``lng`` (or nothing) is known.
    geometry: dict[str, Any] | None
    location_note: str
    built_year: int | None
    length_m: float | None
    width_m: float | None
    span_m: float | None
    structure_type: StructureType
    deck_material: Material | None
    main_material: Material | None
    maintenance_class: MaintenanceClass | None
    maintenance_grade: MaintenanceGrade | None
    is_special_structure: bool
    is_tension_critical: bool
    crowd_limit: int | None
    condition_grade: ConditionGrade | None
    condition_graded_on: dt.date | None
    description: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ComponentIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name_zh: NameZh
    name_en: NameEn = ""
    kind: ComponentKind = ComponentKind.OTHER
    group: ComponentGroup = ComponentGroup.ANCILLARY
    parent_id: Id | None = None
    is_critical: bool = False
    position: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 0
    notes: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    #: Where on the asset the part is (a tower's point, a cable's line, a deck's area): GeoJSON,
    #: WKT or "lat, lng" in WGS-84; "" for none.
    geometry: GeometryText = ""
    version: Version | None = None


class ComponentOut(msgspec.Struct, kw_only=True):
    id: int
    asset_id: int
    parent_id: int | None
    depth: int
    name_zh: str
    name_en: str
    kind: ComponentKind
    group: ComponentGroup
    is_critical: bool
    position: int
    notes: str
    #: The GeoJSON geometry object (WGS-84), or null when not drawn.
    geometry: dict[str, Any] | None
    version: int
