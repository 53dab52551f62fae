"""Deliver due messages from the outbox; queue the daily digests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities.homes.digest_work import work_summary
from facilities.notifications import digest
from facilities.notifications import services as notifications
from facilities.notifications.senders import sender_for
from facilities.settings import Settings


async def deliver(now: dt.datetime, settings: Settings) -> int:
    return await notifications.deliver_due(
        now, sender_for(settings), settings.outbox_batch_size, settings.outbox_max_attempts
    )


async def send_digests(now: dt.datetime, settings: Settings) -> int:
    async def summary(user_id: int, at: dt.datetime) -> dict[str, Any]:
        return await work_summary(user_id, at, settings.zone)

    return await digest.send_digests(now, settings.zone, settings.digest_at, summary)
