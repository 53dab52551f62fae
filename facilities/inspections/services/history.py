"""What an asset's final inspections say: its grade over time (the condition history chart), the
inspections recommending a closure, and what the reopening gate of a closure reads (the newest
acceptance inspection, the open direct-control findings)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.audit import services as audit
from facilities.inspections.choices import FindingStatus, InspectionType, Recommendation, State
from facilities.inspections.tables import Finding, Inspection


async def audit_trail(actor: Actor, inspection_id: int) -> list[dict[str, Any]]:
    """What was done to one inspection (planned, recorded, findings, finalised ...), newest
    first: its page shows it as its history."""
    require(actor, Perm.INSPECTIONS_VIEW)
    return await audit.list_events("inspection", inspection_id)


async def grade_history(asset_id: int) -> list[dict[str, Any]]:
    """(completed_at, grade, bci) of the asset's final graded inspections, oldest first."""
    return (
        await Inspection.select(
            Inspection.id,
            Inspection.completed_at,
            Inspection.grade,
            Inspection.bci,
            Inspection.inspection_type,
        )
        .where(
            (Inspection.asset == asset_id)
            & (Inspection.state == State.FINAL)
            & Inspection.grade.is_not_null()
        )
        .order_by(Inspection.completed_at)
    )


async def recommendation_closures(asset_id: int) -> list[dict[str, Any]]:
    """Latest final inspections recommending a closure (shown to staff beside proposals)."""
    return (
        await Inspection.select(Inspection.id, Inspection.recommendation, Inspection.completed_at)
        .where(
            (Inspection.asset == asset_id)
            & (Inspection.state == State.FINAL)
            & Inspection.recommendation.is_in(
                [r.value for r in Recommendation if r != Recommendation.NONE]
            )
        )
        .order_by(Inspection.completed_at, ascending=False)
        .limit(5)
    )


async def latest_acceptance(asset_id: int, since: dt.datetime | None = None) -> Inspection | None:
    """The newest final acceptance inspection of an asset (the reopening gate reads it)."""
    query = Inspection.objects().where(
        (Inspection.asset == asset_id)
        & (Inspection.state == State.FINAL)
        & (Inspection.inspection_type == InspectionType.ACCEPTANCE)
    )
    if since is not None:
        query = query.where(Inspection.completed_at >= since)
    # The id breaks a tie (two finalised at the same instant): "the newest" is then the one
    # finalised last, on both engines, instead of whichever row the database returns first.
    return await (
        query.order_by(Inspection.completed_at, ascending=False)
        .order_by(Inspection.id, ascending=False)
        .first()
    )


async def open_direct_control_findings(asset_id: int) -> int:
    return await Finding.count().where(
        (Finding.asset == asset_id)
        & (Finding.is_direct_control == True)  # noqa: E712
        & (Finding.status != FindingStatus.RESOLVED)
    )
