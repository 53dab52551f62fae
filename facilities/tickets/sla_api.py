"""The SLA policy JSON API under /api/v1/sla: the hours each priority allows, read by all staff
and changed by administrators, as on /tickets/sla. The policy is versioned as a whole
(``tickets.sla_policy_version``) so a client editing it from a stale read gets 409, not a
silent overwrite of someone else's change.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, put
from litestar.params import JSONBody

from facilities.accounts.choices import Perm
from facilities.accounts.guards import permission_guard, require_actor
from facilities.tickets import services as tickets
from facilities.tickets.choices import Priority
from facilities.web.auth import staff_guard
from facilities.web.errors import api_errors

#: Hours allowed to repair, as the page accepts them (1 h to 366 days).
Hours = Annotated[int, msgspec.Meta(ge=1, le=24 * 366)]


class SlaHours(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    P0: Hours
    P1: Hours
    P2: Hours
    P3: Hours


class SlaPolicyOut(msgspec.Struct, kw_only=True):
    """Hours allowed per priority, and the policy's version (send it back to change it)."""

    hours: SlaHours
    version: int


class SlaPolicyIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The whole policy: every priority's hours, and the ``version`` you read."""

    hours: SlaHours
    version: Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)]


async def policy_out() -> SlaPolicyOut:
    hours = await tickets.sla_hours()
    return SlaPolicyOut(
        hours=SlaHours(**{p.value: hours[p] for p in Priority}),
        version=await tickets.sla_policy_version(),
    )


class SlaApiController(Controller):
    path = "/api/v1/sla"
    guards = [staff_guard]
    tags = ["tickets"]

    @get("/", responses=api_errors())
    async def show(self, request: Request[Any, Any, Any]) -> SlaPolicyOut:
        """The policy new tickets' due dates follow (open tickets keep theirs)."""
        require_actor(request)
        return await policy_out()

    @put("/", guards=[permission_guard(Perm.SLA_EDIT)], responses=api_errors(403, 409))
    async def update(
        self, request: Request[Any, Any, Any], data: JSONBody[SlaPolicyIn], now: dt.datetime
    ) -> SlaPolicyOut:
        """Replace the policy (administrators); 409 when it changed since ``version``. Each
        priority whose hours change is audited, as on the page."""
        hours = {p: int(getattr(data.hours, p.value)) for p in Priority}
        await tickets.set_sla_policy(require_actor(request), hours, data.version, now)
        return await policy_out()
