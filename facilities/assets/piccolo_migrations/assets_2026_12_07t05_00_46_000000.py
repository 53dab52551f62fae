"""Existing assets and sites with a latitude and longitude get the bounding box of their point;
their geometry (boundary) stays "" (the point is still ``lat``/``lng``). A separate migration because Piccolo
runs a migration's raw steps before the columns it adds. Plain SQL for SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T05:00:46:000000"
VERSION = "1.38.0"
DESCRIPTION = "asset and site bbox from existing lat/lng"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="assets", description=DESCRIPTION)

    async def fill_point_bboxes():
        from facilities.assets.tables import Asset

        for table in ("asset", "site"):
            await Asset.raw(
                f"UPDATE {table} SET bbox_west = lng, bbox_east = lng, "  # noqa: S608
                "bbox_south = lat, bbox_north = lat "
                "WHERE lat IS NOT NULL AND lng IS NOT NULL AND bbox_west IS NULL"
            )

    manager.add_raw(fill_point_bboxes)
    return manager
