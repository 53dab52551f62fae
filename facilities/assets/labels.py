"""How an asset's history reads: every field its services audit (the asset, its components, its
site, its grade), by the forms' labels. Schedules, filed under the asset too, are described by
inspections (``facilities.inspections.labels``)."""

from __future__ import annotations

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
from facilities.audit.display import Field, choice, day, describe, drawing, number, record, yes_no
from facilities.i18n import N_

_NAMES = {
    "name_zh": Field(N_("Name (Chinese)")),
    "name_en": Field(N_("Name (English)")),
    "lat": Field(N_("Latitude")),
    "lng": Field(N_("Longitude")),
}

#: The asset form's fields (``asset.*`` actions).
ASSET_AUDIT_FIELDS = {
    **_NAMES,
    "code": Field(N_("Code")),
    "asset_type": Field(N_("Type"), choice(AssetType)),
    "site_id": Field(N_("Site"), record),
    "lifecycle": Field(N_("Status"), choice(Lifecycle)),
    "geometry": Field(N_("Geometry (GeoJSON or WKT)"), drawing),
    "location_note": Field(N_("Where exactly")),
    "built_year": Field(N_("Year built")),
    "length_m": Field(N_("Length (m)"), number),
    "width_m": Field(N_("Width (m)"), number),
    "span_m": Field(N_("Main span (m)"), number),
    "structure_type": Field(N_("Structure type"), choice(StructureType)),
    "deck_material": Field(N_("Deck material"), choice(Material)),
    "main_material": Field(N_("Main material"), choice(Material)),
    "maintenance_class": Field(N_("Maintenance class"), choice(MaintenanceClass)),
    "maintenance_grade": Field(N_("Maintenance grade"), choice(MaintenanceGrade)),
    "is_special_structure": Field(N_("Special structure"), yes_no),
    "is_tension_critical": Field(N_("Tension-critical (cables or hangers carry the load)"), yes_no),
    "crowd_limit": Field(N_("Crowd limit (people)")),
    "condition_grade": Field(N_("Condition grade"), choice(ConditionGrade)),
    "condition_graded_on": Field(N_("Graded on"), day),
    "description": Field(N_("Description")),
}
#: The component form's fields (``component.*``, filed under the asset).
COMPONENT_AUDIT_FIELDS = {
    **_NAMES,
    "kind": Field(N_("Kind"), choice(ComponentKind)),
    "group": Field(N_("Group"), choice(ComponentGroup)),
    "parent_id": Field(N_("Part of"), record),
    "is_critical": Field(N_("Critical component (a failure endangers people)"), yes_no),
    "position": Field(N_("Order")),
    "notes": Field(N_("Notes")),
    "geometry": Field(N_('Where on the asset (GeoJSON, WKT or "lat, lng")'), drawing),
}
#: The site form's fields (``site.*``).
SITE_AUDIT_FIELDS = {
    **_NAMES,
    "kind": Field(N_("Kind"), choice(SiteKind)),
    "address": Field(N_("Address")),
    "boundary": Field(N_("Boundary (GeoJSON or WKT)"), drawing),
    "water": Field(N_("Water (GeoJSON or WKT)"), drawing),
}
describe("asset", ASSET_AUDIT_FIELDS)
describe("component", COMPONENT_AUDIT_FIELDS)
describe("site", SITE_AUDIT_FIELDS)
