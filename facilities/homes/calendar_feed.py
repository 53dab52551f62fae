"""One person's work as an iCalendar feed (``/calendar/me.ics?token=...``): their assigned
tickets' planned days, the inspections assigned to them and, for supervisors and
administrators, the closures planned or in force.

A calendar app cannot log in, so the token in the URL is the credential. It is made as a team
feed's token is (:func:`facilities.inspections.services.team_token`): an HMAC-SHA256 with the
secret key, here of ``calendar-user:<id>`` (its own prefix, so a team's token never opens a
person's feed), written ``<id>-<hex>``. Rotating the secret key revokes every link; a person
made inactive loses theirs. Everything is an all-day event (DTEND is the day after the last
day, RFC 5545's exclusive end) with a UID that stays the same when the dates move.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any
from zoneinfo import ZoneInfo

from facilities.accounts import services as accounts
from facilities.accounts.permissions import Actor
from facilities.closures import services as closures
from facilities.homes.calendar_items import CLOSURES_SHOWN
from facilities.i18n import gettext as _
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType
from facilities.tickets import services as tickets
from facilities.tickets.choices import SUPERVISORS

MEDIA_TYPE = "text/calendar"
ONE_DAY = dt.timedelta(days=1)
#: The most inspections one feed lists (the soonest due first).
MAX_INSPECTIONS = 500


def user_token(user_id: int, secret_key: str) -> str:
    """The token of a person's feed URL: ``<id>-<HMAC-SHA256 of calendar-user:<id>>``."""
    mac = hmac.new(secret_key.encode(), f"calendar-user:{user_id}".encode(), hashlib.sha256)
    return f"{user_id}-{mac.hexdigest()}"


def token_user(token: str, secret_key: str) -> int | None:
    """The user id a token was made for, or None when it is not one of ours."""
    head, _sep, _mac = token.strip().partition("-")
    if not head.isdigit() or len(head) > 10:
        return None
    user_id = int(head)
    if not hmac.compare_digest(user_token(user_id, secret_key).encode(), token.strip().encode()):
        return None
    return user_id


async def feed_actor(token: str, secret_key: str) -> Actor | None:
    """The active person a feed token belongs to, or None (a wrong token, a removed or
    deactivated person: all answered alike)."""
    user_id = token_user(token, secret_key)
    if user_id is None:
        return None
    user = await accounts.find_user(user_id)
    if user is None or not user.is_active:
        return None
    return accounts.actor_of(user, via="calendar")


def _all_day(event: Any, first: dt.date, last: dt.date) -> None:
    event.add("dtstart", first)
    event.add("dtend", max(last, first) + ONE_DAY)


async def my_calendar(actor: Actor, base_url: str, zone: ZoneInfo, now: dt.datetime) -> bytes:
    """The person's feed as iCalendar bytes."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//facilities//staff calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _("My work: %(name)s") % {"name": actor.display_name})
    host = base_url.split("://", 1)[-1].split("/", 1)[0] or "facilities"
    stamp = now.astimezone(dt.UTC)

    def event(uid: str, summary: str, url: str, category: str) -> Any:
        found = Event()
        found.add("uid", f"{uid}@{host}")
        found.add("dtstamp", stamp)
        found.add("summary", summary)
        found.add("url", f"{base_url}{url}")
        found.add("categories", [category])
        return found

    for view in await tickets.assigned_open(actor, now):
        ticket = view.ticket
        if ticket.planned_start_on is None:
            continue
        item = event(
            f"ticket-{ticket.id}",
            f"{view.asset_code} {ticket.title}",
            f"/tickets/{ticket.id}",
            "ticket",
        )
        _all_day(item, ticket.planned_start_on, ticket.planned_end_on or ticket.planned_start_on)
        cal.add_component(item)
    if actor.id is not None:
        rows = await inspections.list_inspections(
            actor, now, inspector_id=actor.id, limit=MAX_INSPECTIONS
        )
        for row in rows:
            due = row["due_at"].astimezone(zone).date()
            window = row["window_ends_at"] or row["due_at"]
            item = event(
                f"inspection-{row['id']}",
                f"{row['asset_code']} {row['asset_name_zh']} · "
                + InspectionType(row["inspection_type"]).label,
                f"/inspections/{row['id']}",
                "inspection",
            )
            _all_day(item, due, window.astimezone(zone).date())
            cal.add_component(item)
    if actor.role in SUPERVISORS:
        for row in await closures.list_closures(actor, statuses=CLOSURES_SHOWN):
            start = row["effective_from"].astimezone(zone).date()
            item = event(
                f"closure-{row['id']}",
                _("Closure: %(asset)s") % {"asset": f"{row['asset_code']} {row['asset_name_zh']}"},
                f"/closures/{row['id']}",
                "closure",
            )
            promised = row["planned_reopen_on"]
            # the promised reopening day is the exclusive end; without one, the first day only
            item.add("dtstart", start)
            item.add("dtend", max(promised, start + ONE_DAY) if promised else start + ONE_DAY)
            cal.add_component(item)
    return bytes(cal.to_ical())
