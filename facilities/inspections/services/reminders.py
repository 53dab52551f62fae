"""Reminders and escalation of open inspections: before the due date, on the due day, overdue to
the team lead and, days later, to the supervisors. Each goes out once per inspection and kind
(a unique ``ReminderSent`` key claimed in the same transaction as the outbox messages)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from facilities import db
from facilities.accounts import services as accounts
from facilities.inspections.choices import State
from facilities.inspections.tables import Inspection, ReminderSent, Team
from facilities.notifications.choices import StaffEvent
from facilities.notifications.preferences import StaffRecipient, deliver_to_staff

#: Days after the tolerance window before an overdue inspection goes to the supervisors.
ESCALATE_TO_SUPERVISOR_AFTER = dt.timedelta(days=3)


async def _claim(key: str, inspection_id: int, kind: str, now: dt.datetime) -> bool:
    rows = (
        await ReminderSent.insert(
            ReminderSent(key=key, inspection=inspection_id, kind=kind, sent_at=now)
        )
        .on_conflict(action="DO NOTHING")
        .returning(ReminderSent.id)
    )
    return bool(rows)


async def _team_recipients(
    team_id: int | None,
) -> tuple[list[StaffRecipient], list[StaffRecipient]]:
    """(team mailbox and lead, lead only); the mailbox is nobody's to choose for."""
    if team_id is None:
        return [], []
    team = (
        await Team.select(
            Team.email,
            Team.lead.as_alias("lead_id"),
            Team.lead.email.as_alias("lead_email"),
            Team.lead.language.as_alias("lead_language"),
        )
        .where(Team.id == team_id)
        .first()
    )
    if team is None:
        return [], []
    lead = (
        [StaffRecipient(team["lead_email"], team["lead_language"] or "zh_CN", team["lead_id"])]
        if team["lead_email"]
        else []
    )
    mailbox = [StaffRecipient(team["email"], "zh_CN")] if team["email"] else []
    return mailbox + lead, lead


async def send_reminders(now: dt.datetime, zone: ZoneInfo, limit: int = 1000) -> int:
    """Before due (lead days ahead, or one day), on the due day, overdue to the team lead, and
    overdue for days to the supervisors: each exactly once per inspection (a unique key per
    kind), and an inspection already overdue skips the earlier, now pointless, reminders."""
    rows = (
        await Inspection.select(
            Inspection.id,
            Inspection.due_at,
            Inspection.window_ends_at,
            Inspection.team,
            Inspection.inspection_type,
            Inspection.asset.code.as_alias("asset_code"),
            Inspection.asset.name_zh.as_alias("asset_name"),
            Inspection.schedule.lead_days.as_alias("lead_days"),
        )
        .where(
            Inspection.state.is_in([State.PLANNED, State.IN_PROGRESS])
            & (Inspection.due_at <= now + dt.timedelta(days=60))
        )
        .order_by(Inspection.due_at)
        .limit(limit)
    )
    sent = 0
    for row in rows:
        window_end = row["window_ends_at"] or row["due_at"]
        lead = dt.timedelta(days=row["lead_days"] or 1)
        today = now.astimezone(zone).date()
        due_day = row["due_at"].astimezone(zone).date()
        kinds: list[str] = []
        if now > window_end + ESCALATE_TO_SUPERVISOR_AFTER:
            kinds = ["overdue_lead", "overdue_supervisor"]
        elif now > window_end:
            kinds = ["overdue_lead"]
        elif today >= due_day:
            kinds = ["due_day"]
        elif now >= row["due_at"] - lead:
            kinds = ["before_due"]
        for kind in kinds:
            sent += await _remind(row, kind, now)
    return sent


async def _remind(row: dict[str, Any], kind: str, now: dt.datetime) -> int:
    everyone, lead = await _team_recipients(row["team"])
    recipients = {
        "before_due": everyone,
        "due_day": everyone,
        "overdue_lead": lead or everyone,
        "overdue_supervisor": await accounts.supervisor_recipients(),
    }[kind]
    due = kind in ("before_due", "due_day")
    event = StaffEvent.INSPECTION_DUE if due else StaffEvent.INSPECTION_OVERDUE
    async with db.transaction():
        if not await _claim(f"{row['id']}:{kind}", row["id"], kind, now):
            return 0
        for recipient in recipients:
            await deliver_to_staff(
                recipient,
                event,
                template=f"inspection_{kind}",
                now=now,
                context={
                    "inspection_id": row["id"],
                    "asset_code": row["asset_code"],
                    "asset_name": row["asset_name"],
                    "due": row["due_at"],
                    "inspection_type": row["inspection_type"],
                },
                dedupe_key=f"inspection:{row['id']}:{kind}:{recipient.email}",
            )
    return 1
