"""``/calendar``: the staff work calendar, a month or a week of planned tickets, inspections and
closures, multi-day work drawn as one bar per week row (:mod:`.calendar_layout`).

The layers are checkboxes of a plain GET form (``?layers=tickets,inspections,closures``), so it
works without JavaScript; ``static/js/calendar.js`` adds dragging a ticket's bar to another day,
which posts to ``/calendar/tickets/{id}/reschedule`` (:mod:`.calendar_moves`). Each person's
own iCalendar feed is ``/calendar/me.ics?token=...`` (:mod:`.calendar_feed`), the one route
here that needs no login. The old ``/tickets/calendar`` sends here, keeping its query.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_301_MOVED_PERMANENTLY

from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import can
from facilities.errors import NotFound, ValidationFailed
from facilities.homes import calendar_feed, calendar_items, calendar_moves
from facilities.homes.calendar_layout import MAX_YEAR, MIN_YEAR, lay_out, month_weeks, week_of
from facilities.i18n import gettext as _
from facilities.web.auth import staff_guard
from facilities.web.forms import parse_form
from facilities.web.params import IdParam, zone_of
from facilities.web.responses import render


def _period(
    month_text: str, week_text: str, today: dt.date
) -> tuple[list[list[dt.date]], dt.date, dt.date, dt.date]:
    """(weeks shown, first day of the month or week, previous, following) from ``?month=`` or
    ``?week=`` (an ISO week such as 2026-W49); a malformed or out-of-range one is a 400."""
    try:
        if week_text:
            year, _sep, number = week_text.partition("-W")
            if len(year) != 4 or len(number) != 2:
                raise ValueError(week_text)
            monday = dt.date.fromisocalendar(int(year), int(number), 1)
            if not MIN_YEAR <= monday.year <= MAX_YEAR:
                raise ValueError(week_text)
            week = dt.timedelta(days=7)
            return week_of(monday), monday, monday - week, monday + week
        first = dt.date.fromisoformat(month_text + "-01") if month_text else today.replace(day=1)
        if len(month_text) not in (0, 7) or not MIN_YEAR <= first.year <= MAX_YEAR:
            raise ValueError(month_text)
    except ValueError:
        raise ValidationFailed(
            {
                "week" if week_text else "month": _(
                    "Give the month as YYYY-MM or the week as YYYY-Www."
                )
            }
        ) from None
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return month_weeks(first), first, previous, following


def iso_week(day: dt.date) -> str:
    year, week, _day = day.isocalendar()
    return f"{year}-W{week:02d}"


class CalendarController(Controller):
    include_in_schema = False

    @get("/calendar", guards=[staff_guard])
    async def index(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        zone = zone_of(request)
        today = now.astimezone(zone).date()
        query = request.query_params
        month_text = query.get("month", "").strip()
        week_text = query.get("week", "").strip()
        weeks, first, previous, following = _period(month_text, week_text, today)
        asked = query.get("layers")  # absent: every layer
        layers = calendar_items.parse_layers(None if asked is None else query.getall("layers"))
        items = await calendar_items.calendar_items(
            actor, layers, weeks[0][0], weeks[-1][-1], zone, now
        )
        settings = request.app.state.settings
        layer_query = ",".join(layers)
        return render(
            request,
            "homes/calendar.html",
            rows=lay_out(weeks, items),
            first=first,
            today=today,
            previous=previous,
            following=following,
            week_mode=bool(week_text),
            this_week=iso_week(today),
            first_week=iso_week(first),
            layers=layers,
            layer_labels=calendar_items.layer_labels(),
            layer_query=urlencode({"layers": layer_query}),
            can_move=can(actor, Perm.TICKETS_EDIT),
            feed_url=(
                f"{settings.base_url}/calendar/me.ics?token="
                f"{calendar_feed.user_token(actor.id, settings.secret_key)}"
                if actor.id is not None
                else ""
            ),
        )

    @get("/tickets/calendar", guards=[staff_guard])
    async def old_ticket_calendar(self, request: Request[Any, Any, Any]) -> Redirect:
        """The ticket calendar's old address: the same month or week here."""
        query = request.url.query
        return Redirect(
            "/calendar" + (f"?{query}" if query else ""), status_code=HTTP_301_MOVED_PERMANENTLY
        )

    @post("/calendar/tickets/{ticket_id:int}/reschedule", guards=[staff_guard], status_code=200)
    async def reschedule(
        self, request: Request[Any, Any, Any], ticket_id: IdParam, now: dt.datetime
    ) -> dict[str, Any]:
        """Move a ticket's planned days (a dragged bar): JSON with the new dates and version;
        a refusal is the usual JSON error (403, 409, 400) whose detail the page shows."""
        actor = require_actor(request)
        data, errors, _values = await parse_form(request, calendar_moves.RescheduleIn)
        if data is None:
            raise ValidationFailed(errors)
        ticket = await calendar_moves.reschedule_ticket(actor, ticket_id, data, now)
        return {
            "id": ticket.id,
            "version": ticket.version,
            "planned_start_on": ticket.planned_start_on,
            "planned_end_on": ticket.planned_end_on,
        }

    @get("/calendar/me.ics")
    async def feed(self, request: Request[Any, Any, Any], now: dt.datetime) -> Response[bytes]:
        """A person's work as iCalendar; the token in the URL is the credential, so calendar
        apps can subscribe without a login. Any wrong token is the same 404."""
        settings = request.app.state.settings
        token = request.query_params.get("token", "")
        actor = await calendar_feed.feed_actor(token, settings.secret_key) if token else None
        if actor is None:
            raise NotFound(_("This calendar link is not valid."))
        return Response(
            content=await calendar_feed.my_calendar(actor, settings.base_url, settings.zone, now),
            media_type=calendar_feed.MEDIA_TYPE,
            headers={
                "Content-Disposition": 'inline; filename="my-work.ics"',
                "Cache-Control": "private, max-age=300",
            },
        )
