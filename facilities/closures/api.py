"""The closures JSON API under /api/v1/closures: the same services as the staff pages, the same
errors as JSON, and the Out shapes the API answers with."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.params import Body, QueryParameter
from litestar.response import Response

from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import Actor
from facilities.assets.services import geometry_object
from facilities.closures import services as closures
from facilities.closures.choices import (
    NoticeSource,
    NoticeState,
    Precision,
    Reason,
    SafetyMeasure,
    Scope,
    Status,
)
from facilities.closures.params import statuses
from facilities.closures.schemas import (
    CancelIn,
    ClosureIn,
    ClosureOut,
    ClosureSummaryOut,
    CriterionOut,
    DraftPublishIn,
    ExtendIn,
    LiftIn,
    LinkedTicketOut,
    LinkTicketIn,
    NoticeIn,
    NoticeOut,
    PromiseOut,
    ProposalOut,
    SignOffIn,
)
from facilities.closures.tables import NoticeUpdate
from facilities.records import to_outs
from facilities.web.auth import staff_guard
from facilities.web.errors import api_errors
from facilities.web.params import IdParam


def closure_out(view: closures.ClosureView) -> ClosureOut:
    """One closure with its linked tickets, promises and reopening gate."""
    c = view.closure
    return ClosureOut(
        id=c.id,
        asset_id=c.asset,
        scope=Scope(c.scope),
        affected_part_zh=c.affected_part_zh,
        affected_part_en=c.affected_part_en,
        crowd_limit=c.crowd_limit,
        hours_zh=c.hours_zh,
        hours_en=c.hours_en,
        reason=Reason(c.reason),
        reason_zh=c.reason_zh,
        reason_en=c.reason_en,
        safety_measures=[SafetyMeasure(m) for m in view.measures],
        detour_zh=c.detour_zh,
        detour_en=c.detour_en,
        extent=geometry_object(c.extent),
        detour_line=geometry_object(c.detour_line),
        fences=geometry_object(c.fences),
        entrances=geometry_object(c.entrances),
        reopening_criteria_zh=c.reopening_criteria_zh,
        reopening_criteria_en=c.reopening_criteria_en,
        effective_from=c.effective_from,
        planned_reopen_on=c.planned_reopen_on,
        reopen_precision=Precision(c.reopen_precision),
        status=Status(c.status),
        is_urgent=c.is_urgent,
        activated_at=c.activated_at,
        lifted_at=c.lifted_at,
        reopens_at=c.reopens_at,
        reopening_announced_at=c.reopening_announced_at,
        signed_off_by=c.signed_off_by,
        signed_off_at=c.signed_off_at,
        override_reason=c.override_reason,
        sequence=c.sequence,
        version=c.version,
        created_at=c.created_at,
        updated_at=c.updated_at,
        ticket_ids=[t["ticket"] for t in view.tickets],
        tickets=[
            LinkedTicketOut(
                ticket_id=t["ticket"],
                title=t["title"],
                status=t["status"],
                public_label_zh=t["public_label_zh"],
                public_label_en=t["public_label_en"],
                public_progress=t["public_progress"],
            )
            for t in view.tickets
        ],
        promises=to_outs(PromiseOut, view.promises),
        gate_open=view.gate.open,
        gate=to_outs(CriterionOut, view.gate.criteria),
    )


def summary_out(row: dict[str, Any]) -> ClosureSummaryOut:
    """A closure in the list."""
    return ClosureSummaryOut(
        id=row["id"],
        asset_id=row["asset"],
        asset_code=row["asset_code"],
        scope=row["scope"],
        reason=row["reason"],
        status=row["status"],
        effective_from=row["effective_from"],
        planned_reopen_on=row["planned_reopen_on"],
        reopen_precision=row["reopen_precision"],
        is_urgent=row["is_urgent"],
        sequence=row["sequence"],
        version=row["version"],
        updated_at=row["updated_at"],
    )


def notice_out(row: NoticeUpdate | dict[str, Any]) -> NoticeOut:
    """A notice update (a row or a selected dict)."""
    values = row if isinstance(row, dict) else row.to_dict()
    return NoticeOut(
        id=values["id"],
        closure_id=values["closure"],
        state=NoticeState(values["state"]),
        source=NoticeSource(values["source"]),
        text_zh=values["text_zh"],
        text_en=values["text_en"],
        created_at=values["created_at"],
        published_at=values["published_at"],
    )


def proposal_out(row: dict[str, Any]) -> ProposalOut:
    """A closure proposed by an inspection rule."""
    return ProposalOut(
        id=row["id"],
        asset_id=row["asset"],
        asset_code=row["asset_code"],
        inspection_id=row["inspection"],
        grade=row["grade"],
        scope=row["scope"],
        reason=row["reason"],
        status=row["status"],
        created_at=row["created_at"],
    )


class ClosureApiController(Controller):
    path = "/api/v1/closures"
    guards = [staff_guard]
    tags = ["closures"]

    async def _out(self, actor: Actor, closure_id: int) -> ClosureOut:
        return closure_out(await closures.closure_view(actor, closure_id))

    @get("/", responses=api_errors())
    async def index(
        self,
        request: Request[Any, Any, Any],
        status: Annotated[
            str,
            QueryParameter(
                name="status",
                pattern=r"^(open|all|planned|active|extended|lifted|cancelled)$",
                description="open (planned or in force, the default), all, or one status",
            ),
        ] = "open",
        asset: Annotated[int | None, QueryParameter(name="asset", ge=1, le=2_147_483_647)] = None,
        bbox: Annotated[
            str,
            QueryParameter(
                max_length=200,
                description="west,south,east,north in WGS-84 degrees: the closures whose "
                "drawings (extent, detour, fences, entrances) or whose facility meet the box",
            ),
        ] = "",
    ) -> list[ClosureSummaryOut]:
        """Closures, newest start first (at most 500)."""
        rows = await closures.list_closures(
            require_actor(request), statuses(status), asset_id=asset, bbox=bbox
        )
        return [summary_out(r) for r in rows]

    @post("/", responses=api_errors(403))
    async def create(
        self, request: Request[Any, Any, Any], data: Annotated[ClosureIn, Body()], now: dt.datetime
    ) -> Response[ClosureOut]:
        """Plan a closure; one whose ``effective_from`` has come is in force at once."""
        actor = require_actor(request)
        closure = await closures.create_closure(actor, data, now)
        return Response(await self._out(actor, closure.id), status_code=201)

    @get("/{closure_id:int}", responses=api_errors(404))
    async def show(self, request: Request[Any, Any, Any], closure_id: IdParam) -> ClosureOut:
        """One closure with its linked tickets, every promise made and the reopening gate."""
        return await self._out(require_actor(request), closure_id)

    @put("/{closure_id:int}", responses=api_errors(403, 404, 409))
    async def update(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        data: Annotated[ClosureIn, Body()],
        now: dt.datetime,
    ) -> ClosureOut:
        """Replace the editable facts; send the ``version`` you read (409 when stale). The
        promised reopening of a closure in force moves only by ``extend``."""
        actor = require_actor(request)
        await closures.update_closure(actor, closure_id, data, now)
        return await self._out(actor, closure_id)

    @post("/{closure_id:int}/extend", status_code=200, responses=api_errors(403, 404, 409))
    async def extend(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        data: Annotated[ExtendIn, Body()],
        now: dt.datetime,
    ) -> ClosureOut:
        """Promise a later reopening, with the reason (the earlier promise stays visible)."""
        actor = require_actor(request)
        await closures.extend(actor, closure_id, data, now)
        return await self._out(actor, closure_id)

    @post("/{closure_id:int}/cancel", status_code=200, responses=api_errors(403, 404, 409))
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        data: Annotated[CancelIn, Body()],
        now: dt.datetime,
    ) -> ClosureOut:
        actor = require_actor(request)
        await closures.cancel(actor, closure_id, data, now)
        return await self._out(actor, closure_id)

    @post("/{closure_id:int}/sign-off", status_code=200, responses=api_errors(403, 404, 409))
    async def sign_off(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        data: Annotated[SignOffIn, Body()],
        now: dt.datetime,
    ) -> ClosureOut:
        """A supervisor's sign-off; 409 until the tickets, the acceptance inspection and the
        grade criteria are met."""
        actor = require_actor(request)
        await closures.sign_off(actor, closure_id, data.version, now)
        return await self._out(actor, closure_id)

    @post("/{closure_id:int}/lift", status_code=200, responses=api_errors(403, 404, 409))
    async def lift(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        data: Annotated[LiftIn, Body()],
        now: dt.datetime,
    ) -> ClosureOut:
        """Lift through the open gate (409 otherwise), or as an administrator with a written
        ``override_reason`` (403 for anyone else)."""
        actor = require_actor(request)
        await closures.lift(actor, closure_id, data, now)
        return await self._out(actor, closure_id)

    @post("/{closure_id:int}/tickets", status_code=200, responses=api_errors(403, 404, 409))
    async def link_ticket(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        data: Annotated[LinkTicketIn, Body()],
        now: dt.datetime,
    ) -> ClosureOut:
        """Link a ticket of the closed asset (again: change its public label)."""
        actor = require_actor(request)
        await closures.link_ticket(actor, closure_id, data, now)
        return await self._out(actor, closure_id)

    @delete("/{closure_id:int}/tickets/{ticket_id:int}", responses=api_errors(403, 404, 409))
    async def unlink_ticket(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        ticket_id: IdParam,
        now: dt.datetime,
    ) -> None:
        await closures.unlink_ticket(require_actor(request), closure_id, ticket_id, now)

    @get("/{closure_id:int}/updates", responses=api_errors(404))
    async def updates(
        self, request: Request[Any, Any, Any], closure_id: IdParam
    ) -> list[NoticeOut]:
        """The notice's timeline, newest first, drafts included (discarded ones left out)."""
        actor = require_actor(request)
        await closures.get_closure(actor, closure_id)
        return [
            notice_out(u) for u in await closures.list_updates(closure_id, published_only=False)
        ]

    @post("/{closure_id:int}/updates", responses=api_errors(403, 404, 409))
    async def write_update(
        self,
        request: Request[Any, Any, Any],
        closure_id: IdParam,
        data: Annotated[NoticeIn, Body()],
        now: dt.datetime,
    ) -> Response[NoticeOut]:
        """Write an update by hand: published at once, or a draft with ``publish: false``."""
        actor = require_actor(request)
        update = await closures.write_update(actor, closure_id, data, now)
        return Response(notice_out(update), status_code=201)

    @get("/drafts", responses=api_errors())
    async def drafts(self, request: Request[Any, Any, Any]) -> list[NoticeOut]:
        """Drafts waiting to be published, oldest first."""
        return [notice_out(r) for r in await closures.list_drafts(require_actor(request))]

    @post("/updates/{update_id:int}/publish", status_code=200, responses=api_errors(403, 404, 409))
    async def publish(
        self,
        request: Request[Any, Any, Any],
        update_id: IdParam,
        data: Annotated[DraftPublishIn, Body()],
        now: dt.datetime,
    ) -> NoticeOut:
        """Publish a draft: ``{}`` as it is, or with ``text_zh``/``text_en`` edited first."""
        actor = require_actor(request)
        await closures.publish_update(actor, update_id, now, data.edited())
        return notice_out(await closures.get_update(actor, update_id))

    @post("/updates/{update_id:int}/discard", status_code=200, responses=api_errors(403, 404, 409))
    async def discard(
        self, request: Request[Any, Any, Any], update_id: IdParam, now: dt.datetime
    ) -> NoticeOut:
        actor = require_actor(request)
        await closures.discard_update(actor, update_id, now)
        return notice_out(await closures.get_update(actor, update_id))

    @get("/proposals", responses=api_errors())
    async def proposals(self, request: Request[Any, Any, Any]) -> list[ProposalOut]:
        """Closures proposed by inspection rules, waiting for a decision."""
        return [proposal_out(r) for r in await closures.list_proposals(require_actor(request))]

    @post("/proposals/{proposal_id:int}/approve", responses=api_errors(403, 404, 409))
    async def approve(
        self, request: Request[Any, Any, Any], proposal_id: IdParam, now: dt.datetime
    ) -> Response[ClosureOut]:
        """Create the proposed closure (in force now) and mark the proposal approved."""
        actor = require_actor(request)
        closure = await closures.approve_proposal(actor, proposal_id, now)
        return Response(await self._out(actor, closure.id), status_code=201)

    @post(
        "/proposals/{proposal_id:int}/dismiss", status_code=204, responses=api_errors(403, 404, 409)
    )
    async def dismiss(
        self, request: Request[Any, Any, Any], proposal_id: IdParam, now: dt.datetime
    ) -> None:
        await closures.dismiss_proposal(require_actor(request), proposal_id, now)
