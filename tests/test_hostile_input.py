"""Hostile input: markup and template syntax in every text a person can type, files crafted to
be something else than they claim, paths that try to leave the media folder, and SQL
metacharacters in every list filter.

1. Every user-entered text column of every table holds an XSS payload (written through the real
   services), and every page, feed and document that shows it is fetched as staff and as a
   citizen, in both languages: the markup is escaped, ``{{7*7}}`` is never evaluated, no link
   gets a ``javascript:`` address; JSON, iCalendar and Open311 XML carry the text back exactly as
   typed; CSV exports neutralise formulas. ``test_every_text_column_is_covered_or_excluded``
   fails when a table gains a text column that this file neither covers nor excludes.
2. Every upload endpoint refuses traversal in file names, polyglots, bombs and empty or
   truncated files, or keeps only a clean re-encoded picture; media are served with a safe type,
   ``nosniff`` and a sane Content-Disposition, only to staff, never from outside the media dir.
3. Every list, search and filter parameter of every route (derived from the app) takes quotes,
   comment markers, LIKE wildcards, NUL bytes, 10 kB strings, bad numbers and dates without a
   5xx; LIKE searches treat ``%`` and ``_`` literally; no table changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import io
import json
import re
import struct
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest
from piccolo.columns import JSON, Text, Varchar
from PIL import Image

from facilities import db
from facilities.accounts import services as accounts
from facilities.accounts.choices import Role
from facilities.accounts.permissions import SYSTEM, Actor
from facilities.accounts.schemas import TokenCreate, UserCreate
from facilities.assets.choices import AssetType, ComponentGroup
from facilities.closures import services as closures
from facilities.closures.choices import Reason, Scope
from facilities.closures.schemas import ClosureIn, ExtendIn, LiftIn, LinkTicketIn, NoticeIn
from facilities.inspections import services as inspections
from facilities.inspections.choices import Answer, InspectionType, Trigger
from facilities.inspections.schemas import ConditionIn, FindingIn, InspectionIn, RecordIn
from facilities.inspections.tables import ChecklistTemplate, InspectionPhoto, Team
from facilities.lib.clock import SettableClock
from facilities.reports import services as reports
from facilities.reports.choices import Category
from facilities.reports.schemas import AnswerIn, KeyCreate, ReportIn
from facilities.reports.tables import ReportPhoto
from facilities.tickets import services as tickets
from facilities.tickets.choices import Action, PhotoTag
from facilities.tickets.schemas import CommentIn, TicketIn, TransitionIn
from facilities.tickets.tables import TicketAttachment
from tests.conftest import NOW, client_for_app, csrf_token, log_in
from tests.factories import make_asset, make_component, make_site
from tests.test_security import app_routes

ZONE_NAME = "Asia/Shanghai"
#: The moment every handler reads as "now" (the story happened in the days before it).
READ_AT = NOW + dt.timedelta(hours=1)

# --- 1. XSS in every text field ----------------------------------------------------------------

#: What must never reach an HTML or XML body as markup.
RAW_MARKUP = ("<script>alert(1)", "<img src=x onerror", "<svg onload=alert(1)>")
RTL = "\u202e"


def hostile(tag: str) -> str:
    """The payload of one field: ``tag`` makes it findable, ``{{7*7}}`` follows it directly
    (rendered as 49 it would read ``<tag>49``), then markup for text, attribute and textarea
    contexts, a ``javascript:`` link and a right-to-left override. 121 characters."""
    return (
        f'{tag}{{{{7*7}}}}<script>alert(1)</script>"><img src=x onerror=alert(1)>'
        f"</textarea><svg onload=alert(1)>javascript:alert(1){RTL}"
    )


def hostile_email(tag: str) -> str:
    """An address the forms accept (no spaces, one @) that is still markup."""
    return f'{tag}{{{{7*7}}}}"><script>alert(1)</script>@x.example'


def hostile_filename(tag: str) -> str:
    """A file name's payload: no slash (a folder part is dropped on purpose, see part 2)."""
    return f"{tag}{{{{7*7}}}}<img src=x onerror=alert(1)>\"'<svg onload=alert(1)>"


def formula(tag: str) -> str:
    """A spreadsheet formula that would run a program, for text exported to CSV."""
    return f"=cmd|' /C calc'!A0 {tag}"


@dataclasses.dataclass(frozen=True)
class Field:
    """Where one column's hostile value must show (URL templates filled from the story's ids);
    ``public`` URLs are fetched anonymously, the others as the administrator."""

    staff: tuple[str, ...] = ()
    public: tuple[str, ...] = ()
    json: tuple[str, ...] = ()  # JSON documents carrying the value back exactly as typed


def _tag(index: int) -> str:
    return f"HX{index:02d}Q"


