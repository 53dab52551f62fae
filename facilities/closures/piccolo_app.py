"""Piccolo app config for closures."""

import os

from piccolo.conf.apps import AppConfig

from facilities.closures.tables import (
    Closure,
    ClosurePromise,
    ClosureTicket,
    Cursor,
    NoticeUpdate,
    Subscription,
)

APP_CONFIG = AppConfig(
    app_name="closures",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Closure, ClosurePromise, ClosureTicket, NoticeUpdate, Subscription, Cursor],
    migration_dependencies=["facilities.inspections.piccolo_app"],
    commands=[],
)
