"""Closure input and output shapes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec

from facilities.assets.schemas import GeometryText
from facilities.closures.choices import (
    NoticeSource,
    NoticeState,
    Precision,
    PublicProgress,
    Reason,
    SafetyMeasure,
    Scope,
    Status,
)
from facilities.lib.recurrence import localize

Id = Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)]
Version = Annotated[int, msgspec.Meta(ge=1)]
Text2000 = Annotated[str, msgspec.Meta(max_length=2000)]
Text200 = Annotated[str, msgspec.Meta(max_length=200)]


class ClosureIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    asset_id: Id
    scope: Scope = Scope.FULL
    affected_part_zh: Text200 = ""
    affected_part_en: Text200 = ""
    crowd_limit: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None
    hours_zh: Text200 = ""
    hours_en: Text200 = ""
    reason: Reason = Reason.REPAIR_WORKS
    reason_zh: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    reason_en: Text2000 = ""
    safety_measures: list[SafetyMeasure] = []
    detour_zh: Text2000 = ""
    detour_en: Text2000 = ""
    #: Drawn on the map or pasted (GeoJSON, WKT or "lat, lng"; WGS-84); "" for none. The
    #: extent is the closed part (empty: the whole facility); the detour a line; fences lines;
    #: entrances points.
    extent: GeometryText = ""
    detour_line: GeometryText = ""
    fences: GeometryText = ""
    entrances: GeometryText = ""
    reopening_criteria_zh: Text2000 = ""
    reopening_criteria_en: Text2000 = ""
    effective_from: dt.datetime
    planned_reopen_on: dt.date | None = None
    reopen_precision: Precision = Precision.BEFORE
    is_urgent: bool = False
    version: Version | None = None


class ExtendIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    version: Version
    planned_reopen_on: dt.date
    reopen_precision: Precision = Precision.BEFORE
    reason_zh: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    reason_en: Text2000 = ""


class LinkTicketIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    ticket_id: Id
    public_label_zh: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    public_label_en: Text200 = ""


class LiftIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    version: Version
    reopens_at: dt.datetime | None = None
    override_reason: Text2000 = ""


class CancelIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    version: Version
    reason_zh: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    reason_en: Text2000 = ""


class NoticeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    text_zh: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    text_en: Annotated[str, msgspec.Meta(max_length=4000)] = ""
    publish: bool = True


class SubscribeIn(msgspec.Struct, kw_only=True):
    email: Annotated[
        str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    ]
    asset_id: Id | None = None
    site_id: Id | None = None
    website: Annotated[str, msgspec.Meta(max_length=200)] = ""  # honeypot: people leave it empty


class SignOffIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    version: Version


class DraftPublishIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Publish a draft as it is (an empty body), or with its text edited first."""

    text_zh: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)] | None = None
    text_en: Annotated[str, msgspec.Meta(max_length=4000)] = ""

    def edited(self) -> NoticeIn | None:
        if self.text_zh is None:
            return None
        return NoticeIn(text_zh=self.text_zh, text_en=self.text_en)


#: A ``<input type="datetime-local">`` value: the bureau's wall-clock time, no offset.
LocalDateTime = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$")]


class ClosureForm(msgspec.Struct, kw_only=True):
    """The HTML form of a closure: the start is a local date and time in the bureau's zone and
    the safety measures come from repeated checkboxes (read beside this Struct)."""

    asset_id: Id
    scope: Scope = Scope.FULL
    affected_part_zh: Text200 = ""
    affected_part_en: Text200 = ""
    crowd_limit: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None
    hours_zh: Text200 = ""
    hours_en: Text200 = ""
    reason: Reason = Reason.REPAIR_WORKS
    reason_zh: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    reason_en: Text2000 = ""
    detour_zh: Text2000 = ""
    detour_en: Text2000 = ""
    #: Drawn on the map or pasted (GeoJSON, WKT or "lat, lng"; WGS-84); "" for none. The
    #: extent is the closed part (empty: the whole facility); the detour a line; fences lines;
    #: entrances points.
    extent: GeometryText = ""
    detour_line: GeometryText = ""
    fences: GeometryText = ""
    entrances: GeometryText = ""
    reopening_criteria_zh: Text2000 = ""
    reopening_criteria_en: Text2000 = ""
    effective_from: LocalDateTime
    planned_reopen_on: dt.date | None = None
    reopen_precision: Precision = Precision.BEFORE
    is_urgent: bool = False
    version: Version | None = None

    def to_in(self, zone: ZoneInfo, measures: list[SafetyMeasure]) -> ClosureIn:
        values = msgspec.structs.asdict(self)
        values["effective_from"] = local_instant(self.effective_from, zone)
        return ClosureIn(**values, safety_measures=measures)


