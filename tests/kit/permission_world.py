"""The world the permission matrix acts in: one of everything the staff routes act on
(``build_world``), the ``Rule`` of a route (who, URL, body, success) and the body builders the
rules use, and ``call``: a route called as a browser would."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from facilities.accounts import services as accounts
from facilities.accounts.choices import Role
from facilities.accounts.permissions import SYSTEM, Actor
from facilities.accounts.schemas import TokenCreate, UserCreate, UserUpdate
from facilities.accounts.tables import ApiToken, StaffUser
from facilities.assets.tables import Asset, Component, Site
from facilities.closures import services as closures
from facilities.closures.schemas import LinkTicketIn, NoticeIn
from facilities.closures.tables import Closure
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType, Recommendation, Trigger, Urgency
from facilities.inspections.schemas import ConditionIn, FindingIn, InspectionIn, RecordIn
from facilities.inspections.tables import (
    ClosureProposal,
    Inspection,
    InspectionReport,
    InspectionSchedule,
)
from facilities.reports import services as reports
from facilities.reports.schemas import KeyCreate
from facilities.reports.tables import Open311Key, ReportPhoto, ServiceRequest
from facilities.tickets import services as tickets
from facilities.tickets.choices import PhotoTag
from facilities.tickets.choices import Status as TicketStatus
from tests.kit.assets import make_asset, make_component, make_site
from tests.kit.clients import csrf_token
from tests.kit.closures import inspect, make_closure
from tests.kit.constants import ZONE
from tests.kit.inspections import make_schedule, make_team
from tests.kit.media import jpeg, png_bytes
from tests.kit.personas import PASSWORD
from tests.kit.reports import make_report
from tests.kit.tickets import drive_to, make_ticket, transition_data


def asset_body(site_id: int, code: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name_zh": "安全测试桥",
        "asset_type": "footbridge",
        "site_id": site_id,
    }
    body.update(overrides)
    return body


class World(dict[str, Any]):
    """The records the routes act on, by name: ``world.ticket`` in a body builder, ``{ticket}``
    in a URL. A rule's ``fresh`` builder adds ``{fresh}``: a record of its own for one call."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


Body = Callable[[World, str], Awaitable[dict[str, Any]]]
Fresh = Callable[[World], Awaitable[int]]


@dataclasses.dataclass(frozen=True)
class Rule:
    """Who may use a route, the URL to call, what to send, and what success looks like."""

    allowed: frozenset[str]
    url: Callable[[World], str]
    body: Body | None = None
    ok: int = 200
    fresh: Fresh | None = None  # builds the record this call acts on (a state change is once)
    writes: bool = True  # a non-GET route that only computes (a preview) writes nothing


def at(path: str) -> Callable[[World], str]:
    return lambda world: path.format(**world)


async def current_version(table: Any, row_id: int) -> int:
    row = await table.select(table.version).where(table.id == row_id).first()
    return int(row["version"])


def fixed(values: dict[str, Any]) -> Body:
    async def body(world: World, who: str) -> dict[str, Any]:
        return dict(values)

    return body


def versioned(table: Any, key: str = "fresh", **values: Any) -> Body:
    """``{"version": <the row's version now>, **values}``."""

    async def body(world: World, who: str) -> dict[str, Any]:
        return {"version": await current_version(table, world[key]), **values}

    return body


