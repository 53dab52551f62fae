"""The API tokens API (issue 19, item 8): /api/v1/tokens. Scopes and expiry as the tokens page
and accounts.scopes define them; the clear token shown once (in the creation's answer, never in
a list, never on a replay); a revoked token is a 401; a token cannot mint tokens, nor revoke
the token it is using."""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities.accounts import services as accounts
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.schemas import TokenCreate
from facilities.accounts.tables import ApiToken, SubmissionRecord
from tests.kit.clients import client_for_app, mentions


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "accept": "application/json"}


def new_token(user_id: int, **overrides: Any) -> dict[str, Any]:
    return {"name": "夜间同步", "user_id": user_id, "scopes": ["tickets:read"]} | overrides


async def test_create_shows_the_token_once(api, app, personas, now: dt.datetime):
    admin = await api("admin")

    created = await admin.post(
        "/api/v1/tokens",
        new_token(personas["bob"].id, scopes=["tickets:write", "tickets:read", "assets:read"]),
    )

    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    body = created.json()
    clear, details = body["token"], body["details"]
    assert clear.startswith("fac_") and details["prefix"] == clear[:12]
    assert details["scopes"] == ["assets:read", "tickets:write"]  # normalised as the page does
    assert details["user_id"] == personas["bob"].id and details["username"] == "bob"
    expires = dt.datetime.fromisoformat(details["expires_at"])
    assert dt.timedelta(0) <= expires - (now + dt.timedelta(days=90)) < dt.timedelta(minutes=1)
    listed = await admin.get("/api/v1/tokens")
    assert clear not in listed.text and clear[12:] not in listed.text
    assert [t["id"] for t in listed.json()] == [details["id"]]
    row = await ApiToken.objects().where(ApiToken.id == details["id"]).first()
    assert row.token_hash == accounts.digest(clear) and clear not in str(row.to_dict())
    async with client_for_app(app) as machine:
        me = await machine.get("/api/v1/me", headers=bearer(clear))
        assert me.status_code == 200 and me.json()["user"]["username"] == "bob"


async def test_a_replayed_create_makes_one_token_and_does_not_show_it_again(api, personas):
    admin = await api("admin")
    headers = {**admin.headers, "idempotency-key": "new-token-1"}
    body = new_token(personas["bob"].id)

    first = await admin.client.post("/api/v1/tokens", json=body, headers=headers)
    again = await admin.client.post("/api/v1/tokens", json=body, headers=headers)

    assert first.status_code == 201
    assert again.status_code == 409
    assert first.json()["token"] not in again.text
    assert await ApiToken.count() == 1
    stored = await SubmissionRecord.select(SubmissionRecord.body)
    assert all(first.json()["token"].encode() not in bytes(r["body"]) for r in stored)


async def test_bad_scopes_and_expiry_are_400s(api, personas):
    admin = await api("admin")
    bob = personas["bob"].id

    unknown = await admin.post("/api/v1/tokens", new_token(bob, scopes=["everything:write"]))
    empty = await admin.post("/api/v1/tokens", new_token(bob, scopes=[]))
    too_long = await admin.post("/api/v1/tokens", new_token(bob, expires_in_days=366))
    nobody = await admin.post("/api/v1/tokens", new_token(999999))

    assert unknown.status_code == 400 and mentions(unknown, "scopes[0]")
    assert empty.status_code == 400 and mentions(empty, "scopes")
    assert too_long.status_code == 400 and mentions(too_long, "expires_in_days")
    assert nobody.status_code == 400 and mentions(nobody, "user_id")
    assert await ApiToken.count() == 0


async def test_revoked_token_is_a_401_afterwards(api, app, personas, now):
    clear = await accounts.create_api_token(
        SYSTEM, TokenCreate(name="bot", user_id=personas["alice"].id), now
    )
    (row,) = await ApiToken.select(ApiToken.id)
    admin = await api("admin")
    async with client_for_app(app) as machine:
        assert (await machine.get("/api/v1/tickets", headers=bearer(clear))).status_code == 200

        revoked = await admin.post(f"/api/v1/tokens/{row['id']}/revoke", {})
        again = await admin.post(f"/api/v1/tokens/{row['id']}/revoke", {})

        assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
        assert again.status_code == 404
        assert (await machine.get("/api/v1/tickets", headers=bearer(clear))).status_code == 401


async def test_a_token_cannot_mint_tokens_nor_revoke_itself(app, personas, now):
    full = await accounts.create_api_token(
        SYSTEM, TokenCreate(name="admin bot", user_id=personas["admin"].id), now
    )
    other = await accounts.create_api_token(
        SYSTEM, TokenCreate(name="other", user_id=personas["dave"].id), now
    )
    ids = {r["name"]: r["id"] for r in await ApiToken.select(ApiToken.id, ApiToken.name)}
    async with client_for_app(app) as machine:
        minted = await machine.post(
            "/api/v1/tokens", json=new_token(personas["admin"].id), headers=bearer(full)
        )
        itself = await machine.post(
            f"/api/v1/tokens/{ids['admin bot']}/revoke", headers=bearer(full)
        )
        revoke_other = await machine.post(
            f"/api/v1/tokens/{ids['other']}/revoke", headers=bearer(full)
        )
        still = await machine.get("/api/v1/me", headers=bearer(full))
        gone = await machine.get("/api/v1/me", headers=bearer(other))

    assert minted.status_code == 403
    assert itself.status_code == 409
    assert revoke_other.status_code == 200
    assert still.status_code == 200 and gone.status_code == 401
    assert await ApiToken.count() == 2


async def test_staff_list_their_own_tokens_and_only_admins_issue(api, personas, now):
    await accounts.create_api_token(
        SYSTEM, TokenCreate(name="bob's", user_id=personas["bob"].id), now
    )
    await accounts.create_api_token(
        SYSTEM, TokenCreate(name="dave's", user_id=personas["dave"].id), now
    )
    (bobs,) = await ApiToken.select(ApiToken.id).where(ApiToken.name == "bob's")

    bob = await api("bob")
    mine = await bob.get("/api/v1/tokens")
    create = await bob.post("/api/v1/tokens", new_token(personas["bob"].id))
    revoke = await bob.post(f"/api/v1/tokens/{bobs['id']}/revoke", {})
    everyone = await (await api("admin")).get("/api/v1/tokens")

    assert [t["name"] for t in mine.json()] == ["bob's"]
    assert create.status_code == 403 and revoke.status_code == 403
    assert {t["name"] for t in everyone.json()} == {"bob's", "dave's"}
    assert await ApiToken.count() == 2


async def test_the_list_matches_the_tokens_page(api, personas, now):
    await accounts.create_api_token(
        SYSTEM,
        TokenCreate(name="page-bot", user_id=personas["alice"].id, scopes=["closures:write"]),
        now,
    )
    admin = await api("admin")
    (token,) = (await admin.get("/api/v1/tokens")).json()
    page = (await admin.client.get("/admin/tokens")).text

    assert token["name"] in page and token["prefix"] in page
    assert token["scopes"] == ["closures:write"] and token["is_expired"] is False
