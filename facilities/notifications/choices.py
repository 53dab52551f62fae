"""Outbox states."""

from __future__ import annotations

from enum import StrEnum

from facilities.i18n import N_, gettext


class Status(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return gettext(STATUS_LABELS[self])


STATUS_LABELS = {
    Status.PENDING: N_("Waiting"),
    Status.SENDING: N_("Sending"),
    Status.SENT: N_("Sent"),
    Status.FAILED: N_("Failed"),
}
