"""How closures read on the staff pages: the badge tone of each status and the words for each
closure action in a closure's history."""

from __future__ import annotations

from facilities.audit.choices import action_label
from facilities.closures.choices import Status
from facilities.i18n import N_
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
}


def closure_action_label(code: str) -> str:
    """The readable name of an audit action (the closure's own, else the shared labels)."""
    return _(ACTION_LABELS[code]) if code in ACTION_LABELS else action_label(code)
