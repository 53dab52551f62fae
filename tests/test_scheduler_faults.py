"""Fault tests of the scheduler (PostgreSQL only, real processes on loopback).

Three real ``python -m scheduler`` replicas work through a seeded dataset: schedules with an
overdue occurrence to raise (then remind the team lead and escalate to supervisors), planned
closures to put in force, lifted closures whose reopening is due, breached repair tickets,
citizens subscribed to every notice, staff writing notices and mail while the replicas run, and
an SMTP server that takes a while over every message, so kills land mid-send.

- The leader is killed with SIGKILL 20 times at seeded random points: half of them 0-1.5 s
  after a replica took over (mid-job, wherever it is), half a random number of messages into
  its delivery (mid-send, often between the server keeping a message and the sender hearing
  its "250").
- PostgreSQL is restarted under the replicas while mail is being delivered.

Afterwards every effect is compared with the set the seed implies: one inspection per schedule,
every reminder, escalation, activation, reopening announcement and subscriber e-mail once (by
its unique key), nothing else; every message delivered at least once and marked sent once.
The SMTP server sees a message twice only when its sender died between handing it over and
marking it sent (at most once more per such death), and never again after it was marked sent.

A killed leader's claims come back at the next takeover (``runner.recover_claims``), not after
the outbox's ten-minute claim timeout: without that the messages a kill left "sending" would
not arrive within this test's deadlines.

After the faults the survivors finish on their own; when the work stands still only because a
job's output waits for that job's next turn in the timetable, the leader is stopped gracefully
(a rolling restart) so a standby runs every job at once. An SMTP server refusing the first
attempts is covered in ``test_notifications.py`` (retry with backoff, stable Message-ID).

Time: the replicas read the wall clock, so the seed is placed relative to ``utcnow()`` (days in
the past); the test waits only by polling for processes and effects, with deadlines, and the
random kill delays are the fault points themselves.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import os
import random
import signal
import subprocess
import time
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from facilities.accounts import services as accounts
from facilities.accounts.permissions import Actor
from facilities.closures import services as closures
from facilities.closures.choices import NoticeState
from facilities.closures.choices import Status as ClosureStatus
from facilities.closures.schemas import LiftIn, NoticeIn
from facilities.closures.tables import Closure, NoticeUpdate, Subscription
from facilities.inspections.tables import Inspection, ReminderSent
from facilities.jobs.tables import JobRun
from facilities.lib.clock import utcnow
from facilities.notifications import services as notifications
from facilities.notifications.choices import Status
from facilities.notifications.senders import build_message
from facilities.notifications.tables import Notification
from facilities.tickets.choices import Priority
from facilities.tickets.tables import RepairTicket
from tests.kit.assets import make_asset
from tests.kit.closures import make_closure
from tests.kit.constants import ZONE
from tests.kit.database import on_postgres
from tests.kit.inspections import make_schedule, make_team
from tests.kit.processes import (
    eventually,
    leading_pid,
    pg_ctlcluster,
    start_scheduler,
    stop_all,
    tails,
)
from tests.kit.servers import free_port
from tests.kit.tickets import make_ticket

pytestmark = [
    pytest.mark.serial,
    pytest.mark.wall_clock,  # the replicas read the real clock; the seed is placed by it
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        not on_postgres(), reason="scheduler replicas need PostgreSQL (set TEST_DATABASE_URL)"
    ),
    pytest.mark.usefixtures("seeded_policy"),  # the inspection policy, for every test
]

SEED = 20261128
KILLS = 20
KILL_WINDOW = 1.5  # seconds after a takeover within which the leader is killed
SMTP_DELAY = 0.03  # seconds the SMTP server takes over each message
DRAIN_LIMIT = 120.0  # seconds for the survivors to finish the work after the last fault
IDLE_HANDOVER = 5.0  # seconds without progress before the leader is stopped gracefully
MID_SEND_LIMIT = 20.0  # seconds to wait for a leader's delivery to get going before a kill
POLL = 0.2
REPLICAS = 3
# Seconds from a leader's death to a standby leading. Standbys poll every
# ``runner.STANDBY_POLL_SECONDS`` (5 s); 0.2-5 s is usual, the margin is for a loaded machine.
TAKEOVER_LIMIT = 30.0

DAY = dt.timedelta(days=1)


# --- a slow SMTP server --------------------------------------------------------------------


class SlowSmtpServer:
    """A real SMTP server on loopback that keeps every message it receives (recording its
    Message-ID) and then takes ``delay`` seconds to confirm it with "250" (a slow relay). A
    sender killed within that delay has delivered the message without knowing it."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received: list[str] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        headers = BytesParser(policy=default_policy).parsebytes(raw, headersonly=True)
        self.received.append(str(headers["Message-ID"]))
        await asyncio.sleep(self.delay)
        return "250 OK"

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def counts(self) -> collections.Counter[str]:
        return collections.Counter(list(self.received))