#: Every user-entered text column, with the pages that show it. The value stored is
#: ``hostile(tag)`` (``hostile_email`` for address columns) where ``tag`` is ``HX<nn>Q`` and
#: ``nn`` the position in this dict.
COVERED: dict[tuple[str, str], Field] = {
    ("staff_user", "display_name"): Field(
        staff=("/admin/users", "/tickets", "/tickets/{ticket}", "/inspections/{inspection}"),
        json=("/api/v1/tickets/{ticket}/comments",),
    ),
    ("staff_user", "email"): Field(staff=("/admin/users/{mallory}/edit",)),
    ("api_token", "name"): Field(staff=("/admin/tokens",)),
    ("site", "name_zh"): Field(
        staff=("/sites", "/assets", "/assets/{asset}"),
        public=("/", "/notices/{closure}", "/facilities/{asset}", "/feeds/cap/{closure}.xml"),
        json=("/api/v1/sites", "/feeds/closures.geojson"),
    ),
    ("site", "name_en"): Field(
        staff=("/sites", "/assets"),
        public=("/", "/notices/sites/{site}", "/feeds/sites/{site}.atom", "/feeds/closures.ics"),
        json=("/api/v1/sites",),
    ),
    ("site", "address"): Field(
        staff=("/sites", "/sites/{site}/edit"),
        public=("/notices/sites/{site}",),
        json=("/api/v1/sites",),
    ),
    ("asset", "name_zh"): Field(
        staff=("/assets", "/assets/{asset}", "/tickets/{ticket}", "/closures", "/inspections"),
        public=(
            "/",
            "/notices",
            "/notices/{closure}",
            "/facilities/{asset}",
            "/feeds/notices.atom",
            "/feeds/closures.ics",
            "/feeds/cap/{closure}.xml",
        ),
        json=("/api/v1/assets", "/feeds/closures.geojson"),
    ),
    ("asset", "name_en"): Field(
        staff=("/assets/{asset}", "/closures/{closure}"),
        public=("/notices/{closure}", "/facilities/{asset}", "/accountability"),
        json=("/api/v1/assets",),
    ),
    ("asset", "location_note"): Field(
        staff=("/assets/{asset}", "/assets/{asset}/edit"), json=("/api/v1/assets",)
    ),
    ("asset", "description"): Field(
        staff=("/assets/{asset}", "/assets/{asset}/edit"), json=("/api/v1/assets",)
    ),
    ("component", "name_zh"): Field(
        staff=("/assets/{asset}", "/inspections/{inspection}", "/tickets/{ticket}/edit"),
        json=("/api/v1/assets/{asset}/components",),
    ),
    ("component", "name_en"): Field(
        staff=("/assets/{asset}", "/inspections/{inspection}"),
        json=("/api/v1/assets/{asset}/components",),
    ),
    ("component", "notes"): Field(
        staff=("/assets/{asset}", "/assets/components/{component}/edit"),
        json=("/api/v1/components/{component}",),
    ),
    ("repair_ticket", "title"): Field(
        staff=("/tickets", "/tickets/board", "/tickets/{ticket}", "/assets/{asset}"),
        json=("/api/v1/tickets",),
    ),
    ("repair_ticket", "description"): Field(
        staff=("/tickets/{ticket}", "/tickets/{ticket}/edit"), json=("/api/v1/tickets/{ticket}",)
    ),
    ("repair_ticket", "assignee_team"): Field(
        staff=("/tickets/{ticket}",), json=("/api/v1/tickets/{ticket}",)
    ),
    ("repair_ticket", "contractor"): Field(
        staff=("/tickets/{ticket}",), json=("/api/v1/tickets/{ticket}",)
    ),
    ("repair_ticket", "contractor_contact"): Field(
        staff=("/tickets/{ticket}",), json=("/api/v1/tickets/{ticket}",)
    ),
    ("repair_ticket", "scope"): Field(
        staff=("/tickets/{ticket}",), json=("/api/v1/tickets/{ticket}",)
    ),
    ("repair_ticket", "status_note"): Field(
        staff=("/tickets/{ticket}",), json=("/api/v1/tickets/{ticket}",)
    ),
    ("repair_ticket", "reporter_email"): Field(staff=("/tickets/{ticket}/edit",)),
    ("ticket_comment", "body"): Field(
        staff=("/tickets/{ticket}",), json=("/api/v1/tickets/{ticket}/comments",)
    ),
    ("ticket_attachment", "filename"): Field(json=("/api/v1/tickets/{ticket}/attachments",)),
    ("ticket_attachment", "caption"): Field(
        staff=("/tickets/{ticket}",), json=("/api/v1/tickets/{ticket}/attachments",)
    ),
    ("team", "name"): Field(
        staff=("/inspections/calendar", "/inspections/new"),
        public=("/inspections/calendar.ics?team={team}&token={team_token}",),
    ),
    ("inspection", "answers"): Field(
        staff=("/inspections/{inspection}",), json=("/api/v1/inspections/{inspection}",)
    ),
    ("inspection", "summary"): Field(
        staff=("/inspections/{inspection}",), json=("/api/v1/inspections/{inspection}",)
    ),
    ("component_condition", "note"): Field(staff=("/inspections/{inspection}",)),
    ("finding", "description"): Field(
        staff=("/inspections/{inspection}",),
        json=("/api/v1/inspections/{inspection}/findings",),
    ),
    ("inspection_photo", "caption"): Field(staff=("/inspections/{inspection}",)),
    ("closure", "affected_part_zh"): Field(
        staff=("/closures/{closure}", "/closures/{closure}/edit"),
        public=("/", "/notices", "/notices/{closure}", "/facilities/{asset}"),
        json=("/api/v1/closures/{closure}",),
    ),
    ("closure", "affected_part_en"): Field(
        staff=("/closures/{closure}",),
        public=("/", "/notices/{closure}", "/facilities/{asset}"),
        json=("/api/v1/closures/{closure}",),
    ),
    ("closure", "hours_zh"): Field(
        staff=("/closures/{closure}",),
        public=("/notices/{closure}",),
        json=("/api/v1/closures/{closure}",),
    ),
    ("closure", "hours_en"): Field(
        staff=("/closures/{closure}",),
        public=("/notices/{closure}",),
        json=("/api/v1/closures/{closure}",),
    ),
    ("closure", "reason_zh"): Field(
        staff=("/closures/{closure}",),
        public=("/notices/{closure}", "/feeds/cap/{closure}.xml", "/feeds/closures.ics"),
        json=("/api/v1/closures/{closure}", "/feeds/closures.geojson"),
    ),
    ("closure", "reason_en"): Field(
        staff=("/closures/{closure}",),
        public=("/notices/{closure}", "/feeds/cap/{closure}.xml", "/feeds/closures.ics"),
        json=("/api/v1/closures/{closure}", "/feeds/closures.geojson"),
    ),
    ("closure", "detour_zh"): Field(
        staff=("/closures/{closure}",),
        public=("/notices/{closure}", "/feeds/cap/{closure}.xml", "/feeds/closures.ics"),
        json=("/api/v1/closures/{closure}",),
    ),
    ("closure", "detour_en"): Field(
        staff=("/closures/{closure}",),
        public=("/notices/{closure}", "/feeds/cap/{closure}.xml", "/feeds/closures.ics"),
        json=("/api/v1/closures/{closure}",),
    ),
    ("closure", "reopening_criteria_zh"): Field(
        staff=("/closures/{closure}",),
        public=("/notices/{closure}",),
        json=("/api/v1/closures/{closure}",),
    ),
    ("closure", "reopening_criteria_en"): Field(
        staff=("/closures/{closure}",),
        public=("/notices/{closure}",),
        json=("/api/v1/closures/{closure}",),
    ),
    ("closure", "override_reason"): Field(
        staff=("/closures/{lifted}",), json=("/api/v1/closures/{lifted}",)
    ),
    ("closure_promise", "reason_zh"): Field(
        staff=("/closures/{closure}",),
        public=("/notices/{closure}", "/feeds/notices.atom"),
        json=("/api/v1/closures/{closure}",),
    ),
    ("closure_promise", "reason_en"): Field(
        staff=("/closures/{closure}",),
        public=("/notices/{closure}", "/feeds/notices.atom"),
        json=("/api/v1/closures/{closure}",),
    ),
    ("closure_ticket", "public_label_zh"): Field(
        staff=("/closures/{closure}",),
        public=("/notices/{closure}",),
        json=("/api/v1/closures/{closure}",),
    ),
    ("closure_ticket", "public_label_en"): Field(
        staff=("/closures/{closure}",),
        public=("/notices/{closure}",),
        json=("/api/v1/closures/{closure}",),
    ),
    ("notice_update", "text_zh"): Field(
        staff=("/closures/{closure}",),
        public=("/notices/{closure}", "/feeds/notices.atom", "/feeds/sites/{site}.atom"),
        json=("/api/v1/closures/{closure}/updates",),
    ),
    ("notice_update", "text_en"): Field(
        staff=("/closures/{closure}",),
        public=("/notices/{closure}", "/feeds/notices.atom", "/feeds/facilities/{asset}.atom"),
        json=("/api/v1/closures/{closure}/updates",),
    ),
    ("open311_key", "name"): Field(staff=("/triage/api-keys",)),
    ("open311_key", "contact"): Field(staff=("/triage/api-keys",)),
    ("service_request", "description"): Field(
        staff=("/triage", "/triage/{report}"),
        public=("/reports/{token}", "/report?asset={boardwalk}", "/open311/v2/requests.xml"),
        json=("/open311/v2/requests/{report}.json",),
    ),
    ("service_request", "attributes"): Field(staff=("/triage/{report}",)),
    ("service_request", "address_string"): Field(
        staff=("/triage/{report}",),
        public=("/open311/v2/requests/{report}.xml",),
        json=("/open311/v2/requests/{report}.json",),
    ),
    ("service_request", "contact_name"): Field(staff=("/triage/{report}",)),
    ("service_request", "contact_email"): Field(staff=("/triage/{report}",)),
    ("service_request", "public_reason"): Field(
        staff=("/triage/{rejected}",),
        public=("/reports/{rejected_token}", "/open311/v2/requests/{rejected}.xml"),
        json=("/open311/v2/requests/{rejected}.json",),
    ),
    ("report_photo", "filename"): Field(staff=("/triage/{report}",)),
}

