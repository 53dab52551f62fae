"""Ticket input and output shapes, shared by the HTML forms, the CSV export and the JSON API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import msgspec

from facilities.tickets.choices import (
    Action,
    ClosingReason,
    PhotoTag,
    Priority,
    Source,
    Status,
    WorkClass,
)

Id = Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)]
Money = Decimal  # range checked in services (msgspec has no Decimal bounds)
ShortText = Annotated[str, msgspec.Meta(max_length=128)]
LongText = Annotated[str, msgspec.Meta(max_length=8000)]
Note = Annotated[str, msgspec.Meta(max_length=2000)]


class TicketIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new ticket, or (with ``version``) the full editable state of an existing one."""

    asset_id: Id
    component_id: Id | None = None
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    description: LongText = ""
    source: Source = Source.PATROL
    work_class: WorkClass = WorkClass.MINOR
    priority: Priority = Priority.P2
    assignee_id: Id | None = None
    assignee_team: ShortText = ""
    contractor_id: Id | None = None
    contractor: ShortText = ""
    contractor_contact: ShortText = ""
    scope: LongText = ""
    planned_start_on: dt.date | None = None
    planned_end_on: dt.date | None = None
    cost_estimate: Money | None = None
    cost_actual: Money | None = None
    reporter_email: Annotated[
        str, msgspec.Meta(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")
    ] = ""
    version: Annotated[int, msgspec.Meta(ge=1)] | None = None


class TransitionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    action: Action
    version: Annotated[int, msgspec.Meta(ge=1)]
    note: Note = ""
    closing_reason: ClosingReason | None = None
    duplicate_of: Id | None = None
    planned_start_on: dt.date | None = None


class BoardMoveIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A card dropped on another column of the board: the transition leading there is worked
    out from the ticket's status (``services.board.move_action``), with what it may need."""

    ticket_id: Id
    to: Status
    version: Annotated[int, msgspec.Meta(ge=1)]
    note: Note = ""
    planned_start_on: dt.date | None = None


class CommentIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    is_public: bool = False


class AttachmentMeta(msgspec.Struct, kw_only=True):
    tag: PhotoTag = PhotoTag.DURING
    caption: Annotated[str, msgspec.Meta(max_length=300)] = ""


class TicketFilters(msgspec.Struct, kw_only=True):
    q: Annotated[str, msgspec.Meta(max_length=100)] = ""
    status: Annotated[str, msgspec.Meta(pattern=r"^$|^(open|final|[a-z_]+)$")] = "open"
    priority: Priority | None = None
    asset: Id | None = None
    site: Id | None = None
    assignee: Id | None = None
    source: Source | None = None
    overdue: bool = False
    sort: Annotated[str, msgspec.Meta(pattern=r"^(-created|due|priority|-updated)$")] = "-created"
    after: Annotated[str, msgspec.Meta(max_length=200)] = ""
    per_page: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50


class TicketOut(msgspec.Struct, kw_only=True):
    id: int
    asset_id: int
    asset_code: str
    asset_name_zh: str
    component_id: int | None
    title: str
    description: str
    source: Source
    work_class: WorkClass
    priority: Priority
    status: Status
    sla_due_at: dt.datetime
    is_overdue: bool
    assignee_id: int | None
    assignee_team: str
    contractor_id: int | None
    contractor: str
    contractor_contact: str
    scope: str
    planned_start_on: dt.date | None
    planned_end_on: dt.date | None
    actual_start_at: dt.datetime | None
    actual_end_at: dt.datetime | None
    cost_estimate: Decimal | None
    cost_actual: Decimal | None
    status_note: str
    closing_reason: ClosingReason | None
    duplicate_of: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    version: int
    allowed_actions: list[Action]


class TicketListOut(msgspec.Struct, kw_only=True):
    items: list[TicketOut]
    next_cursor: str | None


class CommentOut(msgspec.Struct, kw_only=True):
    id: int
    author: str
    body: str
    is_public: bool
    created_at: dt.datetime


class AttachmentOut(msgspec.Struct, kw_only=True):
    id: int
    tag: PhotoTag
    filename: str
    content_type: str
    size: int
    caption: str
    url: str
    thumbnail_url: str | None
    created_at: dt.datetime
