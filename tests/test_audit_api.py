"""Audit timelines through the API (issue 19 item 8): a record's history as its page shows it
(each change by its form label, each value by its label, in the reader's language), newest
first, walked a page at a time with a cursor; only for records the caller may read; the per-
record doors need the record's domain scope, /api/v1/audit needs admin:read."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from facilities import i18n
from facilities.accounts import services as accounts
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.schemas import TokenCreate
from facilities.audit import display
from facilities.audit import services as audit
from facilities.audit.choices import action_label
from facilities.closures.labels import closure_action_label
from facilities.reports import services as reports
from facilities.reports.schemas import AnswerIn
from facilities.tickets.choices import Status
from tests.kit.assets import make_asset
from tests.kit.closures import make_closure
from tests.kit.inspections import plan
from tests.kit.reports import make_boardwalk, make_report
from tests.kit.tickets import drive_to, make_ticket


def page_view(event: dict[str, Any], label: Any = action_label) -> dict[str, Any]:
    """What the record's page shows of an event, in the active language."""
    return {
        "id": event["id"],
        "actor_name": event["actor_name"] or "",
        "action": event["action"],
        "action_label": label(event["action"]),
        "changes": [
            {"field": c.field, "label": c.label, "before": c.before, "after": c.after}
            for c in display.changes(event)
        ],
    }


def api_view(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in ("id", "actor_name", "action", "action_label", "changes")}


async def busy_ticket(personas: dict[str, Any], now: dt.datetime) -> int:
    alice = personas["alice"]
    ticket = await make_ticket(alice, await make_asset(), now)
    await drive_to(ticket.id, Status.IN_PROGRESS, alice, now + dt.timedelta(hours=1))
    return int(ticket.id)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_ticket_timeline_is_what_the_page_shows(api, personas, now, language):
    ticket_id = await busy_ticket(personas, now)
    dave = await api("dave")  # a viewer reads tickets, so their histories
    accept = "en" if language == "en" else "zh-CN"

    response = await dave.client.get(
        f"/api/v1/tickets/{ticket_id}/timeline",
        params={"per_page": 200},
        headers={**dave.headers, "accept-language": accept},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["entity"], body["entity_id"], body["next_cursor"]) == ("ticket", ticket_id, None)
    with i18n.use_locale(language):
        expected = [page_view(e) for e in await audit.list_events("ticket", ticket_id)]
    assert [api_view(item) for item in body["items"]] == expected
    assert len(expected) >= 3
    status_changes = [
        c for item in body["items"] for c in item["changes"] if c["field"] == "status"
    ]
    assert status_changes
    if language == "en":
        assert {c["label"] for c in status_changes} == {"Status"}
        assert "In progress" in {c["after"] for c in status_changes}
    else:
        assert {c["label"] for c in status_changes} == {"状态"}
    first = body["items"][-1]
    assert first["action"] == "ticket.created" and first["actor_id"] == personas["alice"].id


async def test_a_long_history_is_walked_page_by_page(api, personas, now):
    ticket_id = await busy_ticket(personas, now)
    everything = [e["id"] for e in await audit.list_events("ticket", ticket_id)]
    dave = await api("dave")
    seen: list[int] = []
    cursor = ""
    for _page in range(len(everything) + 1):
        params: dict[str, Any] = {"per_page": 2}
        if cursor:
            params["after"] = cursor
        body = (await dave.get(f"/api/v1/tickets/{ticket_id}/timeline", **params)).json()
        assert len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == everything  # newest first, none twice, none missed


@pytest.mark.parametrize("cursor", ["nonsense", "W10", "WyJ4IiwgMV0", "WzEsIDJd", "%%%"])
async def test_a_made_up_cursor_is_a_400_naming_it(api, personas, now, cursor):
    ticket_id = await busy_ticket(personas, now)
    dave = await api("dave")
    response = await dave.get(f"/api/v1/tickets/{ticket_id}/timeline", after=cursor)
    assert response.status_code == 400, response.text
    assert "after" in {e["key"] for e in response.json()["extra"]}


