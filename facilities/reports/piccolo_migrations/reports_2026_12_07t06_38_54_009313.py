"""Issue 17: ``service_request.same_as``, the open report a citizen says is their problem too
("this is mine too", from the report pin); kept apart from ``follow_up_of`` (still broken)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete
from piccolo.columns.base import OnUpdate
from piccolo.columns.column_types import ForeignKey
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T06:38:54:009313"
VERSION = "1.38.0"
DESCRIPTION = "service_request.same_as"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="reports", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="ServiceRequest",
        tablename="service_request",
        column_name="same_as",
        db_column_name="same_as",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": "self",
            "on_delete": OnDelete.set_null,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
