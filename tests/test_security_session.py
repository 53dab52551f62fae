"""Security, part two: CSRF on every cookie write (derived from the app's route list), the
security headers on every kind of answer over HTTP and HTTPS, and what ends a session.

Already covered elsewhere, not repeated here: a planted session id is never adopted, logout
deletes the row, a password change logs out the other sessions (tests/test_accounts.py); a
forged or foreign CSRF token (tests/test_security.py); the one-click unsubscribe POST
(tests/test_subscriptions.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from facilities.accounts import services as accounts
from facilities.accounts.tables import Session
from facilities.reports.tables import ServiceRequest
from facilities.web.auth import SESSION_COOKIE
from tests.kit.clients import csrf_token, log_in, post_form
from tests.kit.database import database_state
from tests.kit.page_checks import page_problems
from tests.kit.permission_matrix import MATRIX
from tests.kit.permission_world import call, prepared
from tests.kit.personas import PASSWORD
from tests.kit.reports import make_report
from tests.kit.routes import FRAMEWORK_PREFIXES, app_routes, is_staff_route

CSRF_REFUSAL = "表单已过期或来自其他网站"  # "The form expired or came from another site"

# Public POST routes that take no CSRF token, and why. Everything else that writes needs it.
CSRF_EXEMPT = {
    # RFC 8058 one-click unsubscribe: the mail client posts without a cookie; the unguessable
    # token in the URL is the credential.
    "POST /unsubscribe/{token:str}",
    # Open311 GeoReport v2 machine clients: an api_key in the body, never a cookie.
    "POST /open311/v2/{name:str}",
}


def writes(application: Any, *, staff: bool) -> list[str]:
    """The app's POST/PUT/PATCH/DELETE routes, staff-guarded or not."""
    return sorted(
        key
        for key, handler in app_routes(application).items()
        if not key.startswith("GET ")
        and not key.split(" ", 1)[1].startswith(FRAMEWORK_PREFIXES)
        and is_staff_route(handler) == staff
    )


# --- CSRF on every cookie write --------------------------------------------------------------


async def test_every_staff_write_needs_the_csrf_token(app, login, world):
    """Every staff write, called by an administrator (allowed on all but the crew's "Take it",
    called by the crew) with a valid
    session cookie and the CSRF cookie but without the token, with the body the matrix shows
    to succeed: 403, the CSRF refusal, and nothing written."""
    admin = await login("admin")
    await csrf_token(admin)  # the browser holds the CSRF cookie; the forged request lacks the token
    crew = await login("carol")  # "Take it" is the crew's alone
    await csrf_token(crew)
    keys = writes(app, staff=True)
    assert len(keys) > 80
    problems = []
    for key in keys:
        rule = MATRIX[key]
        who = "admin" if "admin" in rule.allowed else "carol"
        assert who in rule.allowed, key
        case = await prepared(rule, world)
        before = await database_state()
        client = admin if who == "admin" else crew
        response = await call(client, key, rule, case, who, csrf=False)
        if response.status_code != 403:
            problems.append(f"{key}: {response.status_code}")
            continue
        if rule.url(case).startswith("/api/"):
            if response.json()["status_code"] != 403:
                problems.append(f"{key}: not a JSON error: {response.text[:80]}")
        elif CSRF_REFUSAL not in response.text:
            problems.append(f"{key}: refused, but not by the CSRF check")
        if await database_state() != before:
            problems.append(f"{key}: refused but wrote to the database")
    assert problems == []


async def test_public_cookie_less_writes_need_the_csrf_token_too(app, login, anon, world, now):
    """The citizen's forms (report, still broken, subscribe and its confirmation) and
    login/logout set a CSRF cookie with the form, so they check it: a forged post answers 403
    and writes nothing. The subscription form, which pages a shared cache serves carry without
    a token, checks it in its handler: a post without one shows the form again and writes
    nothing (tests/test_shared_cache.py).
    The only exemptions are the declared machine and one-click posts."""
    assert set(writes(app, staff=False)) - CSRF_EXEMPT == {
        "POST /login",
        "POST /logout",
        "POST /subscriptions",
        "POST /subscriptions/confirm/{token:str}",
        "POST /report",
        "POST /reports/{token:str}/still-broken",
    }
    submitted = await make_report(world.asset_row, now=now, media_root=world.media)
    alice = await login("alice")
    await anon.get("/report")  # the visitor has the CSRF cookie; the forged form lacks the field
    forged = [
        (anon, "/login", {"username": "alice", "password": PASSWORD}),
        (alice, "/logout", {}),
        (
            anon,
            "/report",
            {
                "asset_id": str(world.asset),
                "category": "deck_damage",
                "description": "东入口一块木板松动 / loose plank",
                "contact_email": "citizen@example.org",
            },
        ),
        (anon, f"/reports/{submitted.token}/still-broken", {"description": "还是坏的"}),
        # The exemptions are anchored: a path that merely contains "/open311" is not exempt.
        (anon, "/reports/open311/still-broken", {"description": "x"}),
        (anon, "/subscriptions/confirm/nope", {}),  # a link scanner cannot confirm either
    ]
    state, sessions = await database_state(), await Session.count()
    reports = await ServiceRequest.count()

    responses = [await client.post(url, data=data) for client, url, data in forged]
    subscription = {"email": "reader@example.org", "target": "all"}
    asked_again = await anon.post("/subscriptions", data=subscription)

    assert [r.status_code for r in responses] == [403] * len(forged)
    assert all(CSRF_REFUSAL in r.text for r in responses)
    assert asked_again.status_code == 200 and 'action="/subscriptions"' in asked_again.text
    assert await database_state() == state
    assert await Session.count() == sessions  # no login, and alice is still logged in
    assert await ServiceRequest.count() == reports
    assert (await alice.get("/assets")).status_code == 200
    # With the token the same posts go through (so the 403 above was the CSRF check).
    assert (await post_form(anon, "/subscriptions", subscription)).status_code == 303
    assert (await post_form(anon, forged[2][1], forged[2][2])).status_code == 303
    assert await ServiceRequest.count() == reports + 1


