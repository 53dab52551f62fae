"""The hostile-input tests' payloads and where they go.

- ``hostile(tag)``: markup, template syntax, a ``javascript:`` link and a right-to-left override
  in one text (and its e-mail, file name and spreadsheet-formula variants).
- ``COVERED``: every user-entered text column, with the pages that show it; ``value_of`` is the
  payload stored in each (test_hostile_text.py lists the text columns left out, and why).
- ``build_hostile_story``: every covered column written with its payload through the real
  services; ``READ_AT``, the moment its pages are read.
- ``markup_problems``: what must never reach a page (raw markup, a ``javascript:`` address, a
  payload's ``{{7*7}}`` rendered); ``plain_image``: a picture to upload.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

from PIL import Image

from facilities.accounts import services as accounts
from facilities.accounts.choices import Role
from facilities.accounts.permissions import SYSTEM, Actor
from facilities.accounts.schemas import TokenCreate, UserCreate
from facilities.assets.choices import AssetType, ComponentGroup
from facilities.closures import services as closures
from facilities.closures.choices import Reason, Scope
from facilities.closures.schemas import ClosureIn, ExtendIn, LiftIn, LinkTicketIn, NoticeIn
from facilities.inspections import services as inspections
from facilities.inspections.choices import Answer, InspectionType, Recommendation, Trigger
from facilities.inspections.schemas import ConditionIn, FindingIn, InspectionIn, RecordIn
from facilities.inspections.tables import ChecklistTemplate, Team
from facilities.lib.clock import SettableClock
from facilities.reports import services as reports
from facilities.reports.choices import Category
from facilities.reports.schemas import AnswerIn, KeyCreate, ReportIn
from facilities.tickets import services as tickets
from facilities.tickets.choices import Action, PhotoTag
from facilities.tickets.schemas import CommentIn, TicketIn, TransitionIn
from tests.kit.assets import make_asset, make_component, make_site
from tests.kit.constants import NOW, ZONE

#: The moment every handler reads as "now" (the story happened in the days before it).
READ_AT = NOW + dt.timedelta(hours=1)


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
    """A file name's payload: no slash (a folder part is dropped on purpose, see
    test_hostile_uploads.py)."""
    return f"{tag}{{{{7*7}}}}<img src=x onerror=alert(1)>\"'<svg onload=alert(1)>"


def formula(tag: str) -> str:
    """A spreadsheet formula that would run a program, for text exported to CSV."""
    return f"=cmd|' /C calc'!A0 {tag}"


#: What must never reach an HTML or XML body as markup.
RAW_MARKUP = ("<script>alert(1)", "<img src=x onerror", "<svg onload=alert(1)>")


@dataclasses.dataclass(frozen=True)
class Field:
    """Where one column's hostile value must show (URL templates filled from the story's ids);
    ``public`` URLs are fetched anonymously, the others as the administrator."""

    staff: tuple[str, ...] = ()
    public: tuple[str, ...] = ()
    json: tuple[str, ...] = ()  # JSON documents carrying the value back exactly as typed


def tag_of(index: int) -> str:
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
    ("staff_user", "team"): Field(staff=("/admin/users/{mallory}/edit",)),
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
    ("inspection", "no_restriction_reason"): Field(
        staff=("/inspections/{inspection}",), json=("/api/v1/inspections/{inspection}",)
    ),
    ("inspection", "unscored_reason"): Field(
        staff=("/inspections/{final_inspection}",),
        json=("/api/v1/inspections/{final_inspection}",),
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
    # the contractor register, cost lines and budgets (issue 19, money and contractors)
    ("contractor", "name"): Field(
        staff=("/contractors", "/contractors/{contractor}"),
        json=("/api/v1/contractors/{contractor}",),
    ),
    ("contractor", "contact_person"): Field(
        staff=("/contractors", "/contractors/{contractor}"),
        json=("/api/v1/contractors/{contractor}",),
    ),
    ("contractor", "email"): Field(
        staff=("/contractors/{contractor}",), json=("/api/v1/contractors/{contractor}",)
    ),
    ("contractor", "scope"): Field(
        staff=("/contractors/{contractor}",), json=("/api/v1/contractors/{contractor}",)
    ),
    ("ticket_cost_line", "description"): Field(
        staff=("/tickets/{ticket}",), json=("/api/v1/tickets/{ticket}/cost-lines",)
    ),
    ("ticket_cost_line", "worker"): Field(
        staff=("/tickets/{ticket}",), json=("/api/v1/tickets/{ticket}/cost-lines",)
    ),
    ("site_budget", "note"): Field(
        staff=("/tickets/budgets/{site}/2026",), json=("/api/v1/budgets",)
    ),
}


EMAIL_COLUMNS = {
    ("staff_user", "email"),
    ("repair_ticket", "reporter_email"),
    ("service_request", "contact_email"),
    ("contractor", "email"),
}


FILENAME_COLUMNS = {("ticket_attachment", "filename"), ("report_photo", "filename")}


TAGS = {column: tag_of(index) for index, column in enumerate(COVERED)}


def value_of(table: str, column: str) -> str:
    """The text stored in a covered column (file names as stored: with their real extension)."""
    tag = TAGS[(table, column)]
    if (table, column) in EMAIL_COLUMNS:
        return hostile_email(tag)
    if (table, column) in FILENAME_COLUMNS:
        return hostile_filename(tag) + ".png"
    return hostile(tag)


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
    "team_id": "{team}",
    "contractor_id": "{contractor}",
    "year": "2026",
}


FRAMEWORK = ("/schema", "/bench")


def markup_problems(url: str, body: str) -> list[str]:
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


def plain_image(size: tuple[int, int] = (40, 30), fmt: str = "PNG") -> bytes:
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
            team=v("staff_user", "team"),
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
    money = await _money_story(mallory, ticket.id, site.id, at)
    ticket = await tickets.find_ticket(ticket.id) or ticket  # its lines moved its version
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
        plain_image(),
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
        ZONE,
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
            no_restriction_reason=v("inspection", "no_restriction_reason"),
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
        plain_image(),
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
        [reports.Upload(v("report_photo", "filename"), plain_image())],
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
    # a second inspection, finalised with every component unscored: its reason is shown
    final_inspection = await inspections.create_inspection(
        mallory,
        InspectionIn(
            asset_id=bridge.id,
            inspection_type=InspectionType.SPECIAL,
            trigger=Trigger.EVENT,
            due_on=NOW.date(),
            inspector_id=mallory.id,
        ),
        ZONE,
        at,
    )
    recorded = await inspections.save_record(
        mallory,
        final_inspection.id,
        RecordIn(version=final_inspection.version, recommendation=Recommendation.RESTRICT),
        at,
    )
    submitted_inspection = await inspections.submit(mallory, recorded.id, recorded.version, at)
    await inspections.finalise(
        mallory,
        submitted_inspection.id,
        submitted_inspection.version,
        ZONE,
        media_root,
        at,
        finalise_anyway=True,
        unscored_reason=v("inspection", "unscored_reason"),
    )
    ids = {
        "site": site.id,
        "asset": bridge.id,
        "boardwalk": boardwalk.id,
        "component": component.id,
        "ticket": ticket.id,
        "inspection": inspection.id,
        "final_inspection": final_inspection.id,
        "closure": closure.id,
        "lifted": lifted.id,
        "team": int(team_rows[0]["id"]),
        "report": submitted.report.id,
        "token": submitted.token,
        "rejected": rejected.report.id,
        "rejected_token": rejected.token,
        **money,
    }
    return HostileStory(ids=ids, admin=admin)


async def _money_story(
    actor: Actor, ticket_id: int, site_id: int, at: dt.datetime
) -> dict[str, Any]:
    """A register entry, a cost line on the ticket and a site budget, each text hostile."""
    from decimal import Decimal

    from facilities.tickets.choices import CostKind
    from facilities.tickets.money_schemas import BudgetIn, ContractorIn, CostLineIn
    from facilities.tickets.services import budget, contractors, costs

    v = value_of
    firm = await contractors.create_contractor(
        actor,
        ContractorIn(
            name=v("contractor", "name"),
            contact_person=v("contractor", "contact_person"),
            email=v("contractor", "email"),
            scope=v("contractor", "scope"),
        ),
        at,
    )
    await costs.add_line(
        actor,
        ticket_id,
        CostLineIn(
            kind=CostKind.LABOUR,
            description=v("ticket_cost_line", "description"),
            worker=v("ticket_cost_line", "worker"),
            hours=Decimal("1"),
            hourly_rate=Decimal("80"),
        ),
        at,
    )
    await budget.set_budget(
        actor, site_id, 2026, BudgetIn(amount=Decimal("1000"), note=v("site_budget", "note")), at
    )
    return {"contractor": firm.id}