#: Text columns nobody types into a page or an API (or that are never shown), with the reason.
#: Columns with ``choices=`` are excluded by rule: only a listed value can be stored.
EXCLUDED: dict[tuple[str, str], str] = {
    ("staff_user", "username"): "pattern [a-zA-Z0-9_.-] only",
    ("staff_user", "password_hash"): "a hash, never shown",
    ("staff_user", "language"): "pattern zh_CN|en only",
    ("staff_session", "token_hash"): "a hash, never shown",
    ("staff_session", "ip"): "taken from the connection, never shown",
    ("staff_session", "user_agent"): "never shown on any page",
    ("api_token", "token_hash"): "a hash, never shown",
    ("api_token", "prefix"): "generated by the server",
    ("rate_limit_bucket", "key"): "generated by the server, never shown",
    ("notification", "dedupe_key"): "generated by the server",
    ("notification", "template"): "a template name chosen by the code",
    ("notification", "to_address"): "an e-mail address validated by the forms, mail only",
    ("notification", "subject"): "rendered e-mail (plain text), never served on a page",
    ("notification", "body_text"): "rendered e-mail (plain text), never served on a page",
    ("notification", "body_html"): "rendered through the autoescaping environment, mail only",
    ("notification", "headers"): "generated by the server",
    ("notification", "claim_token"): "generated by the server",
    ("notification", "last_error"): "an SMTP server's error, never shown to the public",
    ("job_run", "job_id"): "the timetable's ids, from code",
    ("job_run", "error"): "an exception of a job, written by the scheduler",
    ("job_run", "detail"): "written by the scheduler",
    ("job_run", "runner"): "host name and pid, written by the scheduler",
    ("job_run", "trigger"): "schedule or manual, from code",
    ("scheduled_job", "job_id"): "the timetable's ids, from code",
    ("scheduled_job", "description"): "the timetable's descriptions, from code",
    ("scheduled_job", "schedule"): "the timetable's triggers, from code",
    ("scheduled_job", "runner"): "host name and pid, written by the scheduler",
    ("audit_event", "actor_name"): "copied from staff_user.display_name (covered)",
    ("audit_event", "action"): "an action name from code",
    ("audit_event", "entity_type"): "an entity name from code",
    ("audit_event", "changes"): "copies of covered columns; the ticket and closure pages that "
    "show these histories are scanned",
    ("asset", "code"): "pattern [A-Z0-9-] only",
    ("ticket_attachment", "content_type"): "decided by the server from the content",
    ("ticket_attachment", "sha256"): "computed by the server",
    ("ticket_attachment", "storage_key"): "generated by the server",
    ("ticket_attachment", "thumbnail_key"): "generated by the server",
    ("team", "email"): "policy data (no form writes teams); only mail goes there",
    ("checklist_template", "code"): "policy data seeded by a migration, no form",
    ("checklist_template", "name_zh"): "policy data seeded by a migration, no form",
    ("checklist_template", "name_en"): "policy data seeded by a migration, no form",
    ("checklist_template", "items"): "policy data seeded by a migration, no form",
    ("inspection_schedule", "rrule"): "parsed as an RFC 5545 rule: anything else is refused",
    ("inspection_schedule", "override_rrule"): "written by the rules, from code",
    ("inspection_schedule", "override_reason"): "written by the rules, from code",
    ("inspection", "occurrence_key"): "generated by the server",
    ("inspection", "grade"): "computed A-E",
    ("inspection_photo", "content_type"): "decided by the server from the content",
    ("inspection_photo", "sha256"): "computed by the server",
    ("inspection_photo", "storage_key"): "generated by the server",
    ("inspection_photo", "thumbnail_key"): "generated by the server",
    ("inspection_rule", "code"): "policy data seeded by a migration, no form",
    ("inspection_rule", "basis"): "policy data seeded by a migration, no form",
    ("inspection_rule", "description"): "policy data seeded by a migration, no form",
    ("inspection_rule", "params"): "policy data seeded by a migration, no form",
    ("rule_firing", "outcome"): "written by the rules, from code",
    ("closure_proposal", "scope"): "written by the rules, from code",
    ("closure_proposal", "reason"): "written by the rules, from code",
    ("closure_proposal", "status"): "proposed/approved/dismissed, from code",
    ("inspection_reminder", "key"): "generated by the server",
    ("inspection_reminder", "kind"): "from code",
    ("default_schedule", "asset_type"): "policy data seeded by a migration, no form",
    ("default_schedule", "maintenance_grade"): "policy data seeded by a migration, no form",
    ("default_schedule", "rrule"): "policy data seeded by a migration, no form",
    ("default_schedule", "checklist_code"): "policy data seeded by a migration, no form",
    ("closure", "safety_measures"): "a list of SafetyMeasure choices",
    ("closure_ticket", "key"): "generated by the server",
    ("notice_update", "dedupe_key"): "generated by the server",
    ("subscription", "email"): "never shown anywhere (only mailed to)",
    ("subscription", "scope_key"): "generated by the server",
    ("subscription", "language"): "zh_CN or en, from the request's locale",
    ("subscription", "token"): "generated by the server",
    ("closure_cursor", "name"): "from code",
    ("open311_key", "key_hash"): "a hash, never shown",
    ("open311_key", "prefix"): "generated by the server",
    ("service_request", "token_hash"): "a hash, never shown",
    ("service_request", "contact_phone"): "pattern digits, spaces, + ( ) - only",
    ("service_request", "language"): "the request's locale, zh_CN or en",
    ("service_request", "device_id"): "an Open311 client's id, stored and never shown",
    ("service_request", "account_id"): "an Open311 client's id, stored and never shown",
    ("report_photo", "content_type"): "decided by the server from the content",
    ("report_photo", "sha256"): "computed by the server",
    ("report_photo", "storage_key"): "generated by the server",
    ("report_photo", "thumbnail_key"): "generated by the server",
}

EMAIL_COLUMNS = {
    ("staff_user", "email"),
    ("repair_ticket", "reporter_email"),
    ("service_request", "contact_email"),
}
FILENAME_COLUMNS = {("ticket_attachment", "filename"), ("report_photo", "filename")}
TAGS = {column: _tag(index) for index, column in enumerate(COVERED)}


def value_of(table: str, column: str) -> str:
    """The text stored in a covered column (file names as stored: with their real extension)."""
    tag = TAGS[(table, column)]
    if (table, column) in EMAIL_COLUMNS:
        return hostile_email(tag)
    if (table, column) in FILENAME_COLUMNS:
        return hostile_filename(tag) + ".png"
    return hostile(tag)


def text_columns() -> set[tuple[str, str]]:
    """Every free-text column (Varchar, Text, JSON without ``choices``) of every table."""
    found = set()
    for table in db.all_tables():
        for column in table._meta.columns:
            if isinstance(column, Varchar | Text | JSON) and not column._meta.choices:
                found.add((table._meta.tablename, column._meta.name))
    return found


def test_every_text_column_is_covered_or_excluded():
    columns = text_columns()
    listed = set(COVERED) | set(EXCLUDED)
    assert not set(COVERED) & set(EXCLUDED), "a column is both covered and excluded"
    missing = sorted(columns - listed)
    assert not missing, (
        "text columns neither covered by a hostile payload nor excluded with a reason "
        f"(add them to COVERED or EXCLUDED in {__name__}): {missing}"
    )
    gone = sorted(listed - columns)
    assert not gone, f"listed columns that no longer exist (or gained choices=): {gone}"
    assert all(EXCLUDED.values())
    assert all(f.staff or f.public or f.json for f in COVERED.values())


def png_bytes(size: tuple[int, int] = (40, 30), fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 120, 90)).save(buffer, format=fmt)
    return buffer.getvalue()


def pin_clocks(clock: SettableClock, moment: dt.datetime) -> None:
    """The app's clock (every entry point's ``now``) reads ``moment``."""
    clock.set(moment, frozen=True)


@dataclasses.dataclass
class HostileStory:
    ids: dict[str, Any]
    admin: Actor


