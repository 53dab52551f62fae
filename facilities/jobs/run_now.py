"""Running one scheduled job now, by hand, from the web (an administrator's "run now").

The timetable lives in ``scheduler/registry.py``, above every domain; the app hands it down
once (:func:`use_timetable`), as the composition root fills the other slots, so this module
runs exactly what the scheduler and ``python -m scheduler run <job>`` run.

The guard against double runs: a run by hand is refused (409) while a run of the same job is
still open in the history (started within :data:`RUNNING_FOR_AT_MOST` and not finished, whoever
started it: the scheduler, the command line or a click). The check and the run's own history row
are written in one transaction, under a per-job lock on PostgreSQL (IMMEDIATE on SQLite), so two
clicks at once start one run. Jobs are idempotent anyway; the guard spares the work and keeps the
history readable. A run that fails is recorded with its error and answered, never a 500.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import zlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.errors import Conflict, NotFound
from facilities.i18n import gettext as _
from facilities.jobs import services as jobs
from facilities.jobs.tables import JobRun

log = logging.getLogger(__name__)

#: An open run older than this is taken to have died without closing its row (a new leader
#: closes such rows too, see ``jobs.abandon_runs``); it no longer blocks a run by hand.
RUNNING_FOR_AT_MOST = dt.timedelta(hours=1)


class Spec(Protocol):
    """What a timetable entry offers (``scheduler.registry.JobSpec``)."""

    @property
    def id(self) -> str: ...
    @property
    def func(self) -> Callable[[dt.datetime, Any], Awaitable[Any]]: ...
    @property
    def description(self) -> str: ...
    @property
    def schedule(self) -> str: ...


_timetable: dict[str, Spec] = {}


def use_timetable(specs: Sequence[Spec]) -> None:
    """Called by the app with ``scheduler.registry.JOBS``. Cheap and safe to repeat."""
    _timetable.clear()
    _timetable.update({spec.id: spec for spec in specs})


def timetable() -> list[Spec]:
    """The jobs that can be run by hand, in timetable order."""
    return list(_timetable.values())


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    run: dict[str, Any]  # the job_run row as recorded
    ok: bool


async def _lock(job_id: str) -> None:
    """A per-job lock held to the end of the transaction (PostgreSQL; SQLite's IMMEDIATE
    transaction already holds the whole database)."""
    if not db.is_sqlite():
        await JobRun.raw("SELECT pg_advisory_xact_lock({})", zlib.crc32(job_id.encode()))


async def _claim(job_id: str, runner: str, now: dt.datetime) -> int:
    async with db.transaction():
        await _lock(job_id)
        running = await JobRun.exists().where(
            (JobRun.job_id == job_id)
            & JobRun.finished_at.is_null()
            & (JobRun.started_at > now - RUNNING_FOR_AT_MOST)
        )
        if running:
            raise Conflict(_("This job is running already. Wait for it to finish, then try again."))
        return await jobs.start_run(job_id, now, runner, "manual")


async def run_now(
    actor: Actor,
    job_id: str,
    settings: Any,
    now: dt.datetime,
    clock: Callable[[], dt.datetime] | None = None,
) -> RunOutcome:
    """Run the job once, as ``python -m scheduler run`` does, with ``now`` as its logical time,
    and record it in the run history (trigger "manual", runner "web: <user name>": who ran it);
    ``clock`` reads the finishing time (the app's clock; ``now`` without one). Returns the
    recorded run. NotFound for a job the timetable does not have; Conflict while one is open."""
    require(actor, Perm.JOBS_RUN)
    spec = _timetable.get(job_id)
    if spec is None:
        raise NotFound(_("No such job."))
    run_id = await _claim(job_id, f"web: {actor.username}", now)
    finished = clock or (lambda: now)
    try:
        outcome = await spec.func(now, settings)
    except Exception as exc:  # recorded and answered: a failed job is news, not a 500
        log.exception("job %s failed (run by hand)", job_id)
        await jobs.finish_run(run_id, finished(), 0, f"{type(exc).__name__}: {exc}")
        ok = False
    else:
        detail = str(getattr(outcome, "detail", ""))
        await jobs.finish_run(run_id, finished(), int(outcome), detail=detail)
        ok = True
    row = await JobRun.select().where(JobRun.id == run_id).first()
    return RunOutcome(run=row or {}, ok=ok)
