"""The reopening gate: the four criteria a closure must meet before it is lifted (linked tickets
done, a passed final acceptance inspection, grade C or better with no open direct-control
finding, a supervisor's sign-off), each with what it found, for the staff page, the API and
the lifting services."""

from __future__ import annotations

import dataclasses

from facilities.assets.tables import Asset
from facilities.closures.labels import CRITERIA
from facilities.closures.services.common import DONE_TICKET_STATUSES, IRRELEVANT_TICKET_STATUSES
from facilities.closures.services.reading import linked_tickets
from facilities.closures.tables import Closure
from facilities.i18n import gettext as _
from facilities.inspections import services as inspections
from facilities.lib import condition


@dataclasses.dataclass(frozen=True)
class Criterion:
    code: str
    met: bool
    label: str
    detail: str


@dataclasses.dataclass(frozen=True)
class Gate:
    criteria: tuple[Criterion, ...]

    @property
    def repair_verified(self) -> bool:
        """Criteria 1-3: the work is done and an inspection says the asset is safe."""
        return all(c.met for c in self.criteria if c.code != "sign_off")

    @property
    def open(self) -> bool:
        return all(c.met for c in self.criteria)


async def gate(closure: Closure) -> Gate:
    """The four reopening criteria, each with what it found.

    The grade criterion reads the asset's current condition grade (set by its latest final
    graded inspection, the acceptance itself or anything after it), so a worse inspection after
    the acceptance keeps the gate shut."""
    tickets = [
        t for t in await linked_tickets(closure.id) if t["status"] not in IRRELEVANT_TICKET_STATUSES
    ]
    unfinished = [t for t in tickets if t["status"] not in DONE_TICKET_STATUSES]
    acceptance = await inspections.latest_acceptance(closure.asset, since=closure.effective_from)
    open_direct = await inspections.open_direct_control_findings(closure.asset)
    asset = await Asset.select(Asset.condition_grade).where(Asset.id == closure.asset).first()
    grade = (asset or {}).get("condition_grade") or (acceptance.grade if acceptance else None)
    grade_ok = grade is not None and condition.grade_rank(grade) <= condition.grade_rank("C")
    if open_direct:
        grade_detail = _("%(n)s open direct-control finding(s)") % {"n": open_direct}
    elif grade:
        grade_detail = _("Grade %(grade)s") % {"grade": grade}
    else:
        grade_detail = _("Not graded")
    criteria = (
        Criterion(
            "tickets",
            not unfinished,
            _(CRITERIA["tickets"]),
            _("%(done)s of %(total)s done")
            % {"done": len(tickets) - len(unfinished), "total": len(tickets)}
            if tickets
            else _("No repair tickets are linked"),
        ),
        Criterion(
            "acceptance",
            bool(acceptance and acceptance.passed),
            _(CRITERIA["acceptance"]),
            (
                _("Inspection #%(id)s passed, grade %(grade)s")
                if acceptance.passed
                else _("Inspection #%(id)s did not pass, grade %(grade)s")
            )
            % {"id": acceptance.id, "grade": acceptance.grade or "—"}
            if acceptance
            else _("No final acceptance inspection since the closure"),
        ),
        Criterion(
            "grade",
            grade_ok and open_direct == 0,
            _(CRITERIA["grade"]),
            grade_detail,
        ),
        Criterion(
            "sign_off",
            closure.signed_off_at is not None,
            _(CRITERIA["sign_off"]),
            _("Signed off %(when)s") % {"when": closure.signed_off_at.date().isoformat()}
            if closure.signed_off_at
            else _("Not yet signed off"),
        ),
    )
    return Gate(criteria)
