"""Rules: what a final inspection sets off, by its grade and findings, each firing logged.

The rules are policy data (a ``Rule`` row each, seeded by :func:`ensure_rules`; staff may disable
or re-version them): grade E or an immediate defect on a critical component proposes a full
closure, opens a P0 make-safe ticket and plans a special inspection; grade D proposes a
restricted closure and shortens the intervals (:mod:`.intervals`); grade C opens a repair
ticket; ``seasonal`` holds the seasonal policy (:mod:`.seasons`). Also here: reading the
proposals and firings back.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import SYSTEM, Actor, require
from facilities.i18n import gettext as _
from facilities.inspections import policy
from facilities.inspections.choices import InspectionType, State, Trigger, Urgency
from facilities.inspections.services.intervals import (
    _restore_intervals,
    _shorten_intervals,
    shortening_reason,
)
from facilities.inspections.services.proposals import propose_closure
from facilities.inspections.services.seasons import SEASONAL_RULE
from facilities.inspections.tables import Finding, Inspection, Rule, RuleFiring
from facilities.records import loads
from facilities.tickets import services as tickets
from facilities.tickets.choices import Priority, Source, WorkClass
from facilities.tickets.schemas import TicketIn

DEFAULT_RULES = (
    (
        "grade_e_or_immediate_critical",
        "CJJ 99-2017 §4; bureau policy 2026",
        "Grade E, or an immediate defect on a critical component: propose a full closure, open a "
        "P0 make-safe ticket, plan a special inspection within 7 days.",
    ),
    (
        "grade_d",
        "CJJ 99-2017 §4; bureau policy 2026",
        "Grade D: propose a restricted closure, periodic inspections every 6 months, daily "
        "patrols.",
    ),
    ("grade_c", "bureau policy 2026", "Grade C: a repair ticket due within 90 days."),
    (
        "seasonal",
        "bureau policy 2026 (flood season, 五一, 国庆, 春节)",
        "Flood season and the 14 days up to 五一, 国庆 and 春节: patrols daily, a pre-holiday "
        "inspection (dates and 春节 table in params).",
    ),
)


async def ensure_rules() -> None:
    """Seed the default rules (policy data) once; staff may disable or re-version them."""
    for code, basis, description in DEFAULT_RULES:
        params = policy.SEASONAL if code == SEASONAL_RULE else {}
        await Rule.insert(
            Rule(
                code=code,
                basis=basis,
                description=description,
                enabled=True,
                params=json.dumps(params, ensure_ascii=False),
            )
        ).on_conflict(action="DO NOTHING")


async def _fire(
    rule: dict[str, Any], inspection: Inspection, outcome: dict[str, Any], now: dt.datetime
) -> None:
    await RuleFiring.insert(
        RuleFiring(
            rule=rule["id"],
            rule_version=rule["version"],
            inspection=inspection.id,
            asset=inspection.asset,
            outcome=json.dumps(outcome, ensure_ascii=False, default=str),
            fired_at=now,
        )
    )


async def evaluate_rules(inspection: Inspection, zone: ZoneInfo, now: dt.datetime) -> list[str]:
    """Apply the enabled rules to a final inspection; returns the codes that fired."""
    await ensure_rules()
    rules = {r["code"]: r for r in await Rule.select().where(Rule.enabled == True)}  # noqa: E712
    grade = inspection.grade
    fired: list[str] = []
    immediate_critical = await Finding.exists().where(
        (Finding.inspection == inspection.id)
        & (Finding.urgency == Urgency.IMMEDIATE)
        & (Finding.component.is_critical == True)  # noqa: E712
    )
    rule = rules.get("grade_e_or_immediate_critical")
    if rule and (grade == "E" or immediate_critical):
        proposal = await propose_closure(inspection, "full", now)
        ticket = await tickets.open_ticket(
            SYSTEM,
            TicketIn(
                asset_id=inspection.asset,
                title=_("Make safe: close and secure the facility"),
                source=Source.INSPECTION,
                work_class=WorkClass.MINOR,
                priority=Priority.P0,
            ),
            now,
        )
        special = await _plan_special(inspection, zone, now, days=7)
        await _fire(
            rule,
            inspection,
            {"closure_proposal": proposal, "ticket": ticket.id, "special_inspection": special},
            now,
        )
        fired.append(rule["code"])
    rule = rules.get("grade_d")
    if rule and grade == "D":
        proposal = await propose_closure(inspection, "restricted", now)
        shortened = await _shorten_intervals(
            inspection.asset, zone, now, shortening_reason("grade_d", now.astimezone(zone).date())
        )
        await _fire(rule, inspection, {"closure_proposal": proposal, "schedules": shortened}, now)
        fired.append(rule["code"])
    if grade in {"A", "B", "C"} and not immediate_critical:
        await _restore_intervals(inspection.asset, zone, now)
    rule = rules.get("grade_c")
    if rule and grade == "C":
        ticket = await tickets.open_ticket(
            SYSTEM,
            TicketIn(
                asset_id=inspection.asset,
                title=_("Repair the defects found in the grade C inspection"),
                source=Source.INSPECTION,
                work_class=WorkClass.MEDIUM,
                priority=Priority.P3,
            ),
            now,
        )
        await _fire(rule, inspection, {"ticket": ticket.id}, now)
        fired.append(rule["code"])
    return fired


async def _plan_special(inspection: Inspection, zone: ZoneInfo, now: dt.datetime, days: int) -> int:
    due = now + dt.timedelta(days=days)
    row = Inspection(
        asset=inspection.asset,
        inspection_type=InspectionType.SPECIAL,
        trigger=Trigger.EVENT,
        state=State.PLANNED,
        due_at=due,
        window_ends_at=due,
        team=inspection.team,
        answers="{}",
        created_at=now,
        updated_at=now,
    )
    await row.save()
    return int(row.id)


# --- reading firings ---------------------------------------------------------


async def list_firings(actor: Actor, asset_id: int) -> list[dict[str, Any]]:
    require(actor, Perm.INSPECTIONS_VIEW)
    rows = (
        await RuleFiring.select(
            *RuleFiring.all_columns(),
            RuleFiring.rule.code.as_alias("rule_code"),
        )
        .where(RuleFiring.asset == asset_id)
        .order_by(RuleFiring.fired_at, ascending=False)
    )
    for row in rows:
        row["outcome"] = loads(row["outcome"])
    return rows


async def list_firings_for_inspection(actor: Actor, inspection_id: int) -> list[dict[str, Any]]:
    require(actor, Perm.INSPECTIONS_VIEW)
    rows = (
        await RuleFiring.select(
            *RuleFiring.all_columns(),
            RuleFiring.rule.code.as_alias("rule_code"),
            RuleFiring.rule.basis.as_alias("rule_basis"),
        )
        .where(RuleFiring.inspection == inspection_id)
        .order_by(RuleFiring.id)
    )
    for row in rows:
        row["outcome"] = loads(row["outcome"])
    return rows
