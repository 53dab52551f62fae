"""``/readyz``: ready only when the database answers and no migration is pending."""

from __future__ import annotations

import dataclasses

import asyncpg
import pytest
from piccolo.apps.migrations.tables import Migration

from facilities import db
from facilities.app import create_app
from facilities.migrations import pending_migrations
from tests.kit.clients import client_for_app
from tests.kit.database import on_postgres
from tests.kit.servers import free_port


async def test_ready_on_a_migrated_database(anon):
    assert await pending_migrations() == 0
    response = await anon.get("/readyz")
    assert (response.status_code, response.text) == (200, "ready")
    assert (await anon.get("/healthz")).status_code == 200


@pytest.fixture
async def one_migration_forgotten(settings):
    """Delete the newest row of Piccolo's ``migration`` table; put it back afterwards (on
    PostgreSQL the session's database is shared by every test)."""
    newest = await Migration.objects().order_by(Migration.id, ascending=False).first()
    assert newest is not None
    await Migration.delete().where(Migration.id == newest.id)
    try:
        yield newest
    finally:
        if on_postgres():
            conn = await asyncpg.connect(settings.database_url)
            try:
                await conn.execute(
                    "INSERT INTO migration (id, app_name, name, ran_on) VALUES ($1, $2, $3, $4)",
                    newest.id,
                    newest.app_name,
                    newest.name,
                    newest.ran_on,
                )
            finally:
                await conn.close()


async def test_not_ready_while_a_migration_is_pending(anon, one_migration_forgotten):
    assert await pending_migrations() == 1
    response = await anon.get("/readyz")
    assert response.status_code == 503
    assert response.text == "1 migration(s) pending"
    assert (await anon.get("/healthz")).status_code == 200  # alive, just not ready


async def test_not_ready_when_the_database_is_unreachable(settings, clock):
    """A PostgreSQL URL to a closed port on loopback fails fast on either test engine."""
    closed = f"postgres://postgres@127.0.0.1:{free_port()}/facilities"
    application = create_app(dataclasses.replace(settings, database_url=closed), clock=clock)
    try:
        async with client_for_app(application) as client:
            response = await client.get("/readyz")
            assert (response.status_code, response.text) == (503, "database unreachable")
            assert (await client.get("/healthz")).status_code == 200
    finally:
        db.configure(settings.database_url)
