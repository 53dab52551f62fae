"""The repair ticket JSON API under /api/v1/tickets: list and filters with cursors, create,
read, replace with versions, lifecycle transitions, comments, attachments, tokens, errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from facilities.accounts import services as accounts
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.schemas import TokenCreate
from facilities.tickets import services as tickets
from facilities.tickets.choices import Priority, Source, Status
from facilities.tickets.tables import RepairTicket, TicketAttachment, TicketComment
from tests.kit.assets import make_asset, make_component
from tests.kit.clients import error_keys
from tests.kit.media import png_bytes
from tests.kit.tickets import drive_to, make_ticket, seed_tickets


@pytest.fixture
def settings(settings, tmp_path):
    """Uploads go to this test's own folder (on PostgreSQL the shared default is under var/)."""
    return dataclasses.replace(settings, media_dir=str(tmp_path / "media"))


def ticket_body(asset_id: int, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "asset_id": asset_id,
        "title": "主缆局部锈蚀 / local rust on the main cable",
        "priority": "P1",
        "source": "inspection",
        "work_class": "medium",
        "planned_start_on": "2026-12-07",
        "cost_estimate": "8800.50",
    }
    body.update(fields)
    return body


async def token_for(username: str, personas, now: dt.datetime) -> dict[str, str]:
    token = await accounts.create_api_token(
        SYSTEM, TokenCreate(name=f"{username}-robot", user_id=personas[username].id), now
    )
    return {"authorization": f"Bearer {token}", "accept": "application/json"}


# --- list -----------------------------------------------------------------------------------


async def test_list_filters_and_follows_next_cursor(api, personas, now):
    alice = personas["alice"]
    asset = await make_asset(code="GX-QL-PH-001")
    p0 = await make_ticket(alice, asset, priority=Priority.P0, title="P0 护栏")
    citizen = await make_ticket(alice, asset, source=Source.CITIZEN_REPORT, title="市民 50% 报告")
    closed = await make_ticket(alice, asset)
    await drive_to(closed.id, Status.CLOSED, alice, now)
    client = await api("bob")

    response = await client.get("/api/v1/tickets")
    assert response.status_code == 200
    body = response.json()
    assert {t["id"] for t in body["items"]} == {p0.id, citizen.id}
    assert body["next_cursor"] is None
    item = next(t for t in body["items"] if t["id"] == p0.id)
    assert item["asset_code"] == "GX-QL-PH-001"
    assert item["status"] == "new"
    assert item["allowed_actions"] == []  # an inspector does not triage
    assert [
        t["id"] for t in (await client.get("/api/v1/tickets", priority="P0")).json()["items"]
    ] == [p0.id]
    assert [
        t["id"] for t in (await client.get("/api/v1/tickets", status="final")).json()["items"]
    ] == [closed.id]
    assert [t["id"] for t in (await client.get("/api/v1/tickets", q="50%")).json()["items"]] == [
        citizen.id
    ]
    by_source = await client.get("/api/v1/tickets", source="citizen_report")
    assert [t["id"] for t in by_source.json()["items"]] == [citizen.id]
    assert len((await client.get("/api/v1/tickets", status="")).json()["items"]) == 3
    assert (
        len((await client.get("/api/v1/tickets", asset=asset.id, status="")).json()["items"]) == 3
    )


async def test_list_pages_with_next_cursor(api, personas, now):
    await seed_tickets(55, now)
    client = await api("dave")
    seen: list[int] = []
    params: dict[str, Any] = {"status": "", "per_page": 20, "sort": "priority"}
    while True:
        body = (await client.get("/api/v1/tickets", **params)).json()
        seen.extend(t["id"] for t in body["items"])
        if not body["next_cursor"]:
            break
        params["after"] = body["next_cursor"]
    assert len(seen) == 55 == len(set(seen))
    priority_of = {t.id: t.priority for t in await RepairTicket.objects()}
    in_order = [priority_of[i] for i in seen]
    assert in_order == sorted(in_order)


