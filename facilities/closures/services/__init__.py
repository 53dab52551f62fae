"""Closure services: lifecycle, promises, linked repair work, the reopening gate, the public
notice and its timeline, subscriptions, and the jobs that keep the notice honest.

The only code that writes the closure tables. Split by what each part does; callers keep
writing ``from facilities.closures import services`` and use the names re-exported here:

- :mod:`.reading`: one closure, the list, linked tickets, promises, history, operational status
- :mod:`.reopening_gate`: the four reopening criteria; :mod:`.views`: one closure as staff see it
- :mod:`.editing`: plan a closure, edit its facts
- :mod:`.lifecycle`: extend, cancel, sign off, lift; :mod:`.links`: link and unlink tickets
- :mod:`.proposals`: closures proposed by inspection rules, approved or dismissed
- :mod:`.notices`: the public notice's timeline (updates, drafts, system entries)
- :mod:`.activation`, :mod:`.progress`, :mod:`.reminders`: the periodic work
- :mod:`.subscriptions`: e-mail subscriptions and the fan-out of updates
- :mod:`.common`: what several of them share
"""

from facilities.closures.services.activation import activate_due, announce_reopenings
from facilities.closures.services.common import (
    DONE_TICKET_STATUSES,
    IRRELEVANT_TICKET_STATUSES,
    bilingual,
)
from facilities.closures.services.editing import (
    EDITABLE,
    check_closure,
    create_closure,
    snapshot,
    update_closure,
)
from facilities.closures.services.lifecycle import (
    cancel,
    cancel_texts,
    check_extension,
    extend,
    extension_texts,
    lift,
    sign_off,
)
from facilities.closures.services.links import link_ticket, unlink_ticket
from facilities.closures.services.notices import (
    discard_update,
    get_update,
    list_drafts,
    list_updates,
    publish_update,
    write_update,
)
from facilities.closures.services.progress import (
    PROGRESS_SETTLE,
    PUBLIC_TICKET_ACTIONS,
    draft_from_ticket_progress,
)
from facilities.closures.services.proposals import (
    APPROVED,
    DISMISSED,
    PROPOSED,
    approve_proposal,
    dismiss_proposal,
    list_proposals,
    proposal_to_closure,
)
from facilities.closures.services.reading import (
    SMALL_ID_LIST,
    count_in_force,
    find_closure,
    get_closure,
    history,
    linkable_tickets,
    linked_tickets,
    list_closures,
    operational_statuses,
    promises,
)
from facilities.closures.services.reminders import remind_quiet_notices, warn_promise_slips
from facilities.closures.services.reopening_gate import Criterion, Gate, gate
from facilities.closures.services.subscriptions import (
    confirm_subscription,
    fan_out,
    subscribe,
    unsubscribe,
)
from facilities.closures.services.views import ClosureView, closure_view

__all__ = [
    "APPROVED",
    "DISMISSED",
    "DONE_TICKET_STATUSES",
    "EDITABLE",
    "IRRELEVANT_TICKET_STATUSES",
    "PROGRESS_SETTLE",
    "PROPOSED",
    "PUBLIC_TICKET_ACTIONS",
    "SMALL_ID_LIST",
    "ClosureView",
    "Criterion",
    "Gate",
    "activate_due",
    "announce_reopenings",
    "approve_proposal",
    "bilingual",
    "cancel",
    "cancel_texts",
    "check_closure",
    "check_extension",
    "closure_view",
    "confirm_subscription",
    "count_in_force",
    "create_closure",
    "discard_update",
    "dismiss_proposal",
    "draft_from_ticket_progress",
    "extend",
    "extension_texts",
    "fan_out",
    "find_closure",
    "gate",
    "get_closure",
    "get_update",
    "history",
    "lift",
    "link_ticket",
    "linkable_tickets",
    "linked_tickets",
    "list_closures",
    "list_drafts",
    "list_proposals",
    "list_updates",
    "operational_statuses",
    "promises",
    "proposal_to_closure",
    "publish_update",
    "remind_quiet_notices",
    "sign_off",
    "snapshot",
    "subscribe",
    "unlink_ticket",
    "unsubscribe",
    "update_closure",
    "warn_promise_slips",
    "write_update",
]
