"""The permission matrix: every staff route with the personas that may use it (``MATRIX``), and
every route open to everyone with what an anonymous call answers (``PUBLIC``).

The services are the authority (``require(actor, Perm...)`` in each domain's services, GRANTS
in facilities/accounts/choices.py, the transition roles in facilities/tickets/choices.py); this
table restates them route by route, so a changed grant or a forgotten check fails a case in
test_permission_matrix.py."""

from __future__ import annotations

from typing import Any

from facilities.accounts.tables import SavedFilter
from facilities.closures.tables import Closure
from facilities.inspections.tables import Inspection
from facilities.tickets.tables import RepairTicket
from tests.kit import admin_api_world as admin_api
from tests.kit.import_bodies import import_check, import_confirm
from tests.kit.money import (
    budget_body,
    contracted_ticket,
    contractor_api_new,
    contractor_edit,
    contractor_new,
    fresh_line,
    line_body,
)
from tests.kit.permission_world import (
    SLA_FORM,
    Body,
    Rule,
    World,
    asset_api_form,
    asset_form,
    asset_update,
    at,
    attachment,
    closure_edit,
    closure_edit_form,
    closure_new,
    closure_new_form,
    closure_on_asset,
    comment,
    completed_ticket,
    component_form,
    component_update,
    defaults,
    draft_update,
    extension,
    finding_new,
    fixed,
    form,
    inspection_assigned,
    inspection_new,
    inspection_photo,
    key_form,
    link,
    linked_closure,
    merge,
    new_report,
    notice,
    open_finding,
    open_gate_closure,
    password_form,
    planned_inspection,
    proposal,
    record_api,
    record_form,
    schedule_edit,
    schedule_new,
    scheduled_ticket,
    site_api_form,
    site_form,
    site_update,
    started_inspection,
    submitted_inspection,
    ticket_assigned,
    ticket_edit,
    ticket_new,
    token_form,
    triage,
    triaged_ticket,
    unassigned_ticket,
    unfiled_final_inspection,
    user_form,
    user_update,
    verified_closure,
    versioned,
)


def board_move(to: str) -> Body:
    """A card of the fresh ticket moved to the column ``to`` (tickets/board_pages.py)."""
    version = versioned(RepairTicket, to=to)

    async def body(world: World, who: str) -> dict[str, Any]:
        return {"ticket_id": world["fresh"], **await version(world, who)}

    return body


async def bulk_preview(world: World, who: str) -> dict[str, Any]:
    """The world's ticket selected on the list, to be set to P0 (tickets/bulk_pages.py)."""
    return {"ticket": str(world.ticket), "action": "priority", "priority": "P0"}


async def bulk_confirm(world: World, who: str) -> dict[str, Any]:
    """The preview's confirm form: the world's ticket at its version now, given a priority it
    does not have."""
    row = await RepairTicket.select(RepairTicket.version, RepairTicket.priority).where(
        RepairTicket.id == world.ticket
    )
    priority = "P3" if row[0]["priority"] == "P0" else "P0"
    item = f"{world.ticket}:{row[0]['version']}"
    return {"item": item, "action": "priority", "priority": priority}


async def saved_filter_form(world: World, who: str) -> dict[str, Any]:
    return {"list": "tickets", "name": f"矩阵筛选-{who}", "query": "priority=P1&bogus=1"}


async def shared_filter(world: World) -> int:
    """A filter alice shares: she (its owner) and the admin may delete it, nobody else."""
    from facilities.accounts import saved_filters
    from facilities.tickets.schemas import TicketFilters

    saved = await saved_filters.save_filter(
        world.actors["alice"],
        "tickets",
        TicketFilters,
        f"矩阵共享-{await SavedFilter.count()}",
        "priority=P0",
        world.now,
        shared=True,
    )
    return int(saved.id)


# Who may use a route, by persona: admin, alice (supervisor), bob (inspector), carol (crew),
# dave (viewer). The grants behind each set are in facilities/accounts/choices.py.
STAFF = frozenset({"admin", "alice", "bob", "carol", "dave"})  # *.view
EDITORS = frozenset({"admin", "alice"})  # assets/tickets/closures edit, schedules, sign-off,
# notices, finalising inspections, the job list
ADMINS = frozenset({"admin"})  # users, API tokens, the SLA policy, Open311 keys
CREATORS = frozenset({"admin", "alice", "bob", "carol"})  # tickets.create, tickets.work
WORKERS = frozenset({"admin", "alice", "carol"})  # the ticket's "start" (tickets/choices.py),
# on a ticket assigned to carol (crew act only on work assigned to them or their team)
TAKERS = frozenset({"carol"})  # "Take it": crew take an unassigned ticket; supervisors assign
INSPECTORS = frozenset({"admin", "alice", "bob"})  # inspections.plan/record, reports.triage
JOB_VIEWERS = EDITORS


