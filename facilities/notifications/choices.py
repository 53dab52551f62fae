"""Outbox states."""

from __future__ import annotations

from enum import StrEnum

from facilities.i18n import N_, gettext


class Status(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return gettext(STATUS_LABELS[self])


STATUS_LABELS = {
    Status.PENDING: N_("Waiting"),
    Status.SENDING: N_("Sending"),
    Status.SENT: N_("Sent"),
    Status.FAILED: N_("Failed"),
}


class StaffEvent(StrEnum):
    """The events that e-mail a member of staff, each a choice on their notification page.

    The value is what ``notification_preference.kind`` and ``digest_item.kind`` store; one kind
    may cover several e-mail templates (the inspection reminders before and on the due day)."""

    TICKET_P0 = "ticket_p0"
    TICKET_ASSIGNED = "ticket_assigned"
    TICKET_SLA_BREACH = "ticket_sla_breach"
    INSPECTION_DUE = "inspection_due"
    INSPECTION_OVERDUE = "inspection_overdue"
    INSPECTION_NO_RESTRICTION = "inspection_no_restriction"
    CLOSURE_PROMISE_SLIP = "closure_promise_slip"
    CLOSURE_QUIET = "closure_quiet"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (an event name, not a password)

    @property
    def label(self) -> str:
        return gettext(STAFF_EVENT_LABELS[self])

    @property
    def is_locked(self) -> bool:
        return self in LOCKED

    def link(self, context: dict[str, object]) -> str:
        """The page the e-mail is about (a path under the base URL), for the digest."""
        return STAFF_EVENT_LINKS[self].format(**context)


STAFF_EVENT_LABELS = {
    StaffEvent.TICKET_P0: N_("A P0 (make safe now) ticket is opened"),
    StaffEvent.TICKET_ASSIGNED: N_("A ticket is assigned to me"),
    StaffEvent.TICKET_SLA_BREACH: N_("A ticket passes its SLA due date"),
    StaffEvent.INSPECTION_DUE: N_("An inspection of my team is coming due or due today"),
    StaffEvent.INSPECTION_OVERDUE: N_("An inspection is overdue"),
    StaffEvent.INSPECTION_NO_RESTRICTION: N_(
        "An inspection at grade D or E recommends no restriction"
    ),
    StaffEvent.CLOSURE_PROMISE_SLIP: N_("A promised reopening is at risk"),
    StaffEvent.CLOSURE_QUIET: N_("A closure notice has had no public update for too long"),
    StaffEvent.PASSWORD_CHANGED: N_("My password was changed"),
}

STAFF_EVENT_LINKS = {
    StaffEvent.TICKET_P0: "/tickets/{ticket_id}",
    StaffEvent.TICKET_ASSIGNED: "/tickets/{ticket_id}",
    StaffEvent.TICKET_SLA_BREACH: "/tickets/{ticket_id}",
    StaffEvent.INSPECTION_DUE: "/inspections/{inspection_id}",
    StaffEvent.INSPECTION_OVERDUE: "/inspections/{inspection_id}",
    StaffEvent.INSPECTION_NO_RESTRICTION: "/inspections/{inspection_id}",
    StaffEvent.CLOSURE_PROMISE_SLIP: "/closures/{closure_id}",
    StaffEvent.CLOSURE_QUIET: "/closures/{closure_id}",
    StaffEvent.PASSWORD_CHANGED: "/account/password",
}

#: Always e-mailed at once, whatever the person chose: a P0 ticket (someone may be hurt before
#: tomorrow's digest), a dangerous bridge left open against its grade, and a password change
#: (the owner must be able to react to a stolen account). A forged form cannot change them.
LOCKED = frozenset(
    {StaffEvent.TICKET_P0, StaffEvent.INSPECTION_NO_RESTRICTION, StaffEvent.PASSWORD_CHANGED}
)


class Delivery(StrEnum):
    """How a member of staff gets the e-mails of one kind; IMMEDIATELY unless they chose."""

    IMMEDIATELY = "immediately"
    DIGEST = "digest"
    OFF = "off"

    @property
    def label(self) -> str:
        return gettext(DELIVERY_LABELS[self])


DELIVERY_LABELS = {
    Delivery.IMMEDIATELY: N_("Immediately"),
    Delivery.DIGEST: N_("In the daily digest"),
    Delivery.OFF: N_("Off"),
}
