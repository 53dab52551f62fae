"""Staff accounts: login and logout, database sessions, the login rate limit, user
administration and password changes, driven through the real app and database."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import html
import json
import re
from typing import Any

import httpx
import pytest

from facilities.accounts import services as accounts
from facilities.accounts.permissions import SYSTEM, Actor
from facilities.accounts.schemas import UserCreate, UserUpdate
from facilities.accounts.tables import Session, StaffUser
from facilities.app import create_app
from facilities.audit.tables import AuditEvent
from facilities.errors import Conflict, ValidationFailed
from facilities.notifications.tables import Notification
from facilities.web.auth import SESSION_COOKIE
from tests.kit.clients import client_for_app, csrf_token, post_form
from tests.kit.personas import PASSWORD

NEW_PASSWORD = "a much longer passphrase"


# --- helpers ---------------------------------------------------------------------------------


def set_cookies(response: httpx.Response, name: str) -> list[str]:
    """The Set-Cookie headers of ``response`` that set cookie ``name``."""
    return [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]


async def attempt_login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, next: str = ""
) -> httpx.Response:
    return await post_form(
        client, "/login", {"username": username, "password": password, "next": next}
    )


async def is_staff(client: httpx.AsyncClient) -> bool:
    """True when the client's cookies open a staff page; False when it is sent to log in."""
    response = await client.get("/assets")
    if response.status_code == 200:
        return True
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/login")
    return False


def client_with_session(application: Any, token: str) -> httpx.AsyncClient:
    client = client_for_app(application)
    client.cookies.set(SESSION_COOKIE, token)
    return client


def client_from(application: Any, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application, client=(address, 50001)),
        base_url="http://testserver",
        follow_redirects=False,
    )


def hidden_value(page: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden {name} field in the page"
    return html.unescape(match.group(1))


async def user_named(username: str) -> StaffUser:
    user = await StaffUser.objects().where(StaffUser.username == username).first()
    assert user is not None
    return user


async def audit_events(action: str, entity_id: int) -> list[dict[str, Any]]:
    rows = await AuditEvent.select().where(
        (AuditEvent.action == action) & (AuditEvent.entity_id == entity_id)
    )
    for row in rows:
        if isinstance(row["changes"], str):
            row["changes"] = json.loads(row["changes"])
    return rows


async def english(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.cookies.set("lang", "en")
    return client


# --- login and logout ------------------------------------------------------------------------


async def test_login_sets_httponly_session_cookie_and_redirects_to_next(anon, personas):
    response = await attempt_login(anon, "alice", next="/sites?kind=park")

    assert response.status_code == 303
    assert response.headers["location"] == "/sites?kind=park"
    (cookie,) = set_cookies(response, SESSION_COOKIE)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert await is_staff(anon)


async def test_login_without_next_goes_to_the_staff_home(anon, personas):
    response = await attempt_login(anon, "alice")
    assert response.status_code == 303
    assert response.headers["location"] == "/staff"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/assets",
        "https://evil.example",
        "http://evil.example/login",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
async def test_login_refuses_an_off_site_next(anon, personas, target):
    response = await attempt_login(anon, "alice", next=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff"


async def test_next_cannot_inject_a_header(anon, personas):
    response = await attempt_login(anon, "alice", next="/assets\r\nX-Injected: yes")
    assert response.status_code == 303
    assert "x-injected" not in response.headers
    assert response.headers["location"].startswith("/assets")
    assert "\n" not in response.headers["location"]


async def test_cookies_are_secure_when_configured(settings, app, personas, clock):
    secure_app = create_app(
        dataclasses.replace(settings, cookie_secure=True), embed_scheduler=False, clock=clock
    )
    transport = httpx.ASGITransport(app=secure_app, client=("127.0.0.1", 50002))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        page = await client.get("/login")
        token = page.cookies["csrftoken"]
        response = await client.post(
            "/login", data={"username": "alice", "password": PASSWORD, "_csrf_token": token}
        )
    assert response.status_code == 303
    (session,) = set_cookies(response, SESSION_COOKIE)
    (csrf,) = set_cookies(page, "csrftoken")
    assert "secure" in [part.strip().lower() for part in session.split(";")]
    assert "secure" in [part.strip().lower() for part in csrf.split(";")]


async def test_login_form_carries_next_and_sends_logged_in_users_on(anon, personas):
    page = await anon.get("/login", params={"next": "/sites"})
    assert page.status_code == 200
    assert hidden_value(page.text, "next") == "/sites"

    await attempt_login(anon, "alice")
    again = await anon.get("/login", params={"next": "//evil.example"})
    assert again.status_code == 303
    assert again.headers["location"] == "/staff"


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "not the password"), ("nobody", PASSWORD), ("ALICE", PASSWORD)],
)
async def test_wrong_credentials_are_refused_with_a_message_and_no_cookie(
    anon, personas, username, password
):
    response = await attempt_login(anon, username, password)

    assert response.status_code == 400
    assert "用户名或密码错误。" in response.text  # "Wrong user name or password."
    assert set_cookies(response, SESSION_COOKIE) == []
    assert SESSION_COOKIE not in anon.cookies
    assert await Session.count() == 0
    # The typed user name is kept, the password never echoed back.
    assert f'value="{username}"' in response.text
    assert password not in response.text


