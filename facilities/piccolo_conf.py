"""Piccolo's configuration: the engine (from FACILITIES_DATABASE_URL) and the list of apps.

Order matters for migrations: an app comes after the apps its tables point to.
"""

from piccolo.conf.apps import AppRegistry

from facilities.db import make_engine, url_from_env

DB = make_engine(url_from_env())

APP_REGISTRY = AppRegistry(
    apps=[
        "facilities.accounts.piccolo_app",
        "facilities.audit.piccolo_app",
        "facilities.notifications.piccolo_app",
        "facilities.jobs.piccolo_app",
        "facilities.assets.piccolo_app",
        "facilities.tickets.piccolo_app",
        "facilities.inspections.piccolo_app",
        "facilities.closures.piccolo_app",
        "facilities.reports.piccolo_app",
    ]
)
