"""Piccolo app config for inspections."""

import os

from piccolo.conf.apps import AppConfig

from facilities.inspections.tables import (
    ChecklistTemplate,
    ClosureProposal,
    ComponentCondition,
    DefaultSchedule,
    Finding,
    Inspection,
    InspectionPhoto,
    InspectionReport,
    InspectionSchedule,
    ReminderSent,
    Rule,
    RuleFiring,
    Team,
)

APP_CONFIG = AppConfig(
    app_name="inspections",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[
        Team,
        ChecklistTemplate,
        InspectionSchedule,
        Inspection,
        ComponentCondition,
        Finding,
        InspectionPhoto,
        InspectionReport,
        Rule,
        RuleFiring,
        ClosureProposal,
        ReminderSent,
        DefaultSchedule,
    ],
    migration_dependencies=["facilities.tickets.piccolo_app"],
    commands=[],
)