# Every staff route: "METHOD path-as-declared" -> Rule. test_matrix_covers_every_route fails
# when the app has a staff route missing here (or this table names a route that is gone).
MATRIX: dict[str, Rule] = {
    # assets, sites and components: everyone sees, supervisors and admins change
    # each role's home (facilities/homes), where the login lands
    "GET /staff": Rule(STAFF, at("/staff")),
    "GET /assets": Rule(STAFF, at("/assets")),
    "GET /assets/map": Rule(STAFF, at("/assets/map")),
    "GET /assets/map.json": Rule(STAFF, at("/assets/map.json")),
    "GET /assets/export.csv": Rule(STAFF, at("/assets/export.csv")),
    "GET /assets/export.xlsx": Rule(STAFF, at("/assets/export.xlsx")),
    "GET /assets/import": Rule(EDITORS, at("/assets/import")),
    "POST /assets/import": Rule(EDITORS, at("/assets/import"), import_check, writes=False),
    "POST /assets/import/confirm": Rule(EDITORS, at("/assets/import/confirm"), import_confirm, 303),
    "GET /assets/{asset_id:int}": Rule(STAFF, at("/assets/{asset}")),
    "GET /assets/new": Rule(EDITORS, at("/assets/new")),
    "POST /assets": Rule(EDITORS, at("/assets"), asset_form, 303),
    "GET /assets/{asset_id:int}/edit": Rule(EDITORS, at("/assets/{asset}/edit")),
    "POST /assets/{asset_id:int}": Rule(EDITORS, at("/assets/{asset}"), asset_update, 303),
    "GET /assets/{asset_id:int}/components/new": Rule(
        EDITORS, at("/assets/{asset}/components/new")
    ),
    "POST /assets/{asset_id:int}/components": Rule(
        EDITORS, at("/assets/{asset}/components"), component_form, 303
    ),
    "GET /assets/components/{component_id:int}/edit": Rule(
        EDITORS, at("/assets/components/{component}/edit")
    ),
    "POST /assets/components/{component_id:int}": Rule(
        EDITORS, at("/assets/components/{component}"), component_update, 303
    ),
    "GET /sites": Rule(STAFF, at("/sites")),
    "GET /sites/new": Rule(EDITORS, at("/sites/new")),
    "POST /sites": Rule(EDITORS, at("/sites"), site_form, 303),
    "GET /sites/{site_id:int}/edit": Rule(EDITORS, at("/sites/{site}/edit")),
    "GET /sites/{site_id:int}/labels.pdf": Rule(STAFF, at("/sites/{site}/labels.pdf")),
    "POST /sites/{site_id:int}": Rule(EDITORS, at("/sites/{site}"), site_update, 303),
    "GET /api/v1/assets": Rule(STAFF, at("/api/v1/assets")),
    "POST /api/v1/assets": Rule(EDITORS, at("/api/v1/assets"), asset_api_form, 201),
    "GET /api/v1/assets/{asset_id:int}": Rule(STAFF, at("/api/v1/assets/{asset}")),
    "PUT /api/v1/assets/{asset_id:int}": Rule(EDITORS, at("/api/v1/assets/{asset}"), asset_update),
    "GET /api/v1/assets/{asset_id:int}/components": Rule(
        STAFF, at("/api/v1/assets/{asset}/components")
    ),
    "POST /api/v1/assets/{asset_id:int}/components": Rule(
        EDITORS, at("/api/v1/assets/{asset}/components"), component_form, 201
    ),
    "GET /api/v1/components/{component_id:int}": Rule(STAFF, at("/api/v1/components/{component}")),
    "PUT /api/v1/components/{component_id:int}": Rule(
        EDITORS, at("/api/v1/components/{component}"), component_update
    ),
    "GET /api/v1/sites": Rule(STAFF, at("/api/v1/sites")),
    "POST /api/v1/sites": Rule(EDITORS, at("/api/v1/sites"), site_api_form, 201),
    "GET /api/v1/sites/{site_id:int}": Rule(STAFF, at("/api/v1/sites/{site}")),
    "PUT /api/v1/sites/{site_id:int}": Rule(EDITORS, at("/api/v1/sites/{site}"), site_update),
    # administration, the job list, one's own account
    "GET /admin/users": Rule(ADMINS, at("/admin/users")),
    "GET /admin/users/new": Rule(ADMINS, at("/admin/users/new")),
    "POST /admin/users": Rule(ADMINS, at("/admin/users"), user_form, 303),
    "GET /admin/users/{user_id:int}/edit": Rule(ADMINS, at("/admin/users/{user}/edit")),
    "POST /admin/users/{user_id:int}": Rule(ADMINS, at("/admin/users/{user}"), user_update, 303),
    "GET /admin/tokens": Rule(ADMINS, at("/admin/tokens")),
    "POST /admin/tokens": Rule(ADMINS, at("/admin/tokens"), token_form, 201),
    "POST /admin/tokens/{token_id:int}/revoke": Rule(
        ADMINS, at("/admin/tokens/{token}/revoke"), fixed({}), 303
    ),
    "GET /jobs": Rule(JOB_VIEWERS, at("/jobs")),
    # the users, tokens, SLA, policy-data and jobs API (tests/kit/admin_api_world.py)
    "GET /api/v1/me": Rule(STAFF, at("/api/v1/me")),
    "GET /api/v1/users": Rule(ADMINS, at("/api/v1/users")),
    "POST /api/v1/users": Rule(ADMINS, at("/api/v1/users"), admin_api.api_user_new, 201),
    "GET /api/v1/users/{user_id:int}": Rule(ADMINS, at("/api/v1/users/{user}")),
    "PUT /api/v1/users/{user_id:int}": Rule(
        ADMINS, at("/api/v1/users/{user}"), admin_api.api_user_update
    ),
    "POST /api/v1/users/{user_id:int}/deactivate": Rule(
        ADMINS,
        at("/api/v1/users/{fresh}/deactivate"),
        fixed({"version": 1}),
        fresh=admin_api.fresh_user,
    ),
    "GET /api/v1/tokens": Rule(STAFF, at("/api/v1/tokens")),
    "POST /api/v1/tokens": Rule(ADMINS, at("/api/v1/tokens"), admin_api.api_token_new, 201),
    "POST /api/v1/tokens/{token_id:int}/revoke": Rule(
        ADMINS, at("/api/v1/tokens/{fresh}/revoke"), fixed({}), fresh=admin_api.fresh_token
    ),
    "GET /api/v1/sla": Rule(STAFF, at("/api/v1/sla")),
    "PUT /api/v1/sla": Rule(ADMINS, at("/api/v1/sla"), admin_api.sla_policy),
    "GET /api/v1/teams": Rule(STAFF, at("/api/v1/teams")),
    "POST /api/v1/teams": Rule(EDITORS, at("/api/v1/teams"), admin_api.team_new, 201),
    "GET /api/v1/teams/{team_id:int}": Rule(STAFF, at("/api/v1/teams/{matrix_team}")),
    "PUT /api/v1/teams/{team_id:int}": Rule(
        EDITORS, at("/api/v1/teams/{matrix_team}"), admin_api.team_update
    ),
    "GET /api/v1/checklists": Rule(STAFF, at("/api/v1/checklists")),
    "POST /api/v1/checklists": Rule(
        EDITORS, at("/api/v1/checklists"), admin_api.checklist_new, 201
    ),
    "GET /api/v1/checklists/{checklist_id:int}": Rule(STAFF, at("/api/v1/checklists/{checklist}")),
    "PUT /api/v1/checklists/{checklist_id:int}": Rule(
        EDITORS, at("/api/v1/checklists/{checklist}"), admin_api.checklist_update
    ),
    "GET /api/v1/rules": Rule(STAFF, at("/api/v1/rules")),
    "GET /api/v1/rules/{rule_id:int}": Rule(STAFF, at("/api/v1/rules/{rule}")),
    "PUT /api/v1/rules/{rule_id:int}": Rule(
        EDITORS, at("/api/v1/rules/{rule}"), admin_api.rule_update
    ),
    "GET /api/v1/jobs": Rule(JOB_VIEWERS, at("/api/v1/jobs")),
    "GET /api/v1/jobs/runs": Rule(JOB_VIEWERS, at("/api/v1/jobs/runs")),
    # a run writes the scheduler's own history (job_run), which the state check leaves aside
    "POST /api/v1/jobs/{job_id:str}/run": Rule(
        ADMINS, at("/api/v1/jobs/purge_expired/run"), fixed({}), writes=False
    ),
    "GET /account/password": Rule(STAFF, at("/account/password")),
    "POST /account/password": Rule(STAFF, at("/account/password"), password_form, 303),
    "GET /account/notifications": Rule(STAFF, at("/account/notifications")),
    "POST /account/notifications": Rule(
        STAFF, at("/account/notifications"), fixed({"ticket_assigned": "digest"}), 303
    ),
    # repair tickets: everyone reads; the field roles open and work them; supervisors edit;
    # "start" is for workers (admin, supervisor, crew); the SLA policy is the admin's
    "GET /tickets": Rule(STAFF, at("/tickets")),
    "GET /tickets/map": Rule(STAFF, at("/tickets/map")),
    "GET /tickets/map.json": Rule(STAFF, at("/tickets/map.json")),
    "GET /tickets/mine": Rule(STAFF, at("/tickets/mine")),
    "GET /tickets/export.csv": Rule(STAFF, at("/tickets/export.csv")),
    "GET /tickets/export.xlsx": Rule(STAFF, at("/tickets/export.xlsx")),
    "GET /tickets/board": Rule(STAFF, at("/tickets/board")),
    "POST /tickets/board/move": Rule(
        WORKERS,
        at("/tickets/board/move"),
        form(board_move("in_progress")),
        303,
        fresh=triaged_ticket,
    ),
    "GET /tickets/calendar": Rule(STAFF, at("/tickets/calendar"), ok=301),  # now /calendar
    # the staff work calendar (facilities/homes/calendar_pages.py): everyone reads; a drag
    # reschedules through the ticket edit service, so only ticket editors move bars
    "GET /calendar": Rule(STAFF, at("/calendar")),
    "POST /calendar/tickets/{ticket_id:int}/reschedule": Rule(
        EDITORS,
        at("/calendar/tickets/{fresh}/reschedule"),
        form(versioned(RepairTicket, planned_start_on="2026-12-21")),
        fresh=scheduled_ticket,
    ),
    "GET /tickets/dashboard": Rule(STAFF, at("/tickets/dashboard")),
    "GET /tickets/sla": Rule(STAFF, at("/tickets/sla")),
    "POST /tickets/sla": Rule(ADMINS, at("/tickets/sla"), fixed(SLA_FORM), 303),
    "GET /tickets/new": Rule(CREATORS, at("/tickets/new")),
    "POST /tickets": Rule(CREATORS, at("/tickets"), form(ticket_new), 303),
    "GET /tickets/{ticket_id:int}": Rule(STAFF, at("/tickets/{ticket}")),
    "GET /tickets/{ticket_id:int}/edit": Rule(EDITORS, at("/tickets/{ticket}/edit")),
    "POST /tickets/{ticket_id:int}": Rule(EDITORS, at("/tickets/{ticket}"), form(ticket_edit), 303),
    "POST /tickets/{ticket_id:int}/transitions": Rule(
        WORKERS,
        at("/tickets/{fresh}/transitions"),
        form(versioned(RepairTicket, action="start")),
        303,
        fresh=triaged_ticket,
    ),
    "POST /tickets/{ticket_id:int}/take": Rule(
        TAKERS, at("/tickets/{fresh}/take"), fixed({}), 303, fresh=unassigned_ticket
    ),
    "POST /tickets/{ticket_id:int}/comments": Rule(
        CREATORS, at("/tickets/{ticket}/comments"), comment, 303
    ),
    "POST /tickets/{ticket_id:int}/attachments": Rule(
        CREATORS, at("/tickets/{ticket}/attachments"), attachment, 303
    ),
    "GET /tickets/attachments/{attachment_id:int}": Rule(
        STAFF, at("/tickets/attachments/{attachment}")
    ),
    "GET /tickets/attachments/{attachment_id:int}/thumbnail": Rule(
        STAFF, at("/tickets/attachments/{attachment}/thumbnail")
    ),
    # bulk changes from the list (supervisors edit tickets): a preview, then the confirm
    "POST /tickets/bulk/preview": Rule(
        EDITORS, at("/tickets/bulk/preview"), bulk_preview, writes=False
    ),
    "POST /tickets/bulk/confirm": Rule(EDITORS, at("/tickets/bulk/confirm"), bulk_confirm),
    # saved filters: everyone saves their own; a shared one is deleted by its owner or an editor
    "POST /saved-filters": Rule(STAFF, at("/saved-filters"), saved_filter_form, 303),
    "POST /saved-filters/{filter_id:int}/delete": Rule(
        EDITORS, at("/saved-filters/{fresh}/delete"), fixed({}), 303, fresh=shared_filter
    ),
    # money and contractors (issue 19): everyone reads; who edits tickets keeps the money
    "POST /tickets/{ticket_id:int}/cost-lines": Rule(
        EDITORS, at("/tickets/{ticket}/cost-lines"), form(line_body), 303
    ),
    "POST /tickets/{ticket_id:int}/cost-lines/{line_id:int}/delete": Rule(
        EDITORS,
        at("/tickets/{ticket}/cost-lines/{fresh}/delete"),
        fixed({}),
        303,
        fresh=fresh_line,
    ),
    "POST /tickets/{ticket_id:int}/work-order": Rule(
        EDITORS, at("/tickets/{fresh}/work-order"), fixed({}), 303, fresh=contracted_ticket
    ),
    "GET /tickets/costs": Rule(STAFF, at("/tickets/costs")),
    "GET /tickets/costs/tickets": Rule(STAFF, at("/tickets/costs/tickets?measure=committed")),
    "GET /tickets/costs.csv": Rule(STAFF, at("/tickets/costs.csv?by=asset")),
    "GET /tickets/costs.xlsx": Rule(STAFF, at("/tickets/costs.xlsx")),
    "GET /tickets/cost-lines.csv": Rule(STAFF, at("/tickets/cost-lines.csv")),
    "GET /tickets/budgets/{site_id:int}/{year:int}": Rule(
        EDITORS, at("/tickets/budgets/{site}/2026")
    ),
    "POST /tickets/budgets/{site_id:int}/{year:int}": Rule(
        EDITORS, at("/tickets/budgets/{site}/2026"), form(budget_body), 303
    ),
    "GET /contractors": Rule(STAFF, at("/contractors")),
    "GET /contractors/new": Rule(EDITORS, at("/contractors/new")),
    "POST /contractors": Rule(EDITORS, at("/contractors"), form(contractor_new), 303),
    "GET /contractors/{contractor_id:int}": Rule(STAFF, at("/contractors/{contractor}")),
    "GET /contractors/{contractor_id:int}/edit": Rule(
        EDITORS, at("/contractors/{contractor}/edit")
    ),
    "POST /contractors/{contractor_id:int}": Rule(
        EDITORS, at("/contractors/{contractor}"), form(contractor_edit), 303
    ),
    "GET /api/v1/contractors": Rule(STAFF, at("/api/v1/contractors")),
    "POST /api/v1/contractors": Rule(EDITORS, at("/api/v1/contractors"), contractor_api_new, 201),
    "GET /api/v1/contractors/{contractor_id:int}": Rule(
        STAFF, at("/api/v1/contractors/{contractor}")
    ),
    "PUT /api/v1/contractors/{contractor_id:int}": Rule(
        EDITORS, at("/api/v1/contractors/{contractor}"), contractor_edit
    ),
    "GET /api/v1/tickets/{ticket_id:int}/cost-lines": Rule(
        STAFF, at("/api/v1/tickets/{ticket}/cost-lines")
    ),
    "POST /api/v1/tickets/{ticket_id:int}/cost-lines": Rule(
        EDITORS, at("/api/v1/tickets/{ticket}/cost-lines"), line_body, 201
    ),
    "DELETE /api/v1/tickets/{ticket_id:int}/cost-lines/{line_id:int}": Rule(
        EDITORS, at("/api/v1/tickets/{ticket}/cost-lines/{fresh}"), None, 204, fresh=fresh_line
    ),
    "POST /api/v1/tickets/{ticket_id:int}/work-order": Rule(
        EDITORS, at("/api/v1/tickets/{fresh}/work-order"), fixed({}), fresh=contracted_ticket
    ),
    "GET /api/v1/budgets": Rule(STAFF, at("/api/v1/budgets")),
    "PUT /api/v1/budgets/{site_id:int}/{year:int}": Rule(
        EDITORS, at("/api/v1/budgets/{site}/2026"), budget_body
    ),
    "GET /api/v1/costs/rollups": Rule(STAFF, at("/api/v1/costs/rollups?by=work_class")),
    "GET /api/v1/tickets": Rule(STAFF, at("/api/v1/tickets")),
    "POST /api/v1/tickets": Rule(CREATORS, at("/api/v1/tickets"), ticket_new, 201),
    "GET /api/v1/tickets/{ticket_id:int}": Rule(STAFF, at("/api/v1/tickets/{ticket}")),
    "PUT /api/v1/tickets/{ticket_id:int}": Rule(
        EDITORS, at("/api/v1/tickets/{ticket}"), ticket_edit
    ),
    "POST /api/v1/tickets/{ticket_id:int}/transitions": Rule(
        WORKERS,
        at("/api/v1/tickets/{fresh}/transitions"),
        versioned(RepairTicket, action="start"),
        fresh=triaged_ticket,
    ),
    "POST /api/v1/tickets/{ticket_id:int}/take": Rule(
        TAKERS, at("/api/v1/tickets/{fresh}/take"), fixed({}), 200, fresh=unassigned_ticket
    ),
    "GET /api/v1/tickets/{ticket_id:int}/comments": Rule(
        STAFF, at("/api/v1/tickets/{ticket}/comments")
    ),
    "POST /api/v1/tickets/{ticket_id:int}/comments": Rule(
        CREATORS, at("/api/v1/tickets/{ticket}/comments"), comment, 201
    ),
    "GET /api/v1/tickets/{ticket_id:int}/attachments": Rule(
        STAFF, at("/api/v1/tickets/{ticket}/attachments")
    ),
    "POST /api/v1/tickets/{ticket_id:int}/attachments": Rule(
        CREATORS, at("/api/v1/tickets/{ticket}/attachments"), attachment, 201
    ),
    # inspections: everyone reads; inspectors (and up) raise and record, supervisors finalise
    # and edit schedules; a finding becomes a ticket for whoever may open tickets
    "GET /inspections": Rule(STAFF, at("/inspections")),
    "GET /inspections/export.xlsx": Rule(STAFF, at("/inspections/export.xlsx")),
    "GET /inspections/route": Rule(STAFF, at("/inspections/route")),
    "GET /inspections/dashboard": Rule(STAFF, at("/inspections/dashboard")),
    "GET /inspections/dashboard/list": Rule(STAFF, at("/inspections/dashboard/list?outcome=late")),
    "GET /inspections/calendar": Rule(STAFF, at("/inspections/calendar")),
    "GET /inspections/schedules": Rule(STAFF, at("/inspections/schedules?asset={asset}")),
    "POST /inspections/schedules/defaults": Rule(
        EDITORS, at("/inspections/schedules/defaults"), defaults, 303
    ),
    "GET /inspections/schedules/new": Rule(EDITORS, at("/inspections/schedules/new")),
    "POST /inspections/schedules": Rule(
        EDITORS, at("/inspections/schedules"), form(schedule_new), 303
    ),
    "GET /inspections/schedules/{schedule_id:int}/edit": Rule(
        EDITORS, at("/inspections/schedules/{schedule}/edit")
    ),
    "POST /inspections/schedules/{schedule_id:int}": Rule(
        EDITORS, at("/inspections/schedules/{schedule}"), form(schedule_edit), 303
    ),
    "GET /inspections/new": Rule(INSPECTORS, at("/inspections/new")),
    "POST /inspections": Rule(INSPECTORS, at("/inspections"), form(inspection_new), 303),
    "GET /inspections/{inspection_id:int}": Rule(STAFF, at("/inspections/{inspection}")),
    "POST /inspections/{inspection_id:int}/record": Rule(
        INSPECTORS, at("/inspections/{inspection}/record"), form(record_form), 303
    ),
    "POST /inspections/{inspection_id:int}/start": Rule(
        INSPECTORS,
        at("/inspections/{fresh}/start"),
        form(versioned(Inspection)),
        303,
        fresh=planned_inspection,
    ),
    "POST /inspections/{inspection_id:int}/submit": Rule(
        INSPECTORS,
        at("/inspections/{fresh}/submit"),
        form(versioned(Inspection)),
        303,
        fresh=started_inspection,
    ),
    "POST /inspections/{inspection_id:int}/finalise": Rule(
        EDITORS,
        at("/inspections/{fresh}/finalise"),
        form(versioned(Inspection)),
        303,
        fresh=submitted_inspection,
    ),
    "POST /inspections/{inspection_id:int}/findings": Rule(
        INSPECTORS, at("/inspections/{inspection}/findings"), form(finding_new), 303
    ),
    "POST /inspections/{inspection_id:int}/photos": Rule(
        INSPECTORS, at("/inspections/{inspection}/photos"), inspection_photo, 303
    ),
    "GET /inspections/photos/{photo_id:int}": Rule(STAFF, at("/inspections/photos/{photo}")),
    "GET /inspections/{inspection_id:int}/report.pdf": Rule(
        STAFF, at("/inspections/{inspection}/report.pdf")
    ),
    "GET /inspections/{inspection_id:int}/report": Rule(
        STAFF, at("/inspections/{inspection}/report")
    ),
    "POST /inspections/{inspection_id:int}/report": Rule(
        EDITORS,
        at("/inspections/{fresh}/report"),
        form(fixed({})),
        303,
        fresh=unfiled_final_inspection,
    ),
    "GET /field": Rule(STAFF, at("/field")),
    "GET /field/data.json": Rule(STAFF, at("/field/data.json")),
    "POST /field/inspections/{inspection_id:int}/photos": Rule(
        INSPECTORS, at("/field/inspections/{inspection}/photos"), inspection_photo, 201
    ),
    "GET /inspections/photos/{photo_id:int}/thumbnail": Rule(
        STAFF, at("/inspections/photos/{photo}/thumbnail")
    ),
    "POST /inspections/findings/{finding_id:int}/ticket": Rule(
        CREATORS, at("/inspections/findings/{fresh}/ticket"), fixed({}), 303, fresh=open_finding
    ),
    "GET /inspections/assets/{asset_id:int}/history": Rule(
        STAFF, at("/inspections/assets/{asset}/history")
    ),
    "GET /api/v1/schedules": Rule(STAFF, at("/api/v1/schedules")),
    "POST /api/v1/schedules": Rule(EDITORS, at("/api/v1/schedules"), schedule_new, 201),
    "POST /api/v1/schedules/preview": Rule(
        STAFF, at("/api/v1/schedules/preview"), schedule_new, writes=False
    ),
    "GET /api/v1/schedules/{schedule_id:int}": Rule(STAFF, at("/api/v1/schedules/{schedule}")),
    "PUT /api/v1/schedules/{schedule_id:int}": Rule(
        EDITORS, at("/api/v1/schedules/{schedule}"), schedule_edit
    ),
    "GET /api/v1/inspections": Rule(STAFF, at("/api/v1/inspections")),
    "POST /api/v1/inspections": Rule(INSPECTORS, at("/api/v1/inspections"), inspection_new, 201),
    "GET /api/v1/inspections/{inspection_id:int}": Rule(
        STAFF, at("/api/v1/inspections/{inspection}")
    ),
    "PUT /api/v1/inspections/{inspection_id:int}/record": Rule(
        INSPECTORS, at("/api/v1/inspections/{inspection}/record"), record_api
    ),
    "POST /api/v1/inspections/{inspection_id:int}/start": Rule(
        INSPECTORS,
        at("/api/v1/inspections/{fresh}/start"),
        versioned(Inspection),
        fresh=planned_inspection,
    ),
    "POST /api/v1/inspections/{inspection_id:int}/submit": Rule(
        INSPECTORS,
        at("/api/v1/inspections/{fresh}/submit"),
        versioned(Inspection),
        fresh=started_inspection,
    ),
    "POST /api/v1/inspections/{inspection_id:int}/finalise": Rule(
        EDITORS,
        at("/api/v1/inspections/{fresh}/finalise"),
        versioned(Inspection),
        fresh=submitted_inspection,
    ),
    "GET /api/v1/inspections/{inspection_id:int}/findings": Rule(
        STAFF, at("/api/v1/inspections/{inspection}/findings")
    ),
    "POST /api/v1/inspections/{inspection_id:int}/findings": Rule(
        INSPECTORS, at("/api/v1/inspections/{inspection}/findings"), finding_new, 201
    ),
    "POST /api/v1/findings/{finding_id:int}/ticket": Rule(
        CREATORS, at("/api/v1/findings/{fresh}/ticket"), fixed({}), 201, fresh=open_finding
    ),
    # closures: everyone reads; supervisors and admins change them, sign off, publish notices
    "GET /closures": Rule(STAFF, at("/closures")),
    "GET /closures/export.xlsx": Rule(STAFF, at("/closures/export.xlsx")),
    "GET /closures/drafts": Rule(STAFF, at("/closures/drafts")),
    "GET /closures/new": Rule(EDITORS, at("/closures/new")),
    "POST /closures": Rule(EDITORS, at("/closures"), closure_new_form, 303),
    "GET /closures/{closure_id:int}": Rule(STAFF, at("/closures/{closure}")),
    "GET /closures/{closure_id:int}/edit": Rule(EDITORS, at("/closures/{closure}/edit")),
    "POST /closures/{closure_id:int}": Rule(
        EDITORS, at("/closures/{closure}"), closure_edit_form, 303
    ),
    "POST /closures/{closure_id:int}/sign-off": Rule(
        EDITORS,
        at("/closures/{fresh}/sign-off"),
        form(versioned(Closure)),
        303,
        fresh=verified_closure,
    ),
    "POST /closures/{closure_id:int}/tickets": Rule(
        EDITORS, at("/closures/{closure}/tickets"), form(link("网页")), 303
    ),
    "POST /closures/{closure_id:int}/tickets/{ticket_id:int}/unlink": Rule(
        EDITORS,
        at("/closures/{fresh}/tickets/{ticket}/unlink"),
        fixed({}),
        303,
        fresh=linked_closure,
    ),
    "POST /closures/{closure_id:int}/updates": Rule(
        EDITORS, at("/closures/{closure}/updates"), form(notice), 303
    ),
    "GET /closures/{closure_id:int}/extend": Rule(EDITORS, at("/closures/{closure}/extend")),
    "POST /closures/{closure_id:int}/extend": Rule(
        EDITORS, at("/closures/{closure}/extend"), form(extension), 303
    ),
    "GET /closures/{closure_id:int}/cancel": Rule(EDITORS, at("/closures/{closure}/cancel")),
    "POST /closures/{closure_id:int}/cancel": Rule(
        EDITORS,
        at("/closures/{fresh}/cancel"),
        form(versioned(Closure, reason_zh="计划取消")),
        303,
        fresh=closure_on_asset,
    ),
    "GET /closures/{closure_id:int}/lift": Rule(EDITORS, at("/closures/{closure}/lift")),
    "POST /closures/{closure_id:int}/lift": Rule(
        EDITORS,
        at("/closures/{fresh}/lift"),
        form(versioned(Closure)),
        303,
        fresh=open_gate_closure,
    ),
    "POST /closures/drafts/{update_id:int}/publish": Rule(
        EDITORS, at("/closures/drafts/{fresh}/publish"), fixed({}), 303, fresh=draft_update
    ),
    "POST /closures/drafts/{update_id:int}/discard": Rule(
        EDITORS, at("/closures/drafts/{fresh}/discard"), fixed({}), 303, fresh=draft_update
    ),
    "POST /closures/proposals/{proposal_id:int}/approve": Rule(
        EDITORS, at("/closures/proposals/{fresh}/approve"), fixed({}), 303, fresh=proposal
    ),
    "POST /closures/proposals/{proposal_id:int}/dismiss": Rule(
        EDITORS, at("/closures/proposals/{fresh}/dismiss"), fixed({}), 303, fresh=proposal
    ),
    "GET /api/v1/closures": Rule(STAFF, at("/api/v1/closures")),
    "POST /api/v1/closures": Rule(EDITORS, at("/api/v1/closures"), closure_new, 201),
    "GET /api/v1/closures/drafts": Rule(STAFF, at("/api/v1/closures/drafts")),
    "GET /api/v1/closures/proposals": Rule(STAFF, at("/api/v1/closures/proposals")),
    "POST /api/v1/closures/proposals/{proposal_id:int}/approve": Rule(
        EDITORS, at("/api/v1/closures/proposals/{fresh}/approve"), fixed({}), 201, fresh=proposal
    ),
    "POST /api/v1/closures/proposals/{proposal_id:int}/dismiss": Rule(
        EDITORS, at("/api/v1/closures/proposals/{fresh}/dismiss"), fixed({}), 204, fresh=proposal
    ),
    "POST /api/v1/closures/updates/{update_id:int}/publish": Rule(
        EDITORS, at("/api/v1/closures/updates/{fresh}/publish"), fixed({}), fresh=draft_update
    ),
    "POST /api/v1/closures/updates/{update_id:int}/discard": Rule(
        EDITORS, at("/api/v1/closures/updates/{fresh}/discard"), fixed({}), fresh=draft_update
    ),
    "GET /api/v1/closures/{closure_id:int}": Rule(STAFF, at("/api/v1/closures/{closure}")),
    "PUT /api/v1/closures/{closure_id:int}": Rule(
        EDITORS, at("/api/v1/closures/{closure}"), closure_edit
    ),
    "POST /api/v1/closures/{closure_id:int}/extend": Rule(
        EDITORS, at("/api/v1/closures/{closure}/extend"), extension
    ),
    "POST /api/v1/closures/{closure_id:int}/cancel": Rule(
        EDITORS,
        at("/api/v1/closures/{fresh}/cancel"),
        versioned(Closure, reason_zh="计划取消"),
        fresh=closure_on_asset,
    ),
    "POST /api/v1/closures/{closure_id:int}/sign-off": Rule(
        EDITORS, at("/api/v1/closures/{fresh}/sign-off"), versioned(Closure), fresh=verified_closure
    ),
    "POST /api/v1/closures/{closure_id:int}/lift": Rule(
        EDITORS, at("/api/v1/closures/{fresh}/lift"), versioned(Closure), fresh=open_gate_closure
    ),
    "POST /api/v1/closures/{closure_id:int}/tickets": Rule(
        EDITORS, at("/api/v1/closures/{closure}/tickets"), link("接口")
    ),
    "DELETE /api/v1/closures/{closure_id:int}/tickets/{ticket_id:int}": Rule(
        EDITORS, at("/api/v1/closures/{fresh}/tickets/{ticket}"), None, 204, fresh=linked_closure
    ),
    "GET /api/v1/closures/{closure_id:int}/updates": Rule(
        STAFF, at("/api/v1/closures/{closure}/updates")
    ),
    "POST /api/v1/closures/{closure_id:int}/updates": Rule(
        EDITORS, at("/api/v1/closures/{closure}/updates"), notice, 201
    ),
    # citizen reports: triage is for inspectors and up (converting also needs tickets.create,
    # merging tickets.work: the same people); the Open311 keys are the admin's
    "GET /triage": Rule(INSPECTORS, at("/triage")),
    "GET /triage/export.xlsx": Rule(INSPECTORS, at("/triage/export.xlsx")),
    "GET /triage/map": Rule(INSPECTORS, at("/triage/map")),
    "GET /triage/map.json": Rule(INSPECTORS, at("/triage/map.json")),
    "GET /triage/{report_id:int}": Rule(INSPECTORS, at("/triage/{report}")),
    "POST /triage/{report_id:int}/convert": Rule(
        INSPECTORS,
        at("/triage/{fresh}/convert"),
        form(triage(priority="P2", work_class="minor")),
        303,
        fresh=new_report,
    ),
    "POST /triage/{report_id:int}/merge": Rule(
        INSPECTORS, at("/triage/{fresh}/merge"), form(merge), 303, fresh=new_report
    ),
    "POST /triage/{report_id:int}/reject": Rule(
        INSPECTORS,
        at("/triage/{fresh}/reject"),
        form(triage(reason="不是设施问题 / not a facility problem")),
        303,
        fresh=new_report,
    ),
    "POST /triage/{report_id:int}/not-ours": Rule(
        INSPECTORS,
        at("/triage/{fresh}/not-ours"),
        form(triage(reason="属于市政道路 / a city road")),
        303,
        fresh=new_report,
    ),
    "GET /triage/photos/{photo_id:int}": Rule(INSPECTORS, at("/triage/photos/{report_photo}")),
    "GET /triage/photos/{photo_id:int}/thumbnail": Rule(
        INSPECTORS, at("/triage/photos/{report_photo}/thumbnail")
    ),
    "GET /triage/api-keys": Rule(ADMINS, at("/triage/api-keys")),
    "POST /triage/api-keys": Rule(ADMINS, at("/triage/api-keys"), key_form, 201),
    "POST /triage/api-keys/{key_id:int}/revoke": Rule(
        ADMINS, at("/triage/api-keys/{key}/revoke"), fixed({}), 303
    ),
    # the staff reports API: triage, as on the pages (issue 19 item 8)
    "GET /api/v1/reports": Rule(INSPECTORS, at("/api/v1/reports")),
    "GET /api/v1/reports/{report_id:int}": Rule(INSPECTORS, at("/api/v1/reports/{report}")),
    "POST /api/v1/reports/{report_id:int}/convert": Rule(
        INSPECTORS,
        at("/api/v1/reports/{fresh}/convert"),
        triage(priority="P2", work_class="minor"),
        201,
        fresh=new_report,
    ),
    "POST /api/v1/reports/{report_id:int}/merge": Rule(
        INSPECTORS, at("/api/v1/reports/{fresh}/merge"), merge, fresh=new_report
    ),
    "POST /api/v1/reports/{report_id:int}/reject": Rule(
        INSPECTORS,
        at("/api/v1/reports/{fresh}/reject"),
        triage(reason="不是设施问题 / not a facility problem"),
        fresh=new_report,
    ),
    "POST /api/v1/reports/{report_id:int}/not-ours": Rule(
        INSPECTORS,
        at("/api/v1/reports/{fresh}/not-ours"),
        triage(reason="属于市政道路 / a city road"),
        fresh=new_report,
    ),
    # inspection photos through the API: everyone sees, the inspection's recorders add
    "GET /api/v1/inspections/{inspection_id:int}/photos": Rule(
        STAFF, at("/api/v1/inspections/{inspection}/photos")
    ),
    "POST /api/v1/inspections/{inspection_id:int}/photos": Rule(
        INSPECTORS, at("/api/v1/inspections/{inspection}/photos"), inspection_photo, 201
    ),
    # the dashboards' numbers: everyone who sees the dashboards
    "GET /api/v1/kpis/tickets": Rule(STAFF, at("/api/v1/kpis/tickets")),
    "GET /api/v1/kpis/inspections": Rule(STAFF, at("/api/v1/kpis/inspections")),
    # audit timelines: whoever may read the record (a report's: its triagers)
    "GET /api/v1/audit": Rule(STAFF, at("/api/v1/audit?entity=ticket&id={ticket}")),
    "GET /api/v1/tickets/{ticket_id:int}/timeline": Rule(
        STAFF, at("/api/v1/tickets/{ticket}/timeline")
    ),
    "GET /api/v1/assets/{asset_id:int}/timeline": Rule(
        STAFF, at("/api/v1/assets/{asset}/timeline")
    ),
    "GET /api/v1/sites/{site_id:int}/timeline": Rule(STAFF, at("/api/v1/sites/{site}/timeline")),
    "GET /api/v1/inspections/{inspection_id:int}/timeline": Rule(
        STAFF, at("/api/v1/inspections/{inspection}/timeline")
    ),
    "GET /api/v1/closures/{closure_id:int}/timeline": Rule(
        STAFF, at("/api/v1/closures/{closure}/timeline")
    ),
    "GET /api/v1/reports/{report_id:int}/timeline": Rule(
        INSPECTORS, at("/api/v1/reports/{report}/timeline")
    ),
}


