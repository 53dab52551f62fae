"""Closure pages for staff: the list, the forms (bilingual fields, safety-measure checkboxes,
dates), the closure page (gate checklist, promise history, linked tickets, timeline with drafts,
audit history), extend / cancel / lift / sign-off, the drafts to publish, the proposals from
inspections, and who may do what.

Closures made here start well in the past (in force) or a year ahead (planned): within the
date horizon (FACILITIES_DATE_HORIZON_YEARS) of the app's clock.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest

from facilities.audit.tables import AuditEvent
from facilities.closures import services as closures
from facilities.closures.choices import NoticeState, Scope, Status
from facilities.closures.schemas import CancelIn, ExtendIn, NoticeIn
from facilities.closures.tables import Closure
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType
from facilities.inspections.schemas import InspectionIn
from facilities.inspections.tables import ClosureProposal
from facilities.records import loads
from facilities.tickets.choices import Status as TicketStatus
from tests.kit.assets import make_asset
from tests.kit.clients import csrf_token
from tests.kit.closures import closure_in, drive_ticket, events, link, make_closure, repaired
from tests.kit.constants import ZONE

PAST = dt.datetime(2026, 1, 5, 1, 0, tzinfo=dt.UTC)


async def english(login: Any, username: str) -> httpx.AsyncClient:
    client = await login(username)
    client.cookies.set("lang", "en")
    return client


async def post(client: httpx.AsyncClient, url: str, data: Any) -> httpx.Response:
    """A browser form post (``data`` may be a list of pairs, for repeated checkboxes)."""
    token = await csrf_token(client)
    pairs = list(data.items()) if isinstance(data, dict) else list(data)
    fields: dict[str, list[str]] = {"_csrf_token": [token]}
    for key, value in pairs:
        fields.setdefault(key, []).append(str(value))
    return await client.post(url, data=fields)


async def fresh(closure_id: int) -> Closure:
    found = await closures.find_closure(closure_id)
    assert found is not None
    return found


def form_fields(asset_id: int, **overrides: Any) -> list[tuple[str, str]]:
    values = {
        "asset_id": str(asset_id),
        "scope": "full",
        "reason": "repair_works",
        "reason_zh": "桥面木板腐朽，全封闭维修",
        "reason_en": "Closed to renew the rotten deck",
        "effective_from": "2026-01-05T09:00",
        "planned_reopen_on": "2027-05-01",
        "reopen_precision": "before",
    }
    values.update(overrides)
    measures = values.pop("measures", "fencing,warning_signs,nets_over_water")
    return [*values.items(), *(("safety_measures", m) for m in measures.split(",") if m)]


# --- list, create, edit --------------------------------------------------------------------


async def test_the_list_filters_by_status(login, personas, now):
    alice = personas["alice"]
    active = await make_closure(alice, await make_asset(code="GX-QL-PH-001"), now)
    planned_asset = await make_asset(code="GX-QL-YM-002")
    await make_closure(
        alice,
        planned_asset,
        now,
        effective_from=now + dt.timedelta(days=365),
        planned_reopen_on=None,
    )
    gone = await make_closure(alice, await make_asset(code="GX-QL-XX-003"), now)
    await closures.cancel(alice, gone.id, CancelIn(version=gone.version, reason_zh="误报"), now)
    client = await english(login, "dave")
    page = await client.get("/closures")
    assert page.status_code == 200
    assert "GX-QL-PH-001" in page.text and "GX-QL-YM-002" in page.text
    assert "GX-QL-XX-003" not in page.text
    cancelled = await client.get("/closures", params={"status": "cancelled"})
    assert "GX-QL-XX-003" in cancelled.text and "GX-QL-PH-001" not in cancelled.text
    everything = await client.get("/closures", params={"status": "all"})
    assert all(code in everything.text for code in ("PH-001", "YM-002", "XX-003"))
    assert f'href="/closures/{active.id}"' in everything.text
    assert (await client.get("/closures", params={"status": "nonsense"})).status_code == 400


async def test_creating_a_closure_from_the_form(login, personas):
    asset = await make_asset(code="GX-QL-PH-001")
    client = await english(login, "alice")
    form = await client.get("/closures/new", params={"asset": asset.id})
    assert form.status_code == 200
    assert 'type="datetime-local"' in form.text and 'name="planned_reopen_on"' in form.text
    assert form.text.count('name="safety_measures"') == 7
    assert 'id="reason_zh"' in form.text and 'id="reason_en"' in form.text
    response = await post(client, "/closures", form_fields(asset.id))
    assert response.status_code == 303, response.text
    closure = await Closure.objects().first()
    assert response.headers["location"] == f"/closures/{closure.id}"
    assert closure.status == Status.ACTIVE  # it started in the past
    assert closure.effective_from == dt.datetime(2026, 1, 5, 1, 0, tzinfo=dt.UTC)  # 09:00 +08:00
    assert closure.planned_reopen_on == dt.date(2027, 5, 1)
    assert loads(closure.safety_measures) == [
        "fencing",
        "nets_over_water",
        "warning_signs",
    ]
    page = await client.get(response.headers["location"])
    assert "Closed to renew the rotten deck" in page.text
    assert "Filter nets on the water" in page.text


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"scope": "partial"}, "affected_part_zh", "Say which part is closed."),
        ({"measures": "fencing,detour"}, "detour_zh", "Describe the detour."),
        (
            {"planned_reopen_on": "2025-12-31"},
            "planned_reopen_on",
            "The reopening cannot be before the closure starts.",
        ),
        ({"scope": "restricted"}, "crowd_limit", "Give a crowd limit"),
        ({"effective_from": "tomorrow"}, "effective_from", "expected format"),
        ({"reason_zh": ""}, "reason_zh", "This field is required."),
    ],
    ids=["partial", "detour", "reopen-before-start", "restricted", "start", "reason"],
)
async def test_invalid_forms_come_back_400_keeping_what_was_typed(
    login, personas, overrides, field, message
):
    asset = await make_asset()
    client = await english(login, "alice")
    fields = form_fields(asset.id, hours_en="typed hours", **overrides)
    response = await post(client, "/closures", fields)
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text
    assert message in response.text
    assert "typed hours" in response.text
    assert 'value="2027-05-01"' in response.text or overrides.get("planned_reopen_on")
    if "detour" in overrides.get("measures", ""):
        assert re.search(r'value="detour"\s+checked', response.text)
    assert await Closure.count() == 0


async def test_a_stale_edit_is_refused_409_and_keeps_the_typed_values(login, personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    closure = await make_closure(alice, asset, PAST)
    client = await english(login, "alice")
    form = await client.get(f"/closures/{closure.id}/edit")
    assert form.status_code == 200
    assert f'name="version" value="{closure.version}"' in form.text
    assert 'name="planned_reopen_on"' not in form.text  # in force: only by extending
    assert f'href="/closures/{closure.id}/extend"' in form.text
    # Somebody else saves first.
    await closures.update_closure(
        alice,
        closure.id,
        closure_in(asset.id, PAST, reason_en="Changed elsewhere", version=closure.version),
        now,
    )
    typed = form_fields(
        asset.id,
        effective_from=PAST.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M"),
        reason_zh="我的修改",
        version=str(closure.version),
    )
    typed = [(k, v) for k, v in typed if k not in {"planned_reopen_on", "reopen_precision"}]
    response = await post(client, f"/closures/{closure.id}", typed)
    assert response.status_code == 409
    assert "我的修改" in response.text
    assert "Someone else saved this record" in response.text
    assert f'name="version" value="{closure.version + 1}"' in response.text
    saved = await fresh(closure.id)
    assert (saved.reason_zh, saved.reason_en) == (closure.reason_zh, "Changed elsewhere")
    again = await post(
        client,
        f"/closures/{closure.id}",
        [*[(k, v) for k, v in typed if k != "version"], ("version", str(saved.version))],
    )
    assert again.status_code == 303
    assert (await fresh(closure.id)).reason_zh == "我的修改"


# --- the closure page ----------------------------------------------------------------------


async def test_the_closure_page_shows_gate_promises_tickets_and_timeline(login, personas, now):
    alice = personas["alice"]
    asset = await make_asset(code="GX-QL-PH-001")
    closure = await make_closure(alice, asset, now)
    await closures.extend(
        alice,
        closure.id,
        ExtendIn(
            version=closure.version,
            planned_reopen_on=dt.date(2027, 6, 1),
            reason_zh="雨季延误",
            reason_en="Rain delays",
        ),
        now + dt.timedelta(days=30),
    )
    ticket = await drive_ticket(alice, asset, TicketStatus.IN_PROGRESS, now, title="更换木板")
    await link(alice, await fresh(closure.id), ticket, "桥面木板更换")
    await closures.write_update(
        alice, closure.id, NoticeIn(text_zh="待发布的草稿", publish=False), now
    )
    client = await english(login, "carol")
    page = await client.get(f"/closures/{closure.id}")
    assert page.status_code == 200
    text = page.text
    for expected in (
        "Every linked repair ticket is accepted or closed",
        "A final acceptance inspection passed",
        "Grade C or better, no open direct-control finding",
        "A supervisor signed off",
        "0 of 1 done",
        "Not met",
        "Revised on",
        "雨季延误",
        "Current promise",
        "桥面木板更换",
        "In progress",  # what citizens read about the ticket
        "待发布的草稿",
        "Draft",
        "extended the closure",  # the audit history, in words
    ):
        assert expected in text, expected
    # Carol (crew) sees no write controls.
    assert f'action="/closures/{closure.id}/tickets"' not in text
    assert f'href="/closures/{closure.id}/edit"' not in text
    assert "/sign-off" not in text


async def test_extend_and_cancel_forms(login, personas, now):
    alice = personas["alice"]
    closure = await make_closure(alice, now=now)
    client = await english(login, "alice")
    form = await client.get(f"/closures/{closure.id}/extend")
    assert form.status_code == 200 and 'name="reason_zh"' in form.text
    missing = await post(
        client,
        f"/closures/{closure.id}/extend",
        {"version": closure.version, "planned_reopen_on": "2027-06-01", "reason_en": "typed"},
    )
    assert missing.status_code == 400
    assert 'id="reason_zh-error"' in missing.text and "typed" in missing.text
    assert 'value="2027-06-01"' in missing.text
    earlier = await post(
        client,
        f"/closures/{closure.id}/extend",
        {"version": closure.version, "planned_reopen_on": "2027-04-01", "reason_zh": "原因"},
    )
    assert earlier.status_code == 400
    done = await post(
        client,
        f"/closures/{closure.id}/extend",
        {"version": closure.version, "planned_reopen_on": "2027-06-01", "reason_zh": "雨季"},
    )
    assert done.status_code == 303
    extended = await fresh(closure.id)
    assert (extended.status, extended.planned_reopen_on) == (Status.EXTENDED, dt.date(2027, 6, 1))
    stale = await post(
        client,
        f"/closures/{closure.id}/extend",
        {"version": closure.version, "planned_reopen_on": "2027-07-01", "reason_zh": "再延"},
    )
    assert stale.status_code == 409
    assert "再延" in stale.text
    cancel = await post(
        client,
        f"/closures/{closure.id}/cancel",
        {"version": extended.version, "reason_zh": "另有安排"},
    )
    assert cancel.status_code == 303
    assert (await fresh(closure.id)).status == Status.CANCELLED


async def test_linking_and_unlinking_tickets_on_the_page(login, personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    closure = await make_closure(alice, asset, now)
    ticket = await drive_ticket(alice, asset, TicketStatus.NEW, now, title="主缆除锈涂油")
    client = await english(login, "alice")
    page = await client.get(f"/closures/{closure.id}")
    assert f'<option value="{ticket.id}"' in page.text
    missing = await post(client, f"/closures/{closure.id}/tickets", {"ticket_id": ticket.id})
    assert missing.status_code == 400 and 'id="public_label_zh-error"' in missing.text
    linked = await post(
        client,
        f"/closures/{closure.id}/tickets",
        {"ticket_id": ticket.id, "public_label_zh": "主缆除锈", "public_label_en": "Cable care"},
    )
    assert linked.status_code == 303
    page = await client.get(f"/closures/{closure.id}")
    assert "主缆除锈" in page.text and "Cable care" in page.text
    unlinked = await post(client, f"/closures/{closure.id}/tickets/{ticket.id}/unlink", {})
    assert unlinked.status_code == 303
    assert await closures.linked_tickets(closure.id) == []


async def test_writing_an_update_on_the_page(login, personas, now):
    alice = personas["alice"]
    closure = await make_closure(alice, now=now)
    client = await english(login, "alice")
    empty = await post(client, f"/closures/{closure.id}/updates", {"text_en": "only english"})
    assert empty.status_code == 400 and "only english" in empty.text
    written = await post(
        client,
        f"/closures/{closure.id}/updates",
        {"text_zh": "桥面铺装完成", "text_en": "Deck laid", "publish": "true"},
    )
    assert written.status_code == 303
    [update] = [u for u in await closures.list_updates(closure.id) if u.text_zh == "桥面铺装完成"]
    assert update.state == NoticeState.PUBLISHED


# --- sign-off and lift ---------------------------------------------------------------------


async def test_lift_page_offers_the_override_only_to_admins_while_the_gate_is_shut(
    login, personas, now
):
    alice = personas["alice"]
    closure = await make_closure(alice, now=now)
    supervisor = await english(login, "alice")
    admin = await english(login, "admin")
    page = await supervisor.get(f"/closures/{closure.id}/lift")
    assert page.status_code == 200
    assert 'name="override_reason"' not in page.text
    assert "Only an administrator may override" in page.text
    assert 'name="override_reason"' in (await admin.get(f"/closures/{closure.id}/lift")).text

    refused = await post(supervisor, f"/closures/{closure.id}/lift", {"version": closure.version})
    assert refused.status_code == 409
    assert "The reopening criteria are not all met" in refused.text
    sneaky = await post(
        supervisor,
        f"/closures/{closure.id}/lift",
        {"version": closure.version, "override_reason": "我说可以"},
    )
    assert sneaky.status_code == 403
    page = await supervisor.get(f"/closures/{closure.id}")
    assert re.search(r'class="primary" disabled[^>]*>Sign off the repair', page.text)
    blocked = await post(
        supervisor, f"/closures/{closure.id}/sign-off", {"version": closure.version}
    )
    assert blocked.status_code == 409
    assert "The repair is not verified yet" in blocked.text
    assert (await fresh(closure.id)).status == Status.ACTIVE

    overridden = await post(
        admin,
        f"/closures/{closure.id}/lift",
        {"version": closure.version, "override_reason": "防汛通道，专家确认安全", "reopens_at": ""},
    )
    assert overridden.status_code == 303
    lifted = await fresh(closure.id)
    assert (lifted.status, lifted.override_reason) == (Status.LIFTED, "防汛通道，专家确认安全")
    [event] = await events(closure.id, "closure.lifted_override")
    assert event["actor"] == personas["admin"].id
    page = await admin.get(f"/closures/{closure.id}")
    assert "防汛通道，专家确认安全" in page.text
    assert "lifted the closure by overriding the criteria" in page.text


async def test_sign_off_then_lift_through_the_open_gate(login, personas, now, tmp_path):
    case = await repaired(personas, now, tmp_path, sign=False)
    alice = await english(login, "alice")
    page = await alice.get(f"/closures/{case.closure.id}")
    # Criteria 1-3 are met: the sign-off button is enabled.
    assert re.search(r'<button type="submit" class="primary"\s*>Sign off the repair', page.text)
    signed = await post(
        alice, f"/closures/{case.closure.id}/sign-off", {"version": case.closure.version}
    )
    assert signed.status_code == 303
    closure = await fresh(case.closure.id)
    assert closure.signed_off_by == personas["alice"].id
    admin_view = await (await english(login, "admin")).get(f"/closures/{closure.id}/lift")
    assert 'name="override_reason"' not in admin_view.text  # the gate is open: no override
    lifted = await post(
        alice,
        f"/closures/{closure.id}/lift",
        {"version": closure.version, "reopens_at": "2030-04-30T08:00"},
    )
    assert lifted.status_code == 303
    done = await fresh(closure.id)
    assert done.status == Status.LIFTED
    assert done.reopens_at == dt.datetime(2030, 4, 30, 0, 0, tzinfo=dt.UTC)
    assert await events(closure.id, "closure.lifted")


# --- drafts and proposals ------------------------------------------------------------------


async def test_drafts_are_published_as_they_are_edited_or_discarded(login, personas, now):
    alice = personas["alice"]
    closure = await make_closure(alice, now=now)
    first = await closures.write_update(
        alice, closure.id, NoticeIn(text_zh="主缆涂油开始", publish=False), now
    )
    second = await closures.write_update(
        alice, closure.id, NoticeIn(text_zh="不必发布", publish=False), now
    )
    third = await closures.write_update(
        alice, closure.id, NoticeIn(text_zh="直接发布", publish=False), now
    )
    client = await english(login, "alice")
    page = await client.get("/closures/drafts")
    assert page.status_code == 200
    assert all(t in page.text for t in ("主缆涂油开始", "不必发布", "直接发布"))
    empty = await post(client, f"/closures/drafts/{first.id}/publish", {"text_zh": ""})
    assert empty.status_code == 400 and f'id="text_zh-{first.id}-error"' in empty.text
    edited = await post(
        client,
        f"/closures/drafts/{first.id}/publish",
        {"text_zh": "主缆涂油已经开始", "text_en": "Cable greasing has begun"},
    )
    assert edited.status_code == 303
    assert (await closures.get_update(alice, first.id)).text_en == "Cable greasing has begun"
    discarded = await post(client, f"/closures/drafts/{second.id}/discard", {})
    assert discarded.status_code == 303
    one_click = await post(
        client, f"/closures/drafts/{third.id}/publish", {"next": f"/closures/{closure.id}"}
    )
    assert (one_click.status_code, one_click.headers["location"]) == (
        303,
        f"/closures/{closure.id}",
    )
    states = [(await closures.get_update(alice, u.id)).state for u in (first, second, third)]
    assert states == [NoticeState.PUBLISHED, NoticeState.DISCARDED, NoticeState.PUBLISHED]
    again = await post(client, f"/closures/drafts/{third.id}/publish", {})
    assert again.status_code == 409
    assert "No drafts are waiting." in (await client.get("/closures/drafts")).text


async def test_a_proposal_is_approved_with_one_click(login, personas, now):
    alice = personas["alice"]
    asset = await make_asset(code="GX-QL-PH-001")
    raised = await inspections.create_inspection(
        alice,
        InspectionIn(asset_id=asset.id, inspection_type=InspectionType.SPECIAL, due_on=now.date()),
        ZONE,
        now,
    )
    proposal = ClosureProposal(
        asset=asset.id, inspection=raised.id, scope="full", reason="主缆断丝", created_at=now
    )
    await proposal.save()
    viewer = await english(login, "dave")
    assert "Awaiting a supervisor" in (await viewer.get("/closures")).text
    client = await english(login, "alice")
    index = await client.get("/closures")
    assert f'action="/closures/proposals/{proposal.id}/approve"' in index.text
    assert "主缆断丝" in index.text
    response = await post(client, f"/closures/proposals/{proposal.id}/approve", {})
    assert response.status_code == 303
    closure = await Closure.objects().where(Closure.asset == asset.id).first()
    assert response.headers["location"] == f"/closures/{closure.id}"
    assert (closure.scope, closure.status) == (Scope.FULL, Status.ACTIVE)
    decided = await ClosureProposal.objects().where(ClosureProposal.id == proposal.id).first()
    assert decided.status == "approved"
    assert f"/closures/proposals/{proposal.id}/approve" not in (await client.get("/closures")).text
    twice = await post(client, f"/closures/proposals/{proposal.id}/approve", {})
    assert twice.status_code == 409


# --- who may do what -----------------------------------------------------------------------


@pytest.mark.parametrize("username", ["dave", "carol", "bob"])
async def test_read_only_roles_see_the_pages_but_cannot_write(login, personas, now, username):
    alice = personas["alice"]
    asset = await make_asset()
    closure = await make_closure(alice, asset, now)
    ticket = await drive_ticket(alice, asset, TicketStatus.NEW, now)
    draft = await closures.write_update(
        alice, closure.id, NoticeIn(text_zh="草稿", publish=False), now
    )
    client = await english(login, username)
    assert (await client.get("/closures")).status_code == 200
    page = await client.get(f"/closures/{closure.id}")
    assert page.status_code == 200
    assert 'href="/closures/new"' not in (await client.get("/closures")).text
    for url in ("/closures/new", f"/closures/{closure.id}/edit", f"/closures/{closure.id}/lift"):
        assert (await client.get(url)).status_code == 403, url
    writes = [
        ("/closures", form_fields(asset.id)),
        (f"/closures/{closure.id}", form_fields(asset.id, version=str(closure.version))),
        (
            f"/closures/{closure.id}/extend",
            {"version": closure.version, "planned_reopen_on": "2027-06-01", "reason_zh": "x"},
        ),
        (f"/closures/{closure.id}/cancel", {"version": closure.version, "reason_zh": "x"}),
        (f"/closures/{closure.id}/lift", {"version": closure.version, "override_reason": "x"}),
        (f"/closures/{closure.id}/sign-off", {"version": closure.version}),
        (f"/closures/{closure.id}/tickets", {"ticket_id": ticket.id, "public_label_zh": "x"}),
        (f"/closures/{closure.id}/updates", {"text_zh": "x"}),
        (f"/closures/drafts/{draft.id}/publish", {}),
        (f"/closures/drafts/{draft.id}/discard", {}),
    ]
    for url, data in writes:
        assert (await post(client, url, data)).status_code == 403, url
    unchanged = await fresh(closure.id)
    assert (unchanged.version, unchanged.status) == (closure.version, Status.ACTIVE)
    assert await closures.linked_tickets(closure.id) == []
    assert (await closures.get_update(alice, draft.id)).state == NoticeState.DRAFT
    assert (
        await AuditEvent.count().where(
            (AuditEvent.actor == personas[username].id) & (AuditEvent.entity_type == "closure")
        )
        == 0
    )


async def test_anonymous_visitors_are_sent_to_log_in(anon):
    response = await anon.get("/closures")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
