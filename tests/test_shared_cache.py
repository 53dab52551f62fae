"""Public pages and feeds a shared cache (nginx, a CDN) may serve: every anonymous reader gets
the same bytes, with ``Cache-Control: public`` and ``Vary: Accept-Language``; a member of staff
never gets a page a shared cache may keep; forms on the shared pages get their CSRF token from
the reader's cookie or ``/form-token``, and without JavaScript from the form shown once more
(issue 20, item 2). The browser half is in tests/test_public_forms_browser.py."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from facilities.closures import services as closures
from facilities.closures.schemas import NoticeIn
from facilities.closures.tables import Subscription
from facilities.web.public_cache import cache_of_app
from facilities.web.responses import FLASH_COOKIE, _encode
from tests.kit.clients import client_for_app, log_in
from tests.kit.public_story import Story
from tests.kit.routes import app_routes

SHARED = "public, max-age=30, stale-while-revalidate=60"
TOKEN_INPUT = re.compile(r'name="_csrf_token" value="([^"]*)"')


def shared_urls(story: Story) -> dict[str, str]:
    """A URL for every route marked as shared (``facilities.web.csrf.SHARED``), by its path."""
    closure, bridge, site = story.closure.id, story.bridge.id, story.site.id
    return {
        "/": "/",
        "/notices": "/notices?page=1",
        "/notices/{closure_id:int}": f"/notices/{closure}",
        "/notices/{closure_id:int}/notice.pdf": f"/notices/{closure}/notice.pdf",
        "/facilities/{asset_id:int}": f"/facilities/{bridge}",
        "/notices/sites/{site_id:int}": f"/notices/sites/{site}",
        "/feeds/notices.atom": "/feeds/notices.atom",
        "/feeds/sites/{name:str}": f"/feeds/sites/{site}.atom?lang=en",
        "/feeds/facilities/{name:str}": f"/feeds/facilities/{bridge}.atom",
        "/feeds/closures.ics": "/feeds/closures.ics",
        "/feeds/closures.geojson": "/feeds/closures.geojson",
        "/feeds/closures.wzdx.geojson": "/feeds/closures.wzdx.geojson",
        "/feeds/cap/{name:str}": f"/feeds/cap/{closure}.xml",
        "/feeds/basemap.geojson": "/feeds/basemap.geojson",
    }


def shared_routes(app: Any) -> set[str]:
    return {
        key.split(" ", 1)[1]
        for key, handler in app_routes(app).items()
        if handler.opt.get("exclude_from_csrf") and key.startswith("GET ")
    }


async def test_every_shared_route_is_checked_here(app, story):
    """A new public page or feed marked shared is one this module must read (below)."""
    assert shared_routes(app) == set(shared_urls(story))


@pytest.mark.parametrize("language", ["zh-CN,zh;q=0.9", "en-GB,en;q=0.8"])
async def test_two_anonymous_readers_get_the_same_bytes_and_a_shared_cache_may_keep_them(
    app, story, language
):
    headers = {"accept-language": language}
    async with client_for_app(app) as first, client_for_app(app) as second:
        # the second reader already holds a CSRF cookie (from a form page): it changes nothing
        await second.get("/subscriptions")
        assert second.cookies.get("csrftoken")
        for path, url in shared_urls(story).items():
            one = await first.get(url, headers=headers)
            two = await second.get(url, headers=headers)
            assert one.status_code == two.status_code == 200, (url, one.status_code)
            assert one.content == two.content, url
            assert "set-cookie" not in one.headers and "set-cookie" not in two.headers, url
            assert one.headers["cache-control"] == SHARED, url
            assert one.headers["etag"] == two.headers["etag"], url
            if one.headers["content-type"].startswith("text/html"):
                assert TOKEN_INPUT.findall(one.text) in ([], [""]), url
                assert one.headers["vary"] == "Accept-Language", url
            assert "cookie" not in one.headers.get("vary", "").lower(), url
            again = await first.get(url, headers={**headers, "if-none-match": one.headers["etag"]})
            assert again.status_code == 304, url
            assert again.headers["cache-control"] == SHARED, path


async def test_the_readers_language_changes_the_bytes_and_the_etag(anon, story):
    url = f"/notices/{story.closure.id}"
    zh = await anon.get(url, headers={"accept-language": "zh-CN"})
    en = await anon.get(url, headers={"accept-language": "en"})
    assert zh.headers["etag"] != en.headers["etag"]
    assert '<html lang="zh-CN">' in zh.text and '<html lang="en">' in en.text


async def test_a_language_chosen_by_cookie_is_never_shared(anon, story):
    """A cache keyed on headers cannot see the ``lang`` cookie: such a reader's page is private
    (and revalidated, so a switch of language shows at once)."""
    url = f"/notices/{story.closure.id}"
    switched = await anon.get(f"/language?lang=en&next={url}")
    assert switched.status_code == 303
    assert switched.headers["clear-site-data"] == '"cache"'
    page = await anon.get(url, headers={"accept-language": "zh-CN"})
    assert '<html lang="en">' in page.text
    assert page.headers["cache-control"] == "private, no-cache"
    assert page.headers["vary"] == "Cookie, Accept-Language"
    feed = await anon.get("/feeds/closures.ics?lang=zh_CN")  # the address chose: shared again
    assert feed.headers["cache-control"] == SHARED


async def test_staff_never_get_a_page_a_shared_cache_may_keep(app, story):
    async with client_for_app(app) as alice:
        await log_in(alice, "alice")
        token = alice.cookies.get("csrftoken")
        welcome = await alice.get(f"/notices/{story.closure.id}")  # with the login's message
        assert welcome.headers["cache-control"] == "private, no-store"
        page = await alice.get(f"/notices/{story.closure.id}")
        assert page.headers["cache-control"] == "private, no-store"
        assert "Accept-Language" in page.headers["vary"] and "Cookie" in page.headers["vary"]
        assert TOKEN_INPUT.findall(page.text) == [token]  # staff forms carry the real token
        for staff_only in ("/tickets", "/assets", "/", "/api/v1/tickets"):
            answer = await alice.get(staff_only)
            assert "no-store" in answer.headers["cache-control"], staff_only
            assert "public" not in answer.headers["cache-control"], staff_only
        # what a member of staff was shown is not what anonymous readers get
        async with client_for_app(app) as reader:
            anonymous = await reader.get(f"/notices/{story.closure.id}")
            assert anonymous.headers["etag"] != page.headers["etag"]


async def test_routes_that_say_nothing_are_never_shared(app, anon, story):
    """Form pages, errors, the API and redirects are private unless a handler said otherwise:
    for staff never stored; for anyone else revalidated (the browser keeps a form page, so going
    back shows the same one-time submission key); static files follow the browser's own rules."""
    for url in ("/subscriptions", "/report", "/login", "/notices/999999", "/api/v1/tickets"):
        answer = await anon.get(url)
        assert answer.headers["cache-control"] == "private, no-cache", url
    static = await anon.get("/static/js/forms.js")
    assert static.status_code == 200 and "cache-control" not in static.headers
    async with client_for_app(app) as alice:
        await log_in(alice, "alice")
        for url in ("/report", "/notices/999999", "/tickets/new", "/api/v1/tickets"):
            answer = await alice.get(url)
            assert answer.headers["cache-control"] == "private, no-store", url


