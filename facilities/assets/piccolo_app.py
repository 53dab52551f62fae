"""Piccolo app config for assets."""

import os

from piccolo.conf.apps import AppConfig

from facilities.assets.tables import Asset, Component, Site

APP_CONFIG = AppConfig(
    app_name="assets",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Site, Asset, Component],
    migration_dependencies=["facilities.accounts.piccolo_app"],
    commands=[],
)
