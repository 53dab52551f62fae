"""Kinds, materials, classes and statuses of the asset register, each with its label."""

from __future__ import annotations

from enum import StrEnum

from facilities.i18n import N_, NC_, Msg, translate


class Labelled(StrEnum):
    """A StrEnum whose members carry a translatable label in ``LABELS``, keyed by class and
    value: ``MaintenanceClass.I == MaintenanceGrade.I`` (equal StrEnums hash alike), so a dict
    keyed by the member alone would give class I the label of grade I."""

    @property
    def label(self) -> str:
        return translate(LABELS[(type(self), self.value)])

    @classmethod
    def options(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]


class SiteKind(Labelled):
    PARK = "park"
    PLAZA = "plaza"
    DISTRICT = "district"


class AssetType(Labelled):
    SUSPENSION_FOOTBRIDGE = "suspension_footbridge"
    BRIDGE = "bridge"
    FOOTBRIDGE = "footbridge"
    BOARDWALK = "boardwalk"
    PLAYGROUND = "playground"
    PAVILION = "pavilion"
    PLAZA = "plaza"
    FOUNTAIN = "fountain"
    LIGHTING = "lighting"
    OTHER = "other"


class StructureType(Labelled):
    SUSPENSION = "suspension"
    CABLE_STAYED = "cable_stayed"
    BEAM = "beam"
    ARCH = "arch"
    TRUSS = "truss"
    SLAB = "slab"
    FRAME = "frame"
    NOT_APPLICABLE = "not_applicable"
    OTHER = "other"


class Material(Labelled):
    TIMBER = "timber"
    STEEL = "steel"
    CONCRETE = "concrete"
    REINFORCED_CONCRETE = "reinforced_concrete"
    STONE = "stone"
    COMPOSITE = "composite"
    PLASTIC = "plastic"
    OTHER = "other"


class MaintenanceClass(Labelled):
    I = "I"  # noqa: E741 - the standard's own numbering
    II = "II"
    III = "III"
    IV = "IV"
    V = "V"


class MaintenanceGrade(Labelled):
    I = "I"  # noqa: E741
    II = "II"
    III = "III"


class ConditionGrade(Labelled):
    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"


class Lifecycle(Labelled):
    """Whether the asset exists in the bureau's care; not whether it is open (that is derived)."""

    IN_USE = "in_use"
    UNDER_CONSTRUCTION = "under_construction"
    DECOMMISSIONED = "decommissioned"


class OperationalStatus(Labelled):
    """Derived from active closures, never stored."""

    IN_SERVICE = "in_service"
    RESTRICTED = "restricted"
    CLOSED = "closed"


class ComponentKind(Labelled):
    MAIN_CABLE = "main_cable"
    HANGER = "hanger"
    CABLE_CLAMP = "cable_clamp"
    TOWER = "tower"
    ANCHORAGE = "anchorage"
    STIFFENING_BEAM = "stiffening_beam"
    DECK_PLANKS = "deck_planks"
    RAILING = "railing"
    SAFETY_NET = "safety_net"
    ABUTMENT = "abutment"
    PIER = "pier"
    BEARING = "bearing"
    DRAINAGE = "drainage"
    LIGHTING = "lighting"
    SIGNAGE = "signage"
    EQUIPMENT = "equipment"
    SURFACE = "surface"
    OTHER = "other"


class ComponentGroup(Labelled):
    DECK_SYSTEM = "deck_system"
    SUPERSTRUCTURE = "superstructure"
    SUBSTRUCTURE = "substructure"
    ANCILLARY = "ancillary"


