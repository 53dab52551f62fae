"""The closures JSON API under /api/v1/closures: the same operations as the pages, typed bodies
documented in OpenAPI, and the error contract: 400 invalid input, 403 role, 404 unknown,
409 stale version or a transition that is not possible."""

from __future__ import annotations

from typing import Any

import pytest

from facilities.accounts import services as accounts
from facilities.accounts.schemas import TokenCreate
from facilities.closures import services as closures
from facilities.closures.choices import NoticeState, Status
from facilities.closures.schemas import NoticeIn
from facilities.closures.tables import Closure
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType
from facilities.inspections.schemas import InspectionIn
from facilities.inspections.tables import ClosureProposal
from facilities.tickets.choices import Status as TicketStatus
from tests.kit.assets import make_asset
from tests.kit.clients import error_keys, mentions
from tests.kit.closures import drive_ticket, make_closure, repaired
from tests.kit.constants import ZONE

START = "2026-01-05T01:00:00Z"


def body(asset_id: int, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "asset_id": asset_id,
        "scope": "full",
        "reason": "repair_works",
        "reason_zh": "桥面木板腐朽，全封闭维修",
        "reason_en": "Closed to renew the rotten deck",
        "safety_measures": ["fencing", "warning_signs", "nets_over_water"],
        "effective_from": START,
        "planned_reopen_on": "2027-05-01",
        "reopen_precision": "before",
    }
    values.update(fields)
    return values


async def test_create_get_list_and_update(api, personas):
    asset = await make_asset(code="GX-QL-PH-001")
    alice = await api("alice")
    created = await alice.post("/api/v1/closures", body(asset.id))
    assert created.status_code == 201, created.text
    closure = created.json()
    assert (closure["status"], closure["asset_id"], closure["version"]) == ("active", asset.id, 2)
    assert closure["safety_measures"] == ["fencing", "nets_over_water", "warning_signs"]
    assert [c["code"] for c in closure["gate"]] == ["tickets", "acceptance", "grade", "sign_off"]
    assert closure["gate_open"] is False
    assert [p["planned_reopen_on"] for p in closure["promises"]] == ["2027-05-01"]

    shown = await alice.get(f"/api/v1/closures/{closure['id']}")
    assert shown.status_code == 200 and shown.json()["reason_zh"] == "桥面木板腐朽，全封闭维修"
    listed = await alice.get("/api/v1/closures")
    assert [(c["id"], c["asset_code"]) for c in listed.json()] == [(closure["id"], "GX-QL-PH-001")]
    assert (await alice.get("/api/v1/closures", status="lifted")).json() == []
    assert len((await alice.get("/api/v1/closures", status="all", asset=asset.id)).json()) == 1
    assert (await alice.get("/api/v1/closures", status="bogus")).status_code == 400

    changed = await alice.put(
        f"/api/v1/closures/{closure['id']}",
        body(asset.id, reason_en="Deck renewal", version=closure["version"]),
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["reason_en"], changed.json()["version"]) == ("Deck renewal", 3)
    stale = await alice.put(
        f"/api/v1/closures/{closure['id']}",
        body(asset.id, reason_en="Lost edit", version=closure["version"]),
    )
    assert stale.status_code == 409
    assert stale.json()["status_code"] == 409
    saved = await closures.find_closure(closure["id"])
    assert saved is not None and saved.reason_en == "Deck renewal"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"scope": "partial"}, "affected_part_zh"),
        ({"safety_measures": ["detour"]}, "detour_zh"),
        ({"planned_reopen_on": "2025-12-01"}, "planned_reopen_on"),
        ({"effective_from": "2026-01-05T09:00:00"}, "effective_from"),
        ({"reason_zh": ""}, "reason_zh"),
        ({"scope": "sideways"}, "scope"),
        ({"unexpected": 1}, "unexpected"),
    ],
    ids=["partial", "detour", "reopen-before", "naive", "empty-reason", "bad-scope", "unknown"],
)
async def test_invalid_bodies_are_400_naming_the_field(api, personas, fields, field):
    asset = await make_asset()
    alice = await api("alice")
    response = await alice.post("/api/v1/closures", body(asset.id, **fields))
    assert response.status_code == 400, response.text
    assert (
        mentions(response, field)
        or field in error_keys(response)
        or field in str(response.json()["extra"])
    )
    assert await Closure.count() == 0