BAD_LIST_PARAMS = [
    ({"after": "garbage!!"}, "after"),
    ({"after": "WyJ4Il0"}, "after"),
    ({"priority": "P9"}, "priority"),
    ({"source": "rumour"}, "source"),
    ({"sort": "title"}, "sort"),
    ({"per_page": "0"}, "per_page"),
    ({"status": "bogus"}, "status"),
    ({"asset": "abc"}, "asset"),
    ({"overdue": "maybe"}, "overdue"),
    ({"q": "x" * 101}, "q"),
]


async def test_bad_list_parameters_are_a_400_with_extra(api):
    client = await api("alice")
    for params, key in BAD_LIST_PARAMS:
        response = await client.get("/api/v1/tickets", **params)
        assert response.status_code == 400, (params, response.text)
        assert key in error_keys(response), params


# --- create, read, replace ------------------------------------------------------------------


async def test_create_returns_201_and_the_ticket(api, personas, now):
    asset = await make_asset()
    component = await make_component(asset, "主缆")
    client = await api("carol")
    response = await client.post(
        "/api/v1/tickets", ticket_body(asset.id, component_id=component.id)
    )
    assert response.status_code == 201, response.text
    body = response.json()
    ticket = await RepairTicket.objects().first()
    assert body["id"] == ticket.id
    assert (body["status"], body["version"], body["priority"]) == ("new", 1, "P1")
    assert body["component_id"] == component.id
    assert body["cost_estimate"] == "8800.50"
    created = dt.datetime.fromisoformat(body["created_at"])
    assert dt.datetime.fromisoformat(body["sla_due_at"]) - created == dt.timedelta(days=7)
    assert ticket.created_by == personas["carol"].id
    shown = await client.get(f"/api/v1/tickets/{ticket.id}")
    assert shown.status_code == 200
    assert shown.json()["title"] == "主缆局部锈蚀 / local rust on the main cable"


BAD_TICKETS = [
    ({"title": ""}, "title"),
    ({"priority": "P9"}, "priority"),
    ({"asset_id": 999_999}, "asset_id"),
    ({"asset_id": 0}, "asset_id"),
    ({"cost_estimate": "1.005"}, "cost_estimate"),
    ({"cost_actual": "-1"}, "cost_actual"),
    ({"cost_estimate": "NaN"}, "cost_estimate"),
    ({"cost_estimate": "sNaN"}, "cost_estimate"),
    ({"cost_estimate": "Infinity"}, "cost_estimate"),
    ({"cost_actual": "1e999999"}, "cost_actual"),
    ({"planned_end_on": "2026-12-01"}, "planned_end_on"),
    ({"reporter_email": "not an address"}, "reporter_email"),
    ({"status": "closed"}, "status"),
]


async def test_create_refuses_bad_input_with_400(api):
    asset = await make_asset()
    client = await api("alice")
    for changes, key in BAD_TICKETS:
        response = await client.post("/api/v1/tickets", {**ticket_body(asset.id), **changes})
        assert response.status_code == 400, (changes, response.text)
        keys = error_keys(response)
        named = key in keys or any(key in str(e) for e in response.json()["extra"])
        assert named, (changes, keys)
    assert await RepairTicket.count() == 0


async def test_put_replaces_with_the_version_read(api, personas, now):
    asset = await make_asset()
    client = await api("alice")
    created = (await client.post("/api/v1/tickets", ticket_body(asset.id))).json()
    body = ticket_body(asset.id, title="改过的标题", priority="P0", version=created["version"])
    response = await client.put(f"/api/v1/tickets/{created['id']}", body)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["title"], updated["version"], updated["priority"]) == ("改过的标题", 2, "P0")
    due = dt.datetime.fromisoformat(updated["sla_due_at"])
    assert due == dt.datetime.fromisoformat(created["created_at"]) + dt.timedelta(hours=24)
    stale = await client.put(f"/api/v1/tickets/{created['id']}", {**body, "title": "过时"})
    assert stale.status_code == 409
    assert stale.json()["status_code"] == 409
    missing = await client.put(
        f"/api/v1/tickets/{created['id']}", {k: v for k, v in body.items() if k != "version"}
    )
    assert missing.status_code == 400
    assert "version" in error_keys(missing)
    assert (await tickets.find_ticket(created["id"])).title == "改过的标题"
    crew = await api("carol")
    refused = await crew.put(f"/api/v1/tickets/{created['id']}", {**body, "version": 2})
    assert refused.status_code == 403


