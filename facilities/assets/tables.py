"""Asset register tables."""

from __future__ import annotations

from piccolo.columns import (
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from facilities.assets.choices import (
    AssetType,
    ComponentGroup,
    ComponentKind,
    ConditionGrade,
    Lifecycle,
    MaintenanceClass,
    MaintenanceGrade,
    Material,
    SiteKind,
    StructureType,
)


class Site(Table, tablename="site"):
    """A park, plaza or district area that groups assets (平湖公园, 雁鸣溪广场)."""

    id = Serial(primary_key=True)
    name_zh = Varchar(length=128, unique=True, required=True)
    name_en = Varchar(length=128, default="")
    kind = Varchar(length=16, choices=SiteKind, default=SiteKind.PARK)
    address = Varchar(length=256, default="")
    lat = DoublePrecision(null=True, default=None)
    lng = DoublePrecision(null=True, default=None)
    #: The site's outline, GeoJSON (Polygon or MultiPolygon) in WGS-84; "" when not drawn.
    boundary = Text(default="")
    #: Lakes and streams on the site, GeoJSON (Polygon or MultiPolygon); "" when not drawn. Only
    #: the offline basemap (``FACILITIES_MAP_TILES=none``) draws it.
    water = Text(default="")
    #: The bounding box of ``boundary`` (or of the point ``lat``/``lng``), in degrees.
    bbox_west = DoublePrecision(null=True, default=None, index=True)
    bbox_south = DoublePrecision(null=True, default=None, index=True)
    bbox_east = DoublePrecision(null=True, default=None)
    bbox_north = DoublePrecision(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)


class Asset(Table, tablename="asset"):
    """A facility the bureau keeps safe. Operational status is derived, never stored here."""

    id = Serial(primary_key=True)
    code = Varchar(length=40, unique=True, required=True)
    name_zh = Varchar(length=128, required=True, index=True)
    name_en = Varchar(length=128, default="")
    asset_type = Varchar(length=32, choices=AssetType, default=AssetType.OTHER, index=True)
    site = ForeignKey(Site, null=False, on_delete=OnDelete.restrict, index=True)
    lifecycle = Varchar(length=24, choices=Lifecycle, default=Lifecycle.IN_USE, index=True)
    lat = DoublePrecision(null=True, default=None)
    lng = DoublePrecision(null=True, default=None)
    #: GeoJSON geometry text in WGS-84 ("" when only ``lat``/``lng`` or nothing is known).
    geometry = Text(default="")
    #: The bounding box of ``geometry`` (or of the point ``lat``/``lng``), in degrees, for
    #: "what lies in this map view" queries; null when the asset has no location.
    bbox_west = DoublePrecision(null=True, default=None, index=True)
    bbox_south = DoublePrecision(null=True, default=None, index=True)
    bbox_east = DoublePrecision(null=True, default=None)
    bbox_north = DoublePrecision(null=True, default=None)
    location_note = Varchar(length=256, default="")
    built_year = Integer(null=True, default=None)
    length_m = DoublePrecision(null=True, default=None)
    width_m = DoublePrecision(null=True, default=None)
    span_m = DoublePrecision(null=True, default=None)
    structure_type = Varchar(length=24, choices=StructureType, default=StructureType.OTHER)
    deck_material = Varchar(length=24, choices=Material, null=True, default=None)
    main_material = Varchar(length=24, choices=Material, null=True, default=None)
    maintenance_class = Varchar(length=4, choices=MaintenanceClass, null=True, default=None)
    maintenance_grade = Varchar(length=4, choices=MaintenanceGrade, null=True, default=None)
    is_special_structure = Boolean(default=False)
    is_tension_critical = Boolean(default=False)
    crowd_limit = Integer(null=True, default=None)
    condition_grade = Varchar(length=1, choices=ConditionGrade, null=True, default=None)
    condition_graded_on = Date(null=True, default=None)
    description = Text(default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)


class Component(Table, tablename="component"):
    """A part of an asset, in a tree (a main cable, its clamps, a range of deck planks)."""

    id = Serial(primary_key=True)
    asset = ForeignKey(Asset, null=False, on_delete=OnDelete.cascade, index=True)
    parent: ForeignKey[Component] = ForeignKey("self", null=True, on_delete=OnDelete.set_null)
    name_zh = Varchar(length=128, required=True)
    name_en = Varchar(length=128, default="")
    kind = Varchar(length=24, choices=ComponentKind, default=ComponentKind.OTHER)
    group = Varchar(length=24, choices=ComponentGroup, default=ComponentGroup.ANCILLARY)
    is_critical = Boolean(default=False)
    position = Integer(default=0)
    notes = Text(default="")
    #: GeoJSON geometry text in WGS-84 ("" when not drawn): where on the asset the part is.
    geometry = Text(default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)
