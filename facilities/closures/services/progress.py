"""Linked repair work moving, told on the public timeline: the audit stream of ticket events is
read after a stored cursor and each public step becomes one bilingual entry per closure in
force (published at once or left as a draft), exactly once however often the job runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities.audit.tables import AuditEvent
from facilities.closures.choices import (
    IN_FORCE,
    TICKET_PROGRESS,
    NoticeSource,
    NoticeState,
    PublicProgress,
)
from facilities.closures.tables import Closure, ClosureTicket, Cursor, NoticeUpdate
from facilities.i18n import gettext as _
from facilities.i18n import use_locale
from facilities.records import loads

#: Ticket actions whose progress is drafted onto the public timeline.
PUBLIC_TICKET_ACTIONS = ("start", "complete", "accept", "close", "hold", "resume")


#: Longer than any request and its transaction take. PostgreSQL hands out audit ids at insert and
#: transactions commit in any order, so an event may become visible after events with higher
#: ids: a cursor moved to the highest id read would skip it for ever. An event recorded longer
#: ago than this is past that risk: every event with a lower id was inserted before it, so its
#: transaction has ended (committed and read, or rolled back).
PROGRESS_SETTLE = dt.timedelta(minutes=5)


async def draft_from_ticket_progress(
    now: dt.datetime, autopublish: frozenset[str], limit: int = 500
) -> int:
    """Turn transitions of linked tickets into bilingual timeline entries.

    Reads the audit stream after a stored cursor, ``limit`` events at a time; each (event,
    closure) becomes at most one entry (a unique key), so a rerun, a crash or a second scheduler
    adds nothing. The cursor moves only past events older than :data:`PROGRESS_SETTLE`, so
    recent events are read again by the next runs (adding nothing) and one that commits late
    is still read. Entries for the actions in ``autopublish`` are published at once; the others
    wait as drafts.
    """
    cursor = await Cursor.objects().where(Cursor.name == "ticket_progress").first()
    if cursor is None:
        await Cursor.insert(Cursor(name="ticket_progress", position=0)).on_conflict(
            action="DO NOTHING"
        )
        cursor = await Cursor.objects().where(Cursor.name == "ticket_progress").first()
    assert cursor is not None
    drafted = 0
    read = settled = cursor.position
    while True:
        events = (
            await AuditEvent.select(
                AuditEvent.id,
                AuditEvent.at,
                AuditEvent.action,
                AuditEvent.entity_id,
                AuditEvent.changes,
            )
            .where((AuditEvent.id > read) & (AuditEvent.entity_type == "ticket"))
            .order_by(AuditEvent.id)
            .limit(limit)
        )
        for event in events:
            drafted += await _draft_from_event(event, autopublish, now)
            if event["at"] <= now - PROGRESS_SETTLE:
                settled = event["id"]
        if len(events) < limit:
            break
        read = events[-1]["id"]
    if settled != cursor.position:
        await Cursor.update({Cursor.position: settled}).where(
            (Cursor.name == "ticket_progress") & (Cursor.position == cursor.position)
        )
    return drafted


async def _draft_from_event(
    event: dict[str, Any], autopublish: frozenset[str], now: dt.datetime
) -> int:
    """The entries one ticket event makes on the closures in force it is linked to."""
    action = event["action"].removeprefix("ticket.")
    if action not in PUBLIC_TICKET_ACTIONS:
        return 0
    status = (loads(event["changes"]).get("status") or [None, None])[1]
    progress = TICKET_PROGRESS.get(status or "")
    if progress is None:
        return 0
    links = await ClosureTicket.select(
        ClosureTicket.closure,
        ClosureTicket.public_label_zh,
        ClosureTicket.public_label_en,
        ClosureTicket.closure.status.as_alias("closure_status"),
    ).where(ClosureTicket.ticket == event["entity_id"])
    drafted = 0
    for link in links:
        if link["closure_status"] in IN_FORCE:
            drafted += await _draft_progress(
                link, progress, event["id"], action in autopublish, now
            )
    return drafted


async def _draft_progress(
    link: dict[str, Any], progress: PublicProgress, event_id: int, publish: bool, now: dt.datetime
) -> int:
    with use_locale("zh_CN"):
        zh = _("%(work)s: %(progress)s.") % {
            "work": link["public_label_zh"],
            "progress": progress.label,
        }
    with use_locale("en"):
        en = _("%(work)s: %(progress)s.") % {
            "work": link["public_label_en"] or link["public_label_zh"],
            "progress": progress.label,
        }
    rows = (
        await NoticeUpdate.insert(
            NoticeUpdate(
                closure=link["closure"],
                state=NoticeState.PUBLISHED if publish else NoticeState.DRAFT,
                source=NoticeSource.TICKET,
                dedupe_key=f"ticket-event:{event_id}:{link['closure']}",
                text_zh=zh,
                text_en=en,
                created_at=now,
                published_at=now if publish else None,
            )
        )
        .on_conflict(action="DO NOTHING")
        .returning(NoticeUpdate.id)
    )
    if rows:  # the public progress of the linked work changed, draft or not: new ETag
        await Closure.update({Closure.updated_at: now}).where(Closure.id == link["closure"])
    return len(rows)
