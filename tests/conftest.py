"""Test fixtures: a real database per test (SQLite copy of a migrated template, or a truncated
PostgreSQL database when TEST_DATABASE_URL is set), the app driven in the test's own event loop,
personas, a fixed ``now`` and a real SMTP server on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from facilities import db
from facilities.accounts import services as accounts
from facilities.accounts.choices import Role
from facilities.accounts.permissions import SYSTEM, Actor
from facilities.accounts.schemas import UserCreate
from facilities.app import configure_process, create_app
from facilities.lib.clock import SettableClock
from facilities.settings import Settings

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_SECRET = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz"
PASSWORD = "correct horse battery"
NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)

PERSONAS = {
    "admin": Role.ADMIN,
    "alice": Role.SUPERVISOR,
    "bob": Role.INSPECTOR,
    "carol": Role.CREW,
    "dave": Role.VIEWER,
}


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing() -> Iterator[None]:
    """Real argon2, with the cheapest parameters: production cost would make every persona
    take a tenth of a second to create."""
    from argon2 import PasswordHasher

    original = accounts._hasher
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    yield
    accounts._hasher = original


def on_postgres() -> bool:
    return bool(PG_URL)


async def _migrate() -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="all", migration_id="all", fake=False)
    assert result.success, result.message


def _admin_dsn(url: str) -> tuple[str, str]:
    base, _, name = url.rpartition("/")
    return base + "/postgres", name


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite: a migrated file to copy per test. PostgreSQL: a fresh, migrated database for the
    whole session, dropped at the end."""
    if on_postgres():
        admin, _name = _admin_dsn(PG_URL)
        name = f"facilities_test_{uuid.uuid4().hex[:8]}"
        url = PG_URL.rpartition("/")[0] + "/" + name

        async def create() -> None:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.close()
            db.configure(url)
            await _migrate()

        asyncio.run(create())
        yield url

        async def drop() -> None:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()

        asyncio.run(drop())
        return
    path = tmp_path_factory.mktemp("template") / "template.db"
    db.configure(f"sqlite:///{path}")
    asyncio.run(_migrate())
    yield str(path)


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> str:
    """A clean database for this test."""
    if on_postgres():
        db.configure(database_template)

        async def truncate() -> None:
            conn = await asyncpg.connect(database_template)
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'migration'"
            )
            names = ", ".join(f'"{row["tablename"]}"' for row in tables)
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            await conn.close()
            # The policy a migration seeds (checklists, default schedules, rules) comes back,
            # as on SQLite where every test starts from the migrated file.
            from facilities.inspections.services import ensure_policy

            await ensure_policy()

        asyncio.run(truncate())
        return database_template
    path = tmp_path / "test.db"
    shutil.copyfile(database_template, path)
    url = f"sqlite:///{path}"
    db.configure(url)
    return url


@pytest.fixture
def now() -> dt.datetime:
    return NOW


@pytest.fixture
def clock(now: dt.datetime) -> SettableClock:
    """The app's clock: it starts at the test's ``now`` and runs, so pages agree with what the
    test gave its services; a test moves it with ``clock.set(...)``, never by sleeping."""
    return SettableClock(now)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    """A real SMTP server on loopback that records what it receives and can refuse on purpose."""

    def __init__(self) -> None:
        self.messages: list[Envelope] = []
        self.refuse_next = 0
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse_next > 0:
            self.refuse_next -= 1
            return "451 4.3.0 try again later"
        self.messages.append(envelope)
        return "250 OK"

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def texts(self) -> list[str]:
        return [bytes(m.content).decode("utf-8", "replace") for m in self.messages]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return dataclasses.replace(
        Settings(),
        database_url=database_url,
        secret_key=TEST_SECRET,
        scheduler_embedded=False,
        media_dir=str(tmp_path / "media"),
    ).checked()


@pytest.fixture(scope="session")
def built_apps() -> dict[str, Any]:
    """Apps built in this session, by the settings they were built with. Building one registers
    every route handler (0.1-0.3 s, measured), which was most of a test's set-up; a test reuses
    the app built for settings like its own and gets a fresh state (see ``app``)."""
    return {}


