"""Soak on PostgreSQL: --minutes of mixed load on 2 web workers and 2 scheduler replicas.

Seeds a throw-away PostgreSQL database ``facilities_bench_soak`` (dropped and created, migrated
with ``run_forwards``): the demo story (``facilities/demo.py``, through the real services), then
2,000 assets over 5 bench sites and 20,000 tickets by COPY (the ``tickets_list.py``
distributions, via ``scale.ticket_records``), 2,000 daily patrol schedules whose first due
instants are spread over the run, 10 closures in force with an update each, planned closures that
start one after another during the run, confirmed subscribers (everything, per site, per
facility), an API token for alice (supervisor) and an Open311 key. A real SMTP server (aiosmtpd,
loopback, in this process) receives what the app sends and records every Message-ID.

Then ``facilities serve --workers 2`` (scheduler off) and two ``python -m scheduler`` replicas
(one leads through the PostgreSQL advisory lock, the other stands by), all with
``FACILITIES_EMAIL_BACKEND=smtp`` pointing at the sink, and a separate client process (httpx,
one keep-alive client per simulated person) for a warm-up and then --minutes:

- citizens: home and notice pages in zh and en, the notices list, a facility page, Atom (also
  revalidated with If-None-Match: 304), iCalendar, GeoJSON, CAP, the report form; a paced
  reporter POSTs reports with the CSRF token (the app has no trusted proxy header, so all come
  from 127.0.0.1: the rate is kept near the limit of 10 per hour and 429 is an expected answer);
- staff (alice, bob, dave with the demo password; cookie session): ticket lists with filters,
  ticket pages, the dashboard, closure pages; alice comments on tickets and publishes notice
  updates (form POSTs with CSRF), which the scheduler fans out to the subscribers by e-mail;
- API (bearer token): list with filters, create, read then update with the version read (200,
  or 409 when the other API client won the race), and a deliberately stale update (409);
- Open311: discovery, services, requests list; a paced POST of requests with the api_key (the
  per-address limit of 60 per hour applies; 429 is expected beyond it).

RSS of every process (web master, 2 workers, 2 schedulers) is sampled every --sample seconds.
At the end the script waits (bounded) for the outbox to drain and checks: no 5xx and no
unexpected status, RSS growth per process from the first sample after the warm-up to the end
under 10 %, no pending message left, every message marked sent received by the sink, no
Message-ID received twice, one inspection per schedule occurrence and no schedule left due at
the last ``raise_inspections`` run, one notice e-mail per (published update, matching
subscriber), no job run with an error. It prints p50/p95/p99 per request kind, the status
counts, memory per process and job runs per runner, and exits 1 when a criterion fails.

    .venv/bin/python bench/soak.py                 # 10 minutes
    .venv/bin/python bench/soak.py --minutes 1     # smoke run

PostgreSQL: ``BENCH_PG_ADMIN`` (default ``postgres://postgres@127.0.0.1:5432/postgres``).
Loopback only; bounded in rows, minutes and timeouts; every process is stopped in ``finally``.
Logs: ``var/bench/soak_serve.log``, ``var/bench/soak_scheduler_{1,2}.log``. The database is
left in place for inspection.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import email
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scale

PG_DB = "facilities_bench_soak"
LOG_DIR = ROOT / "var" / "bench"
MEDIA_DIR = LOG_DIR / "soak_media"
MAIL_FROM = "facilities@bureau.example"
BENCH_SITES = 5
ACTIVE_CLOSURES = 10
SUBSCRIBERS = 6
MEMORY_GROWTH_LIMIT = 0.10
# Expected statuses per request kind; anything else (and every 5xx) fails the run.
EXPECTED: dict[str, set[int]] = {
    "home": {200},
    "home_en": {200},
    "notices": {200},
    "notice": {200},
    "notice_en": {200},
    "facility": {200},
    "atom": {200},
    "atom_304": {304, 200},  # 200 when an update was published since the last fetch
    "atom_en": {200},
    "ics": {200},
    "geojson": {200},
    "cap": {200},
    "report_form": {200},
    "report_post": {303, 429},
    "login": {303},
    "staff_tickets": {200},
    "staff_ticket": {200},
    "staff_dashboard": {200},
    "staff_closure": {200},
    "staff_comment": {303},
    "staff_update": {303},
    "api_list": {200},
    "api_show": {200},
    "api_create": {201},
    "api_update": {200, 409},
    "api_stale": {409},
    "o311_discovery": {200},
    "o311_services": {200},
    "o311_requests": {200},
    "o311_post": {201, 429},
}
TICKET_IN = (
    "asset_id",
    "component_id",
    "title",
    "description",
    "source",
    "work_class",
    "priority",
    "assignee_id",
    "assignee_team",
    "contractor",
    "contractor_contact",
    "scope",
    "planned_start_on",
    "planned_end_on",
    "cost_estimate",
    "cost_actual",
    "reporter_email",
)


# --- the SMTP sink ---------------------------------------------------------------------------


class Sink:
    """aiosmtpd handler: counts every message it accepts and each Message-ID it sees."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: collections.Counter[str] = collections.Counter()
        self.received = 0
        self.without_id = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else content.encode()
        message_id = email.message_from_bytes(raw).get("Message-ID", "").strip()
        with self.lock:
            self.received += 1
            if message_id:
                self.ids[message_id] += 1
            else:
                self.without_id += 1
        return "250 OK"


def message_id(row_id: int, dedupe_key: str) -> str:
    """The Message-ID ``notifications.senders.build_message`` gives a row."""
    key_hash = hashlib.sha256(dedupe_key.encode()).hexdigest()[:16]
    return f"<notification-{row_id}.{key_hash}@{MAIL_FROM.rpartition('@')[2]}>"


