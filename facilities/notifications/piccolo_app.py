"""Piccolo app config for notifications."""

import os

from piccolo.conf.apps import AppConfig

from facilities.notifications.tables import DigestItem, Notification, NotificationPreference

APP_CONFIG = AppConfig(
    app_name="notifications",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Notification, NotificationPreference, DigestItem],
    migration_dependencies=["facilities.accounts.piccolo_app"],
    commands=[],
)