class LiftForm(msgspec.Struct, kw_only=True):
    """The HTML lift form: the reopening time in local wall-clock time (empty: now)."""

    version: Version
    reopens_at: LocalDateTime | None = None
    override_reason: Text2000 = ""

    def to_in(self, zone: ZoneInfo) -> LiftIn:
        return LiftIn(
            version=self.version,
            reopens_at=local_instant(self.reopens_at, zone) if self.reopens_at else None,
            override_reason=self.override_reason,
        )


def local_instant(text: str, zone: ZoneInfo) -> dt.datetime:
    """A local wall-clock time from a form as an aware UTC instant (DST-safe)."""
    return localize(dt.datetime.fromisoformat(text.replace(" ", "T")), zone)


class CriterionOut(msgspec.Struct, kw_only=True):
    code: str
    met: bool
    label: str
    detail: str


class PromiseOut(msgspec.Struct, kw_only=True):
    planned_reopen_on: dt.date | None
    precision: Precision
    reason_zh: str
    reason_en: str
    made_at: dt.datetime


class LinkedTicketOut(msgspec.Struct, kw_only=True):
    ticket_id: int
    title: str
    status: str
    public_label_zh: str
    public_label_en: str
    public_progress: PublicProgress | None


class NoticeOut(msgspec.Struct, kw_only=True):
    id: int
    closure_id: int
    state: NoticeState
    source: NoticeSource
    text_zh: str
    text_en: str
    created_at: dt.datetime
    published_at: dt.datetime | None


class ClosureSummaryOut(msgspec.Struct, kw_only=True):
    """A closure in a list (without its gate, promises and tickets: GET it for those)."""

    id: int
    asset_id: int
    asset_code: str
    scope: Scope
    reason: Reason
    status: Status
    effective_from: dt.datetime
    planned_reopen_on: dt.date | None
    reopen_precision: Precision
    is_urgent: bool
    sequence: int
    version: int
    updated_at: dt.datetime


class ClosureOut(msgspec.Struct, kw_only=True):
    id: int
    asset_id: int
    scope: Scope
    affected_part_zh: str
    affected_part_en: str
    crowd_limit: int | None
    hours_zh: str
    hours_en: str
    reason: Reason
    reason_zh: str
    reason_en: str
    safety_measures: list[SafetyMeasure]
    detour_zh: str
    detour_en: str
    #: GeoJSON geometry objects (WGS-84), null when not drawn.
    extent: dict[str, Any] | None
    detour_line: dict[str, Any] | None
    fences: dict[str, Any] | None
    entrances: dict[str, Any] | None
    reopening_criteria_zh: str
    reopening_criteria_en: str
    effective_from: dt.datetime
    planned_reopen_on: dt.date | None
    reopen_precision: Precision
    status: Status
    is_urgent: bool
    activated_at: dt.datetime | None
    lifted_at: dt.datetime | None
    reopens_at: dt.datetime | None
    reopening_announced_at: dt.datetime | None
    signed_off_by: int | None
    signed_off_at: dt.datetime | None
    override_reason: str
    sequence: int
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    ticket_ids: list[int]
    tickets: list[LinkedTicketOut]
    promises: list[PromiseOut]
    gate_open: bool
    gate: list[CriterionOut]


class ProposalOut(msgspec.Struct, kw_only=True):
    id: int
    asset_id: int
    asset_code: str
    inspection_id: int
    grade: str | None
    scope: str
    reason: str
    status: str
    created_at: dt.datetime