async def test_every_kind_of_record_by_both_doors(api, personas, media_root, now):
    alice = personas["alice"]
    asset = await make_asset()
    closure = await make_closure(alice, asset, now)
    submitted = await make_report(await make_boardwalk(), now=now, media_root=media_root)
    await reports.reject_report(alice, submitted.report.id, AnswerIn(version=1, reason="否"), now)
    ticket_id = await busy_ticket(personas, now)
    admin = await api("admin")
    cases = [
        ("ticket", "tickets", ticket_id, "ticket", action_label),
        ("asset", "assets", asset.id, "asset", action_label),
        ("site", "sites", asset.site, "site", action_label),
        ("closure", "closures", closure.id, "closure", closure_action_label),
        ("report", "reports", submitted.report.id, "service_request", action_label),
    ]
    for entity, segment, record_id, entity_type, label in cases:
        own = await admin.get(f"/api/v1/{segment}/{record_id}/timeline")
        general = await admin.get("/api/v1/audit", entity=entity, id=record_id)
        assert own.status_code == general.status_code == 200, (entity, own.text)
        assert own.json() == general.json()
        with i18n.use_locale("zh_CN"):
            expected = [
                page_view(e, label) for e in await audit.list_events(entity_type, record_id)
            ]
        assert [api_view(i) for i in own.json()["items"]] == expected, entity
        assert expected, entity
    assert "rejected the report" not in str(
        (await admin.get(f"/api/v1/reports/{submitted.report.id}/timeline")).json()
    )  # zh_CN by default: the label is translated


async def test_inspection_timeline(api, personas, now, seeded_policy):
    inspection = await plan(personas["alice"], await make_asset(), now)
    dave = await api("dave")
    own = await dave.get(f"/api/v1/inspections/{inspection.id}/timeline")
    assert own.status_code == 200
    assert [i["id"] for i in own.json()["items"]] == [
        e["id"] for e in await audit.list_events("inspection", inspection.id)
    ]


async def test_only_records_the_caller_may_read(api, personas, media_root, now):
    submitted = await make_report(await make_boardwalk(), now=now, media_root=media_root)
    carol = await api("carol")  # crew do not triage reports, so do not read their history
    assert (await carol.get(f"/api/v1/reports/{submitted.report.id}/timeline")).status_code == 403
    refused = await carol.get("/api/v1/audit", entity="report", id=submitted.report.id)
    assert refused.status_code == 403
    for url in ("/api/v1/tickets/999999/timeline", "/api/v1/closures/999999/timeline"):
        assert (await carol.get(url)).status_code == 404
    assert (await carol.get("/api/v1/audit", entity="ticket", id=999999)).status_code == 404
    unknown_kind = await carol.get("/api/v1/audit", entity="password", id=1)
    assert unknown_kind.status_code == 400


async def test_token_scopes(anon, personas, now):
    ticket_id = await busy_ticket(personas, now)

    async def bearer(*scopes: str) -> dict[str, str]:
        data = TokenCreate(name="audit", user_id=personas["admin"].id, scopes=list(scopes))
        return {"authorization": f"Bearer {await accounts.create_api_token(SYSTEM, data, now)}"}

    tickets_reader = await bearer("tickets:read")
    auditor = await bearer("admin:read")
    own = f"/api/v1/tickets/{ticket_id}/timeline"
    general = f"/api/v1/audit?entity=ticket&id={ticket_id}"
    assert (await anon.get(own, headers=tickets_reader)).status_code == 200
    refused = await anon.get(general, headers=tickets_reader)
    assert refused.status_code == 403 and "admin:read" in refused.json()["detail"]
    assert (await anon.get(general, headers=auditor)).status_code == 200
    assert (await anon.get(own, headers=auditor)).status_code == 403