@pytest.fixture
async def app(
    settings: Settings, clock: SettableClock, built_apps: dict[str, Any]
) -> AsyncIterator[Any]:
    """The app with its database pool open. Litestar's own lifespan runs its hooks in an anyio
    task group that cannot span a fixture's setup and teardown, so the pool is opened here.

    Only the per-test paths (database, media) and the clock differ between tests that share an
    app, and the app reads those from its state on every request; the state is rebuilt for each
    test (nothing a previous test cached, such as rendered public pages, survives) and the
    process-wide set-up runs again for this test's settings."""
    key = repr(dataclasses.replace(settings, database_url="", media_dir=""))
    application = built_apps.get(key)
    if application is None:
        application = built_apps[key] = create_app(settings, embed_scheduler=False, clock=clock)
    else:
        configure_process(settings)
        for name in list(application.state):
            del application.state[name]
        application.state.settings = settings
        application.state.clock = clock
    async with db.connection_pool(settings.db_pool_min, settings.db_pool_max):
        yield application


def client_for_app(application: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application, client=("127.0.0.1", 50000)),
        base_url="http://testserver",
        follow_redirects=False,
    )


@pytest.fixture
async def anon(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for_app(app) as client:
        yield client


@pytest.fixture
async def personas(app: Any, now: dt.datetime) -> dict[str, Actor]:
    """alice (supervisor), bob (inspector), carol (crew), dave (viewer) and admin."""
    return await create_personas(now)


async def create_personas(now: dt.datetime) -> dict[str, Actor]:
    """The personas' staff accounts, with PASSWORD; their actors by username."""
    actors = {}
    for username, role in PERSONAS.items():
        user = await accounts.create_user(
            SYSTEM,
            UserCreate(
                username=username,
                display_name=username.title(),
                role=role,
                email=f"{username}@bureau.example",
                password=PASSWORD,
            ),
            now,
        )
        actors[username] = accounts.actor_of(user)
    return actors


async def csrf_token(client: httpx.AsyncClient) -> str:
    """The CSRF cookie value (fetched with a GET if the client has none yet)."""
    token = client.cookies.get("csrftoken")
    if token is None:
        await client.get("/login")
        token = client.cookies.get("csrftoken")
    assert token
    return token


async def post_form(client: httpx.AsyncClient, url: str, data: dict[str, Any]) -> httpx.Response:
    """POST a form the way a browser does: with the CSRF token from the cookie."""
    return await client.post(url, data={**data, "_csrf_token": await csrf_token(client)})


async def log_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> None:
    response = await post_form(client, "/login", {"username": username, "password": password})
    assert response.status_code == 303, response.text


@pytest.fixture
async def login(
    app: Any, personas: dict[str, Actor]
) -> AsyncIterator[Callable[[str], Awaitable[httpx.AsyncClient]]]:
    """``client = await login("alice")``: a client with alice's session cookie."""
    clients: list[httpx.AsyncClient] = []

    async def make(username: str) -> httpx.AsyncClient:
        client = client_for_app(app)
        clients.append(client)
        await log_in(client, username)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def postgres_only() -> None:
    if not on_postgres():
        pytest.skip("needs PostgreSQL (set TEST_DATABASE_URL)")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-ahead-years",
        type=int,
        default=0,
        help="run every test with the wall clock moved this many years ahead (time-machine): "
        "a test that passes only near the day it was written reads the wall clock somewhere",
    )


@pytest.fixture(autouse=True)
def wall_clock_ahead(request: pytest.FixtureRequest) -> Iterator[None]:
    """With ``--clock-ahead-years N``, the wall clock of this process runs N years ahead for
    the test (ticking). Tests pass ``now`` explicitly and the app reads its own clock, so
    nothing may change. Tests marked ``wall_clock`` drive other processes (scheduler replicas,
    servers), whose clocks cannot be moved, and keep the real one."""
    years = request.config.getoption("--clock-ahead-years")
    if not years or request.node.get_closest_marker("wall_clock"):
        yield
        return
    import time_machine

    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(days=round(365.25 * years))
    with time_machine.travel(ahead, tick=True):
        yield


def _uses_the_database(item: pytest.Item) -> bool:
    names = set(getattr(item, "fixturenames", ()))
    return bool(names & {"database_url", "database_template", "postgres_only"}) or bool(
        item.get_closest_marker("postgres_only")
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, run only the tests that touch the database: the others (recurrence
    rules, templates, catalogs, settings...) do the same on either engine and ran on SQLite."""
    if not on_postgres():
        return
    kept = [item for item in items if _uses_the_database(item)]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if not _uses_the_database(i)])
        items[:] = kept


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Expose each phase's report on the item (browser tests screenshot failures)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)
