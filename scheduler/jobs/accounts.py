"""Housekeeping of accounts: expired sessions and old rate-limit windows."""

from __future__ import annotations

import datetime as dt

from facilities.accounts import services as accounts
from facilities.settings import Settings


async def purge(now: dt.datetime, settings: Settings) -> int:
    return await accounts.purge_expired(now)
