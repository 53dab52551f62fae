"""Report categories (the Open311 services) per asset type, their attributes, report statuses
and how a report's public status follows the repair ticket or the closure that answers it."""

from __future__ import annotations

import dataclasses

from facilities.assets.choices import AssetType
from facilities.i18n import N_, NC_
from facilities.lib.labels import LabelledChoice, set_labels


class Category(LabelledChoice):
    """What is wrong; the value is the Open311 ``service_code``."""

    DECK_DAMAGE = "deck_damage"
    RAILING = "railing"
    CABLES = "cables"
    CRACKS = "cracks"
    LIGHTING = "lighting"
    PLAY_EQUIPMENT = "play_equipment"
    WATER_FEATURE = "water_feature"
    LITTER = "litter"
    FLOODING = "flooding"
    VANDALISM = "vandalism"
    OTHER = "other"


_BRIDGE_LIKE = (
    Category.DECK_DAMAGE,
    Category.RAILING,
    Category.CRACKS,
    Category.LIGHTING,
    Category.LITTER,
    Category.FLOODING,
    Category.VANDALISM,
    Category.OTHER,
)

#: The categories a citizen may choose for each type of facility (in the order shown).
CATEGORIES_BY_TYPE: dict[str, tuple[Category, ...]] = {
    AssetType.SUSPENSION_FOOTBRIDGE: (
        Category.DECK_DAMAGE,
        Category.RAILING,
        Category.CABLES,
        Category.CRACKS,
        Category.LIGHTING,
        Category.LITTER,
        Category.FLOODING,
        Category.VANDALISM,
        Category.OTHER,
    ),
    AssetType.BRIDGE: _BRIDGE_LIKE,
    AssetType.FOOTBRIDGE: _BRIDGE_LIKE,
    AssetType.BOARDWALK: _BRIDGE_LIKE,
    AssetType.PLAYGROUND: (
        Category.PLAY_EQUIPMENT,
        Category.LIGHTING,
        Category.LITTER,
        Category.FLOODING,
        Category.VANDALISM,
        Category.OTHER,
    ),
    AssetType.PAVILION: (
        Category.DECK_DAMAGE,
        Category.RAILING,
        Category.CRACKS,
        Category.LIGHTING,
        Category.LITTER,
        Category.VANDALISM,
        Category.OTHER,
    ),
    AssetType.PLAZA: (
        Category.CRACKS,
        Category.LIGHTING,
        Category.LITTER,
        Category.FLOODING,
        Category.VANDALISM,
        Category.OTHER,
    ),
    AssetType.FOUNTAIN: (
        Category.WATER_FEATURE,
        Category.LIGHTING,
        Category.LITTER,
        Category.VANDALISM,
        Category.OTHER,
    ),
    AssetType.LIGHTING: (Category.LIGHTING, Category.VANDALISM, Category.OTHER),
    AssetType.OTHER: (
        Category.LIGHTING,
        Category.LITTER,
        Category.FLOODING,
        Category.VANDALISM,
        Category.OTHER,
    ),
}


def categories_for(asset_type: str) -> tuple[Category, ...]:
    return CATEGORIES_BY_TYPE.get(asset_type, CATEGORIES_BY_TYPE[AssetType.OTHER])


#: Which asset types a category applies to (the Open311 service's ``group`` of facilities).
def asset_types_for(category: Category) -> list[str]:
    return [t for t, cats in CATEGORIES_BY_TYPE.items() if category in cats]


class AttributeType(LabelledChoice):
    """The Open311 ``datatype`` of an attribute (the ones this bureau uses)."""

    STRING = "string"
    SINGLEVALUELIST = "singlevaluelist"


@dataclasses.dataclass(frozen=True)
class Attribute:
    """One extra question of a category (an Open311 service definition attribute)."""

    code: str
    datatype: AttributeType
    description: str  # an N_() msgid
    required: bool = False
    values: tuple[tuple[str, str], ...] = ()  # (key, N_() name)
    max_length: int = 200


ATTRIBUTES: dict[Category, tuple[Attribute, ...]] = {
    Category.DECK_DAMAGE: (
        Attribute(
            "defect",
            AttributeType.SINGLEVALUELIST,
            N_("What is wrong with the deck?"),
            values=(
                ("loose", N_("Loose plank or board")),
                ("broken", N_("Broken or rotten plank")),
                ("missing", N_("Missing plank, a hole")),
                ("slippery", N_("Slippery surface")),
            ),
        ),
        Attribute(
            "where", AttributeType.STRING, N_("Where on the facility (e.g. near the east end)")
        ),
    ),
    Category.LIGHTING: (
        Attribute(
            "state",
            AttributeType.SINGLEVALUELIST,
            N_("What is wrong with the light?"),
            values=(
                ("off", N_("Not working")),
                ("flickering", N_("Flickering")),
                ("damaged", N_("Damaged or exposed wiring")),
                ("on_by_day", N_("On during the day")),
            ),
        ),
    ),
    Category.FLOODING: (
        Attribute(
            "depth",
            AttributeType.SINGLEVALUELIST,
            N_("How deep is the water?"),
            values=(
                ("puddle", N_("Puddles")),
                ("ankle", N_("Ankle deep")),
                ("impassable", N_("Cannot pass")),
            ),
        ),
    ),
}


