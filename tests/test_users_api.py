"""The users API (issue 19, item 8): /api/v1/users for administrators, /api/v1/me for anyone.
The same service, rules and audit as the admin pages: the password rules of the user form, no
hash ever in an answer, version-checked edits, no self-demotion, deactivation that ends access."""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities.accounts import services as accounts
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.schemas import TokenCreate
from facilities.accounts.tables import StaffUser
from facilities.audit.tables import AuditEvent
from facilities.records import loads
from tests.kit.clients import client_for_app, log_in, mentions
from tests.kit.pages import Page
from tests.kit.personas import PASSWORD


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "accept": "application/json"}


def new_user(**overrides: Any) -> dict[str, Any]:
    return {
        "username": "zhang.wei",
        "display_name": "张伟",
        "email": "zhang.wei@bureau.example",
        "role": "crew",
        "team": "东区维修班",
        "password": "a long enough password",
    } | overrides


def edit_of(user: dict[str, Any], **changes: Any) -> dict[str, Any]:
    fields = ("display_name", "email", "role", "language", "team", "is_active", "version")
    return {k: user[k] for k in fields} | changes


async def test_the_list_is_the_admin_pages_list(api, personas):
    admin = await api("admin")
    response = await admin.get("/api/v1/users")

    assert response.status_code == 200
    names = [u["username"] for u in response.json()]
    page = Page((await admin.client.get("/admin/users")).text).text
    assert names == sorted(names) and set(names) == set(personas)
    assert all(name in page for name in names)
    assert all("password" not in key for u in response.json() for key in u)


async def test_create_applies_the_forms_rules_and_never_answers_a_hash(api, app):
    admin = await api("admin")

    created = await admin.post("/api/v1/users", new_user())

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["username"] == "zhang.wei" and body["role"] == "crew" and body["is_active"]
    assert body["team"] == "东区维修班" and body["version"] == 1
    assert "password" not in created.text and "argon2" not in created.text
    assert (await admin.get(f"/api/v1/users/{body['id']}")).json() == body
    event = (
        await AuditEvent.select()
        .where((AuditEvent.action == "user.created") & (AuditEvent.entity_id == body["id"]))
        .first()
    )
    assert event is not None
    # the new account logs in with the password it was given
    async with client_for_app(app) as client:
        await log_in(client, "zhang.wei", "a long enough password")


async def test_bad_input_is_a_400_naming_the_field(api):
    admin = await api("admin")

    short = await admin.post("/api/v1/users", new_user(password="short"))
    taken = await admin.post("/api/v1/users", new_user(username="alice"))
    role = await admin.post("/api/v1/users", new_user(role="overlord"))
    name = await admin.post("/api/v1/users", new_user(username="no spaces allowed"))

    assert short.status_code == 400 and mentions(short, "password")
    assert taken.status_code == 400 and mentions(taken, "username")
    assert "该用户名已被占用。" in taken.text  # in the reader's language
    assert role.status_code == 400 and mentions(role, "role")
    assert name.status_code == 400 and mentions(name, "username")
    assert await StaffUser.count().where(StaffUser.username == "zhang.wei") == 0