@pytest.fixture
def slow_smtp() -> Any:
    server = SlowSmtpServer(SMTP_DELAY)
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


def smtp_env(server: SlowSmtpServer) -> dict[str, str]:
    """The replicas deliver through ``server``, everything due in one batch per run."""
    return {
        "FACILITIES_EMAIL_BACKEND": "smtp",
        "FACILITIES_SMTP_HOST": "127.0.0.1",
        "FACILITIES_SMTP_PORT": str(server.port),
        "FACILITIES_SMTP_TIMEOUT": "5",
        "FACILITIES_OUTBOX_BATCH_SIZE": "1000",
    }


# --- the seeded world and the effects it implies -------------------------------------------


@dataclasses.dataclass
class World:
    schedules: list[int]
    planned: list[int]  # closures the scheduler puts in force
    lifted: list[int]  # closures whose reopening it announces
    active: int  # the closure staff write notices on while the replicas run
    tickets: list[int]  # past their SLA due date
    subscribers: list[int]
    team_lead: str
    supervisors: list[str]
    notices: set[int]  # published by people (not by jobs): at seed time and during the run
    mails: set[str]  # dedupe keys of messages queued by people (not by jobs)


async def seed(personas: dict[str, Actor], start: dt.datetime, size: int) -> World:
    """A bureau with work overdue for every job: ``size`` of each kind of thing."""
    alice, admin, bob = personas["alice"], personas["admin"], personas["bob"]
    past = start - 11 * DAY
    team = await make_team(lead=bob)
    first = (start - 10 * DAY).astimezone(ZONE).date()
    schedules = [  # one occurrence ten days ago (the next a year away): overdue, escalated
        (
            await make_schedule(
                alice, await make_asset(), past, rule="FREQ=YEARLY", starts_on=first, team_id=team
            )
        ).id
        for _ in range(size)
    ]
    planned = [
        (await make_closure(alice, now=past, effective_from=start - dt.timedelta(hours=1))).id
        for _ in range(size)
    ]
    lifted = []
    for _ in range(size):
        closure = await make_closure(admin, now=past)
        reopen = LiftIn(
            version=closure.version, reopens_at=start - DAY, override_reason="专家确认安全"
        )
        await closures.lift(admin, closure.id, reopen, start - 2 * DAY)
        lifted.append(closure.id)
    active = (await make_closure(alice, now=past)).id
    tickets = [  # P1 (seven days) opened ten days ago: breached three days ago
        (await make_ticket(alice, now=start - 10 * DAY, priority=Priority.P1)).id
        for _ in range(size)
    ]
    subscribers = []
    for n in range(2 * size):
        address = f"reader{n}@example.org"
        row = Subscription(
            email=address,
            scope_key=f"{address}:all",
            language="en" if n % 2 else "zh_CN",
            token=f"fault-test-token-{n}",
            created_at=past,
            confirmed_at=past,
        )
        await row.save()
        subscribers.append(row.id)
    published = await NoticeUpdate.select(NoticeUpdate.id).where(
        NoticeUpdate.state == NoticeState.PUBLISHED
    )
    queued = await Notification.select(Notification.dedupe_key)
    return World(
        schedules=schedules,
        planned=planned,
        lifted=lifted,
        active=active,
        tickets=tickets,
        subscribers=subscribers,
        team_lead="bob@bureau.example",
        supervisors=sorted(email for email, _lang in await accounts.supervisor_addresses()),
        notices={row["id"] for row in published},
        mails={row["dedupe_key"] for row in queued},
    )