# --- transitions ----------------------------------------------------------------------------


async def test_transitions_through_the_api(api, personas, now):
    ticket = await make_ticket(personas["alice"], assignee_id=personas["carol"].id)
    url = f"/api/v1/tickets/{ticket.id}/transitions"
    alice, carol = await api("alice"), await api("carol")

    not_from_here = await alice.post(url, {"action": "accept", "version": 1})
    assert not_from_here.status_code == 409
    assert not_from_here.json()["detail"]
    wrong_role = await carol.post(url, {"action": "triage", "version": 1})
    assert wrong_role.status_code == 403
    ok = await alice.post(url, {"action": "triage", "version": 1})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert (body["status"], body["version"]) == ("triaged", 2)
    assert body["allowed_actions"] == [
        "schedule",
        "start",
        "close",
        "hold",
        "reject",
        "mark_duplicate",
        "cancel",
    ]
    stale = await alice.post(url, {"action": "start", "version": 1})
    assert stale.status_code == 409
    missing_data = await alice.post(url, {"action": "schedule", "version": 2})
    assert missing_data.status_code == 400
    assert "planned_start_on" in error_keys(missing_data)
    missing_note = await carol.post(url, {"action": "hold", "version": 2})
    assert missing_note.status_code == 400
    assert "note" in error_keys(missing_note)
    crew_start = await carol.post(url, {"action": "start", "version": 2})
    assert crew_start.status_code == 200
    assert crew_start.json()["allowed_actions"] == ["complete", "hold"]
    for bad in ({"action": "explode", "version": 3}, {"action": "complete"}, {"version": 3}):
        response = await carol.post(url, bad)
        assert response.status_code == 400, bad
        assert response.json()["extra"], bad
    assert (await tickets.find_ticket(ticket.id)).version == 3


# --- comments and attachments ---------------------------------------------------------------


async def test_comments_through_the_api(api, personas, now):
    ticket = await make_ticket(personas["alice"])
    carol = await api("carol")
    url = f"/api/v1/tickets/{ticket.id}/comments"
    created = await carol.post(url, {"body": "已到现场", "is_public": False})
    assert created.status_code == 201
    comment_id = created.json()["id"]
    listed = await carol.get(url)
    assert listed.status_code == 200
    assert [(c["id"], c["author"], c["body"], c["is_public"]) for c in listed.json()] == [
        (comment_id, "Carol", "已到现场", False)
    ]
    assert (await carol.post(url, {"body": ""})).status_code == 400
    assert (await carol.post(url, {"body": "x", "extra": 1})).status_code == 400
    viewer = await api("dave")
    assert (await viewer.post(url, {"body": "看看"})).status_code == 403
    assert await TicketComment.count() == 1