# --- seeding ---------------------------------------------------------------------------------


async def seed(url: str, args: argparse.Namespace, base_url: str) -> dict[str, Any]:
    import asyncpg
    from raise_inspections import COLUMNS as SCHEDULE_COLUMNS
    from tickets_list import COLUMNS as TICKET_COLUMNS

    from facilities import demo
    from facilities.accounts import services as accounts
    from facilities.accounts.permissions import SYSTEM
    from facilities.accounts.schemas import TokenCreate
    from facilities.closures import services as closures
    from facilities.closures.choices import Precision, Reason, SafetyMeasure, Scope
    from facilities.closures.schemas import ClosureIn, NoticeIn, SubscribeIn
    from facilities.closures.tables import Subscription
    from facilities.lib.clock import utcnow
    from facilities.rendering import configure_rendering
    from facilities.reports import services as reports
    from facilities.reports.schemas import KeyCreate
    from facilities.settings import Settings

    await scale.create_database(url)
    settings = Settings(database_url=url, base_url=base_url, mail_from=MAIL_FROM).checked()
    configure_rendering(settings)
    timings: dict[str, float] = {}
    began = time.perf_counter()
    now = utcnow()
    await demo.load(now, settings.zone, MEDIA_DIR)
    timings["demo story"] = time.perf_counter() - began

    began = time.perf_counter()
    connection = await asyncpg.connect(url)
    try:
        site_ids = [
            row["id"]
            for row in await connection.fetch(
                "INSERT INTO site (name_zh, name_en, kind, address, lat, lng, created_at, "
                "updated_at, version) SELECT '耐久公园' || i, 'Soak park ' || i, 'park', '', "
                "26.80 + i * 0.01, 112.50 + i * 0.01, $1, $1, 1 "
                "FROM generate_series(1, $2) AS i RETURNING id",
                now,
                BENCH_SITES,
            )
        ]
        await connection.copy_records_to_table(
            "asset",
            columns=[
                "code",
                "name_zh",
                "name_en",
                "asset_type",
                "site",
                "lifecycle",
                "structure_type",
                "is_special_structure",
                "is_tension_critical",
                "description",
                "location_note",
                "lat",
                "lng",
                "created_at",
                "updated_at",
                "version",
            ],
            records=(
                (
                    f"S-{i:05d}",
                    f"耐久设施{i}",
                    f"Soak facility {i}",
                    "footbridge",
                    site_ids[i % BENCH_SITES],
                    "in_use",
                    "beam",
                    False,
                    False,
                    "",
                    "",
                    26.80 + (i % BENCH_SITES) * 0.01 + (i // BENCH_SITES) * 1e-5,
                    112.50 + (i % BENCH_SITES) * 0.01,
                    now,
                    now,
                    1,
                )
                for i in range(args.assets)
            ),
        )
        first_asset = int(
            await connection.fetchval("SELECT min(id) FROM asset WHERE code LIKE 'S-%'")
        )
        first_ticket = (
            int(await connection.fetchval("SELECT coalesce(max(id), 0) FROM repair_ticket")) + 1
        )
        extra = (
            "description",
            "work_class",
            "assignee_team",
            "contractor",
            "contractor_contact",
            "scope",
            "status_note",
            "reporter_email",
            "version",
        )
        await connection.copy_records_to_table(
            "repair_ticket",
            columns=[*TICKET_COLUMNS, *extra],
            records=scale.ticket_records(
                args.tickets, args.assets, first_id=first_ticket, first_asset=first_asset
            ),
        )
        await connection.execute(
            "SELECT setval('repair_ticket_id_seq', $1)", first_ticket + args.tickets - 1
        )
        timings["assets, tickets (COPY)"] = time.perf_counter() - began
    finally:
        await connection.close()

    # Closures in force (with an update each: the public pages have content), and planned ones
    # that the scheduler puts in force one after another during the run.
    began = time.perf_counter()
    alice = await accounts.find_user_by_username("alice")
    admin = await accounts.find_user_by_username("admin")
    assert alice is not None and admin is not None
    staff = accounts.actor_of(alice)
    active: list[int] = []
    for n in range(ACTIVE_CLOSURES):
        start = now - dt.timedelta(days=20 - n)
        closure = await closures.create_closure(
            staff,
            ClosureIn(
                asset_id=first_asset + n * 37,
                scope=Scope.FULL,
                reason=Reason.REPAIR_WORKS,
                reason_zh=f"耐久测试设施{n}维修：更换桥面板。",
                reason_en=f"Soak facility {n} is repaired: deck boards replaced.",
                safety_measures=[SafetyMeasure.FENCING, SafetyMeasure.DETOUR],
                detour_zh="请经北门绕行。",
                detour_en="Use the north gate.",
                effective_from=start,
                planned_reopen_on=(now + dt.timedelta(days=30 + n)).date(),
                reopen_precision=Precision.BEFORE,
                is_urgent=n % 2 == 0,  # urgent closures have a CAP alert
            ),
            start,
        )
        await closures.write_update(
            staff,
            closure.id,
            NoticeIn(text_zh=f"设施{n}：施工进展顺利。", text_en=f"Facility {n}: going well."),
            start + dt.timedelta(hours=1),
        )
        active.append(closure.id)
    planned: list[int] = []
    window = args.minutes * 60
    for n in range(args.planned):
        # Starts spread over the run (the run begins about a minute after seeding).
        start = now + dt.timedelta(seconds=60 + window * (n + 0.5) / args.planned)
        closure = await closures.create_closure(
            staff,
            ClosureIn(
                asset_id=first_asset + 1000 + n * 13,
                scope=Scope.PARTIAL,
                affected_part_zh="东段",
                affected_part_en="east span",
                reason=Reason.REPAIR_WORKS,
                reason_zh=f"计划施工{n}：更换护栏。",
                reason_en=f"Planned works {n}: railings replaced.",
                effective_from=start,
                planned_reopen_on=(now + dt.timedelta(days=10 + n)).date(),
            ),
            now,
        )
        planned.append(closure.id)
    timings["closures"] = time.perf_counter() - began

    # Subscribers (double opt-in, confirmed): everything, per site and per facility.
    began = time.perf_counter()
    scopes: list[dict[str, Any]] = [
        {},
        {},
        {"site_id": site_ids[0]},
        {"site_id": site_ids[1]},
        {"asset_id": first_asset},  # the first closure in force
        {"asset_id": first_asset + 1000},  # the first planned closure
    ]
    for n, scope in enumerate(scopes[:SUBSCRIBERS]):
        address = f"subscriber{n}@citizens.example"
        await closures.subscribe(
            SubscribeIn(email=address, **scope), "en" if n % 2 else "zh_CN", now
        )
    for row in await Subscription.select(Subscription.token):
        assert await closures.confirm_subscription(row["token"], now)
    token = await accounts.create_api_token(SYSTEM, TokenCreate(name="soak", user_id=alice.id), now)
    key = await reports.create_key(accounts.actor_of(admin), KeyCreate(name="soak app"), now)
    timings["subscribers, token, key"] = time.perf_counter() - began

    # Daily patrol schedules whose first occurrence falls from 2 minutes before the run to the
    # end of it (last step of seeding, so "now" is close to the start of the schedulers).
    began = time.perf_counter()
    now = utcnow()
    connection = await asyncpg.connect(url)
    try:
        span = window + 120
        rows = []
        for n in range(args.schedules):
            due = now - dt.timedelta(seconds=60) + dt.timedelta(seconds=span * n / args.schedules)
            due = due.replace(microsecond=0)
            rows.append(
                (
                    n + 1_000_000,
                    first_asset + n % args.assets,
                    "patrol",
                    "FREQ=DAILY",
                    "fixed",
                    due,
                    0,
                    0,
                    due,
                    False,
                    "",
                    "",
                    now,
                    now,
                    1,
                )
            )
        await connection.copy_records_to_table(
            "inspection_schedule", columns=SCHEDULE_COLUMNS, records=rows
        )
        await connection.execute("ANALYZE")
        first_site = int(await connection.fetchval("SELECT min(id) FROM site"))
        pinghu = await connection.fetchrow(
            "SELECT id, lat, lng FROM asset WHERE code = $1", demo.PINGHU_BRIDGE
        )
    finally:
        await connection.close()
    timings["schedules, analyze"] = time.perf_counter() - began
    return {
        "timings": timings,
        "token": token,
        "open311_key": key,
        "password": demo.DEMO_PASSWORD,
        "active": active,
        "planned": planned,
        "first_asset": first_asset,
        "assets": args.assets,
        "first_ticket": first_ticket,
        "tickets": args.tickets,
        "sites": [first_site, *site_ids],
        "pinghu": dict(pinghu) if pinghu else None,
    }


# --- the load client (its own process) -------------------------------------------------------


class Recorder:
    def __init__(self, measure_from: float) -> None:
        self.measure_from = measure_from
        self.samples: dict[str, list[float]] = collections.defaultdict(list)
        self.statuses: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter
        )
        self.unexpected: list[str] = []
        self.warmup: collections.Counter[str] = collections.Counter()

    async def call(self, kind: str, client: Any, method: str, url: str, **kw: Any) -> Any:
        import httpx

        began = time.perf_counter()
        response = None
        try:
            response = await client.request(method, url, **kw)
            status = response.status_code
        except httpx.HTTPError as exc:
            status = 0
            self.unexpected.append(f"{kind} {method} {url}: {type(exc).__name__} {exc}")
        elapsed = time.perf_counter() - began
        bad = status not in EXPECTED[kind]
        if began >= self.measure_from:
            self.samples[kind].append(elapsed)
            self.statuses[kind][str(status)] += 1
        else:
            self.warmup[f"{kind} {status}"] += 1
        if bad and len(self.unexpected) < 200:
            detail = response.text[:300].replace("\n", " ") if response is not None else ""
            self.unexpected.append(f"{kind} {method} {url} -> {status}: {detail}")
        return response


