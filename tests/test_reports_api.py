"""The staff reports API (/api/v1/reports, issue 19 item 8): the triage queue and one report as
the triage page shows them, every triage decision with the page's guards (role, stale version,
a decision taken once), a repeated write with the same Idempotency-Key answered once, and a
token's scopes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities.accounts import services as accounts
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.schemas import TokenCreate
from facilities.audit.tables import AuditEvent
from facilities.reports import services as reports
from facilities.reports.choices import ReportStatus
from facilities.reports.tables import ServiceRequest
from facilities.tickets.tables import RepairTicket, TicketAttachment, TicketComment
from tests.kit.media import jpeg
from tests.kit.reports import make_boardwalk, make_report
from tests.kit.tickets import make_ticket


def bearer(token: str, **more: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "accept": "application/json", **more}


async def token(personas: dict[str, Any], who: str, now: dt.datetime, *scopes: str) -> str:
    data = TokenCreate(name=f"{who} bot", user_id=personas[who].id, scopes=list(scopes))
    return await accounts.create_api_token(SYSTEM, data, now)


async def report_status(report_id: int) -> tuple[str, int, int | None]:
    row = await ServiceRequest.objects().where(ServiceRequest.id == report_id).first()
    assert row is not None
    return row.status, row.version, row.ticket


# --- reading ----------------------------------------------------------------------------------


async def test_queue_and_report_are_what_the_triage_page_shows(api, personas, media_root, now):
    asset = await make_boardwalk()
    first = await make_report(
        asset,
        now=now,
        media_root=media_root,
        photos=(jpeg(),),
        contact_name="张三",
        contact_phone="+86 138 0000 0000",
    )
    second = await make_report(asset, now=now + dt.timedelta(hours=1), media_root=media_root)
    bob = await api("bob")  # an inspector triages

    listed = await bob.get("/api/v1/reports")

    assert listed.status_code == 200, listed.text
    queue = await reports.triage_queue(personas["bob"], now)
    assert [r["id"] for r in listed.json()["new"]] == [r.report.id for r in queue.new]
    assert [r["id"] for r in listed.json()["covered"]] == [r.report.id for r in queue.covered]
    shown = next(r for r in listed.json()["new"] if r["id"] == first.report.id)
    assert second.report.id in [s["report_id"] for s in shown["suggestions"]]  # same place, kind
    assert shown["contact_name"] == "张三" and shown["contact_phone"] == "+86 138 0000 0000"
    assert shown["can_triage"] is True and shown["version"] == 1

    one = await bob.get(f"/api/v1/reports/{first.report.id}")
    assert one.status_code == 200, one.text
    body = one.json()
    assert body["report"]["status"] == "new" and body["ticket"] is None
    (photo,) = body["report"]["photos"]
    assert photo["content_type"] == "image/jpeg" and photo["size"] > 0
    download = await bob.client.get(photo["url"])
    assert download.status_code == 200
    assert download.headers["content-type"] == "image/jpeg"


async def test_same_as_link_and_merge_targets(api, personas, media_root, now):
    asset = await make_boardwalk()
    first = await make_report(asset, now=now, media_root=media_root)
    mine_too = await make_report(
        asset, now=now + dt.timedelta(hours=1), media_root=media_root, description="我也看到了"
    )
    await ServiceRequest.update({ServiceRequest.same_as: first.report.id}).where(
        ServiceRequest.id == mine_too.report.id
    )
    ticket = await make_ticket(personas["alice"], asset, now)
    bob = await api("bob")

    body = (await bob.get(f"/api/v1/reports/{mine_too.report.id}")).json()
    assert body["report"]["same_as"] == first.report.id
    assert body["same_as"]["id"] == first.report.id
    assert [t["id"] for t in body["merge_targets"]] == [ticket.id]
    other = (await bob.get(f"/api/v1/reports/{first.report.id}")).json()
    assert [r["id"] for r in other["same_here"]] == [mine_too.report.id]


async def test_unknown_report_is_404_and_bad_id_is_404(api):
    bob = await api("bob")
    missing = await bob.get("/api/v1/reports/999999")
    assert missing.status_code == 404 and missing.json()["status_code"] == 404
    assert (await bob.get("/api/v1/reports/0")).status_code == 404


# --- deciding ---------------------------------------------------------------------------------


async def test_convert_opens_one_ticket_even_when_sent_twice(api, media_root, now):
    asset = await make_boardwalk()
    submitted = await make_report(asset, now=now, media_root=media_root, photos=(jpeg(),))
    report_id = submitted.report.id
    bob = await api("bob")
    headers = {**bob.headers, "idempotency-key": "convert-1"}
    body = {"version": 1, "priority": "P1", "work_class": "minor"}

    first = await bob.client.post(
        f"/api/v1/reports/{report_id}/convert", json=body, headers=headers
    )
    again = await bob.client.post(
        f"/api/v1/reports/{report_id}/convert", json=body, headers=headers
    )

    assert first.status_code == 201, first.text
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    ticket_id = first.json()["ticket_id"]
    assert first.json()["report"]["status"] == "ticketed"
    assert await RepairTicket.count().where(RepairTicket.asset == asset.id) == 1
    ticket = await RepairTicket.objects().where(RepairTicket.id == ticket_id).first()
    assert ticket is not None and ticket.priority == "P1"
    assert await TicketAttachment.count().where(TicketAttachment.ticket == ticket_id) == 1
    assert (
        await AuditEvent.count().where(
            (AuditEvent.entity_type == "service_request")
            & (AuditEvent.entity_id == report_id)
            & (AuditEvent.action == "report.ticketed")
        )
        == 1
    )
    # a second decision on a decided report is refused, and changes nothing
    late = await bob.post(f"/api/v1/reports/{report_id}/reject", {"version": 2, "reason": "重复"})
    assert late.status_code == 409
    assert await report_status(report_id) == ("ticketed", 2, ticket_id)


async def test_stale_version_is_409_and_changes_nothing(api, media_root, now):
    submitted = await make_report(await make_boardwalk(), now=now, media_root=media_root)
    report_id = submitted.report.id
    bob = await api("bob")

    stale = await bob.post(f"/api/v1/reports/{report_id}/reject", {"version": 7, "reason": "x"})

    assert stale.status_code == 409
    assert stale.json()["detail"]
    assert await report_status(report_id) == ("new", 1, None)


async def test_merge_into_an_open_ticket(api, personas, media_root, now):
    asset = await make_boardwalk()
    submitted = await make_report(asset, now=now, media_root=media_root)
    ticket = await make_ticket(personas["alice"], asset, now)
    bob = await api("bob")

    nowhere = await bob.post(
        f"/api/v1/reports/{submitted.report.id}/merge", {"version": 1, "ticket_id": 999999}
    )
    assert nowhere.status_code == 400
    assert "ticket_id" in {e["key"] for e in nowhere.json()["extra"]}

    merged = await bob.post(
        f"/api/v1/reports/{submitted.report.id}/merge", {"version": 1, "ticket_id": ticket.id}
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["report"]["status"] == "merged"
    assert merged.json()["ticket_id"] == ticket.id
    assert await TicketComment.count().where(TicketComment.ticket == ticket.id) == 1


async def test_reject_needs_a_reason_in_the_readers_language(api, media_root, now):
    submitted = await make_report(await make_boardwalk(), now=now, media_root=media_root)
    report_id = submitted.report.id
    bob = await api("bob")
    url = f"/api/v1/reports/{report_id}/reject"

    english = await bob.client.post(
        url, json={"version": 1}, headers={**bob.headers, "accept-language": "en"}
    )
    chinese = await bob.client.post(
        url, json={"version": 1}, headers={**bob.headers, "accept-language": "zh-CN"}
    )

    assert english.status_code == chinese.status_code == 400
    assert english.json()["extra"][0]["key"] == "reason"
    assert "Say why" in english.json()["extra"][0]["message"]
    assert english.json()["extra"][0]["message"] != chinese.json()["extra"][0]["message"]
    assert await report_status(report_id) == ("new", 1, None)

    rejected = await bob.post(url, {"version": 1, "reason": "不是设施问题"})
    assert rejected.status_code == 200
    assert rejected.json()["report"]["public_reason"] == "不是设施问题"
    assert rejected.json()["report"]["status"] == ReportStatus.REJECTED


async def test_not_ours(api, media_root, now):
    submitted = await make_report(await make_boardwalk(), now=now, media_root=media_root)
    bob = await api("bob")
    answer = await bob.post(
        f"/api/v1/reports/{submitted.report.id}/not-ours", {"version": 1, "reason": "市政道路"}
    )
    assert answer.status_code == 200
    assert answer.json()["report"]["status"] == "not_ours"
    assert answer.json()["ticket_id"] is None


# --- refusals ---------------------------------------------------------------------------------


async def test_crew_and_viewers_may_not_triage(api, media_root, now):
    submitted = await make_report(await make_boardwalk(), now=now, media_root=media_root)
    for who in ("carol", "dave"):
        session = await api(who)
        assert (await session.get("/api/v1/reports")).status_code == 403
        assert (await session.get(f"/api/v1/reports/{submitted.report.id}")).status_code == 403
        refused = await session.post(
            f"/api/v1/reports/{submitted.report.id}/convert", {"version": 1}
        )
        assert refused.status_code == 403
    assert await report_status(submitted.report.id) == ("new", 1, None)


async def test_token_scopes(anon, personas, media_root, now):
    submitted = await make_report(await make_boardwalk(), now=now, media_root=media_root)
    url = f"/api/v1/reports/{submitted.report.id}"
    tickets_only = await token(personas, "bob", now, "tickets:write")
    reader = await token(personas, "bob", now, "reports:read")
    writer = await token(personas, "bob", now, "reports:write")

    refused = await anon.get("/api/v1/reports", headers=bearer(tickets_only))
    assert refused.status_code == 403 and "reports:read" in refused.json()["detail"]
    assert (await anon.get(url, headers=bearer(reader))).status_code == 200
    read_only = await anon.post(f"{url}/not-ours", json={"version": 1}, headers=bearer(reader))
    assert read_only.status_code == 403 and "reports:write" in read_only.json()["detail"]
    assert await report_status(submitted.report.id) == ("new", 1, None)
    done = await anon.post(f"{url}/not-ours", json={"version": 1}, headers=bearer(writer))
    assert done.status_code == 200
