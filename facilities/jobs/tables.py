"""Job history tables."""

from __future__ import annotations

from piccolo.columns import Integer, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table


class JobRun(Table, tablename="job_run"):
    """One run of one job, by the scheduler or by hand."""

    id = Serial(primary_key=True)
    job_id = Varchar(length=64, required=True, index=True)
    started_at = Timestamptz(index=True)
    finished_at = Timestamptz(null=True, default=None)
    items = Integer(default=0)
    error = Text(default="")
    detail = Text(default="")
    runner = Varchar(length=128, default="")
    trigger = Varchar(length=16, default="schedule")  # schedule | manual


class ScheduledJob(Table, tablename="scheduled_job"):
    """The timetable as the leading scheduler last published it."""

    id = Serial(primary_key=True)
    job_id = Varchar(length=64, unique=True, required=True)
    description = Varchar(length=256, default="")
    schedule = Varchar(length=128, default="")
    next_run_at = Timestamptz(null=True, default=None)
    runner = Varchar(length=128, default="")
    published_at = Timestamptz()
