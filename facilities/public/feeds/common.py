"""What several feeds write the same way: stable identifiers, addresses and instants.

Identifiers (Atom ``tag:`` URIs, iCalendar UIDs, CAP identifiers) are built from the host name
of the site's base URL and never change for a closure, so a feed reader or calendar updates an
entry instead of adding a second one.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from facilities.closures import public
from facilities.closures.choices import Status
from facilities.web import templating

TAG_DATE = "2026"  # the date part of every tag: URI (RFC 4151); never change it


def authority(base: str) -> str:
    """The host name in every stable identifier (tag: URIs, UIDs, CAP identifiers)."""
    return urlsplit(base).hostname or "localhost"


def notice_url(base: str, closure_id: int) -> str:
    return f"{base}/notices/{closure_id}"


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _local_midnight(day: dt.date) -> dt.datetime:
    zone = templating.display_zone()
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone).astimezone(dt.UTC)


def ends(closure: public.PublicClosure) -> dt.datetime | None:
    """When the closure window ends: the announced reopening, else the start of the promised
    day (for "before 1 May" and "on 1 May" alike), else unknown."""
    if closure.status == Status.LIFTED and closure.reopens_at is not None:
        return closure.reopens_at
    if closure.planned_reopen_on is not None:
        return _local_midnight(closure.planned_reopen_on)
    return None
