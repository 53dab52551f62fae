"""Piccolo app config for accounts."""

import os

from piccolo.conf.apps import AppConfig

from facilities.accounts.tables import (
    ApiToken,
    RateLimitBucket,
    SavedFilter,
    Session,
    StaffUser,
    SubmissionRecord,
)

APP_CONFIG = AppConfig(
    app_name="accounts",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[StaffUser, Session, ApiToken, RateLimitBucket, SubmissionRecord, SavedFilter],
    migration_dependencies=[],
    commands=[],
)
