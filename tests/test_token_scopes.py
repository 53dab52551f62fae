"""API token scopes and expiry (issue 19, item 8): a token may only call what its scopes cover
(403 naming the missing scope), the role still applies on top, an expired token is a 401 and
its use is not recorded, new tokens expire (90 days unless chosen, a year at most), the tokens
page offers both, and tokens made before scopes keep working after the migration."""

from __future__ import annotations

import datetime as dt
import importlib
import re
from typing import Any

import msgspec
import pytest

from facilities.accounts import scopes
from facilities.accounts import services as accounts
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.schemas import TokenCreate
from facilities.accounts.tables import ApiToken
from facilities.assets.tables import Asset
from facilities.tickets.tables import RepairTicket
from tests.kit.assets import make_asset, make_site
from tests.kit.clients import post_form
from tests.kit.permission_world import asset_body
from tests.kit.routes import app_routes


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "accept": "application/json"}


async def token_for(
    personas: dict[str, Any], who: str, now: dt.datetime, granted: list[str], **fields: Any
) -> str:
    data = TokenCreate(name=f"{who} bot", user_id=personas[who].id, scopes=granted, **fields)
    return await accounts.create_api_token(SYSTEM, data, now)


def ticket_body(asset_id: int) -> dict[str, Any]:
    return {
        "asset_id": asset_id,
        "title": "栏杆松动 / loose railing",
        "priority": "P2",
        "source": "inspection",
        "work_class": "minor",
    }


# --- the route -> domain map ------------------------------------------------------------------


def test_every_api_route_maps_to_a_domain(app):
    unmapped = [
        route
        for route in app_routes(app)
        if route.split(" ", 1)[1].startswith("/api/")
        and scopes.domain_of_path(route.split(" ", 1)[1]) is None
        and route.split(" ", 1)[1].split("/")[3] not in scopes.UNSCOPED_SEGMENTS
    ]
    assert unmapped == [], "add these to accounts.scopes.DOMAIN_OF_SEGMENT: " + ", ".join(unmapped)


@pytest.mark.parametrize(
    ("path", "domain"),
    [
        ("/api/v1/tickets/7/comments", scopes.ScopeDomain.TICKETS),
        ("/api/v1/sites", scopes.ScopeDomain.ASSETS),
        ("/api/v1/components/3", scopes.ScopeDomain.ASSETS),
        ("/api/v1/schedules", scopes.ScopeDomain.INSPECTIONS),
        ("/api/v1/closures/drafts", scopes.ScopeDomain.CLOSURES),
        ("/tickets/attachments/4", scopes.ScopeDomain.TICKETS),
        ("/triage", scopes.ScopeDomain.REPORTS),
        ("/admin/tokens", scopes.ScopeDomain.ADMIN),
        ("/api/v1/nothing-like-it", None),
    ],
)
def test_paths_map_to_their_domain(path, domain):
    assert scopes.domain_of_path(path) == domain


def test_write_implies_read_and_read_never_writes():
    held = frozenset({"tickets:write", "assets:read"})
    assert scopes.allows(held, scopes.ScopeDomain.TICKETS, scopes.Access.READ)
    assert scopes.allows(held, scopes.ScopeDomain.TICKETS, scopes.Access.WRITE)
    assert scopes.allows(held, scopes.ScopeDomain.ASSETS, scopes.Access.READ)
    assert not scopes.allows(held, scopes.ScopeDomain.ASSETS, scopes.Access.WRITE)
    assert not scopes.allows(held, scopes.ScopeDomain.CLOSURES, scopes.Access.READ)
    assert scopes.normalise(["tickets:read", "tickets:write", "assets:read"]) == (
        "assets:read",
        "tickets:write",
    )
    with pytest.raises(ValueError, match="tickets:delete"):
        scopes.normalise(["tickets:delete"])


# --- enforcement ------------------------------------------------------------------------------


async def test_read_only_token_reads_but_cannot_write(anon, personas, now):
    asset = await make_asset()
    token = await token_for(personas, "alice", now, ["tickets:read"])

    listing = await anon.get("/api/v1/tickets", headers=bearer(token))
    refused = await anon.post("/api/v1/tickets", json=ticket_body(asset.id), headers=bearer(token))

    assert listing.status_code == 200, listing.text
    assert refused.status_code == 403
    assert "tickets:write" in refused.json()["detail"]
    assert await RepairTicket.count() == 0