# --- security headers ------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_security_headers_on_every_kind_of_answer(app, personas, world, scheme):
    """A public page, a staff page, JSON answers, errors, feeds: the CSP allows no inline
    script and no framing, MIME sniffing is off, a referrer policy is set, and HSTS is sent
    exactly when the request came over TLS."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50004))
    base = f"{scheme}://testserver"
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:
        anonymous = {
            "/": 200,
            "/notices": 200,
            f"/notices/{world.closure}": 200,
            "/feeds/notices.atom": 200,
            "/feeds/closures.ics": 200,
            "/feeds/closures.geojson": 200,
            f"/feeds/cap/{world.closure}.xml": 200,
            "/open311/v2/discovery.json": 200,
            "/no/such/page": 404,
            "/api/v1/assets": 401,
            "/assets": 303,
        }
        responses = [(url, status, await client.get(url)) for url, status in anonymous.items()]
        await log_in(client, "alice")
        staff = {
            "/assets": 200,
            f"/tickets/{world.ticket}": 200,
            f"/api/v1/tickets/{world.ticket}": 200,
            "/api/v1/tickets/999999": 404,
            "/tickets/999999": 404,
            "/admin/users": 403,
        }
        responses += [(url, status, await client.get(url)) for url, status in staff.items()]
    problems = []
    for url, status, response in responses:
        if response.status_code != status:
            problems.append(f"{url}: {response.status_code}, expected {status}")
        problems += [f"{url}: {p}" for p in page_problems(response)]
        hsts = response.headers.get("strict-transport-security", "")
        if scheme == "https" and not hsts.startswith("max-age="):
            problems.append(f"{url}: no HSTS over https")
        if scheme == "http" and hsts:
            problems.append(f"{url}: HSTS over plain http")
    assert problems == []


# --- sessions --------------------------------------------------------------------------------


async def assert_dead(app: Any, token: str) -> None:
    """A session id that no longer opens anything: pages send to the login, the API says 401,
    and its row is gone from the server."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50005)),
        base_url="http://testserver",
        cookies={SESSION_COOKIE: token},
    ) as replay:
        page = await replay.get("/tickets")
        api = await replay.get("/api/v1/tickets")
    assert (page.status_code, page.headers.get("location")) == (303, "/login?next=/tickets")
    assert api.status_code == 401
    assert await Session.count().where(Session.token_hash == accounts.digest(token)) == 0


async def test_every_way_a_session_ends_leaves_its_id_worthless(app, anon, login, personas):
    # Before login the visitor has a CSRF cookie, but no session id to fixate.
    await anon.get("/login")
    assert anon.cookies.get("csrftoken")
    assert SESSION_COOKIE not in anon.cookies
    await log_in(anon, "alice")
    first = anon.cookies[SESSION_COOKIE]
    # Logging in again rotates the id; the old one is ended on the server.
    await log_in(anon, "alice")
    second = anon.cookies[SESSION_COOKIE]
    assert second != first
    await assert_dead(app, first)
    # A password change ends alice's other sessions (another browser), not this one.
    elsewhere = await login("alice")
    other = elsewhere.cookies[SESSION_COOKIE]
    new = "a brand new passphrase"
    changed = await post_form(
        anon,
        "/account/password",
        {"current_password": PASSWORD, "new_password": new, "confirm_password": new},
    )
    assert changed.status_code == 303
    await assert_dead(app, other)
    assert (await anon.get("/tickets")).status_code == 200
    # Logging out deletes the session on the server.
    assert (await post_form(anon, "/logout", {})).status_code == 303
    await assert_dead(app, second)
    assert await Session.count() == 0
