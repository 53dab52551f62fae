"""Inspection services: the only code that writes the inspection tables. Callers write
``from facilities.inspections import services`` and use the names re-exported here.

One module per sub-domain, each importing only those above it in this list:

- ``common``: open states and the occurrence key shared below
- ``teams``: teams and checklist templates
- ``schedules``: schedules, their next due date, preview and status
- ``seasons``: the seasonal policy (flood season, pre-holiday windows)
- ``raising_engines``: the SQL that raises a batch, one path per database engine
- ``raising``: ``raise_due``, exactly once per occurrence, and pre-holiday inspections
- ``safety``: the checks before review and sign-off (issue 16): a chosen recommendation, a
  reason for "no restriction" at grade D/E (flagged to supervisors), every component scored
- ``records``: planning by hand and the inspector's steps, reading a record back
- ``intervals``: intervals shortened by a grade D and restored by a better one
- ``proposals``: closures the rules propose, and the decision on each (made by closures)
- ``rules``: what a final inspection sets off, and the firings
- ``history``: an asset's grades, closure recommendations, the reopening gate's reads
- ``finding_tickets``: a finding to its repair ticket
- ``report_contents``: what an inspection report shows, gathered in one read
- ``report_archive``: the report filed on finalisation, served as filed, verified by SHA-256
- ``finalising``: grade, tickets and rules when a reviewer signs an inspection off
- ``reminders``: reminders and escalation of open inspections
- ``policy_editing``: teams, checklist templates and rules, read and changed (the API)
- ``policy_defaults``: seeding the default policy, default schedules for an asset
- ``calendar``: calendar entries and the team feed token
- ``asset_closures``: the closures over an asset, plugged in by the app (closures sit above)
"""

from facilities.inspections.services.asset_closures import closures_of_asset, use_closure_source
from facilities.inspections.services.calendar import (
    CalendarEntry,
    calendar_entries,
    team_token,
    team_token_ok,
)
from facilities.inspections.services.common import OPEN_STATES, occurrence_key
from facilities.inspections.services.finalising import finalise
from facilities.inspections.services.finding_tickets import finding_to_ticket
from facilities.inspections.services.history import (
    audit_trail,
    grade_history,
    latest_acceptance,
    open_direct_control_findings,
    recommendation_closures,
)
from facilities.inspections.services.intervals import (
    SHORTENED,
    describe_shortening,
    shortening_reason,
)
from facilities.inspections.services.intervals import (
    _shorten_intervals as _shorten_intervals,  # read by a test
)
from facilities.inspections.services.policy_defaults import apply_default_schedules, ensure_policy
from facilities.inspections.services.policy_editing import (
    create_checklist,
    create_team,
    get_checklist,
    get_rule,
    get_team,
    list_checklist_rows,
    list_rule_rows,
    list_team_rows,
    update_checklist,
    update_rule,
    update_team,
)
from facilities.inspections.services.proposals import (
    APPROVED,
    DISMISSED,
    PROPOSED,
    decide_proposal,
    list_proposals,
    proposal_for_closure,
)
from facilities.inspections.services.raising import RaiseResult, raise_due
from facilities.inspections.services.records import (
    add_finding,
    add_photo,
    answers_of,
    conditions_of,
    create_inspection,
    get_finding,
    get_inspection,
    get_photo,
    list_findings,
    list_inspections,
    photos_of,
    save_and_submit,
    save_record,
    start,
    submit,
)
from facilities.inspections.services.reminders import ESCALATE_TO_SUPERVISOR_AFTER, send_reminders
from facilities.inspections.services.report_archive import (
    Verification,
    archive_report,
    filed_bytes,
    filed_report,
    preview_report,
    report_filer,
    verify_report,
)
from facilities.inspections.services.rules import (
    DEFAULT_RULES,
    ensure_rules,
    evaluate_rules,
    list_firings,
    list_firings_for_inspection,
)
from facilities.inspections.services.safety import (
    FLAGGED_GRADES,
    Coverage,
    coverage,
    grade_inspection,
)
from facilities.inspections.services.schedules import (
    DUE_SOON,
    create_schedule,
    effective_rule,
    first_due,
    get_schedule,
    list_schedules,
    overdue_schedules,
    preview,
    schedule_snapshot,
    schedule_status,
    update_schedule,
)
from facilities.inspections.services.schedules import (
    _valid_rule as _valid_rule,  # read by a test
)
from facilities.inspections.services.seasons import (
    SEASONAL_RULE,
    is_seasonal,
    seasonal_note,
    seasonal_policy,
)
from facilities.inspections.services.teams import (
    checklist_items,
    find_team,
    list_checklists,
    list_teams,
    may_work_on,
)
from facilities.lib import recurrence as recurrence  # a test reads services.recurrence
from facilities.records import MAX_ID

__all__ = [
    "APPROVED",
    "DEFAULT_RULES",
    "DISMISSED",
    "DUE_SOON",
    "ESCALATE_TO_SUPERVISOR_AFTER",
    "FLAGGED_GRADES",
    "MAX_ID",
    "OPEN_STATES",
    "PROPOSED",
    "SEASONAL_RULE",
    "SHORTENED",
    "CalendarEntry",
    "Coverage",
    "RaiseResult",
    "Verification",
    "add_finding",
    "add_photo",
    "answers_of",
    "apply_default_schedules",
    "archive_report",
    "audit_trail",
    "calendar_entries",
    "checklist_items",
    "closures_of_asset",
    "conditions_of",
    "coverage",
    "create_checklist",
    "create_inspection",
    "create_schedule",
    "create_team",
    "decide_proposal",
    "describe_shortening",
    "effective_rule",
    "ensure_policy",
    "ensure_rules",
    "evaluate_rules",
    "filed_bytes",
    "filed_report",
    "finalise",
    "find_team",
    "finding_to_ticket",
    "first_due",
    "get_checklist",
    "get_finding",
    "get_inspection",
    "get_photo",
    "get_rule",
    "get_schedule",
    "get_team",
    "grade_history",
    "grade_inspection",
    "is_seasonal",
    "latest_acceptance",
    "list_checklist_rows",
    "list_checklists",
    "list_findings",
    "list_firings",
    "list_firings_for_inspection",
    "list_inspections",
    "list_proposals",
    "list_rule_rows",
    "list_schedules",
    "list_team_rows",
    "list_teams",
    "may_work_on",
    "occurrence_key",
    "open_direct_control_findings",
    "overdue_schedules",
    "photos_of",
    "preview",
    "preview_report",
    "proposal_for_closure",
    "raise_due",
    "recommendation_closures",
    "report_filer",
    "save_and_submit",
    "save_record",
    "schedule_snapshot",
    "schedule_status",
    "seasonal_note",
    "seasonal_policy",
    "send_reminders",
    "shortening_reason",
    "start",
    "submit",
    "team_token",
    "team_token_ok",
    "update_checklist",
    "update_rule",
    "update_schedule",
    "update_team",
    "use_closure_source",
    "verify_report",
]
