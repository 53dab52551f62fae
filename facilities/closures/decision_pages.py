"""The staff's pages for what waits on a decision (HTML under /closures): the notice updates
drafted from repair progress, to publish (perhaps edited) or discard, and the closures proposed
by inspections, to approve or dismiss."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Template

from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import can, require
from facilities.closures import services as closures
from facilities.closures.schemas import NoticeIn
from facilities.errors import InvalidTransition, ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib.forms import parse_fields
from facilities.web.auth import staff_guard
from facilities.web.forms import form_values
from facilities.web.params import IdParam
from facilities.web.responses import redirect, render, safe_next


class ClosureDecisionController(Controller):
    path = "/closures"
    guards = [staff_guard]
    include_in_schema = False

    # --- drafts to publish ---------------------------------------------------------------

    @get("/drafts")
    async def drafts(self, request: Request[Any, Any, Any]) -> Template:
        return await self._drafts(request)

    async def _drafts(
        self,
        request: Request[Any, Any, Any],
        status_code: int = 200,
        errors: dict[int, dict[str, str]] | None = None,
        edited: dict[int, dict[str, str]] | None = None,
        message: str = "",
    ) -> Template:
        actor = require_actor(request)
        return render(
            request,
            "closures/drafts.html",
            status_code=status_code,
            drafts=await closures.list_drafts(actor),
            errors=errors or {},
            edited=edited or {},
            message=message,
            can_publish=can(actor, Perm.NOTICES_PUBLISH),
        )

    @post("/drafts/{update_id:int}/publish")
    async def publish_draft(
        self, request: Request[Any, Any, Any], update_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require(require_actor(request), Perm.NOTICES_PUBLISH)
        values = await form_values(request)
        edited: NoticeIn | None = None
        if "text_zh" in values:  # published from the drafts page, perhaps edited
            edited, errors = parse_fields(NoticeIn, {**values, "publish": "true"})
            if edited is None:
                return await self._drafts(
                    request, 400, errors={update_id: errors}, edited={update_id: values}
                )
        try:
            await closures.publish_update(actor, update_id, now, edited)
        except ValidationFailed as exc:
            return await self._drafts(
                request, 400, errors={update_id: exc.errors}, edited={update_id: values}
            )
        except InvalidTransition as exc:
            return await self._drafts(request, 409, message=exc.detail)
        return redirect(safe_next(values.get("next"), "/closures/drafts"), _("Update published."))

    @post("/drafts/{update_id:int}/discard")
    async def discard_draft(
        self, request: Request[Any, Any, Any], update_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require(require_actor(request), Perm.NOTICES_PUBLISH)
        values = await form_values(request)
        try:
            await closures.discard_update(actor, update_id, now)
        except InvalidTransition as exc:
            return await self._drafts(request, 409, message=exc.detail)
        return redirect(safe_next(values.get("next"), "/closures/drafts"), _("Draft discarded."))

    # --- proposals from inspections ------------------------------------------------------

    @post("/proposals/{proposal_id:int}/approve")
    async def approve(
        self, request: Request[Any, Any, Any], proposal_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require_actor(request)
        closure = await closures.approve_proposal(actor, proposal_id, now)
        return redirect(
            f"/closures/{closure.id}",
            _("Closure #%(id)s is in force. Check its notice and link the repair tickets.")
            % {"id": closure.id},
        )

    @post("/proposals/{proposal_id:int}/dismiss")
    async def dismiss(
        self, request: Request[Any, Any, Any], proposal_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = require_actor(request)
        await closures.dismiss_proposal(actor, proposal_id, now)
        return redirect("/closures", _("Proposal dismissed."))
