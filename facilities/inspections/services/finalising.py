"""Finalising a submitted inspection: a reviewer signs it off, and with it the inspection is
graded (BCI and grade A-E from the recorded conditions and findings), the asset's grade and the
schedule's next due date are updated, tickets are opened for urgent findings and failed
checklist items, and the rules (:mod:`.rules`) run, all in one transaction. Once it has
committed, the report is rendered and filed (:mod:`.report_archive`; a failure there leaves the
finalisation standing)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import SYSTEM, Actor, require
from facilities.assets import services as assets
from facilities.audit import services as audit
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.inspections.choices import (
    AUTO_TICKET_URGENCIES,
    Anchor,
    Answer,
    DefectType,
    FindingStatus,
    Severity,
    State,
    Urgency,
)
from facilities.inspections.services import report_archive, safety
from facilities.inspections.services.finding_tickets import _finding_to_ticket, finding_to_ticket
from facilities.inspections.services.records import _step, flag_no_restriction, get_inspection
from facilities.inspections.services.rules import evaluate_rules
from facilities.inspections.services.safety import grade_inspection
from facilities.inspections.services.schedules import effective_rule, first_due
from facilities.inspections.services.teams import checklist_items
from facilities.inspections.tables import (
    Finding,
    Inspection,
    InspectionSchedule,
)
from facilities.lib import condition
from facilities.records import loads


async def finalise(
    actor: Actor,
    inspection_id: int,
    version: int,
    zone: ZoneInfo,
    media_root: Path,
    now: dt.datetime,
    *,
    finalise_anyway: bool = False,
    unscored_reason: str = "",
    no_restriction_reason: str = "",
) -> Inspection:
    """A reviewer signs the inspection off: grade it, update the asset's grade, schedule the
    next one, open tickets for urgent findings and failed items, and run the rules.

    Refused (``ValidationFailed``, by field) without a recommendation; for "no restriction" at
    grade D or E without a reason (the inspector's, or ``no_restriction_reason`` given here);
    and when a component of the asset is unscored, unless ``finalise_anyway`` with an
    ``unscored_reason``, which is stored and audited with the components' names."""
    require(actor, Perm.INSPECTIONS_FINALISE)
    async with db.transaction():
        inspection = await get_inspection(actor, inspection_id)
        index, grade, direct = await grade_inspection(inspection.id)
        checked: dict[Any, Any] = {}
        flag = None
        cover = None
        if inspection.version == version and inspection.state == State.SUBMITTED:
            reason = inspection.no_restriction_reason or no_restriction_reason.strip()
            errors = safety.recommendation_errors(inspection.recommendation, grade, reason)
            cover = await safety.coverage(inspection)
            if not cover.complete and not finalise_anyway:
                errors["finalise_anyway"] = cover.message()
            elif not cover.complete and not unscored_reason.strip():
                errors["unscored_reason"] = _(
                    "Give the reason for finalising with components not scored."
                )
            if errors:
                raise ValidationFailed(errors)
            if safety.needs_reason(inspection.recommendation, grade):
                checked[Inspection.no_restriction_reason] = reason
                if inspection.flagged_grade != grade:
                    flag = checked[Inspection.flagged_grade] = grade
            if not cover.complete:
                checked[Inspection.unscored_reason] = unscored_reason.strip()
        open_direct = await Finding.exists().where(
            (Finding.asset == inspection.asset)
            & (Finding.is_direct_control == True)  # noqa: E712
            & (Finding.status != FindingStatus.RESOLVED)
            & (Finding.inspection != inspection.id)
        )
        passed = (
            grade is not None
            and condition.grade_rank(grade) <= condition.grade_rank("C")
            and not direct
            and not open_direct
        )
        final = await _step(
            actor,
            inspection_id,
            version,
            (State.SUBMITTED,),
            {
                Inspection.state: State.FINAL,
                Inspection.completed_at: now,
                Inspection.reviewer: actor.id,
                Inspection.bci: index,
                Inspection.grade: grade,
                Inspection.passed: passed,
                **checked,
            },
            "finalised",
            now,
        )
        if cover is not None and not cover.complete:
            await audit.record(
                actor,
                "inspection.finalised_unscored",
                "inspection",
                final.id,
                now,
                after={
                    "scored": cover.scored,
                    "total": cover.total,
                    "unscored": cover.unscored,
                    "reason": final.unscored_reason,
                },
            )
        if flag is not None:
            await flag_no_restriction(actor, final, flag, final.no_restriction_reason, now)
        if grade is not None:
            await assets.set_condition_grade(
                SYSTEM, final.asset, grade, now.astimezone(zone).date(), now
            )
        if final.schedule is not None:
            await _schedule_after_completion(final.schedule, now, zone)
        await _tickets_from_inspection(actor, final, media_root, now)
        await evaluate_rules(final, zone, now)
    await report_archive.archive_after_finalise(actor, final.id, media_root, now)
    return final


async def _schedule_after_completion(schedule_id: int, now: dt.datetime, zone: ZoneInfo) -> None:
    schedule = (
        await InspectionSchedule.objects().where(InspectionSchedule.id == schedule_id).first()
    )
    if schedule is None:
        return
    values: dict[Any, Any] = {InspectionSchedule.last_completed_at: now}
    if schedule.anchor == Anchor.FLOATING:
        values[InspectionSchedule.next_due_at] = first_due(
            effective_rule(schedule), Anchor.FLOATING, schedule.starts_at, now, now, zone
        )
    await InspectionSchedule.update(values).where(InspectionSchedule.id == schedule_id)


async def _tickets_from_inspection(
    actor: Actor, inspection: Inspection, media_root: Path, now: dt.datetime
) -> None:
    findings = await Finding.objects().where(
        (Finding.inspection == inspection.id)
        & (Finding.status == FindingStatus.OPEN)
        & Finding.urgency.is_in(sorted(AUTO_TICKET_URGENCIES))
    )
    for finding in findings:
        await finding_to_ticket(SYSTEM, finding.id, media_root, now)
    items = await checklist_items(inspection)
    answers = loads(inspection.answers) or {}
    for item in items:
        answer = answers.get(item["key"], {})
        if answer.get("answer") == Answer.NOT_OK:
            await _failed_item_to_ticket(inspection, item, answer.get("note", ""), media_root, now)


async def _failed_item_to_ticket(
    inspection: Inspection,
    item: dict[str, Any],
    note: str,
    media_root: Path,
    now: dt.datetime,
) -> int:
    """A failed checklist item is recorded as a finding of the inspection (a critical item's as
    severe and short-term, P1; others moderate and medium-term, P2) and ticketed through it, so
    its ticket is linked to the inspection like any finding's and shows in its findings."""
    label = f"{item['zh']} {item.get('en', '')}".strip()
    title = _("Failed check: %(item)s") % {"item": label}
    critical = bool(item.get("critical"))
    finding = await Finding.insert(
        Finding(
            inspection=inspection.id,
            asset=inspection.asset,
            defect_type=DefectType.OTHER,
            severity=Severity.SEVERE if critical else Severity.MODERATE,
            urgency=Urgency.SHORT if critical else Urgency.MEDIUM,
            description=f"{title}\n{note}".strip(),
            created_at=now,
        )
    ).returning(Finding.id)
    return await _finding_to_ticket(SYSTEM, finding[0]["id"], media_root, now, title=title)