async def test_the_form_token_is_the_readers_cookie_and_never_kept(anon):
    first = await anon.get("/form-token")
    token = first.json()["token"]
    assert first.headers["cache-control"] == "private, no-store"
    assert anon.cookies.get("csrftoken") == token
    again = await anon.get("/form-token")
    assert again.json()["token"] == token and "set-cookie" not in again.headers


async def test_a_form_sent_from_a_shared_page_without_a_token_is_shown_once_more(anon, story):
    """No JavaScript: the form on a shared page has no token. The POST does nothing yet and
    shows the form again, filled in, with a token (and its cookie); sending that subscribes."""
    page = await anon.get(f"/notices/{story.closure.id}")
    assert TOKEN_INPUT.findall(page.text) == [""]
    target = f"asset:{story.bridge.id}"
    form = {"_csrf_token": "", "email": "reader@example.com", "target": target, "website": ""}
    asked = await anon.post("/subscriptions", data=form)
    assert asked.status_code == 200
    assert await Subscription.count().where(Subscription.email == "reader@example.com") == 0
    token = anon.cookies.get("csrftoken")
    assert token and TOKEN_INPUT.findall(asked.text) == [token]
    assert 'value="reader@example.com"' in asked.text
    assert f'value="{target}" checked' in asked.text
    assert asked.headers["cache-control"].startswith("private, ")
    sent = await anon.post("/subscriptions", data={**form, "_csrf_token": token})
    assert sent.status_code == 303 and sent.headers["location"] == "/subscriptions/requested"
    assert await Subscription.count().where(Subscription.email == "reader@example.com") == 1