_LABELLED: tuple[tuple[StrEnum, str | Msg], ...] = (
    (SiteKind.PARK, N_("Park")),
    (SiteKind.PLAZA, N_("Plaza")),
    (SiteKind.DISTRICT, N_("District area")),
    (AssetType.SUSPENSION_FOOTBRIDGE, N_("Suspension footbridge")),
    (AssetType.BRIDGE, N_("Road bridge")),
    (AssetType.FOOTBRIDGE, N_("Footbridge")),
    (AssetType.BOARDWALK, N_("Boardwalk")),
    (AssetType.PLAYGROUND, N_("Playground")),
    (AssetType.PAVILION, N_("Pavilion")),
    (AssetType.PLAZA, N_("Plaza")),
    (AssetType.FOUNTAIN, N_("Fountain")),
    (AssetType.LIGHTING, N_("Lighting")),
    (AssetType.OTHER, N_("Other")),
    (StructureType.SUSPENSION, N_("Suspension")),
    (StructureType.CABLE_STAYED, N_("Cable-stayed")),
    (StructureType.BEAM, N_("Beam")),
    (StructureType.ARCH, N_("Arch")),
    (StructureType.TRUSS, N_("Truss")),
    (StructureType.SLAB, N_("Slab")),
    (StructureType.FRAME, N_("Frame")),
    (StructureType.NOT_APPLICABLE, N_("Not applicable")),
    (StructureType.OTHER, N_("Other")),
    (Material.TIMBER, N_("Timber")),
    (Material.STEEL, N_("Steel")),
    (Material.CONCRETE, N_("Concrete")),
    (Material.REINFORCED_CONCRETE, N_("Reinforced concrete")),
    (Material.STONE, N_("Stone")),
    (Material.COMPOSITE, N_("Composite")),
    (Material.PLASTIC, N_("Plastic")),
    (Material.OTHER, N_("Other")),
    (MaintenanceClass.I, N_("Class I")),
    (MaintenanceClass.II, N_("Class II")),
    (MaintenanceClass.III, N_("Class III")),
    (MaintenanceClass.IV, N_("Class IV")),
    (MaintenanceClass.V, N_("Class V")),
    (MaintenanceGrade.I, N_("Grade I")),
    (MaintenanceGrade.II, N_("Grade II")),
    (MaintenanceGrade.III, N_("Grade III")),
    (ConditionGrade.A, N_("A · intact")),
    (ConditionGrade.B, N_("B · good")),
    (ConditionGrade.C, N_("C · acceptable")),
    (ConditionGrade.D, N_("D · poor")),
    (ConditionGrade.E, N_("E · dangerous")),
    (Lifecycle.IN_USE, NC_("asset lifecycle", "In use")),
    (Lifecycle.UNDER_CONSTRUCTION, NC_("asset lifecycle", "Under construction")),
    (Lifecycle.DECOMMISSIONED, NC_("asset lifecycle", "Decommissioned")),
    (OperationalStatus.IN_SERVICE, NC_("facility status", "In service")),
    (OperationalStatus.RESTRICTED, NC_("facility status", "Restricted")),
    (OperationalStatus.CLOSED, NC_("facility status", "Closed")),
    (ComponentKind.MAIN_CABLE, N_("Main cable")),
    (ComponentKind.HANGER, N_("Hanger")),
    (ComponentKind.CABLE_CLAMP, N_("Cable clamp")),
    (ComponentKind.TOWER, N_("Tower")),
    (ComponentKind.ANCHORAGE, N_("Anchorage")),
    (ComponentKind.STIFFENING_BEAM, N_("Stiffening beam")),
    (ComponentKind.DECK_PLANKS, N_("Deck planks")),
    (ComponentKind.RAILING, N_("Railing")),
    (ComponentKind.SAFETY_NET, N_("Safety net")),
    (ComponentKind.ABUTMENT, N_("Abutment")),
    (ComponentKind.PIER, N_("Pier")),
    (ComponentKind.BEARING, N_("Bearing")),
    (ComponentKind.DRAINAGE, N_("Drainage")),
    (ComponentKind.LIGHTING, N_("Lighting")),
    (ComponentKind.SIGNAGE, N_("Signage")),
    (ComponentKind.EQUIPMENT, N_("Equipment")),
    (ComponentKind.SURFACE, N_("Surface")),
    (ComponentKind.OTHER, N_("Other")),
    (ComponentGroup.DECK_SYSTEM, N_("Deck system")),
    (ComponentGroup.SUPERSTRUCTURE, N_("Superstructure")),
    (ComponentGroup.SUBSTRUCTURE, N_("Substructure")),
    (ComponentGroup.ANCILLARY, N_("Ancillary facilities")),
)
LABELS: dict[tuple[type, str], str | Msg] = {(type(m), m.value): text for m, text in _LABELLED}

GRADE_COLOURS = {"A": "ok", "B": "ok", "C": "warn", "D": "bad", "E": "danger"}