async def build_hostile_story(media_root: Path) -> HostileStory:
    """Every covered column written with its payload through the real services."""
    v = value_of
    at = NOW - dt.timedelta(days=3)
    admin = accounts.actor_of(
        await accounts.create_user(
            SYSTEM,
            UserCreate(
                username="admin",
                display_name="Admin",
                role=Role.ADMIN,
                email="admin@bureau.example",
                password="correct horse battery",
            ),
            at,
        )
    )
    mallory_row = await accounts.create_user(
        SYSTEM,
        UserCreate(
            username="mallory",
            display_name=v("staff_user", "display_name"),
            role=Role.SUPERVISOR,
            email=v("staff_user", "email"),
            password="correct horse battery",
        ),
        at,
    )
    mallory = accounts.actor_of(mallory_row)
    await accounts.create_api_token(
        admin, TokenCreate(name=v("api_token", "name"), user_id=mallory_row.id), at
    )
    await reports.create_key(
        admin,
        KeyCreate(name=v("open311_key", "name"), contact=v("open311_key", "contact")),
        at,
    )
    site = await make_site(
        v("site", "name_zh"),
        name_en=v("site", "name_en"),
        address=v("site", "address"),
        lat=26.8952,
        lng=112.5841,
    )
    bridge = await make_asset(
        site,
        code="GX-HX-001",
        name_zh=v("asset", "name_zh"),
        name_en=v("asset", "name_en"),
        location_note=v("asset", "location_note"),
        description=v("asset", "description"),
        asset_type=AssetType.FOOTBRIDGE,
        lat=26.8949,
        lng=112.5812,
    )
    boardwalk = await make_asset(
        site, code="GX-HX-002", asset_type=AssetType.BOARDWALK, lat=26.8961, lng=112.5830
    )
    fountain = await make_asset(site, code="GX-HX-003", asset_type=AssetType.FOUNTAIN)
    component = await make_component(
        bridge,
        v("component", "name_zh"),
        name_en=v("component", "name_en"),
        notes=v("component", "notes"),
        group=ComponentGroup.SUPERSTRUCTURE,
    )

    # A ticket with every text of its own, a comment, an attachment, a note on hold.
    ticket = await tickets.open_ticket(
        mallory,
        TicketIn(
            asset_id=bridge.id,
            title=v("repair_ticket", "title"),
            description=v("repair_ticket", "description"),
            assignee_id=mallory.id,
            assignee_team=v("repair_ticket", "assignee_team"),
            contractor=v("repair_ticket", "contractor"),
            contractor_contact=v("repair_ticket", "contractor_contact"),
            scope=v("repair_ticket", "scope"),
            reporter_email=v("repair_ticket", "reporter_email"),
        ),
        at,
    )
    current = await tickets.transition(
        mallory, ticket.id, TransitionIn(action=Action.TRIAGE, version=ticket.version), at
    )
    await tickets.transition(
        mallory,
        ticket.id,
        TransitionIn(
            action=Action.HOLD, version=current.version, note=v("repair_ticket", "status_note")
        ),
        at,
    )
    await tickets.add_comment(mallory, ticket.id, CommentIn(body=v("ticket_comment", "body")), at)
    await tickets.add_attachment(
        mallory,
        ticket.id,
        png_bytes(),
        v("ticket_attachment", "filename"),
        PhotoTag.DURING,
        v("ticket_attachment", "caption"),
        media_root,
        2_000_000,
        at,
    )

    # An inspection in progress: a checklist note, a component note, a summary, a finding and
    # a photo, planned for a team.
    team_rows = await Team.insert(
        Team(name=v("team", "name"), email="team@bureau.example")
    ).returning(Team.id)
    checklist = await ChecklistTemplate.objects().where(ChecklistTemplate.code == "patrol").first()
    assert checklist is not None, "the patrol checklist is seeded by a migration"
    items = json.loads(checklist.items) if isinstance(checklist.items, str) else checklist.items
    item_key = items[0]["key"]
    inspection = await inspections.create_inspection(
        mallory,
        InspectionIn(
            asset_id=bridge.id,
            inspection_type=InspectionType.SPECIAL,
            trigger=Trigger.EVENT,
            due_on=NOW.date(),
            inspector_id=mallory.id,
            team_id=int(team_rows[0]["id"]),
            checklist_id=checklist.id,
        ),
        _zone(),
        at,
    )
    started = await inspections.start(mallory, inspection.id, inspection.version, at)
    await inspections.save_record(
        mallory,
        inspection.id,
        RecordIn(
            version=started.version,
            answers={item_key: Answer.NOT_OK},
            answer_notes={item_key: v("inspection", "answers")},
            conditions=[
                ConditionIn(
                    component_id=component.id, score=70, note=v("component_condition", "note")
                )
            ],
            summary=v("inspection", "summary"),
        ),
        at,
    )
    finding = await inspections.add_finding(
        mallory,
        inspection.id,
        FindingIn(component_id=component.id, description=v("finding", "description")),
        at,
    )
    await inspections.add_photo(
        mallory,
        inspection.id,
        png_bytes(),
        finding.id,
        v("inspection_photo", "caption"),
        media_root,
        2_000_000,
        at,
    )

    # A closure in force (urgent, so it has a CAP alert), extended, with the ticket linked and a
    # published update; a second one lifted by an administrator's override.
    closure = await closures.create_closure(
        mallory,
        ClosureIn(
            asset_id=bridge.id,
            scope=Scope.PARTIAL,
            affected_part_zh=v("closure", "affected_part_zh"),
            affected_part_en=v("closure", "affected_part_en"),
            hours_zh=v("closure", "hours_zh"),
            hours_en=v("closure", "hours_en"),
            reason=Reason.STRUCTURAL_DEFECT,
            reason_zh=v("closure", "reason_zh"),
            reason_en=v("closure", "reason_en"),
            detour_zh=v("closure", "detour_zh"),
            detour_en=v("closure", "detour_en"),
            reopening_criteria_zh=v("closure", "reopening_criteria_zh"),
            reopening_criteria_en=v("closure", "reopening_criteria_en"),
            effective_from=at,
            planned_reopen_on=dt.date(2027, 4, 15),
            is_urgent=True,
        ),
        at,
    )
    await closures.link_ticket(
        mallory,
        closure.id,
        LinkTicketIn(
            ticket_id=ticket.id,
            public_label_zh=v("closure_ticket", "public_label_zh"),
            public_label_en=v("closure_ticket", "public_label_en"),
        ),
        at,
    )
    await closures.write_update(
        mallory,
        closure.id,
        NoticeIn(text_zh=v("notice_update", "text_zh"), text_en=v("notice_update", "text_en")),
        at + dt.timedelta(hours=1),
    )
    fresh = await closures.find_closure(closure.id)
    assert fresh is not None
    await closures.extend(
        mallory,
        closure.id,
        ExtendIn(
            version=fresh.version,
            planned_reopen_on=dt.date(2027, 5, 1),
            reason_zh=v("closure_promise", "reason_zh"),
            reason_en=v("closure_promise", "reason_en"),
        ),
        at + dt.timedelta(hours=2),
    )
    lifted = await closures.create_closure(
        mallory,
        ClosureIn(asset_id=fountain.id, reason_zh="水泵维修。", effective_from=at),
        at,
    )
    await closures.lift(
        admin,
        lifted.id,
        LiftIn(version=lifted.version, override_reason=v("closure", "override_reason")),
        at + dt.timedelta(days=1),
    )

    # Two citizen reports on the boardwalk: one new (with a photo), one rejected with a reason.
    submitted = await reports.submit_report(
        ReportIn(
            asset_id=boardwalk.id,
            category=Category.DECK_DAMAGE,
            description=v("service_request", "description"),
            attributes={"where": v("service_request", "attributes")},
            address_string=v("service_request", "address_string"),
            contact_name=v("service_request", "contact_name"),
            contact_email=v("service_request", "contact_email"),
            device_id=hostile("HXdevQ"),
            account_id=hostile("HXaccQ"),
        ),
        [reports.Upload(v("report_photo", "filename"), png_bytes())],
        at,
        media_root=media_root,
        max_upload_bytes=2_000_000,
    )
    rejected = await reports.submit_report(
        ReportIn(asset_id=boardwalk.id, category=Category.DECK_DAMAGE, description="一块木板松动"),
        [],
        at,
        media_root=media_root,
        max_upload_bytes=2_000_000,
    )
    await reports.reject_report(
        admin,
        rejected.report.id,
        AnswerIn(version=rejected.report.version, reason=v("service_request", "public_reason")),
        at + dt.timedelta(hours=3),
    )
    ids = {
        "site": site.id,
        "asset": bridge.id,
        "boardwalk": boardwalk.id,
        "component": component.id,
        "ticket": ticket.id,
        "inspection": inspection.id,
        "closure": closure.id,
        "lifted": lifted.id,
        "team": int(team_rows[0]["id"]),
        "report": submitted.report.id,
        "token": submitted.token,
        "rejected": rejected.report.id,
        "rejected_token": rejected.token,
    }
    return HostileStory(ids=ids, admin=admin)


def _zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(ZONE_NAME)


#: Path parameters of GET routes, filled from the story (``{name}`` routes list their names).
PATH_VALUES: dict[str, str] = {
    "asset_id": "{asset}",
    "site_id": "{site}",
    "component_id": "{component}",
    "ticket_id": "{ticket}",
    "inspection_id": "{inspection}",
    "closure_id": "{closure}",
    "report_id": "{report}",
    "user_id": "{mallory}",
    "schedule_id": "{schedule}",
}
NAMED: dict[str, tuple[str, ...]] = {
    "/feeds/cap/{name:str}": ("/feeds/cap/{closure}.xml",),
    "/feeds/facilities/{name:str}": ("/feeds/facilities/{asset}.atom",),
    "/feeds/sites/{name:str}": ("/feeds/sites/{site}.atom",),
    "/open311/v2/{name:str}": (
        "/open311/v2/requests.json",
        "/open311/v2/requests.xml",
        "/open311/v2/services.xml",
    ),
    "/open311/v2/requests/{name:str}": (
        "/open311/v2/requests/{report}.json",
        "/open311/v2/requests/{report}.xml",
        "/open311/v2/requests/{rejected}.json",
        "/open311/v2/requests/{rejected}.xml",
    ),
    "/reports/{token:str}": ("/reports/{token}", "/reports/{rejected_token}"),
    # routes that need query parameters to show anything
    "/inspections/calendar.ics": ("/inspections/calendar.ics?team={team}&token={team_token}",),
    "/report/nearby.json": ("/report/nearby.json?lat=26.8961&lng=112.5830",),
    "/report": ("/report", "/report?asset={boardwalk}", "/report?site={site}"),
}
#: GET routes not scanned for markup, and why.
NOT_SCANNED: dict[str, str] = {
    "/static/{file_path:path}": "files of the project",
    "/tickets/attachments/{attachment_id:int}": "media: checked in part 2",
    "/tickets/attachments/{attachment_id:int}/thumbnail": "media: checked in part 2",
    "/inspections/photos/{photo_id:int}": "media: checked in part 2",
    "/inspections/photos/{photo_id:int}/thumbnail": "media: checked in part 2",
    "/triage/photos/{photo_id:int}": "media: checked in part 2",
    "/triage/photos/{photo_id:int}/thumbnail": "media: checked in part 2",
    "/subscriptions/confirm/{token:str}": "shows no stored text",
    "/unsubscribe/{token:str}": "shows no stored text",
    "/open311/v2/services/{name:str}": "service definitions come from code",
    "/open311/v2/tokens/{name:str}": "shows ids only",
    "/staff": "a redirect to /assets",
    "/language": "a redirect (its next= is checked in the filter part)",
    "/metrics": "counters",
    "/healthz": "no stored text",
    "/readyz": "no stored text",
}
FRAMEWORK = ("/schema", "/bench")
#: Pages of the story's other records, fetched besides one page per route.
EXTRA: tuple[tuple[str, bool], ...] = (
    ("/closures/{lifted}", True),
    ("/api/v1/closures/{lifted}", True),
    ("/triage/{rejected}", True),
    ("/notices/{lifted}", False),
    ("/facilities/{boardwalk}", False),
)