async def test_inactive_user_cannot_log_in(anon, personas, now):
    dave = await user_named("dave")
    await accounts.update_user(
        SYSTEM,
        dave.id,
        UserUpdate(display_name="Dave", role=dave.role, is_active=False, version=dave.version),
        now,
    )

    response = await attempt_login(anon, "dave")

    assert response.status_code == 400
    assert "用户名或密码错误。" in response.text
    assert set_cookies(response, SESSION_COOKIE) == []
    assert await Session.count() == 0


async def test_logout_deletes_the_session_on_the_server(app, anon, personas):
    await attempt_login(anon, "alice")
    token = anon.cookies[SESSION_COOKIE]
    assert await Session.count() == 1

    response = await post_form(anon, "/logout", {})

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    (cleared,) = set_cookies(response, SESSION_COOKIE)
    assert "max-age=0" in cleared.lower()
    assert await Session.count() == 0
    assert not await is_staff(anon)
    # A copy of the old cookie value (say, kept by an attacker) opens nothing any more.
    async with client_with_session(app, token) as replay:
        assert not await is_staff(replay)


async def test_logout_needs_the_csrf_token(anon, personas):
    await attempt_login(anon, "alice")
    response = await anon.post("/logout")
    assert response.status_code == 403
    assert await Session.count() == 1
    assert await is_staff(anon)


async def test_login_rotates_the_session_id(app, anon, personas):
    # A value planted before login (session fixation) is never adopted.
    planted = "planted-by-an-attacker"
    anon.cookies.set(SESSION_COOKIE, planted, domain="testserver.local")
    await attempt_login(anon, "alice")
    first = anon.cookies[SESSION_COOKIE]
    assert first != planted
    async with client_with_session(app, planted) as attacker:
        assert not await is_staff(attacker)

    # Logging in again issues a new id and ends the previous session.
    await attempt_login(anon, "bob")
    second = anon.cookies[SESSION_COOKIE]
    assert second != first
    async with client_with_session(app, first) as old:
        assert not await is_staff(old)
    rows = await Session.select(Session.token_hash, Session.user.username)
    assert rows == [{"token_hash": accounts.digest(second), "user.username": "bob"}]


async def test_session_row_stores_only_a_hash_of_the_cookie(anon, personas):
    await attempt_login(anon, "alice")
    token = anon.cookies[SESSION_COOKIE]

    (row,) = await Session.select()

    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(row, default=str)


# --- sessions in the database ------------------------------------------------------------------


async def test_session_expires_after_idle_hours_and_slides_when_used(personas, now):
    alice = await user_named("alice")
    hours = 12
    token = await accounts.start_session(alice, "127.0.0.1", "test", now, hours)

    # Used within the touch interval: valid, expiry unchanged (no write on every request).
    assert await accounts.actor_for_session(token, now + dt.timedelta(minutes=1), hours)
    (row,) = await Session.select(Session.expires_at)
    assert row["expires_at"] == now + dt.timedelta(hours=hours)

    # Used after eleven hours: still valid, and the expiry slides from that moment.
    later = now + dt.timedelta(hours=11)
    actor = await accounts.actor_for_session(token, later, hours)
    assert actor is not None and actor.username == "alice"
    (row,) = await Session.select(Session.expires_at)
    assert row["expires_at"] == later + dt.timedelta(hours=hours)

    # Idle for the whole period: gone.
    assert await accounts.actor_for_session(token, later + dt.timedelta(hours=hours), hours) is None
    assert await accounts.actor_for_session("not-a-token", later, hours) is None


