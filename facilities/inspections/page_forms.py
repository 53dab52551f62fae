"""The inspection pages' forms: the options their selects offer, a schedule or a saved record as
form fields, and the inspection record form (one field per checklist item and component) parsed
into a RecordIn, with the service's messages moved under the form's field names."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from facilities.accounts.permissions import Actor
from facilities.assets import services as assets
from facilities.i18n import gettext as _
from facilities.inspections import services as inspections
from facilities.inspections.choices import Answer, Recommendation, Weather
from facilities.inspections.schemas import RecordIn
from facilities.inspections.tables import Inspection, InspectionSchedule
from facilities.records import MAX_ID


async def asset_options(actor: Actor) -> list[tuple[int, str]]:
    return [(r["id"], f"{r['code']} {r['name_zh']}") for r in await assets.all_asset_choices(actor)]


async def team_options() -> list[tuple[int, str]]:
    return [(t["id"], t["name"]) for t in await inspections.list_teams()]


async def checklist_options() -> list[tuple[int, str]]:
    return [
        (c["id"], f"{c['name_zh']} · {c['name_en']}" if c["name_en"] else c["name_zh"])
        for c in await inspections.list_checklists()
    ]


def schedule_form_values(schedule: InspectionSchedule, zone: ZoneInfo) -> dict[str, Any]:
    local = schedule.starts_at.astimezone(zone)
    return {
        "asset_id": schedule.asset,
        "inspection_type": schedule.inspection_type,
        "rrule": schedule.rrule,
        "anchor": schedule.anchor,
        "starts_on": local.date().isoformat(),
        "start_time": local.strftime("%H:%M"),
        "lead_days": schedule.lead_days,
        "tolerance_days": schedule.tolerance_days,
        "checklist_id": schedule.checklist or "",
        "team_id": schedule.team or "",
        "is_suspended": "true" if schedule.is_suspended else "",
        "version": schedule.version,
    }


def record_form_values(
    inspection: Inspection, conditions: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """The saved record as form fields (``answer__<key>``, ``score__<component id>`` ...)."""
    values: dict[str, Any] = {
        "version": inspection.version,
        "weather": inspection.weather or "",
        "recommendation": inspection.recommendation,
        "no_restriction_reason": inspection.no_restriction_reason,
        "summary": inspection.summary,
    }
    for key, answer in inspections.answers_of(inspection).items():
        values[f"answer__{key}"] = answer.get("answer", "")
        values[f"note__{key}"] = answer.get("note", "")
    for component_id, row in conditions.items():
        score = row["score"]
        values[f"score__{component_id}"] = (
            "" if score is None else (int(score) if float(score).is_integer() else score)
        )
        values[f"ok__{component_id}"] = "" if row["is_ok"] is None else str(row["is_ok"]).lower()
        values[f"cnote__{component_id}"] = row["note"]
    return values


def parse_record_form(
    values: dict[str, str], items: list[dict[str, Any]], component_ids: list[int]
) -> tuple[RecordIn | None, dict[str, str]]:
    """The inspection form into a RecordIn, or the message per field (named as in the form)."""
    errors: dict[str, str] = {}
    answers: dict[str, str] = {}
    notes: dict[str, str] = {}
    allowed_answers = {a.value for a in Answer}
    for item in items:
        key = item["key"]
        answer = values.get(f"answer__{key}", "").strip()
        if answer:
            if answer in allowed_answers:
                answers[key] = answer
            else:
                errors[f"answer__{key}"] = _("Choose one of the listed options.")
        note = values.get(f"note__{key}", "").strip()
        if len(note) > 500:
            errors[f"note__{key}"] = _("Enter at most %(n)s characters.") % {"n": 500}
        elif note:
            notes[key] = note
    conditions = []
    for component_id in component_ids:
        raw_score = values.get(f"score__{component_id}", "").strip()
        raw_ok = values.get(f"ok__{component_id}", "").strip()
        note = values.get(f"cnote__{component_id}", "").strip()
        score: float | None = None
        if raw_score:
            try:
                score = float(raw_score)
            except ValueError:
                score = -1.0
            if not 0 <= score <= 100:  # also false for NaN
                errors[f"score__{component_id}"] = _("Enter a number from %(low)s to %(high)s.") % {
                    "low": 0,
                    "high": 100,
                }
                continue
        if raw_ok not in {"", "true", "false"}:
            errors[f"ok__{component_id}"] = _("Choose one of the listed options.")
            continue
        if len(note) > 500:
            errors[f"cnote__{component_id}"] = _("Enter at most %(n)s characters.") % {"n": 500}
            continue
        if score is None and not raw_ok and not note:
            continue
        conditions.append(
            {
                "component_id": component_id,
                "score": score,
                "is_ok": None if not raw_ok else raw_ok == "true",
                "note": note,
            }
        )
    weather = values.get("weather", "").strip()
    if weather and weather not in {w.value for w in Weather}:
        errors["weather"] = _("Choose one of the listed options.")
    # no default: left empty, the draft saves without one (submitting then asks for it)
    recommendation = values.get("recommendation", "").strip()
    if recommendation and recommendation not in {r.value for r in Recommendation}:
        errors["recommendation"] = _("Choose one of the listed options.")
    reason = values.get("no_restriction_reason", "").strip()
    if len(reason) > 2000:
        errors["no_restriction_reason"] = _("Enter at most %(n)s characters.") % {"n": 2000}
    summary = values.get("summary", "").strip()
    if len(summary) > 8000:
        errors["summary"] = _("Enter at most %(n)s characters.") % {"n": 8000}
    version = values.get("version", "").strip()
    if not version.isdigit() or not 0 < int(version) <= MAX_ID:
        errors["version"] = _("The record version is missing; reload and retry.")
    if errors:
        return None, errors
    try:
        data = msgspec.convert(
            {
                "version": int(version),
                "answers": answers,
                "answer_notes": notes,
                "conditions": conditions,
                "weather": weather or None,
                "recommendation": recommendation or None,
                "no_restriction_reason": reason,
                "summary": summary,
            },
            RecordIn,
        )
    except msgspec.ValidationError as exc:
        return None, {"__all__": str(exc)}
    return data, {}


def record_errors_for_form(
    errors: dict[str, str], conditions: list[dict[str, Any]] | None = None
) -> dict[str, str]:
    """Service errors (``answers.<key>``, ``conditions.<n>``) under the form's field names."""
    shown: dict[str, str] = {}
    for key, message in errors.items():
        if key.startswith("answers."):
            shown[f"answer__{key.removeprefix('answers.')}"] = message
        elif key.startswith("conditions.") and conditions is not None:
            index = int(key.removeprefix("conditions."))
            shown[f"score__{conditions[index]['component_id']}"] = message
        else:
            shown[key] = message
    return shown
