"""Stateful tests of the repair-ticket and closure lifecycles (hypothesis).

Two rule-based state machines drive the services directly with random sequences of actions by
random personas (admin, supervisor, inspector, crew, viewer), allowed and forbidden alike: the
wrong role, the wrong state, a stale version, missing data. Each machine keeps a model of what
must be true and predicts, before every call, whether the service accepts it or which of the
project's errors refuses it. After every step the database is compared with the model:

- audit complete: each record's audit trail is exactly the (action, actor) list of the successful
  calls on it; a refused call leaves no event and changes nothing (version, status, times);
- versions go up by one on each change of the record and never otherwise;
- the reopening gate is never bypassed: a closure is lifted only when the model's own reading of
  the four criteria says the gate is open, or by an administrator's written override, which the
  model records and the audit trail carries with the unmet criteria;
- no orphan rows: comments, attachments (and their files), promises, notice entries and ticket
  links point at existing parents;
- ticket states and SLA fields (due date from the policy, escalation once per due date) as the
  model says.

Time is explicit: a rule advances the model clock and every service call gets ``now``. The
services are async and a state machine is not, so each machine owns an event loop and runs each
step on it; each example gets a clean database (a copy of the migrated SQLite template, or an
emptied PostgreSQL database with a pool opened on the machine's loop).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import itertools
import json
import shutil
import sqlite3
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import msgspec
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, can
from facilities.assets.choices import ComponentGroup
from facilities.audit.tables import AuditEvent
from facilities.closures import services as closures
from facilities.closures.choices import IN_FORCE, NoticeState, Precision, Reason, SafetyMeasure
from facilities.closures.choices import Status as CStatus
from facilities.closures.schemas import (
    CancelIn,
    ClosureIn,
    ExtendIn,
    LiftIn,
    LinkTicketIn,
    NoticeIn,
)
from facilities.closures.tables import Closure, ClosurePromise, ClosureTicket, NoticeUpdate
from facilities.errors import (
    Conflict,
    DomainError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType, Trigger
from facilities.inspections.schemas import ConditionIn, InspectionIn, RecordIn
from facilities.tickets import services as tickets
from facilities.tickets.choices import (
    CLOSING_REASONS_FROM,
    FINAL_STATUSES,
    OPEN_STATUSES,
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
from tests.conftest import NOW, PERSONAS, create_personas, on_postgres
from tests.factories import make_asset, make_component, make_site
from tests.test_closures_services import ZONE
from tests.test_tickets_services import png_bytes

T = TypeVar("T")

NAMES = tuple(PERSONAS)  # admin, alice (supervisor), bob (inspector), carol (crew), dave (viewer)
MISSING_ID = 2_000_000_000
NOTE = "说明 / the reason"
STEPS_OF_TIME = [
    dt.timedelta(minutes=1),
    dt.timedelta(hours=2),
    dt.timedelta(hours=25),
    dt.timedelta(days=8),
    dt.timedelta(days=40),
]

SETTINGS = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


ERRORS = ("Conflict", "InvalidTransition", "PermissionDenied", "ValidationFailed", "NotFound")


def explored(outcomes: collections.Counter[tuple[str, str]], wanted: list[tuple[str, str]]) -> None:
    """The random walk reached every outcome worth checking (otherwise the invariants held
    over too little: tune the machine's weights)."""
    missing = [key for key in wanted if not outcomes[key]]
    assert not missing, f"never reached: {missing}; reached: {sorted(outcomes.items())}"


def weighted(
    data: st.DataObject, likely: Sequence[T], anything: Sequence[T], label: str, odds: int = 7
) -> T:
    """Mostly (``odds`` to one) one of ``likely`` (the moves that make progress), sometimes any
    of ``anything`` (forbidden or nonsensical ones included)."""
    if likely and data.draw(st.integers(0, odds), label=f"{label}: likely?") < odds:
        return data.draw(st.sampled_from(list(likely)), label=label)
    return data.draw(st.sampled_from(list(anything)), label=label)


def skewed_version(data: st.DataObject, version: int) -> int:
    """The current version most of the time; now and then a stale or a future one."""
    skew = data.draw(st.sampled_from([0, 0, 0, 0, 0, 0, -1, 1]), label="version skew")
    return version + skew if version + skew >= 1 else version + 1


def changes_of(event: dict[str, Any]) -> dict[str, Any]:
    changes = event["changes"]
    return json.loads(changes) if isinstance(changes, str) else changes


async def empty(url: str) -> None:
    """Delete every row but the migration record, then seed the policy again (as conftest does
    with TRUNCATE, which costs half a second a time: too slow for one per example). Foreign keys
    are not checked while it deletes (a superuser's privilege; otherwise TRUNCATE it is)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'migration'"
        )
        sequences = await conn.fetch(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
        )
        # names from the catalogue, not from input; ids restart as on SQLite, so an example
        # runs the same on both engines
        deletes = "".join(f'DELETE FROM "{row["tablename"]}";' for row in rows)  # noqa: S608
        deletes += "".join(f'ALTER SEQUENCE "{row["sequencename"]}" RESTART;' for row in sequences)
        try:
            await conn.execute(
                f"BEGIN; SET LOCAL session_replication_role = replica; {deletes} COMMIT;"
            )
        except asyncpg.InsufficientPrivilegeError:
            await conn.execute("ROLLBACK")
            names = ", ".join(f'"{row["tablename"]}"' for row in rows)
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
    await inspections.ensure_policy()


class ServiceMachine(RuleBasedStateMachine):
    """A machine with its own event loop and a clean database holding what ``seed`` made (the
    personas and whatever the subclass needs).

    On SQLite the seed is made once per test and its file copied for every example; on
    PostgreSQL each example empties the database and seeds it again, with the pool opened on
    the machine's loop (a pool belongs to the loop that made it)."""

    examples = itertools.count()
    #: (service function, outcome) -> how often, over every example of a test
    outcomes: collections.Counter[tuple[str, str]] = collections.Counter()

    def __init__(self, template: str, workdir: Path, seeded: dict[str, Any]) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.stack = contextlib.AsyncExitStack()
        self.now = NOW
        self.example = next(self.examples)
        self.workdir = workdir
        self.media = workdir / f"media-{self.example}"
        self.path: Path | None = None
        try:
            if on_postgres():
                db.configure(template)
                self.run(self.stack.enter_async_context(db.connection_pool(1, 4)))
                self.run(empty(template))
                state = self.run(self.seed())
            else:
                if "path" not in seeded:
                    path = workdir / "seed.db"
                    shutil.copyfile(template, path)
                    db.configure(f"sqlite:///{path}")
                    seeded["state"] = self.run(self.seed())
                    connection = sqlite3.connect(path)  # everything in the main file
                    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    connection.close()
                    seeded["path"] = path
                self.path = workdir / f"example-{self.example}.db"
                shutil.copyfile(seeded["path"], self.path)
                db.configure(f"sqlite:///{self.path}")
                state = seeded["state"]
            self.__dict__.update(state)
        except BaseException:
            self.teardown()
            raise

    async def seed(self) -> dict[str, Any]:
        """Rows every example starts with, as attributes of the machine."""
        actors = await create_personas(NOW)
        return {"actors": actors}

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    @staticmethod
    async def last_event(entity_type: str, entity_id: int) -> dict[str, Any]:
        """The newest audit event of one record (the one the service call just wrote)."""
        event = (
            await AuditEvent.select()
            .where((AuditEvent.entity_type == entity_type) & (AuditEvent.entity_id == entity_id))
            .order_by(AuditEvent.id, ascending=False)
            .first()
        )
        assert event is not None
        return event

    async def reading(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run the invariants' reads on one connection (SQLite opens one per query otherwise)."""
        async with db.engine().transaction():
            return await coroutine

    def attempt(
        self, label: str, coroutine: Coroutine[Any, Any, T], expected: type[DomainError] | None
    ) -> T | None:
        """Run one service call: it succeeds when the model says so, and otherwise is refused
        with exactly the project error the model predicts (anything else fails the test)."""
        kind = coroutine.__qualname__.split(".")[-1]
        self.outcomes[kind, expected.__name__ if expected else "ok"] += 1
        try:
            result = self.run(coroutine)
        except DomainError as error:
            assert type(error) is expected, (
                f"{label}: expected {expected.__name__ if expected else 'success'}, "
                f"got {type(error).__name__}: {error}"
            )
            assert error.status_code in {400, 403, 404, 409}, label
            return None
        assert expected is None, f"{label}: expected {expected.__name__}, but it succeeded"
        return result

    def who(self, data: st.DataObject, allowed: Any) -> tuple[str, Actor]:
        """A persona, mostly one the action allows (``allowed(actor)``)."""
        likely = [n for n in NAMES if allowed(self.actors[n])]
        name = weighted(data, likely, NAMES, "persona", odds=4)
        return name, self.actors[name]

    def advance_time(self, data: st.DataObject) -> None:
        self.now += data.draw(st.sampled_from(STEPS_OF_TIME), label="time passes")

    def teardown(self) -> None:
        try:
            self.run(self.stack.aclose())
        finally:
            self.loop.close()
            shutil.rmtree(self.media, ignore_errors=True)
            if self.path is not None:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)


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


NEEDS_NOTE = {Action.REWORK, Action.HOLD, Action.REJECT, Action.CANCEL}
FINAL: frozenset[Status | None] = frozenset(FINAL_STATUSES)
TICKET_STEPS = (
    ["advance"] * 8
    + ["transition"] * 2
    + ["edit", "comment", "attach"]
    + ["advance_time"] * 2
    + ["escalate", "set_sla_policy", "missing"]
)
#: The main path of a repair, which ``advance`` prefers to the moves aside.
FORWARD = {
    Status.NEW: (Action.TRIAGE,),
    Status.TRIAGED: (Action.SCHEDULE, Action.START),
    Status.SCHEDULED: (Action.START,),
    Status.IN_PROGRESS: (Action.COMPLETE,),
    Status.WORK_COMPLETE: (Action.ACCEPT,),
    Status.ACCEPTED: (Action.CLOSE,),
    Status.ON_HOLD: (Action.RESUME,),
}


def pick_move(data: st.DataObject, status: Status, exclude: Sequence[Action] = ()) -> Action:
    """A move the status allows: mostly forward along the main path, sometimes aside (hold,
    resume, rework...), seldom one that finishes the ticket early (reject, cancel...)."""
    possible = [t for t in TRANSITIONS if status in t.sources and t.action not in exclude]
    forward = [t.action for t in possible if t.action in FORWARD.get(status, ())]
    aside = [t.action for t in possible if t.action not in forward and t.target not in FINAL]
    early = [t.action for t in possible if t.action not in forward and t.target in FINAL]
    roll = data.draw(st.integers(0, 8), label="which kind of move")
    for kind in [forward, aside, early] if roll < 6 else [aside, early] if roll < 8 else [early]:
        if kind:
            return data.draw(st.sampled_from(kind), label="action")
    return data.draw(st.sampled_from([t.action for t in possible]), label="action")


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
        return await super().seed() | {"asset_id": (await make_asset()).id}

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
        if step in {"advance", "transition", "edit", "comment", "attach"}:
            unfinished = [i for i, m in self.model.items() if m.status not in FINAL_STATUSES]
            ticket = weighted(data, unfinished, sorted(self.model), "ticket", odds=4)
            getattr(self, step)(ticket, data)
        else:
            getattr(self, step)(data)

    def open_ticket(self, data: st.DataObject, priority: Priority) -> None:
        name, actor = self.who(data, lambda a: can(a, Perm.TICKETS_CREATE))
        expected = None if can(actor, Perm.TICKETS_CREATE) else PermissionDenied
        assignee = data.draw(st.sampled_from([None, self.actors["carol"].id]), label="assignee")
        ticket = self.attempt(
            f"{name} opens a {priority} ticket",
            tickets.open_ticket(
                actor,
                TicketIn(
                    asset_id=self.asset_id,
                    title=f"桥面木板腐朽 #{len(self.model) + 1}",
                    priority=priority,
                    assignee_id=assignee,
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
        name = data.draw(st.sampled_from([n for n in NAMES if PERSONAS[n] in spec.roles]))
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
        lambda: TicketLifecycle(database_template, tmp_path, seeded), settings=SETTINGS
    )
    explored(
        TicketLifecycle.outcomes,
        [(f"transition:{action}", "ok") for action in Action]
        + [("transition", error) for error in ERRORS]
        + [("update_ticket", o) for o in ("ok", "Conflict", "InvalidTransition")]
        + [("set_sla_hours", o) for o in ("ok", "ValidationFailed", "PermissionDenied")]
        + [("open_ticket", "ok"), ("add_comment", "ok"), ("add_attachment", "ok")]
        + [("escalate_sla_breaches", "some")],
    )


# --- closures --------------------------------------------------------------------------------

DONE = {Status.ACCEPTED, Status.CLOSED}
IRRELEVANT = {Status.CANCELLED, Status.REJECTED, Status.DUPLICATE}
#: Component score -> (grade, passes): 85 is a B, 70 a C, 55 a D.
SCORES = {85.0: ("B", True), 70.0: ("C", True), 55.0: ("D", False)}
OVERRIDE = "抗洪抢险需要通行，经专家现场确认安全"
CRITERIA = ("tickets", "acceptance", "grade", "sign_off")
OVER = {CStatus.LIFTED, CStatus.CANCELLED}
WORLD_STEPS = (
    ["closure"] * 8
    + ["work_on_ticket", "open_ticket"]
    + ["advance_time"] * 2
    + ["inspect", "activate", "announce"]
)
CLOSURE_STEPS = (
    "sign_off",
    "lift",
    "link",
    "unlink",
    "extend",
    "update",
    "cancel",
    "write_update",
    "decide_draft",
    "inspect_the_asset",
    "work_on_linked",
)


@dataclasses.dataclass
class ClosureModel:
    id: int
    asset: int
    data: ClosureIn
    effective_from: dt.datetime
    planned_reopen_on: dt.date | None
    updated_at: dt.datetime
    status: CStatus = CStatus.PLANNED
    version: int = 1
    sequence: int = 0
    activated_at: dt.datetime | None = None
    signed_off_at: dt.datetime | None = None
    signed_off_by: int | None = None
    lifted_at: dt.datetime | None = None
    reopens_at: dt.datetime | None = None
    override_reason: str = ""
    #: the model's reading of the gate when it was lifted (None: not lifted)
    lifted_through: dict[str, bool] | None = None
    announced_at: dt.datetime | None = None
    events: list[tuple[str, int | None]] = dataclasses.field(default_factory=list)
    promises: int = 1
    notices: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    drafts: set[int] = dataclasses.field(default_factory=set)
    links: dict[int, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class LinkedTicket:
    id: int
    asset: int
    status: Status = Status.NEW
    version: int = 1
    held_from: Status | None = None


@dataclasses.dataclass(frozen=True)
class Acceptance:
    at: dt.datetime
    passed: bool


class ClosureLifecycle(ServiceMachine):
    """Plan, edit, extend, cancel, sign off and lift closures; link the closed asset's tickets
    and move them along; inspect the assets; write, publish and discard notice updates; run the
    activation and reopening jobs; let time pass."""

    def __init__(self, template: str, workdir: Path, seeded: dict[str, Any]) -> None:
        self.assets: list[tuple[int, int, int]] = []  # (asset, deck component, cable component)
        super().__init__(template, workdir, seeded)
        self.model: dict[int, ClosureModel] = {}
        self.tix: dict[int, LinkedTicket] = {}
        self.grades: dict[int, str | None] = {a: None for a, _, _ in self.assets}
        self.acceptances: dict[int, list[Acceptance]] = {a: [] for a, _, _ in self.assets}
        self.decided: set[int] = set()  # drafts published or discarded

    async def seed(self) -> dict[str, Any]:
        state = await super().seed()
        site = await make_site()
        assets = []
        for _ in range(2):
            asset = await make_asset(site)
            deck = await make_component(asset, "桥面木板", group=ComponentGroup.DECK_SYSTEM)
            cable = await make_component(asset, "主缆", group=ComponentGroup.SUPERSTRUCTURE)
            assets.append((asset.id, deck.id, cable.id))
        return state | {"assets": assets}

    # the model's gate ---------------------------------------------------------------------

    def gate(self, c: ClosureModel) -> dict[str, bool]:
        """The four criteria as the model reads them, independently of the service."""
        linked = [self.tix[t] for t in c.links]
        relevant = [t for t in linked if t.status not in IRRELEVANT]
        since = [a for a in self.acceptances[c.asset] if a.at >= c.effective_from]
        grade = self.grades[c.asset]
        return {
            "tickets": all(t.status in DONE for t in relevant),
            "acceptance": bool(since) and since[-1].passed,
            "grade": grade is not None and grade <= "C",
            "sign_off": c.signed_off_at is not None,
        }

    def check_gate(self, c: ClosureModel) -> dict[str, bool]:
        """The model's gate, which must be what the service reads too."""
        expected = self.gate(c)
        row = self.run(closures.find_closure(c.id))
        assert row is not None
        state = self.run(closures.gate(row))
        found = {criterion.code: criterion.met for criterion in state.criteria}
        assert found == expected, f"closure #{c.id}: the service's gate {found}, the model's"
        return expected

    # rules ----------------------------------------------------------------------------------

    @initialize(data=st.data())
    def first_closure(self, data: st.DataObject) -> None:
        self.create(data)

    @precondition(
        lambda self: (
            len(self.model) < 5 and sum(c.status not in OVER for c in self.model.values()) < 2
        )
    )
    @rule(data=st.data())
    def another_closure(self, data: st.DataObject) -> None:
        self.create(data)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        """Mostly a step on a closure (one still in force, usually); sometimes a repair ticket
        is opened or worked on, time passes, an asset is inspected, or a job runs."""
        step = data.draw(st.sampled_from(WORLD_STEPS), label="step")
        if step == "closure":
            ongoing = [i for i, c in self.model.items() if c.status not in OVER]
            closure = weighted(data, ongoing, sorted(self.model), "closure", odds=4)
            self.closure_step(self.model[closure], data)
        elif step == "work_on_ticket":
            if self.tix:
                self.work(data.draw(st.sampled_from(sorted(self.tix)), label="ticket"), data)
        else:
            getattr(self, step)(data)

    def open_ticket(self, data: st.DataObject) -> None:
        """The supervisor opens a repair ticket on one of the assets (ticket rules are the
        other machine's business: here they only feed the gate)."""
        if len(self.tix) >= 4:
            return
        asset = weighted(data, [self.assets[0][0]], [a for a, _, _ in self.assets], "asset")
        ticket = self.run(
            tickets.open_ticket(
                self.actors["alice"], TicketIn(asset_id=asset, title="栏杆加固"), self.now
            )
        )
        self.tix[ticket.id] = LinkedTicket(ticket.id, asset)

    def work(self, ticket: int, data: st.DataObject) -> None:
        t = self.tix[ticket]
        if t.status in FINAL_STATUSES:
            return
        action = pick_move(data, t.status, exclude=[Action.MARK_DUPLICATE])
        spec = TRANSITIONS_BY_ACTION[action]
        reasons = sorted(CLOSING_REASONS_FROM.get(t.status, ()))
        self.run(
            tickets.transition(
                self.actors["alice"],
                ticket,
                TransitionIn(
                    action=action,
                    version=t.version,
                    note=NOTE,
                    closing_reason=reasons[0] if action == Action.CLOSE else None,
                    planned_start_on=self.now.date() if action == Action.SCHEDULE else None,
                ),
                self.now,
            )
        )
        target = spec.target or t.held_from
        assert target is not None
        t.held_from = t.status if action == Action.HOLD else None
        t.status, t.version = Status(target), t.version + 1

    def closure_step(self, c: ClosureModel, data: st.DataObject) -> None:
        """Usually what the closure's state calls for next (finish the linked work, inspect,
        sign off, lift; keep the public informed), otherwise anything at all."""
        likely = ["write_update", "link", "extend"]
        if c.status in IN_FORCE:
            gate = self.gate(c)
            if not gate["tickets"]:
                likely += ["work_on_linked"] * 3
            elif not (gate["acceptance"] and gate["grade"]):
                likely += ["inspect_the_asset"] * 3
            elif not gate["sign_off"]:
                likely += ["sign_off"] * 3
            else:
                likely += ["lift"] * 3
            likely.append("lift")  # through a shut gate, now and then
        elif c.status == CStatus.PLANNED:
            likely = ["update", "link", "write_update", "its_start_comes"]
        else:  # lifted or cancelled: nothing left to do but try what is refused
            likely = []
        if c.drafts - self.decided:
            likely.append("decide_draft")
        step = weighted(data, likely, CLOSURE_STEPS, "step", odds=1)
        getattr(self, step)(c, data)

    def its_start_comes(self, c: ClosureModel, data: st.DataObject) -> None:
        """The clock reaches the planned closure's start and the activation job runs."""
        self.now = max(self.now, c.effective_from)
        self.activate(data)

    def work_on_linked(self, c: ClosureModel, data: st.DataObject) -> None:
        unfinished = [t for t in sorted(c.links) if self.tix[t].status not in DONE | IRRELEVANT]
        if unfinished:
            self.work(data.draw(st.sampled_from(unfinished), label="linked ticket"), data)

    # closure steps ------------------------------------------------------------------------

    def create(self, data: st.DataObject) -> None:
        name, actor = self.who(data, lambda a: can(a, Perm.CLOSURES_EDIT))
        asset = weighted(data, [self.assets[0][0]], [a for a, _, _ in self.assets], "asset")
        start = self.now + data.draw(
            st.sampled_from(
                [dt.timedelta(0), dt.timedelta(0), -dt.timedelta(hours=1), dt.timedelta(hours=3)]
            ),
            label="starts",
        )
        days = data.draw(st.sampled_from([30, 90, None, -1]), label="reopens after days")
        request = ClosureIn(
            asset_id=asset,
            reason=Reason.REPAIR_WORKS,
            reason_zh="桥面木板腐朽，全封闭维修",
            reason_en="Rotten deck planks: closed for repair",
            safety_measures=[SafetyMeasure.FENCING, SafetyMeasure.WARNING_SIGNS],
            effective_from=start,
            planned_reopen_on=None if days is None else start.date() + dt.timedelta(days=days),
            reopen_precision=Precision.BEFORE,
        )
        expected: type[DomainError] | None = None
        if not can(actor, Perm.CLOSURES_EDIT):
            expected = PermissionDenied
        elif days is not None and days < 0:
            expected = ValidationFailed
        row = self.attempt(
            f"{name} closes asset {asset} from {start}",
            closures.create_closure(actor, request, self.now),
            expected,
        )
        if row is None:
            return
        c = ClosureModel(
            id=row.id,
            asset=asset,
            data=request,
            effective_from=start,
            planned_reopen_on=request.planned_reopen_on,
            updated_at=self.now,
            events=[("closure.created", actor.id)],
        )
        self.model[row.id] = c
        if start <= self.now:
            self.activated(c)

    def activated(self, c: ClosureModel) -> None:
        c.status, c.activated_at, c.updated_at = CStatus.ACTIVE, self.now, self.now
        c.version += 1
        c.notices[NoticeState.PUBLISHED] += 1
        c.events.append(("closure.activated", None))

    def changed(self, c: ClosureModel, event: str, actor: Actor) -> None:
        c.version += 1
        c.updated_at = self.now
        c.events.append((event, actor.id))

    def update(self, c: ClosureModel, data: st.DataObject) -> None:
        name, actor = self.who(data, lambda a: can(a, Perm.CLOSURES_EDIT))
        version = skewed_version(data, c.version)
        request = msgspec.structs.replace(
            c.data,
            reason_zh=f"{c.data.reason_zh}（更新）",
            planned_reopen_on=c.planned_reopen_on,
            version=version,
        )
        expected: type[DomainError] | None = None
        if not can(actor, Perm.CLOSURES_EDIT):
            expected = PermissionDenied
        elif c.status in {CStatus.LIFTED, CStatus.CANCELLED}:
            expected = InvalidTransition
        elif version != c.version:
            expected = Conflict
        label = f"{name} edits closure #{c.id} ({c.status}, v{c.version}->{version})"
        if self.attempt(label, closures.update_closure(actor, c.id, request, self.now), expected):
            c.data = request
            self.changed(c, "closure.updated", actor)
            if c.status == CStatus.PLANNED and c.effective_from <= self.now:
                self.activated(c)

    def extend(self, c: ClosureModel, data: st.DataObject) -> None:
        name, actor = self.who(data, lambda a: can(a, Perm.CLOSURES_EDIT))
        version = skewed_version(data, c.version)
        days = data.draw(st.sampled_from([30, 30, 30, 0, -3]), label="later by days")
        reason = weighted(data, ["雨季延误 / rain"], ["  "], "reason")
        base = c.planned_reopen_on or self.now.date()
        request = ExtendIn(
            version=version, planned_reopen_on=base + dt.timedelta(days=days), reason_zh=reason
        )
        expected: type[DomainError] | None = None
        if not can(actor, Perm.CLOSURES_EDIT):
            expected = PermissionDenied
        elif c.status not in IN_FORCE:
            expected = InvalidTransition
        elif version != c.version:
            expected = Conflict
        elif not reason.strip() or (c.planned_reopen_on is not None and days <= 0):
            expected = ValidationFailed
        label = f"{name} extends closure #{c.id} ({c.status}, v{c.version}->{version}) {days}d"
        if self.attempt(label, closures.extend(actor, c.id, request, self.now), expected):
            c.status, c.planned_reopen_on = CStatus.EXTENDED, request.planned_reopen_on
            c.sequence += 1
            c.promises += 1
            c.notices[NoticeState.PUBLISHED] += 1
            self.changed(c, "closure.extended", actor)

    def cancel(self, c: ClosureModel, data: st.DataObject) -> None:
        name, actor = self.who(data, lambda a: can(a, Perm.CLOSURES_EDIT))
        version = skewed_version(data, c.version)
        reason = weighted(data, ["工程取消 / works called off"], [" "], "reason")
        expected: type[DomainError] | None = None
        if not can(actor, Perm.CLOSURES_EDIT):
            expected = PermissionDenied
        elif c.status not in {CStatus.PLANNED, CStatus.ACTIVE, CStatus.EXTENDED}:
            expected = InvalidTransition
        elif version != c.version:
            expected = Conflict
        elif not reason.strip():
            expected = ValidationFailed
        label = f"{name} cancels closure #{c.id} ({c.status}, v{c.version}->{version})"
        request = CancelIn(version=version, reason_zh=reason)
        if self.attempt(label, closures.cancel(actor, c.id, request, self.now), expected):
            if c.status != CStatus.PLANNED:
                c.notices[NoticeState.PUBLISHED] += 1
            c.status = CStatus.CANCELLED
            c.sequence += 1
            self.changed(c, "closure.cancelled", actor)

    def link(self, c: ClosureModel, data: st.DataObject) -> None:
        if not self.tix:
            return
        ticket = data.draw(st.sampled_from(sorted(self.tix)), label="ticket")
        name, actor = self.who(data, lambda a: can(a, Perm.CLOSURES_EDIT))
        label_zh = weighted(data, ["桥面更换", "主缆除锈"], ["桥面更换", " "], "public label")
        expected: type[DomainError] | None = None
        if not can(actor, Perm.CLOSURES_EDIT):
            expected = PermissionDenied
        elif c.status in {CStatus.LIFTED, CStatus.CANCELLED}:
            expected = InvalidTransition
        elif not label_zh.strip() or self.tix[ticket].asset != c.asset:
            expected = ValidationFailed
        request = LinkTicketIn(ticket_id=ticket, public_label_zh=label_zh)
        label = f"{name} links #{ticket} to closure #{c.id} ({c.status}) as {label_zh!r}"
        self.attempt(label, closures.link_ticket(actor, c.id, request, self.now), expected)
        if expected is None and c.links.get(ticket) != label_zh:  # the same again: no change
            c.links[ticket] = label_zh
            c.updated_at = self.now
            c.events.append(("closure.ticket_linked", actor.id))

    def unlink(self, c: ClosureModel, data: st.DataObject) -> None:
        if not self.tix:
            return
        ticket = weighted(data, sorted(c.links), sorted(self.tix), "ticket")
        name, actor = self.who(data, lambda a: can(a, Perm.CLOSURES_EDIT))
        expected: type[DomainError] | None = None
        if not can(actor, Perm.CLOSURES_EDIT):
            expected = PermissionDenied
        elif c.status in {CStatus.LIFTED, CStatus.CANCELLED}:
            expected = InvalidTransition
        label = f"{name} unlinks #{ticket} from closure #{c.id} ({c.status})"
        self.attempt(label, closures.unlink_ticket(actor, c.id, ticket, self.now), expected)
        if expected is None and c.links.pop(ticket, None) is not None:
            c.updated_at = self.now
            c.events.append(("closure.ticket_unlinked", actor.id))

    def sign_off(self, c: ClosureModel, data: st.DataObject) -> None:
        name, actor = self.who(data, lambda a: can(a, Perm.CLOSURES_SIGN_OFF))
        version = skewed_version(data, c.version)
        gate = self.check_gate(c) if c.status in IN_FORCE else self.gate(c)
        expected: type[DomainError] | None = None
        if not can(actor, Perm.CLOSURES_SIGN_OFF):
            expected = PermissionDenied
        elif c.status not in IN_FORCE:
            expected = InvalidTransition
        elif version != c.version:
            expected = Conflict
        elif c.signed_off_at is not None:
            expected = InvalidTransition
        elif not (gate["tickets"] and gate["acceptance"] and gate["grade"]):
            expected = InvalidTransition
        label = f"{name} signs off closure #{c.id} ({c.status}, v{c.version}->{version}) {gate}"
        if self.attempt(label, closures.sign_off(actor, c.id, version, self.now), expected):
            c.signed_off_at, c.signed_off_by = self.now, actor.id
            self.changed(c, "closure.signed_off", actor)

    def lift(self, c: ClosureModel, data: st.DataObject) -> None:
        gate = self.check_gate(c) if c.status in IN_FORCE else self.gate(c)
        is_open = all(gate.values())
        needed = Perm.CLOSURES_EDIT if is_open else Perm.CLOSURES_OVERRIDE
        name, actor = self.who(data, lambda a: can(a, needed))
        version = skewed_version(data, c.version)
        override = data.draw(st.sampled_from(["", OVERRIDE, OVERRIDE, "  "]), label="override")
        later = data.draw(
            st.sampled_from([None, None, dt.timedelta(hours=2), -dt.timedelta(hours=1)]),
            label="reopens later by",
        )
        reopens = None if later is None else self.now + later
        expected: type[DomainError] | None = None
        if not can(actor, Perm.CLOSURES_EDIT):
            expected = PermissionDenied
        elif c.status not in IN_FORCE:
            expected = InvalidTransition
        elif version != c.version:
            expected = Conflict
        elif not is_open and not override.strip():
            expected = InvalidTransition
        elif not is_open and not can(actor, Perm.CLOSURES_OVERRIDE):
            expected = PermissionDenied
        request = LiftIn(version=version, reopens_at=reopens, override_reason=override)
        label = f"{name} lifts closure #{c.id} ({c.status}, v{c.version}->{version}) {gate}"
        if not self.attempt(label, closures.lift(actor, c.id, request, self.now), expected):
            return
        self.outcomes["lift", "through the gate" if is_open else "overridden"] += 1
        c.status, c.lifted_at = CStatus.LIFTED, self.now
        c.reopens_at = max(reopens or self.now, self.now)
        c.override_reason = "" if is_open else override.strip()
        c.lifted_through = gate
        c.sequence += 1
        self.changed(c, "closure.lifted" if is_open else "closure.lifted_override", actor)
        event = self.run(self.last_event("closure", c.id))
        unmet = [code for code in CRITERIA if not gate[code]]
        assert changes_of(event).get("unmet", [None, []])[1] == unmet, label

    def write_update(self, c: ClosureModel, data: st.DataObject) -> None:
        name, actor = self.who(data, lambda a: can(a, Perm.NOTICES_PUBLISH))
        publish = data.draw(st.booleans(), label="publish")
        expected: type[DomainError] | None = None
        if not can(actor, Perm.NOTICES_PUBLISH):
            expected = PermissionDenied
        elif c.status == CStatus.CANCELLED:
            expected = InvalidTransition
        request = NoticeIn(text_zh="今日完成桥面铺装 / deck laid today", publish=publish)
        label = f"{name} writes an update on closure #{c.id} ({c.status})"
        row = self.attempt(label, closures.write_update(actor, c.id, request, self.now), expected)
        if row is None:
            return
        c.notices[NoticeState.PUBLISHED if publish else NoticeState.DRAFT] += 1
        if not publish:
            c.drafts.add(row.id)
        c.updated_at = self.now
        c.events.append(("closure.update_written", actor.id))

    def decide_draft(self, c: ClosureModel, data: st.DataObject) -> None:
        everything = [u for m in self.model.values() for u in sorted(m.drafts)]
        if not everything:
            return
        update = weighted(data, sorted(c.drafts), everything, "draft")
        owner = next(m for m in self.model.values() if update in m.drafts)
        decided = update in self.decided
        name, actor = self.who(data, lambda a: can(a, Perm.NOTICES_PUBLISH))
        publish = data.draw(st.booleans(), label="publish")
        expected: type[DomainError] | None = None
        if not can(actor, Perm.NOTICES_PUBLISH):
            expected = PermissionDenied
        elif publish and owner.status == CStatus.CANCELLED:
            expected = InvalidTransition
        elif decided:
            expected = InvalidTransition
        verb = "publishes" if publish else "discards"
        label = f"{name} {verb} draft {update} of closure #{owner.id} ({owner.status})"
        call = (
            closures.publish_update(actor, update, self.now)
            if publish
            else closures.discard_update(actor, update, self.now)
        )
        self.attempt(label, call, expected)
        if expected is not None:
            return
        self.decided.add(update)
        owner.notices[NoticeState.DRAFT] -= 1
        if publish:
            owner.notices[NoticeState.PUBLISHED] += 1
            owner.updated_at = self.now
            owner.events.append(("closure.update_published", actor.id))
        else:
            owner.notices[NoticeState.DISCARDED] += 1
            owner.events.append(("closure.update_discarded", actor.id))

    # the world ------------------------------------------------------------------------------

    def inspect_the_asset(self, c: ClosureModel, data: st.DataObject) -> None:
        """The closed asset gets its acceptance inspection (mostly a pass)."""
        index = next(i for i, (a, _, _) in enumerate(self.assets) if a == c.asset)
        self.inspect(data, index, weighted(data, [85.0, 70.0], sorted(SCORES), "score"))

    def inspect(
        self, data: st.DataObject, index: int | None = None, score: float | None = None
    ) -> None:
        """Bob inspects an asset and Alice finalises it: an acceptance inspection (which the
        gate reads) or a routine one (which only regrades the asset)."""
        if index is None:
            index = data.draw(st.integers(0, len(self.assets) - 1), label="asset")
        if score is None:
            score = data.draw(st.sampled_from(sorted(SCORES)), label="score")
        kind = data.draw(
            st.sampled_from([InspectionType.ACCEPTANCE] * 3 + [InspectionType.ROUTINE_MONTHLY]),
            label="inspection",
        )
        asset, deck, cable = self.assets[index]
        self.outcomes["inspect", f"{kind} {SCORES[score][0]}"] += 1
        final = self.run(self.inspection(asset, deck, cable, score, kind))
        grade, passed = SCORES[score]
        assert (final.grade, final.passed) == (grade, passed)
        self.grades[asset] = grade
        if kind == InspectionType.ACCEPTANCE:
            self.acceptances[asset].append(Acceptance(self.now, passed))

    async def inspection(
        self, asset: int, deck: int, cable: int, score: float, kind: InspectionType
    ) -> Any:
        bob, alice = self.actors["bob"], self.actors["alice"]
        raised = await inspections.create_inspection(
            bob,
            InspectionIn(
                asset_id=asset,
                inspection_type=kind,
                trigger=Trigger.POST_REPAIR,
                due_on=self.now.date(),
            ),
            ZONE,
            self.now,
        )
        started = await inspections.start(bob, raised.id, raised.version, self.now)
        recorded = await inspections.save_record(
            bob,
            started.id,
            RecordIn(
                version=started.version,
                conditions=[
                    ConditionIn(component_id=deck, score=score),
                    ConditionIn(component_id=cable, score=score),
                ],
                summary="验收检查 / inspection",
            ),
            self.now,
        )
        submitted = await inspections.submit(bob, recorded.id, recorded.version, self.now)
        return await inspections.finalise(
            alice, submitted.id, submitted.version, ZONE, self.media, self.now
        )

    def activate(self, data: st.DataObject) -> None:
        due = [
            c
            for c in self.model.values()
            if c.status == CStatus.PLANNED and c.effective_from <= self.now
        ]
        assert self.run(closures.activate_due(self.now)) == len(due)
        self.outcomes["activate_due", "some" if due else "none"] += 1
        for c in due:
            self.activated(c)

    def announce(self, data: st.DataObject) -> None:
        due = [
            c
            for c in self.model.values()
            if c.status == CStatus.LIFTED
            and c.announced_at is None
            and c.reopens_at is not None
            and c.reopens_at <= self.now
        ]
        assert self.run(closures.announce_reopenings(self.now)) == len(due)
        self.outcomes["announce_reopenings", "some" if due else "none"] += 1
        for c in due:
            c.announced_at = c.updated_at = self.now
            c.notices[NoticeState.PUBLISHED] += 1

    # invariants -----------------------------------------------------------------------------

    @invariant()
    def the_database_is_the_model(self) -> None:
        self.run(self.reading(self._check()))

    @invariant()
    def the_gate_is_never_bypassed(self) -> None:
        """A lifted closure went through an open gate (as the model read it then), or an
        administrator overrode it in writing."""
        for c in self.model.values():
            if c.status != CStatus.LIFTED:
                continue
            assert c.lifted_through is not None
            [lift] = [e for e in c.events if e[0].startswith("closure.lifted")]
            if all(c.lifted_through.values()):
                assert c.override_reason == "" and lift[0] == "closure.lifted"
            else:
                assert c.override_reason.strip(), f"closure #{c.id} lifted through a shut gate"
                assert lift == ("closure.lifted_override", self.actors["admin"].id)

    async def _check(self) -> None:
        rows = {r.id: r for r in await Closure.objects()}
        assert set(rows) == set(self.model), "a refused create left a closure, or one is gone"
        for closure_id, c in rows.items():
            m = self.model[closure_id]
            label = f"closure #{closure_id}"
            assert (c.status, c.version, c.sequence) == (m.status, m.version, m.sequence), label
            assert (c.updated_at, c.activated_at) == (m.updated_at, m.activated_at), label
            assert (c.signed_off_at, c.signed_off_by) == (m.signed_off_at, m.signed_off_by), label
            assert (c.lifted_at, c.reopens_at) == (m.lifted_at, m.reopens_at), label
            assert c.override_reason == m.override_reason, label
            assert c.reopening_announced_at == m.announced_at, label
            assert c.planned_reopen_on == m.planned_reopen_on, label
            assert (c.lifted_at is not None) == (c.status == CStatus.LIFTED), label

        events = await (
            AuditEvent.select(AuditEvent.entity_id, AuditEvent.action, AuditEvent.actor)
            .where(AuditEvent.entity_type == "closure")
            .order_by(AuditEvent.id)
        )
        trails: dict[int, list[tuple[str, int | None]]] = collections.defaultdict(list)
        for e in events:
            trails[e["entity_id"]].append((e["action"], e["actor"]))
        assert set(trails) <= set(rows), "audit events of a closure that does not exist"
        for closure_id, m in self.model.items():
            assert trails[closure_id] == m.events, f"closure #{closure_id}'s audit trail"

        promised = collections.Counter(
            r["closure"] for r in await ClosurePromise.select(ClosurePromise.closure)
        )
        assert promised == {i: m.promises for i, m in self.model.items()}
        notices = await NoticeUpdate.select(
            NoticeUpdate.id, NoticeUpdate.closure, NoticeUpdate.state
        )
        assert {n["closure"] for n in notices} <= set(rows), "a notice entry without its closure"
        for closure_id, m in self.model.items():
            mine = [n for n in notices if n["closure"] == closure_id]
            counted = collections.Counter(n["state"] for n in mine)
            assert counted == +m.notices, f"closure #{closure_id}'s notice entries"
            drafts = {n["id"] for n in mine if n["state"] == NoticeState.DRAFT}
            assert drafts == m.drafts - self.decided, f"closure #{closure_id}'s drafts"

        links = await ClosureTicket.select(
            ClosureTicket.closure, ClosureTicket.ticket, ClosureTicket.public_label_zh
        )
        ticket_rows = {
            r["id"]: r["status"]
            for r in await RepairTicket.select(RepairTicket.id, RepairTicket.status)
        }
        assert {(k["closure"], k["ticket"], k["public_label_zh"]) for k in links} == {
            (i, t, text) for i, m in self.model.items() for t, text in m.links.items()
        }
        assert {k["closure"] for k in links} <= set(rows), "a link without its closure"
        assert {k["ticket"] for k in links} <= set(ticket_rows), "a link to a missing ticket"
        for ticket_id, t in self.tix.items():
            assert ticket_rows[ticket_id] == t.status, f"ticket #{ticket_id}"


def test_closure_lifecycle_state_machine(database_template: str, tmp_path: Path) -> None:
    seeded: dict[str, Any] = {}
    ClosureLifecycle.outcomes = collections.Counter()
    run_state_machine_as_test(
        lambda: ClosureLifecycle(database_template, tmp_path, seeded), settings=SETTINGS
    )
    explored(
        ClosureLifecycle.outcomes,
        [("create_closure", o) for o in ("ok", "PermissionDenied", "ValidationFailed")]
        + [("update_closure", o) for o in ("ok", "Conflict", "InvalidTransition")]
        + [("extend", o) for o in ("ok", "Conflict", "InvalidTransition")]
        + [("cancel", "ok"), ("unlink_ticket", "ok"), ("write_update", "ok")]
        + [("link_ticket", o) for o in ("ok", "PermissionDenied", "ValidationFailed")]
        + [("sign_off", o) for o in ("ok", "Conflict", "InvalidTransition", "PermissionDenied")]
        + [("lift", o) for o in ("through the gate", "overridden", "InvalidTransition")]
        + [("lift", "PermissionDenied"), ("publish_update", "ok"), ("discard_update", "ok")]
        + [("activate_due", "some"), ("announce_reopenings", "some")],
    )
