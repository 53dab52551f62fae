"""A person's saved filter names are unique per list: a unique index over (user, list_key,
name), in plain SQL for SQLite and PostgreSQL alike (Piccolo declares no composite unique key).
``user`` is quoted: it is a reserved word in PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T09:40:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "saved_filter unique (user, list_key, name)"


async def create_unique_name() -> None:
    from facilities.accounts.tables import SavedFilter

    await SavedFilter.raw(
        "CREATE UNIQUE INDEX IF NOT EXISTS saved_filter_user_list_name "
        'ON saved_filter ("user", list_key, name)'
    )


async def drop_unique_name() -> None:
    from facilities.accounts.tables import SavedFilter

    await SavedFilter.raw("DROP INDEX IF EXISTS saved_filter_user_list_name")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="accounts", description=DESCRIPTION)
    manager.add_raw(create_unique_name)
    manager.add_raw_backwards(drop_unique_name)
    return manager