async def test_tickets_token_cannot_touch_assets(anon, personas, now):
    await make_asset()
    token = await token_for(personas, "alice", now, ["tickets:write"])

    for path in ("/api/v1/assets", "/api/v1/sites"):
        refused = await anon.get(path, headers=bearer(token))
        assert refused.status_code == 403, path
        assert "assets:read" in refused.json()["detail"]
    assert (await anon.get("/api/v1/tickets", headers=bearer(token))).status_code == 200


async def test_in_scope_writes_go_through(anon, personas, now):
    site = await make_site()
    asset = await make_asset(site)
    token = await token_for(personas, "alice", now, ["assets:write", "tickets:write"])

    made_asset = await anon.post(
        "/api/v1/assets", json=asset_body(site.id, "GX-SCOPE-1"), headers=bearer(token)
    )
    made_ticket = await anon.post(
        "/api/v1/tickets", json=ticket_body(asset.id), headers=bearer(token)
    )

    assert made_asset.status_code == 201, made_asset.text
    assert made_ticket.status_code == 201, made_ticket.text


async def test_a_scope_never_grants_more_than_the_role(anon, personas, now):
    site = await make_site()
    token = await token_for(personas, "dave", now, ["assets:write"])  # dave is a viewer

    refused = await anon.post(
        "/api/v1/assets", json=asset_body(site.id, "GX-VIEWER-9"), headers=bearer(token)
    )

    assert refused.status_code == 403
    assert "assets:write" not in refused.json()["detail"]  # the role refused, not the scope
    assert await Asset.count() == 0


async def test_scopes_hold_on_staff_pages_too(anon, personas, now):
    token = await token_for(personas, "alice", now, ["tickets:read"])

    page = await anon.get("/tickets", headers={"authorization": f"Bearer {token}"})
    form_post = await anon.post(
        "/sites", data={"name_zh": "令牌公园"}, headers={"authorization": f"Bearer {token}"}
    )
    unscoped = await anon.get("/field", headers=bearer(token))

    assert page.status_code == 200
    assert form_post.status_code == 403
    assert "assets:write" in form_post.text
    assert unscoped.status_code == 403
    assert unscoped.json()["detail"] == "此处不能使用 API 令牌。"  # the default language


# --- expiry -----------------------------------------------------------------------------------


async def test_new_tokens_expire_after_90_days_unless_chosen(personas, now):
    await token_for(personas, "alice", now, ["tickets:read"])
    await token_for(personas, "bob", now, ["tickets:read"], expires_in_days=7)

    rows = await ApiToken.select(ApiToken.name, ApiToken.expires_at).order_by(ApiToken.id)

    assert [row["expires_at"] for row in rows] == [
        now + dt.timedelta(days=90),
        now + dt.timedelta(days=7),
    ]
    for days in (0, 366):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert({"name": "x", "user_id": 1, "expires_in_days": days}, TokenCreate)


async def test_an_expired_token_is_refused_and_its_use_not_recorded(anon, personas, now, clock):
    token = await token_for(personas, "alice", now, ["tickets:read"], expires_in_days=1)
    clock.set(now + dt.timedelta(days=1, seconds=1), frozen=True)

    refused = await anon.get("/api/v1/tickets", headers=bearer(token))

    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    (row,) = await ApiToken.select(ApiToken.last_used_at)
    assert row["last_used_at"] is None
    assert await accounts.actor_for_api_token(token, now + dt.timedelta(days=2)) is None


async def test_a_token_works_until_its_last_moment(anon, personas, now, clock):
    token = await token_for(personas, "alice", now, ["tickets:read"], expires_in_days=1)
    clock.set(now + dt.timedelta(days=1, seconds=-1), frozen=True)

    assert (await anon.get("/api/v1/tickets", headers=bearer(token))).status_code == 200
    (row,) = await ApiToken.select(ApiToken.last_used_at)
    assert row["last_used_at"] == now + dt.timedelta(days=1, seconds=-1)


# --- the tokens page --------------------------------------------------------------------------


