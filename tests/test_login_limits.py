"""The login limit under concurrency: of many parallel wrong passwords for one user name from
one address exactly ``login_max_attempts`` are checked against the password (each attempt takes
its place in one atomic step before the check), and the lockout is a sliding window: it ends
``login_window_seconds`` after the attempts, not at a fixed window's boundary. Driven through
the app on whichever database the suite runs on (SQLite, or PostgreSQL with
TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest

from facilities.accounts import services as accounts
from facilities.accounts.tables import Session
from facilities.lib.clock import SettableClock
from facilities.settings import Settings
from tests.kit.clients import csrf_token, post_form
from tests.kit.personas import PASSWORD

PARALLEL = 40


class CountingHasher:
    """The real password hasher, counting the passwords it verifies: a login that reaches the
    password check goes through ``verify`` exactly once."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.verified = 0

    def verify(self, password_hash: str, password: str) -> bool:
        self.verified += 1
        return bool(self.inner.verify(password_hash, password))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", counting)
    return counting


def attempts_at(clock: SettableClock, settings: Settings) -> dt.datetime:
    """Freeze the app's clock 100 s into a fixed window of the login window's length, so a
    fixed window would end (and let the user in) 100 s before a sliding one does."""
    window = settings.login_window_seconds
    start = int(clock().timestamp()) // window * window + 100
    instant = dt.datetime.fromtimestamp(start, dt.UTC)
    clock.set(instant, frozen=True)
    return instant


async def attempt(client: httpx.AsyncClient, password: str) -> httpx.Response:
    return await post_form(client, "/login", {"username": "alice", "password": password})


async def parallel_wrong_logins(client: httpx.AsyncClient, times: int) -> list[int]:
    await csrf_token(client)  # one cookie for all, as a browser (or a script) holds it
    responses = await asyncio.gather(*(attempt(client, "wrong password") for _ in range(times)))
    return [r.status_code for r in responses]


async def test_parallel_wrong_logins_check_exactly_the_limit(
    anon, personas, settings, clock, hasher
):
    attempts_at(clock, settings)
    limit = settings.login_max_attempts
    assert PARALLEL > limit

    statuses = await parallel_wrong_logins(anon, PARALLEL)

    assert sorted(statuses) == [400] * limit + [429] * (PARALLEL - limit)
    assert hasher.verified == limit
    # The right password is refused too now, without being checked.
    refused = await attempt(anon, PASSWORD)
    assert refused.status_code == 429
    assert hasher.verified == limit
    assert await Session.count() == 0


async def test_the_lockout_ends_a_window_after_the_attempts(
    anon, personas, settings, clock, hasher
):
    at = attempts_at(clock, settings)
    window = settings.login_window_seconds
    await parallel_wrong_logins(anon, PARALLEL)

    refused = await attempt(anon, PASSWORD)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == str(window)

    # The fixed window the attempts fell in has ended: still locked out, and the attempts
    # refused meanwhile neither count nor lengthen the lockout.
    clock.set(at + dt.timedelta(seconds=window - 100), frozen=True)
    refused = await attempt(anon, "wrong password")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "100"
    clock.set(at + dt.timedelta(seconds=window - 1), frozen=True)
    refused = await attempt(anon, PASSWORD)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert hasher.verified == settings.login_max_attempts

    clock.set(at + dt.timedelta(seconds=window), frozen=True)
    assert (await attempt(anon, PASSWORD)).status_code == 303
    assert await Session.count() == 1


async def test_attempts_leave_the_window_one_by_one(anon, personas, settings, clock):
    at = attempts_at(clock, settings)
    window = settings.login_window_seconds
    limit = settings.login_max_attempts
    await csrf_token(anon)
    for n in range(limit):  # one wrong password every 10 s
        clock.set(at + dt.timedelta(seconds=10 * n), frozen=True)
        assert (await attempt(anon, "wrong password")).status_code == 400
    assert (await attempt(anon, PASSWORD)).status_code == 429

    # The first attempt leaves the window: one more may be tried, and fails.
    clock.set(at + dt.timedelta(seconds=window), frozen=True)
    assert (await attempt(anon, "wrong password")).status_code == 400
    refused = await attempt(anon, PASSWORD)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "10"  # when the second attempt leaves it
    clock.set(at + dt.timedelta(seconds=window + 10), frozen=True)
    assert (await attempt(anon, PASSWORD)).status_code == 303


async def test_only_failed_logins_count(anon, personas, settings, clock):
    attempts_at(clock, settings)
    limit = settings.login_max_attempts
    await csrf_token(anon)
    for _ in range(limit - 1):
        assert (await attempt(anon, "wrong password")).status_code == 400
    for _ in range(3):  # right passwords use no place
        assert (await attempt(anon, PASSWORD)).status_code == 303
    assert (await attempt(anon, "wrong password")).status_code == 400  # the last place
    assert (await attempt(anon, PASSWORD)).status_code == 429


async def test_parallel_right_passwords_give_their_places_back(anon, personas, settings, clock):
    """A login holds a place only while its password is checked: in a burst of right passwords
    at least ``limit`` pass (more are refused only while all places are held by checks in
    flight), and afterwards every place is free again for the failures."""
    attempts_at(clock, settings)
    limit = settings.login_max_attempts
    await csrf_token(anon)
    responses = await asyncio.gather(*(attempt(anon, PASSWORD) for _ in range(limit + 3)))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {303, 429}
    assert statuses.count(303) >= limit

    for _ in range(limit):
        assert (await attempt(anon, "wrong password")).status_code == 400
    assert (await attempt(anon, PASSWORD)).status_code == 429