async def staff_work(
    world: World, personas: dict[str, Actor], label: str, mails: int, notice: bool = True
) -> None:
    """What people do while the replicas run: a published notice (for every subscriber) and
    a few messages queued directly."""
    now = utcnow()
    if notice:
        update = await closures.write_update(
            personas["alice"],
            world.active,
            NoticeIn(text_zh=f"施工进展 {label}", text_en=f"Progress {label}"),
            now,
        )
        world.notices.add(update.id)
    for n in range(mails):
        key = f"fault:{label}:{n}"
        await notifications.enqueue(
            to=f"staff{n}@bureau.example",
            template="password_changed",
            context={"display_name": f"Staff {n}", "at": now},
            language="en",
            dedupe_key=key,
            now=now,
        )
        world.mails.add(key)


@dataclasses.dataclass
class Effects:
    inspections: dict[int, list[int]]  # schedule -> inspections raised for it
    reminders: list[str]  # ReminderSent keys
    published: dict[int, str | None]  # published notice -> its dedupe key
    not_fanned_out: int
    activated: list[int]
    announced: list[int]
    escalated: list[tuple[int, dt.datetime]]  # ticket, its SLA due date (claimed once)
    messages: list[Notification]


async def read_effects(world: World) -> Effects:
    raised: dict[int, list[int]] = collections.defaultdict(list)
    for row in await Inspection.select(Inspection.id, Inspection.schedule):
        raised[row["schedule"]].append(row["id"])
    published = await NoticeUpdate.select(
        NoticeUpdate.id, NoticeUpdate.dedupe_key, NoticeUpdate.fanned_out_at
    ).where(NoticeUpdate.state == NoticeState.PUBLISHED)
    closures_now = await Closure.select(
        Closure.id, Closure.status, Closure.reopening_announced_at
    ).where(Closure.id.is_in(world.planned + world.lifted))
    tickets = await RepairTicket.select(
        RepairTicket.id, RepairTicket.sla_due_at, RepairTicket.sla_escalated_for
    ).where(RepairTicket.id.is_in(world.tickets))
    return Effects(
        inspections=dict(raised),
        reminders=[row["key"] for row in await ReminderSent.select(ReminderSent.key)],
        published={row["id"]: row["dedupe_key"] for row in published},
        not_fanned_out=sum(row["fanned_out_at"] is None for row in published),
        activated=[
            c["id"]
            for c in closures_now
            if c["id"] in world.planned and c["status"] == ClosureStatus.ACTIVE
        ],
        announced=[
            c["id"]
            for c in closures_now
            if c["id"] in world.lifted and c["reopening_announced_at"] is not None
        ],
        escalated=[
            (t["id"], t["sla_due_at"])
            for t in tickets
            if t["sla_escalated_for"] is not None and t["sla_escalated_for"] == t["sla_due_at"]
        ],
        messages=list(await Notification.objects().order_by(Notification.id)),
    )