def _csrf(client: Any) -> str:
    return str(client.cookies.get("csrftoken") or "")


async def _pause(rng: random.Random, think: float) -> None:
    await asyncio.sleep(rng.uniform(0.0, 2 * think))


async def citizen(cfg: dict[str, Any], rec: Recorder, n: int, stop_at: float) -> None:
    import httpx

    rng = random.Random(100 + n)
    english = n % 2 == 1
    cookies = {"lang": "en"} if english else {}
    async with httpx.AsyncClient(base_url=cfg["base"], cookies=cookies, timeout=60) as client:
        etag = ""
        while time.perf_counter() < stop_at:
            closure = rng.choice(cfg["active"])
            choice = rng.randrange(100)
            if choice < 20:
                await rec.call("home_en" if english else "home", client, "GET", "/")
            elif choice < 30:
                await rec.call("notices", client, "GET", "/notices")
            elif choice < 50:
                kind = "notice_en" if english else "notice"
                await rec.call(kind, client, "GET", f"/notices/{closure}")
            elif choice < 55:
                asset = cfg["first_asset"] + rng.randrange(cfg["assets"])
                await rec.call("facility", client, "GET", f"/facilities/{asset}")
            elif choice < 65:
                if etag:
                    headers = {"If-None-Match": etag}
                    await rec.call(
                        "atom_304", client, "GET", "/feeds/notices.atom", headers=headers
                    )
                response = await rec.call("atom", client, "GET", "/feeds/notices.atom")
                if response is not None:
                    etag = response.headers.get("etag", "")
            elif choice < 70:
                await rec.call("atom_en", client, "GET", "/feeds/notices.atom?lang=en")
            elif choice < 75:
                await rec.call("ics", client, "GET", "/feeds/closures.ics")
            elif choice < 80:
                await rec.call("geojson", client, "GET", "/feeds/closures.geojson")
            elif choice < 88:
                urgent = rng.choice(cfg["active"][::2])
                await rec.call("cap", client, "GET", f"/feeds/cap/{urgent}.xml")
            else:
                asset = cfg["first_asset"] + rng.randrange(cfg["assets"])
                await rec.call("report_form", client, "GET", f"/report?asset={asset}")
            await _pause(rng, cfg["think"])


