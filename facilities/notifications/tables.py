"""The outbox table."""

from __future__ import annotations

from piccolo.columns import JSON, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from facilities.notifications.choices import Status


class Notification(Table, tablename="notification"):
    """One outbound e-mail, rendered at enqueue time. ``dedupe_key`` makes enqueueing the same
    event twice (a job run twice, a retried request) a no-op."""

    id = Serial(primary_key=True)
    dedupe_key = Varchar(length=200, unique=True, required=True)
    template = Varchar(length=64, required=True)
    to_address = Varchar(length=254, required=True)
    subject = Varchar(length=300, required=True)
    body_text = Text(default="")
    body_html = Text(default="")
    headers = JSON(default="{}")
    status = Varchar(length=16, choices=Status, default=Status.PENDING, index=True)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(index=True)
    claimed_at = Timestamptz(null=True, default=None)
    claim_token = Varchar(length=32, default="")
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
    last_error = Text(default="")