def expected_mail(world: World, effects: Effects) -> set[str]:
    """The dedupe keys of every message the seed and the staff work imply."""
    keys = set(world.mails)
    inspections = [i for ids in effects.inspections.values() for i in ids]
    for inspection in inspections:
        keys.add(f"inspection:{inspection}:overdue_lead:{world.team_lead}")
        keys |= {f"inspection:{inspection}:overdue_supervisor:{a}" for a in world.supervisors}
    for ticket, due in effects.escalated:
        keys |= {f"sla_breach:{ticket}:{due.isoformat()}:{a}" for a in world.supervisors}
    for update in effects.published:
        keys |= {f"notice:{update}:{s}" for s in world.subscribers}
    return keys


def expected_notice_keys(world: World) -> set[str]:
    return {f"activated:{c}" for c in world.planned} | {f"reopened:{c}" for c in world.lifted}


def unfinished(world: World, effects: Effects) -> list[str]:
    """What is still missing (empty once every effect is there and every message is sent)."""
    gaps = []
    if len(effects.inspections) < len(world.schedules):
        gaps.append(f"{len(world.schedules) - len(effects.inspections)} schedule(s) not raised")
    if len(effects.reminders) < 2 * len(world.schedules):
        gaps.append(f"{len(effects.reminders)} reminder claim(s)")
    job_notices = {k for k in effects.published.values() if k}
    if not expected_notice_keys(world) <= job_notices:
        gaps.append("activation or reopening notices")
    if effects.not_fanned_out:
        gaps.append(f"{effects.not_fanned_out} notice(s) not fanned out")
    if len(effects.escalated) < len(world.tickets):
        gaps.append("SLA escalations")
    queued = {m.dedupe_key for m in effects.messages}
    if not expected_mail(world, effects) <= queued:
        gaps.append(f"{len(expected_mail(world, effects) - queued)} message(s) not queued")
    pending = collections.Counter(m.status for m in effects.messages if m.status != Status.SENT)
    if pending:
        gaps.append(f"messages not sent: {dict(pending)}")
    return gaps


def message_id(message: Notification, mail_from: str) -> str:
    return str(build_message(message, mail_from)["Message-ID"])


def check_effects(world: World, effects: Effects, mail_from: str) -> None:
    """Compare every effect in the database with the expected set."""
    assert sorted(effects.inspections) == sorted(world.schedules)
    assert all(len(ids) == 1 for ids in effects.inspections.values()), effects.inspections
    inspections = [ids[0] for ids in effects.inspections.values()]
    assert sorted(effects.reminders) == sorted(
        f"{i}:{kind}" for i in inspections for kind in ("overdue_lead", "overdue_supervisor")
    )
    assert sorted(effects.activated) == sorted(world.planned)
    assert sorted(effects.announced) == sorted(world.lifted)
    assert sorted(t for t, _due in effects.escalated) == sorted(world.tickets)
    by_people = {u: k for u, k in effects.published.items() if u in world.notices}
    assert sorted(by_people) == sorted(world.notices)  # every notice people published, once
    by_jobs = sorted(k or "" for u, k in effects.published.items() if u not in world.notices)
    assert by_jobs == sorted(expected_notice_keys(world))  # and nothing else published
    assert effects.not_fanned_out == 0
    keys = [m.dedupe_key for m in effects.messages]
    assert sorted(keys) == sorted(expected_mail(world, effects))  # none missing, none extra
    states = {(m.status, m.attempts, m.last_error, m.sent_at is not None) for m in effects.messages}
    assert states == {(Status.SENT, 1, "", True)}  # each confirmed sent once, no failed attempt
    ids = [message_id(m, mail_from) for m in effects.messages]
    assert len(set(ids)) == len(ids)


def duplicates_of(
    server: SlowSmtpServer, effects: Effects, mail_from: str
) -> tuple[dict[str, int], dict[str, int]]:
    """(Message-ID -> notification id, Message-ID -> deliveries beyond the first); every
    message arrived, and nothing arrived that is not in the outbox."""
    ids = {message_id(m, mail_from): m.id for m in effects.messages}
    counts = server.counts()
    assert set(counts) == set(ids), (
        f"missing at the SMTP server: {sorted(set(ids) - set(counts))[:5]}; "
        f"unknown: {sorted(set(counts) - set(ids))[:5]}"
    )
    return ids, {mid: n - 1 for mid, n in counts.items() if n > 1}


