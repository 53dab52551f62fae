"""The outbox table, and what each member of staff chose to receive and how.

The preference and the digest item point at a staff user, named lazily (Piccolo's
``LazyTableReference``) as the audit event does: accounts sends its own mail through the outbox,
so notifications sits below accounts and imports nothing of it; the foreign key is a fact of the
schema, not of the code.
"""

from __future__ import annotations

from typing import Any

from piccolo.columns import JSON, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

from facilities.notifications.choices import Delivery, StaffEvent, Status


def _staff_user() -> LazyTableReference:
    return LazyTableReference("StaffUser", module_path="facilities.accounts.tables")


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


class NotificationPreference(Table, tablename="notification_preference"):
    """How one person gets the e-mails of one kind. No row: immediately, as before anyone
    chose. ``key`` is ``"<user>:<kind>"``, unique: one choice per person and kind, saved with
    ``INSERT ... ON CONFLICT (key) DO UPDATE`` so two saves at once cannot make two."""

    id = Serial(primary_key=True)
    key = Varchar(length=48, unique=True, required=True)
    user: ForeignKey[Any] = ForeignKey(_staff_user(), null=False, on_delete=OnDelete.cascade)
    kind = Varchar(length=32, choices=StaffEvent, required=True)
    delivery = Varchar(length=16, choices=Delivery, default=Delivery.IMMEDIATELY)
    updated_at = Timestamptz()


class DigestItem(Table, tablename="digest_item"):
    """One e-mail a person chose to get in the daily digest instead, waiting for it.

    ``subject`` is the e-mail's subject line in the person's language, ``link`` the page it is
    about (a path under the base URL). ``sent_at`` is set in the transaction that queues the
    digest, so an item is in exactly one digest. ``dedupe_key`` is the one the e-mail would have
    had: the same event told twice (a job run twice) is one item."""

    id = Serial(primary_key=True)
    dedupe_key = Varchar(length=200, unique=True, required=True)
    user: ForeignKey[Any] = ForeignKey(_staff_user(), null=False, on_delete=OnDelete.cascade)
    kind = Varchar(length=32, choices=StaffEvent, required=True)
    subject = Varchar(length=300, required=True)
    link = Varchar(length=300, default="")
    created_at = Timestamptz(index=True)
    sent_at = Timestamptz(null=True, default=None, index=True)