async def reporter(cfg: dict[str, Any], rec: Recorder, start: float, stop_at: float) -> None:
    """Paced citizen writes: web reports (with the form's CSRF cookie) and Open311 POSTs."""
    import httpx

    rng = random.Random(7)
    pinghu = cfg["pinghu"]
    events = [("report", start + cfg["report_every"] * (i + 0.5)) for i in range(cfg["reports"])]
    events += [("o311", start + cfg["o311_every"] * (i + 0.3)) for i in range(cfg["o311_posts"])]
    events.sort(key=lambda e: e[1])
    async with httpx.AsyncClient(base_url=cfg["base"], timeout=60) as client:
        for n, (what, at) in enumerate(events):
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            if time.perf_counter() >= stop_at:
                break
            if what == "report":
                asset = cfg["first_asset"] + rng.randrange(cfg["assets"])
                await rec.call("report_form", client, "GET", f"/report?asset={asset}")
                await rec.call(
                    "report_post",
                    client,
                    "POST",
                    "/report",
                    data={
                        "asset_id": str(asset),
                        "category": rng.choice(["deck_damage", "railing", "lighting", "litter"]),
                        "description": f"Soak report {n}: a loose board near the east end.",
                        "contact_name": "Soak citizen",
                        "contact_email": f"citizen{n}@citizens.example",
                        "_csrf_token": _csrf(client),
                    },
                )
            else:
                await rec.call(
                    "o311_post",
                    client,
                    "POST",
                    "/open311/v2/requests.json",
                    data={
                        "api_key": cfg["open311_key"],
                        "service_code": rng.choice(["deck_damage", "railing", "cables"]),
                        "lat": f"{pinghu['lat']:.6f}",
                        "long": f"{pinghu['lng']:.6f}",
                        "description": f"Soak Open311 request {n}: rust on a cable clamp.",
                        "email": f"app{n}@citizens.example",
                    },
                )


async def staff(cfg: dict[str, Any], rec: Recorder, username: str, stop_at: float) -> None:
    import httpx

    rng = random.Random(username)
    writes = username == "alice"
    async with httpx.AsyncClient(base_url=cfg["base"], timeout=60) as client:
        await client.get("/login")
        await rec.call(
            "login",
            client,
            "POST",
            "/login",
            data={"username": username, "password": cfg["password"], "_csrf_token": _csrf(client)},
        )
        filters = [
            "",
            "?status=open&sort=due",
            "?status=open&priority=P1",
            "?overdue=true",
            "?status=&source=patrol",
            f"?site={cfg['sites'][1]}",
            "?status=final&sort=-updated",
            "?q=repair",
        ]
        while time.perf_counter() < stop_at:
            ticket = cfg["first_ticket"] + rng.randrange(cfg["tickets"])
            closure = rng.choice(cfg["active"])
            choice = rng.randrange(100)
            if choice < 30:
                await rec.call("staff_tickets", client, "GET", "/tickets/" + rng.choice(filters))
            elif choice < 55:
                await rec.call("staff_ticket", client, "GET", f"/tickets/{ticket}")
            elif choice < 70:
                await rec.call("staff_dashboard", client, "GET", "/tickets/dashboard")
            elif choice < 85:
                await rec.call("staff_closure", client, "GET", f"/closures/{closure}")
            elif writes and choice < 95:
                await rec.call(
                    "staff_comment",
                    client,
                    "POST",
                    f"/tickets/{ticket}/comments",
                    data={
                        "body": f"Soak comment {rng.randrange(10**6)}.",
                        "_csrf_token": _csrf(client),
                    },
                )
            elif writes and choice < 97:
                number = rng.randrange(10**6)
                await rec.call(
                    "staff_update",
                    client,
                    "POST",
                    f"/closures/{closure}/updates",
                    data={
                        "text_zh": f"施工进展{number}：今日完成桥面板铺设。",
                        "text_en": f"Progress {number}: deck boards laid today.",
                        "publish": "true",
                        "_csrf_token": _csrf(client),
                    },
                )
            else:
                await rec.call("staff_tickets", client, "GET", "/tickets/")
            await _pause(rng, cfg["think"])


