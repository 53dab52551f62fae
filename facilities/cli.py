"""The ``facilities`` command: serve, migrate, demo, createuser, import/export assets."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from facilities import db
from facilities.app import configure_process
from facilities.migrations import pending_migrations  # noqa: F401  (kept importable here)
from facilities.settings import Settings, SettingsError

T = TypeVar("T")


def _settings() -> Settings:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    # The same set-up as the web app and the scheduler (database, the domains plugged into each
    # other, the outbox's renderer): loading the demo or importing assets writes e-mails too.
    configure_process(settings)
    return settings


def _run(factory: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(factory())  # type: ignore[arg-type]


@click.group()
def main() -> None:
    """Maintenance ticketing for public facilities."""


#: uvicorn's HTTP/1.1 parser for every server this project starts (``facilities serve``, and so
#: the browser tests and benchmarks): httptools, a C parser (a pyproject dependency), needs less
#: than half of pure-Python h11's server CPU per request (bench/README.md, public_http.py).
#: Named, not left to uvicorn's "auto", so a missing install fails loudly instead of silently
#: serving at half speed.
HTTP_PARSER = "httptools"


@main.command()
@click.option("--host", default=None, help="Bind address (default FACILITIES_HOST)")
@click.option("--port", default=None, type=int, help="Port (default FACILITIES_PORT)")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Web worker processes",
)
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the web app (with the embedded scheduler when FACILITIES_SCHEDULER_EMBEDDED)."""
    import uvicorn

    from facilities.demo import DEMO_PASSWORD

    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    if workers > 1 and settings.scheduler_embedded and settings.is_sqlite:
        click.echo(
            "note: with several workers only one runs the embedded scheduler (the others stand by)",
            err=True,
        )
    click.echo(f"\n  facilities is running at http://{host}:{port}/")
    click.echo(
        f"  staff login: http://{host}:{port}/login  (user admin, alice, bob, carol or dave; "
        f"password {DEMO_PASSWORD} if you loaded the demo)\n"
    )
    uvicorn.run(
        "facilities.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        http=HTTP_PARSER,
        log_level=settings.log_level.lower(),
    )


@main.command()
def migrate() -> None:
    """Apply every pending migration (safe to run again)."""
    _settings()
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = _run(lambda: run_forwards(app_name="all", migration_id="all", fake=False))
    if not result.success:
        raise click.ClickException(f"migration failed: {result.message}")
    click.echo("migrations applied")


@main.command()
@click.option("--force", is_flag=True, help="Load even when FACILITIES_ENV=production")
def demo(force: bool) -> None:
    """Load the demo story (idempotent: a second run adds nothing)."""
    settings = _settings()
    if settings.env == "production" and not force:
        raise click.ClickException("refusing to load demo users in production (use --force)")
    from facilities import demo as demo_data
    from facilities.lib.clock import utcnow

    added = _run(lambda: demo_data.load(utcnow(), settings.zone, settings.media_path))
    summary = ", ".join(f"{count} {kind}" for kind, count in added.items())
    click.echo(f"demo data loaded ({summary} added)")


@main.command()
@click.argument("username")
@click.option("--name", "display_name", default=None, help="Display name (default: username)")
@click.option("--email", default="", help="E-mail address")
@click.option(
    "--role",
    type=click.Choice(["admin", "supervisor", "inspector", "crew", "viewer"]),
    default="admin",
    show_default=True,
)
@click.option("--language", type=click.Choice(["zh_CN", "en"]), default="zh_CN", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
def createuser(
    username: str,
    display_name: str | None,
    email: str,
    role: str,
    language: str,
    password_stdin: bool,
) -> None:
    """Create a staff user."""
    _settings()
    from facilities.accounts import services as accounts
    from facilities.accounts.permissions import SYSTEM
    from facilities.accounts.schemas import UserCreate
    from facilities.errors import ValidationFailed
    from facilities.lib.clock import utcnow
    from facilities.lib.forms import parse_fields

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != password:
            raise click.ClickException("the passwords do not match")
    data, errors = parse_fields(
        UserCreate,
        {
            "username": username,
            "display_name": display_name or username,
            "email": email,
            "role": role,
            "language": language,
            "password": password,
        },
    )
    if data is None:
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in errors.items()))
    try:
        user = _run(lambda: accounts.create_user(SYSTEM, data, utcnow()))
    except ValidationFailed as exc:
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.errors.items())) from None
    click.echo(f"created {user.role} {user.username}")


