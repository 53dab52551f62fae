"""Security: CSRF on cookie-authenticated writes, API tokens, and the permission matrix over
every staff route (derived from the app, so a new route cannot slip in untested)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from facilities import db
from facilities.accounts import services as accounts
from facilities.accounts.choices import Role
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.schemas import TokenCreate, UserCreate, UserUpdate
from facilities.accounts.tables import ApiToken, StaffUser
from facilities.assets.tables import Asset, Component, Site
from facilities.audit.tables import AuditEvent
from facilities.closures import services as closures
from facilities.closures.schemas import LinkTicketIn, NoticeIn
from facilities.closures.tables import Closure
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType, Trigger, Urgency
from facilities.inspections.schemas import FindingIn, InspectionIn
from facilities.inspections.tables import ClosureProposal, Inspection, InspectionSchedule
from facilities.reports import services as reports
from facilities.reports.schemas import KeyCreate
from facilities.reports.tables import Open311Key, ReportPhoto, ServiceRequest
from facilities.tickets import services as tickets
from facilities.tickets.choices import PhotoTag
from facilities.tickets.choices import Status as TicketStatus
from facilities.tickets.tables import RepairTicket
from facilities.web.auth import staff_guard
from tests.conftest import PASSWORD, client_for_app, csrf_token, on_postgres, post_form
from tests.factories import make_asset, make_component, make_site
from tests.test_closures_services import ZONE, inspect, make_closure
from tests.test_inspections_services import make_schedule
from tests.test_reports_services import jpeg, make_report
from tests.test_tickets_services import drive_to, make_ticket, png_bytes

# Who may use a route, by persona: admin, alice (supervisor), bob (inspector), carol (crew),
# dave (viewer). The grants behind each set are in facilities/accounts/choices.py.
STAFF = frozenset({"admin", "alice", "bob", "carol", "dave"})  # *.view
EDITORS = frozenset({"admin", "alice"})  # assets/tickets/closures edit, schedules, sign-off,
# notices, finalising inspections, the job list
ADMINS = frozenset({"admin"})  # users, API tokens, the SLA policy, Open311 keys
CREATORS = frozenset({"admin", "alice", "bob", "carol"})  # tickets.create, tickets.work
WORKERS = frozenset({"admin", "alice", "carol"})  # the ticket's "start" (tickets/choices.py)
INSPECTORS = frozenset({"admin", "alice", "bob"})  # inspections.plan/record, reports.triage
JOB_VIEWERS = EDITORS
ROLES = {"admin": Role.ADMIN, "alice": Role.SUPERVISOR, "bob": Role.INSPECTOR}
ROLES |= {"carol": Role.CREW, "dave": Role.VIEWER}


def asset_body(site_id: int, code: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name_zh": "安全测试桥",
        "asset_type": "footbridge",
        "site_id": site_id,
    }
    body.update(overrides)
    return body


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def api_write(
    client: httpx.AsyncClient, method: str, url: str, body: Any, csrf: bool = True
) -> httpx.Response:
    headers = {"x-csrftoken": await csrf_token(client)} if csrf else {}
    return await client.request(method, url, json=body, headers=headers)


async def make_token(username: str, now: dt.datetime, name: str = "robot") -> str:
    user = await StaffUser.objects().where(StaffUser.username == username).first()
    assert user is not None
    return await accounts.create_api_token(SYSTEM, TokenCreate(name=name, user_id=user.id), now)


@functools.cache
def _state_query() -> tuple[Any, str]:
    """One query reading every table a staff route could write (sessions, rate-limit windows
    and the scheduler's own rows aside), each as a JSON array of its rows in id order: the
    matrix takes this snapshot a few hundred times, so one round trip instead of one per table."""
    skipped = {"staff_session", "rate_limit_bucket", "job_run", "scheduled_job"}
    tables = [t for t in db.all_tables() if t._meta.tablename not in skipped]
    parts = []
    # The names below come from the tables' own metadata, never from input.
    for table in tables:
        name = table._meta.tablename
        if on_postgres():
            rows = f"SELECT COALESCE(json_agg(t ORDER BY t.id)::text, '[]') FROM \"{name}\" t"  # noqa: S608
        else:
            pairs = ", ".join(
                f"'{c._meta.db_column_name}', \"{c._meta.db_column_name}\""
                for c in table._meta.columns
            )
            rows = (
                f"SELECT COALESCE(json_group_array(json_object({pairs})), '[]') "  # noqa: S608
                f'FROM (SELECT * FROM "{name}" ORDER BY id)'
            )
        parts.append(f"SELECT '{name}' AS name, ({rows}) AS rows")
    return tables[0], " UNION ALL ".join(parts)


async def database_state() -> dict[str, Any]:
    """Everything a staff route could write, to prove a refusal wrote nothing."""
    table, query = _state_query()
    return {row["name"]: json.loads(row["rows"]) for row in await table.raw(query)}


# --- CSRF ------------------------------------------------------------------------------------


async def test_cookie_form_post_without_csrf_token_is_refused(login):
    alice = await login("alice")
    await csrf_token(alice)  # the browser has the cookie, the attacker's form lacks the field

    response = await alice.post("/sites", data={"name_zh": "跨站公园"})
    forged = await alice.post("/sites", data={"name_zh": "跨站公园", "_csrf_token": "0" * 128})

    assert response.status_code == 403
    assert forged.status_code == 403
    assert "表单已过期或来自其他网站" in response.text  # "The form expired or came from ..."
    assert await Site.count() == 0


async def test_cookie_form_post_with_the_csrf_field_passes(login):
    alice = await login("alice")
    response = await post_form(alice, "/sites", {"name_zh": "同站公园"})
    assert response.status_code == 303
    assert await Site.count() == 1


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "application/x-www-form-urlencoded"]
)
async def test_cookie_json_post_without_csrf_header_is_refused(login, content_type):
    site = await make_site()
    alice = await login("alice")
    await csrf_token(alice)

    response = await alice.post(
        "/api/v1/assets",
        content=json.dumps(asset_body(site.id, "GX-CSRF-1")),
        headers={"content-type": content_type},
    )

    assert response.status_code == 403
    assert response.json()["status_code"] == 403
    assert await Asset.count() == 0


async def test_cookie_json_post_with_a_token_from_another_browser_is_refused(app, login):
    site = await make_site()
    alice = await login("alice")
    await csrf_token(alice)
    async with client_for_app(app) as attacker:
        foreign = await csrf_token(attacker)

    response = await alice.post(
        "/api/v1/assets", json=asset_body(site.id, "GX-CSRF-2"), headers={"x-csrftoken": foreign}
    )

    assert response.status_code == 403
    assert await Asset.count() == 0


async def test_cookie_json_post_with_csrf_header_passes(login):
    site = await make_site()
    alice = await login("alice")

    response = await api_write(alice, "POST", "/api/v1/assets", asset_body(site.id, "GX-CSRF-3"))

    assert response.status_code == 201, response.text
    assert await Asset.count() == 1


async def test_bearer_request_needs_no_csrf_token(anon, personas, now):
    site = await make_site()
    token = await make_token("alice", now)

    response = await anon.post(
        "/api/v1/assets", json=asset_body(site.id, "GX-TOKEN-1"), headers=bearer(token)
    )

    assert response.status_code == 201, response.text
    assert "csrftoken" not in anon.cookies


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-token", "Bearer ", "bearer fac_guessed", "BEARER fac_" + "A" * 43],
)
async def test_invalid_bearer_is_401_and_never_falls_back_to_the_cookie(login, header):
    site = await make_site()
    alice = await login("alice")  # a valid session cookie rides along
    csrf = await csrf_token(alice)
    headers = {"authorization": header, "x-csrftoken": csrf}

    listing = await alice.get("/api/v1/assets", headers=headers)
    write = await alice.post(
        "/api/v1/assets", json=asset_body(site.id, "GX-TOKEN-2"), headers=headers
    )
    page = await alice.get("/assets", headers=headers)

    for response in (listing, write, page):
        assert response.status_code == 401, response.request.url
        assert "invalid_token" in response.headers["www-authenticate"]
    assert listing.json()["status_code"] == 401
    assert await Asset.count() == 0
    assert (await alice.get("/api/v1/assets")).status_code == 200  # the cookie alone still works


async def test_anonymous_api_request_is_401_with_a_challenge(anon):
    response = await anon.get("/api/v1/assets")
    assert response.status_code == 401
    assert response.json()["status_code"] == 401
    assert response.headers["www-authenticate"].lower().startswith("bearer")


# --- API tokens ------------------------------------------------------------------------------


def shown_token(page: str) -> str:
    match = re.search(r'<code class="token" id="new-token">([^<]+)</code>', page)
    assert match, "the new token is not shown"
    return match.group(1)


async def test_admin_creates_a_token_shown_once_and_stored_hashed(login, personas):
    admin = await login("admin")
    dave = personas["dave"]

    response = await post_form(admin, "/admin/tokens", {"name": "sensor feed", "user_id": dave.id})

    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    token = shown_token(response.text)
    assert token.startswith(accounts.API_TOKEN_PREFIX)
    assert len(token) > 40
    (row,) = await ApiToken.select()
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert row["user"] == dave.id
    assert row["name"] == "sensor feed"
    everything = json.dumps(await database_state(), default=str, ensure_ascii=False)
    assert token not in everything
    # The listing shows the token's start only, never the whole again.
    listing = await admin.get("/admin/tokens")
    assert listing.status_code == 200
    assert token not in listing.text
    assert row["prefix"] in listing.text
    (event,) = await AuditEvent.select().where(AuditEvent.action == "token.created")
    assert token not in json.dumps(event, default=str)


async def test_token_for_an_inactive_user_cannot_be_created(login, personas, now):
    admin = await login("admin")
    dave = await StaffUser.objects().where(StaffUser.username == "dave").first()
    await accounts.update_user(
        SYSTEM,
        dave.id,
        UserUpdate(display_name="Dave", role="viewer", is_active=False, version=dave.version),
        now,
    )
    response = await post_form(admin, "/admin/tokens", {"name": "x", "user_id": dave.id})
    assert response.status_code == 400
    assert await ApiToken.count() == 0


async def test_token_acts_as_its_user_with_that_users_role(anon, login, personas, now):
    site = await make_site()
    admin = await login("admin")
    created = await post_form(
        admin, "/admin/tokens", {"name": "viewer bot", "user_id": personas["dave"].id}
    )
    viewer_token = shown_token(created.text)
    supervisor_token = await make_token("alice", now)

    listing = await anon.get("/api/v1/assets", headers=bearer(viewer_token))
    refused = await anon.post(
        "/api/v1/assets", json=asset_body(site.id, "GX-VIEWER-1"), headers=bearer(viewer_token)
    )
    assert listing.status_code == 200
    assert listing.json()["total"] == 0
    assert refused.status_code == 403
    assert await Asset.count() == 0

    accepted = await anon.post(
        "/api/v1/assets", json=asset_body(site.id, "GX-ALICE-1"), headers=bearer(supervisor_token)
    )
    assert accepted.status_code == 201
    (event,) = await AuditEvent.select().where(AuditEvent.action == "asset.created")
    assert event["actor"] == personas["alice"].id
    used = await ApiToken.select(ApiToken.name, ApiToken.last_used_at).order_by(ApiToken.id)
    assert all(row["last_used_at"] is not None for row in used)


async def test_revoked_token_is_refused(anon, login, personas, now):
    token = await make_token("alice", now)
    assert (await anon.get("/api/v1/assets", headers=bearer(token))).status_code == 200
    admin = await login("admin")
    (row,) = await ApiToken.select(ApiToken.id)

    response = await post_form(admin, f"/admin/tokens/{row['id']}/revoke", {})

    assert response.status_code == 303
    refused = await anon.get("/api/v1/assets", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json()["status_code"] == 401
    again = await post_form(admin, f"/admin/tokens/{row['id']}/revoke", {})
    assert again.status_code == 404


async def test_token_of_a_deactivated_user_is_refused(anon, personas, now):
    token = await make_token("alice", now)
    alice = await StaffUser.objects().where(StaffUser.username == "alice").first()
    await accounts.update_user(
        SYSTEM,
        alice.id,
        UserUpdate(display_name="Alice", role="supervisor", is_active=False, version=1),
        now,
    )
    assert (await anon.get("/api/v1/assets", headers=bearer(token))).status_code == 401


@pytest.mark.parametrize("username", ["alice", "bob", "carol", "dave"])
async def test_non_admins_cannot_manage_tokens_or_users(login, personas, username):
    client = await login(username)
    before = await database_state()

    pages = [await client.get("/admin/tokens"), await client.get("/admin/users")]
    create = await post_form(
        client, "/admin/tokens", {"name": "mine", "user_id": personas[username].id}
    )

    assert [r.status_code for r in pages] == [403, 403]
    assert create.status_code == 403
    assert "fac_" not in create.text
    assert await database_state() == before


# --- the permission matrix -------------------------------------------------------------------
#
# Every staff route, declared here with the personas that may use it. The services are the
# authority (``require(actor, Perm...)`` in each domain's services.py, GRANTS in
# facilities/accounts/choices.py, the transition roles in facilities/tickets/choices.py); this
# table restates them route by route, so a changed grant or a forgotten check fails a case here.


class World(dict[str, Any]):
    """The records the routes act on, by name: ``world.ticket`` in a body builder, ``{ticket}``
    in a URL. A rule's ``fresh`` builder adds ``{fresh}``: a record of its own for one call."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


Body = Callable[[World, str], Awaitable[dict[str, Any]]]
Fresh = Callable[[World], Awaitable[int]]


@dataclasses.dataclass(frozen=True)
class Rule:
    """Who may use a route, the URL to call, what to send, and what success looks like."""

    allowed: frozenset[str]
    url: Callable[[World], str]
    body: Body | None = None
    ok: int = 200
    fresh: Fresh | None = None  # builds the record this call acts on (a state change is once)
    writes: bool = True  # a non-GET route that only computes (a preview) writes nothing


def at(path: str) -> Callable[[World], str]:
    return lambda world: path.format(**world)


async def current_version(table: Any, row_id: int) -> int:
    row = await table.select(table.version).where(table.id == row_id).first()
    return int(row["version"])


def fixed(values: dict[str, Any]) -> Body:
    async def body(world: World, who: str) -> dict[str, Any]:
        return dict(values)

    return body


def versioned(table: Any, key: str = "fresh", **values: Any) -> Body:
    """``{"version": <the row's version now>, **values}``."""

    async def body(world: World, who: str) -> dict[str, Any]:
        return {"version": await current_version(table, world[key]), **values}

    return body


def as_form(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-ish values as an HTML form sends them (lists stay lists: repeated fields)."""
    form: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            form[key] = ""
        elif isinstance(value, bool):
            form[key] = "true" if value else "false"
        elif isinstance(value, list):
            form[key] = [str(v) for v in value]
        elif isinstance(value, dt.date | dt.datetime):
            form[key] = value.isoformat()
        else:
            form[key] = str(value)
    return form


def form(body: Body) -> Body:
    async def wrapped(world: World, who: str) -> dict[str, Any]:
        return as_form(await body(world, who))

    return wrapped


def png_file() -> tuple[str, bytes, str]:
    return ("photo.png", png_bytes(), "image/png")


# assets, sites, components, users, tokens, password


async def site_form(world: World, who: str) -> dict[str, Any]:
    return {"name_zh": f"矩阵公园-{who}", "kind": "park"}


async def site_api_form(world: World, who: str) -> dict[str, Any]:
    return {"name_zh": f"接口公园-{who}", "kind": "park"}


async def site_update(world: World, who: str) -> dict[str, Any]:
    version = await current_version(Site, world.site)
    return {"name_zh": f"矩阵改名-{who}", "kind": "plaza", "version": version}


async def asset_form(world: World, who: str) -> dict[str, Any]:
    return asset_body(world.site, f"GX-M-{who.upper()}")


async def asset_api_form(world: World, who: str) -> dict[str, Any]:
    return asset_body(world.site, f"GX-API-{who.upper()}")


async def asset_update(world: World, who: str) -> dict[str, Any]:
    code = (await Asset.select(Asset.code).where(Asset.id == world.asset).first())["code"]
    version = await current_version(Asset, world.asset)
    return asset_body(world.site, code, name_zh=f"改名-{who}", version=version)


async def component_form(world: World, who: str) -> dict[str, Any]:
    return {"name_zh": f"吊杆-{who}", "kind": "other", "group": "ancillary"}


async def component_update(world: World, who: str) -> dict[str, Any]:
    version = await current_version(Component, world.component)
    return {"name_zh": f"主缆-{who}", "kind": "other", "group": "ancillary", "version": version}


async def user_form(world: World, who: str) -> dict[str, Any]:
    return {
        "username": f"new-{who}",
        "display_name": "New",
        "role": "viewer",
        "password": "a long enough password",
    }


async def user_update(world: World, who: str) -> dict[str, Any]:
    version = await current_version(StaffUser, world.user)
    return {
        "display_name": f"Renamed by {who}",
        "role": "crew",
        "is_active": "true",
        "version": version,
    }


async def token_form(world: World, who: str) -> dict[str, Any]:
    return {"name": f"token-{who}", "user_id": world.user}


async def password_form(world: World, who: str) -> dict[str, Any]:
    new = f"{who}'s brand new passphrase"
    return {"current_password": PASSWORD, "new_password": new, "confirm_password": new}


# tickets


async def triaged_ticket(world: World) -> int:
    """A ticket in "triaged": "start" is open to the workers (admin, supervisor, crew)."""
    alice = world.actors["alice"]
    ticket = await make_ticket(alice, asset_id=world.asset, now=world.now)
    await drive_to(ticket.id, TicketStatus.TRIAGED, alice, world.now)
    return int(ticket.id)


async def ticket_new(world: World, who: str) -> dict[str, Any]:
    return {"asset_id": world.asset, "title": f"矩阵工单-{who}", "priority": "P2"}


async def ticket_edit(world: World, who: str) -> dict[str, Any]:
    ticket = await tickets.find_ticket(world.ticket)
    assert ticket is not None
    values = {k: v for k, v in tickets.snapshot(ticket).items() if k != "status"}
    values.update(title=f"矩阵改题-{who}", version=ticket.version)
    return json.loads(json.dumps(values, default=str))


async def comment(world: World, who: str) -> dict[str, Any]:
    return {"body": f"矩阵评论-{who}"}


async def attachment(world: World, who: str) -> dict[str, Any]:
    return {"file": png_file(), "tag": "during", "caption": f"矩阵-{who}"}


SLA_FORM = {"P0": "48", "P1": "168", "P2": "720", "P3": "2160"}  # P0 moves from 24 h to 48 h

# inspections


async def raise_inspection(world: World) -> Any:
    return await inspections.create_inspection(
        world.actors["alice"],
        InspectionIn(
            asset_id=world.asset,
            inspection_type=InspectionType.SPECIAL,
            trigger=Trigger.EVENT,
            due_on=dt.date(2026, 11, 30),
        ),
        ZONE,
        world.now,
    )


async def planned_inspection(world: World) -> int:
    return int((await raise_inspection(world)).id)


async def started_inspection(world: World) -> int:
    raised = await raise_inspection(world)
    started = await inspections.start(world.actors["bob"], raised.id, raised.version, world.now)
    return int(started.id)


async def submitted_inspection(world: World) -> int:
    bob = world.actors["bob"]
    started = await inspections.get_inspection(bob, await started_inspection(world))
    submitted = await inspections.submit(bob, started.id, started.version, world.now)
    return int(submitted.id)


async def open_finding(world: World) -> int:
    finding = await inspections.add_finding(
        world.actors["bob"],
        world.inspection,
        FindingIn(description="栏杆松动 / loose railing", urgency=Urgency.PLANNED),
        world.now,
    )
    return int(finding.id)


async def schedule_new(world: World, who: str) -> dict[str, Any]:
    return {
        "asset_id": world.asset,
        "inspection_type": "patrol",
        "rrule": "FREQ=WEEKLY;BYDAY=MO",
        "anchor": "fixed",
        "starts_on": "2026-01-05",
        "start_time": "08:00",
        "lead_days": 1,
        "tolerance_days": 2,
    }


async def schedule_edit(world: World, who: str) -> dict[str, Any]:
    version = await current_version(InspectionSchedule, world.schedule)
    lead = {"admin": 1, "alice": 2}.get(who, 3)
    return {**await schedule_new(world, who), "lead_days": lead, "version": version}


async def defaults(world: World, who: str) -> dict[str, Any]:
    return {"asset_id": world.bare_asset}  # an asset without schedules: the defaults add some


async def inspection_new(world: World, who: str) -> dict[str, Any]:
    return {"asset_id": world.asset, "inspection_type": "special", "due_on": "2026-12-01"}


async def record_form(world: World, who: str) -> dict[str, Any]:
    return {
        "version": await current_version(Inspection, world.inspection),
        "summary": f"矩阵记录-{who}",
        f"score__{world.component}": "80",
    }


async def record_api(world: World, who: str) -> dict[str, Any]:
    return {
        "version": await current_version(Inspection, world.inspection),
        "summary": f"接口记录-{who}",
        "conditions": [{"component_id": world.component, "score": 75}],
    }


async def finding_new(world: World, who: str) -> dict[str, Any]:
    return {"description": f"矩阵发现-{who}", "severity": "minor", "urgency": "planned"}


async def inspection_photo(world: World, who: str) -> dict[str, Any]:
    return {"file": png_file(), "caption": f"矩阵-{who}"}


# closures


async def closure_on_asset(world: World) -> int:
    return int((await make_closure(world.actors["alice"], asset_id=world.asset, now=world.now)).id)


async def verified_closure(world: World) -> int:
    """A closure whose repair is verified (a passed acceptance inspection, grade B, no open
    ticket): a supervisor may sign it off."""
    asset = await make_asset()
    closure = await make_closure(world.actors["alice"], asset, world.now)
    await inspect(
        world.actors["bob"], world.actors["alice"], asset, world.now, 85, media_root=world.media
    )
    return int(closure.id)


async def open_gate_closure(world: World) -> int:
    """A verified and signed-off closure: every reopening criterion is met, so a supervisor may
    lift it without the administrator's override (the override is test_closures_gate's)."""
    closure_id = await verified_closure(world)
    version = await current_version(Closure, closure_id)
    await closures.sign_off(world.actors["alice"], closure_id, version, world.now)
    return closure_id


async def linked_closure(world: World) -> int:
    """A closure of the world's asset with the world's ticket linked (to unlink)."""
    closure_id = await closure_on_asset(world)
    await closures.link_ticket(
        world.actors["alice"],
        closure_id,
        LinkTicketIn(ticket_id=world.ticket, public_label_zh="桥面更换"),
        world.now,
    )
    return closure_id


async def draft_update(world: World) -> int:
    row = await closures.write_update(
        world.actors["alice"],
        world.closure,
        NoticeIn(text_zh="草稿 / draft", publish=False),
        world.now,
    )
    return int(row.id)


async def proposal(world: World) -> int:
    """A closure proposed by the inspection rules (inserted as the rule engine does)."""
    row = ClosureProposal(
        asset=world.asset,
        inspection=world.inspection,
        scope="full",
        reason="",
        created_at=world.now,
    )
    await row.save()
    return int(row.id)


async def closure_new(world: World, who: str) -> dict[str, Any]:
    return {
        "asset_id": world.asset,
        "scope": "full",
        "reason": "repair_works",
        "reason_zh": f"矩阵封闭-{who}",
        "safety_measures": ["fencing", "warning_signs"],
        "effective_from": "2026-01-05T01:00:00Z",
        "planned_reopen_on": "2027-05-01",
        "reopen_precision": "before",
    }


async def closure_new_form(world: World, who: str) -> dict[str, Any]:
    return as_form({**await closure_new(world, who), "effective_from": "2026-01-05T09:00"})


async def closure_edit(world: World, who: str) -> dict[str, Any]:
    closure = await closures.find_closure(world.closure)
    assert closure is not None
    values = {name: getattr(closure, name) for name in closures.EDITABLE}
    values.update(
        asset_id=closure.asset,
        reason_en=f"edited by {who}",
        safety_measures=json.loads(closure.safety_measures),
        planned_reopen_on=closure.planned_reopen_on,
        reopen_precision=closure.reopen_precision,
        version=closure.version,
    )
    return json.loads(json.dumps(values, default=lambda v: v.isoformat()))


async def closure_edit_form(world: World, who: str) -> dict[str, Any]:
    values = await closure_edit(world, who)
    closure = await closures.find_closure(world.closure)
    assert closure is not None
    values["effective_from"] = closure.effective_from.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M")
    return as_form(values)


async def extension(world: World, who: str) -> dict[str, Any]:
    """Repeatable: one day later than the current promise."""
    closure = await closures.find_closure(world.closure)
    assert closure is not None and closure.planned_reopen_on is not None
    return {
        "version": closure.version,
        "planned_reopen_on": (closure.planned_reopen_on + dt.timedelta(days=1)).isoformat(),
        "reason_zh": f"材料延误-{who}",
    }


def link(channel: str) -> Body:
    async def body(world: World, who: str) -> dict[str, Any]:
        return {"ticket_id": world.ticket, "public_label_zh": f"{channel}-{who}"}

    return body


async def notice(world: World, who: str) -> dict[str, Any]:
    return {"text_zh": f"矩阵通告-{who}", "publish": True}


# triage


async def new_report(world: World) -> int:
    submitted = await make_report(world.asset_row, now=world.now, media_root=world.media)
    return int(submitted.report.id)


def triage(**values: Any) -> Body:
    return versioned(ServiceRequest, **values)


async def merge(world: World, who: str) -> dict[str, Any]:
    return {
        "version": await current_version(ServiceRequest, world.fresh),
        "ticket_id": world.ticket,
    }


async def key_form(world: World, who: str) -> dict[str, Any]:
    return {"name": f"client-{who}", "contact": ""}


# Every staff route: "METHOD path-as-declared" -> Rule. test_matrix_covers_every_route fails
# when the app has a staff route missing here (or this table names a route that is gone).
MATRIX: dict[str, Rule] = {
    # assets, sites and components: everyone sees, supervisors and admins change
    "GET /assets": Rule(STAFF, at("/assets")),
    "GET /assets/export.csv": Rule(STAFF, at("/assets/export.csv")),
    "GET /assets/{asset_id:int}": Rule(STAFF, at("/assets/{asset}")),
    "GET /assets/new": Rule(EDITORS, at("/assets/new")),
    "POST /assets": Rule(EDITORS, at("/assets"), asset_form, 303),
    "GET /assets/{asset_id:int}/edit": Rule(EDITORS, at("/assets/{asset}/edit")),
    "POST /assets/{asset_id:int}": Rule(EDITORS, at("/assets/{asset}"), asset_update, 303),
    "GET /assets/{asset_id:int}/components/new": Rule(
        EDITORS, at("/assets/{asset}/components/new")
    ),
    "POST /assets/{asset_id:int}/components": Rule(
        EDITORS, at("/assets/{asset}/components"), component_form, 303
    ),
    "GET /assets/components/{component_id:int}/edit": Rule(
        EDITORS, at("/assets/components/{component}/edit")
    ),
    "POST /assets/components/{component_id:int}": Rule(
        EDITORS, at("/assets/components/{component}"), component_update, 303
    ),
    "GET /sites": Rule(STAFF, at("/sites")),
    "GET /sites/new": Rule(EDITORS, at("/sites/new")),
    "POST /sites": Rule(EDITORS, at("/sites"), site_form, 303),
    "GET /sites/{site_id:int}/edit": Rule(EDITORS, at("/sites/{site}/edit")),
    "POST /sites/{site_id:int}": Rule(EDITORS, at("/sites/{site}"), site_update, 303),
    "GET /api/v1/assets": Rule(STAFF, at("/api/v1/assets")),
    "POST /api/v1/assets": Rule(EDITORS, at("/api/v1/assets"), asset_api_form, 201),
    "GET /api/v1/assets/{asset_id:int}": Rule(STAFF, at("/api/v1/assets/{asset}")),
    "PUT /api/v1/assets/{asset_id:int}": Rule(EDITORS, at("/api/v1/assets/{asset}"), asset_update),
    "GET /api/v1/assets/{asset_id:int}/components": Rule(
        STAFF, at("/api/v1/assets/{asset}/components")
    ),
    "POST /api/v1/assets/{asset_id:int}/components": Rule(
        EDITORS, at("/api/v1/assets/{asset}/components"), component_form, 201
    ),
    "GET /api/v1/components/{component_id:int}": Rule(STAFF, at("/api/v1/components/{component}")),
    "PUT /api/v1/components/{component_id:int}": Rule(
        EDITORS, at("/api/v1/components/{component}"), component_update
    ),
    "GET /api/v1/sites": Rule(STAFF, at("/api/v1/sites")),
    "POST /api/v1/sites": Rule(EDITORS, at("/api/v1/sites"), site_api_form, 201),
    "GET /api/v1/sites/{site_id:int}": Rule(STAFF, at("/api/v1/sites/{site}")),
    "PUT /api/v1/sites/{site_id:int}": Rule(EDITORS, at("/api/v1/sites/{site}"), site_update),
    # administration, the job list, one's own account
    "GET /admin/users": Rule(ADMINS, at("/admin/users")),
    "GET /admin/users/new": Rule(ADMINS, at("/admin/users/new")),
    "POST /admin/users": Rule(ADMINS, at("/admin/users"), user_form, 303),
    "GET /admin/users/{user_id:int}/edit": Rule(ADMINS, at("/admin/users/{user}/edit")),
    "POST /admin/users/{user_id:int}": Rule(ADMINS, at("/admin/users/{user}"), user_update, 303),
    "GET /admin/tokens": Rule(ADMINS, at("/admin/tokens")),
    "POST /admin/tokens": Rule(ADMINS, at("/admin/tokens"), token_form, 201),
    "POST /admin/tokens/{token_id:int}/revoke": Rule(
        ADMINS, at("/admin/tokens/{token}/revoke"), fixed({}), 303
    ),
    "GET /jobs": Rule(JOB_VIEWERS, at("/jobs")),
    "GET /account/password": Rule(STAFF, at("/account/password")),
    "POST /account/password": Rule(STAFF, at("/account/password"), password_form, 303),
    # repair tickets: everyone reads; the field roles open and work them; supervisors edit;
    # "start" is for workers (admin, supervisor, crew); the SLA policy is the admin's
    "GET /tickets": Rule(STAFF, at("/tickets")),
    "GET /tickets/mine": Rule(STAFF, at("/tickets/mine")),
    "GET /tickets/export.csv": Rule(STAFF, at("/tickets/export.csv")),
    "GET /tickets/board": Rule(STAFF, at("/tickets/board")),
    "GET /tickets/calendar": Rule(STAFF, at("/tickets/calendar")),
    "GET /tickets/dashboard": Rule(STAFF, at("/tickets/dashboard")),
    "GET /tickets/sla": Rule(STAFF, at("/tickets/sla")),
    "POST /tickets/sla": Rule(ADMINS, at("/tickets/sla"), fixed(SLA_FORM), 303),
    "GET /tickets/new": Rule(CREATORS, at("/tickets/new")),
    "POST /tickets": Rule(CREATORS, at("/tickets"), form(ticket_new), 303),
    "GET /tickets/{ticket_id:int}": Rule(STAFF, at("/tickets/{ticket}")),
    "GET /tickets/{ticket_id:int}/edit": Rule(EDITORS, at("/tickets/{ticket}/edit")),
    "POST /tickets/{ticket_id:int}": Rule(EDITORS, at("/tickets/{ticket}"), form(ticket_edit), 303),
    "POST /tickets/{ticket_id:int}/transitions": Rule(
        WORKERS,
        at("/tickets/{fresh}/transitions"),
        form(versioned(RepairTicket, action="start")),
        303,
        fresh=triaged_ticket,
    ),
    "POST /tickets/{ticket_id:int}/comments": Rule(
        CREATORS, at("/tickets/{ticket}/comments"), comment, 303
    ),
    "POST /tickets/{ticket_id:int}/attachments": Rule(
        CREATORS, at("/tickets/{ticket}/attachments"), attachment, 303
    ),
    "GET /tickets/attachments/{attachment_id:int}": Rule(
        STAFF, at("/tickets/attachments/{attachment}")
    ),
    "GET /tickets/attachments/{attachment_id:int}/thumbnail": Rule(
        STAFF, at("/tickets/attachments/{attachment}/thumbnail")
    ),
    "GET /api/v1/tickets": Rule(STAFF, at("/api/v1/tickets")),
    "POST /api/v1/tickets": Rule(CREATORS, at("/api/v1/tickets"), ticket_new, 201),
    "GET /api/v1/tickets/{ticket_id:int}": Rule(STAFF, at("/api/v1/tickets/{ticket}")),
    "PUT /api/v1/tickets/{ticket_id:int}": Rule(
        EDITORS, at("/api/v1/tickets/{ticket}"), ticket_edit
    ),
    "POST /api/v1/tickets/{ticket_id:int}/transitions": Rule(
        WORKERS,
        at("/api/v1/tickets/{fresh}/transitions"),
        versioned(RepairTicket, action="start"),
        fresh=triaged_ticket,
    ),
    "GET /api/v1/tickets/{ticket_id:int}/comments": Rule(
        STAFF, at("/api/v1/tickets/{ticket}/comments")
    ),
    "POST /api/v1/tickets/{ticket_id:int}/comments": Rule(
        CREATORS, at("/api/v1/tickets/{ticket}/comments"), comment, 201
    ),
    "GET /api/v1/tickets/{ticket_id:int}/attachments": Rule(
        STAFF, at("/api/v1/tickets/{ticket}/attachments")
    ),
    "POST /api/v1/tickets/{ticket_id:int}/attachments": Rule(
        CREATORS, at("/api/v1/tickets/{ticket}/attachments"), attachment, 201
    ),
    # inspections: everyone reads; inspectors (and up) raise and record, supervisors finalise
    # and edit schedules; a finding becomes a ticket for whoever may open tickets
    "GET /inspections": Rule(STAFF, at("/inspections")),
    "GET /inspections/calendar": Rule(STAFF, at("/inspections/calendar")),
    "GET /inspections/schedules": Rule(STAFF, at("/inspections/schedules?asset={asset}")),
    "POST /inspections/schedules/defaults": Rule(
        EDITORS, at("/inspections/schedules/defaults"), defaults, 303
    ),
    "GET /inspections/schedules/new": Rule(EDITORS, at("/inspections/schedules/new")),
    "POST /inspections/schedules": Rule(
        EDITORS, at("/inspections/schedules"), form(schedule_new), 303
    ),
    "GET /inspections/schedules/{schedule_id:int}/edit": Rule(
        EDITORS, at("/inspections/schedules/{schedule}/edit")
    ),
    "POST /inspections/schedules/{schedule_id:int}": Rule(
        EDITORS, at("/inspections/schedules/{schedule}"), form(schedule_edit), 303
    ),
    "GET /inspections/new": Rule(INSPECTORS, at("/inspections/new")),
    "POST /inspections": Rule(INSPECTORS, at("/inspections"), form(inspection_new), 303),
    "GET /inspections/{inspection_id:int}": Rule(STAFF, at("/inspections/{inspection}")),
    "POST /inspections/{inspection_id:int}/record": Rule(
        INSPECTORS, at("/inspections/{inspection}/record"), form(record_form), 303
    ),
    "POST /inspections/{inspection_id:int}/start": Rule(
        INSPECTORS,
        at("/inspections/{fresh}/start"),
        form(versioned(Inspection)),
        303,
        fresh=planned_inspection,
    ),
    "POST /inspections/{inspection_id:int}/submit": Rule(
        INSPECTORS,
        at("/inspections/{fresh}/submit"),
        form(versioned(Inspection)),
        303,
        fresh=started_inspection,
    ),
    "POST /inspections/{inspection_id:int}/finalise": Rule(
        EDITORS,
        at("/inspections/{fresh}/finalise"),
        form(versioned(Inspection)),
        303,
        fresh=submitted_inspection,
    ),
    "POST /inspections/{inspection_id:int}/findings": Rule(
        INSPECTORS, at("/inspections/{inspection}/findings"), form(finding_new), 303
    ),
    "POST /inspections/{inspection_id:int}/photos": Rule(
        INSPECTORS, at("/inspections/{inspection}/photos"), inspection_photo, 303
    ),
    "GET /inspections/photos/{photo_id:int}": Rule(STAFF, at("/inspections/photos/{photo}")),
    "GET /inspections/photos/{photo_id:int}/thumbnail": Rule(
        STAFF, at("/inspections/photos/{photo}/thumbnail")
    ),
    "POST /inspections/findings/{finding_id:int}/ticket": Rule(
        CREATORS, at("/inspections/findings/{fresh}/ticket"), fixed({}), 303, fresh=open_finding
    ),
    "GET /inspections/assets/{asset_id:int}/history": Rule(
        STAFF, at("/inspections/assets/{asset}/history")
    ),
    "GET /api/v1/schedules": Rule(STAFF, at("/api/v1/schedules")),
    "POST /api/v1/schedules": Rule(EDITORS, at("/api/v1/schedules"), schedule_new, 201),
    "POST /api/v1/schedules/preview": Rule(
        STAFF, at("/api/v1/schedules/preview"), schedule_new, writes=False
    ),
    "GET /api/v1/schedules/{schedule_id:int}": Rule(STAFF, at("/api/v1/schedules/{schedule}")),
    "PUT /api/v1/schedules/{schedule_id:int}": Rule(
        EDITORS, at("/api/v1/schedules/{schedule}"), schedule_edit
    ),
    "GET /api/v1/inspections": Rule(STAFF, at("/api/v1/inspections")),
    "POST /api/v1/inspections": Rule(INSPECTORS, at("/api/v1/inspections"), inspection_new, 201),
    "GET /api/v1/inspections/{inspection_id:int}": Rule(
        STAFF, at("/api/v1/inspections/{inspection}")
    ),
    "PUT /api/v1/inspections/{inspection_id:int}/record": Rule(
        INSPECTORS, at("/api/v1/inspections/{inspection}/record"), record_api
    ),
    "POST /api/v1/inspections/{inspection_id:int}/start": Rule(
        INSPECTORS,
        at("/api/v1/inspections/{fresh}/start"),
        versioned(Inspection),
        fresh=planned_inspection,
    ),
    "POST /api/v1/inspections/{inspection_id:int}/submit": Rule(
        INSPECTORS,
        at("/api/v1/inspections/{fresh}/submit"),
        versioned(Inspection),
        fresh=started_inspection,
    ),
    "POST /api/v1/inspections/{inspection_id:int}/finalise": Rule(
        EDITORS,
        at("/api/v1/inspections/{fresh}/finalise"),
        versioned(Inspection),
        fresh=submitted_inspection,
    ),
    "GET /api/v1/inspections/{inspection_id:int}/findings": Rule(
        STAFF, at("/api/v1/inspections/{inspection}/findings")
    ),
    "POST /api/v1/inspections/{inspection_id:int}/findings": Rule(
        INSPECTORS, at("/api/v1/inspections/{inspection}/findings"), finding_new, 201
    ),
    "POST /api/v1/findings/{finding_id:int}/ticket": Rule(
        CREATORS, at("/api/v1/findings/{fresh}/ticket"), fixed({}), 201, fresh=open_finding
    ),
    # closures: everyone reads; supervisors and admins change them, sign off, publish notices
    "GET /closures": Rule(STAFF, at("/closures")),
    "GET /closures/drafts": Rule(STAFF, at("/closures/drafts")),
    "GET /closures/new": Rule(EDITORS, at("/closures/new")),
    "POST /closures": Rule(EDITORS, at("/closures"), closure_new_form, 303),
    "GET /closures/{closure_id:int}": Rule(STAFF, at("/closures/{closure}")),
    "GET /closures/{closure_id:int}/edit": Rule(EDITORS, at("/closures/{closure}/edit")),
    "POST /closures/{closure_id:int}": Rule(
        EDITORS, at("/closures/{closure}"), closure_edit_form, 303
    ),
    "POST /closures/{closure_id:int}/sign-off": Rule(
        EDITORS,
        at("/closures/{fresh}/sign-off"),
        form(versioned(Closure)),
        303,
        fresh=verified_closure,
    ),
    "POST /closures/{closure_id:int}/tickets": Rule(
        EDITORS, at("/closures/{closure}/tickets"), form(link("网页")), 303
    ),
    "POST /closures/{closure_id:int}/tickets/{ticket_id:int}/unlink": Rule(
        EDITORS,
        at("/closures/{fresh}/tickets/{ticket}/unlink"),
        fixed({}),
        303,
        fresh=linked_closure,
    ),
    "POST /closures/{closure_id:int}/updates": Rule(
        EDITORS, at("/closures/{closure}/updates"), form(notice), 303
    ),
    "GET /closures/{closure_id:int}/extend": Rule(EDITORS, at("/closures/{closure}/extend")),
    "POST /closures/{closure_id:int}/extend": Rule(
        EDITORS, at("/closures/{closure}/extend"), form(extension), 303
    ),
    "GET /closures/{closure_id:int}/cancel": Rule(EDITORS, at("/closures/{closure}/cancel")),
    "POST /closures/{closure_id:int}/cancel": Rule(
        EDITORS,
        at("/closures/{fresh}/cancel"),
        form(versioned(Closure, reason_zh="计划取消")),
        303,
        fresh=closure_on_asset,
    ),
    "GET /closures/{closure_id:int}/lift": Rule(EDITORS, at("/closures/{closure}/lift")),
    "POST /closures/{closure_id:int}/lift": Rule(
        EDITORS,
        at("/closures/{fresh}/lift"),
        form(versioned(Closure)),
        303,
        fresh=open_gate_closure,
    ),
    "POST /closures/drafts/{update_id:int}/publish": Rule(
        EDITORS, at("/closures/drafts/{fresh}/publish"), fixed({}), 303, fresh=draft_update
    ),
    "POST /closures/drafts/{update_id:int}/discard": Rule(
        EDITORS, at("/closures/drafts/{fresh}/discard"), fixed({}), 303, fresh=draft_update
    ),
    "POST /closures/proposals/{proposal_id:int}/approve": Rule(
        EDITORS, at("/closures/proposals/{fresh}/approve"), fixed({}), 303, fresh=proposal
    ),
    "POST /closures/proposals/{proposal_id:int}/dismiss": Rule(
        EDITORS, at("/closures/proposals/{fresh}/dismiss"), fixed({}), 303, fresh=proposal
    ),
    "GET /api/v1/closures": Rule(STAFF, at("/api/v1/closures")),
    "POST /api/v1/closures": Rule(EDITORS, at("/api/v1/closures"), closure_new, 201),
    "GET /api/v1/closures/drafts": Rule(STAFF, at("/api/v1/closures/drafts")),
    "GET /api/v1/closures/proposals": Rule(STAFF, at("/api/v1/closures/proposals")),
    "POST /api/v1/closures/proposals/{proposal_id:int}/approve": Rule(
        EDITORS, at("/api/v1/closures/proposals/{fresh}/approve"), fixed({}), 201, fresh=proposal
    ),
    "POST /api/v1/closures/proposals/{proposal_id:int}/dismiss": Rule(
        EDITORS, at("/api/v1/closures/proposals/{fresh}/dismiss"), fixed({}), 204, fresh=proposal
    ),
    "POST /api/v1/closures/updates/{update_id:int}/publish": Rule(
        EDITORS, at("/api/v1/closures/updates/{fresh}/publish"), fixed({}), fresh=draft_update
    ),
    "POST /api/v1/closures/updates/{update_id:int}/discard": Rule(
        EDITORS, at("/api/v1/closures/updates/{fresh}/discard"), fixed({}), fresh=draft_update
    ),
    "GET /api/v1/closures/{closure_id:int}": Rule(STAFF, at("/api/v1/closures/{closure}")),
    "PUT /api/v1/closures/{closure_id:int}": Rule(
        EDITORS, at("/api/v1/closures/{closure}"), closure_edit
    ),
    "POST /api/v1/closures/{closure_id:int}/extend": Rule(
        EDITORS, at("/api/v1/closures/{closure}/extend"), extension
    ),
    "POST /api/v1/closures/{closure_id:int}/cancel": Rule(
        EDITORS,
        at("/api/v1/closures/{fresh}/cancel"),
        versioned(Closure, reason_zh="计划取消"),
        fresh=closure_on_asset,
    ),
    "POST /api/v1/closures/{closure_id:int}/sign-off": Rule(
        EDITORS, at("/api/v1/closures/{fresh}/sign-off"), versioned(Closure), fresh=verified_closure
    ),
    "POST /api/v1/closures/{closure_id:int}/lift": Rule(
        EDITORS, at("/api/v1/closures/{fresh}/lift"), versioned(Closure), fresh=open_gate_closure
    ),
    "POST /api/v1/closures/{closure_id:int}/tickets": Rule(
        EDITORS, at("/api/v1/closures/{closure}/tickets"), link("接口")
    ),
    "DELETE /api/v1/closures/{closure_id:int}/tickets/{ticket_id:int}": Rule(
        EDITORS, at("/api/v1/closures/{fresh}/tickets/{ticket}"), None, 204, fresh=linked_closure
    ),
    "GET /api/v1/closures/{closure_id:int}/updates": Rule(
        STAFF, at("/api/v1/closures/{closure}/updates")
    ),
    "POST /api/v1/closures/{closure_id:int}/updates": Rule(
        EDITORS, at("/api/v1/closures/{closure}/updates"), notice, 201
    ),
    # citizen reports: triage is for inspectors and up (converting also needs tickets.create,
    # merging tickets.work: the same people); the Open311 keys are the admin's
    "GET /triage": Rule(INSPECTORS, at("/triage")),
    "GET /triage/{report_id:int}": Rule(INSPECTORS, at("/triage/{report}")),
    "POST /triage/{report_id:int}/convert": Rule(
        INSPECTORS,
        at("/triage/{fresh}/convert"),
        form(triage(priority="P2", work_class="minor")),
        303,
        fresh=new_report,
    ),
    "POST /triage/{report_id:int}/merge": Rule(
        INSPECTORS, at("/triage/{fresh}/merge"), form(merge), 303, fresh=new_report
    ),
    "POST /triage/{report_id:int}/reject": Rule(
        INSPECTORS,
        at("/triage/{fresh}/reject"),
        form(triage(reason="不是设施问题 / not a facility problem")),
        303,
        fresh=new_report,
    ),
    "POST /triage/{report_id:int}/not-ours": Rule(
        INSPECTORS,
        at("/triage/{fresh}/not-ours"),
        form(triage(reason="属于市政道路 / a city road")),
        303,
        fresh=new_report,
    ),
    "GET /triage/photos/{photo_id:int}": Rule(INSPECTORS, at("/triage/photos/{report_photo}")),
    "GET /triage/photos/{photo_id:int}/thumbnail": Rule(
        INSPECTORS, at("/triage/photos/{report_photo}/thumbnail")
    ),
    "GET /triage/api-keys": Rule(ADMINS, at("/triage/api-keys")),
    "POST /triage/api-keys": Rule(ADMINS, at("/triage/api-keys"), key_form, 201),
    "POST /triage/api-keys/{key_id:int}/revoke": Rule(
        ADMINS, at("/triage/api-keys/{key}/revoke"), fixed({}), 303
    ),
}

# Routes open to everyone (no staff guard): "METHOD path" -> (URL to call, anonymous status).
PUBLIC: dict[str, tuple[str, int]] = {
    "GET /": ("/", 200),
    "GET /language": ("/language", 303),
    "GET /healthz": ("/healthz", 200),
    "GET /readyz": ("/readyz", 200),
    "GET /metrics": ("/metrics", 200),  # the test client is on loopback
    "GET /staff": ("/staff", 303),
    "GET /login": ("/login", 200),
    "POST /login": ("/login", 400),  # an empty form
    "POST /logout": ("/logout", 303),
    "GET /notices": ("/notices", 200),
    "GET /notices/{closure_id:int}": ("/notices/999999", 404),
    "GET /notices/sites/{site_id:int}": ("/notices/sites/999999", 404),
    "GET /facilities/{asset_id:int}": ("/facilities/999999", 404),
    "GET /feeds/notices.atom": ("/feeds/notices.atom", 200),
    "GET /feeds/sites/{name:str}": ("/feeds/sites/999999.atom", 404),
    "GET /feeds/facilities/{name:str}": ("/feeds/facilities/999999.atom", 404),
    "GET /feeds/closures.ics": ("/feeds/closures.ics", 200),
    "GET /feeds/closures.geojson": ("/feeds/closures.geojson", 200),
    "GET /feeds/cap/{name:str}": ("/feeds/cap/999999.xml", 404),
    "GET /inspections/calendar.ics": ("/inspections/calendar.ics", 403),  # needs team + token
    "GET /subscriptions": ("/subscriptions", 200),
    "POST /subscriptions": ("/subscriptions", 400),  # an empty form
    "GET /subscriptions/requested": ("/subscriptions/requested", 200),
    "GET /subscriptions/confirm/{token:str}": ("/subscriptions/confirm/nope", 404),
    "GET /unsubscribe/{token:str}": ("/unsubscribe/nope", 404),
    "POST /unsubscribe/{token:str}": ("/unsubscribe/nope", 404),
    "GET /accountability": ("/accountability", 200),
    "GET /report": ("/report", 200),
    "POST /report": ("/report", 400),  # an empty form
    "GET /report/nearby.json": ("/report/nearby.json", 400),  # no location given
    "GET /reports/{token:str}": ("/reports/nope", 404),
    "POST /reports/{token:str}/still-broken": ("/reports/nope/still-broken", 404),
    "GET /open311/v2/{name:str}": ("/open311/v2/discovery.json", 200),
    "POST /open311/v2/{name:str}": ("/open311/v2/requests.json", 403),  # no api_key
    "GET /open311/v2/services/{name:str}": ("/open311/v2/services/nope.json", 404),
    "GET /open311/v2/requests/{name:str}": ("/open311/v2/requests/999999.json", 404),
    "GET /open311/v2/tokens/{name:str}": ("/open311/v2/tokens/nope.json", 404),
}
# Framework routes: static files and the OpenAPI documents.
FRAMEWORK_PREFIXES = ("/static", "/schema")


def app_routes(application: Any) -> dict[str, Any]:
    """``"METHOD path"`` -> route handler for every route the app serves (HEAD and OPTIONS
    aside, which Litestar adds by itself)."""
    routes = {}
    for route in application.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods - {"HEAD", "OPTIONS"}:
                routes[f"{method} {route.path}"] = handler
    return routes


def is_staff_route(handler: Any) -> bool:
    return any(getattr(g, "func", g) is staff_guard for g in handler.resolve_guards())


async def test_matrix_covers_every_route(app):
    routes = app_routes(app)
    staff = {key for key, handler in routes.items() if is_staff_route(handler)}
    framework = {key for key in routes if key.split(" ", 1)[1].startswith(FRAMEWORK_PREFIXES)}
    others = set(routes) - staff - framework

    missing = sorted(staff - set(MATRIX))
    assert not missing, "staff routes missing from MATRIX, add a Rule for each:\n" + "\n".join(
        missing
    )
    stale = sorted(set(MATRIX) - staff)
    assert not stale, "MATRIX names routes that are gone or unguarded:\n" + "\n".join(stale)
    unknown = sorted(others ^ set(PUBLIC))
    assert not unknown, "routes without the staff guard not listed in PUBLIC (or gone):\n" + (
        "\n".join(unknown)
    )
    for key, rule in MATRIX.items():
        method = key.split(" ", 1)[0]
        assert rule.allowed and rule.allowed <= STAFF, key
        if method == "GET":
            assert rule.body is None and rule.fresh is None, f"{key}: a read sends no body"
        elif method != "DELETE":
            assert rule.body is not None, f"{key}: a write needs a valid body"


@pytest.fixture
async def world(personas, now, settings) -> World:
    """One of everything the routes act on, built through the services."""
    alice, bob = personas["alice"], personas["bob"]
    media = settings.media_path
    site = await make_site()
    asset = await make_asset(site)
    component = await make_component(asset)
    target = await accounts.create_user(
        SYSTEM,
        UserCreate(username="target", display_name="Target", role=Role.VIEWER, password=PASSWORD),
        now,
    )
    await accounts.create_api_token(SYSTEM, TokenCreate(name="matrix", user_id=target.id), now)
    (token,) = await ApiToken.select(ApiToken.id)
    ticket = await make_ticket(alice, asset, now)
    ticket_file = await tickets.add_attachment(
        alice, ticket.id, png_bytes(), "photo.png", PhotoTag.BEFORE, "", media, 5_000_000, now
    )
    schedule = await make_schedule(alice, asset, now)
    inspection = await inspections.create_inspection(
        alice,
        InspectionIn(asset_id=asset.id, inspection_type=InspectionType.SPECIAL, due_on=now.date()),
        ZONE,
        now,
    )
    photo = await inspections.add_photo(
        bob, inspection.id, png_bytes(), None, "", media, 5_000_000, now
    )
    closure = await make_closure(alice, asset, now, is_urgent=True)  # with a CAP alert
    report = await make_report(asset, now=now, media_root=media, photos=(jpeg(),))
    (report_photo,) = await ReportPhoto.select(ReportPhoto.id).where(
        ReportPhoto.report == report.report.id
    )
    await reports.create_key(SYSTEM, KeyCreate(name="matrix client"), now)
    (key,) = await Open311Key.select(Open311Key.id)
    return World(
        site=site.id,
        asset=asset.id,
        asset_row=asset,
        bare_asset=(await make_asset(site)).id,
        component=component.id,
        user=target.id,
        token=token["id"],
        ticket=ticket.id,
        attachment=ticket_file.id,
        schedule=schedule.id,
        inspection=inspection.id,
        photo=photo.id,
        closure=closure.id,
        report=report.report.id,
        report_photo=report_photo["id"],
        key=key["id"],
        actors=personas,
        media=media,
        now=now,
    )


async def call(
    client: httpx.AsyncClient, key: str, rule: Rule, world: World, who: str, csrf: bool = True
) -> httpx.Response:
    """Call the route as a browser would: forms with the CSRF field, JSON with the CSRF header,
    uploads as multipart (``csrf=False`` leaves the token out)."""
    method, _path = key.split(" ", 1)
    url = rule.url(world)
    if method == "GET":
        return await client.get(url)
    body = await rule.body(world, who) if rule.body else {}
    files = {k: v for k, v in body.items() if isinstance(v, tuple)}
    data = {k: v for k, v in body.items() if k not in files}
    token = await csrf_token(client)
    if url.startswith("/api/") and not files:
        headers = {"x-csrftoken": token} if csrf else {}
        if method == "DELETE":
            return await client.request(method, url, headers=headers)
        return await client.request(method, url, json=data, headers=headers)
    if url.startswith("/api/"):
        headers = {"x-csrftoken": token} if csrf else {}
        return await client.request(method, url, data=data, files=files, headers=headers)
    if csrf:
        data["_csrf_token"] = token
    return await client.request(method, url, data=data, files=files or None)


async def prepared(rule: Rule, world: World) -> World:
    if rule.fresh is None:
        return world
    return World(world, fresh=await rule.fresh(world))


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
TAG = re.compile(r"<[a-zA-Z][^>]*>")
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def page_problems(response: httpx.Response) -> list[str]:
    """What is wrong with an answer's security headers, and with a page's HTML: an inline
    script or an event-handler attribute would need 'unsafe-inline' to run."""
    problems = []
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    directives = {d.split()[0]: d for d in (p.strip() for p in csp.split(";")) if d}
    if "script-src" not in directives and "default-src" not in directives:
        problems.append("no script-src in the CSP")
    script_src = directives.get("script-src", directives.get("default-src", ""))
    if "'unsafe-inline'" in script_src or "'unsafe-eval'" in script_src:
        problems.append(f"CSP allows inline script: {script_src}")
    if directives.get("frame-ancestors") != "frame-ancestors 'none'":
        problems.append("no frame-ancestors 'none'")
    if headers.get("x-content-type-options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if headers.get("referrer-policy") not in {"same-origin", "no-referrer", "strict-origin"}:
        problems.append(f"Referrer-Policy is {headers.get('referrer-policy')!r}")
    if headers.get("content-type", "").startswith("text/html"):
        html = response.text
        problems += [f"inline script {m.group(0)!r}" for m in INLINE_SCRIPT.finditer(html)]
        problems += [
            f"event handler in {tag.group(0)[:80]!r}"
            for tag in TAG.finditer(html)
            if EVENT_HANDLER.search(tag.group(0))
        ]
        if re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", html, re.IGNORECASE):
            problems.append("a javascript: URL")
    return problems


async def run_matrix(client: httpx.AsyncClient, world: World, who: str) -> list[str]:
    problems = []
    for key, rule in MATRIX.items():
        method = key.split(" ", 1)[0]
        allowed = who in rule.allowed
        case = await prepared(rule, world)
        watch = method != "GET" and (not allowed or rule.writes)
        before = await database_state() if watch else None
        response = await call(client, key, rule, case, who)
        expected = rule.ok if allowed else 403
        if response.status_code != expected:
            problems.append(f"{key}: {response.status_code}, expected {expected}")
            continue
        problems += [f"{key}: {p}" for p in page_problems(response)]
        if before is None:
            continue
        wrote = await database_state() != before
        if allowed and not wrote:
            problems.append(f"{key}: answered {expected} but wrote nothing")
        elif not allowed and wrote:
            problems.append(f"{key}: refused but wrote to the database")
    return problems


@pytest.mark.parametrize("who", sorted(ROLES))
async def test_permission_matrix(login, world, who):
    """Each persona calls every staff route: allowed ones answer their success status and
    write, refused ones answer 403 and write nothing; every answer carries the security
    headers and no page carries an inline script."""
    client = await login(who)
    problems = await run_matrix(client, world, who)
    assert problems == [], f"{who} ({ROLES[who]}):\n" + "\n".join(problems)


async def test_permission_matrix_anonymous(anon, world):
    problems = []
    before = await database_state()
    for key, rule in MATRIX.items():
        case = World(world, fresh=world.ticket)  # the guard answers before any record is read
        url = rule.url(case)
        response = await call(anon, key, rule, case, "anonymous")
        if url.startswith("/api/"):
            if response.status_code != 401:
                problems.append(f"{key}: {response.status_code}, expected 401")
        elif response.status_code != 303:
            problems.append(f"{key}: {response.status_code}, expected 303")
        elif response.headers["location"] != f"/login?next={quote(url)}":
            problems.append(f"{key}: redirected to {response.headers['location']}")
    for key, (url, status) in PUBLIC.items():
        method = key.split(" ", 1)[0]
        if method == "GET":
            response = await anon.get(url)
        else:
            response = await post_form(anon, url, {})
        if response.status_code != status:
            problems.append(f"{key}: {response.status_code}, expected {status}")
        problems += [f"{key}: {p}" for p in page_problems(response)]
    assert problems == []
    assert await database_state() == before


async def test_every_staff_route_refuses_anonymous(app, anon):
    """Every staff route of every domain, called without a login (ids filled in with 1, forms
    carrying the CSRF token): HTML routes send to the login page, API routes answer 401, and
    nothing is written. Unlike the matrix, no record exists: the guard answers first."""
    before = await database_state()
    problems = []
    for key, handler in sorted(app_routes(app).items()):
        if not is_staff_route(handler):
            continue
        method, path = key.split(" ", 1)
        url = re.sub(r"\{[a-z_]+:(int|str)\}", "1", path)
        if method == "GET":
            response = await anon.get(url)
        elif url.startswith("/api/"):
            response = await anon.request(
                method, url, json={}, headers={"x-csrftoken": await csrf_token(anon)}
            )
        else:
            response = await post_form(anon, url, {})
        expected = 401 if url.startswith("/api/") else 303
        if response.status_code != expected:
            problems.append(f"{key}: {response.status_code}, expected {expected}")
        elif expected == 303 and not response.headers["location"].startswith("/login?next="):
            problems.append(f"{key}: redirected to {response.headers['location']}")
    assert problems == []
    assert await database_state() == before