async def api(cfg: dict[str, Any], rec: Recorder, n: int, stop_at: float) -> None:
    import httpx

    rng = random.Random(200 + n)
    headers = {"Authorization": f"Bearer {cfg['token']}", "Accept": "application/json"}
    filters = ["", "?status=open&per_page=50", "?priority=P1", "?overdue=true&sort=due"]
    async with httpx.AsyncClient(base_url=cfg["base"], headers=headers, timeout=60) as client:
        open_ids: list[int] = []
        while time.perf_counter() < stop_at:
            choice = rng.randrange(100)
            if choice < 35 or not open_ids:
                response = await rec.call(
                    "api_list", client, "GET", "/api/v1/tickets" + rng.choice(filters)
                )
                if response is not None and response.status_code == 200:
                    open_ids = [
                        item["id"]
                        for item in response.json()["items"]
                        if item["status"] not in {"closed", "cancelled", "rejected"}
                    ] or open_ids
            elif choice < 55:
                await rec.call(
                    "api_create",
                    client,
                    "POST",
                    "/api/v1/tickets",
                    json={
                        "asset_id": cfg["first_asset"] + rng.randrange(cfg["assets"]),
                        "title": f"Soak API ticket {n}-{rng.randrange(10**6)}",
                        "priority": "P3",
                        "source": "patrol",
                    },
                )
            else:
                ticket = rng.choice(open_ids)
                response = await rec.call("api_show", client, "GET", f"/api/v1/tickets/{ticket}")
                if response is None or response.status_code != 200:
                    continue
                out = response.json()
                body = {k: out[k] for k in TICKET_IN if k in out}
                body["scope"] = f"Soak scope {rng.randrange(10**6)}"
                body["version"] = out["version"]
                response = await rec.call(
                    "api_update", client, "PUT", f"/api/v1/tickets/{ticket}", json=body
                )
                if choice >= 90 and response is not None and response.status_code == 200:
                    body["scope"] += " (stale)"  # the version read before the update: now stale
                    await rec.call(
                        "api_stale", client, "PUT", f"/api/v1/tickets/{ticket}", json=body
                    )
            await _pause(rng, cfg["think"])


async def open311_reader(cfg: dict[str, Any], rec: Recorder, stop_at: float) -> None:
    import httpx

    rng = random.Random(311)
    async with httpx.AsyncClient(base_url=cfg["base"], timeout=60) as client:
        while time.perf_counter() < stop_at:
            choice = rng.randrange(10)
            if choice < 2:
                await rec.call("o311_discovery", client, "GET", "/open311/v2/discovery.json")
            elif choice < 5:
                await rec.call("o311_services", client, "GET", "/open311/v2/services.json")
            else:
                await rec.call("o311_requests", client, "GET", "/open311/v2/requests.json")
            await _pause(rng, cfg["think"] * 2)


async def run_client(cfg: dict[str, Any]) -> None:
    start = time.perf_counter()
    measure_from = start + cfg["warmup"]
    stop_at = measure_from + cfg["seconds"]
    rec = Recorder(measure_from)
    cfg = {
        **cfg,
        "report_every": cfg["seconds"] / cfg["reports"],
        "o311_every": cfg["seconds"] / cfg["o311_posts"],
    }
    tasks = [citizen(cfg, rec, n, stop_at) for n in range(cfg["citizens"])]
    tasks += [staff(cfg, rec, name, stop_at) for name in ("alice", "bob", "dave")[: cfg["staff"]]]
    tasks += [api(cfg, rec, n, stop_at) for n in range(cfg["api"])]
    tasks += [open311_reader(cfg, rec, stop_at), reporter(cfg, rec, measure_from, stop_at)]
    own = time.process_time()
    await asyncio.gather(*tasks)
    out: dict[str, Any] = {
        "elapsed": time.perf_counter() - measure_from,
        "client_cpu": time.process_time() - own,
        "unexpected": rec.unexpected,
        "warmup": dict(rec.warmup),
        "kinds": {},
    }
    for kind in EXPECTED:
        values = sorted(rec.samples.get(kind, []))
        if not values:
            continue

        def pct(q: float, values: list[float] = values) -> float:
            return values[min(len(values) - 1, int(len(values) * q))] * 1000

        out["kinds"][kind] = {
            "count": len(values),
            "p50": pct(0.50),
            "p95": pct(0.95),
            "p99": pct(0.99),
            "max": values[-1] * 1000,
            "statuses": dict(rec.statuses[kind]),
        }
    print(json.dumps(out))


# --- processes, memory, checks ---------------------------------------------------------------


def rss_kb(pid: int) -> int | None:
    try:
        return scale.memory_kb(pid)[0]
    except (OSError, KeyError):
        return None


async def outbox_state(url: str) -> dict[str, int]:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch("SELECT status, count(*) AS n FROM notification GROUP BY 1")
        state = {row["status"]: int(row["n"]) for row in rows}
        state["unfanned"] = int(
            await connection.fetchval(
                "SELECT count(*) FROM notice_update WHERE state = 'published' "
                "AND fanned_out_at IS NULL"
            )
        )
        state["planned_due"] = int(
            await connection.fetchval(
                "SELECT count(*) FROM closure WHERE status = 'planned' AND effective_from <= now()"
            )
        )
    finally:
        await connection.close()
    return state


async def wait_drained(url: str, limit: float) -> tuple[bool, dict[str, int], float]:
    began = time.monotonic()
    while True:
        state = await outbox_state(url)
        busy = state.get("pending", 0) + state.get("sending", 0)
        busy += state["unfanned"] + state["planned_due"]
        if busy == 0 or time.monotonic() - began > limit:
            return busy == 0, state, time.monotonic() - began
        await asyncio.sleep(2)


