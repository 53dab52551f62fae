"""Citizens' e-mail subscriptions: double opt-in, delivery over a real SMTP server with a
one-click unsubscribe (RFC 8058), the honeypot, input errors, and the rate limit that holds
across app instances because it counts in the shared database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import re
from email import policy
from urllib.parse import urlsplit

import httpx
import pytest

from facilities.accounts.tables import RateLimitBucket
from facilities.app import create_app
from facilities.closures import services as closures
from facilities.closures.schemas import NoticeIn
from facilities.closures.tables import Subscription
from facilities.notifications import services as notifications
from facilities.notifications.senders import SmtpSender
from facilities.notifications.tables import Notification
from tests.kit.clients import client_for_app, follow, post_form
from tests.kit.public_story import READ_AT

READER = "reader.q1@citizen.example"


def _smtp(settings, smtp_server):
    return SmtpSender(
        dataclasses.replace(
            settings,
            email_backend="smtp",
            smtp_host="127.0.0.1",
            smtp_port=smtp_server.port,
            mail_from="notices@bureau.example",
        )
    )


async def _deliver(settings, smtp_server, now) -> list[email.message.EmailMessage]:
    """Send what is due over real SMTP; the messages the reader got (the story also mails
    staff and the ticket's reporter)."""
    before = len(smtp_server.messages)
    await notifications.deliver_due(now, _smtp(settings, smtp_server), 50, 3)
    received = [
        email.message_from_bytes(m.content, policy=policy.default)
        for m in smtp_server.messages[before:]
    ]
    return [m for m in received if m["To"] == READER]


async def _confirmations() -> int:
    return await Notification.count().where(Notification.template == "subscription_confirm")


def _body(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


async def _publish(story, text: str, at: dt.datetime) -> None:
    await closures.write_update(story.alice, story.closure.id, NoticeIn(text_zh=text), at)


async def test_double_opt_in_then_notice_mails_with_one_click_unsubscribe(
    app, anon, settings, smtp_server, story
):
    response = await post_form(
        anon, "/subscriptions", {"email": READER, "target": f"asset:{story.bridge.id}"}
    )
    assert response.status_code == 303
    page = await anon.get(response.headers["location"])
    assert page.status_code == 200
    assert READER not in page.text  # the address is never shown back

    # only the confirmation goes out; notices wait for the confirmation
    await _publish(story, "第一条更新：桥面板已拆除一半。", READ_AT)
    assert await closures.fan_out(READ_AT, settings.base_url) == 0
    sent = await _deliver(settings, smtp_server, READ_AT)
    assert len(sent) == 1
    assert sent[0]["To"] == READER
    assert "第一条更新" not in _body(sent[0])
    link = re.search(r"(http\S+/subscriptions/confirm/\S+)", _body(sent[0]))
    assert link, _body(sent[0])

    # following the link (as a mail scanner would) confirms nothing; its button does
    opened = await anon.get(urlsplit(link.group(1)).path)
    assert opened.status_code == 200
    assert READER not in opened.text
    row = await Subscription.objects().where(Subscription.email == READER).first()
    assert row.confirmed_at is None
    confirmed = await follow(anon, await post_form(anon, urlsplit(link.group(1)).path, {}))
    assert confirmed.status_code == 200
    assert READER not in confirmed.text
    row = await Subscription.objects().where(Subscription.email == READER).first()
    assert row.confirmed_at is not None

    later = READ_AT + dt.timedelta(hours=2)
    await _publish(story, "第二条更新：新桥面板开始铺设。", later)
    assert await closures.fan_out(later, settings.base_url) == 1
    [notice] = await _deliver(settings, smtp_server, later)
    assert "第二条更新" in _body(notice)
    unsubscribe = notice["List-Unsubscribe"]
    assert unsubscribe.startswith("<http") and "/unsubscribe/" in unsubscribe
    assert notice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # the mail client's one-click POST: no cookie, no CSRF token, just the RFC 8058 body
    async with client_for_app(app) as mail_client:
        one_click = await mail_client.post(
            urlsplit(unsubscribe.strip("<>")).path,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert one_click.status_code == 200
    row = await Subscription.objects().where(Subscription.email == READER).first()
    assert row.unsubscribed_at is not None
    last = later + dt.timedelta(hours=2)
    await _publish(story, "第三条更新。", last)
    assert await closures.fan_out(last, settings.base_url) == 0


async def test_confirmation_is_sent_in_the_readers_language(anon, settings, smtp_server, story):
    anon.cookies.set("lang", "en")
    response = await post_form(anon, "/subscriptions", {"email": READER, "target": "all"})
    assert response.status_code == 303
    [message] = await _deliver(settings, smtp_server, READ_AT)
    assert message["Subject"] == "Confirm your subscription to facility notices"
    assert "/subscriptions/confirm/" in _body(message)
    row = await Subscription.objects().first()
    assert (row.language, row.asset, row.site) == ("en", None, None)


async def test_site_subscription_and_unknown_targets(anon, story):
    ok = await post_form(
        anon, "/subscriptions", {"email": READER, "target": f"site:{story.site.id}"}
    )
    assert ok.status_code == 303
    row = await Subscription.objects().first()
    assert (row.site, row.asset) == (story.site.id, None)
    missing = await post_form(anon, "/subscriptions", {"email": READER, "target": "asset:999999"})
    assert missing.status_code == 400
    assert await Subscription.count() == 1


async def test_unsubscribe_page_asks_first_and_post_needs_no_csrf(app, anon, story):
    await post_form(anon, "/subscriptions", {"email": READER, "target": "all"})
    row = await Subscription.objects().first()
    page = await anon.get(f"/unsubscribe/{row.token}")
    assert page.status_code == 200
    assert f'action="/unsubscribe/{row.token}"' in page.text
    assert READER not in page.text
    row = await Subscription.objects().first()
    assert row.unsubscribed_at is None  # looking at the page changes nothing
    async with client_for_app(app) as stranger:  # no cookie at all
        done = await stranger.post(
            f"/unsubscribe/{row.token}", data={"List-Unsubscribe": "One-Click"}
        )
        assert done.status_code == 200
        again = await stranger.get(f"/unsubscribe/{row.token}")
        assert again.status_code == 200
        assert 'method="post"' not in again.text
        assert (await stranger.get("/unsubscribe/not-a-token")).status_code == 404
        assert (await stranger.post("/unsubscribe/not-a-token")).status_code == 404
    # a subscription still needs the CSRF token: without one the form is only shown again
    # (tests/test_shared_cache.py follows that path to the end)
    async with client_for_app(app) as stranger:
        asked = await stranger.post("/subscriptions", data={"email": READER, "target": "all"})
        assert asked.status_code == 200 and 'action="/subscriptions"' in asked.text


async def test_confirm_with_an_unknown_token_is_not_found(anon, story):
    response = await anon.get("/subscriptions/confirm/unknown-token")
    assert response.status_code == 404
    assert "not valid" in (await anon.get("/subscriptions/confirm/x", cookies={"lang": "en"})).text


async def test_honeypot_stores_nothing(anon, story):
    response = await post_form(
        anon, "/subscriptions", {"email": READER, "target": "all", "website": "http://spam.example"}
    )
    assert response.status_code == 303  # the bot is told nothing
    assert await Subscription.count() == 0
    assert await _confirmations() == 0
    assert await RateLimitBucket.count() == 0


async def test_invalid_email_is_400_with_a_message(anon, story):
    typed = "not-an-address<b>"
    response = await post_form(
        anon, "/subscriptions", {"email": typed, "target": f"asset:{story.bridge.id}"}
    )
    assert response.status_code == 400
    assert typed not in response.text
    assert (
        await post_form(anon, "/subscriptions", {"email": "x@", "target": "all"})
    ).status_code == 400
    english = await anon.post(
        "/subscriptions",
        data={"email": typed, "target": "all", "_csrf_token": anon.cookies.get("csrftoken")},
        cookies={"lang": "en"},
    )
    assert english.status_code == 400
    assert "Enter a valid e-mail address, such as name@example.com." in english.text
    assert typed not in english.text and "not-an-address" not in english.text
    assert 'aria-invalid="true"' in english.text
    assert await Subscription.count() == 0
    assert await _confirmations() == 0


@pytest.fixture
def limited(settings):
    return dataclasses.replace(settings, subscribe_rate_limit=3)


def _client(application, ip: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application, client=(ip, 40000)),
        base_url="http://testserver",
    )


async def _subscribe(client: httpx.AsyncClient, address: str) -> httpx.Response:
    if client.cookies.get("csrftoken") is None:
        await client.get("/subscriptions")
    return await client.post(
        "/subscriptions",
        data={"email": address, "target": "all", "_csrf_token": client.cookies.get("csrftoken")},
    )


async def test_rate_limit_per_address_holds_across_two_app_instances(limited, story, clock):
    first, second = (
        create_app(limited, embed_scheduler=False, clock=clock),
        create_app(limited, embed_scheduler=False, clock=clock),
    )
    async with _client(first, "203.0.113.7") as one, _client(second, "203.0.113.7") as two:
        codes = [
            (await _subscribe(client, f"reader{n}@citizen.example")).status_code
            for n, client in enumerate([one, two, one])
        ]
        assert codes == [303, 303, 303]
        refused = await _subscribe(two, "reader9@citizen.example")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert "reader9@citizen.example" not in refused.text
        # another client address is not affected
        async with _client(first, "198.51.100.4") as other:
            assert (await _subscribe(other, "reader8@citizen.example")).status_code == 303
    assert await Subscription.count() == 4


async def test_rate_limit_per_email_holds_across_addresses(limited, story, clock):
    first, second = (
        create_app(limited, embed_scheduler=False, clock=clock),
        create_app(limited, embed_scheduler=False, clock=clock),
    )
    codes = []
    for n, application in enumerate([first, second, first, second]):
        async with _client(application, f"192.0.2.{n + 1}") as client:
            client.cookies.set("lang", "en")
            response = await _subscribe(client, "Same.Reader@Citizen.example")
            codes.append(response.status_code)
    assert codes == [303, 303, 303, 429]
    assert "Too many requests" in response.text
    assert "Please try again in" in response.text


async def test_rate_limit_window_resets_after_an_hour(limited, story, clock):
    clock.set(READ_AT, frozen=True)
    application = create_app(limited, embed_scheduler=False, clock=clock)
    async with _client(application, "203.0.113.50") as client:
        for n in range(3):
            assert (await _subscribe(client, f"r{n}@citizen.example")).status_code == 303
        assert (await _subscribe(client, "r3@citizen.example")).status_code == 429
        clock.set(READ_AT + dt.timedelta(hours=1), frozen=True)
        assert (await _subscribe(client, "r3@citizen.example")).status_code == 303