def is_value(choices: type[LabelledChoice], value: object) -> bool:
    """Whether ``value`` is one of the stored values of ``choices`` (``"x" in Enum`` raises on
    Python 3.11)."""
    return isinstance(value, str) and value in choices._value2member_map_


def attributes_for(category: str) -> tuple[Attribute, ...]:
    return ATTRIBUTES.get(Category(category), ()) if is_value(Category, category) else ()


class ReportStatus(LabelledChoice):
    """Where a report is in triage. Once it is on a ticket its public status follows the
    ticket; once a closure answers it, the closure."""

    NEW = "new"
    TICKETED = "ticketed"
    MERGED = "merged"
    REJECTED = "rejected"
    NOT_OURS = "not_ours"
    COVERED = "covered"


#: Reports that staff may still act on (the triage queue).
TRIAGEABLE = frozenset({ReportStatus.NEW, ReportStatus.COVERED})


class Channel(LabelledChoice):
    WEB = "web"
    OPEN311 = "open311"


class PublicStatus(LabelledChoice):
    """The Open311 status."""

    OPEN = "open"
    CLOSED = "closed"


class Stage(LabelledChoice):
    """What a citizen reads about their report (the tracking page, the public lists)."""

    RECEIVED = "received"
    INVESTIGATING = "investigating"
    ACTION_SCHEDULED = "action_scheduled"
    IN_PROGRESS = "in_progress"
    FIXED = "fixed"
    CLOSURE = "closure"
    CLOSED = "closed"
    NO_FURTHER_ACTION = "no_further_action"
    NOT_OURS = "not_ours"
    DUPLICATE = "duplicate"


OPEN_STAGES = frozenset(
    {
        Stage.RECEIVED,
        Stage.INVESTIGATING,
        Stage.ACTION_SCHEDULED,
        Stage.IN_PROGRESS,
        Stage.CLOSURE,
    }
)

#: Ticket status -> the stage a citizen reads.
TICKET_STAGES = {
    "new": Stage.INVESTIGATING,
    "triaged": Stage.INVESTIGATING,
    "scheduled": Stage.ACTION_SCHEDULED,
    "in_progress": Stage.IN_PROGRESS,
    "work_complete": Stage.IN_PROGRESS,
    "accepted": Stage.IN_PROGRESS,
    "on_hold": Stage.ACTION_SCHEDULED,
    "closed": Stage.CLOSED,  # FIXED when the closing reason says it was repaired
    "rejected": Stage.NO_FURTHER_ACTION,
    "cancelled": Stage.NO_FURTHER_ACTION,
    "duplicate": Stage.DUPLICATE,
}

STAGE_COLOURS = {
    Stage.RECEIVED: "info",
    Stage.INVESTIGATING: "info",
    Stage.ACTION_SCHEDULED: "info",
    Stage.IN_PROGRESS: "warn",
    Stage.FIXED: "ok",
    Stage.CLOSURE: "bad",
    Stage.CLOSED: "none",
    Stage.NO_FURTHER_ACTION: "none",
    Stage.NOT_OURS: "none",
    Stage.DUPLICATE: "none",
}

set_labels(
    Category,
    {
        Category.DECK_DAMAGE: N_("Deck damage (loose or broken planks)"),
        Category.RAILING: N_("Railing or handrail damage"),
        Category.CABLES: N_("Cables or hangers (rust, fraying, loose)"),
        Category.CRACKS: N_("Cracks, movement or unusual sway"),
        Category.LIGHTING: N_("Lighting fault"),
        Category.PLAY_EQUIPMENT: N_("Broken play equipment"),
        Category.WATER_FEATURE: N_("Fountain or water feature fault"),
        Category.LITTER: N_("Litter or dumped rubbish"),
        Category.FLOODING: N_("Flooding or standing water"),
        Category.VANDALISM: N_("Vandalism or graffiti"),
        Category.OTHER: N_("Something else"),
    },
)
set_labels(
    AttributeType,
    {AttributeType.STRING: N_("Text"), AttributeType.SINGLEVALUELIST: N_("One of a list")},
)
set_labels(
    ReportStatus,
    {
        ReportStatus.NEW: NC_("report status", "New"),
        ReportStatus.TICKETED: NC_("report status", "Repair ticket opened"),
        ReportStatus.MERGED: NC_("report status", "Merged into a ticket"),
        ReportStatus.REJECTED: NC_("report status", "Rejected"),
        ReportStatus.NOT_OURS: NC_("report status", "Not our responsibility"),
        ReportStatus.COVERED: NC_("report status", "Answered by a closure notice"),
    },
)
set_labels(Channel, {Channel.WEB: N_("Web form"), Channel.OPEN311: N_("Open311 app")})
set_labels(
    PublicStatus,
    {
        PublicStatus.OPEN: NC_("Open311 status", "Open"),
        PublicStatus.CLOSED: NC_("Open311 status", "Closed"),
    },
)
set_labels(
    Stage,
    {
        Stage.RECEIVED: NC_("report stage", "Received, waiting to be reviewed"),
        Stage.INVESTIGATING: NC_("report stage", "Being looked into"),
        Stage.ACTION_SCHEDULED: NC_("report stage", "Repair planned"),
        Stage.IN_PROGRESS: NC_("report stage", "Repair in progress"),
        Stage.FIXED: NC_("report stage", "Fixed"),
        Stage.CLOSURE: NC_("report stage", "Facility closed for repair"),
        Stage.CLOSED: NC_("report stage", "Closed"),
        Stage.NO_FURTHER_ACTION: NC_("report stage", "No further action"),
        Stage.NOT_OURS: NC_("report stage", "Not our responsibility"),
        Stage.DUPLICATE: NC_("report stage", "Already reported"),
    },
)


