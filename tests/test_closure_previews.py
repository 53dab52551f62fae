"""Before a staff form publishes a closure notice (plan, edit, extend), the form shows the public
notice exactly as citizens will read it, in Chinese and in English, rendered by the notice
page's own template; nothing is saved until staff confirm what they previewed."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx

from facilities.closures.tables import Closure, ClosurePromise, NoticeUpdate
from tests.kit.assets import make_asset
from tests.kit.clients import csrf_token
from tests.kit.closures import make_closure


async def post(client: httpx.AsyncClient, url: str, data: dict[str, Any]) -> httpx.Response:
    fields: dict[str, list[str]] = {"_csrf_token": [await csrf_token(client)]}
    for key, value in data.items():
        fields[key] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return await client.post(url, data=fields)


def closure_form(asset_id: int, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "asset_id": asset_id,
        "scope": "full",
        "reason": "repair_works",
        "reason_zh": "桥面木板腐朽，全封闭维修",
        "reason_en": "Closed to renew the rotten deck",
        "effective_from": "2026-11-20T09:00",
        "planned_reopen_on": "2027-05-01",
        "reopen_precision": "before",
        "safety_measures": ["fencing", "nets_over_water"],
    }
    values.update(overrides)
    return values


def previewed(page: httpx.Response) -> str:
    found = re.search(r'name="previewed" value="([0-9a-f]{64})"', page.text)
    assert found, "the preview carries the fingerprint of what it showed"
    return found.group(1)


def expected_line(page: httpx.Response) -> str:
    """The promise sentence of a public notice page (the words citizens read)."""
    found = re.search(r'<p class="expected big">(.*?)</p>', page.text)
    assert found, page.text[:3000]
    return found.group(1)


async def public_notice(
    app_client: httpx.AsyncClient, closure_id: int, lang: str
) -> httpx.Response:
    app_client.cookies.set("lang", lang)
    page = await app_client.get(f"/notices/{closure_id}")
    assert page.status_code == 200
    return page


async def test_planning_a_closure_shows_the_public_notice_in_both_languages_first(login, anon):
    asset = await make_asset(built_year=2007)
    alice = await login("alice")
    blank = await alice.get("/closures/new")
    assert 'name="intent" value="preview"' in blank.text
    assert 'value="publish"' not in blank.text  # nothing to confirm before a preview
    before = await Closure.count()
    form = closure_form(asset.id)
    preview = await post(alice, "/closures", {**form, "intent": "preview"})
    assert preview.status_code == 200, preview.text[:2000]
    assert await Closure.count() == before  # nothing saved, nothing published
    text = preview.text
    for sentence in (
        "预计2027年5月1日前重新开放",
        "Expected to reopen before 1 May 2027",
        "Closed to renew the rotten deck",
        "桥面木板腐朽，全封闭维修",
    ):
        assert sentence in text, sentence
    assert 'value="publish"' in text and 'id="preview-en-why-title"' in text
    done = await post(
        alice, "/closures", {**form, "intent": "publish", "previewed": previewed(preview)}
    )
    assert done.status_code == 303, done.text[:2000]
    closure = await Closure.objects().where(Closure.asset == asset.id).first()
    assert closure is not None
    # The preview said exactly what the public notice now says, in both languages.
    for lang in ("zh_CN", "en"):
        notice = await public_notice(anon, closure.id, lang)
        assert 'id="why-title"' in notice.text  # the notice page renders the same fragment
        assert expected_line(notice) in text


async def test_a_form_changed_after_its_preview_is_previewed_again_not_published(login):
    asset = await make_asset()
    alice = await login("alice")
    form = closure_form(asset.id)
    preview = await post(alice, "/closures", {**form, "intent": "preview"})
    changed = {**form, "planned_reopen_on": "2027-06-01", "intent": "publish"}
    again = await post(alice, "/closures", {**changed, "previewed": previewed(preview)})
    assert again.status_code == 200
    assert "Expected to reopen before 1 June 2027" in again.text or "2027年6月1日前" in again.text
    assert not await Closure.exists().where(Closure.asset == asset.id)
    done = await post(alice, "/closures", {**changed, "previewed": previewed(again)})
    assert done.status_code == 303


async def test_a_preview_refuses_what_saving_would_refuse(login):
    asset = await make_asset(built_year=2007)
    alice = await login("alice")
    alice.cookies.set("lang", "en")
    page = await post(
        alice,
        "/closures",
        {**closure_form(asset.id, planned_reopen_on="9999-12-31"), "intent": "preview"},
    )
    assert page.status_code == 400
    assert "Expected reopening must be on or before" in page.text
    assert 'class="card notice-preview"' not in page.text
    assert not await Closure.exists().where(Closure.asset == asset.id)


async def test_editing_a_closure_previews_the_corrected_notice(login, personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    planned = await make_closure(alice, asset, now, effective_from=now + dt.timedelta(days=30))
    client = await login("alice")
    form = closure_form(
        asset.id,
        effective_from="2026-12-28T10:00",
        planned_reopen_on="2027-04-15",
        reopen_precision="exact",
        version=planned.version,
        reason_en="Deck renewal",
    )
    preview = await post(client, f"/closures/{planned.id}", {**form, "intent": "preview"})
    assert preview.status_code == 200
    assert "Expected to reopen on 15 April 2027" in preview.text
    assert "预计2027年4月15日重新开放" in preview.text
    unchanged = await Closure.objects().get(Closure.id == planned.id)
    assert unchanged is not None and unchanged.planned_reopen_on == dt.date(2027, 5, 1)
    done = await post(
        client,
        f"/closures/{planned.id}",
        {**form, "intent": "publish", "previewed": previewed(preview)},
    )
    assert done.status_code == 303
    saved = await Closure.objects().get(Closure.id == planned.id)
    assert saved is not None and saved.planned_reopen_on == dt.date(2027, 4, 15)


async def test_an_extension_previews_the_new_promise_and_its_timeline_entry(
    login, personas, now, anon
):
    alice = personas["alice"]
    closure = await make_closure(alice, await make_asset(), now)
    client = await login("alice")
    typed = {
        "version": closure.version,
        "planned_reopen_on": "2027-06-01",
        "reopen_precision": "before",
        "reason_zh": "雨季延误",
        "reason_en": "Rainy season",
    }
    preview = await post(client, f"/closures/{closure.id}/extend", {**typed, "intent": "preview"})
    assert preview.status_code == 200, preview.text[:2000]
    for sentence in (
        "Expected to reopen before 1 June 2027",
        "预计2027年6月1日前重新开放",
        "Reopening now expected before 1 June 2027. Reason: Rainy season",
        "雨季延误",
    ):
        assert sentence in preview.text, sentence
    assert await ClosurePromise.count().where(ClosurePromise.closure == closure.id) == 1
    assert not await NoticeUpdate.exists().where(
        (NoticeUpdate.closure == closure.id) & NoticeUpdate.text_en.like("Reopening now%")
    )
    done = await post(
        client,
        f"/closures/{closure.id}/extend",
        {**typed, "intent": "publish", "previewed": previewed(preview)},
    )
    assert done.status_code == 303
    entry = (
        await NoticeUpdate.objects()
        .where((NoticeUpdate.closure == closure.id) & NoticeUpdate.text_en.like("Reopening now%"))
        .first()
    )
    assert entry is not None
    assert entry.text_en in preview.text and entry.text_zh in preview.text
    for lang in ("zh_CN", "en"):
        assert expected_line(await public_notice(anon, closure.id, lang)) in preview.text


async def test_a_public_update_is_previewed_in_both_languages_before_it_is_published(
    login, personas, now, anon
):
    closure = await make_closure(personas["alice"], await make_asset(), now)
    client = await login("alice")
    url = f"/closures/{closure.id}/updates"
    typed = {"text_zh": "桥面铺装完成过半", "text_en": "", "publish": "on"}
    before = await NoticeUpdate.count().where(NoticeUpdate.closure == closure.id)
    preview = await post(client, url, {**typed, "intent": "save"})
    assert preview.status_code == 200, preview.text[:2000]
    assert await NoticeUpdate.count().where(NoticeUpdate.closure == closure.id) == before
    # Without English text, English readers get the Chinese: the preview says so in both columns.
    entries = re.findall(r'<p class="prose timeline-entry">(.*?)</p>', preview.text)
    assert entries == ["桥面铺装完成过半", "桥面铺装完成过半"]
    refused = await post(client, url, {**typed, "text_zh": " ", "intent": "save"})
    assert refused.status_code == 400 and 'id="text_zh-error"' in refused.text
    crew = await login("carol")
    assert (await post(crew, url, {**typed, "intent": "save"})).status_code == 403
    done = await post(client, url, {**typed, "intent": "publish", "previewed": previewed(preview)})
    assert done.status_code == 303
    anon.cookies.set("lang", "en")
    assert "桥面铺装完成过半" in (await anon.get(f"/notices/{closure.id}")).text
    draft = await post(client, url, {"text_zh": "草稿", "text_en": "", "intent": "save"})
    assert draft.status_code == 303  # a draft publishes nothing: saved at once


async def test_calling_off_a_closure_in_force_previews_its_public_entry(login, personas, now):
    closure = await make_closure(personas["alice"], await make_asset(), now)
    client = await login("alice")
    url = f"/closures/{closure.id}/cancel"
    typed = {"version": closure.version, "reason_zh": "误报，设施完好", "reason_en": ""}
    preview = await post(client, url, {**typed, "intent": "preview"})
    assert preview.status_code == 200, preview.text[:2000]
    entries = re.findall(r'<p class="prose timeline-entry">(.*?)</p>', preview.text)
    assert len(entries) == 2 and all("误报，设施完好" in e for e in entries)
    assert entries[1].startswith("The closure was called off: ")
    assert (await Closure.objects().get(Closure.id == closure.id)).status == "active"  # type: ignore[union-attr]
    done = await post(client, url, {**typed, "intent": "publish", "previewed": previewed(preview)})
    assert done.status_code == 303
    entry = (
        await NoticeUpdate.objects()
        .where(
            (NoticeUpdate.closure == closure.id)
            & NoticeUpdate.text_en.like("The closure was called%")
        )
        .first()
    )
    assert entry is not None and [entry.text_zh, entry.text_en] == entries
