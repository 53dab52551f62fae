"""Inspection records: planning one by hand, the inspector's steps (start, record answers and
component conditions, add findings and photos, submit), and reading a record back.

Every step compares the version the inspector saw and the state it is allowed from
(:func:`_step`), so a stale or out-of-turn save changes nothing and says so. Finalising a
submitted inspection is :mod:`.finalising`.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.accounts.tables import StaffUser
from facilities.assets.tables import Asset, Component
from facilities.audit import services as audit
from facilities.errors import Conflict, InvalidTransition, ValidationFailed
from facilities.i18n import gettext as _
from facilities.inspections.choices import FindingStatus, State
from facilities.inspections.schemas import FindingIn, InspectionIn, RecordIn
from facilities.inspections.services import safety
from facilities.inspections.services.common import OPEN_STATES
from facilities.inspections.services.teams import checklist_items, require_assigned
from facilities.inspections.tables import (
    ChecklistTemplate,
    ComponentCondition,
    Finding,
    Inspection,
    InspectionPhoto,
    Team,
)
from facilities.lib import media, recurrence
from facilities.records import get_or_404, loads, versioned_update


async def get_inspection(actor: Actor, inspection_id: int) -> Inspection:
    require(actor, Perm.INSPECTIONS_VIEW)
    return await get_or_404(
        Inspection.objects(), Inspection, inspection_id, _("No such inspection.")
    )


async def list_inspections(
    actor: Actor,
    now: dt.datetime,
    *,
    asset_id: int | None = None,
    open_only: bool = True,
    inspector_id: int | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Inspections with their asset, most urgent first (open) or newest first (all).

    Open ones are read one open state at a time and merged: given ``state IN (...) ORDER BY
    due_at``, SQLite walks the due-date index through every final inspection (years of them: 150
    ms on 100,000), while ``state = ? ORDER BY due_at`` is one range of the (state, due_at) index.
    """
    require(actor, Perm.INSPECTIONS_VIEW)

    def select() -> Any:
        query = Inspection.select(
            *Inspection.all_columns(exclude=[Inspection.answers]),
            Inspection.asset.code.as_alias("asset_code"),
            Inspection.asset.name_zh.as_alias("asset_name_zh"),
            Inspection.asset.name_en.as_alias("asset_name_en"),
            Inspection.inspector.display_name.as_alias("inspector_name"),
        )
        if asset_id is not None:
            query = query.where(Inspection.asset == asset_id)
        if inspector_id is not None:
            query = query.where(Inspection.inspector == inspector_id)
        return query

    if open_only:
        rows = []
        for state in OPEN_STATES:
            rows += (
                await select()
                .where(Inspection.state == state)
                .order_by(Inspection.due_at)
                .order_by(Inspection.id)
                .limit(limit)
            )
        rows = sorted(rows, key=lambda row: (row["due_at"], row["id"]))[:limit]
    else:
        rows = await select().order_by(Inspection.due_at, ascending=False).limit(limit)
    for row in rows:
        row["is_overdue"] = (
            row["state"] in OPEN_STATES and (row["window_ends_at"] or row["due_at"]) < now
        )
    return rows


async def create_inspection(
    actor: Actor, data: InspectionIn, zone: ZoneInfo, now: dt.datetime
) -> Inspection:
    """An inspection raised by hand (special, acceptance, pre-reopening ...)."""
    require(actor, Perm.INSPECTIONS_PLAN)
    errors: dict[str, str] = {}
    if not await Asset.exists().where(Asset.id == data.asset_id):
        errors["asset_id"] = _("Choose an existing asset.")
    if data.inspector_id is not None and not await StaffUser.exists().where(
        (StaffUser.id == data.inspector_id) & (StaffUser.is_active == True)  # noqa: E712
    ):
        errors["inspector_id"] = _("Choose an active staff member.")
    if data.team_id is not None and not await Team.exists().where(Team.id == data.team_id):
        errors["team_id"] = _("Choose an existing team.")
    if data.checklist_id is not None and not await ChecklistTemplate.exists().where(
        ChecklistTemplate.id == data.checklist_id
    ):
        errors["checklist_id"] = _("Choose an existing checklist.")
    if errors:
        raise ValidationFailed(errors)
    due = recurrence.localize(dt.datetime.combine(data.due_on, dt.time(17, 0)), zone)
    async with db.transaction():
        row = Inspection(
            asset=data.asset_id,
            inspection_type=data.inspection_type,
            trigger=data.trigger,
            state=State.PLANNED,
            due_at=due,
            window_ends_at=due,
            inspector=data.inspector_id,
            team=data.team_id,
            checklist=data.checklist_id,
            answers="{}",
            created_at=now,
            updated_at=now,
        )
        await row.save()
        await audit.record(
            actor,
            "inspection.created",
            "inspection",
            row.id,
            now,
            after={"type": data.inspection_type, "due": due},
        )
    return row


