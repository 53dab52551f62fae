"""Security: CSRF on cookie-authenticated writes, API tokens, and the permission matrix over
every staff route (derived from the app, so a new route cannot slip in untested)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
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
from facilities.web.auth import staff_guard
from tests.conftest import PASSWORD, client_for_app, csrf_token, post_form
from tests.factories import make_asset, make_component, make_site

EDITORS = frozenset({"admin", "alice"})
ADMINS = frozenset({"admin"})
JOB_VIEWERS = frozenset({"admin", "alice"})
STAFF = frozenset({"admin", "alice", "bob", "carol", "dave"})
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


async def database_state() -> dict[str, Any]:
    """Everything a staff route could write (sessions aside), to prove a refusal wrote nothing."""
    skipped = {"staff_session", "rate_limit_bucket", "job_run", "scheduled_job"}
    tables = [t for t in db.all_tables() if t._meta.tablename not in skipped]
    return {t._meta.tablename: await t.select().order_by(t.id) for t in tables}


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


@dataclasses.dataclass
class World:
    """The records every route of the matrix acts on."""

    site: int
    asset: int
    component: int
    user: int
    token: int


async def current_version(table: Any, row_id: int) -> int:
    row = await table.select(table.version).where(table.id == row_id).first()
    return int(row["version"])


Body = Callable[[World, str], Awaitable[dict[str, Any]]]


def fixed(values: dict[str, Any]) -> Body:
    async def body(world: World, who: str) -> dict[str, Any]:
        return values

    return body


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


@dataclasses.dataclass(frozen=True)
class Rule:
    """Who may use a route, the URL to call, what to send, and what success looks like."""

    allowed: frozenset[str]
    url: Callable[[World], str]
    body: Body | None = None
    ok: int = 200


def at(path: str) -> Callable[[World], str]:
    return lambda world: path.format(**dataclasses.asdict(world))


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
    # the JSON API
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
    # administration
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
    # one's own account
    "GET /account/password": Rule(STAFF, at("/account/password")),
    "POST /account/password": Rule(STAFF, at("/account/password"), password_form, 303),
}

# Staff routes of the later domains: each domain's own test files walk who may do what there
# (roles, data guards, 403s that write nothing). A staff route must be in MATRIX or under one of
# these prefixes; test_every_staff_route_refuses_anonymous still calls every one of them.
DOMAIN_PERMISSION_TESTS: dict[str, tuple[str, ...]] = {
    "/tickets": ("test_tickets_pages.py", "test_tickets_lifecycle.py"),
    "/api/v1/tickets": ("test_tickets_api.py",),
    "/inspections": ("test_inspections_pages.py", "test_inspections_services.py"),
    "/api/v1/inspections": ("test_inspections_api.py",),
    "/api/v1/schedules": ("test_inspections_api.py",),
    "/api/v1/findings": ("test_inspections_api.py",),
    "/closures": ("test_closures_pages.py", "test_closures_services.py"),
    "/api/v1/closures": ("test_closures_api.py",),
    "/triage": ("test_reports_pages.py", "test_reports_services.py"),
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
    "GET /bench/constant": ("/bench/constant", 200),
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


def _domain_tests(key: str) -> tuple[str, ...]:
    path = key.split(" ", 1)[1]
    for prefix, files in DOMAIN_PERMISSION_TESTS.items():
        if path == prefix or path.startswith(prefix + "/"):
            return files
    return ()


def is_staff_route(handler: Any) -> bool:
    return any(getattr(g, "func", g) is staff_guard for g in handler.resolve_guards())


async def test_matrix_covers_every_route(app):
    routes = app_routes(app)
    staff = {key for key, handler in routes.items() if is_staff_route(handler)}
    framework = {key for key in routes if key.split(" ", 1)[1].startswith(FRAMEWORK_PREFIXES)}
    others = set(routes) - staff - framework

    by_domain = {key for key in staff if _domain_tests(key)}
    missing = sorted(staff - set(MATRIX) - by_domain)
    assert not missing, "staff routes missing from MATRIX, add a Rule for each:\n" + "\n".join(
        missing
    )
    tests_dir = Path(__file__).parent
    for files in DOMAIN_PERMISSION_TESTS.values():
        for name in files:
            assert (tests_dir / name).exists(), f"{name} is named as a permission test but is gone"
    stale = sorted(set(MATRIX) - staff)
    assert not stale, "MATRIX names routes that are gone or unguarded:\n" + "\n".join(stale)
    unknown = sorted(others ^ set(PUBLIC))
    assert not unknown, "routes without the staff guard not listed in PUBLIC (or gone):\n" + (
        "\n".join(unknown)
    )


@pytest.fixture
async def world(personas, now) -> World:
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
    return World(
        site=site.id, asset=asset.id, component=component.id, user=target.id, token=token["id"]
    )


async def call(
    client: httpx.AsyncClient, key: str, rule: Rule, world: World, who: str
) -> httpx.Response:
    method, _path = key.split(" ", 1)
    url = rule.url(world)
    if method == "GET":
        return await client.get(url)
    body = await rule.body(world, who) if rule.body else {}
    if url.startswith("/api/"):
        return await api_write(client, method, url, body)
    return await post_form(client, url, body)


@pytest.mark.parametrize("who", sorted(ROLES))
async def test_permission_matrix(login, world, who):
    client = await login(who)
    problems = []
    # Refusals first, then the allowed calls (which may change what later calls see).
    ordered = sorted(MATRIX.items(), key=lambda item: who in item[1].allowed)
    for key, rule in ordered:
        allowed = who in rule.allowed
        before = None if allowed else await database_state()
        response = await call(client, key, rule, world, who)
        expected = rule.ok if allowed else 403
        if response.status_code != expected:
            problems.append(f"{key}: {response.status_code}, expected {expected}")
        elif before is not None and await database_state() != before:
            problems.append(f"{key}: refused but wrote to the database")
    assert problems == [], f"{who} ({ROLES[who]}):\n" + "\n".join(problems)


async def test_permission_matrix_anonymous(anon, world):
    problems = []
    before = await database_state()
    for key, rule in MATRIX.items():
        url = rule.url(world)
        response = await call(anon, key, rule, world, "anonymous")
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
    assert problems == []
    assert await database_state() == before


async def test_every_staff_route_refuses_anonymous(app, anon):
    """Every staff route of every domain, called without a login (ids filled in with 1, forms
    carrying the CSRF token): HTML routes send to the login page, API routes answer 401, and
    nothing is written."""
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
