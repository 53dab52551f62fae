"""Security: CSRF on cookie-authenticated writes and API tokens. The permission matrix over
every staff route is test_permission_matrix.py; CSRF on every write, the security headers and
the end of a session are test_security_session.py."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

import httpx
import pytest

from facilities.accounts import services as accounts
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.schemas import TokenCreate, UserUpdate
from facilities.accounts.tables import ApiToken, StaffUser
from facilities.assets.tables import Asset, Site
from facilities.audit.tables import AuditEvent
from tests.kit.assets import make_site
from tests.kit.clients import client_for_app, csrf_token, post_form
from tests.kit.database import database_state
from tests.kit.permission_world import asset_body


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

    response = await post_form(
        admin, "/admin/tokens", {"name": "sensor feed", "user_id": dave.id, "scopes": "assets:read"}
    )

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
        admin,
        "/admin/tokens",
        {"name": "viewer bot", "user_id": personas["dave"].id, "scopes": "assets:write"},
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
