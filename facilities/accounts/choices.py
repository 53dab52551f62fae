"""Roles and permissions: one table of who may do what, read by services and templates alike."""

from __future__ import annotations

from enum import StrEnum

from facilities.i18n import N_, gettext


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    INSPECTOR = "inspector"
    CREW = "crew"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        return gettext(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.ADMIN: N_("Administrator"),
    Role.SUPERVISOR: N_("Supervisor"),
    Role.INSPECTOR: N_("Inspector"),
    Role.CREW: N_("Repair crew"),
    Role.VIEWER: N_("Viewer"),
}


class Perm(StrEnum):
    """A capability. Add one here and grant it below; services call ``require(actor, perm)``."""

    ASSETS_VIEW = "assets.view"
    ASSETS_EDIT = "assets.edit"
    USERS_MANAGE = "users.manage"
    TOKENS_MANAGE = "tokens.manage"
    JOBS_VIEW = "jobs.view"
    JOBS_RUN = "jobs.run"
    TICKETS_VIEW = "tickets.view"
    TICKETS_CREATE = "tickets.create"
    TICKETS_EDIT = "tickets.edit"
    TICKETS_WORK = "tickets.work"  # comment, upload photos
    SLA_EDIT = "sla.edit"
    INSPECTIONS_VIEW = "inspections.view"
    INSPECTIONS_PLAN = "inspections.plan"  # raise by hand
    INSPECTIONS_RECORD = "inspections.record"
    INSPECTIONS_FINALISE = "inspections.finalise"
    SCHEDULES_EDIT = "schedules.edit"
    CLOSURES_VIEW = "closures.view"
    CLOSURES_EDIT = "closures.edit"
    CLOSURES_SIGN_OFF = "closures.sign_off"
    CLOSURES_OVERRIDE = "closures.override"  # lift without the gate, with a written reason
    NOTICES_PUBLISH = "notices.publish"
    REPORTS_TRIAGE = "reports.triage"
    OPEN311_KEYS = "open311.keys"


_ALL_STAFF = frozenset(Role)

GRANTS: dict[Perm, frozenset[Role]] = {
    Perm.ASSETS_VIEW: _ALL_STAFF,
    Perm.ASSETS_EDIT: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Perm.USERS_MANAGE: frozenset({Role.ADMIN}),
    Perm.TOKENS_MANAGE: frozenset({Role.ADMIN}),
    Perm.JOBS_VIEW: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Perm.JOBS_RUN: frozenset({Role.ADMIN}),
    Perm.TICKETS_VIEW: _ALL_STAFF,
    Perm.TICKETS_CREATE: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.INSPECTOR, Role.CREW}),
    Perm.TICKETS_EDIT: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Perm.TICKETS_WORK: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.INSPECTOR, Role.CREW}),
    Perm.SLA_EDIT: frozenset({Role.ADMIN}),
    Perm.INSPECTIONS_VIEW: _ALL_STAFF,
    Perm.INSPECTIONS_PLAN: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.INSPECTOR}),
    Perm.INSPECTIONS_RECORD: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.INSPECTOR}),
    Perm.INSPECTIONS_FINALISE: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Perm.SCHEDULES_EDIT: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Perm.CLOSURES_VIEW: _ALL_STAFF,
    Perm.CLOSURES_EDIT: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Perm.CLOSURES_SIGN_OFF: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Perm.CLOSURES_OVERRIDE: frozenset({Role.ADMIN}),
    Perm.NOTICES_PUBLISH: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Perm.REPORTS_TRIAGE: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.INSPECTOR}),
    Perm.OPEN311_KEYS: frozenset({Role.ADMIN}),
}