def shown_token(page: str) -> str:
    match = re.search(r'<code class="token" id="new-token">([^<]+)</code>', page)
    assert match, "the new token is not shown"
    return match.group(1)


async def test_the_page_offers_scopes_and_expiry(login):
    admin = await login("admin")

    page = await admin.get("/admin/tokens", headers={"accept-language": "en"})

    assert page.status_code == 200
    for scope in scopes.ALL_SCOPES:
        assert f'value="{scope}"' in page.text
    assert 'name="expires_in_days"' in page.text
    assert 'value="90"' in page.text
    # read everywhere is ticked to start with, write nowhere
    assert re.search(r'value="tickets:read"[^>]*checked', page.text)
    assert not re.search(r'value="tickets:write"[^>]*checked', page.text)


async def test_the_page_creates_a_scoped_expiring_token(login, personas, now, anon):
    admin = await login("admin")
    form = {
        "name": "GIS sync",
        "user_id": personas["alice"].id,
        "scopes": ["assets:read", "tickets:read", "tickets:write"],
        "expires_in_days": "30",
    }

    created = await post_form(admin, "/admin/tokens", form)

    assert created.status_code == 201, created.text
    (row,) = await ApiToken.select(ApiToken.scopes, ApiToken.expires_at)
    assert row["scopes"] == "assets:read tickets:write"
    assert row["expires_at"] - now < dt.timedelta(days=30, minutes=5)
    assert row["expires_at"] - now >= dt.timedelta(days=30)
    token = shown_token(created.text)
    assert (await anon.get("/api/v1/assets", headers=bearer(token))).status_code == 200
    assert (await anon.get("/api/v1/closures", headers=bearer(token))).status_code == 403


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["tickets:delete"]}, "scopes"),
        ({"expires_in_days": "400"}, "expires_in_days"),
        ({"expires_in_days": "soon"}, "expires_in_days"),
    ],
)
async def test_the_page_refuses_bad_scopes_and_expiry(login, personas, changes, field):
    admin = await login("admin")
    form = {"name": "x", "user_id": personas["alice"].id, "scopes": ["tickets:read"]}

    response = await post_form(admin, "/admin/tokens", {**form, **changes})

    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text
    assert await ApiToken.count() == 0


async def test_the_list_shows_scopes_expiry_and_expired(login, personas, now):
    await token_for(
        personas, "alice", now - dt.timedelta(days=10), ["closures:read"], expires_in_days=1
    )
    await token_for(personas, "bob", now, ["tickets:write"])
    admin = await login("admin")

    page = await admin.get("/admin/tokens", headers={"accept-language": "en"})

    assert page.status_code == 200
    alice_row, bob_row = (
        re.search(rf"<tr>\s*<td>{name} bot</td>.*?</tr>", page.text, re.S)
        for name in ("alice", "bob")
    )
    assert alice_row and bob_row
    assert "Closures and notices: read" in alice_row.group(0)
    assert "Expired" in alice_row.group(0)
    assert "Repair tickets: read and write" in bob_row.group(0)
    assert "Expired" not in bob_row.group(0)
    assert "/revoke" in bob_row.group(0)


# --- the migration ----------------------------------------------------------------------------


async def test_the_migration_keeps_tokens_made_before_scopes_working(anon, personas, now):
    site = await make_site()
    token = await token_for(personas, "alice", now, ["tickets:read"])
    # what the column-adding migration leaves on a token made before scopes
    await ApiToken.update({ApiToken.scopes: "", ApiToken.expires_at: None}, force=True)
    step = importlib.import_module(
        "facilities.accounts.piccolo_migrations.accounts_2026_12_07t07_57_07_000000"
    )

    await (await step.forwards()).run()

    (row,) = await ApiToken.select(ApiToken.scopes, ApiToken.expires_at)
    assert set(row["scopes"].split()) == set(scopes.FULL_SCOPES)
    assert row["expires_at"] is None
    made = await anon.post(
        "/api/v1/assets", json=asset_body(site.id, "GX-OLD-1"), headers=bearer(token)
    )
    assert made.status_code == 201, made.text
    far = now + dt.timedelta(days=3650)
    assert await accounts.actor_for_api_token(token, far) is not None
