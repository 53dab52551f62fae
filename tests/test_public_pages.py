"""The citizen's pages: the home page, a closure notice, a facility and a site, in Chinese (the
default) and English; the wording of the promised reopening, revised promises, repair progress
drawn from the linked tickets, and the public timeline.

The ``story`` fixture (tests/kit/public_story.py; also used by the feed, subscription, leak and
browser tests) loads the landmark case through the real services: the 76.6 m Pinghu Park
suspension bridge, closed since March 2027 for its rotten timber deck and rusted cables, first
promised to reopen before 15 April, then before 1 May. Its repair tickets carry internal facts
(titles, costs, contractor contacts, internal comments, staff names, a reporter's e-mail) that
must never reach a public page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel.messages.pofile import read_po

from facilities import i18n
from facilities.accounts.choices import Role
from facilities.closures import services as closures
from facilities.closures.choices import Precision
from facilities.closures.schemas import ClosureIn, NoticeIn
from facilities.tickets.choices import Action
from tests.kit.assets import make_asset, make_site
from tests.kit.public_story import (
    CLOSED_AT,
    READ_AT,
    SECRETS,
    UTC,
    make_staff,
    move_ticket,
    pin_clock,
)


def translated(message: str) -> bool:
    """Whether the Chinese catalog translates ``message`` (the catalog is kept by others)."""
    path = i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    found = catalog.get(message)
    return bool(found and found.string)


async def english(client: Any, url: str) -> Any:
    return await client.get(url, cookies={"lang": "en"})


# --- the notice page -------------------------------------------------------------------------


async def test_notice_page_in_english_tells_the_whole_story(anon, story):
    page = await english(anon, f"/notices/{story.closure.id}")
    assert page.status_code == 200
    text = page.text
    assert 'lang="en"' in text
    assert "Pinghu Park Landscape Suspension Bridge" in text
    # the facility facts
    assert "76.6 m" in text
    assert "2007" in text
    assert "Suspension footbridge" in text
    assert "Timber" in text
    # the reason, the safety measures and the detour
    assert "Weather rotted the timber deck planks" in text
    assert "Filter nets on the water" in text
    assert "Fencing around the site" in text
    assert "Walk round the lake by the path from the north gate." in text
    # the promise in force, and the one it replaced, with the reason for the change
    assert "Expected to reopen before 1 May" in text
    assert "Revised on" in text
    assert "it was: Expected to reopen before 15 April" in text
    assert "The rust on the main cables is more extensive than expected." in text
    # the progress of the linked repair work, under its public labels
    assert "New timber deck" in text
    assert "In progress" in text
    assert "Cable de-rusting and greasing" in text
    # the timeline: published updates only, newest first
    nets = text.index("Two layers of filter nets on the lake")
    extension = text.index("Reopening now expected before 1 May")
    assert extension < nets
    assert SECRETS["draft notice"] not in text
    # the feeds, linked and announced
    assert f'href="/feeds/facilities/{story.bridge.id}.atom?lang=en"' in text
    assert 'rel="alternate" type="application/atom+xml"' in text
    assert 'href="/feeds/closures.ics?lang=en"' in text
    assert 'href="/feeds/closures.geojson"' in text
    assert f'href="/feeds/cap/{story.closure.id}.xml"' in text


async def test_notice_page_is_in_chinese_by_default(anon, story):
    page = await anon.get(f"/notices/{story.closure.id}")
    assert page.status_code == 200
    assert 'lang="zh-CN"' in page.text
    assert "平湖公园景观悬索桥" in page.text
    assert "木质桥面板受风雨侵蚀腐朽" in page.text
    assert "请经公园北门环湖步道绕行。" in page.text
    assert "更换木质桥面板" in page.text
    assert "湖面已布设两层滤网" in page.text
    # the promised date in Chinese, without the year of the closure itself
    assert "5月1日" in page.text
    assert "4月15日" in page.text
    assert "Pinghu Park Landscape Suspension Bridge" not in page.text


async def test_expected_reopening_wording_in_chinese(anon, story):
    page = await anon.get(f"/notices/{story.closure.id}")
    assert "预计5月1日前重新开放" in page.text


async def test_reopening_wording_before_and_exact_with_the_year_when_it_differs(app):
    from facilities.public import wording

    since = dt.datetime(2026, 3, 2, tzinfo=UTC)
    with i18n.use_locale("en"):
        before = wording.expected_text(dt.date(2026, 5, 1), Precision.BEFORE, since)
        exact = wording.expected_text(dt.date(2026, 5, 10), Precision.EXACT, since)
        next_year = wording.expected_text(dt.date(2027, 5, 1), Precision.BEFORE, since)
        unknown = wording.expected_text(None, Precision.BEFORE, since)
    assert before == "Expected to reopen before 1 May"
    assert exact == "Expected to reopen on 10 May"
    assert next_year == "Expected to reopen before 1 May 2027"
    assert unknown == "No reopening date has been set yet"
    with i18n.use_locale("zh_CN"):
        assert i18n.day_text(dt.date(2026, 5, 1), 2026) == "5月1日"
        assert i18n.day_text(dt.date(2027, 5, 1), 2026) == "2027年5月1日"


async def test_progress_follows_the_linked_tickets(anon, story):
    page = await english(anon, f"/notices/{story.closure.id}")
    assert 'Cable de-rusting and greasing</span> <span class="badge progress-planned">' in (
        page.text
    )
    # the crew finishes the deck: the notice says so, without anybody writing it
    later = READ_AT + dt.timedelta(hours=1)
    await move_ticket(story.carol, story.deck_ticket, Action.COMPLETE, later, note="done")
    page = await english(anon, f"/notices/{story.closure.id}")
    assert "Work complete, awaiting acceptance" in page.text
    # a cancelled ticket is no longer shown as work the reopening waits for
    await move_ticket(
        story.alice, story.cable_ticket, Action.CANCEL, later + dt.timedelta(hours=1), note="merged"
    )
    page = await english(anon, f"/notices/{story.closure.id}")
    assert "Cable de-rusting and greasing" not in page.text


async def test_unknown_and_cancelled_notices_are_not_found(anon, story):
    assert (await anon.get("/notices/999999")).status_code == 404
    assert (await anon.get("/notices/99999999999")).status_code == 404
    from facilities.closures.schemas import CancelIn

    current = await closures.find_closure(story.planned.id)
    await closures.cancel(
        story.alice,
        story.planned.id,
        CancelIn(version=current.version, reason_zh="取消"),
        READ_AT,
    )
    assert (await anon.get(f"/notices/{story.planned.id}")).status_code == 404


# --- the home page ---------------------------------------------------------------------------


async def test_home_lists_closed_planned_and_reopened_and_the_register(anon, story):
    page = await english(anon, "/")
    assert page.status_code == 200
    text = page.text
    closed = text.index("Closed now")
    planned = text.index("Planned closures")
    reopened = text.index("Reopened in the last 30 days")
    register = text.index("All facilities")
    assert closed < planned < reopened < register
    assert f'href="/notices/{story.closure.id}"' in text[closed:planned]
    assert "Expected to reopen before 1 May" in text[closed:planned]
    assert f'href="/notices/{story.planned.id}"' in text[planned:reopened]
    assert "Expected to reopen on 10 May" in text[planned:reopened]
    assert f'href="/notices/{story.reopened.id}"' in text[reopened:register]
    assert "Reopened" in text[reopened:register]
    # the register: by site, each facility with its status derived from the closures
    tail = text[register:]
    assert "Pinghu Park" in tail and "Yanmingxi Plaza" in tail
    bridge = tail.index("Pinghu Park Landscape Suspension Bridge")
    assert "status-closed" in tail[bridge : bridge + 300]
    boardwalk = tail.index("Pinghu Lakeside Boardwalk")
    assert "status-in_service" in tail[boardwalk : boardwalk + 300]
    # every feed, and the subscription form
    assert 'href="/feeds/notices.atom?lang=en"' in text
    assert 'type="application/atom+xml"' in text
    assert 'action="/subscriptions"' in text
    assert 'name="website"' in text


async def test_home_in_chinese_and_reopened_list_ends_after_30_days(anon, story, clock):
    page = await anon.get("/")
    assert 'lang="zh-CN"' in page.text
    assert "平湖公园景观悬索桥" in page.text
    assert f'href="/notices/{story.reopened.id}"' in page.text
    # 31 days after the fountain reopened, it leaves the list (no write needed)
    pin_clock(clock, READ_AT + dt.timedelta(days=24))
    later = await anon.get("/")
    assert later.status_code == 200
    assert f'href="/notices/{story.reopened.id}"' not in later.text
    # ... and the planned closure has started by then: it is listed as closed now
    assert f'href="/notices/{story.planned.id}"' in later.text


async def test_home_lists_only_the_first_closures_and_links_the_rest(anon, app, monkeypatch, clock):
    alice = await make_staff("alice", Role.SUPERVISOR, "Alice", "alice@bureau.example")
    site = await make_site("大公园", name_en="Big Park")
    from facilities.public import controllers, notices

    monkeypatch.setattr(controllers, "HOME_LIMIT", 3)
    monkeypatch.setattr(notices, "PER_PAGE", 2)
    for index in range(5):
        asset = await make_asset(site, name_zh=f"桥{index}", name_en=f"Bridge {index}")
        await closures.create_closure(
            alice,
            ClosureIn(asset_id=asset.id, reason_zh="维修", effective_from=CLOSED_AT),
            CLOSED_AT,
        )
    pin_clock(clock, READ_AT)
    home = await english(anon, "/")
    assert home.text.count('class="closure-card"') == 3
    assert "See all 5 closures" in home.text
    second = await english(anon, "/notices?page=3")
    assert second.status_code == 200
    assert second.text.count('class="closure-card"') == 1
    assert "Page 3 of 3" in second.text


# --- the facility and site pages -------------------------------------------------------------


async def test_facility_page(anon, story):
    page = await english(anon, f"/facilities/{story.bridge.id}")
    assert page.status_code == 200
    assert "Pinghu Park Landscape Suspension Bridge" in page.text
    assert "status-closed" in page.text
    assert f'href="/notices/{story.closure.id}"' in page.text
    assert "76.6 m" in page.text
    assert f'value="asset:{story.bridge.id}"' in page.text
    assert f'href="/feeds/facilities/{story.bridge.id}.atom?lang=en"' in page.text
    open_one = await english(anon, f"/facilities/{story.boardwalk.id}")
    assert "status-in_service" in open_one.text
    assert f'href="/notices/{story.planned.id}"' in open_one.text  # planned, still shown
    assert (await anon.get("/facilities/999999")).status_code == 404


async def test_site_page(anon, story):
    page = await english(anon, f"/notices/sites/{story.site.id}")
    assert page.status_code == 200
    assert "Pinghu Park" in page.text
    assert f'href="/facilities/{story.bridge.id}"' in page.text
    assert f'href="/facilities/{story.boardwalk.id}"' in page.text
    assert f'href="/feeds/sites/{story.site.id}.atom?lang=en"' in page.text
    assert f'value="site:{story.site.id}"' in page.text
    assert (await anon.get("/notices/sites/999999")).status_code == 404


async def test_language_switch_returns_to_the_notice(anon, story):
    switched = await anon.get(
        "/language", params={"lang": "en", "next": f"/notices/{story.closure.id}"}
    )
    assert switched.status_code == 303
    page = await anon.get(switched.headers["location"])
    assert 'lang="en"' in page.text
    assert "Expected to reopen before 1 May" in page.text


# --- conditional GET on the pages ------------------------------------------------------------


async def test_pages_revalidate_and_change_with_the_data(anon, story, monkeypatch):
    url = f"/notices/{story.closure.id}"
    first = await english(anon, url)
    etag = first.headers["etag"]
    assert first.headers["last-modified"]
    assert "Cookie" in first.headers["vary"]
    again = await anon.get(url, headers={"If-None-Match": etag}, cookies={"lang": "en"})
    assert again.status_code == 304
    assert again.content == b""
    # another language is another representation
    chinese = await anon.get(url, headers={"If-None-Match": etag})
    assert chinese.status_code == 200
    # a published update changes the page
    await closures.write_update(
        story.alice,
        story.closure.id,
        NoticeIn(text_zh="新桥面板已铺设一半。", text_en="Half of the new deck is laid."),
        READ_AT,
    )
    changed = await anon.get(url, headers={"If-None-Match": etag}, cookies={"lang": "en"})
    assert changed.status_code == 200
    assert "Half of the new deck is laid." in changed.text
    assert changed.headers["etag"] != etag


async def test_a_new_version_drops_the_bodies_cached_for_the_old_one(anon, app, story):
    """Bodies are cached under an ETag that includes the version: after a change none of them
    can be served again, so they go at once instead of filling the budget."""
    pages = ("/", "/notices", f"/notices/{story.closure.id}")
    for url in pages:
        assert (await english(anon, url)).status_code == 200
    cache = app.state.public_cache
    before = set(cache._bodies)
    assert len(before) == len(pages)
    await closures.write_update(
        story.alice,
        story.closure.id,
        NoticeIn(text_zh="主缆除锈完成。", text_en="Cable rust removal is done."),
        READ_AT,
    )
    changed = await english(anon, f"/notices/{story.closure.id}")
    assert "Cable rust removal is done." in changed.text
    assert set(cache._bodies).isdisjoint(before)
    assert len(cache._bodies) == 1
    assert cache._bytes == len(next(iter(cache._bodies.values())).body)


async def test_a_waiting_message_is_shown_once_on_a_public_page(anon, story):
    from facilities.web.responses import FLASH_COOKIE, _encode

    message = _encode([{"level": "info", "message": "Hello reader"}])
    page = await anon.get(f"/notices/{story.closure.id}", cookies={FLASH_COOKIE: message})
    assert "Hello reader" in page.text
    assert "no-store" in page.headers["cache-control"]
    cleared = [c for c in page.headers.get_list("set-cookie") if c.startswith(f"{FLASH_COOKIE}=")]
    assert cleared and "Max-Age=0" in cleared[0]
    again = await anon.get(f"/notices/{story.closure.id}")
    assert "Hello reader" not in again.text