async def effects(url: str, sink: Sink) -> dict[str, Any]:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        sent = await connection.fetch(
            "SELECT id, dedupe_key, attempts FROM notification WHERE status = 'sent'"
        )
        statuses = {
            r["status"]: int(r["n"])
            for r in await connection.fetch(
                "SELECT status, count(*) AS n FROM notification GROUP BY 1"
            )
        }
        by_template = {
            r["template"]: int(r["n"])
            for r in await connection.fetch(
                "SELECT template, count(*) AS n FROM notification GROUP BY 1 ORDER BY 1"
            )
        }
        retried = int(
            await connection.fetchval("SELECT count(*) FROM notification WHERE attempts > 1")
        )
        duplicate_inspections = await connection.fetch(
            "SELECT schedule, due_at, count(*) AS n FROM inspection WHERE schedule IS NOT NULL "
            "GROUP BY 1, 2 HAVING count(*) > 1"
        )
        raised = int(
            await connection.fetchval(
                "SELECT count(*) FROM inspection i JOIN inspection_schedule s "
                "ON s.id = i.schedule WHERE s.id >= 1000000"
            )
        )
        last_raise = await connection.fetchval(
            "SELECT max(started_at) FROM job_run WHERE job_id = 'raise_inspections' "
            "AND error = '' AND finished_at IS NOT NULL"
        )
        still_due = int(
            await connection.fetchval(
                "SELECT count(*) FROM inspection_schedule WHERE NOT is_suspended "
                "AND next_due_at - lead_days * interval '1 day' "
                "< $1::timestamptz - interval '1 second'",
                last_raise,
            )
        )
        # One notice e-mail per (published update, matching confirmed subscriber).
        fan_expected = int(
            await connection.fetchval(
                "SELECT count(*) FROM notice_update u JOIN closure c ON c.id = u.closure "
                "JOIN asset a ON a.id = c.asset JOIN subscription s ON "
                "s.confirmed_at IS NOT NULL AND s.unsubscribed_at IS NULL AND (s.asset = a.id "
                "OR s.site = a.site OR (s.asset IS NULL AND s.site IS NULL)) "
                "WHERE u.state = 'published' AND u.fanned_out_at IS NOT NULL "
                "AND s.confirmed_at <= u.fanned_out_at"
            )
        )
        fan_queued = int(
            await connection.fetchval(
                "SELECT count(*) FROM notification WHERE template = 'notice_update'"
            )
        )
        activated = int(
            await connection.fetchval(
                "SELECT count(*) FROM closure WHERE id = ANY($1::int[]) AND status = 'active'",
                CONFIG["planned"],
            )
        )
        due_planned = int(
            await connection.fetchval(
                "SELECT count(*) FROM closure WHERE id = ANY($1::int[]) "
                "AND effective_from <= now()",
                CONFIG["planned"],
            )
        )
        runs = await connection.fetch(
            "SELECT runner, job_id, count(*) AS runs, sum(items) AS items, "
            "count(*) FILTER (WHERE error <> '') AS errors, "
            "max(extract(epoch FROM finished_at - started_at)) AS longest "
            "FROM job_run GROUP BY 1, 2 ORDER BY 1, 2"
        )
        errors = await connection.fetch(
            "SELECT job_id, error FROM job_run WHERE error <> '' ORDER BY id LIMIT 10"
        )
        reports_made = int(await connection.fetchval("SELECT count(*) FROM service_request"))
    finally:
        await connection.close()
    expected_ids = {message_id(r["id"], r["dedupe_key"]) for r in sent}
    retried_ids = {message_id(r["id"], r["dedupe_key"]) for r in sent if r["attempts"] > 1}
    with sink.lock:
        received = dict(sink.ids)
        total = sink.received
        without = sink.without_id
    return {
        "statuses": statuses,
        "by_template": by_template,
        "retried": retried,
        "sent": len(expected_ids),
        "received": total,
        "received_without_id": without,
        # At-least-once: a message sent again after a failed or cancelled attempt may arrive
        # twice; any other duplicate is a fault.
        "duplicate_ids": {k: v for k, v in received.items() if v > 1 and k not in retried_ids},
        "allowed_duplicates": {k: v for k, v in received.items() if v > 1 and k in retried_ids},
        "sent_not_received": sorted(expected_ids - set(received))[:20],
        "sent_not_received_count": len(expected_ids - set(received)),
        "received_not_sent": sorted(set(received) - expected_ids)[:20],
        "duplicate_inspections": [dict(r) for r in duplicate_inspections],
        "raised": raised,
        "last_raise": last_raise,
        "still_due": still_due,
        "fan_expected": fan_expected,
        "fan_queued": fan_queued,
        "activated": activated,
        "due_planned": due_planned,
        "runs": [dict(r) for r in runs],
        "errors": [dict(r) for r in errors],
        "reports": reports_made,
    }


CONFIG: dict[str, Any] = {}


def app_env(url: str, port: int, smtp_port: int, log_level: str = "WARNING") -> dict[str, str]:
    env = scale.app_env(url, port)
    env.update(
        FACILITIES_BASE_URL=f"http://127.0.0.1:{port}",
        FACILITIES_EMAIL_BACKEND="smtp",
        FACILITIES_SMTP_HOST="127.0.0.1",
        FACILITIES_SMTP_PORT=str(smtp_port),
        FACILITIES_MAIL_FROM=MAIL_FROM,
        FACILITIES_OUTBOX_BATCH_SIZE="500",
        FACILITIES_MEDIA_DIR=str(MEDIA_DIR),
        FACILITIES_LOG_LEVEL=log_level,
    )
    return env


