"""What every browser journey needs: a real `facilities serve` process over its own migrated
database, and Playwright pages in the system Chromium.

- ``start_server(folder, ...)`` (a context manager) migrates a fresh SQLite file, seeds it (the
  demo, and/or a ``module:function`` of your own), optionally points e-mail at a real SMTP
  server (``SmtpServer`` from tests/kit/servers.py, aiosmtpd on loopback), and serves it on a
  free port with the embedded scheduler on or off. The returned ``Server`` also runs scheduler
  jobs and seed functions as subprocesses against the same database, as an operator would.
- ``Pages`` opens pages in phone (390x844) or desktop (1280x900) contexts, zh-CN or en, and on
  failure saves a full-page screenshot of each into ``var/screenshots/<test name>.png``.

The server reads the wall clock and nothing here can pin it: a story written with fixed dates
is loaded shifted (``shift``) so that the real clock finds it in the intended state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.kit.database import on_postgres
from tests.kit.servers import SmtpServer, free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = ROOT / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
BROWSER_TIMEOUT_MS = 10_000


def require_browser() -> None:
    """Skip (or, with REQUIRE_BROWSER=1 as in .ci/run, fail) when the journeys cannot run."""
    if on_postgres():
        pytest.skip("browser journeys run once, on SQLite")
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing but REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is not installed")


# --- the server ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Server:
    url: str
    folder: Path
    env: dict[str, str]
    smtp: SmtpServer | None = None
    seeded: Any = None  # what the seed function printed (JSON), if any

    def __str__(self) -> str:
        return self.url

    @property
    def media(self) -> Path:
        return self.folder / "media"

    @property
    def database_url(self) -> str:
        return self.env["FACILITIES_DATABASE_URL"]

    def run_job(self, job_id: str, now: dt.datetime) -> str:
        """``python -m scheduler run <job> --now ISO`` against this server's database."""
        done = subprocess.run(
            [sys.executable, "-m", "scheduler", "run", job_id, "--now", now.isoformat()],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"{job_id} failed: {done.stdout}{done.stderr}"
        return done.stdout.strip()

    def call(self, target: str, *args: Any) -> Any:
        """Run the async function ``module:function(*args)`` (JSON-able arguments) in a fresh
        process configured for this server's database; returns what it returns (as JSON)."""
        return call_in_subprocess(target, self.env, *args)


def call_in_subprocess(target: str, env: dict[str, str], *args: Any) -> Any:
    code = (
        "import sys; from tests.kit.browser import _call_main; _call_main(sys.argv[1], sys.argv[2])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, target, json.dumps(args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{target} failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def _call_main(target: str, raw_args: str) -> None:  # pragma: no cover - run in a subprocess
    import asyncio
    import importlib

    from facilities import db
    from facilities.settings import Settings

    settings = Settings.from_env()
    db.configure(settings.database_url)
    from facilities.rendering import configure_rendering

    configure_rendering(settings)  # e-mails render
    module, _, name = target.partition(":")
    function = getattr(importlib.import_module(module), name)
    result = asyncio.run(function(*json.loads(raw_args)))
    print(json.dumps(result, default=str))


async def prepare(demo: bool, seed: str | None, shift_seconds: float) -> Any:
    """Migrate the empty database, load the demo (shifted) and run ``seed``; returns what
    ``seed`` returned."""
    import importlib

    from piccolo.apps.migrations.commands.forwards import run_forwards

    from facilities import db

    result = await run_forwards(app_name="all", migration_id="all", fake=False)
    assert result.success, result.message
    # the app's own pool (as its lifespan opens it): reading connections are reused instead of
    # one opened per statement, a tenth of the demo's loading time
    async with db.connection_pool(1, 4):
        if demo:
            await load_demo(shift_seconds)
        if seed is None:
            return None
        module, _, name = seed.partition(":")
        return await getattr(importlib.import_module(module), name)(shift_seconds)


async def load_demo(shift_seconds: float = 0) -> dict[str, int]:
    """The demo story as ``facilities demo`` loads it, ``shift_seconds`` away from now."""
    from facilities import demo
    from facilities.lib.clock import utcnow
    from facilities.settings import Settings

    settings = Settings.from_env()
    now = utcnow() + dt.timedelta(seconds=shift_seconds)
    return await demo.load(now, settings.zone, settings.media_path)


#: ``python -c``: import the app and `facilities serve`'s own imports, wait for "go" on stdin
#: (the database is ready), then serve exactly as ``python -m facilities.cli serve`` does.
_SERVE_WHEN_TOLD = """
import sys
import uvicorn
import facilities.app
import facilities.cli
if sys.stdin.readline().strip() != "go":
    sys.exit("not told to serve")
facilities.cli.main(["serve"], prog_name="facilities")
"""


@contextlib.contextmanager
def start_server(
    folder: Path,
    *,
    demo: bool = True,
    seed: str | None = None,
    shift: dt.timedelta = dt.timedelta(0),
    smtp: SmtpServer | None = None,
    scheduler: bool = False,
    extra_env: dict[str, str] | None = None,
    needs_browser: bool = True,
) -> Iterator[Server]:
    """A migrated database in ``folder``, seeded, and `facilities serve` on a free port.

    ``demo``: load the demo story (moved by ``shift``). ``seed``: an async ``module:function``
    taking the shift in seconds, run after the demo; what it returns is ``Server.seeded``.
    ``smtp``: deliver e-mail to this server. ``scheduler``: run the embedded scheduler.
    ``needs_browser``: skip (or fail) as the browser journeys do when Chromium is missing;
    a server for other clients (nginx) says False."""
    if needs_browser:
        require_browser()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITIES_")}
    env.update(
        FACILITIES_DATABASE_URL=f"sqlite:///{folder}/browser.db",
        FACILITIES_MEDIA_DIR=str(folder / "media"),
        FACILITIES_SCHEDULER_EMBEDDED="true" if scheduler else "false",
        FACILITIES_PORT=str(port),
        FACILITIES_BASE_URL=base,
        FACILITIES_LOG_LEVEL="WARNING",
    )
    if smtp is not None:
        env.update(
            FACILITIES_EMAIL_BACKEND="smtp",
            FACILITIES_SMTP_HOST="127.0.0.1",
            FACILITIES_SMTP_PORT=str(smtp.port),
            FACILITIES_MAIL_FROM="facilities@bureau.example",
        )
    env.update(extra_env or {})
    # The server process starts first and imports the app (seconds on a busy machine) while
    # another process migrates and seeds the database; told "go", it runs `facilities serve`.
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVE_WHEN_TOLD],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=log,
        stderr=log,
    )
    try:
        seeded = call_in_subprocess(
            "tests.kit.browser:prepare", env, demo, seed, shift.total_seconds()
        )
    except BaseException:
        process.kill()
        process.wait(timeout=10)
        log.close()
        raise
    assert process.stdin is not None
    process.stdin.write(b"go\n")
    process.stdin.close()
    deadline = time.monotonic() + 60  # generous: CI machines can be busy
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            process.wait(timeout=10)
            log.close()
            pytest.fail(f"the server did not start:\n{(folder / 'server.log').read_text()}")
        time.sleep(0.1)  # waiting for a process to listen, not for time to pass in a rule
    try:
        yield Server(base, folder, env, smtp, seeded)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@contextlib.contextmanager
