"""How a citizen report's history reads on the triage page: the fields its services audit."""

from __future__ import annotations

from facilities.audit.display import Field, choice, describe, record
from facilities.i18n import N_
from facilities.reports.choices import Category, Channel, ReportStatus

#: ``report.*`` actions.
AUDIT_FIELDS = {
    "asset": Field(N_("Asset"), record),
    "category": Field(N_("Category"), choice(Category)),
    "channel": Field(N_("Channel"), choice(Channel)),
    "status": Field(N_("Status"), choice(ReportStatus)),
    "ticket": Field(N_("Repair ticket"), record),
    "closure": Field(N_("Closure"), record),
    "follow_up_of": Field(N_("Follow-up of"), record),
    "same_as": Field(N_("Same problem as"), record),
    "public_reason": Field(N_("Public reason")),
}
describe("report", AUDIT_FIELDS)
#: Open311 keys (``open311_key.*``).
describe("open311_key", {"name": Field(N_("Application")), "prefix": Field(N_("Key begins"))})
