"""The staff page listing scheduler jobs, their next run and recent runs."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import QueryParameter
from litestar.response import Template

from facilities.accounts.guards import require_actor
from facilities.jobs import services as jobs
from facilities.notifications import services as notifications
from facilities.web.auth import staff_guard
from facilities.web.responses import render


class JobController(Controller):
    path = "/jobs"
    guards = [staff_guard]
    include_in_schema = False

    @get("/")
    async def index(
        self, request: Request[Any, Any, Any], job: Annotated[str, QueryParameter()] = ""
    ) -> Template:
        actor = require_actor(request)
        return render(
            request,
            "jobs/index.html",
            timetable=await jobs.list_timetable(actor),
            runs=await jobs.list_runs(actor, job_id=job[:64] or None),
            outbox=await notifications.backlog(),
            selected=job[:64],
        )
