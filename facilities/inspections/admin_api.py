"""The inspection policy data as JSON: teams (/api/v1/teams), checklist templates
(/api/v1/checklists) and rules (/api/v1/rules). All staff read them; supervisors and
administrators (schedules.edit) create and change teams and checklists and switch rules on and
off (see :mod:`facilities.inspections.services.policy_editing` for versions and why nothing here
is deleted). Token scope: inspections.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody
from litestar.response import Response

from facilities.accounts.guards import require_actor
from facilities.inspections import services as inspections
from facilities.inspections.schemas_policy import (
    ChecklistIn,
    ChecklistOut,
    ChecklistUpdate,
    RuleIn,
    RuleOut,
    TeamIn,
    TeamOut,
    TeamUpdate,
)
from facilities.records import to_out
from facilities.web.auth import staff_guard
from facilities.web.errors import api_errors
from facilities.web.params import IdParam


def team_out(row: dict[str, Any]) -> TeamOut:
    return TeamOut(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        lead_id=row["lead"],
        version=row["version"],
    )


class InspectionPolicyApiController(Controller):
    path = "/api/v1"
    guards = [staff_guard]
    tags = ["inspections"]

    @get("/teams", responses=api_errors())
    async def list_teams(self, request: Request[Any, Any, Any]) -> list[TeamOut]:
        """Teams by name (schedules and inspections are assigned to one)."""
        return [team_out(r) for r in await inspections.list_team_rows(require_actor(request))]

    @post("/teams", responses=api_errors(403))
    async def create_team(
        self, request: Request[Any, Any, Any], data: JSONBody[TeamIn], now: dt.datetime
    ) -> Response[TeamOut]:
        """400 naming ``name`` when a team of that name exists."""
        row = await inspections.create_team(require_actor(request), data, now)
        return Response(team_out(row), status_code=201)

    @get("/teams/{team_id:int}", responses=api_errors(404))
    async def get_team(self, request: Request[Any, Any, Any], team_id: IdParam) -> TeamOut:
        return team_out(await inspections.get_team(require_actor(request), team_id))

    @put("/teams/{team_id:int}", responses=api_errors(403, 404, 409))
    async def update_team(
        self,
        request: Request[Any, Any, Any],
        team_id: IdParam,
        data: JSONBody[TeamUpdate],
        now: dt.datetime,
    ) -> TeamOut:
        """Replace the team; send the ``version`` you read. Renaming moves its members (the
        accounts naming it) to the new name."""
        row = await inspections.update_team(
            require_actor(request), team_id, data, data.version, now
        )
        return team_out(row)

    @get("/checklists", responses=api_errors())
    async def list_checklists(self, request: Request[Any, Any, Any]) -> list[ChecklistOut]:
        """Checklist templates by code, with their items."""
        rows = await inspections.list_checklist_rows(require_actor(request))
        return [to_out(ChecklistOut, r) for r in rows]

    @post("/checklists", responses=api_errors(403))
    async def create_checklist(
        self, request: Request[Any, Any, Any], data: JSONBody[ChecklistIn], now: dt.datetime
    ) -> Response[ChecklistOut]:
        """400 naming ``code`` when that code is taken, ``items`` when two share a key."""
        row = await inspections.create_checklist(require_actor(request), data, now)
        return Response(to_out(ChecklistOut, row), status_code=201)

    @get("/checklists/{checklist_id:int}", responses=api_errors(404))
    async def get_checklist(
        self, request: Request[Any, Any, Any], checklist_id: IdParam
    ) -> ChecklistOut:
        row = await inspections.get_checklist(require_actor(request), checklist_id)
        return to_out(ChecklistOut, row)

    @put("/checklists/{checklist_id:int}", responses=api_errors(403, 404, 409))
    async def update_checklist(
        self,
        request: Request[Any, Any, Any],
        checklist_id: IdParam,
        data: JSONBody[ChecklistUpdate],
        now: dt.datetime,
    ) -> ChecklistOut:
        """Replace the checklist (its items as a whole); send the ``version`` you read."""
        row = await inspections.update_checklist(
            require_actor(request), checklist_id, data, data.version, now
        )
        return to_out(ChecklistOut, row)

    @get("/rules", responses=api_errors())
    async def list_rules(self, request: Request[Any, Any, Any]) -> list[RuleOut]:
        """The rules a final inspection sets off, by code."""
        rows = await inspections.list_rule_rows(require_actor(request))
        return [to_out(RuleOut, r) for r in rows]

    @get("/rules/{rule_id:int}", responses=api_errors(404))
    async def get_rule(self, request: Request[Any, Any, Any], rule_id: IdParam) -> RuleOut:
        return to_out(RuleOut, await inspections.get_rule(require_actor(request), rule_id))

    @put("/rules/{rule_id:int}", responses=api_errors(403, 404, 409))
    async def update_rule(
        self,
        request: Request[Any, Any, Any],
        rule_id: IdParam,
        data: JSONBody[RuleIn],
        now: dt.datetime,
    ) -> RuleOut:
        """Switch the rule on or off and restate its basis and description; send the
        ``version`` you read (the rule's next version is one higher)."""
        row = await inspections.update_rule(require_actor(request), rule_id, data, now)
        return to_out(RuleOut, row)