async def sent_some(server: SlowSmtpServer, more: int, within: float) -> bool:
    """Wait (polling the in-process server) until it has received ``more`` messages beyond
    what it had; False if the outbox ran dry first (the kill then lands wherever it is)."""
    target = len(server.received) + more
    deadline = time.monotonic() + within
    while len(server.received) < target:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


# --- faults --------------------------------------------------------------------------------


@dataclasses.dataclass
class Kill:
    pid: int
    delay: float  # seconds after the takeover
    sending: set[int]  # messages its leader had claimed (status "sending") when it was killed
    sent: set[int]  # messages marked sent by then
    delivered: collections.Counter[str]  # what the SMTP server had received by then


class Replicas:
    """Real ``python -m scheduler`` processes on the test database, delivering through the slow
    SMTP server; a dead or stopped one is replaced, as systemd's ``Restart=always`` would."""

    def __init__(self, settings: Any, logs: Any, server: SlowSmtpServer, count: int) -> None:
        self.settings, self.logs, self.server = settings, logs, server
        self.processes: list[subprocess.Popen[bytes]] = []
        self.gone: set[int] = set()  # pids killed or stopped by the test
        self.takeovers: list[float] = []
        self.handovers = 0
        for _ in range(count):
            self.spawn()

    def spawn(self) -> None:
        name = f"s{len(self.processes)}"
        self.processes.append(
            start_scheduler(self.settings, self.logs, name, **smtp_env(self.server))
        )

    def by_pid(self, pid: int) -> subprocess.Popen[bytes]:
        return next(p for p in self.processes if p.pid == pid)

    async def leader(self, within: float, what: str) -> int:
        """The pid of the replica leading now (not one the test did away with)."""
        ours = {p.pid for p in self.processes} - self.gone

        async def check() -> int | None:
            pid = await leading_pid(self.settings.database_url)
            return pid if pid in ours else None

        return int(await eventually(check, within, what))

    async def takeover(self, since: float | None = None) -> int:
        """Wait for a standby to lead (recording how long it took since ``since``), and
        start a replacement for the process that went away."""
        pid = await self.leader(TAKEOVER_LIMIT, "a standby to take over")
        if since is not None:
            self.takeovers.append(time.monotonic() - since)
        self.spawn()
        return pid

    async def freeze_and_kill(self, pid: int, delay: float) -> Kill:
        """SIGSTOP the leader (it keeps its lock, so nobody takes over while we look), note what
        it had claimed and what was confirmed sent, then SIGKILL it: it dies at that point."""
        os.kill(pid, signal.SIGSTOP)
        try:
            rows = await Notification.select(Notification.id, Notification.status).where(
                Notification.status.is_in([Status.SENDING, Status.SENT])
            )
            delivered = self.server.counts()
        finally:
            os.kill(pid, signal.SIGKILL)
            self.gone.add(pid)
        await asyncio.to_thread(self.by_pid(pid).wait, 10)
        return Kill(
            pid=pid,
            delay=delay,
            sending={r["id"] for r in rows if r["status"] == Status.SENDING},
            sent={r["id"] for r in rows if r["status"] == Status.SENT},
            delivered=delivered,
        )

    async def finish(self, world: World) -> None:
        """Let the replicas finish the work. A job's own output (a notice to fan out, a message
        to deliver) waits for that job's next turn in the timetable (up to a minute) unless
        leadership changes, since a new leader runs every job at once. So when the work stands
        still for ``IDLE_HANDOVER`` seconds, the leader is stopped gracefully (SIGTERM, as in a
        rolling restart: it finishes its running jobs) and a standby takes over."""
        deadline = time.monotonic() + DRAIN_LIMIT
        last: list[str] = []
        still_since = time.monotonic()
        while True:
            gaps = unfinished(world, await read_effects(world))
            if not gaps:
                return
            now = time.monotonic()
            assert now < deadline, f"unfinished after {DRAIN_LIMIT} s: {gaps}"
            if gaps != last:
                last, still_since = gaps, now
            elif now - still_since > IDLE_HANDOVER:
                pid = await self.leader(TAKEOVER_LIMIT, "a leader to hand over")
                self.by_pid(pid).terminate()
                self.gone.add(pid)
                await asyncio.to_thread(self.by_pid(pid).wait, 30)
                await self.takeover()
                self.handovers += 1
                still_since = time.monotonic()
            await asyncio.sleep(POLL)

    def exited_on_their_own(self) -> list[tuple[int, int | None]]:
        return [
            (p.pid, p.poll())
            for p in self.processes
            if p.pid not in self.gone and p.poll() is not None
        ]

    def stop(self) -> None:
        stop_all(self.processes)