def scanned_urls(application: Any) -> list[tuple[str, bool]]:
    """(URL template, is a staff route) for every GET route that shows stored data."""
    from tests.test_security import is_staff_route

    urls: list[tuple[str, bool]] = []
    for key, handler in sorted(app_routes(application).items()):
        method, path = key.split(" ", 1)
        if method != "GET" or path in NOT_SCANNED or path.startswith(FRAMEWORK):
            continue
        staff = is_staff_route(handler)
        if path in NAMED:
            urls.extend((url, staff) for url in NAMED[path])
            continue
        filled = path
        for name, value in PATH_VALUES.items():
            filled = filled.replace(f"{{{name}:int}}", value)
        assert not re.search(r"\{\w+:", filled), (
            f"route {path} has a path parameter this test cannot fill: add it to PATH_VALUES, "
            "NAMED or NOT_SCANNED"
        )
        urls.append((filled, staff))
    return urls + list(EXTRA)


def _markup_problems(url: str, body: str) -> list[str]:
    problems = [f"raw {fragment!r} on {url}" for fragment in RAW_MARKUP if fragment in body]
    squeezed = re.sub(r"\s+", "", body).lower()
    for attribute in ("href=", "src=", "action=", "formaction="):
        for quote in ('"', "'", ""):
            if f"{attribute}{quote}javascript:" in squeezed:
                problems.append(f"a javascript: {attribute} on {url}")
    for tag in TAGS.values():
        if f"{tag}49" in body:
            problems.append(f"{{{{7*7}}}} of {tag} rendered as 49 on {url}")
    return problems


def _json_values(document: Any) -> Iterable[str]:
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict):
        for value in document.values():
            yield from _json_values(value)
    elif isinstance(document, list):
        for value in document:
            yield from _json_values(value)


def _carried_whole(text: str) -> list[str]:
    """The columns whose payload appears in ``text`` other than whole (or whole up to an
    ellipsis that ends the text, as a shortened feed title is)."""
    changed = []
    for column, tag in TAGS.items():
        payload = value_of(*column)
        start = text.find(tag)
        while start != -1:
            rest = text[start:]
            shortened = rest.endswith("…") and payload.startswith(rest[:-1].rstrip())
            if not rest.startswith(payload) and not shortened:
                changed.append(f"{column}")
            start = text.find(tag, start + 1)
    return changed


def _check_json_exact(url: str, document: Any) -> list[str]:
    """A JSON document carries each payload whole (escaping is the reader's job there)."""
    problems = []
    for text in _json_values(document):
        for column in _carried_whole(text):
            problems.append(f"{column} changed on its way into {url}: {text!r}")
    return problems


async def _fetch_everything(
    application: Any, story: HostileStory
) -> tuple[dict[str, str], list[str]]:
    """url -> the bodies (both languages) of every scanned page, and the problems seen."""
    ids = {**story.ids}
    ids["mallory"] = (await accounts.find_user_by_username("mallory")).id  # type: ignore[union-attr]
    schedules = await inspections.list_schedules(SYSTEM, None)
    ids["schedule"] = schedules[0].id if schedules else 0
    ids["team_token"] = inspections.team_token(ids["team"], application.state.settings.secret_key)
    bodies: dict[str, str] = {}
    problems: list[str] = []
    async with client_for_app(application) as staff, client_for_app(application) as citizen:
        await log_in(staff, "admin")
        for template, is_staff in scanned_urls(application):
            if "{schedule}" in template and not schedules:
                continue
            url = template.format(**ids)
            client = staff if is_staff else citizen
            seen = []
            for language in ("zh_CN", "en"):
                query = ("&" if "?" in url else "?") + "lang=en" if language == "en" else ""
                response = await client.get(
                    url + (query if url.startswith(("/feeds", "/open311")) else ""),
                    cookies={"lang": language},
                )
                assert response.status_code < 500, f"{url}: {response.status_code}"
                if response.status_code != 200:
                    problems.append(f"{url} answered {response.status_code}")
                    continue
                kind = response.headers.get("content-type", "")
                body = response.text
                seen.append(body)
                assert response.headers.get("x-content-type-options") == "nosniff", url
                if "json" in kind:
                    problems += _check_json_exact(url, response.json())
                elif "calendar" in kind:
                    problems += _check_calendar(url, response.content)
                elif "csv" in kind:
                    problems += _check_csv(url, body)
                else:
                    assert "html" in kind or "xml" in kind, f"{url}: {kind}"
                    problems += _markup_problems(url, body)
                    if "xml" in kind:
                        problems += _check_xml_exact(url, response.content)
            bodies[template] = "\n".join(seen)
    return bodies, problems


def _check_xml_exact(url: str, content: bytes) -> list[str]:
    """XML parses, and every text or attribute holding a payload holds it whole."""
    try:
        root = ET.fromstring(content)  # noqa: S314 - our own answer, under test
    except ET.ParseError as exc:
        return [f"{url} is not well-formed XML: {exc}"]
    texts = []
    for element in root.iter():
        texts.append(element.text or "")
        texts.extend(element.attrib.values())
    problems = []
    for text in texts:
        for column in _carried_whole(text):
            problems.append(f"{column} changed on its way into {url}: {text!r}")
    return problems


def _check_calendar(url: str, content: bytes) -> list[str]:
    """The calendar parses; each event's texts carry the payloads whole; a payload never
    starts a line of its own (no property or event injected)."""
    problems = []
    calendar = icalendar.Calendar.from_ical(content)
    for line in content.decode().split("\r\n"):
        if any(line.startswith(tag) for tag in TAGS.values()):
            problems.append(f"a payload starts a line of {url}: {line!r}")
    for component in calendar.walk("VEVENT"):
        for name in ("SUMMARY", "DESCRIPTION", "LOCATION"):
            text = str(component.get(name, ""))
            for column in _carried_whole(text):
                problems.append(f"{column} changed in {name} of {url}: {text!r}")
    return problems


def _check_csv(url: str, body: str) -> list[str]:
    import csv

    problems = []
    for row in csv.reader(io.StringIO(body)):
        for cell in row:
            if cell.startswith(("=", "+", "-", "@", "\t", "\r")):
                problems.append(f"a formula-like cell in {url}: {cell[:80]!r}")
    return problems


@pytest.fixture
async def hostile_story(app, settings, clock) -> HostileStory:
    await inspections.ensure_policy()
    story = await build_hostile_story(settings.media_path)
    pin_clocks(clock, READ_AT)
    return story


async def test_every_payload_is_stored_as_typed(hostile_story):
    """The services keep the text as typed (the escaping happens on output, not by mangling
    input): otherwise the checks below would pass on text that no longer holds any markup."""
    for (table_name, column), tag in TAGS.items():
        table = next(t for t in db.all_tables() if t._meta.tablename == table_name)
        rows = await table.select(getattr(table, column))
        values = [
            json.dumps(r[column], ensure_ascii=False)
            if not isinstance(r[column], str)
            else r[column]
            for r in rows
        ]
        assert any(tag in value for value in values), f"{table_name}.{column} holds no payload"
        payload = value_of(table_name, column)
        assert any(
            payload.strip() in value or json.dumps(payload, ensure_ascii=False)[1:-1] in value
            for value in values
        ), f"{table_name}.{column} was changed: {values}"


