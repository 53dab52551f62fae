"""The daily digest: one e-mail per person with the items they chose to get that way.

The digest goes out at a local time of day (``FACILITIES_DIGEST_TIME``). Its due-state is in the
table, not in the trigger: a run takes every unsent item created up to the latest digest time
that has passed, so a scheduler that was down at 07:30 sends at its next run, and an item that
arrives at 07:40 waits for tomorrow's. Per person, the items are claimed (``sent_at`` set by a
conditional update) in the same transaction that queues the e-mail: a second run, or a second
replica racing this one, claims nothing and sends nothing, and a crash before the commit leaves
the items unsent for the next run. The e-mail's dedupe key names the first item it carries, so
two digests of one person can only carry different items.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from facilities import db
from facilities.notifications import services
from facilities.notifications.choices import StaffEvent
from facilities.notifications.tables import DigestItem
from facilities.records import claim

TEMPLATE = "staff_digest"

#: What the digest adds about the person's own work (user id, now) -> template values, e.g.
#: their overdue tickets; plugged in by the scheduler, which may read the domains above.
Summary = Callable[[int, dt.datetime], Awaitable[dict[str, Any]]]


@dataclasses.dataclass(frozen=True)
class DigestGroup:
    kind: StaffEvent
    items: list[dict[str, Any]]


def last_digest_time(now: dt.datetime, zone: ZoneInfo, at: dt.time) -> dt.datetime:
    """The latest local ``at`` that is not after ``now``, as a UTC instant."""
    local = now.astimezone(zone)
    today = dt.datetime.combine(local.date(), at, tzinfo=zone)
    if today > local:
        today = dt.datetime.combine(local.date() - dt.timedelta(days=1), at, tzinfo=zone)
    return today.astimezone(dt.UTC)


def grouped(items: list[dict[str, Any]]) -> list[DigestGroup]:
    """The items by kind, in the order the kinds are listed, oldest first within each."""
    groups = []
    for kind in StaffEvent:
        mine = sorted(
            (i for i in items if i["kind"] == kind.value), key=lambda i: (i["created_at"], i["id"])
        )
        if mine:
            groups.append(DigestGroup(kind, mine))
    return groups


async def pending_count(user_id: int) -> int:
    """Items waiting for this person's next digest (shown on their preferences page)."""
    return int(
        await DigestItem.count().where((DigestItem.user == user_id) & DigestItem.sent_at.is_null())
    )


async def send_digests(
    now: dt.datetime,
    zone: ZoneInfo,
    at: dt.time,
    summary: Summary | None = None,
    limit: int = 500,
) -> int:
    """Queue one digest per person with items due (up to ``limit`` people a run); returns how
    many were queued."""
    cutoff = last_digest_time(now, zone, at)
    due = DigestItem.sent_at.is_null() & (DigestItem.created_at <= cutoff)
    people = (
        await DigestItem.select(DigestItem.user)
        .where(due)
        .distinct()
        .order_by(DigestItem.user)
        .limit(limit)
    )
    queued = 0
    for row in people:
        user_id = int(row["user"])
        work = await summary(user_id, now) if summary is not None else {}
        async with db.transaction():
            items = await claim(
                DigestItem,
                due & (DigestItem.user == user_id),
                {DigestItem.sent_at: now},
                DigestItem.id,
                DigestItem.kind,
                DigestItem.subject,
                DigestItem.link,
                DigestItem.created_at,
            )
            if not items:
                continue  # another run took them first
            person = (
                await DigestItem.select(
                    DigestItem.user.email.as_alias("email"),
                    DigestItem.user.language.as_alias("language"),
                    DigestItem.user.is_active.as_alias("is_active"),
                )
                .where(DigestItem.id == items[0]["id"])
                .first()
            )
            if not person or not person["email"] or not person["is_active"]:
                continue  # nobody to write to any more: the items are spent, not kept forever
            await services.enqueue(
                to=person["email"],
                template=TEMPLATE,
                context={"groups": grouped(items), "count": len(items), "work": work},
                language=person["language"] or "zh_CN",
                dedupe_key=f"digest:{user_id}:{min(i['id'] for i in items)}",
                now=now,
            )
            queued += 1
    return queued
