"""Once-only writes (facilities/accounts/submissions.py): a form sent twice with its one-time key,
an API call repeated with its Idempotency-Key, an Open311 POST repeated with the same body, each
makes one record and gets the first answer, also when the two requests run concurrently. Runs
on whichever database the suite runs on (SQLite, or PostgreSQL with TEST_DATABASE_URL).

The browser's double tap is test_browser_journeys.py; the public numbers leaving merged
duplicates out are at the end of this file."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re
from pathlib import Path

import httpx
import pytest

from facilities.accounts import services as accounts
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.tables import SubmissionRecord
from facilities.reports import services as reports
from facilities.reports.choices import ReportStatus
from facilities.reports.schemas import ConvertIn, KeyCreate, MergeIn
from facilities.reports.tables import ServiceRequest
from facilities.tickets.tables import RepairTicket, TicketComment
from tests.kit.clients import client_for_app, csrf_token
from tests.kit.constants import ZONE
from tests.kit.reports import NEAR_BOARDWALK, make_boardwalk, make_report, repair

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@pytest.fixture
def settings(settings, tmp_path):
    return dataclasses.replace(settings, media_dir=str(tmp_path / "media"))


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert match, f"no {name} in the page"
    return match.group(1)


async def report_form(client: httpx.AsyncClient, asset_id: int) -> dict[str, str]:
    """The citizen report form as the page renders it: its CSRF token and submission key."""
    page = await client.get("/report", params={"asset": asset_id})
    assert page.status_code == 200
    return {
        "_csrf_token": hidden(page.text, "_csrf_token"),
        "_submission": hidden(page.text, "_submission"),
        "asset_id": str(asset_id),
        "category": "deck_damage",
        "description": "东入口一块木板松动 / loose plank at the east entrance",
        "contact_email": "citizen@example.org",
        "homepage": "",
        "lat": "",
        "lng": "",
    }


async def test_a_report_sent_twice_at_once_makes_one_report(anon):
    boardwalk = await make_boardwalk()
    form = await report_form(anon, boardwalk.id)

    first, second = await asyncio.gather(
        anon.post("/report", data=form), anon.post("/report", data=form)
    )

    assert (first.status_code, second.status_code) == (303, 303)
    assert first.headers["location"] == second.headers["location"]
    assert first.headers["location"].startswith("/reports/")
    replayed = [r for r in (first, second) if r.headers.get("idempotent-replayed") == "true"]
    assert len(replayed) == 1
    assert await ServiceRequest.count() == 1

    # Going back and sending the same page again: the same answer, still one report.
    again = await anon.post("/report", data=form)
    assert again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert await ServiceRequest.count() == 1


async def test_a_refused_form_releases_its_key_for_the_corrected_one(anon):
    boardwalk = await make_boardwalk()
    form = await report_form(anon, boardwalk.id)

    refused = await anon.post("/report", data={**form, "description": ""})
    assert refused.status_code == 400
    assert await SubmissionRecord.count() == 0

    sent = await anon.post("/report", data=form)
    assert sent.status_code == 303
    assert "idempotent-replayed" not in sent.headers
    assert await ServiceRequest.count() == 1


async def test_a_form_changed_before_it_is_sent_again_is_a_new_submission(anon):
    """Back, correct the text, send: what was typed is not lost to the first answer."""
    boardwalk = await make_boardwalk()
    form = await report_form(anon, boardwalk.id)
    first = await anon.post("/report", data=form)

    corrected = await anon.post("/report", data={**form, "description": "东入口两块木板松动"})

    assert corrected.status_code == 303
    assert corrected.headers["location"] != first.headers["location"]
    assert await ServiceRequest.count() == 2


async def test_each_rendered_form_is_its_own_submission(anon):
    boardwalk = await make_boardwalk()
    one = await report_form(anon, boardwalk.id)
    two = await report_form(anon, boardwalk.id)
    assert one["_submission"] != two["_submission"]

    assert (await anon.post("/report", data=one)).status_code == 303
    assert (await anon.post("/report", data=two)).status_code == 303
    assert await ServiceRequest.count() == 2


async def test_a_key_is_worth_nothing_to_another_browser(app, anon):
    """Another browser sending the same key makes its own report: it is never answered with
    the first reporter's tracking link (which is theirs alone)."""
    boardwalk = await make_boardwalk()
    form = await report_form(anon, boardwalk.id)
    mine = await anon.post("/report", data=form)

    async with client_for_app(app) as other:
        theirs = await other.post("/report", data={**form, "_csrf_token": await csrf_token(other)})

    assert theirs.status_code == 303
    assert theirs.headers["location"] != mine.headers["location"]
    assert "idempotent-replayed" not in theirs.headers
    assert await ServiceRequest.count() == 2