async def test_no_payload_renders_as_markup_anywhere(app, hostile_story):
    bodies, problems = await _fetch_everything(app, hostile_story)
    assert not problems, "\n".join(problems)
    # Each payload reached the pages that show its column (escaped, or the scan above failed):
    # a page that showed nothing would pass every check vacuously.
    missing = []
    for column, field in COVERED.items():
        tag = TAGS[column]
        for template in (*field.staff, *field.public, *field.json):
            if f"{tag}{{{{7*7}}}}" not in bodies.get(template, ""):
                missing.append(f"{column} not shown on {template}")
    assert not missing, "\n".join(missing)


async def test_csv_exports_neutralise_formulas(login, personas, now):
    """Text a spreadsheet would run (``=cmd|' /C calc'!A0``) is exported with a leading
    apostrophe, in the asset and the ticket exports."""
    site = await make_site(formula("SITE"))
    asset = await make_asset(
        site, name_zh=formula("ASSET"), name_en="+" + formula("EN"), location_note="@SUM(A1)"
    )
    await tickets.open_ticket(
        personas["alice"],
        TicketIn(asset_id=asset.id, title=formula("TITLE"), contractor="-2+3", assignee_team="\tx"),
        now,
    )
    alice = await login("alice")
    for url, marker in (("/assets/export.csv", "ASSET"), ("/tickets/export.csv", "TITLE")):
        response = await alice.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["content-disposition"].startswith("attachment")
        assert f"'=cmd|' /C calc'!A0 {marker}" in response.text, response.text
        assert _check_csv(url, response.text) == []


async def test_links_never_take_a_javascript_address(app, anon, login):
    """``next=`` after logging in or switching language stays on this site."""
    alice = await login("alice")
    for target in (
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "//evil.example/x",
        "https://evil.example/",
        "\\\\evil.example",
        "/\\evil.example",
        "data:text/html,<script>alert(1)</script>",
    ):
        switched = await anon.get("/language", params={"lang": "en", "next": target})
        assert switched.status_code in (302, 303), target
        location = switched.headers["location"]
        assert location.startswith("/") and not location.startswith(("//", "/\\")), location
        page = await anon.get("/login", params={"next": target})
        assert page.status_code == 200
        assert not _markup_problems("/login", page.text)
        async with client_for_app(app) as fresh:
            token = await csrf_token(fresh)
            done = await fresh.post(
                "/login",
                data={
                    "username": "bob",
                    "password": "correct horse battery",
                    "next": target,
                    "_csrf_token": token,
                },
            )
            assert done.status_code == 303
            location = done.headers["location"]
            assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert (await alice.get("/")).status_code == 200


# --- 2. Uploads and media ------------------------------------------------------------------

#: File names that try to leave the folder, hide an extension or break a header.
HOSTILE_NAMES = [
    "../../etc/passwd",
    "..\\..\\x.jpg",
    "/etc/passwd",
    "C:\\Windows\\win.ini",
    "a\x00b.jpg",
    "x" * 1000 + ".jpg",
    "桥面照片😀.jpg",
    "invoice\u202egpj.png",
    'a"; filename=evil.html',
    "a\r\nX-Injected: 1.jpg",
    "..",
    " ",
]


def _huge_png(width: int, height: int) -> bytes:
    """A tiny valid file declaring width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    packer = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    data = b"".join(packer.compress(row) for _ in range(64)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", data)
        + chunk(b"IEND", b"")
    )


def jpeg_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    return png_bytes(size, "JPEG")


REFUSED_FILES: dict[str, bytes] = {
    "gif_js_polyglot": b"GIF89a/*\x0a\x00\x0a\x00\x00\x00\x00*/=alert(document.domain);//;",
    "svg_script": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "html": b"<!doctype html><script>alert(document.cookie)</script>",
    "zero_bytes": b"",
    "truncated_jpeg": jpeg_bytes((400, 300))[:500],
    "bomb": _huge_png(60_000, 60_000),
    "text_named_jpg": b"just words",
}
PDF_WITH_JS = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> "
    b">> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{24}(\.thumb\.jpg|\.jpg|\.png|\.webp|\.pdf)$")
SERVED_TYPES = {"image/jpeg", "image/png", "image/webp", "application/pdf"}


@dataclasses.dataclass
class Endpoint:
    name: str
    table: Any
    accepts_pdf: bool
    has_filename: bool
    media_url: str  # "/tickets/attachments/{id}"


ENDPOINTS = {
    "ticket_form": Endpoint("ticket_form", TicketAttachment, True, True, "/tickets/attachments"),
    "ticket_api": Endpoint("ticket_api", TicketAttachment, True, True, "/tickets/attachments"),
    "inspection_form": Endpoint(
        "inspection_form", InspectionPhoto, True, False, "/inspections/photos"
    ),
    "report_form": Endpoint("report_form", ReportPhoto, False, True, "/triage/photos"),
    "open311": Endpoint("open311", ReportPhoto, False, True, "/triage/photos"),
}


class Uploader:
    """Sends one file to one upload endpoint the way its real client does."""

    def __init__(
        self,
        app: Any,
        endpoint: Endpoint,
        clients: dict[str, httpx.AsyncClient],
        targets: dict[str, Any],
    ) -> None:
        self.app, self.endpoint, self.clients, self.targets = app, endpoint, clients, targets
        self.sent = 0

    async def send(self, filename: str, data: bytes) -> httpx.Response:
        self.sent += 1
        name = self.endpoint.name
        files = {"file": (filename, data, "image/jpeg")}
        if name == "ticket_form":
            client = self.clients["carol"]
            return await client.post(
                f"/tickets/{self.targets['ticket']}/attachments",
                files=files,
                data={"tag": "during", "caption": "", "_csrf_token": await csrf_token(client)},
            )
        if name == "ticket_api":
            client = self.clients["carol"]
            return await client.post(
                f"/api/v1/tickets/{self.targets['ticket']}/attachments",
                files=files,
                data={"tag": "during"},
                headers={"x-csrftoken": await csrf_token(client), "accept": "application/json"},
            )
        if name == "inspection_form":
            client = self.clients["bob"]
            return await client.post(
                f"/inspections/{self.targets['inspection']}/photos",
                files=files,
                data={"caption": "", "_csrf_token": await csrf_token(client)},
            )
        # Citizens: each from an address of its own (the per-address rate limit is not tested
        # here).
        transport = httpx.ASGITransport(app=self.app, client=(f"10.7.0.{self.sent}", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anon:
            anon.cookies.set("lang", "en")
            if name == "report_form":
                return await anon.post(
                    "/report",
                    files={"photos": (filename, data, "image/jpeg")},
                    data={
                        "asset_id": str(self.targets["boardwalk"]),
                        "category": "deck_damage",
                        "description": "一块木板松动",
                        "_csrf_token": await csrf_token(anon),
                    },
                )
            return await anon.post(
                "/open311/v2/requests.json",
                files={"media": (filename, data, "image/jpeg")},
                data={
                    "api_key": self.targets["api_key"],
                    "service_code": "deck_damage",
                    "lat": "26.8961",
                    "long": "112.5830",
                    "description": "木板松动",
                },
            )

    @property
    def ok(self) -> int:
        return {"ticket_api": 201, "open311": 201}.get(self.endpoint.name, 303)


@pytest.fixture
async def upload_targets(app, personas, now, settings) -> dict[str, Any]:
    await inspections.ensure_policy()
    boardwalk = await make_asset(
        code="GX-UP-001", asset_type=AssetType.BOARDWALK, lat=26.8961, lng=112.5830
    )
    ticket = await tickets.open_ticket(
        personas["alice"], TicketIn(asset_id=boardwalk.id, title="栏杆松动"), now
    )
    inspection = await inspections.create_inspection(
        personas["alice"],
        InspectionIn(
            asset_id=boardwalk.id,
            inspection_type=InspectionType.SPECIAL,
            due_on=now.date(),
            inspector_id=personas["bob"].id,
        ),
        _zone(),
        now,
    )
    api_key = await reports.create_key(SYSTEM, KeyCreate(name="随手拍"), now)
    return {
        "boardwalk": boardwalk.id,
        "ticket": ticket.id,
        "inspection": inspection.id,
        "api_key": api_key,
    }


@pytest.fixture
async def uploader(request, app, login, upload_targets, clock) -> Uploader:
    pin_clocks(clock, READ_AT)
    alice = await login("alice")  # a supervisor may upload to tickets and inspections
    alice.cookies.set("lang", "en")
    clients = {"carol": alice, "bob": alice, "alice": alice}
    return Uploader(app, ENDPOINTS[request.param], clients, upload_targets)


def _stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _check_store(root: Path, tmp_path: Path) -> None:
    """Every stored file sits inside the media folder under a generated name, and nothing was
    written beside it."""
    for path in _stored_files(root):
        assert root.resolve() in path.resolve().parents, path
        assert KEY_PATTERN.match(path.name), path.name
    assert not (tmp_path / "etc").exists()
    assert not Path("/etc/passwd.png").exists()
    assert not any(p.name.endswith((".part", "passwd", ".ini")) for p in tmp_path.rglob("*"))


def _clear_message(response: httpx.Response) -> str:
    """The refusal's message, from a JSON body, an Open311 error or an HTML page."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)
    return response.text


