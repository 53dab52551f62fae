"""Closure proposals: what the rules raise when an inspection finds a facility unsafe, and the
decision on each (approved or dismissed, once).

The ``ClosureProposal`` table belongs to inspections; the closures domain reads a proposal to
build the closure it stands for and records the decision through :func:`decide_proposal`, so
only this domain writes the table.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.errors import InvalidTransition
from facilities.i18n import gettext as _
from facilities.inspections.tables import ClosureProposal, Inspection
from facilities.records import claim, get_or_404

#: A proposal's statuses.
PROPOSED, APPROVED, DISMISSED = "proposed", "approved", "dismissed"


async def propose_closure(inspection: Inspection, scope: str, now: dt.datetime) -> int:
    """Propose closing the asset (``scope``) after ``inspection``; an open proposal of the same
    scope for the asset is reused, so a second grading proposes nothing new."""
    existing = (
        await ClosureProposal.select(ClosureProposal.id)
        .where(
            (ClosureProposal.asset == inspection.asset)
            & (ClosureProposal.status == PROPOSED)
            & (ClosureProposal.scope == scope)
        )
        .first()
    )
    if existing:
        return int(existing["id"])
    reason = _("Inspection #%(id)s graded %(grade)s.") % {
        "id": inspection.id,
        "grade": inspection.grade or "-",
    }
    if inspection.summary:
        reason = f"{reason} {inspection.summary}"
    row = ClosureProposal(
        asset=inspection.asset,
        inspection=inspection.id,
        scope=scope,
        reason=reason,
        status=PROPOSED,
        created_at=now,
    )
    await row.save()
    return int(row.id)


async def list_proposals(actor: Actor, asset_id: int | None = None) -> list[dict[str, Any]]:
    require(actor, Perm.INSPECTIONS_VIEW)
    query = ClosureProposal.select(
        *ClosureProposal.all_columns(),
        ClosureProposal.asset.code.as_alias("asset_code"),
    ).where(ClosureProposal.status == PROPOSED)
    if asset_id is not None:
        query = query.where(ClosureProposal.asset == asset_id)
    return await query.order_by(ClosureProposal.created_at, ascending=False)


async def proposal_for_closure(proposal_id: int) -> dict[str, Any]:
    """The proposal with what turning it into a closure needs (the asset's crowd limit, the
    inspection's grade), or NotFound."""
    query = ClosureProposal.select(
        *ClosureProposal.all_columns(),
        ClosureProposal.asset.crowd_limit.as_alias("asset_crowd_limit"),
        ClosureProposal.inspection.grade.as_alias("grade"),
    )
    row: dict[str, Any] = await get_or_404(
        query, ClosureProposal, proposal_id, _("No such closure proposal.")
    )
    return row


async def decide_proposal(actor: Actor, proposal_id: int, status: str, now: dt.datetime) -> None:
    """Mark the proposal ``status`` (APPROVED or DISMISSED), only if nobody decided it first: a
    proposal is decided once (the loser of a race gets InvalidTransition). The caller checks
    the permission to decide and runs this in its transaction."""
    claimed = await claim(
        ClosureProposal,
        (ClosureProposal.id == proposal_id) & (ClosureProposal.status == PROPOSED),
        {
            ClosureProposal.status: status,
            ClosureProposal.decided_at: now,
            ClosureProposal.decided_by: actor.id,
        },
    )
    if not claimed:
        raise InvalidTransition(_("This proposal was already decided."))
