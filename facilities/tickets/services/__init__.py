"""Ticket services: the only code that writes tickets, comments and attachments.

Every write checks the actor's permission, runs in one transaction with its audit event, and (for
tickets) compares the version the person saw, so a stale save changes nothing and says so.

One module per part of the work, re-exported here, so callers keep writing
``from facilities.tickets import services as tickets``:

- :mod:`.sla`: the SLA policy and a ticket's due date;
- :mod:`.reading`: one ticket, filtered lists paged by cursor, exports;
- :mod:`.writing`: open, edit, and move a ticket along its lifecycle;
- :mod:`.scope`: who may act on which ticket (assignment, "take it", a second person accepts);
- :mod:`.comments` and :mod:`.attachments`: notes and files on a ticket;
- :mod:`.history`: the timeline, what happened to a ticket, oldest first;
- :mod:`.escalation`: who is told (P0, assignment, SLA breaches);
- :mod:`.stats`: tickets in aggregate, for the dashboard, calendar and ops page;
- :mod:`.costs`, :mod:`.rollups`, :mod:`.budget`, :mod:`.contractors`: money (cost lines and
  the actual-cost rule, roll-ups, site budgets) and the contractor register; imported as modules
  (``from facilities.tickets.services import costs``), not re-exported;
- :mod:`.bulk`: one change (assign, priority, schedule) to many tickets from the list,
  previewed, then made ticket by ticket through :func:`update_ticket` (imported as a module).
"""

from __future__ import annotations

from facilities.tickets.choices import Action
from facilities.tickets.schemas import TicketFilters
from facilities.tickets.services.attachments import (
    add_attachment,
    display_name,
    get_attachment,
    list_attachments,
)
from facilities.tickets.services.comments import add_comment, list_comments
from facilities.tickets.services.escalation import escalate_sla_breaches
from facilities.tickets.services.history import timeline
from facilities.tickets.services.reading import (
    SORTS,
    TicketPage,
    TicketView,
    allowed_actions,
    assigned_open,
    check_filters,
    count_up_to,
    find_ticket,
    get_ticket,
    is_overdue,
    iter_tickets,
    list_tickets,
    tickets_for_asset,
)
from facilities.tickets.services.reporters import use_reporter_hooks
from facilities.tickets.services.scope import (
    acceptance_refusal,
    completed_by,
    is_assigned_to,
    may_act_on,
    may_take,
    take_ticket,
)
from facilities.tickets.services.sla import (
    due_at,
    set_sla_hours,
    set_sla_policy,
    sla_hours,
    sla_policy_version,
)
from facilities.tickets.services.stats import (
    Dashboard,
    count_open,
    dashboard,
    median_days,
    open_p0_assets,
    planned_between,
)
from facilities.tickets.services.writing import (
    CENTS,
    EDITABLE,
    FOREIGN_KEYS,
    MAX_MONEY,
    money,
    open_ticket,
    snapshot,
    transition,
    update_ticket,
)

__all__ = [
    "CENTS",
    "EDITABLE",
    "FOREIGN_KEYS",
    "MAX_MONEY",
    "SORTS",
    "Action",
    "Dashboard",
    "TicketFilters",
    "TicketPage",
    "TicketView",
    "acceptance_refusal",
    "add_attachment",
    "add_comment",
    "allowed_actions",
    "assigned_open",
    "check_filters",
    "completed_by",
    "count_open",
    "count_up_to",
    "dashboard",
    "display_name",
    "due_at",
    "escalate_sla_breaches",
    "find_ticket",
    "get_attachment",
    "get_ticket",
    "is_assigned_to",
    "is_overdue",
    "iter_tickets",
    "list_attachments",
    "list_comments",
    "list_tickets",
    "may_act_on",
    "may_take",
    "median_days",
    "money",
    "open_p0_assets",
    "open_ticket",
    "planned_between",
    "set_sla_hours",
    "set_sla_policy",
    "sla_hours",
    "sla_policy_version",
    "snapshot",
    "take_ticket",
    "tickets_for_asset",
    "timeline",
    "transition",
    "update_ticket",
    "use_reporter_hooks",
]
