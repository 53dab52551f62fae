"""The iCalendar feed (RFC 5545) of closure windows, for calendar apps.

One VEVENT per closure with a UID that never changes and a SEQUENCE that grows whenever the
promise or the start moves, so a subscribed calendar updates the event in place.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib

from icalendar import Calendar, Event

from facilities import i18n
from facilities.closures import public
from facilities.closures.choices import Reason, Scope
from facilities.i18n import gettext as _
from facilities.public.feeds.common import authority, ends
from facilities.public.wording import expected, label, local_text, overdue, revision_text
from facilities.web import templating
from facilities.web.public_cache import PublicCache

MEDIA_TYPE = "text/calendar"


def _description(closure: public.PublicClosure, url: str, now: dt.datetime) -> str:
    lines = [
        f"{label(Scope, closure.scope)} · {label(Reason, closure.reason)}",
        local_text(closure, "reason"),
        expected(closure, now),
    ]
    for revision in closure.revisions:
        lines.append(revision_text(closure, revision))
    detour = local_text(closure, "detour")
    if detour:
        lines.append(_("Detour: %(text)s") % {"text": detour})
    lines.append(url)
    return "\n".join(line for line in lines if line)


def event(closure: public.PublicClosure, host: str, base: str, now: dt.datetime) -> bytes:
    """One VEVENT: the closure window, with a UID that never changes and the closure's
    SEQUENCE (bumped whenever the promise or the start moves); its description says so once
    the promised date has passed."""
    url = f"{base}/notices/{closure.id}"
    vevent = Event()
    vevent.add("uid", f"closure-{closure.id}@{host}")
    vevent.add("dtstamp", closure.updated_at)
    vevent.add("created", closure.created_at)
    vevent.add("last-modified", closure.updated_at)
    vevent.add("sequence", closure.sequence)
    vevent.add("dtstart", closure.effective_from)
    end = ends(closure)
    if end is not None and end > closure.effective_from:
        vevent.add("dtend", end)
    vevent.add("summary", f"{local_text(closure.asset, 'name')}: {label(Scope, closure.scope)}")
    vevent.add("description", _description(closure, url, now))
    vevent.add("location", local_text(closure.asset, "site_name"))
    if closure.asset.lat is not None and closure.asset.lng is not None:
        vevent.add("geo", (closure.asset.lat, closure.asset.lng))
    vevent.add("url", url)
    vevent.add("status", "CONFIRMED")
    vevent.add("transp", "TRANSPARENT")
    vevent.add("categories", [label(Reason, closure.reason)])
    return bytes(vevent.to_ical())


def events(
    closures: list[public.PublicClosure], host: str, base: str, now: dt.datetime
) -> list[bytes]:
    return [event(closure, host, base, now) for closure in closures]


async def render(
    closures: list[public.PublicClosure], *, base: str, cache: PublicCache, now: dt.datetime
) -> bytes:
    """The calendar, assembled from per-closure events cached under a digest of everything each
    one shows (whether its promise has passed included): a change re-renders only the closures
    it touched, and a cold start renders in a worker thread (the icalendar package needs about
    a second for a thousand events)."""
    host = authority(base)
    locale = i18n.current_locale()
    keys = [
        hashlib.blake2b(
            repr((locale, host, base, overdue(c, now), c)).encode(), digest_size=16
        ).hexdigest()
        for c in closures
    ]
    missing = [(k, c) for k, c in zip(keys, closures, strict=True) if cache.fragment(k) is None]
    if missing:
        rendered = await asyncio.to_thread(events, [c for _k, c in missing], host, base, now)
        for (key, _closure), body in zip(missing, rendered, strict=True):
            cache.put_fragment(key, body)
    calendar = Calendar()
    calendar.add("prodid", f"-//{host}//facilities closure notices//{locale}")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _("Facility closures"))
    calendar.add("x-wr-timezone", str(templating.display_zone()))
    head = bytes(calendar.to_ical())
    end = b"END:VCALENDAR\r\n"
    assert head.endswith(end)
    return head[: -len(end)] + b"".join(cache.fragment(k) or b"" for k in keys) + end
