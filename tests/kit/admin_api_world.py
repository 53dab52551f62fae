"""The records and bodies the permission matrix needs for the users, tokens, SLA, policy-data and
jobs API (issue 19, item 8): a team and a checklist of the matrix's own, the grade C rule, and
the bodies each route is called with."""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities.accounts import services as accounts
from facilities.accounts.choices import Role
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.schemas import TokenCreate, UserCreate
from facilities.accounts.tables import ApiToken, StaffUser
from facilities.inspections import services as inspections
from facilities.inspections.schemas_policy import ChecklistIn, TeamIn
from facilities.inspections.tables import Rule
from facilities.tickets import services as tickets
from tests.kit.permission_world import World, current_version
from tests.kit.personas import PASSWORD


async def policy_world(now: dt.datetime) -> dict[str, Any]:
    """The default policy (checklists, rules), and a team and a checklist the matrix edits."""
    await inspections.ensure_policy()
    team = await inspections.create_team(SYSTEM, TeamIn(name="矩阵维修队"), now)
    checklist = await inspections.create_checklist(
        SYSTEM, ChecklistIn(code="matrix_check", name_zh="矩阵检查表"), now
    )
    rule = await Rule.select(Rule.id).where(Rule.code == "grade_c").first()
    assert rule is not None
    return {"matrix_team": team["id"], "checklist": checklist["id"], "rule": rule["id"]}


async def api_user_new(world: World, who: str) -> dict[str, Any]:
    return {
        "username": f"api-{who}",
        "display_name": "API",
        "role": "viewer",
        "password": "a long enough password",
    }


async def api_user_update(world: World, who: str) -> dict[str, Any]:
    return {
        "display_name": f"API renamed by {who}",
        "role": "crew",
        "is_active": True,
        "version": await current_version(StaffUser, world.user),
    }


async def fresh_user(world: World) -> int:
    """An account of its own to deactivate (version 1)."""
    count = await StaffUser.count()
    user = await accounts.create_user(
        SYSTEM,
        UserCreate(
            username=f"leaver-{count}", display_name="Leaver", role=Role.CREW, password=PASSWORD
        ),
        world.now,
    )
    return int(user.id)


async def api_token_new(world: World, who: str) -> dict[str, Any]:
    return {"name": f"api-token-{who}", "user_id": world.user, "scopes": ["tickets:read"]}


async def fresh_token(world: World) -> int:
    await accounts.create_api_token(
        SYSTEM, TokenCreate(name="to revoke", user_id=world.user), world.now
    )
    row = await ApiToken.select(ApiToken.id).order_by(ApiToken.id, ascending=False).first()
    assert row is not None
    return int(row["id"])


async def sla_policy(world: World, who: str) -> dict[str, Any]:
    # P0 from 24 h (or the page's 48 h) to 36 h
    hours = {"P0": 36, "P1": 168, "P2": 720, "P3": 2160}
    return {"hours": hours, "version": await tickets.sla_policy_version()}


async def team_new(world: World, who: str) -> dict[str, Any]:
    return {"name": f"矩阵新队-{who}"}


async def team_update(world: World, who: str) -> dict[str, Any]:
    team = await inspections.get_team(SYSTEM, world.matrix_team)
    return {"name": f"矩阵维修队-{who}", "version": team["version"]}


async def checklist_new(world: World, who: str) -> dict[str, Any]:
    return {"code": f"matrix_{who}", "name_zh": f"矩阵新检查表-{who}"}


async def checklist_update(world: World, who: str) -> dict[str, Any]:
    checklist = await inspections.get_checklist(SYSTEM, world.checklist)
    return {
        "code": "matrix_check",
        "name_zh": f"矩阵检查表-{who}",
        "items": [{"key": "railing", "zh": "栏杆牢固"}],
        "version": checklist["version"],
    }


async def rule_update(world: World, who: str) -> dict[str, Any]:
    return {"enabled": True, "version": await current_version(Rule, world.rule)}
