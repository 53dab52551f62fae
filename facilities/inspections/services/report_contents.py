"""What an inspection report shows, gathered in one read (issue 18): the asset's facts, the
inspection and its people, each component's score and weight, the BCI and grade as finalising
stored them, the findings with their photos, the checklist answers, the recommendation and the
rules that fired.

The BCI and grade are never computed here: a final inspection's are the ones finalising stored
(:func:`.safety.grade_inspection`), a draft's the ones it would get now (the same function).
Component weights are read with :func:`report_pdf.component_weights`, which weighs as
:func:`condition.bci` does. Photos are named by their file under the media folder (resolved
inside it, never a URL someone typed), so the document reads local files only. Everything is in
a fixed order, so the same record gives the same document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from facilities.accounts.tables import StaffUser
from facilities.assets.choices import (
    AssetType,
    ComponentGroup,
    MaintenanceClass,
    MaintenanceGrade,
    Material,
    StructureType,
)
from facilities.assets.tables import Asset, Component
from facilities.inspections.choices import (
    Answer,
    DefectType,
    FindingStatus,
    InspectionType,
    Recommendation,
    Severity,
    State,
    Trigger,
    Urgency,
    Weather,
)
from facilities.inspections.report_pdf import choice_pair, component_weights
from facilities.inspections.services.records import answers_of
from facilities.inspections.services.safety import grade_inspection
from facilities.inspections.services.teams import checklist_items
from facilities.inspections.tables import (
    ComponentCondition,
    Finding,
    Inspection,
    InspectionPhoto,
    RuleFiring,
    Team,
)
from facilities.lib import condition, media
from facilities.records import loads


async def report_view(inspection: Inspection, media_root: Path, *, draft: bool) -> dict[str, Any]:
    """The facts the report template lays out, for ``inspection`` (already read, with the
    caller's permission checked)."""
    asset = await Asset.objects(Asset.site).where(Asset.id == inspection.asset).first()
    assert asset is not None  # the foreign key cascades: an inspection always has its asset
    bci: float | None = inspection.bci
    grade: str | None = inspection.grade
    if inspection.state != State.FINAL:
        bci, grade, _direct = await grade_inspection(inspection.id)
    components, groups = await _components(inspection)
    photos = await _photos(inspection.id, media_root)
    return {
        "draft": draft,
        "inspection": {
            "id": inspection.id,
            "type": choice_pair(inspection.inspection_type, InspectionType),
            "trigger": choice_pair(inspection.trigger, Trigger),
            "state": choice_pair(inspection.state, State),
            "is_final": inspection.state == State.FINAL,
            "due_at": inspection.due_at,
            "started_at": inspection.started_at,
            "submitted_at": inspection.submitted_at,
            "completed_at": inspection.completed_at,
            "weather": choice_pair(inspection.weather, Weather),
            "summary": inspection.summary,
            "recommendation": choice_pair(inspection.recommendation, Recommendation),
            "no_restriction_reason": inspection.no_restriction_reason,
            "unscored_reason": inspection.unscored_reason,
            "passed": inspection.passed,
            "bci": bci,
            "grade": grade,
        },
        "asset": {
            "code": asset.code,
            "name_zh": asset.name_zh,
            "name_en": asset.name_en,
            "site_zh": asset.site.name_zh,
            "site_en": asset.site.name_en,
            "type": choice_pair(asset.asset_type, AssetType),
            "structure": choice_pair(asset.structure_type, StructureType),
            "deck_material": choice_pair(asset.deck_material, Material),
            "main_material": choice_pair(asset.main_material, Material),
            "length_m": asset.length_m,
            "width_m": asset.width_m,
            "span_m": asset.span_m,
            "built_year": asset.built_year,
            "maintenance_class": choice_pair(asset.maintenance_class, MaintenanceClass),
            "maintenance_grade": choice_pair(asset.maintenance_grade, MaintenanceGrade),
            "is_special_structure": asset.is_special_structure,
            "is_tension_critical": asset.is_tension_critical,
        },
        "people": await _people(inspection),
        "components": components,
        "groups": groups,
        "findings": await _findings(inspection.id, photos),
        "general_photos": photos.get(None, []),
        "checklist": await _checklist(inspection),
        "firings": await _firings(inspection.id),
    }


async def _people(inspection: Inspection) -> dict[str, str]:
    """The inspector, the reviewer who signed it off and the team, by name (former staff too:
    a signature stays on the record)."""
    ids = [i for i in (inspection.inspector, inspection.reviewer) if i is not None]
    names = {
        r["id"]: r["display_name"]
        for r in await StaffUser.select(StaffUser.id, StaffUser.display_name).where(
            StaffUser.id.is_in(ids or [0])
        )
    }
    team = (
        await Team.select(Team.name).where(Team.id == inspection.team).first()
        if inspection.team is not None
        else None
    )
    return {
        "inspector": names.get(inspection.inspector, "") if inspection.inspector else "",
        "reviewer": names.get(inspection.reviewer, "") if inspection.reviewer else "",
        "team": team["name"] if team else "",
    }


def _score_of(condition_row: dict[str, Any] | None) -> float | None:
    """The score a condition counts with, as grading counts it (OK and not OK as scores)."""
    if condition_row is None:
        return None
    if condition_row["score"] is not None:
        return float(condition_row["score"])
    if condition_row["is_ok"] is not None:
        return condition.OK_SCORE if condition_row["is_ok"] else condition.NOT_OK_SCORE
    return None


async def _components(
    inspection: Inspection,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each component of the asset with its recorded condition, its group's weight and its share
    of the BCI; and per group its weight and mean score."""
    rows = (
        await Component.select(
            Component.id,
            Component.name_zh,
            Component.name_en,
            Component.group,
            Component.is_critical,
        )
        .where(Component.asset == inspection.asset)
        .order_by(Component.position)
        .order_by(Component.id)
    )
    conditions = {
        r["component"]: r
        for r in await ComponentCondition.select().where(
            ComponentCondition.inspection == inspection.id
        )
    }
    scores = {r["id"]: _score_of(conditions.get(r["id"])) for r in rows}
    shares = component_weights((r["id"], r["group"]) for r in rows if scores[r["id"]] is not None)
    components = []
    for r in rows:
        recorded = conditions.get(r["id"])
        components.append(
            {
                "name_zh": r["name_zh"],
                "name_en": r["name_en"],
                "group": choice_pair(r["group"], ComponentGroup),
                "is_critical": r["is_critical"],
                "score": recorded["score"] if recorded else None,
                "is_ok": recorded["is_ok"] if recorded else None,
                "note": recorded["note"] if recorded else "",
                "group_weight": condition.FOOTBRIDGE_WEIGHTS.get(r["group"]),
                "share": shares.get(r["id"]),
            }
        )
    groups = []
    for group, weight in condition.FOOTBRIDGE_WEIGHTS.items():
        counted = [s for r in rows if r["group"] == group and (s := scores[r["id"]]) is not None]
        groups.append(
            {
                "group": choice_pair(group, ComponentGroup),
                "weight": weight,
                "mean": sum(counted) / len(counted) if counted else None,
                "count": len(counted),
            }
        )
    return components, groups


async def _photos(inspection_id: int, media_root: Path) -> dict[int | None, list[dict[str, Any]]]:
    """The inspection's photos by finding (None: general), as local file URIs; a file gone from
    the media folder is listed without its picture."""
    found: dict[int | None, list[dict[str, Any]]] = {}
    rows = (
        await InspectionPhoto.select(
            InspectionPhoto.id,
            InspectionPhoto.finding,
            InspectionPhoto.content_type,
            InspectionPhoto.storage_key,
            InspectionPhoto.caption,
        )
        .where(InspectionPhoto.inspection == inspection_id)
        .order_by(InspectionPhoto.id)
    )
    for row in rows:
        src = ""
        if row["content_type"].startswith("image/"):
            try:
                path = media.resolve(media_root, row["storage_key"])
            except FileNotFoundError:
                path = None
            if path is not None and path.is_file():
                src = path.as_uri()
        found.setdefault(row["finding"], []).append(
            {"id": row["id"], "src": src, "caption": row["caption"]}
        )
    return found


async def _findings(
    inspection_id: int, photos: dict[int | None, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    rows = (
        await Finding.select(
            *Finding.all_columns(),
            Finding.component.name_zh.as_alias("component_zh"),
            Finding.component.name_en.as_alias("component_en"),
        )
        .where(Finding.inspection == inspection_id)
        .order_by(Finding.id)
    )
    return [
        {
            "id": r["id"],
            "component_zh": r["component_zh"] or "",
            "component_en": r["component_en"] or "",
            "defect_type": choice_pair(r["defect_type"], DefectType),
            "severity": choice_pair(r["severity"], Severity),
            "urgency": choice_pair(r["urgency"], Urgency),
            "status": choice_pair(r["status"], FindingStatus),
            "is_direct_control": r["is_direct_control"],
            "description": r["description"],
            "ticket": r["ticket"],
            "photos": photos.get(r["id"], []),
        }
        for r in rows
    ]


async def _checklist(inspection: Inspection) -> list[dict[str, Any]]:
    answers = answers_of(inspection)
    return [
        {
            "zh": item.get("zh", ""),
            "en": item.get("en", ""),
            "critical": bool(item.get("critical")),
            "answer": choice_pair(answers.get(item["key"], {}).get("answer"), Answer),
            "note": answers.get(item["key"], {}).get("note", ""),
        }
        for item in await checklist_items(inspection)
    ]


async def _firings(inspection_id: int) -> list[dict[str, Any]]:
    rows = (
        await RuleFiring.select(
            RuleFiring.rule_version,
            RuleFiring.outcome,
            RuleFiring.fired_at,
            RuleFiring.rule.code.as_alias("code"),
            RuleFiring.rule.basis.as_alias("basis"),
            RuleFiring.rule.description.as_alias("description"),
        )
        .where(RuleFiring.inspection == inspection_id)
        .order_by(RuleFiring.id)
    )
    for row in rows:
        row["outcome"] = loads(row["outcome"]) or {}
    return rows
