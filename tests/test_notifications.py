"""The outbox: enqueue renders in the recipient's language once per dedupe key; delivery sends
over real SMTP, retries a refusal with backoff, and gives up after the last attempt."""

import dataclasses
import datetime as dt
import email
from email import policy

from facilities.notifications import services as notifications
from facilities.notifications.choices import Status
from facilities.notifications.senders import SmtpSender
from facilities.notifications.tables import Notification


async def _enqueue(now, language="zh_CN", key="k1", to="alice@bureau.example"):
    return await notifications.enqueue(
        to=to,
        template="password_changed",
        context={"display_name": "Alice", "at": now},
        language=language,
        dedupe_key=key,
        now=now,
    )


def _smtp_settings(settings, smtp_server, **changes):
    return dataclasses.replace(
        settings,
        email_backend="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        mail_from="facilities@bureau.example",
        **changes,
    )


async def test_enqueue_renders_in_recipient_language_once_per_key(app, now):
    first = await _enqueue(now, language="en", key="same")
    again = await _enqueue(now, language="en", key="same")
    assert first is not None
    assert again is None
    rows = await Notification.objects()
    assert len(rows) == 1
    assert rows[0].subject == "Your password was changed"
    assert "Hello Alice," in rows[0].body_text
    chinese = await _enqueue(now, language="zh_CN", key="other")
    row = await Notification.objects().where(Notification.id == chinese).first()
    assert row.subject != "Your password was changed"  # translated


async def test_delivery_sends_over_smtp_and_marks_sent(app, settings, smtp_server, now):
    await _enqueue(now)
    sender = SmtpSender(_smtp_settings(settings, smtp_server))
    sent = await notifications.deliver_due(now, sender, batch_size=10, max_attempts=3)
    assert sent == 1
    assert len(smtp_server.messages) == 1
    message = email.message_from_bytes(smtp_server.messages[0].content, policy=policy.default)
    assert message["To"] == "alice@bureau.example"
    assert message["Message-ID"].startswith("<notification-")
    row = await Notification.objects().first()
    assert row.status == Status.SENT
    assert row.sent_at == now
    # a second run finds nothing due and sends nothing more
    assert await notifications.deliver_due(now, sender, batch_size=10, max_attempts=3) == 0
    assert len(smtp_server.messages) == 1


async def test_refused_delivery_is_retried_after_backoff(app, settings, smtp_server, now):
    await _enqueue(now)
    smtp_server.refuse_next = 1
    sender = SmtpSender(_smtp_settings(settings, smtp_server))
    assert await notifications.deliver_due(now, sender, batch_size=10, max_attempts=3) == 0
    row = await Notification.objects().first()
    assert row.status == Status.PENDING
    assert row.attempts == 1
    assert "451" in row.last_error
    assert row.next_attempt_at == now + notifications.backoff(1)
    # not due yet: nothing happens before the backoff has passed
    early = now + dt.timedelta(seconds=30)
    assert await notifications.deliver_due(early, sender, batch_size=10, max_attempts=3) == 0
    later = now + notifications.backoff(1)
    assert await notifications.deliver_due(later, sender, batch_size=10, max_attempts=3) == 1
    assert len(smtp_server.messages) == 1
    row = await Notification.objects().first()
    assert (row.status, row.attempts, row.last_error) == (Status.SENT, 2, "")


async def test_message_id_is_stable_across_retries(app, settings, smtp_server, now):
    await _enqueue(now)
    smtp_server.refuse_next = 1
    sender = SmtpSender(_smtp_settings(settings, smtp_server))
    await notifications.deliver_due(now, sender, batch_size=10, max_attempts=3)
    await notifications.deliver_due(now + dt.timedelta(hours=1), sender, 10, 3)
    from facilities.notifications.senders import build_message

    row = await Notification.objects().first()
    received = email.message_from_bytes(smtp_server.messages[0].content, policy=policy.default)
    assert received["Message-ID"] == build_message(row, "facilities@bureau.example")["Message-ID"]


async def test_gives_up_after_max_attempts(app, settings, now):
    await _enqueue(now)
    # Nothing listens on this port: every attempt fails to connect.
    sender = SmtpSender(_smtp_settings(settings, type("S", (), {"port": 1})(), smtp_timeout=2))
    moment = now
    for _ in range(2):
        await notifications.deliver_due(moment, sender, batch_size=10, max_attempts=2)
        moment += dt.timedelta(days=1)
    row = await Notification.objects().first()
    assert row.status == Status.FAILED
    assert row.attempts == 2
    assert await notifications.backlog() == {"failed": 1}


async def test_stale_claim_of_a_crashed_runner_is_taken_over(app, now):
    await _enqueue(now)
    _token, claimed = await notifications.claim_due(now, limit=10)
    assert len(claimed) == 1
    # The runner "crashes" here. Another runner a minute later must not take it...
    _token, again = await notifications.claim_due(now + dt.timedelta(minutes=1), limit=10)
    assert again == []
    # ...but after the claim timeout it does, once.
    later = now + notifications.CLAIM_TIMEOUT + dt.timedelta(seconds=1)
    _token, retaken = await notifications.claim_due(later, limit=10)
    assert [n.id for n in retaken] == [claimed[0].id]


def test_backoff_doubles_and_is_capped():
    assert notifications.backoff(1) == dt.timedelta(minutes=1)
    assert notifications.backoff(2) == dt.timedelta(minutes=2)
    assert notifications.backoff(4) == dt.timedelta(minutes=8)
    assert notifications.backoff(30) == notifications.BACKOFF_CAP
