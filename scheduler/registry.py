"""The whole timetable on one screen.

Triggers run in the bureau's zone. Sub-hourly work uses intervals; daily work uses cron times that
exist on every day of the year (no 02:xx, which daylight-saving zones skip or repeat).
Every job also runs once as soon as a scheduler becomes the leader (see ``runner.build_scheduler``):
a run that fell due while no process led is not lost, and each job is idempotent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from facilities.i18n import N_
from facilities.notifications import services as outbox
from facilities.settings import Settings
from scheduler.jobs import accounts, closures, inspections, notifications, tickets


class Outcome(Protocol):
    """What a job returns: a count of items handled (``int()``), optionally with a ``detail``
    line for the run history (e.g. "3 missed occurrences coalesced")."""

    def __int__(self) -> int: ...


JobFunc = Callable[[dt.datetime, Settings], Awaitable[int | Outcome]]


@dataclasses.dataclass(frozen=True)
class JobSpec:
    id: str
    func: JobFunc
    trigger: Callable[[Any], BaseTrigger]  # zone -> trigger
    schedule: str
    description: str
    # Called when a run is cancelled at shutdown (it overran the grace period) with the run's
    # logical ``now``: give back whatever the run claimed so the next leader takes it at once.
    release: Callable[[dt.datetime], Awaitable[int]] | None = None


JOBS: list[JobSpec] = [
    JobSpec(
        id="deliver_notifications",
        func=notifications.deliver,
        trigger=lambda zone: IntervalTrigger(seconds=30, timezone=zone),
        schedule=N_("every 30 s"),
        description=N_("Send due e-mails from the outbox, retrying failures with backoff"),
        release=outbox.release_claims_at,
    ),
    JobSpec(
        id="raise_inspections",
        func=inspections.raise_due,
        trigger=lambda zone: IntervalTrigger(minutes=10, timezone=zone),
        schedule=N_("every 10 min"),
        description=N_("Raise one inspection per due schedule occurrence (missed ones coalesced)"),
    ),
    JobSpec(
        id="inspection_reminders",
        func=inspections.remind,
        trigger=lambda zone: CronTrigger(hour="8-18", minute=5, timezone=zone),
        schedule=N_("hourly 08:05-18:05"),
        description=N_("Remind teams before and on the due day; escalate overdue inspections"),
    ),
    JobSpec(
        id="escalate_sla_breaches",
        func=tickets.escalate,
        trigger=lambda zone: IntervalTrigger(minutes=15, timezone=zone),
        schedule=N_("every 15 min"),
        description=N_("Tell supervisors once about each ticket that passed its SLA due date"),
    ),
    JobSpec(
        id="activate_closures",
        func=closures.activate,
        trigger=lambda zone: IntervalTrigger(minutes=1, timezone=zone),
        schedule=N_("every minute"),
        description=N_("Put planned closures in force at their start and publish the notice"),
    ),
    JobSpec(
        id="announce_reopenings",
        func=closures.announce_reopenings,
        trigger=lambda zone: IntervalTrigger(minutes=1, timezone=zone),
        schedule=N_("every minute"),
        description=N_("Announce each verified reopening when its time arrives"),
    ),
    JobSpec(
        id="draft_notice_updates",
        func=closures.draft_progress,
        trigger=lambda zone: IntervalTrigger(minutes=1, timezone=zone),
        schedule=N_("every minute"),
        description=N_("Draft (or publish) notice entries from linked repair tickets' progress"),
    ),
    JobSpec(
        id="notify_subscribers",
        func=closures.fan_out,
        trigger=lambda zone: IntervalTrigger(minutes=1, timezone=zone),
        schedule=N_("every minute"),
        description=N_("Queue an e-mail to each subscriber for every published notice update"),
    ),
    JobSpec(
        id="warn_promise_slips",
        func=closures.warn_slips,
        trigger=lambda zone: CronTrigger(hour=8, minute=30, timezone=zone),
        schedule=N_("daily 08:30"),
        description=N_("Alert staff and draft a delay notice when a promised reopening is at risk"),
    ),
    JobSpec(
        id="remind_quiet_notices",
        func=closures.remind_quiet,
        trigger=lambda zone: CronTrigger(hour=9, minute=0, timezone=zone),
        schedule=N_("daily 09:00"),
        description=N_("Remind staff of closures without a published update for too long"),
    ),
    JobSpec(
        id="send_digests",
        func=notifications.send_digests,
        # due-state is the digest items and FACILITIES_DIGEST_TIME, so a changed time needs no
        # new trigger and a digest missed while down goes at the next check
        trigger=lambda zone: CronTrigger(minute="*/5", timezone=zone),
        schedule=N_("every 5 min"),
        description=N_("Send each person who chose a daily digest theirs, at the digest time"),
    ),
    JobSpec(
        id="purge_expired",
        func=accounts.purge,
        trigger=lambda zone: CronTrigger(hour=4, minute=10, timezone=zone),
        schedule=N_("daily 04:10"),
        description=N_("Delete expired staff sessions and old rate-limit counters"),
    ),
]

BY_ID = {spec.id: spec for spec in JOBS}
