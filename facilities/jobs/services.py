"""Recording job runs and publishing the timetable."""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.i18n import N_
from facilities.jobs.tables import JobRun, ScheduledJob


async def start_run(job_id: str, now: dt.datetime, runner: str, trigger: str) -> int:
    rows = await JobRun.insert(
        JobRun(job_id=job_id, started_at=now, runner=runner[:128], trigger=trigger)
    ).returning(JobRun.id)
    return int(rows[0]["id"])


async def finish_run(
    run_id: int, finished_at: dt.datetime, items: int, error: str = "", detail: str = ""
) -> None:
    await JobRun.update(
        {
            JobRun.finished_at: finished_at,
            JobRun.items: items,
            JobRun.error: error[:4000],
            JobRun.detail: detail[:4000],
        }
    ).where(JobRun.id == run_id)


ABANDONED = N_("abandoned: its scheduler stopped (killed, or lost the database) before it finished")


async def abandon_runs(runner: str, now: dt.datetime) -> int:
    """Close the scheduled runs other schedulers left open (a new leader calls this as it takes
    over): their processes died or lost the lead, so /jobs would show them running forever.
    Manual runs (``python -m scheduler run``) are left alone: they may still be going. A run
    that does finish after all records its real outcome over this one."""
    rows = (
        await JobRun.update({JobRun.finished_at: now, JobRun.error: ABANDONED})
        .where(
            JobRun.finished_at.is_null()
            & (JobRun.runner != runner[:128])
            & (JobRun.trigger == "schedule")
        )
        .returning(JobRun.id)
    )
    return len(rows)


async def publish_timetable(entries: list[dict[str, Any]], runner: str, now: dt.datetime) -> None:
    """Replace the published timetable with the scheduler's current one (leader only)."""
    for entry in entries:
        values = {
            "description": entry["description"][:256],
            "schedule": entry["schedule"][:128],
            "next_run_at": entry["next_run_at"],
            "runner": runner[:128],
            "published_at": now,
        }
        updated = (
            await ScheduledJob.update({getattr(ScheduledJob, k): v for k, v in values.items()})
            .where(ScheduledJob.job_id == entry["job_id"])
            .returning(ScheduledJob.id)
        )
        if not updated:
            await ScheduledJob.insert(ScheduledJob(job_id=entry["job_id"], **values)).on_conflict(
                action="DO NOTHING"
            )
    known = [entry["job_id"] for entry in entries]
    if known:
        await ScheduledJob.delete().where(ScheduledJob.job_id.not_in(known))


async def list_timetable(actor: Actor) -> list[dict[str, Any]]:
    require(actor, Perm.JOBS_VIEW)
    return await ScheduledJob.select().order_by(ScheduledJob.job_id)


async def list_runs(
    actor: Actor, job_id: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    require(actor, Perm.JOBS_VIEW)
    query = (
        JobRun.select()
        .order_by(JobRun.started_at, ascending=False)
        .order_by(JobRun.id, ascending=False)
    )
    if job_id:
        query = query.where(JobRun.job_id == job_id)
    return await query.limit(limit)


async def run_counts() -> dict[str, tuple[int, int]]:
    """job id -> (runs, failed runs), over the recorded history."""
    rows = await JobRun.raw(
        "SELECT job_id, COUNT(*) AS runs, "
        "SUM(CASE WHEN error <> '' THEN 1 ELSE 0 END) AS failures FROM job_run GROUP BY job_id"
    )
    return {r["job_id"]: (int(r["runs"]), int(r["failures"] or 0)) for r in rows}
