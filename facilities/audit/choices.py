"""Readable names of audit actions (the codes are stored; the names are translated on display)."""

from __future__ import annotations

from facilities.i18n import N_, gettext

ACTION_LABELS = {
    "user.created": N_("created the user"),
    "user.updated": N_("changed the user"),
    "user.login": N_("logged in"),
    "user.password_changed": N_("changed their password"),
    "user.password_reset": N_("reset the password"),
    "token.created": N_("created an API token"),
    "token.revoked": N_("revoked an API token"),
    "site.created": N_("created the site"),
    "site.updated": N_("changed the site"),
    "asset.created": N_("created the asset"),
    "asset.updated": N_("changed the asset"),
    "component.created": N_("added a component"),
    "component.updated": N_("changed a component"),
    "asset.graded": N_("graded the asset from a final inspection"),
    "schedule.created": N_("added an inspection schedule"),
    "schedule.updated": N_("changed an inspection schedule"),
    "schedule.shortened": N_("shortened an inspection schedule (a rule)"),
    "schedule.restored": N_("restored an inspection schedule's own interval"),
    "inspection.created": N_("planned the inspection"),
    "inspection.started": N_("started the inspection"),
    "inspection.recorded": N_("recorded the inspection"),
    "inspection.submitted": N_("submitted the inspection"),
    "inspection.finalised": N_("finalised the inspection"),
    "inspection.finalised_unscored": N_("finalised with components not scored"),
    "inspection.finding_added": N_("added a finding"),
    "inspection.finding_ticketed": N_("opened a ticket for a finding"),
    "inspection.photo_added": N_("added a photo"),
    "inspection.recommended": N_("changed the recommendation"),
    "inspection.flagged": N_("recommended no restriction at a poor grade"),
    "sla.updated": N_("changed the SLA policy"),
    "ticket.created": N_("opened the ticket"),
    "ticket.updated": N_("edited the ticket"),
    "ticket.commented": N_("commented"),
    "ticket.attached": N_("added a file"),
    "ticket.taken": N_("took the ticket"),
    "ticket.triage": N_("triaged"),
    "ticket.schedule": N_("scheduled the work"),
    "ticket.start": N_("started the work"),
    "ticket.complete": N_("completed the work"),
    "ticket.accept": N_("accepted the work"),
    "ticket.rework": N_("sent it back for rework"),
    "ticket.close": N_("closed the ticket"),
    "ticket.hold": N_("put it on hold"),
    "ticket.resume": N_("resumed the work"),
    "ticket.reject": N_("rejected the ticket"),
    "ticket.mark_duplicate": N_("marked it as a duplicate"),
    "ticket.cancel": N_("cancelled the ticket"),
    "report.created": N_("received the report"),
    "report.ticketed": N_("turned the report into a ticket"),
    "report.merged": N_("merged the report into a ticket"),
    "report.rejected": N_("rejected the report"),
    "report.not_ours": N_("marked the report as not our responsibility"),
    "report.covered": N_("answered the report with a closure notice"),
    "open311_key.created": N_("created an Open311 key"),
    "open311_key.revoked": N_("revoked an Open311 key"),
}


def action_label(code: str) -> str:
    """The translated name of an action code; an unknown code is shown as it is."""
    return gettext(ACTION_LABELS[code]) if code in ACTION_LABELS else code