class TimelineKind(LabelledChoice):
    """One dated step on the reporter's tracking page: their report's own steps (received,
    reviewed), its repair ticket's public progress, and their follow-ups."""

    RECEIVED = "received"
    COVERED = "covered"
    TICKETED = "ticketed"
    MERGED = "merged"
    REJECTED = "rejected"
    NOT_OURS = "not_ours"
    ASSESSED = "assessed"
    SCHEDULED = "scheduled"
    STARTED = "started"
    COMPLETED = "completed"
    ACCEPTED = "accepted"
    REWORK = "rework"
    ON_HOLD = "on_hold"
    RESUMED = "resumed"
    FIXED = "fixed"
    CLOSED = "closed"
    NO_REPAIR = "no_repair"
    DUPLICATE = "duplicate"
    FOLLOW_UP = "follow_up"


#: A ticket's audited action -> the step the reporter reads (``close`` is FIXED when repaired).
TICKET_ACTION_STEPS = {
    "ticket.triage": TimelineKind.ASSESSED,
    "ticket.schedule": TimelineKind.SCHEDULED,
    "ticket.start": TimelineKind.STARTED,
    "ticket.complete": TimelineKind.COMPLETED,
    "ticket.accept": TimelineKind.ACCEPTED,
    "ticket.rework": TimelineKind.REWORK,
    "ticket.hold": TimelineKind.ON_HOLD,
    "ticket.resume": TimelineKind.RESUMED,
    "ticket.close": TimelineKind.CLOSED,
    "ticket.reject": TimelineKind.NO_REPAIR,
    "ticket.cancel": TimelineKind.NO_REPAIR,
    "ticket.mark_duplicate": TimelineKind.DUPLICATE,
}

set_labels(
    TimelineKind,
    {
        TimelineKind.RECEIVED: NC_("report timeline", "Report received"),
        TimelineKind.COVERED: NC_(
            "report timeline", "Added to the closure of this facility for repair"
        ),
        TimelineKind.TICKETED: NC_("report timeline", "Reviewed: a repair ticket was opened"),
        TimelineKind.MERGED: NC_(
            "report timeline", "Reviewed: added to a repair ticket already open"
        ),
        TimelineKind.REJECTED: NC_("report timeline", "Reviewed: not accepted"),
        TimelineKind.NOT_OURS: NC_("report timeline", "Reviewed: not the bureau's responsibility"),
        TimelineKind.ASSESSED: NC_("report timeline", "Repair assessed by the bureau"),
        TimelineKind.SCHEDULED: NC_("report timeline", "Repair scheduled"),
        TimelineKind.STARTED: NC_("report timeline", "Work started"),
        TimelineKind.COMPLETED: NC_("report timeline", "Work finished, being checked"),
        TimelineKind.ACCEPTED: NC_("report timeline", "Work checked and accepted"),
        TimelineKind.REWORK: NC_("report timeline", "Work to be done again"),
        TimelineKind.ON_HOLD: NC_("report timeline", "Repair on hold"),
        TimelineKind.RESUMED: NC_("report timeline", "Repair resumed"),
        TimelineKind.FIXED: NC_("report timeline", "Fixed"),
        TimelineKind.CLOSED: NC_("report timeline", "Repair ticket closed"),
        TimelineKind.NO_REPAIR: NC_("report timeline", "No repair is planned"),
        TimelineKind.DUPLICATE: NC_(
            "report timeline", "Joined an earlier report of the same problem"
        ),
        TimelineKind.FOLLOW_UP: NC_("report timeline", "You told us it is still broken"),
    },
)
