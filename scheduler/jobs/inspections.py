"""Raise due inspections; send reminders and escalations."""

from __future__ import annotations

import datetime as dt

from facilities.inspections import services as inspections
from facilities.settings import Settings


async def raise_due(now: dt.datetime, settings: Settings) -> inspections.RaiseResult:
    return await inspections.raise_due(now, settings.zone)


async def remind(now: dt.datetime, settings: Settings) -> int:
    return await inspections.send_reminders(now, settings.zone)
