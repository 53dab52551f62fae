"""The base of the stateful lifecycle tests (hypothesis): ``ServiceMachine``, a rule-based state
machine that runs each service call and checks that it succeeds, or fails with exactly the
project error its model predicts; the hypothesis ``SETTINGS`` both machines run with; the random
choices they share (personas, versions, time, ticket moves).

Time is explicit: a rule advances the model clock and every service call gets ``now``. The
services are async and a state machine is not, so each machine owns an event loop and runs each
step on it; each example gets a clean database (a copy of the migrated SQLite template, or an
emptied PostgreSQL database with a pool opened on the machine's loop).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import itertools
import shutil
import sqlite3
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine

from facilities import db
from facilities.accounts.permissions import Actor
from facilities.audit.tables import AuditEvent
from facilities.errors import DomainError
from facilities.inspections import services as inspections
from facilities.tickets.choices import FINAL_STATUSES, TRANSITIONS, Action, Status
from tests.kit.constants import NOW
from tests.kit.database import on_postgres
from tests.kit.personas import PERSONAS, create_personas

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


FINAL: frozenset[Status | None] = frozenset(FINAL_STATUSES)


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