ALL_ENDPOINTS = pytest.mark.parametrize("uploader", sorted(ENDPOINTS), indirect=True)


@ALL_ENDPOINTS
async def test_hostile_file_names_store_safely_under_a_generated_name(uploader, settings, tmp_path):
    root = settings.media_path
    for sent in HOSTILE_NAMES:
        response = await uploader.send(sent, png_bytes())
        assert response.status_code == uploader.ok, (sent, response.status_code, response.text)
        _check_store(root, tmp_path)
    # A part without a file name is a text field to the multipart parser (a PNG is no text):
    # refused as bad input, or (the citizens' forms) the report arrives without the photo.
    nameless = await uploader.send("", png_bytes())
    assert nameless.status_code in (400, uploader.ok), nameless.status_code
    _check_store(root, tmp_path)
    rows = await uploader.endpoint.table.objects()
    assert len(rows) == len(HOSTILE_NAMES)
    for row in rows:
        assert KEY_PATTERN.match(row.storage_key.rsplit("/", 1)[1]), row.storage_key
        assert (root / row.storage_key).is_file()
        if uploader.endpoint.has_filename:
            name = row.filename
            assert name.endswith(".png"), name  # the type found in the content, not the name's
            assert len(name) <= 200
            assert not set(name) & {"/", "\\", "\x00", "\r", "\n", "\u202e"}, repr(name)
            assert not name.startswith("."), name
        served = await uploader.clients["alice"].get(f"{uploader.endpoint.media_url}/{row.id}")
        assert served.status_code == 200
        disposition = served.headers["content-disposition"]
        assert disposition.startswith("inline")
        assert "\r" not in disposition and "\n" not in disposition
        assert "x-injected" not in {k.lower() for k in served.headers}
        assert served.headers["content-type"] == "image/png"


@ALL_ENDPOINTS
async def test_polyglots_are_refused_or_reencoded_and_served_safely(
    uploader, settings, tmp_path, anon
):
    root = settings.media_path
    table = uploader.endpoint.table
    for what, data in REFUSED_FILES.items():
        response = await uploader.send(f"{what}.jpg", data)
        assert response.status_code == 400, (what, response.status_code)
        message = _clear_message(response).lower()
        assert "photo" in message or "file" in message, (what, message[:300])
        assert await table.count() == 0, what
        assert _stored_files(root) == [], what
    # Accepted, but only as the picture: the script after the JPEG is gone.
    response = await uploader.send("polyglot.jpg", jpeg_bytes() + b"<script>alert(1)</script>")
    assert response.status_code == uploader.ok, response.text
    # A PNG that calls itself .jpg is stored and served as what it is.
    response = await uploader.send("really-a-png.jpg", png_bytes())
    assert response.status_code == uploader.ok, response.text
    pdf = await uploader.send("report.pdf", PDF_WITH_JS)
    assert pdf.status_code == (uploader.ok if uploader.endpoint.accepts_pdf else 400)
    _check_store(root, tmp_path)
    rows = await table.objects().order_by(table.id)
    assert [r.content_type for r in rows] == ["image/jpeg", "image/png"] + (
        ["application/pdf"] if uploader.endpoint.accepts_pdf else []
    )
    staff = uploader.clients["alice"]
    for row in rows:
        url = f"{uploader.endpoint.media_url}/{row.id}"
        served = await staff.get(url)
        assert served.status_code == 200
        assert served.headers["content-type"] in SERVED_TYPES
        assert served.headers["content-type"] == row.content_type
        assert served.headers["x-content-type-options"] == "nosniff"
        assert served.headers["cache-control"].startswith("private")
        disposition = served.headers["content-disposition"]
        if row.content_type == "application/pdf":
            assert disposition.startswith("attachment"), disposition
        else:
            assert disposition.startswith("inline"), disposition
            assert b"<script" not in served.content
            with Image.open(io.BytesIO(served.content)) as image:
                image.verify()
            thumb = await staff.get(url + "/thumbnail")
            assert thumb.status_code == 200
            assert thumb.headers["content-type"] == "image/jpeg"
        # Staff-only: a citizen is sent to the login page, an API client gets 401.
        refused = await anon.get(url)
        assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
        assert served.content not in refused.content or not served.content
        assert (await anon.get(url, headers={"accept": "application/json"})).status_code == 401


