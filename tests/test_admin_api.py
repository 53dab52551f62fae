"""The policy and operations API (issue 19, item 8): the SLA policy (/api/v1/sla), teams,
checklist templates and rules (/api/v1/teams, /checklists, /rules) and the scheduler's jobs
(/api/v1/jobs, run now). Same services, role checks, versions (409) and audit as the pages."""

from __future__ import annotations

from typing import Any

import pytest

from facilities.accounts import services as accounts
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.schemas import TokenCreate
from facilities.accounts.tables import StaffUser
from facilities.audit.tables import AuditEvent
from facilities.inspections.tables import ChecklistTemplate, Rule, Team
from facilities.jobs import services as jobs
from facilities.jobs.tables import JobRun
from facilities.records import loads
from facilities.tickets import services as tickets
from facilities.tickets.choices import Priority
from facilities.tickets.tables import SlaPolicy
from scheduler import registry
from tests.kit.clients import client_for_app, mentions
from tests.kit.pages import Page

pytestmark = pytest.mark.usefixtures("seeded_policy")

HOURS = {"P0": 12, "P1": 168, "P2": 720, "P3": 2160}


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "accept": "application/json"}


# --- the SLA policy --------------------------------------------------------------------------


async def test_sla_reads_as_the_page_shows_it(api):
    admin, dave = await api("admin"), await api("dave")
    policy = await dave.get("/api/v1/sla")

    assert policy.status_code == 200
    values = Page((await admin.client.get("/tickets/sla")).text).values
    assert {p: str(h) for p, h in policy.json()["hours"].items()} == {p: values[p] for p in HOURS}


async def test_sla_put_is_admin_only_version_checked_and_audited(api):
    admin, alice = await api("admin"), await api("alice")
    read = (await admin.get("/api/v1/sla")).json()

    refused = await alice.put("/api/v1/sla", {"hours": HOURS, "version": read["version"]})
    saved = await admin.put("/api/v1/sla", {"hours": HOURS, "version": read["version"]})
    stale = await admin.put("/api/v1/sla", {"hours": HOURS | {"P0": 6}, "version": read["version"]})
    bad = await admin.put(
        "/api/v1/sla", {"hours": HOURS | {"P0": 0}, "version": saved.json()["version"]}
    )
    missing = await admin.put("/api/v1/sla", {"hours": {"P0": 6}, "version": 1})

    assert refused.status_code == 403
    assert saved.status_code == 200 and saved.json()["hours"] == HOURS
    assert saved.json()["version"] > read["version"]
    assert stale.status_code == 409
    assert bad.status_code == 400 and mentions(bad, "hours.P0")
    assert missing.status_code == 400
    assert (await tickets.sla_hours())[Priority.P0] == 12
    events = await AuditEvent.select().where(AuditEvent.action == "sla.updated")
    assert [loads(e["changes"])["hours"] for e in events] == [[24, 12]]  # P0 changed only


async def test_sla_needs_the_tickets_scope(app, personas, now):
    admin = personas["admin"].id
    tickets_read = await accounts.create_api_token(
        SYSTEM, TokenCreate(name="r", user_id=admin, scopes=["tickets:read"]), now
    )
    assets = await accounts.create_api_token(
        SYSTEM, TokenCreate(name="a", user_id=admin, scopes=["assets:write"]), now
    )
    async with client_for_app(app) as machine:
        read = await machine.get("/api/v1/sla", headers=bearer(tickets_read))
        body = {"hours": HOURS, "version": read.json()["version"]}
        write = await machine.put("/api/v1/sla", json=body, headers=bearer(tickets_read))
        other = await machine.get("/api/v1/sla", headers=bearer(assets))
    assert read.status_code == 200
    assert write.status_code == 403 and "tickets:write" in write.json()["detail"]
    assert other.status_code == 403
    assert await SlaPolicy.count().where(SlaPolicy.hours == 12) == 0


# --- teams, checklists, rules ----------------------------------------------------------------


