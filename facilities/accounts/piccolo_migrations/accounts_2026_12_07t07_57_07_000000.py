"""Tokens made before scopes keep working: each gets every domain's read and write (its user's
role still limits it) and keeps having no expiry. The scope list is written out as it stood
when scopes came in, not read from the code, so a domain added later is not granted to them.
Plain SQL for SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T07:57:07:000000"
VERSION = "1.38.0"
DESCRIPTION = "full scopes for existing API tokens"

FULL_SCOPES = (
    "assets:write tickets:write inspections:write closures:write reports:write admin:write"
)


async def give_existing_tokens_full_scopes() -> None:
    from facilities.accounts.tables import ApiToken

    await ApiToken.raw("UPDATE api_token SET scopes = {} WHERE scopes = ''", FULL_SCOPES)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="accounts", description=DESCRIPTION)
    manager.add_raw(give_existing_tokens_full_scopes)
    return manager