async def test_purge_removes_expired_sessions_and_old_rate_windows(personas, now):
    alice = await user_named("alice")
    old = await accounts.start_session(alice, "", "", now - dt.timedelta(hours=13), 12)
    live = await accounts.start_session(alice, "", "", now, 12)
    await accounts.rate_hit("login:old", 900, now - dt.timedelta(days=2))
    await accounts.rate_hit("login:recent", 900, now)

    removed = await accounts.purge_expired(now)

    assert removed == 2
    hashes = {row["token_hash"] for row in await Session.select(Session.token_hash)}
    assert hashes == {accounts.digest(live)}
    assert accounts.digest(old) not in hashes
    assert await accounts.rate_count("login:recent", 900, now) == 1
    assert await accounts.purge_expired(now) == 0  # safe to run twice


async def test_a_role_change_applies_to_a_live_session_at_once(login, personas, now):
    alice_client = await login("alice")
    assert (await alice_client.get("/jobs")).status_code == 200
    alice = await user_named("alice")

    await accounts.update_user(
        SYSTEM,
        alice.id,
        UserUpdate(display_name="Alice", role="viewer", is_active=True, version=alice.version),
        now,
    )

    assert (await alice_client.get("/jobs")).status_code == 403
    assert (await alice_client.get("/assets")).status_code == 200


async def test_session_is_shared_between_two_app_instances(app, anon, personas, settings, clock):
    other_app = create_app(settings, embed_scheduler=False, clock=clock)
    await attempt_login(anon, "alice")
    token = anon.cookies[SESSION_COOKIE]

    async with client_with_session(other_app, token) as elsewhere:
        page = await elsewhere.get("/assets")
        assert page.status_code == 200
        assert "Alice" in page.text
        # Logging out through the second instance ends the session for the first one too.
        response = await post_form(elsewhere, "/logout", {})
        assert response.status_code == 303
    assert not await is_staff(anon)


async def test_anonymous_visitors_get_no_session_row(anon, personas):
    for path in ["/", "/login", "/assets", "/sites", "/api/v1/assets", "/language?lang=en"]:
        response = await anon.get(path)
        assert response.status_code in {200, 303, 401}, path
        assert set_cookies(response, SESSION_COOKIE) == [], path
    assert await Session.count() == 0

    await attempt_login(anon, "alice")
    assert await Session.count() == 1


# --- login rate limit ------------------------------------------------------------------------