def smtp_on_loopback() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) for a module's server, recording what it receives."""
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


def mails_to(smtp: SmtpServer, address: str) -> list[str]:
    """The decoded text parts of each message the SMTP server received for ``address``."""
    import email
    from email import policy

    found = []
    for envelope in smtp.messages:
        if address not in envelope.rcpt_tos:
            continue
        message = email.message_from_bytes(bytes(envelope.content), policy=policy.default)
        parts = message.walk() if message.is_multipart() else [message]
        found.append(
            "\n".join(
                part.get_content()  # type: ignore[union-attr]
                for part in parts
                if part.get_content_maintype() == "text"
            )
        )
    return found


# --- pages ---------------------------------------------------------------------------------


class Pages:
    """Opens pages in fresh browser contexts of one Chromium; screenshots them on failure."""

    def __init__(self, browser: Any, name: str) -> None:
        self.browser = browser
        self.name = re.sub(r"[^\w.-]+", "_", name)  # a parametrised id makes a safe file name
        self.opened: list[Any] = []

    def open(self, viewport: str = "desktop", locale: str = "zh-CN", **context: Any) -> Any:
        options: dict[str, Any] = {"viewport": VIEWPORTS[viewport], "locale": locale}
        if viewport == "phone":
            options.update(is_mobile=True, has_touch=True)
        options.update(context)
        page = self.browser.new_context(**options).new_page()
        page.set_default_timeout(BROWSER_TIMEOUT_MS)
        self.opened.append(page)
        return page

    def screenshot_all(self) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for index, page in enumerate(self.opened):
            suffix = "" if index == 0 else f"-{index + 1}"
            with contextlib.suppress(Exception):  # a crashed page must not hide the failure
                page.screenshot(path=str(SCREENSHOTS / f"{self.name}{suffix}.png"), full_page=True)

    def close(self) -> None:
        for page in self.opened:
            with contextlib.suppress(Exception):
                page.context.close()


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """The system Chromium through Playwright (sync API)."""
    from playwright.sync_api import sync_playwright

    require_browser()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def pages_for(request: pytest.FixtureRequest, browser: Any) -> Iterator[Pages]:
    """Pages for one test; each is screenshot if the test did not pass."""
    pages = Pages(browser, request.node.name)
    try:
        yield pages
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is None or report.failed:
            pages.screenshot_all()
        pages.close()


def fits_the_screen(page: Any) -> bool:
    """No sideways scrolling."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def log_in(page: Any, base: str, username: str, password: str | None = None) -> None:
    """Log in through the login form (the demo password unless told)."""
    from facilities.demo import DEMO_PASSWORD

    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password or DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{username} could not log in"