def check_deliveries(
    server: SlowSmtpServer, effects: Effects, mail_from: str, allowed_extra: dict[int, int]
) -> dict[str, int]:
    """Every message arrived at the SMTP server; a message arrived more than once only as often
    as ``allowed_extra`` (notification id -> faults that caught its sender mid-send) allows.
    Returns Message-ID -> copies beyond the first."""
    ids, extra = duplicates_of(server, effects, mail_from)
    for mid, more in extra.items():
        assert more <= allowed_extra.get(ids[mid], 0), (mid, more, allowed_extra.get(ids[mid]))
    return extra


async def test_twenty_leader_kills_at_random_points_lose_and_double_nothing(
    app, settings, personas, slow_smtp, tmp_path
):
    rng = random.Random(SEED)
    world = await seed(personas, utcnow(), size=3)
    await staff_work(world, personas, "before", mails=10)
    began = time.monotonic()
    replicas = Replicas(settings, tmp_path, slow_smtp, REPLICAS)
    kills: list[Kill] = []
    try:
        pid = await replicas.leader(60, "a first leader")
        for round_ in range(KILLS):
            if round_ < KILLS - 4:  # staff at work during the faults
                notice = round_ % 4 == 0
                await staff_work(world, personas, f"round {round_}", mails=3, notice=notice)
            took_over = time.monotonic()
            if round_ % 2 == 0:  # at a random moment of the new leader's work
                await asyncio.sleep(rng.uniform(0, KILL_WINDOW))
            else:  # mid-send: a random number of messages into its delivery, plus a moment
                await sent_some(slow_smtp, rng.randint(1, 4), MID_SEND_LIMIT)
                await asyncio.sleep(rng.uniform(0, 2 * SMTP_DELAY))
            delay = time.monotonic() - took_over
            kills.append(await replicas.freeze_and_kill(pid, delay))
            pid = await replicas.takeover(time.monotonic())
        faults_over = time.monotonic() - began
        await replicas.finish(world)
        exited = replicas.exited_on_their_own()
        assert not exited, f"replicas exited on their own: {exited}"
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{tails(tmp_path)}") from None
    finally:
        await asyncio.to_thread(replicas.stop)
    total = time.monotonic() - began

    effects = await read_effects(world)
    check_effects(world, effects, settings.mail_from)
    allowed = collections.Counter(m for kill in kills for m in kill.sending)
    extra = check_deliveries(slow_smtp, effects, settings.mail_from, allowed)
    final = slow_smtp.counts()
    ids = {m.id: message_id(m, settings.mail_from) for m in effects.messages}
    for kill in kills:  # never again once marked sent
        for message in kill.sent:
            assert final[ids[message]] == kill.delivered[ids[message]], (message, kill.pid)
    mid_send = sum(bool(kill.sending) for kill in kills)
    print(
        f"\n{KILLS} SIGKILLs (seed {SEED}): faults over after {faults_over:.1f} s, all done "
        f"after {total:.1f} s ({replicas.handovers} graceful handover(s) to finish); "
        f"{len(effects.messages)} messages, {sum(final.values())} SMTP deliveries, "
        f"{sum(extra.values())} duplicate(s) of {len(extra)} message(s); "
        f"{mid_send} kill(s) caught a leader holding claims\n"
        f"takeover after SIGKILL (s): {', '.join(f'{t:.2f}' for t in replicas.takeovers)}\n"
        f"kill delays after takeover (s): {', '.join(f'{k.delay:.2f}' for k in kills)}\n"
        f"claims held at each kill: {[len(k.sending) for k in kills]}"
    )
    assert max(replicas.takeovers) < TAKEOVER_LIMIT
    assert mid_send >= KILLS // 4, "too few kills caught a leader mid-delivery"


