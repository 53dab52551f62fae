"""What the staff reports API (:mod:`facilities.reports.api`) answers: a report as staff
read it on the triage page, with its photos, its ticket, the "same as" link and the reporter's
contact. The triage inputs (convert, merge, reject, not ours) are the page's own Structs in
:mod:`facilities.reports.schemas`, so a rule is written once for both."""

from __future__ import annotations

import datetime as dt

import msgspec

from facilities.reports.choices import Category, Channel, ReportStatus, Stage


class ReportPhotoOut(msgspec.Struct, kw_only=True):
    """A citizen's photo: staff download it at ``url`` (the triage page's own download)."""

    id: int
    filename: str
    content_type: str
    size: int
    url: str
    thumbnail_url: str | None
    created_at: dt.datetime


class SuggestionOut(msgspec.Struct, kw_only=True):
    """Another open report on the same facility and category, near in time: a possible
    duplicate."""

    report_id: int
    requested_at: dt.datetime
    status: ReportStatus
    ticket_id: int | None
    excerpt: str


class ReportOut(msgspec.Struct, kw_only=True):
    """One report as the triage page shows it to staff (the contact is never public)."""

    id: int
    status: ReportStatus
    stage: Stage
    status_notes: str
    category: Category
    description: str
    attributes: dict[str, str]
    asset_id: int
    asset_code: str
    asset_name_zh: str
    asset_name_en: str
    site_name_zh: str
    site_name_en: str
    lat: float | None
    lng: float | None
    address_string: str
    channel: Channel
    client_name: str
    contact_name: str
    contact_email: str
    contact_phone: str
    public_reason: str
    ticket_id: int | None
    closure_id: int | None
    follow_up_of: int | None
    same_as: int | None
    requested_at: dt.datetime
    updated_at: dt.datetime
    triaged_at: dt.datetime | None
    version: int
    can_triage: bool
    photos: list[ReportPhotoOut]
    suggestions: list[SuggestionOut]


class TicketRefOut(msgspec.Struct, kw_only=True):
    id: int
    title: str
    status: str
    closing_reason: str | None = None
    created_at: dt.datetime | None = None


class ReportDetailOut(msgspec.Struct, kw_only=True):
    """One report with what the triage page shows beside it: its ticket, the open tickets it
    may be merged into, the report it follows up or says it is the same as, and the reports
    that follow it up or say they are the same as it."""

    report: ReportOut
    ticket: TicketRefOut | None
    merge_targets: list[TicketRefOut]
    follow_up_of: ReportOut | None
    follow_ups: list[ReportOut]
    same_as: ReportOut | None
    same_here: list[ReportOut]


class QueueOut(msgspec.Struct, kw_only=True):
    """The triage queue: new reports oldest first, and the recent ones a closure answers."""

    new: list[ReportOut]
    covered: list[ReportOut]


class ConvertedOut(msgspec.Struct, kw_only=True):
    """A triage decision's outcome: the report as it is now, and its ticket (if any)."""

    report: ReportOut
    ticket_id: int | None