async def test_attachments_through_the_api(api, personas, now):
    ticket = await make_ticket(personas["alice"])
    carol = await api("carol")
    url = f"/api/v1/tickets/{ticket.id}/attachments"
    created = await carol.upload(url, png_bytes(), "deck.png", tag="before", caption="修前")
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["tag"], body["filename"], body["content_type"], body["caption"]) == (
        "before",
        "deck.png",
        "image/png",
        "修前",
    )
    assert body["url"] == f"/tickets/attachments/{body['id']}"
    assert body["thumbnail_url"] == f"/tickets/attachments/{body['id']}/thumbnail"
    listed = await carol.get(url)
    assert [a["id"] for a in listed.json()] == [body["id"]]
    image = await carol.client.get(body["url"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    bad_tag = await carol.upload(url, png_bytes(), "x.png", tag="sideways")
    assert bad_tag.status_code == 400
    assert "tag" in error_keys(bad_tag)
    no_file = await carol.client.post(url, data={"tag": "after"}, headers=carol.headers)
    assert no_file.status_code == 400
    assert await TicketAttachment.count() == 1


# --- tokens, unknown ids, schema ------------------------------------------------------------


async def test_a_viewer_token_reads_but_cannot_write(app, anon, personas, now):
    ticket = await make_ticket(personas["alice"])
    headers = await token_for("dave", personas, now)
    assert (await anon.get("/api/v1/tickets", headers=headers)).status_code == 200
    assert (await anon.get(f"/api/v1/tickets/{ticket.id}", headers=headers)).status_code == 200
    writes = [
        ("POST", "/api/v1/tickets", {"asset_id": ticket.asset, "title": "x"}),
        (
            "PUT",
            f"/api/v1/tickets/{ticket.id}",
            {"asset_id": ticket.asset, "title": "x", "version": 1},
        ),
        ("POST", f"/api/v1/tickets/{ticket.id}/transitions", {"action": "triage", "version": 1}),
        ("POST", f"/api/v1/tickets/{ticket.id}/comments", {"body": "x"}),
    ]
    for method, url, body in writes:
        response = await anon.request(method, url, json=body, headers=headers)
        assert response.status_code == 403, (method, url, response.text)
    upload = await anon.post(
        f"/api/v1/tickets/{ticket.id}/attachments",
        files={"file": ("a.png", png_bytes())},
        headers=headers,
    )
    assert upload.status_code == 403
    assert await RepairTicket.count() == 1
    assert (await tickets.find_ticket(ticket.id)).version == 1
    # a supervisor's token writes without any cookie or CSRF token
    alice = await token_for("alice", personas, now)
    moved = await anon.post(
        f"/api/v1/tickets/{ticket.id}/transitions",
        json={"action": "triage", "version": 1},
        headers=alice,
    )
    assert moved.status_code == 200


async def test_without_credentials_the_api_answers_401(anon, personas):
    ticket = await make_ticket(personas["alice"])
    for url in (
        "/api/v1/tickets",
        f"/api/v1/tickets/{ticket.id}",
        f"/api/v1/tickets/{ticket.id}/comments",
        f"/api/v1/tickets/{ticket.id}/attachments",
    ):
        response = await anon.get(url)
        assert response.status_code == 401, url
        assert response.json()["status_code"] == 401


UNKNOWN = [
    ("GET", "/api/v1/tickets/424242", None),
    ("GET", "/api/v1/tickets/0", None),
    ("GET", "/api/v1/tickets/99999999999", None),
    ("PUT", "/api/v1/tickets/424242", {"asset_id": 1, "title": "x", "version": 1}),
    ("POST", "/api/v1/tickets/424242/transitions", {"action": "triage", "version": 1}),
    ("GET", "/api/v1/tickets/424242/comments", None),
    ("POST", "/api/v1/tickets/424242/comments", {"body": "x"}),
    ("GET", "/api/v1/tickets/424242/attachments", None),
]


async def test_unknown_ids_are_404(api):
    client = await api("alice")
    for method, url, body in UNKNOWN:
        if body is None:
            response = await client.client.request(method, url, headers=client.headers)
        else:
            response = await client.client.request(method, url, json=body, headers=client.headers)
        assert response.status_code == 404, (method, url, response.text)
        assert response.json()["status_code"] == 404


async def test_unknown_ticket_attachment_upload_is_404(api):
    client = await api("alice")
    response = await client.upload("/api/v1/tickets/424242/attachments", png_bytes(), "a.png")
    assert response.status_code == 404


async def test_openapi_lists_the_ticket_paths(anon):
    response = await anon.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, methods in {
        "/api/v1/tickets": {"get", "post"},
        "/api/v1/tickets/{ticket_id}": {"get", "put"},
        "/api/v1/tickets/{ticket_id}/transitions": {"post"},
        "/api/v1/tickets/{ticket_id}/comments": {"get", "post"},
        "/api/v1/tickets/{ticket_id}/attachments": {"get", "post"},
    }.items():
        assert path in paths, sorted(paths)
        assert methods <= set(paths[path]), path
    assert not any(p.startswith("/tickets") for p in paths)
    listing = paths["/api/v1/tickets"]["get"]
    names = {p["name"] for p in listing.get("parameters", [])}
    assert {
        "q",
        "status",
        "priority",
        "asset",
        "site",
        "assignee",
        "source",
        "overdue",
        "sort",
        "after",
        "per_page",
    } <= names