async def test_teams_create_update_and_rename_members(api, personas):
    alice, dave = await api("alice"), await api("dave")
    await StaffUser.update({StaffUser.team: "桥梁巡检一队"}).where(
        StaffUser.id == personas["bob"].id
    )

    created = await alice.post(
        "/api/v1/teams",
        {"name": "桥梁巡检一队", "email": "team1@bureau.example", "lead_id": personas["bob"].id},
    )
    assert created.status_code == 201, created.text
    team = created.json()
    twice = await alice.post("/api/v1/teams", {"name": "桥梁巡检一队"})
    refused = await dave.post("/api/v1/teams", {"name": "看客队"})
    listed = await dave.get("/api/v1/teams")
    renamed = await alice.put(
        f"/api/v1/teams/{team['id']}",
        {"name": "桥梁巡检二队", "email": "", "lead_id": None, "version": team["version"]},
    )
    stale = await alice.put(
        f"/api/v1/teams/{team['id']}", {"name": "三队", "version": team["version"]}
    )
    missing = await dave.get("/api/v1/teams/999999")

    assert twice.status_code == 400 and mentions(twice, "name")
    assert refused.status_code == 403
    assert [t["name"] for t in listed.json()] == ["桥梁巡检一队"]
    assert renamed.status_code == 200 and renamed.json()["name"] == "桥梁巡检二队"
    assert renamed.json()["version"] != team["version"]
    assert stale.status_code == 409
    assert missing.status_code == 404
    bob = await StaffUser.objects().where(StaffUser.id == personas["bob"].id).first()
    assert bob.team == "桥梁巡检二队"  # members follow their team's new name
    assert await Team.count() == 1
    events = await AuditEvent.select().where(AuditEvent.entity_type == "team")
    assert [e["action"] for e in events] == ["team.created", "team.updated"]