def log_problems(path: Path) -> list[str]:
    text = path.read_text(errors="replace") if path.exists() else ""
    return [line for line in text.splitlines() if re.search(r"Traceback| ERROR |CRITICAL", line)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=30.0)
    parser.add_argument("--assets", type=int, default=2000)
    parser.add_argument("--tickets", type=int, default=20000)
    parser.add_argument("--schedules", type=int, default=2000)
    parser.add_argument(
        "--planned", type=int, default=0, help="planned closures (default: 1 a minute)"
    )
    parser.add_argument("--citizens", type=int, default=6)
    parser.add_argument("--staff", type=int, default=3, choices=[1, 2, 3])
    parser.add_argument("--api", type=int, default=2)
    parser.add_argument("--think", type=float, default=0.25, help="mean pause between requests, s")
    parser.add_argument("--sample", type=float, default=30.0, help="RSS sampling interval, s")
    parser.add_argument("--drain-timeout", type=float, default=180.0)
    parser.add_argument(
        "--public-cache-mb",
        type=int,
        help="FACILITIES_PUBLIC_CACHE_MB for the web processes (default: the app's default)",
    )
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        asyncio.run(run_client(json.loads(args.client)))
        return 0
    args.planned = args.planned or max(2, round(args.minutes))
    assert args.assets >= 1000 + args.planned * 13 + 1, "too few assets for the planned closures"

    from aiosmtpd.controller import Controller

    LOG_DIR.mkdir(parents=True, exist_ok=True)
    url = scale.PG_ADMIN.rpartition("/")[0] + "/" + PG_DB
    port = scale.free_port()
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=scale.free_port())
    smtp.start()
    processes: list[tuple[str, subprocess.Popen[bytes], Any]] = []
    workers: list[int] = []
    failures: list[str] = []
    try:
        began = time.perf_counter()
        seeded = asyncio.run(seed(url, args, f"http://127.0.0.1:{port}"))
        CONFIG.update(seeded)
        print(
            f"seeded the demo story + {args.assets:,} assets, {args.tickets:,} tickets, "
            f"{args.schedules:,} schedules, {ACTIVE_CLOSURES} closures in force, "
            f"{args.planned} planned, {SUBSCRIBERS} subscribers in "
            f"{time.perf_counter() - began:.0f} s ("
            + ", ".join(f"{k} {v:.1f} s" for k, v in seeded["timings"].items())
            + ")",
            flush=True,
        )
        load_before = os.getloadavg()
        for n in (1, 2):
            log = (LOG_DIR / f"soak_scheduler_{n}.log").open("wb")
            process = subprocess.Popen(
                [sys.executable, "-m", "scheduler"],
                cwd=ROOT,
                env=app_env(url, 0, smtp.port, "INFO"),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            processes.append((f"scheduler {n}", process, log))
            time.sleep(2.0)  # the first one started leads
        log = (LOG_DIR / "soak_serve.log").open("wb")
        web_env = app_env(url, port, smtp.port)
        if args.public_cache_mb is not None:
            web_env["FACILITIES_PUBLIC_CACHE_MB"] = str(args.public_cache_mb)
        server = subprocess.Popen(
            [sys.executable, "-m", "facilities.cli", "serve", "--workers", "2"],
            cwd=ROOT,
            env=web_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(("web master", server, log))
        scale.wait_until_serving(port, server, 2)
        workers = scale.web_workers(server.pid, 2)
        pids = {"web master": server.pid}
        pids.update({f"web worker {i + 1}": pid for i, pid in enumerate(workers)})
        pids.update({name: p.pid for name, p, _ in processes if name.startswith("scheduler")})

        seconds = args.minutes * 60
        config = {
            "base": f"http://127.0.0.1:{port}",
            "warmup": args.warmup,
            "seconds": seconds,
            "think": args.think,
            "citizens": args.citizens,
            "staff": args.staff,
            "api": args.api,
            "reports": 8,  # under the 10 per hour and address of the web form
            "o311_posts": max(4, min(50, round(5 * args.minutes))),  # limit: 60 per hour
            **{k: seeded[k] for k in ("token", "open311_key", "password", "active")},
            **{k: seeded[k] for k in ("first_asset", "assets", "first_ticket", "tickets")},
            "sites": seeded["sites"],
            "pinghu": seeded["pinghu"],
        }
        client_out = (LOG_DIR / "soak_client.json").open("w")
        client_err = (LOG_DIR / "soak_client.err").open("w")
        started = time.monotonic()
        client = subprocess.Popen(
            [sys.executable, __file__, "--client", json.dumps(config)],
            cwd=ROOT,
            stdout=client_out,
            stderr=client_err,
        )
        print(
            f"load: {args.warmup:g} s warm-up, then {args.minutes:g} min "
            f"(load average before: {' '.join(f'{v:.2f}' for v in load_before)}); public cache: "
            + (
                "app default"
                if args.public_cache_mb is None
                else f"{args.public_cache_mb} MB per web process"
            ),
            flush=True,
        )
        samples: list[tuple[float, dict[str, int | None]]] = []
        next_sample = started + args.warmup + 2.0
        deadline = started + args.warmup + seconds + 300
        while client.poll() is None:
            if time.monotonic() > deadline:
                client.kill()
                failures.append("the load client overran its time and was killed")
                break
            if time.monotonic() >= next_sample:
                samples.append(
                    (time.monotonic() - started, {n: rss_kb(p) for n, p in pids.items()})
                )
                for name, process, _ in processes:
                    if process.poll() is not None:
                        failures.append(f"{name} exited during the run ({process.returncode})")
                next_sample += args.sample
            time.sleep(0.5)
        samples.append((time.monotonic() - started, {n: rss_kb(p) for n, p in pids.items()}))
        client_out.close()
        client_err.close()
        load_after = os.getloadavg()
        if client.returncode:
            err = (LOG_DIR / "soak_client.err").read_text()[-3000:]
            raise SystemExit(f"the load client failed:\n{err}")
        result = json.loads((LOG_DIR / "soak_client.json").read_text().strip().splitlines()[-1])

        drained, state, waited = asyncio.run(wait_drained(url, args.drain_timeout))
        time.sleep(1.0)
        found = asyncio.run(effects(url, sink))
        for name, process, _ in processes:
            if process.poll() is not None:
                failures.append(f"{name} was not running at the end ({process.returncode})")
    finally:
        for name, process, log in reversed(processes):
            scale.stop(process, workers if name == "web master" else [])
            log.close()
        smtp.stop()

    # --- report ---
    elapsed = result["elapsed"]
    total = sum(row["count"] for row in result["kinds"].values())
    print(
        f"\n{total:,} requests in {elapsed:.0f} s ({total / elapsed:.1f} req/s), client CPU "
        f"{result['client_cpu']:.0f} s; load average before {load_before[0]:.2f}, "
        f"after {load_after[0]:.2f} / {load_after[1]:.2f} / {load_after[2]:.2f}"
    )
    print(
        f"{'kind':<16} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8}  statuses"
    )
    five = {}
    for kind, row in result["kinds"].items():
        print(
            f"{kind:<16} {row['count']:>6} {row['p50']:>8.1f} {row['p95']:>8.1f} "
            f"{row['p99']:>8.1f} {row['max']:>8.1f}  {row['statuses']}"
        )
        bad = {s: c for s, c in row["statuses"].items() if s == "0" or s.startswith("5")}
        if bad:
            five[kind] = bad
    if five:
        failures.append(f"5xx or dropped connections: {five}")
    unexpected = [u for u in result["unexpected"]]
    if unexpected:
        failures.append(f"{len(unexpected)} unexpected answer(s), first: {unexpected[:5]}")
    print(f"warm-up answers: {result['warmup']}")

    print(f"\nRSS per process (MB), sampled every {args.sample:g} s:")
    first, last = samples[0][1], samples[-1][1]
    for name in first:
        series = [s[1][name] for s in samples if s[1][name] is not None]
        start_kb, end_kb = first[name], last[name]
        if not start_kb or not end_kb:
            failures.append(f"{name}: no memory sample at start or end")
            continue
        growth = (end_kb - start_kb) / start_kb
        verdict = "ok" if growth < MEMORY_GROWTH_LIMIT else "TOO MUCH"
        print(
            f"  {name:<13} start {start_kb / 1024:6.1f}  end {end_kb / 1024:6.1f}  "
            f"growth {growth * 100:+5.1f} %  max {max(series) / 1024:6.1f}  ({verdict})"
        )
        if growth >= MEMORY_GROWTH_LIMIT:
            failures.append(f"{name} grew {growth * 100:.1f} % (limit 10 %)")
        print("    series: " + " ".join(f"{kb / 1024:.0f}" for kb in series))
    (LOG_DIR / "soak_memory.json").write_text(
        json.dumps([{"seconds": round(at, 1), "rss_kb": rss} for at, rss in samples])
    )

    print(
        f"\noutbox after {waited:.0f} s of grace: {state} "
        f"({'drained' if drained else 'NOT drained'})"
    )
    if not drained:
        failures.append(f"outbox not drained within {args.drain_timeout:g} s: {state}")
    print(f"notifications by status: {found['statuses']}; by template: {found['by_template']}")
    print(
        f"SMTP sink: {found['received']} received, {found['sent']} marked sent, "
        f"{found['retried']} retried; duplicate Message-IDs: {found['duplicate_ids'] or 'none'} "
        f"(after a retry, allowed: {found['allowed_duplicates'] or 'none'}); "
        f"sent but not received: {found['sent_not_received_count']}; "
        f"received but not marked sent: {found['received_not_sent'] or 'none'}"
    )
    if found["statuses"].get("failed"):
        failures.append(f"{found['statuses']['failed']} message(s) failed")
    if found["duplicate_ids"]:
        failures.append(f"Message-IDs received twice: {found['duplicate_ids']}")
    if found["sent_not_received_count"]:
        failures.append(f"sent but never received: {found['sent_not_received'][:5]}")
    if found["received_without_id"]:
        failures.append(f"{found['received_without_id']} message(s) without a Message-ID")
    print(
        f"inspections raised from the soak schedules: {found['raised']}; duplicate occurrences: "
        f"{len(found['duplicate_inspections'])}; schedules still due at the last raise_inspections "
        f"run ({found['last_raise']}): {found['still_due']}"
    )
    if found["duplicate_inspections"]:
        failures.append(f"duplicate inspections: {found['duplicate_inspections'][:5]}")
    if found["still_due"]:
        failures.append(f"{found['still_due']} schedule(s) left due at the last raise")
    print(
        f"planned closures put in force: {found['activated']} of {found['due_planned']} due; "
        f"notice e-mails queued {found['fan_queued']} for {found['fan_expected']} "
        f"(published update x matching subscriber); reports + Open311 requests stored: "
        f"{found['reports']}"
    )
    if found["activated"] != found["due_planned"]:
        failures.append("a planned closure that fell due was not put in force")
    if found["fan_queued"] != found["fan_expected"]:
        failures.append(f"notice e-mails {found['fan_queued']} != {found['fan_expected']}")
    print("\njob runs per runner:")
    for run in found["runs"]:
        print(
            f"  {run['runner']:<28} {run['job_id']:<24} runs {run['runs']:>3}  items "
            f"{run['items']:>6}  errors {run['errors']}  longest {float(run['longest'] or 0):.1f} s"
        )
    if found["errors"]:
        failures.append(f"job runs with an error: {found['errors']}")
    runners = {run["runner"] for run in found["runs"]}
    print(f"runners that ran jobs: {len(runners)} (one leader expected, the other stands by)")
    for name in ("soak_serve.log", "soak_scheduler_1.log", "soak_scheduler_2.log"):
        problems = log_problems(LOG_DIR / name)
        if problems:
            failures.append(f"{name}: {len(problems)} error line(s), first: {problems[0][:300]}")
    if failures:
        print("\nFAILED:")
        for failure in failures:
            print(f"  - {failure}")
        return 1
    print("\nall criteria met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
