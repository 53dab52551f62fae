"""The inspection JSON API under /api/v1: schedules (with a preview of the next due dates),
inspections and their steps (record, start, submit, finalise), findings and a finding's ticket.
The same services as the pages, the same errors as JSON; staff only (session or API token).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, QueryParameter
from litestar.response import Response

from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import Actor
from facilities.inspections import services as inspections
from facilities.inspections.outs import (
    finding_out,
    inspection_out,
    row_out,
    schedule_out,
    schedule_outs,
)
from facilities.inspections.schemas import (
    FinaliseIn,
    FindingIn,
    FindingOut,
    FindingTicketOut,
    InspectionIn,
    InspectionOut,
    InspectionRowOut,
    PreviewOut,
    RecordIn,
    ScheduleIn,
    ScheduleOut,
    StepIn,
)
from facilities.records import MAX_ID
from facilities.web.auth import staff_guard
from facilities.web.errors import api_errors
from facilities.web.params import IdParam, zone_of


class InspectionApiController(Controller):
    path = "/api/v1"
    guards = [staff_guard]
    tags = ["inspections"]

    @get("/schedules", responses=api_errors())
    async def list_schedules(
        self,
        request: Request[Any, Any, Any],
        asset: Annotated[int | None, QueryParameter(name="asset", ge=1, le=MAX_ID)] = None,
        *,
        now: dt.datetime,
    ) -> list[ScheduleOut]:
        """Inspection schedules, soonest due first; ``asset`` narrows to one asset."""
        rows = await inspections.list_schedules(require_actor(request), asset)
        return await schedule_outs(rows, now)

    @post("/schedules", responses=api_errors(403))
    async def create_schedule(
        self, request: Request[Any, Any, Any], data: JSONBody[ScheduleIn], now: dt.datetime
    ) -> Response[ScheduleOut]:
        """Create a schedule. 400 with ``extra`` naming ``rrule`` when the rule is not an
        accepted RFC 5545 RRULE (at most daily)."""
        actor = require_actor(request)
        row = await inspections.create_schedule(actor, data, zone_of(request), now)
        return Response(schedule_out(row, now), status_code=201)

    @post("/schedules/preview", status_code=200, responses=api_errors(403))
    async def preview_schedule(
        self, request: Request[Any, Any, Any], data: JSONBody[ScheduleIn], now: dt.datetime
    ) -> PreviewOut:
        """The next five due dates the schedule would have; nothing is saved."""
        require_actor(request)
        return PreviewOut(due_dates=inspections.preview(data, zone_of(request), now))

    @get("/schedules/{schedule_id:int}", responses=api_errors(404))
    async def get_schedule(
        self, request: Request[Any, Any, Any], schedule_id: IdParam, now: dt.datetime
    ) -> ScheduleOut:
        row = await inspections.get_schedule(require_actor(request), schedule_id)
        return (await schedule_outs([row], now))[0]

    @put("/schedules/{schedule_id:int}", responses=api_errors(403, 404, 409))
    async def update_schedule(
        self,
        request: Request[Any, Any, Any],
        schedule_id: IdParam,
        data: JSONBody[ScheduleIn],
        now: dt.datetime,
    ) -> ScheduleOut:
        """Replace the schedule; send the ``version`` you read (409 when someone saved first)."""
        actor = require_actor(request)
        row = await inspections.update_schedule(actor, schedule_id, data, zone_of(request), now)
        return (await schedule_outs([row], now))[0]

    @get("/inspections", responses=api_errors())
    async def list_inspections(
        self,
        request: Request[Any, Any, Any],
        asset: Annotated[int | None, QueryParameter(name="asset", ge=1, le=MAX_ID)] = None,
        open_only: Annotated[bool, QueryParameter(name="open")] = True,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=500)] = 200,
        *,
        now: dt.datetime,
    ) -> list[InspectionRowOut]:
        """Open inspections, soonest due first (``open=false``: all, newest first)."""
        rows = await inspections.list_inspections(
            require_actor(request), now, asset_id=asset, open_only=open_only, limit=limit
        )
        return [row_out(r) for r in rows]

    @post("/inspections", responses=api_errors(403))
    async def create_inspection(
        self, request: Request[Any, Any, Any], data: JSONBody[InspectionIn], now: dt.datetime
    ) -> Response[InspectionOut]:
        """Plan an inspection by hand (after an event, a public report, a repair ...)."""
        actor = require_actor(request)
        row = await inspections.create_inspection(actor, data, zone_of(request), now)
        return Response(inspection_out(row, []), status_code=201)

    async def _out(self, actor: Actor, inspection_id: int) -> InspectionOut:
        row = await inspections.get_inspection(actor, inspection_id)
        return inspection_out(row, await inspections.list_findings(actor, inspection_id))

    @get("/inspections/{inspection_id:int}", responses=api_errors(404))
    async def get_inspection(
        self, request: Request[Any, Any, Any], inspection_id: IdParam
    ) -> InspectionOut:
        return await self._out(require_actor(request), inspection_id)

    @put("/inspections/{inspection_id:int}/record", responses=api_errors(403, 404, 409))
    async def record(
        self,
        request: Request[Any, Any, Any],
        inspection_id: IdParam,
        data: JSONBody[RecordIn],
        now: dt.datetime,
    ) -> InspectionOut:
        """Save answers, component conditions, weather and summary (planned or in progress);
        send the ``version`` you read. ``recommendation`` has no default: left out (or null)
        it is not chosen yet, which a draft may be; submitting asks for it."""
        actor = require_actor(request)
        await inspections.save_record(actor, inspection_id, data, now)
        return await self._out(actor, inspection_id)

    @post(
        "/inspections/{inspection_id:int}/start",
        status_code=200,
        responses=api_errors(403, 404, 409),
    )
    async def start(
        self,
        request: Request[Any, Any, Any],
        inspection_id: IdParam,
        data: JSONBody[StepIn],
        now: dt.datetime,
    ) -> InspectionOut:
        actor = require_actor(request)
        await inspections.start(actor, inspection_id, data.version, now)
        return await self._out(actor, inspection_id)

    @post(
        "/inspections/{inspection_id:int}/submit",
        status_code=200,
        responses=api_errors(403, 404, 409),
    )
    async def submit(
        self,
        request: Request[Any, Any, Any],
        inspection_id: IdParam,
        data: JSONBody[StepIn],
        now: dt.datetime,
    ) -> InspectionOut:
        """Send the record for review. 400 naming the field: ``recommendation`` (none chosen
        yet), ``no_restriction_reason`` (grade D or E with "none" and no reason). With a reason,
        "none" at D or E is flagged (``flagged_grade``) and the supervisors are told."""
        actor = require_actor(request)
        await inspections.submit(actor, inspection_id, data.version, now)
        return await self._out(actor, inspection_id)

    @post(
        "/inspections/{inspection_id:int}/finalise",
        status_code=200,
        responses=api_errors(403, 404, 409),
    )
    async def finalise(
        self,
        request: Request[Any, Any, Any],
        inspection_id: IdParam,
        data: JSONBody[FinaliseIn],
        now: dt.datetime,
    ) -> InspectionOut:
        """Grade the inspection, update the asset's grade and next due date, open tickets for
        urgent findings and failed items, run the rules. Supervisors only.

        400 naming the field: ``recommendation`` (none chosen), ``no_restriction_reason``
        (grade D or E, "none" recommended, no reason given), ``finalise_anyway`` (components
        left unscored: the message names them; send ``finalise_anyway: true`` with an
        ``unscored_reason``), ``unscored_reason`` (the flag without a reason)."""
        actor = require_actor(request)
        settings = request.app.state.settings
        await inspections.finalise(
            actor,
            inspection_id,
            data.version,
            settings.zone,
            settings.media_path,
            now,
            finalise_anyway=data.finalise_anyway,
            unscored_reason=data.unscored_reason,
            no_restriction_reason=data.no_restriction_reason,
        )
        return await self._out(actor, inspection_id)

    @get("/inspections/{inspection_id:int}/findings", responses=api_errors(404))
    async def findings(
        self, request: Request[Any, Any, Any], inspection_id: IdParam
    ) -> list[FindingOut]:
        actor = require_actor(request)
        await inspections.get_inspection(actor, inspection_id)
        return [finding_out(f) for f in await inspections.list_findings(actor, inspection_id)]

    @post("/inspections/{inspection_id:int}/findings", responses=api_errors(403, 404, 409))
    async def add_finding(
        self,
        request: Request[Any, Any, Any],
        inspection_id: IdParam,
        data: JSONBody[FindingIn],
        now: dt.datetime,
    ) -> Response[FindingOut]:
        finding = await inspections.add_finding(require_actor(request), inspection_id, data, now)
        return Response(finding_out(finding), status_code=201)

    @post(
        "/findings/{finding_id:int}/ticket",
        responses={
            **api_errors(403, 404),
            200: ResponseSpec(
                FindingTicketOut,
                description="The finding already had a ticket: that one.",
                generate_examples=False,
            ),
        },
    )
    async def finding_ticket(
        self, request: Request[Any, Any, Any], finding_id: IdParam, now: dt.datetime
    ) -> Response[FindingTicketOut]:
        """Open a repair ticket from a finding, its photos attached. 201 with the new ticket;
        200 with the existing one when the finding already has a ticket."""
        actor = require_actor(request)
        finding = await inspections.get_finding(actor, finding_id)
        existing = finding.ticket
        settings = request.app.state.settings
        ticket_id = await inspections.finding_to_ticket(actor, finding.id, settings.media_path, now)
        return Response(
            FindingTicketOut(finding_id=finding.id, ticket_id=ticket_id),
            status_code=200 if existing else 201,
        )
