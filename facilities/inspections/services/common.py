"""What several inspection services share: which states count as open, and the key that names
one occurrence of a schedule (raising keys inspections by it; the calendar derives its UIDs
from it, so a projected occurrence keeps its UID once raised)."""

from __future__ import annotations

import datetime as dt

from facilities.inspections.choices import State

OPEN_STATES = (State.PLANNED, State.IN_PROGRESS, State.SUBMITTED)


def occurrence_key(schedule_id: int, occurrence: dt.datetime) -> str:
    return f"{schedule_id}:{occurrence.astimezone(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}"
