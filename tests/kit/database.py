"""The test database: which engine (``on_postgres``), migrating a fresh one, and
``database_state`` (everything a route could write, to prove a refusal wrote nothing)."""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import pytest

from facilities import db

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def on_postgres() -> bool:
    return bool(PG_URL)


async def migrate() -> None:
    """Every app's migrations, forwards."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="all", migration_id="all", fake=False)
    assert result.success, result.message


def admin_dsn(url: str) -> tuple[str, str]:
    """The maintenance database's URL beside ``url``, and the name of ``url``'s database."""
    base, _, name = url.rpartition("/")
    return base + "/postgres", name


def uses_the_database(item: pytest.Item) -> bool:
    """Whether a collected test touches the database (on PostgreSQL only those run)."""
    names = set(getattr(item, "fixturenames", ()))
    return bool(names & {"database_url", "database_template", "postgres_only"}) or bool(
        item.get_closest_marker("postgres_only")
    )


@functools.cache
def _state_query() -> tuple[Any, str]:
    """One query reading every table a staff route could write (sessions, rate-limit windows
    and the scheduler's own rows aside), each as a JSON array of its rows in id order: the
    matrix takes this snapshot a few hundred times, so one round trip instead of one per table."""
    skipped = {"staff_session", "rate_limit_bucket", "job_run", "scheduled_job"}
    tables = [t for t in db.all_tables() if t._meta.tablename not in skipped]
    parts = []
    # The names below come from the tables' own metadata, never from input.
    for table in tables:
        name = table._meta.tablename
        if on_postgres():
            rows = f"SELECT COALESCE(json_agg(t ORDER BY t.id)::text, '[]') FROM \"{name}\" t"  # noqa: S608
        else:
            pairs = ", ".join(
                f"'{c._meta.db_column_name}', \"{c._meta.db_column_name}\""
                for c in table._meta.columns
            )
            rows = (
                f"SELECT COALESCE(json_group_array(json_object({pairs})), '[]') "  # noqa: S608
                f'FROM (SELECT * FROM "{name}" ORDER BY id)'
            )
        parts.append(f"SELECT '{name}' AS name, ({rows}) AS rows")
    return tables[0], " UNION ALL ".join(parts)


async def database_state() -> dict[str, Any]:
    """Everything a staff route could write, to prove a refusal wrote nothing."""
    table, query = _state_query()
    return {row["name"]: json.loads(row["rows"]) for row in await table.raw(query)}
