"""Closure input and output shapes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from facilities.closures.choices import Precision, Reason, SafetyMeasure, Scope

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


class CriterionOut(msgspec.Struct, kw_only=True):
    code: str
    met: bool
    detail: str


class ClosureOut(msgspec.Struct, kw_only=True):
    id: int
    asset_id: int
    scope: Scope
    affected_part_zh: str
    affected_part_en: str
    reason: Reason
    reason_zh: str
    reason_en: str
    safety_measures: list[str]
    detour_zh: str
    detour_en: str
    effective_from: dt.datetime
    planned_reopen_on: dt.date | None
    reopen_precision: Precision
    status: str
    is_urgent: bool
    lifted_at: dt.datetime | None
    reopens_at: dt.datetime | None
    signed_off_at: dt.datetime | None
    override_reason: str
    sequence: int
    version: int
    ticket_ids: list[int]
    gate: list[CriterionOut]
