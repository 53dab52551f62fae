"""Rate limits on reports, counted in the database (so across every web process) per fixed
window: the web form per address, Open311 posts per key and per address, bad keys per address.

The handlers read the limits through the package (``services.WEB_REPORTS_PER_IP``), so a test
may lower one on the package.
"""

from __future__ import annotations

import datetime as dt
import math

from facilities.accounts import services as accounts
from facilities.errors import DomainError
from facilities.i18n import gettext as _

#: Rate limits, counted in the database (so across every web process) per fixed window.
RATE_WINDOW_SECONDS = 3600
WEB_REPORTS_PER_IP = 10
OPEN311_POSTS_PER_KEY = 300
OPEN311_POSTS_PER_IP = 60
BAD_KEYS_PER_IP = 20


class RateLimited(DomainError):
    """Too many attempts in the window; ``retry_after`` is seconds until the window ends."""

    status_code = 429

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            _("Too many reports were sent from here. Please try again in %(minutes)s minutes.")
            % {"minutes": minutes}
        )
        self.retry_after = retry_after


async def take_rate(key: str, limit: int, now: dt.datetime) -> None:
    """Count one attempt under ``key`` (shared by every process through the database), or raise
    RateLimited when the window already holds ``limit``: a refused attempt is not counted, so
    the count is of the attempts let through. Check and count are one conditional upsert, so
    two processes cannot both slip through the last place. Where one attempt passes several
    limits, take them in order and the later ones count only attempts the earlier let through
    (an Open311 key's budget is taken after its address's limit)."""
    if await accounts.rate_take(key[:200], limit, RATE_WINDOW_SECONDS, now) is None:
        ends = int(now.timestamp()) // RATE_WINDOW_SECONDS * RATE_WINDOW_SECONDS
        raise RateLimited(max(1, ends + RATE_WINDOW_SECONDS - int(now.timestamp())))


async def rate_used(key: str, now: dt.datetime) -> int:
    """The attempts counted under ``key`` in the current window."""
    return await accounts.rate_count(key[:200], RATE_WINDOW_SECONDS, now)
