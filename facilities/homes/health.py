"""The administrator's home: is the system well? The scheduler's jobs (when each last ran, the
recent failures), the outbox (mail waiting, mail given up on), the free space where uploads are
stored, and the staff accounts.

Jobs and runs are read through :mod:`facilities.jobs` (jobs.view), the outbox through
:mod:`facilities.notifications`, users through :mod:`facilities.accounts` (users.manage): a
home is never a way round a permission.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from facilities.accounts import services as accounts
from facilities.accounts.permissions import Actor
from facilities.homes.tally import CAP, Tally, tally
from facilities.i18n import gettext as _
from facilities.jobs import services as jobs
from facilities.notifications import services as notifications
from facilities.notifications.choices import Status as MailStatus

#: Below this share of free space the disk is shown as a warning.
LOW_DISK_SHARE = 0.10


@dataclasses.dataclass(frozen=True)
class Disk:
    path: str
    total: int
    free: int

    @property
    def free_share(self) -> float:
        return self.free / self.total if self.total else 0.0

    @property
    def is_low(self) -> bool:
        return self.free_share < LOW_DISK_SHARE


@dataclasses.dataclass(frozen=True)
class Health:
    jobs: list[dict[str, Any]]  # the timetable, each with its ``last_run`` (or None)
    failures: Tally  # failed runs among the last CAP
    mail_waiting: int
    mail_failed: int
    disk: Disk | None  # None: the media folder's disk cannot be read
    users_active: int
    users_by_role: dict[str, int]


def disk_of(folder: Path) -> Disk | None:
    """Free space of the disk holding ``folder`` (its nearest existing parent before the first
    upload creates it)."""
    probe = folder.resolve()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        usage = shutil.disk_usage(probe)
    except OSError:
        return None
    return Disk(path=str(folder), total=usage.total, free=usage.free)


async def health(actor: Actor, media: Path) -> Health:
    runs = await jobs.list_runs(actor, limit=CAP + 1)
    last: dict[str, dict[str, Any]] = {}
    for run in runs:  # newest first: the first seen per job is its last run
        last.setdefault(run["job_id"], run)
    timetable = [
        {**job, "last_run": last.get(job["job_id"])} for job in await jobs.list_timetable(actor)
    ]
    outbox = await notifications.backlog()
    users = [u for u in await accounts.list_users(actor) if u.is_active]
    return Health(
        jobs=timetable,
        failures=tally("run", _("Failed job runs"), "/jobs", [r for r in runs if r["error"]]),
        mail_waiting=outbox.get(MailStatus.PENDING, 0) + outbox.get(MailStatus.SENDING, 0),
        mail_failed=outbox.get(MailStatus.FAILED, 0),
        disk=disk_of(media),
        users_active=len(users),
        users_by_role=dict(Counter(str(u.role) for u in users)),
    )
