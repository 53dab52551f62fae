"""Stateful test of the repair-ticket lifecycle (hypothesis).

A rule-based state machine drives the ticket services directly with random sequences of actions
by random personas (admin, supervisor, inspector, crew, viewer), allowed and forbidden alike: the
wrong role, the wrong state, a stale version, missing data. It keeps a model of what must be true
and predicts, before every call, whether the service accepts it or which of the project's errors
refuses it. After every step the database is compared with the model:

- audit complete: each ticket's audit trail is exactly the (action, actor) list of the successful
  calls on it; a refused call leaves no event and changes nothing (version, status, times);
- versions go up by one on each change of the ticket and never otherwise;
- no orphan rows: comments and attachments (and their files) point at existing tickets;
- ticket states and SLA fields (due date from the policy, escalation once per due date) as the
  model says;
- who may touch what: crew act only on tickets assigned to them or to their team (carol works in
  CREW_TEAM), take an unassigned one (one conditional update: taken once, then 409), and nobody
  accepts work they completed themselves.

The machine's base (its own event loop, a clean database per example, explicit time) is
tests/kit/service_machine.py; the closure lifecycle machine is test_closures_lifecycle_stateful.py.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule, run_state_machine_as_test

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, can
from facilities.audit.tables import AuditEvent
from facilities.errors import (
    Conflict,
    DomainError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from facilities.tickets import services as tickets
from facilities.tickets.choices import (
    CLOSING_REASONS_FROM,
    FINAL_STATUSES,
    OPEN_STATUSES,
    SUPERVISORS,
    TRANSITIONS,
    TRANSITIONS_BY_ACTION,
    Action,
    ClosingReason,
    PhotoTag,
    Priority,
    Status,
)
from facilities.tickets.schemas import CommentIn, TicketIn, TransitionIn
from facilities.tickets.tables import RepairTicket, TicketAttachment, TicketComment
from tests.kit.assets import make_asset
from tests.kit.media import png_bytes
from tests.kit.personas import PERSONAS
from tests.kit.service_machine import (
    ERRORS,
    MISSING_ID,
    NAMES,
    NOTE,
    SETTINGS,
    ServiceMachine,
    explored,
    pick_move,
    skewed_version,
    weighted,
)
from tests.kit.tickets import changes_of

# --- repair tickets --------------------------------------------------------------------------


@dataclasses.dataclass
class TicketModel:
    id: int
    asset: int
    priority: Priority
    created_at: dt.datetime
    updated_at: dt.datetime
    sla_due_at: dt.datetime
    status: Status = Status.NEW
    version: int = 1
    held_from: Status | None = None
    closed_at: dt.datetime | None = None
    closing_reason: str | None = None
    duplicate_of: int | None = None
    planned_start_on: dt.date | None = None
    actual_start_at: dt.datetime | None = None
    actual_end_at: dt.datetime | None = None
    sla_escalated_for: dt.datetime | None = None
    events: list[tuple[str, int | None]] = dataclasses.field(default_factory=list)
    comments: int = 0
    attachments: int = 0
    after_photos: int = 0
    assignee: int | None = None
    assignee_team: str = ""
    completed_by: int | None = None  # who last marked the work complete


#: The team carol (crew) works in; tickets are assigned to it, to another team, to carol, to
#: the admin (someone else's work for the crew) or to nobody.
CREW_TEAM = "东区维修班"
NEEDS_NOTE = {Action.REWORK, Action.HOLD, Action.REJECT, Action.CANCEL}
TICKET_STEPS = (
    ["advance"] * 8
    + ["transition"] * 2
    + ["edit", "comment", "attach"]
    + ["take", "trespass"] * 2
    + ["advance_time"] * 2
    + ["escalate", "set_sla_policy", "missing"]
)


class TicketLifecycle(ServiceMachine):
    """Open, edit, move, comment on and attach to tickets; change the SLA policy; run the
    escalation job; let time pass."""

    def __init__(self, template: str, workdir: Path, seeded: dict[str, Any]) -> None:
        self.asset_id = 0
        super().__init__(template, workdir, seeded)
        self.model: dict[int, TicketModel] = {}
        self.sla_events: list[tuple[str, int | None]] = []
        self.hours = self.run(tickets.sla_hours())

    async def seed(self) -> dict[str, Any]:
        seeded = await super().seed() | {"asset_id": (await make_asset()).id}
        actors = dict(seeded["actors"])
        actors["carol"] = dataclasses.replace(actors["carol"], team=CREW_TEAM)
        return seeded | {"actors": actors}

    @staticmethod
    def may_act_on(actor: Actor, m: TicketModel) -> bool:
        """Supervisors and admins act on any ticket; others on their own or their team's."""
        return (
            actor.role in SUPERVISORS
            or (m.assignee is not None and m.assignee == actor.id)
            or (bool(actor.team) and m.assignee_team == actor.team)
        )

    # rules -----------------------------------------------------------------------------------

    @initialize(data=st.data(), priority=st.sampled_from(list(Priority)))
    def first_ticket(self, data: st.DataObject, priority: Priority) -> None:
        self.open_ticket(data, priority)

    @precondition(
        lambda self: (
            len(self.model) < 6
            and sum(m.status not in FINAL_STATUSES for m in self.model.values()) < 3
        )
    )
    @rule(data=st.data(), priority=st.sampled_from(list(Priority)))
    def another_ticket(self, data: st.DataObject, priority: Priority) -> None:
        self.open_ticket(data, priority)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        """Mostly a move along a ticket's lifecycle; sometimes an edit, a comment or a photo;
        or time passes, the SLA policy changes, the escalation job runs, someone acts on a
        ticket that does not exist."""
        step = data.draw(st.sampled_from(TICKET_STEPS), label="step")
        if step in {"advance", "transition", "edit", "comment", "attach", "take", "trespass"}:
            unfinished = [i for i, m in self.model.items() if m.status not in FINAL_STATUSES]
            ticket = weighted(data, unfinished, sorted(self.model), "ticket", odds=4)
            getattr(self, step)(ticket, data)
        else:
            getattr(self, step)(data)

    def open_ticket(self, data: st.DataObject, priority: Priority) -> None:
        name, actor = self.who(data, lambda a: can(a, Perm.TICKETS_CREATE))
        expected = None if can(actor, Perm.TICKETS_CREATE) else PermissionDenied
        carol, admin = self.actors["carol"].id, self.actors["admin"].id
        assignee, team = data.draw(
            st.sampled_from(
                [(None, ""), (carol, ""), (admin, ""), (None, CREW_TEAM), (None, "西区维修班")]
            ),
            label="assigned to",
        )
        ticket = self.attempt(
            f"{name} opens a {priority} ticket",
            tickets.open_ticket(
                actor,
                TicketIn(
                    asset_id=self.asset_id,
                    title=f"桥面木板腐朽 #{len(self.model) + 1}",
                    priority=priority,
                    assignee_id=assignee,
                    assignee_team=team,
                ),
                self.now,
            ),
            expected,
        )
        if ticket is None:
            return
        self.model[ticket.id] = TicketModel(
            id=ticket.id,
            asset=self.asset_id,
            priority=priority,
            created_at=self.now,
            updated_at=self.now,
            sla_due_at=self.now + dt.timedelta(hours=self.hours[priority]),
            events=[("ticket.created", actor.id)],
            assignee=assignee,
            assignee_team=team,
        )

    def advance(self, ticket: int, data: st.DataObject) -> None:
        """A move the ticket's status allows, by someone whose role allows it, on the current
        version: mostly forward along the main path, sometimes aside (hold, rework, cancel...).
        The data it needs may still be missing now and then."""
        m = self.model[ticket]
        possible = [t.action for t in TRANSITIONS if m.status in t.sources]
        if not possible:  # a finished ticket: nothing is allowed any more
            self.transition(ticket, data)
            return
        action = pick_move(data, m.status)
        spec = TRANSITIONS_BY_ACTION[action]
        able = [n for n in NAMES if PERSONAS[n] in spec.roles]
        # someone who may act on this ticket (assigned to them or their team, or a supervisor)
        # and, to accept, did not complete the work; now and then anyone the role allows
        likely = [
            n
            for n in able
            if self.may_act_on(self.actors[n], m)
            and not (action == Action.ACCEPT and self.actors[n].id == m.completed_by)
        ]
        name = weighted(data, likely, able, "persona", odds=4)
        self.transition(ticket, data, action, name, m.version)

    def transition(
        self,
        ticket: int,
        data: st.DataObject,
        action: Action | None = None,
        name: str | None = None,
        version: int | None = None,
    ) -> None:
        """Any move, by anyone, on any version (unless given); the model predicts the answer."""
        m = self.model[ticket]
        if action is None:  # half the time one the status allows, to meet the role check
            possible = [t.action for t in TRANSITIONS if m.status in t.sources]
            action = data.draw(st.sampled_from([*possible, *possible, *Action]), label="action")
        spec = TRANSITIONS_BY_ACTION[action]
        if name is None:
            name = data.draw(st.sampled_from(NAMES), label="persona")
        actor = self.actors[name]
        if version is None:
            version = skewed_version(data, m.version)
        note = weighted(data, [NOTE], [NOTE, "", "   "], "note")
        values: dict[str, Any] = {"action": action, "version": version, "note": note}
        if action == Action.SCHEDULE:
            values["planned_start_on"] = weighted(
                data, [self.now.date() + dt.timedelta(days=3)], [None], "planned start"
            )
        if action == Action.CLOSE:
            valid = sorted(CLOSING_REASONS_FROM.get(m.status, ()))
            values["closing_reason"] = weighted(
                data, valid, [None, *ClosingReason], "closing reason"
            )
        if action == Action.MARK_DUPLICATE:
            others = [i for i, t in self.model.items() if i != ticket and t.status != "duplicate"]
            values["duplicate_of"] = weighted(
                data, others, [ticket, MISSING_ID, *self.model], "original"
            )
        request = TransitionIn(**values)

        expected: type[DomainError] | None = None
        if version != m.version:
            expected = Conflict
        elif m.status not in spec.sources:
            expected = InvalidTransition
        elif actor.role not in spec.roles:
            expected = PermissionDenied
        elif not self.may_act_on(actor, m):
            expected = PermissionDenied  # someone else's ticket, or nobody's: take it first
        elif action == Action.ACCEPT and m.completed_by == actor.id:
            expected = PermissionDenied  # a second person accepts the work
        elif (
            (action in NEEDS_NOTE and not note.strip())
            or (
                action == Action.SCHEDULE
                and request.planned_start_on is None
                and m.planned_start_on is None
            )
            or (action == Action.COMPLETE and not note.strip() and not m.after_photos)
            or (
                action == Action.CLOSE
                and request.closing_reason not in CLOSING_REASONS_FROM[m.status]
            )
            or (
                action == Action.MARK_DUPLICATE
                and (
                    request.duplicate_of not in self.model
                    or request.duplicate_of == ticket
                    or self.model[request.duplicate_of].status == Status.DUPLICATE
                )
            )
        ):
            expected = ValidationFailed
        label = f"{name} ({actor.role}) {action} on #{ticket} ({m.status}, v{m.version}->{version})"
        self.outcomes[f"transition:{action}", expected.__name__ if expected else "ok"] += 1
        result = self.attempt(label, tickets.transition(actor, ticket, request, self.now), expected)
        if result is None:
            return
        before = m.status
        target = spec.target or m.held_from
        assert target is not None, label
        if action == Action.SCHEDULE:
            m.planned_start_on = request.planned_start_on or m.planned_start_on
        elif action == Action.START:
            m.actual_start_at = m.actual_start_at or self.now
        elif action == Action.COMPLETE:
            m.actual_end_at = self.now
            m.completed_by = actor.id
        elif action == Action.REWORK:
            m.actual_end_at = None
        elif action == Action.HOLD:
            m.held_from = m.status
        if m.status == Status.ON_HOLD:
            m.held_from = None
        elif action == Action.CLOSE:
            m.closing_reason = request.closing_reason
        elif action == Action.MARK_DUPLICATE:
            m.duplicate_of = request.duplicate_of
            m.closing_reason = ClosingReason.DUPLICATE
        m.status = Status(target)
        if m.status in FINAL_STATUSES:
            m.closed_at = self.now
        m.version += 1
        m.updated_at = self.now
        m.events.append((f"ticket.{action.value}", actor.id))
        assert (result.status, result.version) == (m.status, m.version), label
        event = self.run(self.last_event("ticket", ticket))
        assert event["action"] == f"ticket.{action.value}", label
        assert changes_of(event)["status"] == [before, m.status], label

    def edit(self, ticket: int, data: st.DataObject) -> None:
        m = self.model[ticket]
        priority = data.draw(st.sampled_from(list(Priority)), label="priority")
        name, actor = self.who(data, lambda a: can(a, Perm.TICKETS_EDIT))
        version = skewed_version(data, m.version)
        row = self.run(tickets.find_ticket(ticket))
        assert row is not None
        current = {k: v for k, v in tickets.snapshot(row).items() if k != "status"}
        request = msgspec.convert(
            {**current, "priority": priority, "version": version}, TicketIn, strict=False
        )
        expected: type[DomainError] | None = None
        if not can(actor, Perm.TICKETS_EDIT):
            expected = PermissionDenied
        elif m.status in FINAL_STATUSES:
            expected = InvalidTransition
        elif version != m.version:
            expected = Conflict
        label = f"{name} edits #{ticket} ({m.status}, v{m.version}->{version}) to {priority}"
        result = self.attempt(
            label, tickets.update_ticket(actor, ticket, request, self.now), expected
        )
        if result is None:
            return
        if priority != m.priority:
            m.priority = priority
            m.sla_due_at = m.created_at + dt.timedelta(hours=self.hours[priority])
        m.version += 1
        m.updated_at = self.now
        m.events.append(("ticket.updated", actor.id))

    def trespass(self, ticket: int, data: st.DataObject) -> None:
        """A move the status and role allow, on the current version, where the work may not be
        theirs: whoever completed the work accepting it, or the crew on a ticket that may be
        someone else's (the model says which)."""
        m = self.model[ticket]
        names = {a.id: n for n, a in self.actors.items()}
        if m.status == Status.WORK_COMPLETE and names.get(m.completed_by) in ("admin", "alice"):
            self.transition(ticket, data, Action.ACCEPT, names[m.completed_by], m.version)
            return
        crew = self.actors["carol"].role
        possible = [t.action for t in TRANSITIONS if m.status in t.sources and crew in t.roles]
        if not possible:  # nothing the crew could do here: an ordinary move instead
            self.advance(ticket, data)
            return
        action = data.draw(st.sampled_from(possible), label="action")
        self.transition(ticket, data, action, "carol", m.version)

    def take(self, ticket: int, data: st.DataObject) -> None:
        """Take it: crew assign an unassigned, unfinished ticket to themselves; someone
        else's (or a team's) answers 409, other roles 403."""
        m = self.model[ticket]
        name, actor = self.who(data, lambda a: a.role == "crew")
        expected: type[DomainError] | None = None
        if actor.role != "crew":
            expected = PermissionDenied
        elif m.status in FINAL_STATUSES:
            expected = InvalidTransition
        elif m.assignee is not None or m.assignee_team:
            expected = Conflict
        label = f"{name} takes #{ticket} ({m.status}, {m.assignee}/{m.assignee_team!r})"
        result = self.attempt(label, tickets.take_ticket(actor, ticket, self.now), expected)
        if result is None:
            return
        m.assignee = actor.id
        m.version += 1
        m.updated_at = self.now
        m.events.append(("ticket.taken", actor.id))
        assert (result.assignee, result.version) == (actor.id, m.version), label

    def comment(self, ticket: int, data: st.DataObject) -> None:
        m = self.model[ticket]
        public = data.draw(st.booleans(), label="public")
        name, actor = self.who(data, lambda a: can(a, Perm.TICKETS_WORK))
        expected = None if can(actor, Perm.TICKETS_WORK) else PermissionDenied
        done = self.attempt(
            f"{name} comments on #{ticket}",
            tickets.add_comment(
                actor,
                ticket,
                CommentIn(body="材料已到 / parts arrived", is_public=public),
                self.now,
            ),
            expected,
        )
        if done is None:
            return
        m.comments += 1
        m.updated_at = self.now
        m.events.append(("ticket.commented", actor.id))

    def attach(self, ticket: int, data: st.DataObject) -> None:
        m = self.model[ticket]
        tag = data.draw(st.sampled_from(list(PhotoTag)), label="tag")
        name, actor = self.who(data, lambda a: can(a, Perm.TICKETS_WORK))
        expected = None if can(actor, Perm.TICKETS_WORK) else PermissionDenied
        row = self.attempt(
            f"{name} attaches a {tag} photo to #{ticket}",
            tickets.add_attachment(
                actor, ticket, png_bytes(), "photo.png", tag, "", self.media, 5_000_000, self.now
            ),
            expected,
        )
        if row is None:
            return
        m.attachments += 1
        m.after_photos += tag == PhotoTag.AFTER
        m.events.append(("ticket.attached", actor.id))

    def missing(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(NAMES), label="persona")
        action = data.draw(st.sampled_from(list(Action)), label="action")
        self.attempt(
            f"{name} {action} on a missing ticket",
            tickets.transition(
                self.actors[name],
                MISSING_ID,
                TransitionIn(action=action, version=1, note=NOTE),
                self.now,
            ),
            NotFound,
        )

    def set_sla_policy(self, data: st.DataObject) -> None:
        priority = data.draw(st.sampled_from(list(Priority)), label="priority")
        hours = data.draw(st.sampled_from([1, 12, 48, 24 * 366, 0, 24 * 366 + 1]), label="hours")
        name, actor = self.who(data, lambda a: can(a, Perm.SLA_EDIT))
        expected: type[DomainError] | None = None
        if not can(actor, Perm.SLA_EDIT):
            expected = PermissionDenied
        elif not 1 <= hours <= 24 * 366:
            expected = ValidationFailed
        label = f"{name} sets {priority} to {hours} h"
        self.attempt(label, tickets.set_sla_hours(actor, priority, hours, self.now), expected)
        if expected is None:
            self.hours[priority] = hours
            self.sla_events.append(("sla.updated", actor.id))

    def escalate(self, data: st.DataObject) -> None:
        """The SLA job: once per breach (an open ticket past its due date)."""
        due = [
            m
            for m in self.model.values()
            if m.status in OPEN_STATUSES
            and m.sla_due_at < self.now
            and m.sla_escalated_for != m.sla_due_at
        ]
        assert self.run(tickets.escalate_sla_breaches(self.now)) == len(due)
        self.outcomes["escalate_sla_breaches", "some" if due else "none"] += 1
        for m in due:
            m.sla_escalated_for = m.sla_due_at

    # invariants ------------------------------------------------------------------------------

    @invariant()
    def the_database_is_the_model(self) -> None:
        self.run(self.reading(self._check()))

    async def _check(self) -> None:
        rows = {r.id: r for r in await RepairTicket.objects()}
        assert set(rows) == set(self.model), "a refused open left a ticket, or one went missing"
        for ticket_id, m in self.model.items():
            row = rows[ticket_id]
            label = f"ticket #{ticket_id}"
            assert (row.status, row.version) == (m.status, m.version), label
            assert row.status in set(Status), label
            assert (row.updated_at, row.closed_at) == (m.updated_at, m.closed_at), label
            assert (row.held_from, row.closing_reason) == (m.held_from, m.closing_reason), label
            assert row.duplicate_of == m.duplicate_of, label
            assert (row.actual_start_at, row.actual_end_at) == (
                m.actual_start_at,
                m.actual_end_at,
            ), label
            assert row.planned_start_on == m.planned_start_on, label
            assert (row.assignee, row.assignee_team) == (m.assignee, m.assignee_team), label
            assert await tickets.completed_by(ticket_id) == m.completed_by, label
            # the lifecycle's own rules, whatever the model says
            assert (row.held_from is not None) == (row.status == Status.ON_HOLD), label
            assert (row.closed_at is not None) == (row.status in FINAL_STATUSES), label
            assert (row.duplicate_of is not None) == (row.status == Status.DUPLICATE), label
            assert row.duplicate_of is None or row.duplicate_of in rows, label
            # SLA: due date from the policy at the time the priority was set; escalated once
            assert (row.priority, row.sla_due_at) == (m.priority, m.sla_due_at), label
            assert row.sla_escalated_for == m.sla_escalated_for, label
            assert tickets.is_overdue(row, self.now) == (
                m.status in OPEN_STATUSES and m.sla_due_at < self.now
            ), label

        events = await (
            AuditEvent.select(
                AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.action, AuditEvent.actor
            )
            .where(AuditEvent.entity_type.is_in(["ticket", "sla_policy"]))
            .order_by(AuditEvent.id)
        )
        trails: dict[int, list[tuple[str, int | None]]] = collections.defaultdict(list)
        sla_trail = []
        for e in events:
            if e["entity_type"] == "ticket":
                trails[e["entity_id"]].append((e["action"], e["actor"]))
            else:
                sla_trail.append((e["action"], e["actor"]))
        assert set(trails) <= set(self.model), "audit events of a ticket that does not exist"
        for ticket_id, m in self.model.items():
            assert trails[ticket_id] == m.events, f"ticket #{ticket_id}'s audit trail"
        assert sla_trail == self.sla_events

        comments = collections.Counter(
            r["ticket"] for r in await TicketComment.select(TicketComment.ticket)
        )
        assert set(comments) <= set(rows), "a comment without its ticket"
        assert comments == +collections.Counter({i: m.comments for i, m in self.model.items()})
        files = await TicketAttachment.select(
            TicketAttachment.ticket, TicketAttachment.storage_key, TicketAttachment.thumbnail_key
        )
        assert {f["ticket"] for f in files} <= set(rows), "an attachment without its ticket"
        attached = collections.Counter(f["ticket"] for f in files)
        assert attached == +collections.Counter({i: m.attachments for i, m in self.model.items()})
        keys = {k for f in files for k in (f["storage_key"], f["thumbnail_key"]) if k}
        stored = {str(p.relative_to(self.media)) for p in self.media.rglob("*") if p.is_file()}
        assert stored == keys, "a file without its row, or a row without its file"


def test_ticket_lifecycle_state_machine(database_template: str, tmp_path: Path) -> None:
    seeded: dict[str, Any] = {}
    TicketLifecycle.outcomes = collections.Counter()
    run_state_machine_as_test(
        lambda: TicketLifecycle(database_template, tmp_path, seeded),
        # more examples than the shared default: assignment and acceptance refusals are
        # outcomes of their own that the exploration must reach too
        settings=settings(SETTINGS, max_examples=80),
    )
    explored(
        TicketLifecycle.outcomes,
        [(f"transition:{action}", "ok") for action in Action]
        + [("transition", error) for error in ERRORS]
        + [("update_ticket", o) for o in ("ok", "Conflict", "InvalidTransition")]
        + [("set_sla_hours", o) for o in ("ok", "ValidationFailed", "PermissionDenied")]
        + [("open_ticket", "ok"), ("add_comment", "ok"), ("add_attachment", "ok")]
        + [("take_ticket", o) for o in ("ok", "Conflict", "PermissionDenied")]
        + [("transition:accept", "PermissionDenied"), ("transition:start", "PermissionDenied")]
        + [("escalate_sla_breaches", "some")],
    )