# Keep this test the last one of its module: it restarts the server every other test talks to.
async def test_replicas_finish_the_work_across_a_postgres_restart(
    app,
    settings,
    personas,
    slow_smtp,
    tmp_path,
    postgres_comes_back,
):
    version, cluster, *_where = postgres_comes_back
    world = await seed(personas, utcnow(), size=3)
    await staff_work(world, personas, "before", mails=60)  # a long first batch to cut into
    replicas = Replicas(settings, tmp_path, slow_smtp, 2)
    try:

        async def delivering() -> bool:  # the leader is part-way through the outbox
            sent = await Notification.count().where(Notification.status == Status.SENT)
            left = await Notification.count().where(Notification.status == Status.SENDING)
            return sent >= 5 and left >= 20

        await replicas.leader(60, "a leader")
        await eventually(delivering, 90, "delivery to be under way")
        before = await Notification.select(Notification.id, Notification.status)
        delivered_before = slow_smtp.counts()
        restarted_at = utcnow()
        done = await asyncio.to_thread(pg_ctlcluster, version, cluster, "restart")
        assert done.returncode == 0, done.stderr
        restart_took = (utcnow() - restarted_at).total_seconds()
        await replicas.leader(30, "a leader after the restart")
        releading = (utcnow() - restarted_at).total_seconds()
        await staff_work(world, personas, "after", mails=5)  # new work is done too
        await replicas.finish(world)
        exited = replicas.exited_on_their_own()
        assert not exited, f"replicas exited: {exited}"
        runs_after = await JobRun.count().where(JobRun.started_at > restarted_at)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{tails(tmp_path)}") from None
    finally:
        await asyncio.to_thread(replicas.stop)
    finished_after = (utcnow() - restarted_at).total_seconds()

    effects = await read_effects(world)
    check_effects(world, effects, settings.mail_from)
    unconfirmed = {r["id"]: 1 for r in before if r["status"] != Status.SENT}
    extra = check_deliveries(slow_smtp, effects, settings.mail_from, unconfirmed)
    in_flight = [r["id"] for r in before if r["status"] == Status.SENDING]
    final = slow_smtp.counts()
    sent_before = [r["id"] for r in before if r["status"] == Status.SENT]
    ids = {m.id: message_id(m, settings.mail_from) for m in effects.messages}
    for message in sent_before:  # confirmed before the restart: never sent again
        assert final[ids[message]] == delivered_before[ids[message]] == 1, message
    print(
        f"\nPostgreSQL restart mid-run: restart command {restart_took:.2f} s, a replica leading "
        f"again {releading:.2f} s and all work done {finished_after:.1f} s after it began "
        f"({replicas.handovers} graceful handover(s) to finish); {len(sent_before)} of "
        f"{len(effects.messages)} messages sent and {len(in_flight)} claimed before it; "
        f"{sum(extra.values())} duplicate(s) at the SMTP server; {runs_after} job runs after it"
    )
    assert runs_after > 0
