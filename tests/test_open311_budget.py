"""The hourly budget of an Open311 key counts only the posts it accepted: a post refused by its
address's limit (or by the budget itself) uses none of it, and parallel posts never overrun it
(one conditional upsert per count). Driven through the app on whichever database the suite runs
on (SQLite, or PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
import pytest

from facilities.accounts.permissions import SYSTEM
from facilities.lib.clock import SettableClock
from facilities.reports import services as reports
from facilities.reports.schemas import KeyCreate
from facilities.reports.tables import ServiceRequest
from tests.kit.reports import NEAR_BOARDWALK, make_boardwalk


@pytest.fixture
async def api_key(app: Any, now: Any) -> str:
    await make_boardwalk()
    return await reports.create_key(SYSTEM, KeyCreate(name="随手拍 app"), now)


def client_from(application: Any, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application, client=(address, 50001)),
        base_url="http://testserver",
        follow_redirects=False,
    )


POSTS = itertools.count()


async def post(client: httpx.AsyncClient, api_key: str) -> int:
    """One post, its own report: the same body again within minutes would be the first one's
    repeat, answered without counting (test_submissions.py)."""
    response = await client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": api_key,
            "service_code": "deck_damage",
            "lat": str(NEAR_BOARDWALK[0]),
            "long": str(NEAR_BOARDWALK[1]),
            "description": f"木板松动 loose plank #{next(POSTS)}",
        },
    )
    assert response.status_code in {201, 429}, response.text
    if response.status_code == 429:
        assert int(response.headers["retry-after"]) > 0
    return response.status_code


async def budget_used(api_key: str, clock: SettableClock) -> int:
    client = await reports.client_for_key(api_key, clock())
    assert client is not None
    return await reports.rate_used(f"open311:key:{client.id}", clock())


async def test_posts_refused_per_address_leave_the_key_budget_untouched(
    app, api_key, clock, monkeypatch
):
    monkeypatch.setattr(reports, "OPEN311_POSTS_PER_IP", 2)
    monkeypatch.setattr(reports, "OPEN311_POSTS_PER_KEY", 4)

    async with client_from(app, "10.0.0.1") as first:
        assert [await post(first, api_key) for _ in range(5)] == [201, 201, 429, 429, 429]
    assert await budget_used(api_key, clock) == 2

    # The three refused posts cost the key nothing: two more go through from elsewhere, and
    # only then is its budget spent (a post the budget refuses does not count either).
    async with client_from(app, "10.0.0.2") as second:
        assert [await post(second, api_key) for _ in range(2)] == [201, 201]
    async with client_from(app, "10.0.0.3") as third:
        assert [await post(third, api_key) for _ in range(2)] == [429, 429]
    assert await budget_used(api_key, clock) == 4
    assert await ServiceRequest.count() == 4


async def test_the_key_budget_holds_exactly_under_parallel_posts(app, api_key, clock, monkeypatch):
    monkeypatch.setattr(reports, "OPEN311_POSTS_PER_KEY", 3)
    async with client_from(app, "10.0.0.1") as client:
        statuses = await asyncio.gather(*(post(client, api_key) for _ in range(20)))

    assert sorted(statuses) == [201] * 3 + [429] * 17
    assert await ServiceRequest.count() == 3
    assert await budget_used(api_key, clock) == 3


async def test_parallel_posts_from_two_addresses_spend_the_budget_on_accepted_posts_only(
    app, api_key, clock, monkeypatch
):
    """Each address may send 4 and the key 6: of 16 parallel posts (8 per address) the
    addresses let 8 through, and the key accepts exactly 6 of those, whatever the interleaving.
    Were the budget counted before the address limits, posts the addresses then refuse could
    spend it, and fewer than 6 be accepted."""
    monkeypatch.setattr(reports, "OPEN311_POSTS_PER_IP", 4)
    monkeypatch.setattr(reports, "OPEN311_POSTS_PER_KEY", 6)
    async with client_from(app, "10.0.0.1") as one, client_from(app, "10.0.0.2") as two:
        statuses = await asyncio.gather(
            *(post(client, api_key) for client in (one, two) for _ in range(8))
        )

    assert statuses.count(201) == 6
    assert await ServiceRequest.count() == 6
    assert await budget_used(api_key, clock) == 6