class Clock:
    """A settable clock standing in for the wall clock of the HTTP handlers."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock(now: dt.datetime) -> Clock:
    """The app's clock (it overrides conftest's), pinned so no attempt leaves the rate-limit
    window in the middle of a test."""
    return Clock(now)


async def fail_logins(client: httpx.AsyncClient, username: str, times: int) -> None:
    for _ in range(times):
        response = await attempt_login(client, username, "wrong password")
        assert response.status_code == 400


async def test_login_is_throttled_per_user_name_and_address(app, anon, personas, settings, clock):
    window = settings.login_window_seconds
    clock.now = clock.now.replace(minute=0, second=0) + dt.timedelta(seconds=100)
    assert (clock.now.timestamp() - 100) % window == 0  # 100 s into a window
    await fail_logins(anon, "alice", settings.login_max_attempts)

    response = await attempt_login(anon, "alice")  # the right password, too late

    assert response.status_code == 429
    # Issue 16: the window slides, so the lockout lasts a whole window from the attempts (it used
    # to end at the next fixed boundary, here 100 s early).
    assert response.headers["retry-after"] == str(window)
    assert "失败次数过多" in response.text  # "Too many failed attempts"
    assert set_cookies(response, SESSION_COOKIE) == []
    assert await Session.count() == 0
    # The user name is compared as typed, case and spaces aside.
    assert (await attempt_login(anon, " Alice ")).status_code == 429

    # Another user name from the same address, and the same name from another address, pass.
    assert (await attempt_login(anon, "bob")).status_code == 303
    async with client_from(app, "10.20.30.40") as elsewhere:
        assert (await attempt_login(elsewhere, "alice")).status_code == 303


async def test_login_throttle_is_shared_between_app_instances(app, anon, personas, settings, clock):
    await fail_logins(anon, "alice", settings.login_max_attempts)
    other_app = create_app(settings, embed_scheduler=False, clock=clock)

    async with client_for_app(other_app) as elsewhere:
        response = await attempt_login(elsewhere, "alice")

    assert response.status_code == 429
    assert "retry-after" in response.headers


async def test_login_throttle_ends_with_its_window(anon, personas, settings, clock):
    await fail_logins(anon, "alice", settings.login_max_attempts)
    assert (await attempt_login(anon, "alice")).status_code == 429

    clock.now += dt.timedelta(seconds=settings.login_window_seconds)

    assert (await attempt_login(anon, "alice")).status_code == 303


async def test_failures_below_the_limit_do_not_throttle(anon, personas, settings, clock):
    await fail_logins(anon, "alice", settings.login_max_attempts - 1)
    assert (await attempt_login(anon, "alice")).status_code == 303


async def test_rate_counter_rolls_over_with_its_fixed_window(app, now):
    window = 60
    start = now.replace(second=0, microsecond=0)  # a window boundary
    assert await accounts.rate_count("k", window, start) == 0

    assert await accounts.rate_hit("k", window, start) == 1
    assert await accounts.rate_hit("k", window, start + dt.timedelta(seconds=30)) == 2
    assert await accounts.rate_count("k", window, start + dt.timedelta(seconds=59)) == 2
    assert await accounts.rate_count("other", window, start) == 0

    later = start + dt.timedelta(seconds=window)
    assert await accounts.rate_count("k", window, later) == 0
    assert await accounts.rate_hit("k", window, later) == 1
    assert await accounts.rate_count("k", window, later) == 1
    # A reading from an older window does not count the newer window's hits.
    assert await accounts.rate_count("k", window, start) == 0


async def test_rate_hits_are_counted_atomically(app, now):
    counts = await asyncio.gather(*(accounts.rate_hit("burst", 900, now) for _ in range(8)))
    assert sorted(counts) == list(range(1, 9))
    assert await accounts.rate_count("burst", 900, now) == 8


# --- user administration ---------------------------------------------------------------------


def user_form(**overrides: Any) -> dict[str, Any]:
    values = {
        "username": "erin",
        "display_name": "Erin Example",
        "email": "erin@bureau.example",
        "role": "inspector",
        "language": "en",
        "password": "erin's long password",
    }
    values.update(overrides)
    return values


async def test_admin_creates_a_user_who_can_log_in(login, app, personas):
    admin = await login("admin")

    response = await post_form(admin, "/admin/users", user_form())

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/users"
    erin = await user_named("erin")
    assert (erin.display_name, erin.email, erin.role, erin.language) == (
        "Erin Example",
        "erin@bureau.example",
        "inspector",
        "en",
    )
    assert erin.password_hash.startswith("$argon2")
    async with client_for_app(app) as client:
        assert (await attempt_login(client, "erin", "erin's long password")).status_code == 303
    listing = await admin.get("/admin/users")
    assert "Erin Example" in listing.text


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"username": "alice"}, "username", "This user name is taken."),
        ({"password": "short"}, "password", "Enter at least 10 characters."),
        ({"email": "not-an-email"}, "email", "This value is not in the expected format."),
        ({"username": "has space"}, "username", "This value is not in the expected format."),
        ({"role": "superuser"}, "role", "Choose one of the listed options."),
    ],
)
async def test_create_user_validation_shows_field_messages(
    login, personas, overrides, field, message
):
    admin = await english(await login("admin"))
    users_before = await StaffUser.count()
    form = user_form(display_name="Typed Display Name", **overrides)

    response = await post_form(admin, "/admin/users", form)

    assert response.status_code == 400
    assert f'<p class="field-error" id="{field}-error">{html.escape(message)}</p>' in response.text
    assert 'value="Typed Display Name"' in response.text
    assert form["password"] not in response.text
    assert await StaffUser.count() == users_before


async def test_user_admin_pages_in_chinese_by_default(login, personas):
    admin = await login("admin")
    response = await post_form(admin, "/admin/users", user_form(username="alice"))
    assert response.status_code == 400
    assert "该用户名已被占用。" in response.text


def update_form(user: StaffUser, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "display_name": user.display_name,
        "email": user.email,
        "role": user.role,
        "language": user.language,
        "is_active": "true" if user.is_active else "",
        "version": user.version,
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v != ""}


async def test_edit_user_with_a_stale_version_is_a_409_that_keeps_what_was_typed(
    login, personas, now
):
    admin = await english(await login("admin"))
    dave = await user_named("dave")
    stale = update_form(dave, display_name="Typed By Admin", email="typed@bureau.example")
    # Meanwhile someone else saves the same user.
    await accounts.update_user(
        SYSTEM,
        dave.id,
        UserUpdate(display_name="Saved Elsewhere", role="crew", is_active=True, version=1),
        now,
    )

    response = await post_form(admin, f"/admin/users/{dave.id}", stale)

    assert response.status_code == 409
    assert "Someone else saved this record while you were editing" in response.text
    assert 'value="Typed By Admin"' in response.text
    assert 'value="typed@bureau.example"' in response.text
    assert "Saved Elsewhere" in response.text  # what the other person saved is shown
    saved = await user_named("dave")
    assert (saved.display_name, saved.role, saved.version) == ("Saved Elsewhere", "crew", 2)

    # Having compared, the admin saves the page again as it is now: it goes through.
    again = dict(stale, version=hidden_value(response.text, "version"))
    assert (await post_form(admin, f"/admin/users/{dave.id}", again)).status_code == 303
    saved = await user_named("dave")
    assert (saved.display_name, saved.version) == ("Typed By Admin", 3)


@pytest.mark.parametrize(
    "overrides", [{"role": "supervisor"}, {"is_active": ""}], ids=["demote", "deactivate"]
)
async def test_admin_cannot_demote_or_deactivate_themselves(login, personas, overrides):
    admin_client = await english(await login("admin"))
    admin = await user_named("admin")

    response = await post_form(
        admin_client, f"/admin/users/{admin.id}", update_form(admin, **overrides)
    )

    assert response.status_code == 400
    assert "You cannot remove your own administrator access." in response.text
    saved = await user_named("admin")
    assert (saved.role, saved.is_active, saved.version) == ("admin", True, 1)
    assert await is_staff(admin_client)


async def test_deactivating_a_user_ends_their_sessions(login, personas):
    admin = await login("admin")
    dave_client = await login("dave")
    assert await is_staff(dave_client)
    dave = await user_named("dave")

    response = await post_form(admin, f"/admin/users/{dave.id}", update_form(dave, is_active=""))

    assert response.status_code == 303
    assert (await user_named("dave")).is_active is False
    assert await Session.count().where(Session.user == dave.id) == 0
    assert not await is_staff(dave_client)
    assert await is_staff(admin)


async def test_user_changes_are_audited_without_passwords(login, personas):
    admin = await login("admin")
    await post_form(admin, "/admin/users", user_form())
    erin = await user_named("erin")
    await post_form(
        admin, f"/admin/users/{erin.id}", update_form(erin, display_name="Erin E.", role="crew")
    )

    (created,) = await audit_events("user.created", erin.id)
    (updated,) = await audit_events("user.updated", erin.id)

    admin_user = await user_named("admin")
    assert created["actor"] == updated["actor"] == admin_user.id
    assert created["changes"]["username"] == [None, "erin"]
    assert created["changes"]["role"] == [None, "inspector"]
    assert updated["changes"] == {
        "display_name": ["Erin Example", "Erin E."],
        "role": ["inspector", "crew"],
    }
    erin = await user_named("erin")
    everything = json.dumps(await AuditEvent.select(), default=str)
    assert "erin's long password" not in everything
    assert erin.password_hash not in everything
    assert "argon2" not in everything
    assert "password_hash" not in everything


async def test_only_admins_reach_user_admin_even_with_an_invalid_form(login, personas):
    alice = await login("alice")
    dave = await user_named("dave")

    edit = await post_form(alice, f"/admin/users/{dave.id}", {"display_name": ""})
    create = await post_form(alice, "/admin/users", {"username": ""})

    assert edit.status_code == 403
    assert "dave@bureau.example" not in edit.text
    assert create.status_code == 403
    assert (await user_named("dave")).version == 1


async def test_concurrent_edits_of_one_user_let_exactly_one_win(personas, now):
    dave = await user_named("dave")
    names = ["First", "Second", "Third", "Fourth"]

    def edit(name: str) -> UserUpdate:
        return UserUpdate(display_name=name, role="viewer", is_active=True, version=dave.version)

    results = await asyncio.gather(
        *(accounts.update_user(SYSTEM, dave.id, edit(name), now) for name in names),
        return_exceptions=True,
    )

    saved = [r for r in results if isinstance(r, StaffUser)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(saved) == 1 and len(conflicts) == len(names) - 1, results
    dave = await user_named("dave")
    assert (dave.display_name, dave.version) == (saved[0].display_name, 2)
    assert len(await audit_events("user.updated", dave.id)) == 1


async def test_an_admin_edit_never_undoes_a_concurrent_password_change(personas, now):
    """The edit writes only the fields of the form: a password set meanwhile stays."""
    dave = await user_named("dave")
    form = UserUpdate(display_name="Dave", role="crew", is_active=True, version=dave.version)

    await asyncio.gather(
        accounts.update_user(SYSTEM, dave.id, form, now),
        accounts.set_password(SYSTEM, dave.id, NEW_PASSWORD, now),
    )

    dave = await user_named("dave")
    assert dave.role == "crew"
    assert accounts.verify_password(dave.password_hash, NEW_PASSWORD)


async def test_creating_the_same_user_name_at_once_is_a_validation_error(personas, now):
    form = UserCreate(username="twin", display_name="Twin", password=NEW_PASSWORD)

    results = await asyncio.gather(
        *(accounts.create_user(SYSTEM, form, now) for _ in range(4)), return_exceptions=True
    )

    created = [r for r in results if isinstance(r, StaffUser)]
    refused = [r for r in results if isinstance(r, ValidationFailed)]
    assert len(created) == 1 and len(refused) == 3, results
    assert all(set(error.errors) == {"username"} for error in refused)
    assert await StaffUser.count().where(StaffUser.username == "twin") == 1
    assert len(await audit_events("user.created", created[0].id)) == 1


async def test_admin_password_reset_ends_sessions_and_is_audited_without_the_hash(
    login, personas, now
):
    dave_client = await login("dave")
    dave = await user_named("dave")

    await accounts.set_password(SYSTEM, dave.id, NEW_PASSWORD, now)

    assert not await is_staff(dave_client)
    (event,) = await audit_events("user.password_reset", dave.id)
    dave = await user_named("dave")
    assert dave.password_hash not in json.dumps(event, default=str)
    assert accounts.verify_password(dave.password_hash, NEW_PASSWORD)


# --- password change -------------------------------------------------------------------------


def password_form(current: str = PASSWORD, new: str = NEW_PASSWORD, confirm: str | None = None):
    return {
        "current_password": current,
        "new_password": new,
        "confirm_password": new if confirm is None else confirm,
    }


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (password_form(current="not my password"), "current_password", "当前密码不正确。"),
        (
            password_form(confirm="something else entirely"),
            "confirm_password",
            "两次输入的新密码不一致。",
        ),
        (password_form(new="short"), "new_password", "请至少输入 10 个字符。"),
    ],
    ids=["wrong-current", "mismatch", "too-short"],
)
async def test_password_change_is_refused(app, login, personas, form, field, message):
    alice = await login("alice")
    before = (await user_named("alice")).password_hash

    response = await post_form(alice, "/account/password", form)

    assert response.status_code == 400
    assert f'id="{field}-error">{message}</p>' in response.text
    assert (await user_named("alice")).password_hash == before
    assert await Notification.count() == 0
    assert await is_staff(alice)


async def test_password_change_logs_out_other_sessions_and_notifies(
    app, login, personas: dict[str, Actor]
):
    alice = await login("alice")
    alice_on_phone = await login("alice")
    bob = await login("bob")

    response = await post_form(alice, "/account/password", password_form())

    assert response.status_code == 303
    assert response.headers["location"] == "/staff"  # back to her home
    assert await is_staff(alice)  # the session that made the change survives
    assert not await is_staff(alice_on_phone)
    assert await is_staff(bob)
    async with client_for_app(app) as fresh:
        assert (await attempt_login(fresh, "alice", PASSWORD)).status_code == 400
        assert (await attempt_login(fresh, "alice", NEW_PASSWORD)).status_code == 303

    (message,) = await Notification.select().where(Notification.template == "password_changed")
    assert message["to_address"] == "alice@bureau.example"
    assert message["status"] == "pending"
    everything = json.dumps(
        [message, *(await AuditEvent.select())], default=str, ensure_ascii=False
    )
    assert NEW_PASSWORD not in everything
    assert PASSWORD not in everything
    assert await audit_events("user.password_changed", personas["alice"].id)


async def test_password_form_needs_a_login(anon):
    response = await anon.get("/account/password")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account/password"
    token = await csrf_token(anon)
    posted = await anon.post("/account/password", data={**password_form(), "_csrf_token": token})
    assert posted.status_code == 303
    assert posted.headers["location"].startswith("/login?next=")
