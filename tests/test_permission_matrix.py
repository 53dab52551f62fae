"""The permission matrix over every staff route (derived from the app, so a new route cannot
slip in untested): each persona calls every staff route, allowed ones answer their success
status and write, refused ones answer 403 and write nothing; anonymous callers are sent to log in
(pages) or answered 401 (API). The table itself is tests/kit/permission_matrix.py, the records
the routes act on (the ``world`` fixture) tests/kit/permission_world.py."""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import quote

import httpx
import pytest

from facilities.accounts.choices import Role
from tests.kit.clients import csrf_token, post_form
from tests.kit.database import database_state
from tests.kit.page_checks import page_problems
from tests.kit.permission_matrix import MATRIX, PUBLIC, SCOPE, STAFF, acceptance_scope
from tests.kit.permission_world import Rule, World, call, prepared
from tests.kit.routes import FRAMEWORK_PREFIXES, app_routes, is_staff_route

ROLES = {"admin": Role.ADMIN, "alice": Role.SUPERVISOR, "bob": Role.INSPECTOR}
ROLES |= {"carol": Role.CREW, "dave": Role.VIEWER}


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


async def run_scope(
    client: httpx.AsyncClient, world: World, who: str, rules: dict[str, Rule]
) -> list[str]:
    """Like the matrix, over cases that differ by whose work it is: allowed ones answer their
    status (and write when it is a success), refused ones 403 (or the case's 409) and write
    nothing."""
    problems = []
    for key, rule in rules.items():
        case = await prepared(rule, world)
        before = await database_state()
        response = await call(client, key.split(":", 1)[0], rule, case, who)
        expected = rule.ok if who in rule.allowed else 403
        if response.status_code != expected:
            problems.append(f"{key}: {response.status_code}, expected {expected}")
            continue
        problems += [f"{key}: {p}" for p in page_problems(response)]
        wrote = await database_state() != before
        if expected < 400 and not wrote:
            problems.append(f"{key}: answered {expected} but wrote nothing")
        elif expected >= 400 and wrote:
            problems.append(f"{key}: refused ({expected}) but wrote to the database")
    return problems


@pytest.mark.parametrize("who", sorted(ROLES))
async def test_assignment_scope(login, world, who):
    """Crew and inspectors act only on work assigned to them or their team (own, team:
    allowed; someone else's, another team's: 403; an unassigned ticket: take it first, an
    unassigned inspection: whoever starts it); supervisors and admins act on anything; only
    crew take, and only what is unassigned (409 otherwise)."""
    client = await login(who)
    problems = await run_scope(client, world, who, SCOPE)
    assert problems == [], f"{who} ({ROLES[who]}):\n" + "\n".join(problems)


@pytest.mark.parametrize("separate", [True, False], ids=["separate", "same-allowed"])
@pytest.mark.parametrize("who", sorted(ROLES))
async def test_acceptance_by_someone_else(app, login, world, who, separate):
    """Completed work is accepted by a supervisor or admin other than whoever completed it
    (FACILITIES_SEPARATE_ACCEPTANCE, on by default); with the setting off, by any of them."""
    app.state.settings = dataclasses.replace(app.state.settings, separate_acceptance=separate)
    client = await login(who)
    problems = await run_scope(client, world, who, acceptance_scope(separate))
    assert problems == [], f"{who} ({ROLES[who]}):\n" + "\n".join(problems)
