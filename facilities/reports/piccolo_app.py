"""Piccolo app config for reports."""

import os

from piccolo.conf.apps import AppConfig

from facilities.reports.tables import Open311Key, ReportPhoto, ServiceRequest

APP_CONFIG = AppConfig(
    app_name="reports",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Open311Key, ServiceRequest, ReportPhoto],
    migration_dependencies=[
        "facilities.accounts.piccolo_app",
        "facilities.assets.piccolo_app",
        "facilities.tickets.piccolo_app",
        "facilities.closures.piccolo_app",
    ],
    commands=[],
)
