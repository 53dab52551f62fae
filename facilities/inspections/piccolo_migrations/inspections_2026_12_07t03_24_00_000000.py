"""No default recommendation (issue 16): ``inspection.recommendation`` is "" until the inspector
chooses one, a draft's silently defaulted "none" is cleared, and three columns record the
safety checks: ``no_restriction_reason`` (why no restriction at grade D or E),
``flagged_grade`` (the grade at which that was flagged to the supervisors) and
``unscored_reason`` (why it was finalised with components left unscored).

Drafts (planned, in progress) lose their "none": nobody can tell a chosen "no restriction" from
the old default, so the inspector chooses again before submitting. Submitted and final
inspections keep theirs. The column's database default becomes "" on PostgreSQL (SQLite cannot
alter a default; every insert names the column anyway)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T03:24:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "inspection recommendation without default, safety-check reasons"


def _params(**overrides):
    params = {
        "default": "",
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    params.update(overrides)
    return params


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="inspections", description=DESCRIPTION)

    for name in ("no_restriction_reason", "unscored_reason"):
        manager.add_column(
            table_class_name="Inspection",
            tablename="inspection",
            column_name=name,
            db_column_name=name,
            column_class_name="Text",
            column_class=Text,
            params=_params(),
            schema=None,
        )
    manager.add_column(
        table_class_name="Inspection",
        tablename="inspection",
        column_name="flagged_grade",
        db_column_name="flagged_grade",
        column_class_name="Varchar",
        column_class=Varchar,
        params=_params(length=1, default=None, null=True),
        schema=None,
    )

    async def clear_defaulted_drafts():
        from piccolo.engine.postgres import PostgresEngine

        from facilities.inspections.tables import Inspection

        await Inspection.raw(
            "UPDATE inspection SET recommendation = '' "
            "WHERE state IN ('planned', 'in_progress') AND recommendation = 'none'"
        )
        if isinstance(Inspection._meta.db, PostgresEngine):
            await Inspection.raw(
                "ALTER TABLE inspection ALTER COLUMN recommendation SET DEFAULT ''"
            )

    manager.add_raw(clear_defaulted_drafts)
    return manager
