"""Fixtures and hooks (the helpers they use are in tests/kit/): a real database per test (a
SQLite copy of a migrated template, or a truncated PostgreSQL database when TEST_DATABASE_URL is
set), the app driven in the test's own event loop, personas, a fixed ``now``, a real SMTP server
on loopback; and the records several test files share: the inspection policy, the public pages'
story, the permission matrix's world, JSON API sessions, the browser journeys' server."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from facilities import db
from facilities.accounts import services as accounts
from facilities.accounts.permissions import Actor
from facilities.app import configure_process, create_app
from facilities.inspections import services as inspections
from facilities.lib.clock import SettableClock
from facilities.settings import Settings
from tests.kit.browser import chromium, pages_for, start_server
from tests.kit.clients import Api, client_for_app, csrf_token, log_in
from tests.kit.constants import NOW, TEST_SECRET
from tests.kit.database import PG_URL, admin_dsn, migrate, on_postgres, uses_the_database
from tests.kit.permission_world import World, build_world
from tests.kit.personas import create_personas
from tests.kit.processes import PG_READY_LIMIT, cluster_of, pg_ctlcluster, wait_pg_ready
from tests.kit.public_story import READ_AT, Story, build_story, pin_clock
from tests.kit.servers import SmtpServer


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing() -> Iterator[None]:
    """Real argon2, with the cheapest parameters: production cost would make every persona
    take a tenth of a second to create."""
    from argon2 import PasswordHasher

    original = accounts._hasher
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    yield
    accounts._hasher = original


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite: a migrated file to copy per test. PostgreSQL: a fresh, migrated database for the
    whole session, dropped at the end."""
    if on_postgres():
        admin, _name = admin_dsn(PG_URL)
        name = f"facilities_test_{uuid.uuid4().hex[:8]}"
        url = PG_URL.rpartition("/")[0] + "/" + name

        async def create() -> None:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.close()
            db.configure(url)
            await migrate()

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
    asyncio.run(migrate())
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


@pytest.fixture
async def anon(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for_app(app) as client:
        yield client


@pytest.fixture
async def personas(app: Any, now: dt.datetime) -> dict[str, Actor]:
    """alice (supervisor), bob (inspector), carol (crew), dave (viewer) and admin."""
    return await create_personas(now)


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


# --- records several test files share --------------------------------------------------------


@pytest.fixture
async def seeded_policy(database_url: str) -> None:
    """The default policy the migration seeds (on PostgreSQL the per-test TRUNCATE removes it);
    the inspection test modules use it for every test (``pytestmark``)."""
    await inspections.ensure_policy()


@pytest.fixture
def media_root(settings: Settings) -> Path:
    """The folder this test's uploads are stored in (the app's ``media_dir``)."""
    return settings.media_path


@pytest.fixture
async def api(login) -> Any:
    """``session = await api("alice")``: alice calling the JSON API with her CSRF header."""

    async def make(username: str = "alice") -> Api:
        client = await login(username)
        return Api(client, await csrf_token(client))

    return make


@pytest.fixture
async def story(app: Any, clock: SettableClock) -> Story:
    """The public pages' story (tests/kit/public_story.py), the app's clock pinned to READ_AT."""
    built = await build_story()
    pin_clock(clock, READ_AT)
    return built


@pytest.fixture
async def world(personas, now, settings) -> World:
    """One of everything the routes act on, built through the services (the permission
    matrix's, tests/kit/permission_world.py)."""
    return await build_world(personas, now, settings.media_path)


@pytest.fixture
def postgres_comes_back(settings: Any) -> Iterator[tuple[str, str, str, int]]:
    """The cluster to restart; afterwards it is accepting connections again, whatever happened."""
    where = cluster_of(settings.database_url)
    try:
        yield where
    finally:
        version, cluster, host, port = where
        if not wait_pg_ready(host, port, 10):
            pg_ctlcluster(version, cluster, "start")
            assert wait_pg_ready(host, port, PG_READY_LIMIT), "PostgreSQL did not come back"


# --- browser journeys (tests/kit/browser.py) -------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo database served by `facilities serve` on a free loopback port: its base URL."""
    with start_server(tmp_path_factory.mktemp("browser")) as running:
        yield running.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for a module of browser tests only (a launch costs about a second); each
    test still gets fresh contexts of its own from ``pages_for``, closed after it. Playwright's
    synchronous API keeps an event loop running while it is open, so a module that also has
    async tests must not use it (see ``page``)."""
    with chromium() as running:
        yield running


@pytest.fixture
def page(server: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A desktop page (1280x900, zh-CN), screenshot into var/screenshots on failure. Its own
    Chromium, closed after the test: modules with async tests use it too."""
    with chromium() as browser, pages_for(request, browser) as pages:
        yield pages.open("desktop", "zh-CN")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--serial-only",
        action="store_true",
        default=False,
        help="run only the tests marked serial, in this one process (make test runs the rest in "
        "xdist workers first, which leave the serial ones out)",
    )
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, run only the tests that touch the database: the others (recurrence
    rules, templates, catalogs, settings...) do the same on either engine and ran on SQLite.
    Tests marked ``serial`` (PostgreSQL restarts, scheduler replicas, schemathesis) run only in
    the main process: xdist workers leave them out and ``--serial-only`` runs just them."""
    _keep(config, items, lambda item: not on_postgres() or uses_the_database(item))
    if config.getoption("--serial-only"):
        _keep(config, items, lambda item: item.get_closest_marker("serial") is not None)
    elif hasattr(config, "workerinput"):  # an xdist worker: the serial tests run after, alone
        _keep(config, items, lambda item: item.get_closest_marker("serial") is None)


def _keep(config: pytest.Config, items: list[pytest.Item], wanted: Any) -> None:
    dropped = [item for item in items if not wanted(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if wanted(item)]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """``--serial-only`` with nothing marked serial in the selection (e.g. only the browser
    tests) ran nothing on purpose: that is a success, not pytest's "no tests" (5)."""
    if (
        session.config.getoption("--serial-only")
        and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED
    ):
        session.exitstatus = pytest.ExitCode.OK


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Expose each phase's report on the item (browser tests screenshot failures)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)
