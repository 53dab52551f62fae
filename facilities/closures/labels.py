"""How closures read on the staff pages: the badge tone of each status, the words for each
closure action in a closure's history, and each audited field by the closure form's label."""

from __future__ import annotations

from typing import Any

from facilities.audit.choices import action_label
from facilities.audit.display import (
    Field,
    choice,
    day,
    describe,
    drawing,
    instant,
    labelled,
    record,
    yes_no,
)
from facilities.closures.choices import Precision, Reason, SafetyMeasure, Scope, Status
from facilities.i18n import N_, NC_
from facilities.i18n import gettext as _

#: Badge tone of each closure status (the CSS tone-* classes).
STATUS_TONES = {
    Status.PLANNED: "info",
    Status.ACTIVE: "bad",
    Status.EXTENDED: "warn",
    Status.LIFTED: "ok",
    Status.CANCELLED: "none",
}

#: Readable names of the closure audit actions (shown in the closure's history).
ACTION_LABELS = {
    "closure.created": N_("created the closure"),
    "closure.updated": N_("edited the closure"),
    "closure.activated": N_("put the closure in force"),
    "closure.extended": N_("extended the closure"),
    "closure.cancelled": N_("cancelled the closure"),
    "closure.ticket_linked": N_("linked a repair ticket"),
    "closure.ticket_unlinked": N_("unlinked a repair ticket"),
    "closure.signed_off": N_("signed off the repair"),
    "closure.lifted": N_("lifted the closure"),
    "closure.lifted_override": N_("lifted the closure by overriding the criteria"),
    "closure.update_written": N_("wrote a notice update"),
    "closure.update_published": N_("published a notice update"),
    "closure.update_discarded": N_("discarded a draft update"),
    "closure.proposal_approved": N_("approved the closure proposed by an inspection"),
    "closure.proposal_dismissed": N_("dismissed the closure proposed by an inspection"),
}


def closure_action_label(code: str) -> str:
    """The readable name of an audit action (the closure's own, else the shared labels)."""
    return _(ACTION_LABELS[code]) if code in ACTION_LABELS else action_label(code)


#: The reopening gate's criteria by code (the gate shows them; the history names them).
CRITERIA = {
    "tickets": N_("Every linked repair ticket is accepted or closed"),
    "acceptance": N_("A final acceptance inspection passed"),
    "grade": N_("Grade C or better, no open direct-control finding"),
    "sign_off": N_("A supervisor signed off"),
}

#: A closure proposal's states (stored as plain codes by inspections).
PROPOSAL_STATES = {
    "proposed": NC_("closure proposal", "Proposed"),
    "approved": NC_("closure proposal", "Approved"),
    "dismissed": NC_("closure proposal", "Dismissed"),
}

#: Field -> label and reading of its values (labels are the closure forms' own msgids).
AUDIT_FIELDS = {
    "scope": Field(N_("Scope"), choice(Scope)),
    "affected_part_zh": Field(N_("Closed part (Chinese)")),
    "affected_part_en": Field(N_("Closed part (English)")),
    "crowd_limit": Field(N_("Crowd limit (people at a time)")),
    "hours_zh": Field(N_("Opening hours (Chinese)")),
    "hours_en": Field(N_("Opening hours (English)")),
    # the reason code on the form; the written reason when extending or cancelling
    "reason": Field(N_("Reason"), choice(Reason)),
    "reason_zh": Field(N_("Reason for citizens (Chinese)")),
    "reason_en": Field(N_("Reason for citizens (English)")),
    "safety_measures": Field(N_("Safety measures on site"), choice(SafetyMeasure)),
    "detour_zh": Field(N_("Detour (Chinese)")),
    "detour_en": Field(N_("Detour (English)")),
    "extent": Field(N_("Closed extent"), drawing),
    "detour_line": Field(N_("Detour route"), drawing),
    "fences": Field(N_("Fences"), drawing),
    "entrances": Field(N_("Entrances"), drawing),
    "reopening_criteria_zh": Field(N_("What must happen before reopening (Chinese)")),
    "reopening_criteria_en": Field(N_("What must happen before reopening (English)")),
    "effective_from": Field(N_("Closed from"), instant),
    "is_urgent": Field(N_("Urgent (an immediate danger: announced as an alert)"), yes_no),
    "status": Field(N_("Status"), choice(Status)),
    "planned_reopen_on": Field(N_("Planned reopening"), day),
    "reopen_precision": Field(N_("Precision of the date"), choice(Precision)),
    "proposal": Field(N_("Closure proposal"), record),
    "proposal_status": Field(N_("Closure proposal"), labelled(PROPOSAL_STATES)),
    "ticket": Field(N_("Repair ticket"), record),
    "label": Field(N_("Label citizens read (Chinese)")),
    "label_en": Field(N_("Label citizens read (English)")),
    "update": Field(N_("Notice update"), record),
    "published": Field(N_("Published"), yes_no),
    "signed_off_at": Field(N_("Signed off"), instant),
    "criteria": Field(N_("Criteria met"), labelled(CRITERIA)),
    "unmet": Field(N_("Criteria not met"), labelled(CRITERIA)),
    "reopens_at": Field(N_("Reopens at"), instant),
    "override_reason": Field(N_("Why the criteria are overridden")),
}
describe("closure", AUDIT_FIELDS)
describe(
    "closure.proposal_dismissed",
    {"status": Field(N_("Status"), labelled(PROPOSAL_STATES)), "asset": Field(N_("Asset"), record)},
)


#: A closure's texts that go public in both languages: each field (``<field>_zh``/``_en``) and
#: the form label of its English half.
PUBLIC_TEXTS = (
    ("affected_part", N_("Closed part (English)")),
    ("hours", N_("Opening hours (English)")),
    ("reason", N_("Reason for citizens (English)")),
    ("detour", N_("Detour (English)")),
    ("reopening_criteria", N_("What must happen before reopening (English)")),
)


def _text(row: Any, name: str) -> str:
    value = row.get(name, "") if isinstance(row, dict) else getattr(row, name, "")
    return str(value or "").strip()


def _lacks_english(row: Any, field: str) -> bool:
    return bool(_text(row, f"{field}_zh")) and not _text(row, f"{field}_en")


def missing_english(
    closure: Any, tickets: Any = (), updates: Any = (), promises: Any = ()
) -> list[str]:
    """The public texts written in Chinese only, by the label of their English field: English
    readers of the notice get the Chinese text there, so staff are warned. ``closure`` is a row
    or a form's values; the linked tickets' labels, the notice's updates and the promises'
    reasons are public too."""
    missing = [_(label) for field, label in PUBLIC_TEXTS if _lacks_english(closure, field)]
    for ticket in tickets:
        if _lacks_english(ticket, "public_label"):
            missing.append(
                _("%(label)s, ticket #%(id)s")
                % {"label": _("Label citizens read (English)"), "id": _text(ticket, "ticket")}
            )
    for update in updates:
        if _text(update, "state") != "discarded" and _lacks_english(update, "text"):
            missing.append(
                _("%(label)s, update #%(id)s")
                % {"label": _("Update (English)"), "id": _text(update, "id")}
            )
    if any(_lacks_english(promise, "reason") for promise in promises):
        missing.append(_("Why it takes longer (English)"))
    return missing
