"""Enqueueing messages and delivering the outbox."""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any, Protocol

from facilities import db
from facilities.i18n import use_locale
from facilities.notifications.choices import Status
from facilities.notifications.tables import Notification

log = logging.getLogger(__name__)

CLAIM_TIMEOUT = dt.timedelta(minutes=10)
BACKOFF_BASE_SECONDS = 60
BACKOFF_CAP = dt.timedelta(hours=6)


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): retrying would not help."""


class Sender(Protocol):
    async def send(self, message: Notification) -> None: ...


#: Renders ``templates/emails/<template>.*`` with a context: (subject, text, html).
EmailRenderer = Callable[[str, dict[str, Any]], tuple[str, str, str]]

_render_email: EmailRenderer | None = None


def use_renderer(render: EmailRenderer) -> None:
    """Plug in the e-mail renderer (the web layer's Jinja environment sits below the outbox's
    callers but the outbox must not reach up for it): each composition root, the app and the
    scheduler process, passes ``web.templating.render_email`` here once, after configuring it."""
    global _render_email
    _render_email = render


def render(template: str, context: dict[str, Any], language: str) -> tuple[str, str, str]:
    """``templates/emails/<template>.*`` in ``language``: (subject, text, html)."""
    if _render_email is None:
        raise RuntimeError("no e-mail renderer: call notifications.services.use_renderer first")
    with use_locale(language):
        return _render_email(template, context)


async def enqueue(
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    language: str,
    dedupe_key: str,
    now: dt.datetime,
    headers: dict[str, str] | None = None,
) -> int | None:
    """Render ``templates/emails/<template>.*`` in ``language`` and store it for delivery.

    Returns the new row's id, or None when a message with this ``dedupe_key`` already exists.
    """
    subject, text, html = render(template, context, language)
    rows = (
        await Notification.insert(
            Notification(
                dedupe_key=dedupe_key[:200],
                template=template,
                to_address=to,
                subject=subject[:300],
                body_text=text,
                body_html=html,
                headers=json.dumps(headers or {}),
                status=Status.PENDING,
                next_attempt_at=now,
                created_at=now,
            )
        )
        .on_conflict(action="DO NOTHING")
        .returning(Notification.id)
    )
    return rows[0]["id"] if rows else None


def backoff(attempts: int) -> dt.timedelta:
    """Wait before attempt ``attempts + 1``: 1, 2, 4, 8 ... minutes, capped at six hours."""
    return min(dt.timedelta(seconds=BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0)), BACKOFF_CAP)


async def claim_due(now: dt.datetime, limit: int) -> tuple[str, list[Notification]]:
    """Take up to ``limit`` due messages for this runner; a claim older than CLAIM_TIMEOUT
    (its runner crashed) may be taken again. A new scheduler leader does not wait for that
    timeout: it hands back the claims in flight at once (:func:`release_claims_in_flight`);
    the timeout remains the fallback for a run by hand that died."""
    token = secrets.token_hex(16)
    due = (Notification.status == Status.PENDING) & (Notification.next_attempt_at <= now)
    stale = (Notification.status == Status.SENDING) & (
        Notification.claimed_at < now - CLAIM_TIMEOUT
    )
    async with db.transaction():
        candidates = (
            await Notification.select(Notification.id)
            .where(due | stale)
            .order_by(Notification.next_attempt_at)
            .limit(limit)
        )
        ids = [row["id"] for row in candidates]
        if not ids:
            return token, []
        await Notification.update(
            {
                Notification.status: Status.SENDING,
                Notification.claimed_at: now,
                Notification.claim_token: token,
            }
        ).where(Notification.id.is_in(ids) & (due | stale))
    claimed = await Notification.objects().where(Notification.claim_token == token)
    return token, list(claimed)


async def release_claims_in_flight() -> int:
    """Put every message being sent (``sending``) back in the outbox; returns how many.

    A scheduler calls this right after it became the leader, before it runs any job. Only the
    leader delivers, and a process runs no job when it takes the lock (it stopped or cancelled
    its own runs before it gave up the lock it held before), so every claim in flight belongs to
    another process: a leader that was killed (its claims would otherwise wait CLAIM_TIMEOUT),
    or one that lost its session and has not noticed yet, or a run by hand. A message that
    process already handed to the SMTP server but had not yet marked sent goes out again, with
    the same Message-ID: delivery is at-least-once. A message marked sent is never touched, and
    a late "sent" or "failed" from the old process changes nothing once its claim is gone (both
    updates require its claim token), so a confirmed send is never repeated and no row is
    written by two runners."""
    rows = (
        await Notification.update(
            {Notification.status: Status.PENDING, Notification.claim_token: ""}
        )
        .where(Notification.status == Status.SENDING)
        .returning(Notification.id)
    )
    return len(rows)


async def release_claims_at(claimed_at: dt.datetime) -> int:
    """Put the messages a cancelled delivery run claimed (``claimed_at`` is the run's logical
    ``now``, see :func:`claim_due`) back in the outbox instead of leaving them to the
    ten-minute stale-claim timeout. A message sent but not yet marked sent goes out again:
    delivery is at-least-once, with a fixed Message-ID. The scheduler calls it when it cancels
    an overrunning delivery run at shutdown."""
    rows = (
        await Notification.update(
            {Notification.status: Status.PENDING, Notification.claim_token: ""}
        )
        .where((Notification.status == Status.SENDING) & (Notification.claimed_at == claimed_at))
        .returning(Notification.id)
    )
    return len(rows)


async def deliver_due(now: dt.datetime, sender: Sender, batch_size: int, max_attempts: int) -> int:
    """Send what is due; returns how many messages were sent in this run."""
    token, messages = await claim_due(now, batch_size)
    sent = 0
    for message in messages:
        mine = (Notification.id == message.id) & (Notification.claim_token == token)
        try:
            await sender.send(message)
        except Exception as exc:
            attempts = message.attempts + 1
            permanent = isinstance(exc, PermanentFailure) or attempts >= max_attempts
            log.warning(
                "delivery of notification %s failed (attempt %s): %s", message.id, attempts, exc
            )
            await Notification.update(
                {
                    Notification.status: Status.FAILED if permanent else Status.PENDING,
                    Notification.attempts: attempts,
                    Notification.next_attempt_at: now + backoff(attempts),
                    Notification.last_error: f"{type(exc).__name__}: {exc}"[:2000],
                    Notification.claim_token: "",
                }
            ).where(mine)
            continue
        await Notification.update(
            {
                Notification.status: Status.SENT,
                Notification.attempts: message.attempts + 1,
                Notification.sent_at: now,
                Notification.last_error: "",
            }
        ).where(mine)
        sent += 1
    return sent


async def backlog() -> dict[str, int]:
    """Count of messages per status (for the staff jobs page and metrics)."""
    rows = await Notification.raw("SELECT status, COUNT(*) AS n FROM notification GROUP BY status")
    return {row["status"]: int(row["n"]) for row in rows}
