"""Confirming a subscription takes a button press (issue 16, item 9): the e-mail's link opens a
page whose form POSTs the confirmation, so a mail link scanner following the link confirms
nothing. The POST needs the CSRF token like every public form, and pressing twice is fine."""

from __future__ import annotations

import datetime as dt

from facilities.closures import services as closures
from facilities.closures.schemas import SubscribeIn
from facilities.closures.tables import Subscription
from tests.kit.clients import client_for_app, csrf_token, follow, post_form
from tests.kit.public_story import READ_AT

READER = "reader.c9@citizen.example"


async def _pending(story) -> Subscription:
    await closures.subscribe(SubscribeIn(email=READER, asset_id=story.bridge.id), "zh_CN", READ_AT)
    row = await Subscription.objects().where(Subscription.email == READER).first()
    assert row is not None and row.confirmed_at is None
    return row


async def _confirmed_at(row: Subscription) -> dt.datetime | None:
    again = await Subscription.objects().where(Subscription.id == row.id).first()
    assert again is not None
    return again.confirmed_at


async def test_opening_the_link_shows_a_button_and_confirms_nothing(app, anon, story):
    row = await _pending(story)
    url = f"/subscriptions/confirm/{row.token}"
    async with client_for_app(app) as scanner:  # a mail link scanner: no cookie, follows links
        assert (await scanner.get(url)).status_code == 200
        assert (await scanner.get(url)).status_code == 200
    page = await anon.get(url)
    assert page.status_code == 200
    assert f'<form method="post" action="{url}">' in page.text
    assert f'name="_csrf_token" value="{await csrf_token(anon)}"' in page.text
    assert "<script" not in page.text.split("<main", 1)[-1].split("</main>", 1)[0]
    assert READER not in page.text
    english = await anon.get(url, cookies={"lang": "en"})
    assert "Confirm your subscription" in english.text
    assert "Confirm subscription</button>" in english.text
    assert await _confirmed_at(row) is None


async def test_the_button_confirms_and_pressing_it_again_is_fine(anon, story, clock):
    row = await _pending(story)
    url = f"/subscriptions/confirm/{row.token}"
    pressed = await post_form(anon, url, {})
    assert pressed.status_code == 303
    assert pressed.headers["location"] == url
    done = await follow(anon, pressed)
    assert done.status_code == 200
    assert "Subscription confirmed" in (await anon.get(url, cookies={"lang": "en"})).text
    assert 'method="post" action="/subscriptions' not in done.text  # nothing left to press
    first = await _confirmed_at(row)
    assert first == READ_AT

    clock.set(READ_AT + dt.timedelta(hours=1), frozen=True)
    again = await post_form(anon, url, {})
    assert again.status_code == 303
    assert (await follow(anon, again)).status_code == 200
    assert await _confirmed_at(row) == first  # the first press counts


async def test_the_post_needs_the_csrf_token(app, story):
    row = await _pending(story)
    async with client_for_app(app) as stranger:
        refused = await stranger.post(f"/subscriptions/confirm/{row.token}")
        assert refused.status_code == 403
    assert await _confirmed_at(row) is None


async def test_unknown_or_ended_subscriptions_are_not_found(anon, story):
    row = await _pending(story)
    assert await closures.unsubscribe(row.token, READ_AT)
    for token in ("not-a-token", row.token, "x" * 300):
        url = f"/subscriptions/confirm/{token}"
        shown = await anon.get(url, cookies={"lang": "en"})
        assert shown.status_code == 404
        assert "This link is not valid" in shown.text
        pressed = await post_form(anon, url, {})
        assert pressed.status_code == 404
    assert await _confirmed_at(row) is None