async def raw_get(application: Any, raw_path: bytes) -> tuple[int, bytes]:
    """A GET with the path exactly as sent (httpx would remove dot segments before sending)."""
    from urllib.parse import unquote_to_bytes

    path, _, query = raw_path.partition(b"?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote_to_bytes(path).decode("utf-8", "replace"),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


TRAVERSALS = [
    b"/tickets/attachments/../../settings",
    b"/tickets/attachments/..%2f..%2fsettings",
    b"/tickets/attachments/%2e%2e%2f%2e%2e%2fpyproject.toml",
    b"/tickets/attachments/%252e%252e%252fpyproject.toml",
    b"/inspections/photos/..%2F..%2Fpyproject.toml",
    b"/triage/photos/%2e%2e/%2e%2e/pyproject.toml",
    b"/static/../pyproject.toml",
    b"/static/../../pyproject.toml",
    b"/static/..%2f..%2fpyproject.toml",
    b"/static/%2e%2e/%2e%2e/pyproject.toml",
    b"/static/%2e%2e%2f%2e%2e%2fpyproject.toml",
    b"/static/%252e%252e%252fpyproject.toml",
    b"/static/....//....//pyproject.toml",
    b"/static/..\\..\\pyproject.toml",
    b"/static/%c0%ae%c0%ae/pyproject.toml",
    b"/static//etc/passwd",
    b"/static/%00../pyproject.toml",
    b"/static/css/../../facilities/settings.py",
]


async def test_media_and_static_urls_never_leave_their_folder(app, login, settings):
    alice = await login("alice")
    secret_marker = b"SECRET-OUTSIDE-MEDIA-7Q"
    (settings.media_path.parent / "settings").write_bytes(secret_marker)
    (settings.media_path / "tickets").mkdir(parents=True, exist_ok=True)
    for raw in TRAVERSALS:
        status, body = await raw_get(app, raw)
        assert status in (303, 400, 401, 404), (raw, status)
        assert secret_marker not in body, raw
        assert b"[build-system]" not in body and b"root:x:" not in body, raw
        # the same paths with a staff session, through httpx (dot segments as it sends them)
        response = await alice.get(raw.decode())
        assert response.status_code in (400, 404), (raw, response.status_code)
        assert secret_marker not in response.content, raw
        assert b"[build-system]" not in response.content, raw


# --- 3. SQL metacharacters in every filter -------------------------------------------------

INJECTED = {
    "self",
    "request",
    "actor",
    "state",
    "headers",
    "data",
    "scope",
    "settings",
    "now",
    "asset_file",
    "commission",
}
_QUERY_GET = re.compile(r"""(?:query_params|query)\.get\(\s*["'](\w+)["']""")
_QUERY_HELPER = re.compile(r"""\(\s*request\s*,\s*["'](\w+)["']""")
_PARSED_STRUCT = re.compile(r"parse_fields\(\s*(\w+)")
_CALL = re.compile(r"\b(\w+)\(")


def _functions_of(module: Any) -> dict[str, Any]:
    """Module functions and class methods (route handlers unwrapped) by name."""
    found: dict[str, Any] = {}
    for name, obj in vars(module).items():
        if inspect.isfunction(obj) and obj.__module__ == module.__name__:
            found[name] = obj
        elif inspect.isclass(obj) and obj.__module__ == module.__name__:
            for member_name, member in vars(obj).items():
                function = getattr(member, "fn", member)
                if inspect.isfunction(function):
                    found.setdefault(member_name, function)
    return found


def query_parameters(handler: Any, path: str) -> set[str]:
    """The query parameters a route reads: its declared parameters, and the names its code (or
    the helpers it calls, in its module) reads from ``request.query_params``. Names shared by
    two methods of the module may add a parameter a route does not read: fuzzing it is
    harmless."""
    import sys

    function = handler.fn
    module = sys.modules[function.__module__]
    functions = _functions_of(module)
    in_path = set(re.findall(r"\{(\w+):", path))
    names = {p for p in inspect.signature(function).parameters if p not in INJECTED | in_path}
    seen: set[Any] = set()
    todo, sources = [function], []
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        source = inspect.getsource(current)
        sources.append(source)
        todo.extend(functions[c] for c in _CALL.findall(source) if c in functions)
    if any("query_params" in source for source in sources):
        for source in sources:
            names |= set(_QUERY_GET.findall(source)) | set(_QUERY_HELPER.findall(source))
            for struct in _PARSED_STRUCT.findall(source):
                names |= set(getattr(getattr(module, struct, None), "__struct_fields__", ()))
    return names


#: Routes whose parameters the derivation must find (a check that it still works).
KNOWN_FILTERS = {
    "GET /assets": {"q", "site", "type", "status", "page", "per_page"},
    "GET /api/v1/assets": {"q", "site", "type", "status", "page", "per_page"},
    "GET /tickets": {"q", "status", "priority", "asset", "site", "assignee", "sort", "after"},
    "GET /api/v1/tickets": {"q", "status", "priority", "sort", "after", "per_page"},
    "GET /api/v1/inspections": {"asset", "open_only", "limit"},
    "GET /api/v1/closures": {"status", "asset"},
    "GET /closures": {"status"},
    "GET /report": {"q", "site", "asset", "lat", "lng"},
    "GET /report/nearby.json": {"lat", "lng"},
    "GET /open311/v2/{name:str}": {
        "service_request_id",
        "service_code",
        "start_date",
        "end_date",
        "status",
    },
    "GET /notices": {"page"},
    "GET /inspections/calendar": {"month"},
    "GET /tickets/calendar": {"month", "week"},
}
#: Named routes: the documents their parameters apply to.
FILTER_NAMED = {
    "/open311/v2/{name:str}": ("/open311/v2/requests.json", "/open311/v2/requests.xml"),
    "/feeds/facilities/{name:str}": ("/feeds/facilities/{asset}.atom",),
    "/feeds/sites/{name:str}": ("/feeds/sites/{site}.atom",),
}
LONG = "長" + "x" * 10_000
#: Each sent alone in each parameter (the other parameters left out, so it reaches the query).
PER_PARAMETER = [
    "' OR 1=1 --",
    '"; DROP TABLE asset; --\x00',
    "%'||(SELECT 1)||'\\",
    LONG,
]
#: Sent in every parameter of a route at once.
ALL_PARAMETERS = [
    "_",
    "桥😀\u202e",
    "-1",
    "99999999999999999999",
    "-99999999999999999999",
    "NaN",
    "2026-13-45T99:99",
    "<script>alert(1)</script>",
    "-created;DROP",
]


def filter_routes(application: Any) -> dict[str, tuple[list[str], bool, set[str]]]:
    """route key -> (URL templates, is a staff route, query parameters)."""
    from tests.test_security import is_staff_route

    routes = {}
    for key, handler in sorted(app_routes(application).items()):
        method, path = key.split(" ", 1)
        if method != "GET" or path.startswith(FRAMEWORK):
            continue
        names = query_parameters(handler, path)
        if not names:
            continue
        if path in FILTER_NAMED:
            urls = list(FILTER_NAMED[path])
        else:
            filled = path
            for name, value in PATH_VALUES.items():
                filled = filled.replace(f"{{{name}:int}}", value)
            urls = [filled]
        routes[key] = (urls, is_staff_route(handler), names)
    return routes


def test_the_filter_parameters_are_derived_from_the_code(app):
    routes = filter_routes(app)
    for key, expected in KNOWN_FILTERS.items():
        assert key in routes, key
        missing = expected - routes[key][2]
        assert not missing, f"{key}: the derivation missed {missing}"


async def table_counts() -> dict[str, int]:
    skipped = {"staff_session", "rate_limit_bucket", "job_run", "scheduled_job", "audit_event"}
    return {
        t._meta.tablename: await t.count()
        for t in db.all_tables()
        if t._meta.tablename not in skipped
    }


def _message_of(response: httpx.Response) -> str:
    kind = response.headers.get("content-type", "")
    if "json" in kind:
        body = response.json()
        if isinstance(body, list):  # Open311 errors
            return " ".join(str(e.get("description", "")) for e in body)
        return str(body.get("detail", ""))
    if "xml" in kind:
        return " ".join(ET.fromstring(response.content).itertext())  # noqa: S314
    return re.sub(r"<[^>]+>", " ", response.text)


async def test_sql_metacharacters_in_every_filter_never_break_anything(
    app, login, personas, now, clock
):
    pin_clocks(clock, READ_AT)
    await inspections.ensure_policy()
    site = await make_site("平湖公园")
    asset = await make_asset(site, code="GX-SQL-001", lat=26.8961, lng=112.5830)
    await tickets.open_ticket(personas["alice"], TicketIn(asset_id=asset.id, title="栏杆"), now)
    ids = {"asset": asset.id, "site": site.id}
    before = await table_counts()
    staff = await login("admin")
    async with client_for_app(app) as citizen:
        sent = 0
        for key, (urls, is_staff, names) in filter_routes(app).items():
            client = staff if is_staff else citizen
            for template in urls:
                url = template.format(**ids)
                cases = [{name: value} for name in sorted(names) for value in PER_PARAMETER]
                cases += [dict.fromkeys(names, value) for value in ALL_PARAMETERS]
                for params in cases:
                    response = await client.get(url, params=params)
                    sent += 1
                    shown = {k: v[:40] for k, v in params.items()}
                    assert response.status_code < 500, (key, shown, response.status_code)
                    if 400 <= response.status_code < 500 and response.status_code != 404:
                        assert _message_of(response).strip(), (key, shown, "no message")
                    if "html" in response.headers.get("content-type", ""):
                        assert not _markup_problems(url, response.text), (key, shown)
    assert sent > 500
    assert await table_counts() == before


async def test_like_searches_take_wildcards_literally(app, login, personas, now, clock):
    pin_clocks(clock, READ_AT)
    site = await make_site("平湖公园")
    plain = await make_asset(site, code="GX-LIKE-001", name_zh="普通桥", name_en="Plain bridge")
    percent = await make_asset(
        site, code="GX-LIKE-002", name_zh="百分之百%桥", name_en="100% bridge"
    )
    under = await make_asset(site, code="GX-LIKE-003", name_zh="下划_线桥", name_en="Under_score")
    slash = await make_asset(site, code="GX-LIKE-004", name_zh="反斜\\杠桥", name_en="Back\\slash")
    for asset in (plain, percent, under, slash):
        await tickets.open_ticket(
            personas["alice"], TicketIn(asset_id=asset.id, title=f"工单 {asset.name_zh}"), now
        )
    alice = await login("alice")
    expected = {"%": percent.code, "_": under.code, "\\": slash.code}
    for term, code in expected.items():
        listed = (await alice.get("/api/v1/assets", params={"q": term})).json()
        codes = (
            [row["code"] for row in listed["items"]]
            if isinstance(listed, dict)
            else [row["code"] for row in listed]
        )
        assert codes == [code], (term, codes)
        page = await alice.get("/assets", params={"q": term})
        assert page.status_code == 200
        assert code in page.text and plain.code not in page.text, term
        found = (await alice.get("/api/v1/tickets", params={"q": term, "status": ""})).json()
        rows = found["items"] if isinstance(found, dict) else found
        assert [row["asset_code"] for row in rows] == [code], (term, rows)
        public = await alice.get("/report", params={"q": term})
        assert public.status_code == 200
        names = {a.code: a.name_zh for a in (plain, percent, under, slash)}
        assert names[code] in public.text and names[plain.code] not in public.text, term


async def test_a_nul_character_in_written_text_is_never_a_server_error(login, personas):
    """PostgreSQL refuses NUL in text (SQLite keeps it): a 400 there, never a 500 anywhere."""
    site = await make_site("平湖公园")
    asset = await make_asset(site, code="GX-NUL-001")
    alice = await login("alice")
    before = await table_counts()
    api = await alice.post(
        "/api/v1/tickets",
        json={"asset_id": asset.id, "title": "桥面\u0000板"},
        headers={"x-csrftoken": await csrf_token(alice)},
    )
    assert api.status_code in (201, 400), api.text
    form = await alice.post(
        "/sites",
        data={"name_zh": "公园\x00二", "_csrf_token": await csrf_token(alice)},
    )
    assert form.status_code in (303, 400), form.text
    if api.status_code == 400:
        assert api.json()["detail"]
        assert (await table_counts())["repair_ticket"] == before["repair_ticket"]