async def test_a_double_submit_creates_one_user(api):
    admin = await api("admin")
    headers = {**admin.headers, "idempotency-key": "create-zhang-wei"}

    first = await admin.client.post("/api/v1/users", json=new_user(), headers=headers)
    again = await admin.client.post("/api/v1/users", json=new_user(), headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await StaffUser.count().where(StaffUser.username == "zhang.wei") == 1


async def test_update_is_version_checked_and_audited(api, personas):
    admin = await api("admin")
    carol = (await admin.get(f"/api/v1/users/{personas['carol'].id}")).json()

    saved = await admin.put(
        f"/api/v1/users/{carol['id']}", edit_of(carol, role="inspector", team="桥梁巡检一队")
    )
    stale = await admin.put(f"/api/v1/users/{carol['id']}", edit_of(carol, display_name="X"))

    assert saved.status_code == 200, saved.text
    assert saved.json()["role"] == "inspector" and saved.json()["version"] == carol["version"] + 1
    assert stale.status_code == 409
    assert "在您编辑期间，他人修改了该用户。" in stale.json()["detail"]
    row = await StaffUser.objects().where(StaffUser.id == carol["id"]).first()
    assert row.display_name == carol["display_name"] and row.team == "桥梁巡检一队"
    event = await AuditEvent.select().where(AuditEvent.action == "user.updated").first()
    assert loads(event["changes"])["role"] == ["crew", "inspector"]


async def test_leaving_out_is_active_never_deactivates(api, personas):
    admin = await api("admin")
    carol = (await admin.get(f"/api/v1/users/{personas['carol'].id}")).json()
    body = edit_of(carol)
    del body["is_active"]

    response = await admin.put(f"/api/v1/users/{carol['id']}", body)

    assert response.status_code == 400 and mentions(response, "is_active")
    assert (await StaffUser.objects().where(StaffUser.id == carol["id"]).first()).is_active


async def test_an_admin_cannot_demote_or_deactivate_themselves(api, personas):
    admin = await api("admin")
    me = (await admin.get("/api/v1/me")).json()["user"]

    demote = await admin.put(f"/api/v1/users/{me['id']}", edit_of(me, role="viewer"))
    deactivate = await admin.post(
        f"/api/v1/users/{me['id']}/deactivate", {"version": me["version"]}
    )

    assert demote.status_code == 400 and mentions(demote, "role")
    assert "不能取消您本人的系统管理员权限。" in demote.text
    assert deactivate.status_code == 400
    row = await StaffUser.objects().where(StaffUser.id == me["id"]).first()
    assert row.role == "admin" and row.is_active


async def test_deactivating_ends_sessions_and_tokens(api, login, personas, now, app):
    carol_session = await login("carol")
    token = await accounts.create_api_token(
        SYSTEM, TokenCreate(name="carol bot", user_id=personas["carol"].id), now
    )
    assert (await carol_session.get("/api/v1/me")).status_code == 200
    admin = await api("admin")
    carol = (await admin.get(f"/api/v1/users/{personas['carol'].id}")).json()

    stale = await admin.post(f"/api/v1/users/{carol['id']}/deactivate", {"version": 99})
    done = await admin.post(f"/api/v1/users/{carol['id']}/deactivate", {"version": 1})

    assert stale.status_code == 409
    assert done.status_code == 200 and done.json()["is_active"] is False
    assert done.json()["display_name"] == carol["display_name"]  # nothing else changed
    assert (await carol_session.get("/api/v1/me")).status_code == 401
    async with client_for_app(app) as machine:
        assert (await machine.get("/api/v1/me", headers=bearer(token))).status_code == 401
        relogin = await machine.post("/login", data={"username": "carol", "password": PASSWORD})
        assert relogin.status_code != 303


async def test_only_admins_manage_users(api, personas, anon):
    for who in ("alice", "bob", "carol", "dave"):
        session = await api(who)
        listing = await session.get("/api/v1/users")
        one = await session.get(f"/api/v1/users/{personas['dave'].id}")
        create = await session.post("/api/v1/users", new_user(username=f"by-{who}"))
        assert (listing.status_code, one.status_code, create.status_code) == (403, 403, 403), who
    assert (await anon.get("/api/v1/users")).status_code == 401
    assert await StaffUser.count().where(StaffUser.username.like("by-%")) == 0


async def test_unknown_user_is_404(api):
    admin = await api("admin")
    assert (await admin.get("/api/v1/users/999999")).status_code == 404
    assert (await admin.get("/api/v1/users/99999999999")).status_code == 404
    body = {"display_name": "x", "role": "viewer", "is_active": True, "version": 1}
    assert (await admin.put("/api/v1/users/999999", body)).status_code == 404


async def test_me_answers_anyone_with_any_token(api, app, personas, now: dt.datetime):
    dave = await api("dave")
    session = await dave.get("/api/v1/me")
    assert session.status_code == 200
    assert session.json()["user"]["username"] == "dave" and session.json()["via"] == "session"
    assert session.json()["scopes"] is None

    token = await accounts.create_api_token(
        SYSTEM,
        TokenCreate(name="narrow", user_id=personas["bob"].id, scopes=["tickets:read"]),
        now,
    )
    async with client_for_app(app) as machine:
        me = await machine.get("/api/v1/me", headers=bearer(token))
        users = await machine.get("/api/v1/users", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "bob" and me.json()["via"] == "token"
    assert me.json()["scopes"] == ["tickets:read"]
    assert users.status_code == 403


async def test_an_admin_token_needs_the_admin_scope(app, personas, now):
    admin_id = personas["admin"].id
    narrow = await accounts.create_api_token(
        SYSTEM, TokenCreate(name="n", user_id=admin_id, scopes=["tickets:write"]), now
    )
    reader = await accounts.create_api_token(
        SYSTEM, TokenCreate(name="r", user_id=admin_id, scopes=["admin:read"]), now
    )
    async with client_for_app(app) as machine:
        refused = await machine.get("/api/v1/users", headers=bearer(narrow))
        listed = await machine.get("/api/v1/users", headers=bearer(reader))
        write = await machine.post("/api/v1/users", json=new_user(), headers=bearer(reader))
    assert refused.status_code == 403 and "admin:read" in refused.json()["detail"]
    assert listed.status_code == 200
    assert write.status_code == 403 and "admin:write" in write.json()["detail"]
    assert await StaffUser.count().where(StaffUser.username == "zhang.wei") == 0
