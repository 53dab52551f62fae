"""The safety checks before an inspection goes for review or is signed off (issue 16).

- A recommendation is chosen: there is no default, a draft may leave it empty, but submitting
  and finalising refuse without one (field ``recommendation``).
- "No restriction" at grade D or E needs a written reason (``no_restriction_reason``) and is
  flagged to the supervisors: ``flagged_grade`` is set and each supervisor gets a mail through
  the outbox, once per inspection and grade.
- Every component of the asset is scored, or the reviewer finalises anyway with a reason
  (``finalise_anyway`` and ``unscored_reason``); the components left unscored are named.

The grade an inspection would get (:func:`grade_inspection`) is computed here too, so that
submitting (a provisional grade) and finalising read it alike.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from facilities.accounts import services as accounts
from facilities.assets.tables import Component
from facilities.i18n import current_locale
from facilities.i18n import gettext as _
from facilities.inspections.choices import Recommendation
from facilities.inspections.tables import ComponentCondition, Finding, Inspection
from facilities.lib import condition
from facilities.notifications.choices import StaffEvent
from facilities.notifications.preferences import deliver_to_staff

#: Grades at which "no restriction" needs a reason and is flagged to the supervisors.
FLAGGED_GRADES = frozenset({"D", "E"})
#: Unscored components named in the message (the rest are counted).
NAMED_UNSCORED = 10


async def grade_inspection(inspection_id: int) -> tuple[float | None, str | None, bool]:
    """(BCI, grade, direct-control defect found) from the recorded conditions and findings."""
    rows = await ComponentCondition.select(
        ComponentCondition.score,
        ComponentCondition.is_ok,
        ComponentCondition.component.group.as_alias("group"),
    ).where(ComponentCondition.inspection == inspection_id)
    scores = []
    for r in rows:
        if r["score"] is not None:
            scores.append((r["group"], float(r["score"])))
        elif r["is_ok"] is not None:
            scores.append(
                (r["group"], condition.OK_SCORE if r["is_ok"] else condition.NOT_OK_SCORE)
            )
    direct = await Finding.exists().where(
        (Finding.inspection == inspection_id) & (Finding.is_direct_control == True)  # noqa: E712
    )
    index = condition.bci(scores)
    shown = round(index, 1) if index is not None else None
    return shown, condition.final_grade(index, direct), direct


def needs_reason(recommendation: str, grade: str | None) -> bool:
    """Whether this recommendation at this grade needs a written reason (and a flag)."""
    return recommendation == Recommendation.NONE and grade in FLAGGED_GRADES


def recommendation_errors(recommendation: str, grade: str | None, reason: str) -> dict[str, str]:
    """The messages, by field, that keep an inspection from review or sign-off."""
    if not recommendation:
        return {
            "recommendation": _(
                "Choose a recommendation: no restriction, restrict use, partial or full closure."
            )
        }
    if needs_reason(recommendation, grade) and not reason.strip():
        return {
            "no_restriction_reason": _(
                "The recorded condition gives grade %(grade)s. Explain why no restriction is "
                "needed, or recommend a restriction or closure."
            )
            % {"grade": grade}
        }
    return {}


@dataclasses.dataclass(frozen=True)
class Coverage:
    """How many of the asset's components the inspection scored, and which it did not."""

    scored: int
    total: int
    unscored: list[str]

    @property
    def complete(self) -> bool:
        return not self.unscored

    def message(self) -> str:
        names = ("、" if current_locale().startswith("zh") else ", ").join(
            self.unscored[:NAMED_UNSCORED]
        )
        if len(self.unscored) > NAMED_UNSCORED:
            names += " " + _("and %(num)d more") % {"num": len(self.unscored) - NAMED_UNSCORED}
        return _(
            "%(scored)d of %(total)d components scored. Not scored: %(names)s. Finalise anyway?"
        ) % {"scored": self.scored, "total": self.total, "names": names}


async def coverage(inspection: Inspection) -> Coverage:
    """The asset's components against the conditions recorded with a score or an OK/not OK
    (a note alone does not score a component)."""
    components = (
        await Component.select(Component.id, Component.name_zh, Component.name_en)
        .where(Component.asset == inspection.asset)
        .order_by(Component.position)
        .order_by(Component.id)
    )
    scored = {
        r["component"]
        for r in await ComponentCondition.select(ComponentCondition.component).where(
            (ComponentCondition.inspection == inspection.id)
            & (ComponentCondition.score.is_not_null() | ComponentCondition.is_ok.is_not_null())
        )
    }
    language_en = current_locale() == "en"
    unscored = [
        (c["name_en"] if language_en and c["name_en"] else c["name_zh"])
        for c in components
        if c["id"] not in scored
    ]
    return Coverage(len(components) - len(unscored), len(components), unscored)


async def notify_no_restriction(
    inspection: Inspection, grade: str, reason: str, now: dt.datetime
) -> int:
    """Tell every supervisor that "no restriction" was recommended at grade D or E; once per
    inspection and grade (the outbox's dedupe key). Returns the messages queued."""
    asset = (
        await Inspection.select(
            Inspection.asset.code.as_alias("code"), Inspection.asset.name_zh.as_alias("name")
        )
        .where(Inspection.id == inspection.id)
        .first()
    )
    queued = 0
    for recipient in await accounts.supervisor_recipients():
        row = await deliver_to_staff(
            recipient,
            StaffEvent.INSPECTION_NO_RESTRICTION,
            template="inspection_no_restriction",
            now=now,
            context={
                "inspection_id": inspection.id,
                "asset_code": asset["code"] if asset else "",
                "asset_name": asset["name"] if asset else "",
                "grade": grade,
                "reason": reason,
                "inspection_type": inspection.inspection_type,
            },
            dedupe_key=f"inspection:{inspection.id}:no_restriction:{grade}:{recipient.email}",
        )
        queued += row is not None
    return queued
