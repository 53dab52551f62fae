"""Reminders that keep the notice honest: a promise about to slip while a reopening criterion is
still unmet (linked work open, no passed acceptance inspection, a bad grade or no sign-off: the
reopening gate's criteria; the supervisors are alerted and a delay notice drafted), and a
closure whose notice has been quiet too long; each once, by a unique key."""

from __future__ import annotations

import datetime as dt

from facilities import db
from facilities.accounts import services as accounts
from facilities.assets.tables import Asset
from facilities.closures.choices import IN_FORCE, NoticeSource, NoticeState
from facilities.closures.services.common import (
    DONE_TICKET_STATUSES,
    IRRELEVANT_TICKET_STATUSES,
    bilingual,
)
from facilities.closures.services.reading import linked_tickets
from facilities.closures.services.reopening_gate import gate
from facilities.closures.tables import Closure, ClosurePromise, NoticeUpdate
from facilities.i18n import N_
from facilities.notifications.choices import StaffEvent
from facilities.notifications.preferences import deliver_to_staff


async def warn_promise_slips(now: dt.datetime, days: int) -> int:
    """A promise is about to slip (reopening within ``days`` while a reopening criterion is
    unmet: open linked work, no passed acceptance inspection, a bad grade, no sign-off): alert
    the supervisors and draft a delay notice, once per promise."""
    horizon = (now + dt.timedelta(days=days)).date()
    closures = await Closure.objects().where(
        Closure.status.is_in(sorted(IN_FORCE))
        & Closure.planned_reopen_on.is_not_null()
        & (Closure.planned_reopen_on <= horizon)
    )
    codes = {
        row["id"]: row["code"]
        for row in await Asset.select(Asset.id, Asset.code).where(
            Asset.id.is_in(sorted({c.asset for c in closures}) or [0])
        )
    }
    warned = 0
    for closure in closures:
        unmet = [c for c in (await gate(closure)).criteria if not c.met]
        if not unmet:
            continue
        open_work = [
            t
            for t in await linked_tickets(closure.id)
            if t["status"] not in DONE_TICKET_STATUSES
            and t["status"] not in IRRELEVANT_TICKET_STATUSES
        ]
        promise = (
            await ClosurePromise.select(ClosurePromise.id)
            .where(ClosurePromise.closure == closure.id)
            .order_by(ClosurePromise.id, ascending=False)
            .first()
        )
        key = f"slip:{closure.id}:{promise['id'] if promise else 0}"
        async with db.transaction():
            zh, en = bilingual(
                N_(
                    "The repair is taking longer than planned; "
                    "a new reopening date will be announced."
                )
            )
            drafted = (
                await NoticeUpdate.insert(
                    NoticeUpdate(
                        closure=closure.id,
                        state=NoticeState.DRAFT,
                        source=NoticeSource.SYSTEM,
                        dedupe_key=key,
                        text_zh=zh,
                        text_en=en,
                        created_at=now,
                    )
                )
                .on_conflict(action="DO NOTHING")
                .returning(NoticeUpdate.id)
            )
            if not drafted:
                continue
            for recipient in await accounts.supervisor_recipients():
                await deliver_to_staff(
                    recipient,
                    StaffEvent.CLOSURE_PROMISE_SLIP,
                    template="closure_promise_slip",
                    now=now,
                    context={
                        "closure_id": closure.id,
                        "asset_code": codes.get(closure.asset, ""),
                        "planned": closure.planned_reopen_on,
                        "open_tickets": len(open_work),
                        "unmet": [c.code for c in unmet],
                    },
                    dedupe_key=f"{key}:{recipient.email}",
                )
            warned += 1
    return warned


async def remind_quiet_notices(now: dt.datetime, days: int) -> int:
    """Remind the supervisors of closures in force with no published update for ``days``,
    once per quiet spell (the key names the newest update)."""
    closures = await Closure.select(
        Closure.id, Closure.activated_at, Closure.asset.code.as_alias("asset_code")
    ).where(Closure.status.is_in(sorted(IN_FORCE)))
    reminded = 0
    for closure in closures:
        latest = (
            await NoticeUpdate.select(NoticeUpdate.id, NoticeUpdate.published_at)
            .where(
                (NoticeUpdate.closure == closure["id"])
                & (NoticeUpdate.state == NoticeState.PUBLISHED)
            )
            .order_by(NoticeUpdate.published_at, ascending=False)
            .first()
        )
        since = latest["published_at"] if latest else closure["activated_at"]
        if since is None or now - since < dt.timedelta(days=days):
            continue
        key = f"quiet:{closure['id']}:{latest['id'] if latest else 0}"
        queued = 0
        for recipient in await accounts.supervisor_recipients():
            queued += (
                await deliver_to_staff(
                    recipient,
                    StaffEvent.CLOSURE_QUIET,
                    template="closure_quiet",
                    now=now,
                    context={
                        "closure_id": closure["id"],
                        "asset_code": closure["asset_code"],
                        "since": since,
                    },
                    dedupe_key=f"{key}:{recipient.email}",
                )
                is not None
            )
        reminded += 1 if queued else 0  # a rerun queues nothing and counts nothing
    return reminded
