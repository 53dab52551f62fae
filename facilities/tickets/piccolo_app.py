"""Piccolo app config for tickets."""

import os

from piccolo.conf.apps import AppConfig

from facilities.tickets.tables import (
    Contractor,
    RepairTicket,
    SiteBudget,
    SlaPolicy,
    TicketAttachment,
    TicketComment,
    TicketCostLine,
)

APP_CONFIG = AppConfig(
    app_name="tickets",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[
        SlaPolicy,
        Contractor,
        RepairTicket,
        TicketComment,
        TicketAttachment,
        TicketCostLine,
        SiteBudget,
    ],
    migration_dependencies=["facilities.assets.piccolo_app", "facilities.accounts.piccolo_app"],
    commands=[],
)
