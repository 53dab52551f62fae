"""The scheduler's jobs as JSON under /api/v1/jobs: what the /jobs page shows (each job with its
schedule, next run, last run and failures; the outbox; recent runs) for supervisors and
administrators (jobs.view), and "run now" for administrators (jobs.run, see :mod:`.run_now`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import PathParameter, QueryParameter

from facilities.accounts.choices import Perm
from facilities.accounts.guards import permission_guard, require_actor
from facilities.i18n import gettext as _
from facilities.jobs import run_now
from facilities.jobs import services as jobs
from facilities.notifications import services as notifications
from facilities.records import to_out
from facilities.web.auth import staff_guard
from facilities.web.errors import api_errors

JobId = Annotated[str, PathParameter(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]


class RunOut(msgspec.Struct, kw_only=True):
    """One run of one job: by the scheduler (``trigger`` "schedule") or by hand ("manual")."""

    id: int
    job_id: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    items: int
    error: str
    detail: str
    runner: str
    trigger: str


class JobOut(msgspec.Struct, kw_only=True):
    """A job of the timetable. ``next_run_at``, ``runner`` and ``published_at`` come from the
    leading scheduler's published timetable (null until one has published it)."""

    id: str
    description: str
    schedule: str
    next_run_at: dt.datetime | None
    runner: str
    published_at: dt.datetime | None
    last_run: RunOut | None
    runs: int
    failures: int


class JobsOut(msgspec.Struct, kw_only=True):
    jobs: list[JobOut]
    #: Messages in the outbox per status (pending, sending, sent, failed ...).
    outbox: dict[str, int]


class RunNowOut(msgspec.Struct, kw_only=True):
    """The run just made; ``ok`` is false when the job failed (its ``error`` says why)."""

    ok: bool
    run: RunOut


class JobApiController(Controller):
    path = "/api/v1/jobs"
    guards = [staff_guard, permission_guard(Perm.JOBS_VIEW)]
    tags = ["jobs"]

    @get("/", responses=api_errors(403))
    async def index(self, request: Request[Any, Any, Any]) -> JobsOut:
        """Every job of the timetable, in its order, with its last run and its counts of runs
        and failed runs; and the outbox."""
        actor = require_actor(request)
        published = {row["job_id"]: row for row in await jobs.list_timetable(actor)}
        counts = await jobs.run_counts()
        out = []
        for spec in run_now.timetable():
            seen = published.get(spec.id, {})
            last = await jobs.list_runs(actor, job_id=spec.id, limit=1)
            runs, failures = counts.get(spec.id, (0, 0))
            out.append(
                JobOut(
                    id=spec.id,
                    description=_(spec.description),
                    schedule=_(spec.schedule),
                    next_run_at=seen.get("next_run_at"),
                    runner=seen.get("runner", ""),
                    published_at=seen.get("published_at"),
                    last_run=to_out(RunOut, last[0]) if last else None,
                    runs=runs,
                    failures=failures,
                )
            )
        return JobsOut(jobs=out, outbox=await notifications.backlog())

    @get("/runs", responses=api_errors(403))
    async def runs(
        self,
        request: Request[Any, Any, Any],
        job: Annotated[str, QueryParameter(name="job", max_length=64)] = "",
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=200)] = 50,
    ) -> list[RunOut]:
        """Recent runs, newest first; ``job`` narrows to one job (as /jobs?job= does)."""
        rows = await jobs.list_runs(require_actor(request), job_id=job or None, limit=limit)
        return [to_out(RunOut, row) for row in rows]

    @post(
        "/{job_id:str}/run",
        status_code=200,
        guards=[permission_guard(Perm.JOBS_RUN)],
        responses=api_errors(403, 404, 409),
    )
    async def run(
        self, request: Request[Any, Any, Any], job_id: JobId, now: dt.datetime
    ) -> RunNowOut:
        """Run the job once, now (administrators), exactly as ``python -m scheduler run``
        does; answered when it has finished, failed or not. 409 while a run of the same job
        is still going (a double click starts one run); 404 for an unknown job."""
        state = request.app.state
        outcome = await run_now.run_now(
            require_actor(request), job_id, state.settings, now, state.clock
        )
        return RunNowOut(ok=outcome.ok, run=to_out(RunOut, outcome.run))