async def test_a_double_submit_makes_one_team(api):
    alice = await api("alice")
    headers = {**alice.headers, "idempotency-key": "team-once"}
    body = {"name": "东区维修班"}

    first = await alice.client.post("/api/v1/teams", json=body, headers=headers)
    again = await alice.client.post("/api/v1/teams", json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert await Team.count() == 1


CHECKLIST: dict[str, Any] = {
    "code": "railing_quick",
    "name_zh": "栏杆快速检查",
    "name_en": "Quick railing check",
    "items": [
        {"key": "railing", "zh": "栏杆牢固", "en": "Railings firm", "group": "deck_system"},
        {"key": "signage", "zh": "标志清晰", "critical": False},
    ],
}


async def test_checklists_as_the_inspection_forms_offer_them(api, app):
    alice, bob = await api("alice"), await api("bob")
    seeded = (await bob.get("/api/v1/checklists")).json()

    created = await alice.post("/api/v1/checklists", CHECKLIST)
    refused = await bob.post("/api/v1/checklists", CHECKLIST | {"code": "by_bob"})
    duplicate_keys = await alice.post(
        "/api/v1/checklists",
        CHECKLIST | {"code": "dup", "items": [CHECKLIST["items"][0], CHECKLIST["items"][0]]},
    )
    taken = await alice.post("/api/v1/checklists", CHECKLIST)

    assert created.status_code == 201, created.text
    checklist = created.json()
    assert [i["key"] for i in checklist["items"]] == ["railing", "signage"]
    assert checklist["items"][1]["group"] == "ancillary"
    assert refused.status_code == 403
    assert duplicate_keys.status_code == 400 and mentions(duplicate_keys, "items")
    assert taken.status_code == 400 and mentions(taken, "code")
    listed = (await bob.get("/api/v1/checklists")).json()
    assert [c["code"] for c in listed] == sorted(c["code"] for c in [*seeded, checklist])

    update = CHECKLIST | {"items": CHECKLIST["items"][:1], "version": checklist["version"]}
    saved = await alice.put(f"/api/v1/checklists/{checklist['id']}", update)
    stale = await alice.put(f"/api/v1/checklists/{checklist['id']}", update)
    assert saved.status_code == 200 and len(saved.json()["items"]) == 1
    assert stale.status_code == 409
    assert (await bob.get(f"/api/v1/checklists/{checklist['id']}")).json() == saved.json()
    assert await ChecklistTemplate.count().where(ChecklistTemplate.code == "dup") == 0


async def test_rules_switch_on_and_off_with_their_version(api):
    alice, carol = await api("alice"), await api("carol")
    rules = (await carol.get("/api/v1/rules")).json()
    grade_c = next(r for r in rules if r["code"] == "grade_c")
    body = {
        "enabled": False,
        "basis": grade_c["basis"],
        "description": grade_c["description"],
        "version": grade_c["version"],
    }

    refused = await carol.put(f"/api/v1/rules/{grade_c['id']}", body)
    saved = await alice.put(f"/api/v1/rules/{grade_c['id']}", body)
    stale = await alice.put(f"/api/v1/rules/{grade_c['id']}", body)

    assert [r["code"] for r in rules] == sorted(r["code"] for r in rules)
    assert refused.status_code == 403
    assert saved.status_code == 200
    assert saved.json()["enabled"] is False and saved.json()["version"] == grade_c["version"] + 1
    assert stale.status_code == 409
    row = await Rule.objects().where(Rule.id == grade_c["id"]).first()
    assert row.enabled is False
    (event,) = await AuditEvent.select().where(AuditEvent.action == "rule.updated")
    assert loads(event["changes"])["enabled"] == [True, False]
    seasonal = next(r for r in rules if r["code"] == "seasonal")
    assert (await carol.get(f"/api/v1/rules/{seasonal['id']}")).json()["params"]


# --- jobs ------------------------------------------------------------------------------------


async def test_jobs_list_what_the_page_shows(api, now):
    run = await jobs.start_run("purge_expired", now, "scheduler:1", "schedule")
    await jobs.finish_run(run, now, 0, "OSError: disk full")
    alice = await api("alice")

    listed = await alice.get("/api/v1/jobs")
    runs = await alice.get("/api/v1/jobs/runs", job="purge_expired")
    refused = await (await api("dave")).get("/api/v1/jobs")

    assert listed.status_code == 200
    body = listed.json()
    assert [j["id"] for j in body["jobs"]] == [spec.id for spec in registry.JOBS]
    purge = next(j for j in body["jobs"] if j["id"] == "purge_expired")
    assert purge["runs"] == 1 and purge["failures"] == 1
    assert purge["last_run"]["error"] == "OSError: disk full"
    page = (await alice.client.get("/jobs?job=purge_expired")).text
    assert "OSError: disk full" in page
    assert [r["id"] for r in runs.json()] == [run]
    assert refused.status_code == 403


async def test_run_now_is_for_admins_and_runs_once(api, now):
    alice, admin = await api("alice"), await api("admin")

    refused = await alice.post("/api/v1/jobs/purge_expired/run", {})
    unknown = await admin.post("/api/v1/jobs/no_such_job/run", {})
    ran = await admin.post("/api/v1/jobs/purge_expired/run", {})

    assert refused.status_code == 403
    assert unknown.status_code == 404
    assert ran.status_code == 200, ran.text
    assert ran.json()["ok"] is True
    assert ran.json()["run"]["trigger"] == "manual"
    assert ran.json()["run"]["runner"] == "web: admin"
    assert ran.json()["run"]["finished_at"] is not None
    rows = await JobRun.select().where(JobRun.job_id == "purge_expired")
    assert len(rows) == 1


async def test_run_now_refuses_while_the_job_runs(api, now):
    running = await jobs.start_run("raise_inspections", now, "scheduler:1", "schedule")
    admin = await api("admin")

    busy = await admin.post("/api/v1/jobs/raise_inspections/run", {})
    await jobs.finish_run(running, now, 0)
    free = await admin.post("/api/v1/jobs/raise_inspections/run", {})

    assert busy.status_code == 409
    assert free.status_code == 200
    assert await JobRun.count().where(JobRun.job_id == "raise_inspections") == 2
