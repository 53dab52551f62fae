"""``/staff``: each member of staff's home, chosen by role; where the login lands.

An anonymous visitor is sent to the login (the staff guard), and comes back here after it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from facilities.accounts.choices import Role
from facilities.accounts.guards import require_actor
from facilities.homes import health, oversight, work
from facilities.web.auth import staff_guard
from facilities.web.params import zone_of
from facilities.web.responses import render


class HomeController(Controller):
    guards = [staff_guard]
    include_in_schema = False

    @get("/staff")
    async def home(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        role = actor.role
        if role == Role.CREW:
            cards = await work.crew_today(actor, now, zone_of(request))
            return render(
                request,
                "homes/crew.html",
                cards=[(view, work.one_tap_actions(view)) for view in cards],
                now=now,
            )
        if role == Role.INSPECTOR:
            rows = await work.inspector_week(actor, now, zone_of(request))
            return render(request, "homes/inspector.html", rows=rows, now=now)
        if role == Role.SUPERVISOR:
            tallies = await oversight.oversight(actor, now)
            return render(request, "homes/supervisor.html", tallies=tallies, now=now)
        if role == Role.ADMIN:
            media = request.app.state.settings.media_path
            return render(request, "homes/admin.html", health=await health.health(actor, media))
        return render(request, "homes/viewer.html")
