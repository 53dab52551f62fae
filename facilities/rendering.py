"""What every template may use, and the one call that sets rendering up.

Pages and e-mails render in two kinds of process (the web app and the scheduler), so both call
:func:`configure_rendering`: one Jinja environment with the choices and helpers below, and the
outbox given the e-mail renderer. It reads every domain's choices, so it sits above them.
"""

from __future__ import annotations

from jinja2 import Environment

from facilities.accounts import labels as account_labels
from facilities.accounts.choices import Perm, Role
from facilities.accounts.permissions import can
from facilities.assets import choices as asset_choices
from facilities.assets import labels as asset_labels
from facilities.audit import display as audit_display
from facilities.audit.choices import action_label
from facilities.closures import choices as closure_choices
from facilities.closures import labels as closure_labels
from facilities.inspections import choices as inspection_choices
from facilities.inspections import labels as inspection_labels
from facilities.inspections import services as inspection_services
from facilities.notifications import services as notifications
from facilities.notifications.choices import Status as NotificationStatus
from facilities.public import wording
from facilities.reports import labels as report_labels
from facilities.settings import Settings
from facilities.tickets import choices as ticket_choices
from facilities.tickets import labels as ticket_labels
from facilities.web import forms, templating
from facilities.web.maps import map_config


def template_globals(settings: Settings) -> dict[str, object]:
    """What every template (page or e-mail, in the web or the scheduler process) may use."""
    return {
        "base_url": settings.base_url,
        "submission_key": forms.new_submission_key,
        "audit_label": action_label,
        "audit_changes": audit_display.changes,
        "closure_missing_english": closure_labels.missing_english,
        "TicketStatus": ticket_choices.Status,
        "TicketAction": ticket_choices.Action,
        "TicketSource": ticket_choices.Source,
        "Priority": ticket_choices.Priority,
        "WorkClass": ticket_choices.WorkClass,
        "ClosingReason": ticket_choices.ClosingReason,
        "PhotoTag": ticket_choices.PhotoTag,
        "CostKind": ticket_choices.CostKind,
        "TICKET_STATUS_COLOURS": ticket_choices.STATUS_COLOURS,
        "PRIORITY_COLOURS": ticket_choices.PRIORITY_COLOURS,
        "board_columns": ticket_choices.BOARD_COLUMNS,
        "describe_shortening": inspection_services.describe_shortening,
        "notice_preview": wording.notice_preview,
        "map_config": map_config,  # map_config(request): the settings every map element carries
        "entry_preview": wording.entry_preview,
        "InspectionType": inspection_choices.InspectionType,
        "InspectionState": inspection_choices.State,
        "InspectionTrigger": inspection_choices.Trigger,
        "Anchor": inspection_choices.Anchor,
        "ScheduleStatus": inspection_choices.ScheduleStatus,
        "Recommendation": inspection_choices.Recommendation,
        "Severity": inspection_choices.Severity,
        "Urgency": inspection_choices.Urgency,
        "DefectType": inspection_choices.DefectType,
        "FindingStatus": inspection_choices.FindingStatus,
        "Weather": inspection_choices.Weather,
        "Answer": inspection_choices.Answer,
        "seasonal_note": inspection_services.seasonal_note,
        "ClosureScope": closure_choices.Scope,
        "ClosureStatus": closure_choices.Status,
        "ClosureReason": closure_choices.Reason,
        "SafetyMeasure": closure_choices.SafetyMeasure,
        "Precision": closure_choices.Precision,
        "NoticeState": closure_choices.NoticeState,
        "NoticeSource": closure_choices.NoticeSource,
        "PublicProgress": closure_choices.PublicProgress,
        "can": can,
        "Perm": Perm,
        "Role": Role,
        "AssetType": asset_choices.AssetType,
        "SiteKind": asset_choices.SiteKind,
        "StructureType": asset_choices.StructureType,
        "Material": asset_choices.Material,
        "MaintenanceClass": asset_choices.MaintenanceClass,
        "MaintenanceGrade": asset_choices.MaintenanceGrade,
        "ConditionGrade": asset_choices.ConditionGrade,
        "Lifecycle": asset_choices.Lifecycle,
        "OperationalStatus": asset_choices.OperationalStatus,
        "ComponentKind": asset_choices.ComponentKind,
        "ComponentGroup": asset_choices.ComponentGroup,
        "GRADE_COLOURS": asset_choices.GRADE_COLOURS,
        "NotificationStatus": NotificationStatus,
    }


#: Every domain's description of its audited fields (each module describes its own on import);
#: named here so that histories read the same in the web and the scheduler processes.
AUDIT_DESCRIPTIONS = (
    account_labels,
    asset_labels,
    ticket_labels,
    inspection_labels,
    closure_labels,
    report_labels,
)


def configure_rendering(settings: Settings) -> Environment:
    """Configure the one Jinja environment (pages and e-mails) and hand the outbox its renderer."""
    env = templating.configure(settings.zone, template_globals(settings))
    notifications.use_renderer(templating.render_email)
    return env
