"""Audit timelines as JSON: a record's history, the same events its page shows
(:mod:`facilities.audit.display`), each change worded in the reader's language (the ``lang``
cookie or ``Accept-Language``), newest first, a page at a time (``after`` = the previous page's
``next_cursor``).

Two doors to the same answer, for the token scopes (:mod:`facilities.accounts.scopes`), which
are read from the path:

- ``GET /api/v1/{tickets,assets,sites,inspections,closures,reports}/{id}/timeline``: in the
  record's own domain, so a token that may read tickets may read their histories;
- ``GET /api/v1/audit?entity=<kind>&id=<n>``: any kind, for an auditor's token, which needs
  ``admin:read``.

Either way the caller must be allowed to read the record itself (its domain's ``get``: the role's
permission, and 404 for a record that does not exist), so a history never shows more than the
record's page. It reads every domain, so it sits in homes, above them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import QueryParameter

from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import Actor, require
from facilities.assets import services as assets
from facilities.audit import display
from facilities.audit import timeline as trail
from facilities.audit.choices import action_label
from facilities.closures import services as closures
from facilities.closures.labels import closure_action_label
from facilities.errors import NotFound
from facilities.homes.audit_schemas import AuditEventOut, AuditPageOut, ChangeOut, Entity
from facilities.i18n import gettext as _
from facilities.inspections import services as inspections
from facilities.records import MAX_ID
from facilities.reports import services as reports
from facilities.tickets import services as tickets
from facilities.web.auth import staff_guard
from facilities.web.errors import api_errors
from facilities.web.params import IdParam

After = Annotated[str, QueryParameter(name="after", max_length=200)]
PerPage = Annotated[int, QueryParameter(name="per_page", ge=1, le=trail.MAX_PER_PAGE)]


async def _report(actor: Actor, report_id: int, now: dt.datetime) -> None:
    require(actor, Perm.REPORTS_TRIAGE)
    if await reports.find_report(report_id) is None:
        raise NotFound(_("No such report."))


#: Each kind: the trail's entity type, and the read of the record the caller must be allowed.
READERS: dict[Entity, tuple[str, Callable[[Actor, int, dt.datetime], Awaitable[Any]]]] = {
    Entity.TICKET: ("ticket", lambda a, i, now: tickets.get_ticket(a, i, now)),
    Entity.ASSET: ("asset", lambda a, i, now: assets.load_asset(a, i)),
    Entity.SITE: ("site", lambda a, i, now: assets.get_site(a, i)),
    Entity.INSPECTION: ("inspection", lambda a, i, now: inspections.get_inspection(a, i)),
    Entity.CLOSURE: ("closure", lambda a, i, now: closures.get_closure(a, i)),
    Entity.REPORT: ("service_request", _report),
}


def event_out(entity: Entity, event: dict[str, Any]) -> AuditEventOut:
    label = closure_action_label if entity is Entity.CLOSURE else action_label
    changes = event.get("changes") or {}
    return AuditEventOut(
        id=event["id"],
        at=event["at"],
        actor_id=event["actor"],
        actor_name=event["actor_name"] or "",
        action=event["action"],
        action_label=label(event["action"]),
        changes=[
            ChangeOut(field=c.field, label=c.label, before=c.before, after=c.after)
            for c in display.changes(event)
        ],
        raw_changes=changes if isinstance(changes, dict) else {},
    )


async def timeline(
    request: Request[Any, Any, Any],
    entity: Entity,
    entity_id: int,
    after: str,
    per_page: int,
    now: dt.datetime,
) -> AuditPageOut:
    entity_type, read = READERS[entity]
    await read(require_actor(request), entity_id, now)
    found = await trail.page_events(entity_type, entity_id, after, per_page)
    return AuditPageOut(
        entity=entity,
        entity_id=entity_id,
        items=[event_out(entity, e) for e in found.events],
        next_cursor=found.next_cursor,
    )


class AuditApiController(Controller):
    path = "/api/v1"
    guards = [staff_guard]
    tags = ["audit"]

    @get("/audit", responses=api_errors(403, 404))
    async def index(
        self,
        request: Request[Any, Any, Any],
        entity: Annotated[Entity, QueryParameter(name="entity")],
        entity_id: Annotated[int, QueryParameter(name="id", ge=1, le=MAX_ID)],
        after: After = "",
        per_page: PerPage = 50,
        *,
        now: dt.datetime,
    ) -> AuditPageOut:
        """The history of any record the caller may read (a token needs ``admin:read``)."""
        return await timeline(request, entity, entity_id, after, per_page, now)

    @get("/tickets/{ticket_id:int}/timeline", responses=api_errors(403, 404))
    async def ticket(
        self,
        request: Request[Any, Any, Any],
        ticket_id: IdParam,
        after: After = "",
        per_page: PerPage = 50,
        *,
        now: dt.datetime,
    ) -> AuditPageOut:
        return await timeline(request, Entity.TICKET, ticket_id, after, per_page, now)

    @get("/assets/{asset_id:int}/timeline", responses=api_errors(403, 404))
    async def asset(
        self,
        request: Request[Any, Any, Any],
        asset_id: IdParam,
        after: After = "",
        per_page: PerPage = 50,
        *,
        now: dt.datetime,
    ) -> AuditPageOut:
        return await timeline(request, Entity.ASSET, asset_id, after, per_page, now)

    @get("/sites/{site_id:int}/timeline", responses=api_errors(403, 404))
    async def site(
        self,
        request: Request[Any, Any, Any],
        site_id: IdParam,
        after: After = "",
        per_page: PerPage = 50,
        *,
        now: dt.datetime,
    ) -> AuditPageOut:
        return await timeline(request, Entity.SITE, site_id, after, per_page, now)

    @get("/inspections/{inspection_id:int}/timeline", responses=api_errors(403, 404))
    async def inspection(
        self,
        request: Request[Any, Any, Any],
        inspection_id: IdParam,
        after: After = "",
        per_page: PerPage = 50,
        *,
        now: dt.datetime,
    ) -> AuditPageOut:
        return await timeline(request, Entity.INSPECTION, inspection_id, after, per_page, now)

    @get("/closures/{closure_id:int}/timeline", responses=api_errors(403, 404))
    async def closure(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        after: After = "",
        per_page: PerPage = 50,
        *,
        now: dt.datetime,
    ) -> AuditPageOut:
        return await timeline(request, Entity.CLOSURE, closure_id, after, per_page, now)

    @get("/reports/{report_id:int}/timeline", responses=api_errors(403, 404))
    async def report(
        self,
        request: Request[Any, Any, Any],
        report_id: IdParam,
        after: After = "",
        per_page: PerPage = 50,
        *,
        now: dt.datetime,
    ) -> AuditPageOut:
        return await timeline(request, Entity.REPORT, report_id, after, per_page, now)