@main.command("import-assets")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_assets(path: Path) -> None:
    """Create or update assets from a CSV file (the format of the export), or assets and their
    components from an Excel workbook (the web export's); all or nothing."""
    settings = _settings()
    from rich.progress import Progress

    from facilities.accounts.permissions import SYSTEM
    from facilities.assets import csvio
    from facilities.errors import ValidationFailed
    from facilities.lib.clock import utcnow
    from facilities.lib.xlsx import is_workbook

    if is_workbook(path.read_bytes()):
        _import_workbook(path, settings.max_upload_bytes)
        return
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:  # keep quoted line breaks
            rows = csvio.read_rows(handle.read())
    except (UnicodeDecodeError, ValidationFailed) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    with Progress(transient=False) as progress:
        task = progress.add_task("importing assets", total=len(rows))
        result = _run(
            lambda: csvio.import_rows(
                SYSTEM, rows, utcnow(), progress=lambda: progress.advance(task)
            )
        )
    if not result.ok:
        for line, field, message in result.errors[:50]:
            click.echo(f"line {line}, {field}: {message}", err=True)
        raise click.ClickException(f"{len(result.errors)} problem(s); nothing was imported")
    click.echo(f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged")


def _import_workbook(path: Path, max_bytes: int) -> None:
    """``import-assets`` for an xlsx: both sheets, checked first, in one transaction."""
    from facilities.accounts.permissions import SYSTEM
    from facilities.assets import importing
    from facilities.errors import ValidationFailed
    from facilities.lib.clock import utcnow

    try:
        upload = importing.read_file(path.read_bytes(), max_bytes)
    except ValidationFailed as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    report = _run(lambda: importing.import_upload(SYSTEM, upload, utcnow(), dry_run=False))
    if not report.ok:
        for sheet, result in (("assets", report.assets), ("components", report.components)):
            for line, field, message in result.errors[:50]:
                click.echo(f"{sheet} row {line}, {field}: {message}", err=True)
        raise click.ClickException(f"{report.error_count} problem(s); nothing was imported")
    for sheet, result in (("assets", report.assets), ("components", report.components)):
        click.echo(
            f"{sheet}: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged"
        )


@main.command("export-assets")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
def export_assets(path: Path | None) -> None:
    """Write every asset as CSV to PATH (or standard output)."""
    _settings()
    from facilities.accounts.permissions import SYSTEM
    from facilities.assets import csvio
    from facilities.assets import services as assets
    from facilities.assets.schemas import AssetFilters
    from facilities.lib.clock import utcnow

    async def collect() -> list[str]:
        return [
            line
            async for line in csvio.export_lines(
                assets.iter_assets(SYSTEM, AssetFilters(), utcnow())
            )
        ]

    text = "".join(_run(collect))
    if path:
        path.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup(path: Path) -> None:
    """Copy the SQLite database to PATH while the app runs (SQLite's online backup).

    On PostgreSQL use pg_dump (see the README's "Backup and restore")."""
    settings = _settings()
    if not settings.is_sqlite:
        raise click.ClickException(
            'on PostgreSQL use: pg_dump --format=custom --file=FILE "$FACILITIES_DATABASE_URL"'
        )
    from facilities import maintenance

    pages = maintenance.backup_sqlite(db.sqlite_path(settings.database_url), path)
    click.echo(f"backed up {pages} pages to {path}")


class DatabaseInUse(click.ClickException):
    """``facilities restore`` refused: the database is in use (exit code 3, as a second
    scheduler's)."""

    exit_code = 3


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the current database without asking")
@click.option(
    "--force",
    is_flag=True,
    help="Restore even while the database is in use (the running processes may lose changes)",
)
def restore(path: Path, yes: bool, force: bool) -> None:
    """Replace the SQLite database with the backup at PATH (stop the app first).

    Refuses while the database is in use (a web process, a scheduler or another program has it
    open) unless --force. On PostgreSQL use pg_restore (see the README's "Backup and restore")."""
    settings = _settings()
    if not settings.is_sqlite:
        raise click.ClickException(
            "on PostgreSQL use: pg_restore --clean --if-exists "
            '--dbname="$FACILITIES_DATABASE_URL" FILE'
        )
    from facilities import maintenance

    target = db.sqlite_path(settings.database_url)
    if not yes:
        click.confirm(f"Replace {target} with {path}?", abort=True)
    try:
        maintenance.restore_sqlite(path, target, force=force)
    except maintenance.NotABackup as exc:
        raise click.ClickException(str(exc)) from None
    except maintenance.DatabaseInUse as exc:
        raise DatabaseInUse(
            f"{exc}. Stop the web app and the scheduler, then run restore again; "
            "or pass --force to restore anyway (the running processes may lose changes)."
        ) from None
    click.echo(f"restored {target} from {path}")


@main.command()
@click.argument("args", nargs=-1)
def scheduler(args: Any) -> None:
    """Run the scheduler in this process (same as ``python -m scheduler``)."""
    from scheduler.__main__ import main as scheduler_main

    sys.exit(scheduler_main(list(args)))


if __name__ == "__main__":
    main()