async def _step(
    actor: Actor,
    inspection_id: int,
    version: int,
    sources: tuple[State, ...],
    values: dict[Any, Any],
    action: str,
    now: dt.datetime,
) -> Inspection:
    inspection = await get_inspection(actor, inspection_id)
    await require_assigned(actor, inspection)
    if inspection.version != version:
        raise Conflict(_("Someone else changed this inspection first. Reload it and try again."))
    if inspection.state not in sources:
        raise InvalidTransition(
            _("This is not possible while the inspection is “%(state)s”.")
            % {"state": State(inspection.state).label}
        )
    await versioned_update(
        Inspection,
        inspection.id,
        version,
        values,
        now,
        Conflict(_("Someone else changed this inspection first. Reload it and try again.")),
    )
    await audit.record(
        actor,
        f"inspection.{action}",
        "inspection",
        inspection.id,
        now,
        {"state": inspection.state},
        {"state": values.get(Inspection.state, inspection.state)},
    )
    return await get_inspection(actor, inspection_id)


async def start(actor: Actor, inspection_id: int, version: int, now: dt.datetime) -> Inspection:
    """The inspector takes the inspection (planned -> in progress)."""
    require(actor, Perm.INSPECTIONS_RECORD)
    async with db.transaction():
        return await _step(
            actor,
            inspection_id,
            version,
            (State.PLANNED,),
            {
                Inspection.state: State.IN_PROGRESS,
                Inspection.started_at: now,
                Inspection.inspector: actor.id,
            },
            "started",
            now,
        )


async def save_record(
    actor: Actor, inspection_id: int, data: RecordIn, now: dt.datetime
) -> Inspection:
    """Store answers, component conditions, weather and summary (repeatable until submitted)."""
    require(actor, Perm.INSPECTIONS_RECORD)
    async with db.transaction():
        inspection = await get_inspection(actor, inspection_id)
        components = {
            r["id"]
            for r in await Component.select(Component.id).where(Component.asset == inspection.asset)
        }
        errors = {
            f"conditions.{i}": _("Choose a component of this asset.")
            for i, c in enumerate(data.conditions)
            if c.component_id not in components
        }
        keys = {item["key"] for item in await checklist_items(inspection)}
        errors.update(
            {
                f"answers.{key}": _("This item is not on the inspection's checklist.")
                for key in data.answers
                if key not in keys
            }
        )
        errors.update(
            {
                f"answers.{key}": _("This item is not on the inspection's checklist.")
                for key in data.answer_notes
                if key not in keys
            }
        )
        if errors:
            raise ValidationFailed(errors)
        answers = {
            key: {"answer": value.value, "note": data.answer_notes.get(key, "")}
            for key, value in data.answers.items()
        }
        recommendation = str(data.recommendation) if data.recommendation else ""
        reason = data.no_restriction_reason.strip()
        updated = await _step(
            actor,
            inspection_id,
            data.version,
            (State.PLANNED, State.IN_PROGRESS),
            {
                Inspection.state: State.IN_PROGRESS,
                Inspection.started_at: inspection.started_at or now,
                Inspection.inspector: inspection.inspector or actor.id,
                Inspection.answers: json.dumps(answers, ensure_ascii=False),
                Inspection.weather: data.weather,
                Inspection.recommendation: recommendation,
                Inspection.no_restriction_reason: reason,
                Inspection.summary: data.summary.strip(),
            },
            "recorded",
            now,
        )
        before = {
            "recommendation": inspection.recommendation,
            "no_restriction_reason": inspection.no_restriction_reason,
        }
        after = {"recommendation": recommendation, "no_restriction_reason": reason}
        if before != after:
            await audit.record(
                actor, "inspection.recommended", "inspection", inspection.id, now, before, after
            )
        await ComponentCondition.delete().where(ComponentCondition.inspection == inspection.id)
        if data.conditions:
            await ComponentCondition.insert(
                *[
                    ComponentCondition(
                        inspection=inspection.id,
                        component=c.component_id,
                        score=c.score,
                        is_ok=c.is_ok,
                        note=c.note,
                    )
                    for c in data.conditions
                ]
            )
    return updated


async def add_finding(
    actor: Actor, inspection_id: int, data: FindingIn, now: dt.datetime
) -> Finding:
    require(actor, Perm.INSPECTIONS_RECORD)
    async with db.transaction():
        inspection = await get_inspection(actor, inspection_id)
        await require_assigned(actor, inspection)
        if inspection.state == State.FINAL:
            raise InvalidTransition(_("A final inspection cannot be changed."))
        if data.component_id is not None and not await Component.exists().where(
            (Component.id == data.component_id) & (Component.asset == inspection.asset)
        ):
            raise ValidationFailed({"component_id": _("Choose a component of this asset.")})
        finding = Finding(
            inspection=inspection.id,
            asset=inspection.asset,
            component=data.component_id,
            defect_type=data.defect_type,
            severity=data.severity,
            urgency=data.urgency,
            is_direct_control=data.is_direct_control,
            description=data.description.strip(),
            status=FindingStatus.OPEN,
            created_at=now,
        )
        await finding.save()
        await audit.record(
            actor,
            "inspection.finding_added",
            "inspection",
            inspection.id,
            now,
            after={"finding": finding.id, "urgency": data.urgency},
        )
    return finding


