"""Tell supervisors about tickets that passed their SLA due date (once per breach)."""

from __future__ import annotations

import datetime as dt

from facilities.settings import Settings
from facilities.tickets import services as tickets


async def escalate(now: dt.datetime, settings: Settings) -> int:
    return await tickets.escalate_sla_breaches(now)