async def test_a_staff_ticket_form_and_a_comment_sent_twice_make_one_each(login):
    boardwalk = await make_boardwalk()
    client = await login("alice")
    page = await client.get("/tickets/new", params={"asset_id": boardwalk.id})
    assert page.status_code == 200
    form = {
        "_csrf_token": hidden(page.text, "_csrf_token"),
        "_submission": hidden(page.text, "_submission"),
        "asset_id": str(boardwalk.id),
        "title": "栏杆松动 / loose railing",
        "description": "东侧第三段栏杆松动",
        "priority": "P1",
        "work_class": "minor",
        "source": "patrol",
    }
    first, second = await asyncio.gather(
        client.post("/tickets", data=form), client.post("/tickets", data=form)
    )
    assert (first.status_code, second.status_code) == (303, 303), first.text[:2000]
    assert first.headers["location"] == second.headers["location"]
    assert await RepairTicket.count() == 1

    ticket_page = await client.get(first.headers["location"])
    action = re.search(r'action="(/tickets/\d+/comments)"', ticket_page.text)
    assert action, "the ticket page has a comment form"
    comment_form = ticket_page.text[ticket_page.text.index(action.group(0)) :]
    comment = {
        "_csrf_token": hidden(comment_form, "_csrf_token"),
        "_submission": hidden(comment_form, "_submission"),
        "body": "已到现场 / on site",
    }
    sent = await asyncio.gather(*(client.post(action.group(1), data=comment) for _ in range(3)))
    assert [r.status_code for r in sent] == [303, 303, 303]
    assert await TicketComment.count() == 1


async def test_an_api_call_repeated_with_its_idempotency_key(api):
    boardwalk = await make_boardwalk()
    session = await api("alice")
    body = {"asset_id": boardwalk.id, "title": "栏杆松动", "priority": "P2"}
    headers = {**session.headers, "idempotency-key": "field-app-0001"}

    first, second = await asyncio.gather(
        session.client.post("/api/v1/tickets", json=body, headers=headers),
        session.client.post("/api/v1/tickets", json=body, headers=headers),
    )

    assert (first.status_code, second.status_code) == (201, 201), first.text
    assert first.json() == second.json()
    assert await RepairTicket.count() == 1
    # Without a key, or with another, a call is a new one.
    other = await session.client.post(
        "/api/v1/tickets", json=body, headers={**headers, "idempotency-key": "field-app-0002"}
    )
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]
    too_long = await session.client.post(
        "/api/v1/tickets", json=body, headers={**headers, "idempotency-key": "k" * 201}
    )
    assert too_long.status_code == 400
    assert await RepairTicket.count() == 2


async def test_an_open311_post_repeated_within_minutes_is_one_request(app, now, clock):
    await make_boardwalk()
    api_key = await reports.create_key(SYSTEM, KeyCreate(name="随手拍 app"), now)
    data = {
        "api_key": api_key,
        "service_code": "deck_damage",
        "lat": str(NEAR_BOARDWALK[0]),
        "long": str(NEAR_BOARDWALK[1]),
        "description": "木板松动 loose plank",
    }
    async with client_for_app(app) as client:
        first, second = await asyncio.gather(
            client.post("/open311/v2/requests.json", data=data),
            client.post("/open311/v2/requests.json", data=data),
        )
        assert (first.status_code, second.status_code) == (201, 201), first.text
        assert first.json() == second.json()
        assert await ServiceRequest.count() == 1

        # Another body is another request; the same body after the window is a new report.
        changed = await client.post(
            "/open311/v2/requests.json", data={**data, "description": "栏杆松动"}
        )
        assert changed.status_code == 201
        clock.set(clock() + dt.timedelta(minutes=11))
        later = await client.post("/open311/v2/requests.json", data=data)
        assert later.status_code == 201
        assert later.json() != first.json()
    assert await ServiceRequest.count() == 3