async def list_findings(actor: Actor, inspection_id: int) -> list[Finding]:
    require(actor, Perm.INSPECTIONS_VIEW)
    return await Finding.objects().where(Finding.inspection == inspection_id).order_by(Finding.id)


async def get_finding(actor: Actor, finding_id: int) -> Finding:
    require(actor, Perm.INSPECTIONS_VIEW)
    return await get_or_404(Finding.objects(), Finding, finding_id, _("No such finding."))


async def add_photo(
    actor: Actor,
    inspection_id: int,
    data: bytes,
    finding_id: int | None,
    caption: str,
    media_root: Path,
    max_bytes: int,
    now: dt.datetime,
    *,
    max_pixels: int = media.MAX_PIXELS,
) -> InspectionPhoto:
    require(actor, Perm.INSPECTIONS_RECORD)
    inspection = await get_inspection(actor, inspection_id)
    await require_assigned(actor, inspection)
    if inspection.state == State.FINAL:
        raise InvalidTransition(_("A final inspection cannot be changed."))
    if finding_id is not None and not await Finding.exists().where(
        (Finding.id == finding_id) & (Finding.inspection == inspection.id)
    ):
        raise ValidationFailed({"finding_id": _("Choose a finding of this inspection.")})
    stored = await media.store_checked(
        data, media_root, f"inspections/{inspection.id}", max_bytes, max_pixels=max_pixels
    )
    try:
        async with db.transaction():
            row = InspectionPhoto(
                inspection=inspection.id,
                finding=finding_id,
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                storage_key=stored.storage_key,
                thumbnail_key=stored.thumbnail_key,
                caption=caption.strip()[:300],
                uploaded_by=actor.id,
                created_at=now,
            )
            await row.save()
            await audit.record(
                actor,
                "inspection.photo_added",
                "inspection",
                inspection.id,
                now,
                after={"photo": row.id, "finding": finding_id},
            )
    except BaseException:
        media.remove(media_root, stored.storage_key, stored.thumbnail_key)
        raise
    return row


async def submit(actor: Actor, inspection_id: int, version: int, now: dt.datetime) -> Inspection:
    """Send the record for review. Refused (``ValidationFailed``, by field) without a
    recommendation, and for "no restriction" at a provisional grade D or E without a reason;
    with one, the inspection is flagged and the supervisors are told."""
    require(actor, Perm.INSPECTIONS_RECORD)
    async with db.transaction():
        inspection = await get_inspection(actor, inspection_id)
        values: dict[Any, Any] = {Inspection.state: State.SUBMITTED, Inspection.submitted_at: now}
        flag = None
        if inspection.version == version and inspection.state == State.IN_PROGRESS:
            await require_assigned(actor, inspection)  # a refusal first, then the checks
            _index, grade, _direct = await safety.grade_inspection(inspection.id)
            errors = safety.recommendation_errors(
                inspection.recommendation, grade, inspection.no_restriction_reason
            )
            if errors:
                raise ValidationFailed(errors)
            if safety.needs_reason(inspection.recommendation, grade):
                flag = values[Inspection.flagged_grade] = grade
        submitted = await _step(
            actor, inspection_id, version, (State.IN_PROGRESS,), values, "submitted", now
        )
        if flag is not None:
            await flag_no_restriction(actor, submitted, flag, submitted.no_restriction_reason, now)
        return submitted


async def flag_no_restriction(
    actor: Actor, inspection: Inspection, grade: str, reason: str, now: dt.datetime
) -> None:
    """Record and tell the supervisors that "no restriction" was recommended at grade D/E."""
    await audit.record(
        actor,
        "inspection.flagged",
        "inspection",
        inspection.id,
        now,
        after={"grade": grade, "recommendation": inspection.recommendation, "reason": reason},
    )
    await safety.notify_no_restriction(inspection, grade, reason, now)


async def save_and_submit(
    actor: Actor, inspection_id: int, data: RecordIn, now: dt.datetime
) -> Inspection:
    """Save the record and submit it, both or neither (a refused submission keeps nothing)."""
    async with db.transaction():
        saved = await save_record(actor, inspection_id, data, now)
        return await submit(actor, inspection_id, saved.version, now)


# --- reading a record back -----------------------------------------------------------------


def answers_of(inspection: Inspection) -> dict[str, dict[str, str]]:
    return loads(inspection.answers) or {}


async def conditions_of(inspection_id: int) -> dict[int, dict[str, Any]]:
    rows = await ComponentCondition.select().where(ComponentCondition.inspection == inspection_id)
    return {r["component"]: r for r in rows}


async def photos_of(inspection_id: int) -> list[InspectionPhoto]:
    return await InspectionPhoto.objects().where(InspectionPhoto.inspection == inspection_id)


async def get_photo(actor: Actor, photo_id: int) -> InspectionPhoto:
    require(actor, Perm.INSPECTIONS_VIEW)
    return await get_or_404(
        InspectionPhoto.objects(), InspectionPhoto, photo_id, _("No such file.")
    )
