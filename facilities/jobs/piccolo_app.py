"""Piccolo app config for jobs."""

import os

from piccolo.conf.apps import AppConfig

from facilities.jobs.tables import JobRun, ScheduledJob

APP_CONFIG = AppConfig(
    app_name="jobs",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[JobRun, ScheduledJob],
    migration_dependencies=[],
    commands=[],
)
