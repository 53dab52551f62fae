"""A public text written only in Chinese: staff are warned on the closure page and its forms,
and the English notice shows the Chinese text marked lang="zh-Hans", with a short note."""

from __future__ import annotations

import re

from facilities.closures import services as closures
from facilities.closures.schemas import NoticeIn
from tests.kit.closures import link, make_closure
from tests.kit.pages import Page
from tests.kit.tickets import make_ticket

WARNING_EN = "No English version yet"
WARNING_ZH = "尚无英文版本"
NOTE_EN = "(shown in Chinese: no English version yet)"


def _warning(html: str) -> str:
    """The text of the staff warning block ('' when there is none)."""
    found = re.search(r'<div class="flash flash-warning missing-english".*?</div>', html, re.S)
    return Page(found.group(0)).text if found else ""


async def _half_translated(alice, now):
    return await make_closure(
        alice,
        now=now,
        reason_en="",
        detour_zh="沿湖东侧木栈道绕行至西门",
        detour_en="",
        hours_zh="",
        hours_en="",
    )


async def test_the_closure_page_and_its_form_list_the_texts_without_english(login, personas, now):
    alice = personas["alice"]
    closure = await _half_translated(alice, now)
    ticket = await make_ticket(alice, asset_id=closure.asset)
    await link(alice, closure, ticket)  # the kit gives the label an English half
    await closures.write_update(
        alice, closure.id, NoticeIn(text_zh="已完成桥面拆除", text_en="", publish=True), now
    )
    client = await login("alice")

    warning = _warning((await client.get(f"/closures/{closure.id}")).text)
    assert WARNING_ZH in warning
    assert "面向市民的原因（英文）" in warning
    english = _warning((await client.get(f"/closures/{closure.id}", cookies={"lang": "en"})).text)
    assert WARNING_EN in english
    assert "Reason for citizens (English)" in english
    assert "Detour (English)" in english
    assert "Update (English), update #" in english
    assert "Opening hours (English)" not in english  # neither half written: nothing to warn
    assert "Label citizens read (English)" not in english  # written in both

    form = _warning((await client.get(f"/closures/{closure.id}/edit", cookies={"lang": "en"})).text)
    assert "Reason for citizens (English)" in form and "Detour (English)" in form


async def test_a_closure_written_in_both_languages_has_no_warning(login, personas, now):
    closure = await make_closure(personas["alice"], now=now)
    client = await login("alice")
    assert (
        _warning((await client.get(f"/closures/{closure.id}", cookies={"lang": "en"})).text) == ""
    )
    assert (
        _warning((await client.get(f"/closures/{closure.id}/edit", cookies={"lang": "en"})).text)
        == ""
    )


async def test_the_english_notice_marks_the_chinese_text_and_says_so(anon, personas, now):
    closure = await _half_translated(personas["alice"], now)
    english = (await anon.get(f"/notices/{closure.id}", cookies={"lang": "en"})).text
    assert re.search(r'<p class="prose" lang="zh-Hans">桥面木板腐朽', english)
    assert re.search(r'<p class="prose" lang="zh-Hans">沿湖东侧木栈道', english)
    assert english.count(NOTE_EN) == 2
    chinese = (await anon.get(f"/notices/{closure.id}", cookies={"lang": "zh_CN"})).text
    assert 'lang="zh-Hans"' not in chinese
    assert "暂无英文版本" not in chinese
    both = await make_closure(personas["alice"], now=now)
    english = (await anon.get(f"/notices/{both.id}", cookies={"lang": "en"})).text
    assert NOTE_EN not in english and 'lang="zh-Hans"' not in english
