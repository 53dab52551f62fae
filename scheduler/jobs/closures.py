"""Closure jobs: activation, reopening announcements, notice drafts from repair progress,
subscriber e-mails, promise-slip warnings and quiet-notice reminders. Each effect exactly once."""

from __future__ import annotations

import datetime as dt

from facilities.closures import services as closures
from facilities.settings import Settings


async def activate(now: dt.datetime, settings: Settings) -> int:
    return await closures.activate_due(now)


async def announce_reopenings(now: dt.datetime, settings: Settings) -> int:
    return await closures.announce_reopenings(now)


async def draft_progress(now: dt.datetime, settings: Settings) -> int:
    return await closures.draft_from_ticket_progress(now, settings.notice_autopublish)


async def fan_out(now: dt.datetime, settings: Settings) -> int:
    return await closures.fan_out(now, settings.base_url)


async def warn_slips(now: dt.datetime, settings: Settings) -> int:
    return await closures.warn_promise_slips(now, settings.promise_slip_days)


async def remind_quiet(now: dt.datetime, settings: Settings) -> int:
    return await closures.remind_quiet_notices(now, settings.notice_quiet_days)
