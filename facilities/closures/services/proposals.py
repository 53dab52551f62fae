"""Closures proposed by inspection rules: the list waiting for a decision, the closure a proposal
stands for, and approving (the closure is created in force) or dismissing it, once.

The proposals belong to inspections: this module reads them and records each decision through
``inspections.services.decide_proposal``; it never writes their table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.audit import services as audit
from facilities.closures.choices import Reason, SafetyMeasure, Scope
from facilities.closures.schemas import ClosureIn
from facilities.closures.services.common import bilingual
from facilities.closures.services.editing import create_closure
from facilities.closures.tables import Closure
from facilities.i18n import N_
from facilities.inspections import services as inspections
from facilities.inspections.tables import ClosureProposal

PROPOSED, APPROVED, DISMISSED = inspections.PROPOSED, inspections.APPROVED, inspections.DISMISSED


async def list_proposals(actor: Actor, asset_id: int | None = None) -> list[dict[str, Any]]:
    """Closures the inspection rules proposed and nobody decided yet, newest first."""
    require(actor, Perm.CLOSURES_VIEW)
    query = ClosureProposal.select(
        *ClosureProposal.all_columns(),
        ClosureProposal.asset.code.as_alias("asset_code"),
        ClosureProposal.asset.name_zh.as_alias("asset_name_zh"),
        ClosureProposal.asset.name_en.as_alias("asset_name_en"),
        ClosureProposal.inspection.grade.as_alias("grade"),
        ClosureProposal.inspection.inspection_type.as_alias("inspection_type"),
    ).where(ClosureProposal.status == PROPOSED)
    if asset_id is not None:
        query = query.where(ClosureProposal.asset == asset_id)
    return await query.order_by(ClosureProposal.created_at, ascending=False).order_by(
        ClosureProposal.id, ascending=False
    )


def proposal_to_closure(proposal: dict[str, Any], now: dt.datetime) -> ClosureIn:
    """The closure a proposal stands for, in force at once: a structural defect found by the
    inspection, the site fenced and signed; a restricted one keeps the asset's crowd limit
    (or, without one, opens only under a guard's control). Staff refine it afterwards."""
    scope = Scope(proposal["scope"]) if proposal["scope"] in {*Scope} else Scope.FULL
    params = {"id": proposal["inspection"], "grade": proposal["grade"] or "—"}
    zh, en = bilingual(
        N_("Inspection #%(id)s (grade %(grade)s) found the facility unsafe to use."), **params
    )
    summary = (proposal["reason"] or "").strip()
    measures = [SafetyMeasure.FENCING, SafetyMeasure.WARNING_SIGNS]
    crowd_limit, hours_zh, hours_en = None, "", ""
    if scope == Scope.RESTRICTED:
        measures.append(SafetyMeasure.CROWD_CONTROL)
        crowd_limit = proposal["asset_crowd_limit"]
        if crowd_limit is None:
            hours_zh, hours_en = bilingual(N_("Open only while a guard controls access"))
            measures.append(SafetyMeasure.GUARD_ON_DUTY)
    return ClosureIn(
        asset_id=proposal["asset"],
        scope=scope,
        crowd_limit=crowd_limit,
        hours_zh=hours_zh,
        hours_en=hours_en,
        reason=Reason.STRUCTURAL_DEFECT,
        reason_zh=(f"{zh}\n{summary}" if summary else zh)[:2000],
        reason_en=en,
        safety_measures=measures,
        effective_from=now,
        is_urgent=scope == Scope.FULL,
    )


async def approve_proposal(actor: Actor, proposal_id: int, now: dt.datetime) -> Closure:
    """One click: the proposed closure is created (in force now) and the proposal marked
    approved, in one transaction; a proposal is decided once."""
    require(actor, Perm.CLOSURES_EDIT)
    async with db.transaction():
        proposal = await inspections.proposal_for_closure(proposal_id)
        await inspections.decide_proposal(actor, proposal_id, APPROVED, now)
        closure = await create_closure(
            actor, proposal_to_closure(proposal, now), now, proposal_id=proposal_id
        )
        await audit.record(
            actor,
            "closure.proposal_approved",
            "closure",
            closure.id,
            now,
            {"proposal": proposal_id, "proposal_status": PROPOSED},
            {"proposal": proposal_id, "proposal_status": APPROVED},
        )
    return closure


async def dismiss_proposal(actor: Actor, proposal_id: int, now: dt.datetime) -> None:
    require(actor, Perm.CLOSURES_EDIT)
    async with db.transaction():
        proposal = await inspections.proposal_for_closure(proposal_id)
        await inspections.decide_proposal(actor, proposal_id, DISMISSED, now)
        await audit.record(
            actor,
            "closure.proposal_dismissed",
            "closure_proposal",
            proposal_id,
            now,
            {"status": PROPOSED, "asset": proposal["asset"]},
            {"status": DISMISSED, "asset": proposal["asset"]},
        )