async def test_extend_cancel_and_the_promise_history(api, personas, now):
    closure = await make_closure(personas["alice"], now=now)
    alice = await api("alice")
    url = f"/api/v1/closures/{closure.id}"
    extended = await alice.post(
        f"{url}/extend",
        {
            "version": closure.version,
            "planned_reopen_on": "2027-06-01",
            "reason_zh": "雨季延误",
            "reason_en": "Rain",
        },
    )
    assert extended.status_code == 200, extended.text
    data = extended.json()
    assert (data["status"], data["sequence"]) == ("extended", 1)
    assert [(p["planned_reopen_on"], p["reason_en"]) for p in data["promises"]] == [
        ("2027-05-01", ""),
        ("2027-06-01", "Rain"),
    ]
    again = await alice.post(
        f"{url}/extend",
        {"version": closure.version, "planned_reopen_on": "2027-07-01", "reason_zh": "x"},
    )
    assert again.status_code == 409
    no_reason = await alice.post(
        f"{url}/extend", {"version": data["version"], "planned_reopen_on": "2027-07-01"}
    )
    assert no_reason.status_code == 400
    cancelled = await alice.post(
        f"{url}/cancel", {"version": data["version"], "reason_zh": "另有安排"}
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    after = await alice.post(
        f"{url}/extend",
        {
            "version": cancelled.json()["version"],
            "planned_reopen_on": "2027-08-01",
            "reason_zh": "x",
        },
    )
    assert after.status_code == 409


async def test_tickets_link_and_unlink(api, personas, now):
    alice_actor = personas["alice"]
    asset = await make_asset()
    closure = await make_closure(alice_actor, asset, now)
    ticket = await drive_ticket(alice_actor, asset, TicketStatus.IN_PROGRESS, now)
    foreign = await drive_ticket(alice_actor, await make_asset(), TicketStatus.NEW, now)
    alice = await api("alice")
    url = f"/api/v1/closures/{closure.id}/tickets"
    linked = await alice.post(
        url, {"ticket_id": ticket.id, "public_label_zh": "桥面更换", "public_label_en": "Deck"}
    )
    assert linked.status_code == 200, linked.text
    [item] = linked.json()["tickets"]
    assert (item["ticket_id"], item["public_progress"], item["public_label_en"]) == (
        ticket.id,
        "in_progress",
        "Deck",
    )
    assert linked.json()["ticket_ids"] == [ticket.id]
    wrong = await alice.post(url, {"ticket_id": foreign.id, "public_label_zh": "x"})
    assert wrong.status_code == 400 and "ticket_id" in error_keys(wrong)
    removed = await alice.client.delete(f"{url}/{ticket.id}", headers=alice.headers)
    assert removed.status_code == 204
    assert (await alice.get(f"/api/v1/closures/{closure.id}")).json()["tickets"] == []


async def test_sign_off_and_lift_errors_and_the_admin_override(api, personas, now):
    closure = await make_closure(personas["alice"], now=now)
    alice, admin, carol = await api("alice"), await api("admin"), await api("carol")
    url = f"/api/v1/closures/{closure.id}"
    version = closure.version
    assert (await alice.post(f"{url}/sign-off", {"version": version})).status_code == 409
    assert (await carol.post(f"{url}/sign-off", {"version": version})).status_code == 403
    assert (await alice.post(f"{url}/lift", {"version": version})).status_code == 409
    forbidden = await alice.post(f"{url}/lift", {"version": version, "override_reason": "我批准"})
    assert forbidden.status_code == 403
    assert (await carol.post(f"{url}/lift", {"version": version})).status_code == 403
    overridden = await admin.post(
        f"{url}/lift",
        {
            "version": version,
            "override_reason": "防汛通道，专家确认安全",
            "reopens_at": "2030-01-01T00:00:00Z",
        },
    )
    assert overridden.status_code == 200, overridden.text
    data = overridden.json()
    assert (data["status"], data["override_reason"], data["reopens_at"]) == (
        "lifted",
        "防汛通道，专家确认安全",
        "2030-01-01T00:00:00Z",
    )
    assert (await admin.post(f"{url}/lift", {"version": data["version"]})).status_code == 409


async def test_lift_through_the_open_gate(api, personas, now, tmp_path):
    case = await repaired(personas, now, tmp_path, sign=False)
    alice = await api("alice")
    url = f"/api/v1/closures/{case.closure.id}"
    before = (await alice.get(url)).json()
    assert [c["met"] for c in before["gate"]] == [True, True, True, False]
    signed = await alice.post(f"{url}/sign-off", {"version": before["version"]})
    assert signed.status_code == 200 and signed.json()["gate_open"] is True
    lifted = await alice.post(f"{url}/lift", {"version": signed.json()["version"]})
    assert lifted.status_code == 200
    assert (lifted.json()["status"], lifted.json()["override_reason"]) == ("lifted", "")


async def test_updates_drafts_publish_and_discard(api, personas, now):
    alice_actor = personas["alice"]
    closure = await make_closure(alice_actor, now=now)
    alice = await api("alice")
    url = f"/api/v1/closures/{closure.id}/updates"
    written = await alice.post(url, {"text_zh": "桥面铺装完成", "text_en": "Deck laid"})
    assert written.status_code == 201
    assert (written.json()["state"], written.json()["source"]) == ("published", "staff")
    draft = await alice.post(url, {"text_zh": "主缆涂油开始", "publish": False})
    other = await closures.write_update(
        alice_actor, closure.id, NoticeIn(text_zh="不要", publish=False), now
    )
    drafts = await alice.get("/api/v1/closures/drafts")
    assert {d["id"] for d in drafts.json()} == {draft.json()["id"], other.id}
    published = await alice.post(
        f"/api/v1/closures/updates/{draft.json()['id']}/publish",
        {"text_zh": "主缆涂油已开始", "text_en": "Greasing started"},
    )
    assert published.status_code == 200, published.text
    assert (published.json()["state"], published.json()["text_en"]) == (
        "published",
        "Greasing started",
    )
    twice = await alice.post(f"/api/v1/closures/updates/{draft.json()['id']}/publish", {})
    assert twice.status_code == 409
    discarded = await alice.post(f"/api/v1/closures/updates/{other.id}/discard", {})
    assert discarded.status_code == 200 and discarded.json()["state"] == "discarded"
    timeline = (await alice.get(url)).json()
    assert [u["text_zh"] for u in timeline][:2] == ["主缆涂油已开始", "桥面铺装完成"]
    assert all(u["state"] != NoticeState.DISCARDED for u in timeline)
    assert (await alice.post("/api/v1/closures/updates/99999/publish", {})).status_code == 404


async def test_proposals_are_listed_and_approved(api, personas, now):
    asset = await make_asset()
    raised = await inspections.create_inspection(
        personas["alice"],
        InspectionIn(asset_id=asset.id, inspection_type=InspectionType.SPECIAL, due_on=now.date()),
        ZONE,
        now,
    )
    proposal = ClosureProposal(
        asset=asset.id, inspection=raised.id, scope="full", reason="", created_at=now
    )
    await proposal.save()
    alice = await api("alice")
    listed = await alice.get("/api/v1/closures/proposals")
    assert [(p["id"], p["asset_id"]) for p in listed.json()] == [(proposal.id, asset.id)]
    dave = await api("dave")
    assert (
        await dave.post(f"/api/v1/closures/proposals/{proposal.id}/approve", {})
    ).status_code == 403
    approved = await alice.post(f"/api/v1/closures/proposals/{proposal.id}/approve", {})
    assert approved.status_code == 201, approved.text
    assert (approved.json()["asset_id"], approved.json()["status"]) == (asset.id, "active")
    assert (await alice.get("/api/v1/closures/proposals")).json() == []
    assert (
        await alice.post(f"/api/v1/closures/proposals/{proposal.id}/approve", {})
    ).status_code == 409


@pytest.mark.parametrize("username", ["dave", "carol", "bob"])
async def test_read_only_roles_get_403_on_every_write(api, personas, now, username):
    asset = await make_asset()
    closure = await make_closure(personas["alice"], asset, now)
    client = await api(username)
    url = f"/api/v1/closures/{closure.id}"
    assert (await client.get(url)).status_code == 200
    v = closure.version
    for path, payload in [
        ("/api/v1/closures", body(asset.id)),
        (f"{url}/extend", {"version": v, "planned_reopen_on": "2027-06-01", "reason_zh": "x"}),
        (f"{url}/cancel", {"version": v, "reason_zh": "x"}),
        (f"{url}/sign-off", {"version": v}),
        (f"{url}/updates", {"text_zh": "x"}),
    ]:
        response = await client.post(path, payload)
        assert response.status_code == 403, (path, response.text)
    assert (await client.put(url, body(asset.id, version=v))).status_code == 403
    found = await closures.find_closure(closure.id)
    assert found is not None and (found.version, found.status) == (v, Status.ACTIVE)


async def test_unknown_closures_are_404_and_tokens_work_without_csrf(api, personas, anon, now):
    alice = await api("alice")
    assert (await alice.get("/api/v1/closures/424242")).status_code == 404
    assert (await alice.get("/api/v1/closures/99999999999")).status_code == 404
    secret = await accounts.create_api_token(
        personas["admin"],
        TokenCreate(name="ops", user_id=personas["alice"].id),
        now,
    )
    asset = await make_asset()
    created = await anon.post(
        "/api/v1/closures",
        json=body(asset.id),
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert created.status_code == 201, created.text
    assert (await anon.get("/api/v1/closures")).status_code == 401


async def test_openapi_documents_the_closure_routes_and_shapes(anon):
    schema = (await anon.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    for path, methods in {
        "/api/v1/closures": {"get", "post"},
        "/api/v1/closures/{closure_id}": {"get", "put"},
        "/api/v1/closures/{closure_id}/extend": {"post"},
        "/api/v1/closures/{closure_id}/cancel": {"post"},
        "/api/v1/closures/{closure_id}/sign-off": {"post"},
        "/api/v1/closures/{closure_id}/lift": {"post"},
        "/api/v1/closures/{closure_id}/tickets": {"post"},
        "/api/v1/closures/{closure_id}/tickets/{ticket_id}": {"delete"},
        "/api/v1/closures/{closure_id}/updates": {"get", "post"},
        "/api/v1/closures/drafts": {"get"},
        "/api/v1/closures/updates/{update_id}/publish": {"post"},
        "/api/v1/closures/proposals/{proposal_id}/approve": {"post"},
    }.items():
        assert path in paths, sorted(p for p in paths if "closures" in p)
        assert methods <= set(paths[path]), path
    shapes = schema["components"]["schemas"]
    closure_out = next(v for k, v in shapes.items() if k.endswith("ClosureOut"))
    assert {"gate", "gate_open", "promises", "tickets", "version"} <= set(closure_out["properties"])
    assert not [p for p in paths if p.startswith("/closures")]  # the HTML pages stay out