# Routes open to everyone (no staff guard): "METHOD path" -> (URL to call, anonymous status).
PUBLIC: dict[str, tuple[str, int]] = {
    "GET /": ("/", 200),
    "GET /language": ("/language", 303),
    "GET /healthz": ("/healthz", 200),
    "GET /form-token": ("/form-token", 200),
    "GET /readyz": ("/readyz", 200),
    "GET /metrics": ("/metrics", 200),  # the test client is on loopback
    "GET /login": ("/login", 200),
    "POST /login": ("/login", 400),  # an empty form
    "POST /logout": ("/logout", 303),
    "GET /notices": ("/notices", 200),
    "GET /notices/{closure_id:int}": ("/notices/999999", 404),
    "GET /notices/{closure_id:int}/notice.pdf": ("/notices/999999/notice.pdf", 404),
    "GET /q/{code:str}": ("/q/NO-SUCH-CODE", 404),
    "GET /notices/sites/{site_id:int}": ("/notices/sites/999999", 404),
    "GET /facilities/{asset_id:int}": ("/facilities/999999", 404),
    "GET /feeds/notices.atom": ("/feeds/notices.atom", 200),
    "GET /feeds/sites/{name:str}": ("/feeds/sites/999999.atom", 404),
    "GET /feeds/facilities/{name:str}": ("/feeds/facilities/999999.atom", 404),
    "GET /feeds/closures.ics": ("/feeds/closures.ics", 200),
    "GET /feeds/closures.geojson": ("/feeds/closures.geojson", 200),
    "GET /feeds/basemap.geojson": ("/feeds/basemap.geojson", 200),
    "GET /field/sw.js": ("/field/sw.js", 200),  # the field app's code, no data
    "GET /field/manifest.webmanifest": ("/field/manifest.webmanifest", 200),
    "GET /feeds/closures.wzdx.geojson": ("/feeds/closures.wzdx.geojson", 200),
    "GET /feeds/cap/{name:str}": ("/feeds/cap/999999.xml", 404),
    "GET /inspections/calendar.ics": ("/inspections/calendar.ics", 403),  # needs team + token
    "GET /calendar/me.ics": ("/calendar/me.ics?token=1-00", 404),  # a person's token
    "GET /subscriptions": ("/subscriptions", 200),
    "POST /subscriptions": ("/subscriptions", 400),  # an empty form
    "GET /subscriptions/requested": ("/subscriptions/requested", 200),
    "GET /subscriptions/confirm/{token:str}": ("/subscriptions/confirm/nope", 404),
    "POST /subscriptions/confirm/{token:str}": ("/subscriptions/confirm/nope", 404),
    "GET /unsubscribe/{token:str}": ("/unsubscribe/nope", 404),
    "POST /unsubscribe/{token:str}": ("/unsubscribe/nope", 404),
    "GET /accountability": ("/accountability", 200),
    "GET /report": ("/report", 200),
    "GET /report/near": ("/report/near?lat=26.8955&lng=112.5798", 200),
    "POST /report": ("/report", 400),  # an empty form
    "GET /report/nearby.json": ("/report/nearby.json", 400),  # no location given
    "GET /reports/{token:str}": ("/reports/nope", 404),
    "GET /reports/{token:str}/photos/{photo_id:int}": ("/reports/nope/photos/1", 404),
    "GET /reports/{token:str}/photos/{photo_id:int}/thumbnail": (
        "/reports/nope/photos/1/thumbnail",
        404,
    ),
    "POST /reports/{token:str}/still-broken": ("/reports/nope/still-broken", 404),
    "GET /open311/v2/{name:str}": ("/open311/v2/discovery.json", 200),
    "POST /open311/v2/{name:str}": ("/open311/v2/requests.json", 403),  # no api_key
    "GET /open311/v2/services/{name:str}": ("/open311/v2/services/nope.json", 404),
    "GET /open311/v2/requests/{name:str}": ("/open311/v2/requests/999999.json", 404),
    "GET /open311/v2/tokens/{name:str}": ("/open311/v2/tokens/nope.json", 404),
}