async def test_expired_keys_are_purged(anon, clock):
    boardwalk = await make_boardwalk()
    await anon.post("/report", data=await report_form(anon, boardwalk.id))
    assert await SubmissionRecord.count() == 1

    assert await accounts.purge_expired(clock() + dt.timedelta(hours=23)) == 0
    assert await SubmissionRecord.count() == 1
    await accounts.purge_expired(clock() + dt.timedelta(hours=24, seconds=1))
    assert await SubmissionRecord.count() == 0


# Forms whose repeat is harmless by nature, so they carry no key.
KEYLESS_FORMS = {
    ("layouts/staff.html", "/logout"),  # logging out twice is logging out
    ("field/index.html", "/logout"),  # the field app's own logout button: the same
    ("public/subscription_confirm.html", "/subscriptions/confirm/"),  # confirming is a state
    ("public/unsubscribe.html", "/unsubscribe/"),  # so is unsubscribing
    # One subscription per address and target (a unique key in the service); a repeat only
    # sends the confirmation link again. Public pages are shared by every reader, so a
    # per-render key cannot be in them.
    ("public/_macros.html", "/subscriptions"),
    # A bulk change's preview writes nothing; sent again it is worked out again, from the
    # tickets as they are then (its confirm form carries a key).
    ("tickets/index.html", "/tickets/bulk/preview"),
}


def post_forms() -> list[tuple[str, str, str]]:
    """(template, action, the form's body with its includes inlined) of every POST form."""
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for start in re.finditer(r"<form\b[^>]*>", text):
            tag = start.group(0)
            if 'method="post"' not in tag:
                continue
            body = text[start.end() : text.index("</form>", start.end())]
            for include in re.findall(r'{%\s*include\s+"([^"]+)"', body):
                body += (TEMPLATES / include).read_text(encoding="utf-8")
            action = re.search(r'action="([^"{]*)', tag)
            found.append(
                (str(path.relative_to(TEMPLATES)), action.group(1) if action else "", body)
            )
    return found


def test_every_post_form_carries_a_submission_key():
    forms = post_forms()
    assert len(forms) > 30
    missing = [
        (template, action)
        for template, action, body in forms
        if "f.csrf()" not in body
        and "submission_key()" not in body
        and (template, action) not in KEYLESS_FORMS
    ]
    assert missing == []


# --- the public numbers leave merged duplicates out ---------------------------------------


async def test_a_merged_duplicate_counts_once_in_the_public_numbers(personas, media_root, now):
    alice = personas["alice"]
    boardwalk = await make_boardwalk()
    files = {"media_root": media_root, "max_upload_bytes": 2_000_000}
    first = await make_report(boardwalk, media_root=media_root, now=now)
    ticket = await reports.convert_to_ticket(
        alice, first.report.id, ConvertIn(version=1), now, **files
    )
    again = await make_report(boardwalk, media_root=media_root, now=now + dt.timedelta(hours=1))
    await reports.merge_into_ticket(
        alice, again.report.id, MergeIn(version=1, ticket_id=ticket.id), now, **files
    )
    assert (
        await ServiceRequest.select(ServiceRequest.status)
        .where(ServiceRequest.id == again.report.id)
        .first()
    )["status"] == ReportStatus.MERGED
    await repair(ticket.id, alice, now + dt.timedelta(days=3))

    walk = (await reports.accountability(now + dt.timedelta(days=5), ZONE)).facility(boardwalk.id)

    assert (walk.reports, walk.fixed, walk.median_days_to_fix) == (1, 1, 3.0)
