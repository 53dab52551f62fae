"""Honest promises on the public pages (issue 16, item 8): a promised reopening date that has
passed without a reopening says so, on the notice and in the lists, in both languages, from the
first moment of the broken day in the bureau's zone; and a planned closure's repair reads as
planned until the closure starts."""

from __future__ import annotations

import datetime as dt

from facilities.accounts.choices import Role
from facilities.closures import services as closures
from facilities.closures.schemas import LiftIn, LinkTicketIn
from facilities.tickets.choices import Action
from tests.kit.public_story import make_staff, move_ticket, new_ticket

#: The story's bridge was promised to reopen before 1 May 2027: 00:00 on 1 May in Shanghai.
BROKEN = dt.datetime(2027, 4, 30, 16, 0, tzinfo=dt.UTC)
ZH_OVERDUE = "原定5月1日前重新开放，已逾期"
EN_OVERDUE = "Expected to reopen before 1 May; this date has passed."
ZH_PROMISE = "预计5月1日前重新开放"
EN_PROMISE = "Expected to reopen before 1 May"


async def _read(client, url: str, language: str) -> str:
    client.cookies.set("lang", language)
    response = await client.get(url)
    assert response.status_code == 200, url
    return response.text


async def test_a_passed_promise_says_so_on_the_notice_and_the_lists(anon, story, clock):
    notice = f"/notices/{story.closure.id}"
    pages = (notice, "/", "/notices", f"/facilities/{story.bridge.id}")
    # the last moment before the promised day: still a promise (and pages are cached now)
    clock.set(BROKEN - dt.timedelta(seconds=1), frozen=True)
    for url in pages:
        zh = await _read(anon, url, "zh_CN")
        assert ZH_PROMISE in zh and "已逾期" not in zh, url
        en = await _read(anon, url, "en")
        assert EN_PROMISE in en and "this date has passed" not in en, url

    clock.set(BROKEN, frozen=True)  # the clock alone changes the pages
    for url in pages:
        zh = await _read(anon, url, "zh_CN")
        assert ZH_OVERDUE in zh, url
        en = await _read(anon, url, "en")
        assert EN_OVERDUE in en, url
    shown = await _read(anon, notice, "en")  # prominently: the line under the title, marked
    assert (
        f'<p class="expected big overdue"><strong class="tone-bad">{EN_OVERDUE}</strong>' in shown
    )


async def test_an_exact_promise_is_overdue_the_day_after(anon, story, clock):
    """The boardwalk's closure promises to reopen on 10 May exactly."""
    url = f"/notices/{story.planned.id}"
    clock.set(dt.datetime(2027, 5, 10, 15, 59, tzinfo=dt.UTC), frozen=True)  # 23:59 on 10 May
    assert "Expected to reopen on 10 May" in await _read(anon, url, "en")
    assert "已逾期" not in await _read(anon, url, "zh_CN")
    clock.set(dt.datetime(2027, 5, 10, 16, 0, tzinfo=dt.UTC), frozen=True)
    assert "Expected to reopen on 10 May; this date has passed." in await _read(anon, url, "en")
    assert "原定5月10日重新开放，已逾期" in await _read(anon, url, "zh_CN")


async def test_a_reopened_facility_has_no_overdue_promise(anon, story, clock):
    later = BROKEN + dt.timedelta(days=3)
    admin = await make_staff("boss", Role.ADMIN, "Boss", "boss@bureau.example")
    current = await closures.find_closure(story.closure.id)
    await closures.lift(
        admin, story.closure.id, LiftIn(version=current.version, override_reason="验收通过"), later
    )
    clock.set(later, frozen=True)
    for url in (f"/notices/{story.closure.id}", "/", f"/facilities/{story.bridge.id}"):
        assert "已逾期" not in await _read(anon, url, "zh_CN"), url
        assert "this date has passed" not in await _read(anon, url, "en"), url


async def test_a_planned_closures_work_is_planned_until_the_closure_starts(anon, story, clock):
    """The boardwalk's closure starts on 30 April; the crew already began its repair."""
    starts = story.planned.effective_from
    before = starts - dt.timedelta(days=2)
    boards = await new_ticket(
        story.alice, story.boardwalk.id, "更换东段木板", before, assignee_id=story.carol.id
    )
    await move_ticket(story.alice, boards, Action.TRIAGE, before)
    await move_ticket(story.carol, boards, Action.START, before + dt.timedelta(hours=1))
    await closures.link_ticket(
        story.alice,
        story.planned.id,
        LinkTicketIn(ticket_id=boards, public_label_zh="更换木板", public_label_en="New boards"),
        before + dt.timedelta(hours=2),
    )
    url = f"/notices/{story.planned.id}"
    clock.set(before + dt.timedelta(hours=3), frozen=True)
    page = await _read(anon, url, "en")
    assert '<span class="badge progress-planned">Planned</span>' in page
    assert "progress-in_progress" not in page and "In progress" not in page

    assert await closures.activate_due(starts) == 1
    clock.set(starts + dt.timedelta(minutes=1), frozen=True)
    page = await _read(anon, url, "en")
    assert '<span class="badge progress-in_progress">In progress</span>' in page


async def test_the_cap_alert_says_so_too(anon, story, clock):
    """The alert a navigation app or a siren relays must not promise a date already broken."""
    url = f"/feeds/cap/{story.closure.id}.xml"
    clock.set(BROKEN - dt.timedelta(seconds=1), frozen=True)
    before = (await anon.get(url)).content.decode()
    assert EN_PROMISE in before and "this date has passed" not in before
    clock.set(BROKEN, frozen=True)
    after = (await anon.get(url)).content.decode()
    assert EN_OVERDUE in after
    assert ZH_OVERDUE in after


def _unfolded(ics: str) -> str:
    """An iCalendar body with its folded lines joined and its text escapes undone."""
    return ics.replace("\r\n ", "").replace("\\;", ";").replace("\\,", ",").replace("\\n", "\n")


async def test_a_passed_promise_says_so_in_the_calendar_feed(anon, story, clock):
    """Each event is cached by what it shows; whether its promise has passed is part of that."""
    clock.set(BROKEN - dt.timedelta(seconds=1), frozen=True)
    zh = _unfolded(await _read(anon, "/feeds/closures.ics", "zh_CN"))
    assert ZH_PROMISE in zh and "已逾期" not in zh
    en = _unfolded(await _read(anon, "/feeds/closures.ics", "en"))
    assert EN_PROMISE in en and "this date has passed" not in en

    clock.set(BROKEN, frozen=True)
    assert ZH_OVERDUE in _unfolded(await _read(anon, "/feeds/closures.ics", "zh_CN"))
    assert EN_OVERDUE in _unfolded(await _read(anon, "/feeds/closures.ics", "en"))