# --- assignment scope ------------------------------------------------------------------------
# Beyond the role: crew and inspectors act only on work assigned to them or to the team they
# work in (carol in CREW_TEAM, bob in INSPECTION_TEAM; erin and frank are colleagues whose work
# is someone else's); supervisors and admins act on anything. Keys: "METHOD url: case".
ASSIGNMENT_CASES = ("own", "team", "other", "other_team", "unassigned")
INSPECTION_SCOPE = {"own": INSPECTORS, "team": INSPECTORS, "unassigned": INSPECTORS}
TICKET_SCOPE = {"own": WORKERS, "team": WORKERS}

SCOPE: dict[str, Rule] = {}
for _case in ASSIGNMENT_CASES:
    _ticket = ticket_assigned(_case)
    _allowed = TICKET_SCOPE.get(_case, EDITORS)
    SCOPE[f"POST /tickets/{{fresh}}/transitions: start, {_case}"] = Rule(
        _allowed,
        at("/tickets/{fresh}/transitions"),
        form(versioned(RepairTicket, action="start")),
        303,
        fresh=_ticket,
    )
    SCOPE[f"POST /api/v1/tickets/{{fresh}}/transitions: start, {_case}"] = Rule(
        _allowed,
        at("/api/v1/tickets/{fresh}/transitions"),
        versioned(RepairTicket, action="start"),
        fresh=_ticket,
    )
    # taking: only crew, only an unassigned ticket (an assigned one answers 409 to crew)
    SCOPE[f"POST /api/v1/tickets/{{fresh}}/take: {_case}"] = Rule(
        TAKERS,
        at("/api/v1/tickets/{fresh}/take"),
        fixed({}),
        200 if _case == "unassigned" else 409,
        fresh=_ticket,
    )
    _inspection = inspection_assigned(_case)
    _allowed = INSPECTION_SCOPE.get(_case, EDITORS)
    SCOPE[f"POST /inspections/{{fresh}}/start: {_case}"] = Rule(
        _allowed,
        at("/inspections/{fresh}/start"),
        form(versioned(Inspection)),
        303,
        fresh=_inspection,
    )
    SCOPE[f"POST /api/v1/inspections/{{fresh}}/start: {_case}"] = Rule(
        _allowed, at("/api/v1/inspections/{fresh}/start"), versioned(Inspection), fresh=_inspection
    )
    SCOPE[f"POST /api/v1/inspections/{{fresh}}/findings: {_case}"] = Rule(
        _allowed, at("/api/v1/inspections/{fresh}/findings"), finding_new, 201, fresh=_inspection
    )


def acceptance_scope(separate: bool) -> dict[str, Rule]:
    """Accepting completed work, by who completed it, with FACILITIES_SEPARATE_ACCEPTANCE on
    (``separate``: nobody accepts their own work) or off (any supervisor or admin may)."""
    rules = {}
    for completer in ("carol", "alice", "admin"):
        allowed = EDITORS - {completer} if separate else EDITORS
        ticket = completed_ticket(completer)
        rules[f"POST /tickets/{{fresh}}/transitions: accept, completed by {completer}"] = Rule(
            allowed,
            at("/tickets/{fresh}/transitions"),
            form(versioned(RepairTicket, action="accept")),
            303,
            fresh=ticket,
        )
        rules[f"POST /api/v1/tickets/{{fresh}}/transitions: accept, by {completer}"] = Rule(
            allowed,
            at("/api/v1/tickets/{fresh}/transitions"),
            versioned(RepairTicket, action="accept"),
            fresh=ticket,
        )
    return rules
