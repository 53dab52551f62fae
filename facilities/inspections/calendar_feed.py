"""A team's inspections as an iCalendar feed (``/inspections/calendar.ics?team=ID&token=...``):
raised inspections confirmed with a link, projected occurrences tentative, each with a UID that
stays the same when the occurrence is raised."""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities.i18n import gettext as _
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType

#: The days of the feed: a week back (recently overdue) and half a year ahead.
FEED_DAYS_BEHIND = 7
FEED_DAYS_AHEAD = 180


def team_calendar(
    team: dict[str, Any], entries: list[inspections.CalendarEntry], base_url: str, now: dt.datetime
) -> bytes:
    """The team's feed as iCalendar bytes: one event per entry, an hour long from its due time,
    its UID made unique by the site's host."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//facilities//inspections//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _("Inspections: %(team)s") % {"team": team["name"]})
    host = base_url.split("://", 1)[-1].split("/", 1)[0] or "facilities"
    for entry in entries:
        event = Event()
        event.add("uid", f"{entry.uid}@{host}")
        event.add("dtstamp", now.astimezone(dt.UTC))
        event.add("dtstart", entry.due_at.astimezone(dt.UTC))
        event.add("dtend", entry.due_at.astimezone(dt.UTC) + dt.timedelta(hours=1))
        summary = f"{entry.asset_code} {entry.asset_name_zh} · "
        summary += InspectionType(entry.inspection_type).label
        event.add("summary", summary)
        if entry.inspection_id is not None:
            event.add("url", f"{base_url}/inspections/{entry.inspection_id}")
            event.add("status", "CONFIRMED")
        else:
            event.add("status", "TENTATIVE")
        event.add("categories", [entry.inspection_type])
        cal.add_component(event)
    return cal.to_ical()
