"""Deliver due messages from the outbox."""

from __future__ import annotations

import datetime as dt

from facilities.notifications import services as notifications
from facilities.notifications.senders import sender_for
from facilities.settings import Settings


async def deliver(now: dt.datetime, settings: Settings) -> int:
    return await notifications.deliver_due(
        now, sender_for(settings), settings.outbox_batch_size, settings.outbox_max_attempts
    )
