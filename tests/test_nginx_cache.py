"""The README's nginx configuration, run as it is printed (Debian's nginx in front of a real
`facilities serve`): anonymous readers are served from the cache, a published update shows
once the max-age has run out, staff and POSTs never come from the cache, and the per-address
rate limits see the client nginx names (issue 20, item 3)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.kit.browser import Server, start_server
from tests.kit.nginx import nginx, require_nginx
from tests.kit.personas import PASSWORD

pytestmark = pytest.mark.nginx

MAX_AGE = 1  # seconds: the server's FACILITIES_PUBLIC_MAX_AGE here, so expiry comes quickly
SUBSCRIBE_LIMIT = 2
#: The story happened a year before the real clock (the server reads the wall clock).
SHIFT = -dt.timedelta(days=365)
UPDATE_ZH = "桥面新木板已铺设完成一半。"


async def seed_story(shift_seconds: float) -> int:
    from tests.kit.public_story import build_story

    story = await build_story(dt.timedelta(seconds=shift_seconds))
    return int(story.closure.id)


async def publish_update(closure_id: int) -> None:
    """A published progress update on the notice, as a member of staff writes one."""
    from facilities.accounts import services as accounts
    from facilities.closures import services as closures
    from facilities.closures.schemas import NoticeIn

    alice = await accounts.find_user_by_username("alice")
    assert alice is not None
    await closures.write_update(
        accounts.actor_of(alice), closure_id, NoticeIn(text_zh=UPDATE_ZH), dt.datetime.now(dt.UTC)
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """The story served by the app behind the README's nginx."""
    require_nginx()
    folder = tmp_path_factory.mktemp("nginx")
    with start_server(
        folder,
        demo=False,
        seed="tests.test_nginx_cache:seed_story",
        shift=SHIFT,
        needs_browser=False,
        extra_env={
            "FACILITIES_PUBLIC_MAX_AGE": str(MAX_AGE),
            "FACILITIES_TRUSTED_PROXIES": "127.0.0.1",
            "FACILITIES_SUBSCRIBE_RATE_LIMIT": str(SUBSCRIBE_LIMIT),
        },
    ) as app:
        app_port = int(app.url.rsplit(":", 1)[1])
        with nginx(folder, app_port) as base:
            yield app, base


def status(response: httpx.Response) -> str:
    return response.headers.get("x-cache-status", "")


def until_not_hit(client: httpx.Client, url: str, seconds: float) -> list[httpx.Response]:
    """GET ``url`` until the cache stops answering from a fresh copy (at most ``seconds``, far
    past the max-age), every response kept: the loop waits on the cache's clock, not on ours."""
    responses = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        responses.append(client.get(url))
        if status(responses[-1]) != "HIT":
            return responses
    pytest.fail(f"{url} still came from the cache after {seconds} s")


def test_a_second_anonymous_reader_is_served_from_the_cache(stack):
    app, base = stack
    url = f"{base}/notices/{app.seeded}"
    with httpx.Client() as first, httpx.Client() as second:
        one = first.get(url)
        two = second.get(url)
    assert one.status_code == two.status_code == 200
    assert status(two) == "HIT", (status(one), status(two))
    assert one.content == two.content
    assert two.headers["cache-control"].startswith("public, max-age=")
    # other languages are kept apart (Vary: Accept-Language)
    with httpx.Client(headers={"accept-language": "en"}) as english:
        en = english.get(url)
        assert '<html lang="en">' in en.text
        assert status(english.get(url)) == "HIT"
    assert '<html lang="zh-CN">' in two.text


def test_a_published_update_shows_once_the_max_age_has_run_out(stack):
    app, base = stack
    url = f"{base}/notices/{app.seeded}"
    with httpx.Client() as reader:
        until_not_hit(reader, url, 10 * MAX_AGE + 5)  # a fresh copy, just fetched
        assert status(reader.get(url)) == "HIT"
        app.call("tests.test_nginx_cache:publish_update", app.seeded)
        kept = reader.get(url)
        if status(kept) == "HIT":  # still fresh: the cache serves what it has
            assert UPDATE_ZH not in kept.text
        # once the copy has outlived its max-age, the next reader gets the update
        refreshed = until_not_hit(reader, url, 10 * MAX_AGE + 5)[-1]
        assert status(refreshed) in {"EXPIRED", "REVALIDATED", "MISS"}, status(refreshed)
        assert UPDATE_ZH in refreshed.text
        assert status(reader.get(url)) == "HIT"


def test_staff_and_posts_never_come_from_the_cache(stack):
    app, base = stack
    url = f"{base}/notices/{app.seeded}"
    with httpx.Client() as reader:
        reader.get(url)
        assert status(reader.get(url)) == "HIT"
    with httpx.Client(base_url=base) as alice:
        login = alice.get("/login")
        assert status(login) == status(alice.get("/login")) == "MISS"  # never kept
        token = alice.cookies["csrftoken"]
        signed_in = alice.post(
            "/login", data={"username": "alice", "password": PASSWORD, "_csrf_token": token}
        )
        assert signed_in.status_code == 303, signed_in.text[:500]
        for _ in range(2):
            page = alice.get(url)
            assert status(page) == "BYPASS"
            assert page.headers["cache-control"] == "private, no-store"
            assert 'href="/assets"' in page.text  # the staff variant
    with httpx.Client() as reader:
        anonymous = reader.get(url)
        assert 'href="/assets"' not in anonymous.text
    with httpx.Client(base_url=base) as poster:
        poster.get("/form-token")
        form = {"email": "post.reader@example.org", "target": "all"}
        form["_csrf_token"] = poster.cookies["csrftoken"]
        sent = [poster.post("/subscriptions", data=form) for _ in range(2)]
        assert [s.status_code for s in sent] == [303, 303]
        assert all(status(s) == "" for s in sent)


def client_from(address: str, base: str) -> httpx.Client:
    """A client whose connections come from ``address`` (any 127.x.y.z is this machine)."""
    return httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address=address))


def subscribe(client: httpx.Client, email: str, **headers: str) -> int:
    client.get("/form-token")
    form = {"email": email, "target": "all", "_csrf_token": client.cookies["csrftoken"]}
    return client.post("/subscriptions", data=form, headers=headers).status_code


def test_rate_limits_see_the_client_behind_the_proxy(stack):
    _app, base = stack
    with client_from("127.0.0.2", base) as first, client_from("127.0.0.3", base) as second:
        codes = [subscribe(first, f"a{n}@example.org") for n in range(SUBSCRIBE_LIMIT)]
        assert codes == [303] * SUBSCRIBE_LIMIT
        assert subscribe(first, "a-over@example.org") == 429
        # a forged X-Forwarded-For is to the left of what nginx adds: it changes nothing
        assert subscribe(first, "a-forged@example.org", **{"x-forwarded-for": "203.0.113.9"}) == 429
        # another client behind the same nginx has a limit of its own
        assert subscribe(second, "b0@example.org") == 303
