"""Saved filters (``saved_filter``): a list's filters a person keeps under a name, optionally
shared. The unique index over (user, list_key, name) is the next migration (Piccolo runs a
migration's raw steps before the tables it adds)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    Boolean,
    ForeignKey,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T09:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "saved_filter"


class StaffUser(Table, tablename="staff_user", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


def _params(**values):
    params = {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    params.update(values)
    return params


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="accounts", description=DESCRIPTION)

    manager.add_table(class_name="SavedFilter", tablename="saved_filter", schema=None, columns=None)
    columns = [
        ("id", Serial, _params(primary_key=True)),
        (
            "user",
            ForeignKey,
            _params(
                references=StaffUser,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                target_column=None,
            ),
        ),
        ("list_key", Varchar, _params(length=32, default="")),
        ("name", Varchar, _params(length=80, default="")),
        ("query", Text, _params(default="")),
        ("is_shared", Boolean, _params(default=False)),
        ("created_at", Timestamptz, _params(default=TimestamptzNow())),
    ]
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name="SavedFilter",
            tablename="saved_filter",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )

    return manager