async def test_a_forged_or_foreign_token_is_never_accepted(app, anon, story):
    """The handler's own check is the middleware's: a token must be signed and match the
    reader's cookie."""
    form = {"email": "forged@example.com", "target": "all", "website": ""}
    await anon.get("/form-token")
    mine = anon.cookies.get("csrftoken")
    async with client_for_app(app) as other:
        theirs = (await other.get("/form-token")).json()["token"]
    for token in (theirs, "x" * 128, mine[:64] + "0" * 64, mine[:-1]):
        answer = await anon.post("/subscriptions", data={**form, "_csrf_token": token})
        assert answer.status_code == 200, token
    assert await Subscription.count().where(Subscription.email == "forged@example.com") == 0


# --- revalidation before the rest of the middleware (web/conditional.py: answer_early) -------


async def test_an_anonymous_revalidation_is_answered_early_with_the_same_headers(app, anon, story):
    url = f"/notices/{story.closure.id}"
    first = await anon.get(url)
    remembered = cache_of_app(app).revalidation((url, b"", "zh_CN"))
    assert remembered is not None and remembered.etag == first.headers["etag"]
    again = await anon.get(url, headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    for name in ("etag", "cache-control", "vary", "last-modified"):
        assert again.headers[name] == first.headers[name], name
    # the envelope still frames it: security headers and a request id
    assert "content-security-policy" in again.headers and again.headers["x-request-id"]
    assert (await anon.get(url, headers={"if-none-match": '"other"'})).status_code == 200


async def test_a_change_ends_the_early_answer(app, anon, story, clock):
    url = f"/notices/{story.closure.id}"
    first = await anon.get(url)
    await closures.write_update(
        story.alice,
        story.closure.id,
        NoticeIn(text_zh="新的进展。"),
        clock() + dt.timedelta(minutes=1),
    )
    changed = await anon.get(url, headers={"if-none-match": first.headers["etag"]})
    assert changed.status_code == 200 and "新的进展。" in changed.text
    assert changed.headers["etag"] != first.headers["etag"]


async def test_readers_with_an_answer_of_their_own_are_never_answered_early(app, anon, story):
    """Staff, a language chosen by cookie, a waiting message, a token: the long way, which
    knows them."""
    url = f"/notices/{story.closure.id}"
    etag = (await anon.get(url)).headers["etag"]
    asked = {"if-none-match": etag}
    async with client_for_app(app) as alice:
        await log_in(alice, "alice")
        staff = await alice.get(url, headers=asked)
        assert staff.status_code == 200 and staff.headers["cache-control"] == "private, no-store"
    chosen = await anon.get(url, headers=asked, cookies={"lang": "zh_CN"})
    assert chosen.status_code == 304 and chosen.headers["cache-control"] == "private, no-cache"
    message = _encode([{"level": "info", "message": "Hello reader"}])
    flashed = await anon.get(url, headers=asked, cookies={FLASH_COOKIE: message})
    assert flashed.status_code == 200 and "Hello reader" in flashed.text
    token = await anon.get(url, headers={**asked, "authorization": "Bearer nonsense"})
    assert token.status_code == 401  # the long way, which refuses an unknown token