def as_form(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-ish values as an HTML form sends them (lists stay lists: repeated fields)."""
    form: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            form[key] = ""
        elif isinstance(value, bool):
            form[key] = "true" if value else "false"
        elif isinstance(value, list):
            form[key] = [str(v) for v in value]
        elif isinstance(value, dt.date | dt.datetime):
            form[key] = value.isoformat()
        else:
            form[key] = str(value)
    return form


def form(body: Body) -> Body:
    async def wrapped(world: World, who: str) -> dict[str, Any]:
        return as_form(await body(world, who))

    return wrapped


def png_file() -> tuple[str, bytes, str]:
    return ("photo.png", png_bytes(), "image/png")


# assets, sites, components, users, tokens, password


async def site_form(world: World, who: str) -> dict[str, Any]:
    return {"name_zh": f"矩阵公园-{who}", "kind": "park"}


async def site_api_form(world: World, who: str) -> dict[str, Any]:
    return {"name_zh": f"接口公园-{who}", "kind": "park"}


async def site_update(world: World, who: str) -> dict[str, Any]:
    version = await current_version(Site, world.site)
    return {"name_zh": f"矩阵改名-{who}", "kind": "plaza", "version": version}


async def asset_form(world: World, who: str) -> dict[str, Any]:
    return asset_body(world.site, f"GX-M-{who.upper()}")


async def asset_api_form(world: World, who: str) -> dict[str, Any]:
    return asset_body(world.site, f"GX-API-{who.upper()}")


async def asset_update(world: World, who: str) -> dict[str, Any]:
    code = (await Asset.select(Asset.code).where(Asset.id == world.asset).first())["code"]
    version = await current_version(Asset, world.asset)
    return asset_body(world.site, code, name_zh=f"改名-{who}", version=version)


async def component_form(world: World, who: str) -> dict[str, Any]:
    return {"name_zh": f"吊杆-{who}", "kind": "other", "group": "ancillary"}


async def component_update(world: World, who: str) -> dict[str, Any]:
    version = await current_version(Component, world.component)
    return {"name_zh": f"主缆-{who}", "kind": "other", "group": "ancillary", "version": version}


async def user_form(world: World, who: str) -> dict[str, Any]:
    return {
        "username": f"new-{who}",
        "display_name": "New",
        "role": "viewer",
        "password": "a long enough password",
    }


async def user_update(world: World, who: str) -> dict[str, Any]:
    version = await current_version(StaffUser, world.user)
    return {
        "display_name": f"Renamed by {who}",
        "role": "crew",
        "is_active": "true",
        "version": version,
    }


async def token_form(world: World, who: str) -> dict[str, Any]:
    return {"name": f"token-{who}", "user_id": world.user, "scopes": "tickets:read"}


async def password_form(world: World, who: str) -> dict[str, Any]:
    new = f"{who}'s brand new passphrase"
    return {"current_password": PASSWORD, "new_password": new, "confirm_password": new}


# tickets


async def triaged_ticket(world: World, **assignment: Any) -> int:
    """A ticket in "triaged" assigned to carol (the crew): "start" is open to the workers
    (admin, supervisor, crew) on work assigned to them; ``assignment`` assigns it otherwise."""
    alice = world.actors["alice"]
    assignment = assignment or {"assignee_id": world.actors["carol"].id}
    ticket = await make_ticket(alice, asset_id=world.asset, now=world.now, **assignment)
    await drive_to(ticket.id, TicketStatus.TRIAGED, alice, world.now)
    return int(ticket.id)


async def scheduled_ticket(world: World) -> int:
    """A triaged ticket planned for three days (the work calendar moves its bar)."""
    return await triaged_ticket(
        world,
        assignee_id=world.actors["carol"].id,
        planned_start_on=dt.date(2026, 12, 14),
        planned_end_on=dt.date(2026, 12, 16),
    )


# --- assignment scope: who may act on whose work -------------------------------------------
#: The team carol (crew) works in, and the one bob (inspector) works in.
CREW_TEAM = "东区维修班"
INSPECTION_TEAM = "桥梁巡检一队"


async def unassigned_ticket(world: World) -> int:
    """A triaged ticket nobody is assigned to: crew take it first ("Take it")."""
    return await triaged_ticket(world, assignee_id=None)


def ticket_assigned(whose: str) -> Fresh:
    """A triaged ticket assigned to ``whose``: "own" (carol), "team" (carol's team, nobody by
    name), "other" (erin, another crew member), "other_team", or "unassigned"."""

    async def fresh(world: World) -> int:
        assignments: dict[str, dict[str, Any]] = {
            "own": {"assignee_id": world.actors["carol"].id},
            "team": {"assignee_team": CREW_TEAM},
            "other": {"assignee_id": world.erin},
            "other_team": {"assignee_team": "西区维修班"},
            "unassigned": {"assignee_id": None},
        }
        return await triaged_ticket(world, **assignments[whose])

    return fresh


def completed_ticket(completer: str) -> Fresh:
    """A ticket whose work ``completer`` (a persona) marked complete, waiting for acceptance;
    assigned to carol, so she may complete it."""

    async def fresh(world: World) -> int:
        ticket_id = await triaged_ticket(world)
        who = world.actors[completer]
        for action in (tickets.Action.START, tickets.Action.COMPLETE):
            ticket = await tickets.find_ticket(ticket_id)
            assert ticket is not None
            await tickets.transition(who, ticket_id, transition_data(action, ticket, 0), world.now)
        return ticket_id

    return fresh


def inspection_assigned(whose: str) -> Fresh:
    """A planned inspection assigned to ``whose``: "own" (bob), "team" (bob's team), "other"
    (frank, another inspector), "other_team" or "unassigned"."""

    async def fresh(world: World) -> int:
        assignments: dict[str, dict[str, Any]] = {
            "own": {"inspector_id": world.actors["bob"].id},
            "team": {"team_id": world.inspection_team},
            "other": {"inspector_id": world.frank},
            "other_team": {"team_id": world.other_team},
            "unassigned": {},
        }
        raised = await inspections.create_inspection(
            world.actors["alice"],
            InspectionIn(
                asset_id=world.asset,
                inspection_type=InspectionType.SPECIAL,
                trigger=Trigger.EVENT,
                due_on=dt.date(2026, 11, 30),
                **assignments[whose],
            ),
            ZONE,
            world.now,
        )
        return int(raised.id)

    return fresh


async def _join_team(user_id: int, team: str, now: dt.datetime) -> None:
    user = await accounts.get_user(user_id)
    await accounts.update_user(
        SYSTEM,
        user.id,
        UserUpdate(
            display_name=user.display_name,
            email=user.email,
            role=user.role,
            language=user.language,
            team=team,
            is_active=True,
            version=user.version,
        ),
        now,
    )


async def _colleague(username: str, role: Role, now: dt.datetime) -> int:
    user = await accounts.create_user(
        SYSTEM,
        UserCreate(username=username, display_name=username.title(), role=role, password=PASSWORD),
        now,
    )
    return int(user.id)


async def scope_world(personas: dict[str, Actor], now: dt.datetime) -> dict[str, Any]:
    """carol in CREW_TEAM and bob in INSPECTION_TEAM (their next login carries it), a crew
    colleague erin and an inspector frank whose work is someone else's, and the teams."""
    await _join_team(personas["carol"].id, CREW_TEAM, now)
    await _join_team(personas["bob"].id, INSPECTION_TEAM, now)
    return {
        "erin": await _colleague("erin", Role.CREW, now),
        "frank": await _colleague("frank", Role.INSPECTOR, now),
        "inspection_team": await make_team(INSPECTION_TEAM),
        "other_team": await make_team("桥梁巡检二队", email="bridges2@bureau.example"),
    }


async def ticket_new(world: World, who: str) -> dict[str, Any]:
    return {"asset_id": world.asset, "title": f"矩阵工单-{who}", "priority": "P2"}


async def ticket_edit(world: World, who: str) -> dict[str, Any]:
    ticket = await tickets.find_ticket(world.ticket)
    assert ticket is not None
    values = {k: v for k, v in tickets.snapshot(ticket).items() if k != "status"}
    values.update(title=f"矩阵改题-{who}", version=ticket.version)
    return json.loads(json.dumps(values, default=str))


async def comment(world: World, who: str) -> dict[str, Any]:
    return {"body": f"矩阵评论-{who}"}


async def attachment(world: World, who: str) -> dict[str, Any]:
    return {"file": png_file(), "tag": "during", "caption": f"矩阵-{who}"}


SLA_FORM = {"P0": "48", "P1": "168", "P2": "720", "P3": "2160"}  # P0 moves from 24 h to 48 h

# inspections


async def raise_inspection(world: World) -> Any:
    return await inspections.create_inspection(
        world.actors["alice"],
        InspectionIn(
            asset_id=world.asset,
            inspection_type=InspectionType.SPECIAL,
            trigger=Trigger.EVENT,
            due_on=dt.date(2026, 11, 30),
        ),
        ZONE,
        world.now,
    )


async def planned_inspection(world: World) -> int:
    return int((await raise_inspection(world)).id)


async def started_inspection(world: World) -> int:
    """In progress, every component scored and a recommendation chosen, so that submitting and
    finalising it are refused for permissions only (issue 16: no default recommendation, and
    unscored components ask for a reason)."""
    raised = await raise_inspection(world)
    bob = world.actors["bob"]
    started = await inspections.start(bob, raised.id, raised.version, world.now)
    parts = await Component.select(Component.id).where(Component.asset == world.asset)
    await inspections.save_record(
        bob,
        started.id,
        RecordIn(
            version=started.version,
            recommendation=Recommendation.NONE,
            conditions=[ConditionIn(component_id=p["id"], score=90) for p in parts],
        ),
        world.now,
    )
    return int(started.id)


async def submitted_inspection(world: World) -> int:
    bob = world.actors["bob"]
    started = await inspections.get_inspection(bob, await started_inspection(world))
    submitted = await inspections.submit(bob, started.id, started.version, world.now)
    return int(submitted.id)


async def unfiled_final_inspection(world: World) -> int:
    """Final, its report not filed (as when the filing at finalisation failed): filing it is
    the supervisors' write."""
    submitted = await inspections.get_inspection(SYSTEM, await submitted_inspection(world))
    await inspections.finalise(
        world.actors["alice"], submitted.id, submitted.version, ZONE, world.media, world.now
    )
    await InspectionReport.delete().where(InspectionReport.inspection == submitted.id)
    return int(submitted.id)


async def open_finding(world: World) -> int:
    # by the supervisor: once someone else recorded world.inspection it is theirs, not bob's
    finding = await inspections.add_finding(
        world.actors["alice"],
        world.inspection,
        FindingIn(description="栏杆松动 / loose railing", urgency=Urgency.PLANNED),
        world.now,
    )
    return int(finding.id)


async def schedule_new(world: World, who: str) -> dict[str, Any]:
    return {
        "asset_id": world.asset,
        "inspection_type": "patrol",
        "rrule": "FREQ=WEEKLY;BYDAY=MO",
        "anchor": "fixed",
        "starts_on": "2026-01-05",
        "start_time": "08:00",
        "lead_days": 1,
        "tolerance_days": 2,
    }


async def schedule_edit(world: World, who: str) -> dict[str, Any]:
    version = await current_version(InspectionSchedule, world.schedule)
    lead = {"admin": 1, "alice": 2}.get(who, 3)
    return {**await schedule_new(world, who), "lead_days": lead, "version": version}


async def defaults(world: World, who: str) -> dict[str, Any]:
    return {"asset_id": world.bare_asset}  # an asset without schedules: the defaults add some


async def inspection_new(world: World, who: str) -> dict[str, Any]:
    return {"asset_id": world.asset, "inspection_type": "special", "due_on": "2026-12-01"}


async def record_form(world: World, who: str) -> dict[str, Any]:
    return {
        "version": await current_version(Inspection, world.inspection),
        "summary": f"矩阵记录-{who}",
        f"score__{world.component}": "80",
    }


async def record_api(world: World, who: str) -> dict[str, Any]:
    return {
        "version": await current_version(Inspection, world.inspection),
        "summary": f"接口记录-{who}",
        "conditions": [{"component_id": world.component, "score": 75}],
    }


async def finding_new(world: World, who: str) -> dict[str, Any]:
    return {"description": f"矩阵发现-{who}", "severity": "minor", "urgency": "planned"}


async def inspection_photo(world: World, who: str) -> dict[str, Any]:
    return {"file": png_file(), "caption": f"矩阵-{who}"}


# closures


async def closure_on_asset(world: World) -> int:
    return int((await make_closure(world.actors["alice"], asset_id=world.asset, now=world.now)).id)


async def verified_closure(world: World) -> int:
    """A closure whose repair is verified (a passed acceptance inspection, grade B, no open
    ticket): a supervisor may sign it off."""
    asset = await make_asset()
    closure = await make_closure(world.actors["alice"], asset, world.now)
    await inspect(
        world.actors["bob"], world.actors["alice"], asset, world.now, 85, media_root=world.media
    )
    return int(closure.id)


async def open_gate_closure(world: World) -> int:
    """A verified and signed-off closure: every reopening criterion is met, so a supervisor may
    lift it without the administrator's override (the override is test_closures_gate's)."""
    closure_id = await verified_closure(world)
    version = await current_version(Closure, closure_id)
    await closures.sign_off(world.actors["alice"], closure_id, version, world.now)
    return closure_id


async def linked_closure(world: World) -> int:
    """A closure of the world's asset with the world's ticket linked (to unlink)."""
    closure_id = await closure_on_asset(world)
    await closures.link_ticket(
        world.actors["alice"],
        closure_id,
        LinkTicketIn(ticket_id=world.ticket, public_label_zh="桥面更换"),
        world.now,
    )
    return closure_id


async def draft_update(world: World) -> int:
    row = await closures.write_update(
        world.actors["alice"],
        world.closure,
        NoticeIn(text_zh="草稿 / draft", publish=False),
        world.now,
    )
    return int(row.id)


async def proposal(world: World) -> int:
    """A closure proposed by the inspection rules (inserted as the rule engine does)."""
    row = ClosureProposal(
        asset=world.asset,
        inspection=world.inspection,
        scope="full",
        reason="",
        created_at=world.now,
    )
    await row.save()
    return int(row.id)


async def closure_new(world: World, who: str) -> dict[str, Any]:
    return {
        "asset_id": world.asset,
        "scope": "full",
        "reason": "repair_works",
        "reason_zh": f"矩阵封闭-{who}",
        "safety_measures": ["fencing", "warning_signs"],
        "effective_from": "2026-01-05T01:00:00Z",
        "planned_reopen_on": "2027-05-01",
        "reopen_precision": "before",
    }


async def closure_new_form(world: World, who: str) -> dict[str, Any]:
    return as_form({**await closure_new(world, who), "effective_from": "2026-01-05T09:00"})


async def closure_edit(world: World, who: str) -> dict[str, Any]:
    closure = await closures.find_closure(world.closure)
    assert closure is not None
    values = {name: getattr(closure, name) for name in closures.EDITABLE}
    values.update(
        asset_id=closure.asset,
        reason_en=f"edited by {who}",
        safety_measures=json.loads(closure.safety_measures),
        planned_reopen_on=closure.planned_reopen_on,
        reopen_precision=closure.reopen_precision,
        version=closure.version,
    )
    return json.loads(json.dumps(values, default=lambda v: v.isoformat()))


async def closure_edit_form(world: World, who: str) -> dict[str, Any]:
    values = await closure_edit(world, who)
    closure = await closures.find_closure(world.closure)
    assert closure is not None
    values["effective_from"] = closure.effective_from.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M")
    return as_form(values)


async def extension(world: World, who: str) -> dict[str, Any]:
    """Repeatable: one day later than the current promise."""
    closure = await closures.find_closure(world.closure)
    assert closure is not None and closure.planned_reopen_on is not None
    return {
        "version": closure.version,
        "planned_reopen_on": (closure.planned_reopen_on + dt.timedelta(days=1)).isoformat(),
        "reason_zh": f"材料延误-{who}",
    }


def link(channel: str) -> Body:
    async def body(world: World, who: str) -> dict[str, Any]:
        return {"ticket_id": world.ticket, "public_label_zh": f"{channel}-{who}"}

    return body


async def notice(world: World, who: str) -> dict[str, Any]:
    return {"text_zh": f"矩阵通告-{who}", "publish": True}


# triage


async def new_report(world: World) -> int:
    submitted = await make_report(world.asset_row, now=world.now, media_root=world.media)
    return int(submitted.report.id)


def triage(**values: Any) -> Body:
    return versioned(ServiceRequest, **values)


async def merge(world: World, who: str) -> dict[str, Any]:
    return {
        "version": await current_version(ServiceRequest, world.fresh),
        "ticket_id": world.ticket,
    }


async def key_form(world: World, who: str) -> dict[str, Any]:
    return {"name": f"client-{who}", "contact": ""}


async def build_world(personas: dict[str, Actor], now: dt.datetime, media: Path) -> World:
    """One of everything the routes act on, built through the services."""
    from tests.kit.admin_api_world import policy_world  # it builds on this module
    from tests.kit.money import money_world  # so does this one

    alice, bob = personas["alice"], personas["bob"]
    site = await make_site()
    asset = await make_asset(site)
    component = await make_component(asset)
    target = await accounts.create_user(
        SYSTEM,
        UserCreate(username="target", display_name="Target", role=Role.VIEWER, password=PASSWORD),
        now,
    )
    await accounts.create_api_token(SYSTEM, TokenCreate(name="matrix", user_id=target.id), now)
    (token,) = await ApiToken.select(ApiToken.id)
    ticket = await make_ticket(alice, asset, now)
    ticket_file = await tickets.add_attachment(
        alice, ticket.id, png_bytes(), "photo.png", PhotoTag.BEFORE, "", media, 5_000_000, now
    )
    schedule = await make_schedule(alice, asset, now)
    inspection = await inspections.create_inspection(
        alice,
        InspectionIn(asset_id=asset.id, inspection_type=InspectionType.SPECIAL, due_on=now.date()),
        ZONE,
        now,
    )
    photo = await inspections.add_photo(
        bob, inspection.id, png_bytes(), None, "", media, 5_000_000, now
    )
    closure = await make_closure(alice, asset, now, is_urgent=True)  # with a CAP alert
    report = await make_report(asset, now=now, media_root=media, photos=(jpeg(),))
    (report_photo,) = await ReportPhoto.select(ReportPhoto.id).where(
        ReportPhoto.report == report.report.id
    )
    await reports.create_key(SYSTEM, KeyCreate(name="matrix client"), now)
    (key,) = await Open311Key.select(Open311Key.id)
    return World(
        site=site.id,
        asset=asset.id,
        asset_row=asset,
        bare_asset=(await make_asset(site)).id,
        component=component.id,
        user=target.id,
        token=token["id"],
        ticket=ticket.id,
        attachment=ticket_file.id,
        schedule=schedule.id,
        inspection=inspection.id,
        photo=photo.id,
        closure=closure.id,
        report=report.report.id,
        report_photo=report_photo["id"],
        key=key["id"],
        actors=personas,
        media=media,
        now=now,
        **await scope_world(personas, now),
        **await policy_world(now),  # tests/kit/admin_api_world.py
        **await money_world(personas, now),  # tests/kit/money.py
    )


async def call(
    client: httpx.AsyncClient, key: str, rule: Rule, world: World, who: str, csrf: bool = True
) -> httpx.Response:
    """Call the route as a browser would: forms with the CSRF field, JSON with the CSRF header,
    uploads as multipart (``csrf=False`` leaves the token out)."""
    method, _path = key.split(" ", 1)
    url = rule.url(world)
    if method == "GET":
        return await client.get(url)
    body = await rule.body(world, who) if rule.body else {}
    files = {k: v for k, v in body.items() if isinstance(v, tuple)}
    data = {k: v for k, v in body.items() if k not in files}
    token = await csrf_token(client)
    if url.startswith("/api/") and not files:
        headers = {"x-csrftoken": token} if csrf else {}
        if method == "DELETE":
            return await client.request(method, url, headers=headers)
        return await client.request(method, url, json=data, headers=headers)
    if url.startswith("/api/"):
        headers = {"x-csrftoken": token} if csrf else {}
        return await client.request(method, url, data=data, files=files, headers=headers)
    if csrf:
        data["_csrf_token"] = token
    return await client.request(method, url, data=data, files=files or None)


async def prepared(rule: Rule, world: World) -> World:
    if rule.fresh is None:
        return world
    return World(world, fresh=await rule.fresh(world))
