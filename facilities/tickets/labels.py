"""How a ticket's history reads: every field its services audit, by the ticket form's label."""

from __future__ import annotations

from facilities.audit.display import Field, choice, day, describe, number, record, user, yes_no
from facilities.i18n import N_
from facilities.tickets.choices import (
    ClosingReason,
    CostKind,
    PhotoTag,
    Priority,
    Source,
    Status,
    WorkClass,
)

#: Field -> label and reading of its values (labels are the ticket form's own msgids).
AUDIT_FIELDS = {
    "asset_id": Field(N_("Asset"), record),
    "component_id": Field(N_("Component"), record),
    "title": Field(N_("Title")),
    "description": Field(N_("Description")),
    "source": Field(N_("Source"), choice(Source)),
    "work_class": Field(N_("Work class"), choice(WorkClass)),
    "priority": Field(N_("Priority"), choice(Priority)),
    "assignee_id": Field(N_("Assignee"), user),
    "assignee_team": Field(N_("Team")),
    "contractor": Field(N_("Contractor")),
    "contractor_id": Field(N_("Contractor (register)"), record),
    "contractor_contact": Field(N_("Contractor contact")),
    "scope": Field(N_("Scope of work")),
    "planned_start_on": Field(N_("Planned start"), day),
    "planned_end_on": Field(N_("Planned end"), day),
    "cost_estimate": Field(N_("Estimated cost (yuan)"), number),
    "cost_actual": Field(N_("Actual cost (yuan)"), number),
    "reporter_email": Field(N_("Reporter e-mail (never shown publicly)")),
    "status": Field(N_("Status"), choice(Status)),
    "closing_reason": Field(N_("Closing reason"), choice(ClosingReason)),
    "duplicate_of": Field(N_("Duplicate of"), record),
    "note": Field(N_("Note")),
    "comment": Field(N_("Comment"), record),
    "public": Field(N_("Public (the reporter is told)"), yes_no),
    "file": Field(N_("File")),
    "tag": Field(N_("Stage"), choice(PhotoTag)),
    # cost lines (services/costs.py) and the work order (services/contractors.py)
    "cost_line": Field(N_("Cost line"), record),
    "cost_kind": Field(N_("Kind of cost"), choice(CostKind)),
    "worker": Field(N_("Person or trade")),
    "hours": Field(N_("Hours"), number),
    "hourly_rate": Field(N_("Hourly rate (yuan)"), number),
    "quantity": Field(N_("Quantity")),
    "unit": Field(N_("Unit")),
    "unit_price": Field(N_("Unit price (yuan)"), number),
    "amount": Field(N_("Amount (yuan)"), number),
    "email": Field(N_("E-mail")),
}
describe("ticket", AUDIT_FIELDS)
#: The SLA policy's history (its own actions, ``sla.updated``).
describe("sla", {"hours": Field(N_("Hours to repair"))})
#: The contractor register's history (``contractor.created`` / ``contractor.updated``).
describe(
    "contractor",
    {
        "name": Field(N_("Name")),
        "contact_person": Field(N_("Contact person")),
        "phone": Field(N_("Phone")),
        "email": Field(N_("E-mail")),
        "language": Field(N_("Language for e-mails")),
        "contract_number": Field(N_("Contract number")),
        "contract_start_on": Field(N_("Contract start"), day),
        "contract_end_on": Field(N_("Contract end"), day),
        "scope": Field(N_("Scope of the contract")),
        "is_active": Field(N_("Active (offered on tickets)"), yes_no),
    },
)
#: A site's budget for a year (``budget.created`` / ``budget.updated``).
describe(
    "budget",
    {
        "site": Field(N_("Site"), record),
        "year": Field(N_("Year")),
        "amount": Field(N_("Budget (yuan)"), number),
        "note": Field(N_("Note")),
    },
)
