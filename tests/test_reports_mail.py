"""The reporter loop: a citizen who left an e-mail address hears, in the language they reported
in, that the report was received (with its tracking link), turned into a repair ticket, fixed,
and that a "still broken" follow-up was opened; a public comment on the ticket reaches them in
that language too. Each message goes through the outbox and is delivered by the outbox job to a
real SMTP server. A reporter without an address gets nothing. The optional phone number is
checked (web form and Open311), kept from the public and shown to staff. The tracking page
shows the reporter's photos and a dated timeline."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import re
from email import policy
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel.dates import format_datetime

from facilities.accounts.permissions import SYSTEM
from facilities.notifications.tables import Notification
from facilities.reports import services as reports
from facilities.reports.schemas import ConvertIn, KeyCreate, MergeIn, StillBrokenIn
from facilities.reports.tables import ServiceRequest
from facilities.tickets import services as tickets
from facilities.tickets.schemas import CommentIn
from scheduler.jobs import notifications as outbox_job
from tests.kit.clients import csrf_token
from tests.kit.media import jpeg
from tests.kit.reports import NEAR_BOARDWALK, make_boardwalk, make_report, repair

BUREAU_ZH = "高新区建设局"
BUREAU_EN = "High-tech Zone Construction Bureau"


@pytest.fixture
def settings(settings, tmp_path):
    return dataclasses.replace(settings, media_dir=str(tmp_path / "media"))


@pytest.fixture
def smtp_settings(settings, smtp_server):
    return dataclasses.replace(
        settings,
        email_backend="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        mail_from="facilities@bureau.example",
    )


async def deliver(smtp_settings, smtp_server, now) -> list[tuple[str, str, str]]:
    """Run the outbox job once; (to, subject, text) of each message the server received."""
    start = len(smtp_server.messages)
    # the app's clock starts at ``now`` and runs: a message queued by a page is a moment later
    await outbox_job.deliver(now + dt.timedelta(minutes=1), smtp_settings)
    mails = []
    for envelope in smtp_server.messages[start:]:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_body(("plain",))
        mails.append((str(message["To"]), str(message["Subject"]), body.get_content()))
    return mails


async def send_form(client: httpx.AsyncClient, asset_id: int, **fields: Any) -> httpx.Response:
    data = {
        "asset_id": str(asset_id),
        "category": "deck_damage",
        "description": "东入口一块木板松动 / loose plank at the east entrance",
        "contact_email": "citizen@example.org",
        "homepage": "",
        "_csrf_token": await csrf_token(client),
    }
    data.update(fields)
    photos = data.pop("photos", None)
    files = [("photos", (f"p{i}.jpg", c, "image/jpeg")) for i, c in enumerate(photos or ())]
    return await client.post("/report", data=data, files=files or None)


def token_of(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:2000]
    match = re.fullmatch(r"/reports/([A-Za-z0-9_-]{20,})", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


async def convert(report_id: int, actor, now, media_root) -> Any:
    return await reports.convert_to_ticket(
        actor, report_id, ConvertIn(version=1), now, media_root=media_root, max_upload_bytes=2**21
    )


# --- the mails -----------------------------------------------------------------------------


async def test_an_english_reporter_hears_of_receipt_ticket_fix_and_comment_in_english(
    anon, personas, media_root, now, smtp_settings, smtp_server
):
    boardwalk = await make_boardwalk()
    anon.headers["accept-language"] = "en-GB,en;q=0.9"
    token = token_of(await send_form(anon, boardwalk.id, contact_email="reader@example.org"))
    report = await ServiceRequest.objects().first()
    assert report.language == "en"

    (received,) = await deliver(smtp_settings, smtp_server, now)
    to, subject, text = received
    assert to == "reader@example.org"
    assert subject == f"We received your report No. {report.id}"
    assert smtp_settings.base_url.startswith("http")
    assert f"{smtp_settings.base_url}/reports/{token}" in text  # the link, whole
    assert "Lakeside Boardwalk" in text and BUREAU_EN in text
    assert BUREAU_ZH not in text

    ticket = await convert(report.id, personas["alice"], now, media_root)
    (ticketed,) = await deliver(smtp_settings, smtp_server, now)
    assert ticketed[0] == "reader@example.org"
    assert ticketed[1] == f"Your report No. {report.id}: a repair ticket was opened"
    assert "opened a repair ticket" in ticketed[2]

    await tickets.add_comment(
        personas["alice"], ticket.id, CommentIn(body="Planks arrive Monday.", is_public=True), now
    )
    (comment,) = await deliver(smtp_settings, smtp_server, now)
    assert comment[0] == "reader@example.org"
    assert comment[1].startswith("Update on your report")  # English, not the old fixed zh_CN
    assert "Planks arrive Monday." in comment[2]

    await repair(ticket.id, personas["alice"], now)
    (fixed,) = await deliver(smtp_settings, smtp_server, now)
    assert fixed[0] == "reader@example.org"
    assert fixed[1] == f"Fixed: your report No. {report.id}"
    assert "Repaired" in fixed[2] and BUREAU_EN in fixed[2]
    assert await deliver(smtp_settings, smtp_server, now) == []  # each told once


async def test_a_chinese_open311_reporter_hears_in_chinese_and_a_follow_up_is_acknowledged(
    anon, personas, media_root, now, smtp_settings, smtp_server
):
    await make_boardwalk()
    key = await reports.create_key(SYSTEM, KeyCreate(name="随手拍 app"), now)
    anon.headers["accept-language"] = "en"  # the app's own setting wins over the header
    response = await anon.post(
        "/open311/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "deck_damage",
            "lat": str(NEAR_BOARDWALK[0]),
            "long": str(NEAR_BOARDWALK[1]),
            "description": "木板松动",
            "email": "zhang@example.org",
            "locale": "zh-CN",
        },
    )
    assert response.status_code == 201, response.text
    token = response.json()[0]["token"]
    report = await ServiceRequest.objects().first()
    assert report.language == "zh_CN"

    (received,) = await deliver(smtp_settings, smtp_server, now)
    assert received[0] == "zhang@example.org"
    assert f"/reports/{token}" in received[2]
    assert "环湖木栈道" in received[2] and BUREAU_ZH in received[2]
    assert BUREAU_EN not in received[2]

    ticket = await convert(report.id, personas["alice"], now, media_root)
    await repair(ticket.id, personas["alice"], now)
    mails = await deliver(smtp_settings, smtp_server, now)
    assert [to for to, _s, _t in mails] == ["zhang@example.org"] * 2
    assert all(BUREAU_ZH in text for _to, _s, text in mails)

    submitted = await reports.still_broken(
        token,
        StillBrokenIn(description="还是松"),
        now,
        media_root=media_root,
        max_upload_bytes=2**21,
    )
    (follow_up,) = await deliver(smtp_settings, smtp_server, now)
    assert follow_up[0] == "zhang@example.org"
    assert f"/reports/{submitted.token}" in follow_up[2]
    assert str(report.id) in follow_up[2] and str(submitted.report.id) in follow_up[2]
    assert BUREAU_ZH in follow_up[2]


async def test_an_open311_reporter_without_locale_is_written_to_in_their_accept_language(anon, now):
    await make_boardwalk()
    key = await reports.create_key(SYSTEM, KeyCreate(name="app"), now)
    anon.headers["accept-language"] = "en-US"
    response = await anon.post(
        "/open311/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "deck_damage",
            "lat": str(NEAR_BOARDWALK[0]),
            "long": str(NEAR_BOARDWALK[1]),
            "email": "app@example.org",
        },
    )
    assert response.status_code == 201, response.text
    report = await ServiceRequest.objects().first()
    assert report.language == "en"
    row = await Notification.objects().first()
    assert row.to_address == "app@example.org"
    assert row.subject == f"We received your report No. {report.id}"


async def test_a_reporter_without_an_address_gets_nothing(
    app, personas, media_root, now, smtp_settings, smtp_server
):
    boardwalk = await make_boardwalk()
    first = await make_report(boardwalk, media_root=media_root, contact_email="")
    second = await make_report(boardwalk, media_root=media_root, contact_email="")
    ticket = await convert(first.report.id, personas["alice"], now, media_root)
    await reports.merge_into_ticket(
        personas["alice"],
        second.report.id,
        MergeIn(version=1, ticket_id=ticket.id),
        now,
        media_root=media_root,
        max_upload_bytes=2**21,
    )
    await tickets.add_comment(
        personas["alice"], ticket.id, CommentIn(body="公开说明", is_public=True), now
    )
    await repair(ticket.id, personas["alice"], now)
    assert await Notification.count() == 0
    assert await deliver(smtp_settings, smtp_server, now) == []


async def test_a_merged_reporter_and_a_duplicates_reporter_hear_of_the_fix(
    app, personas, media_root, now, smtp_settings, smtp_server
):
    boardwalk = await make_boardwalk()
    first = await make_report(boardwalk, media_root=media_root, contact_email="a@example.org")
    second = await make_report(
        boardwalk, media_root=media_root, contact_email="b@example.org", language="en"
    )
    ticket = await convert(first.report.id, personas["alice"], now, media_root)
    await reports.merge_into_ticket(
        personas["alice"],
        second.report.id,
        MergeIn(version=1, ticket_id=ticket.id),
        now,
        media_root=media_root,
        max_upload_bytes=2**21,
    )
    mails = await deliver(smtp_settings, smtp_server, now)
    merged = next(m for m in mails if m[0] == "b@example.org" and "joined" in m[1])
    assert merged[1] == f"Your report No. {second.report.id} joined a repair already planned"
    await repair(ticket.id, personas["alice"], now)
    fixed = await deliver(smtp_settings, smtp_server, now)
    assert sorted(to for to, _s, _t in fixed) == ["a@example.org", "b@example.org"]
    english = next(m for m in fixed if m[0] == "b@example.org")
    assert english[1] == f"Fixed: your report No. {second.report.id}"


async def test_a_mail_that_cannot_be_composed_never_costs_the_report(
    app, media_root, now, monkeypatch
):
    from facilities.notifications import services as notifications

    def broken(template, context):
        raise RuntimeError("template fault")

    monkeypatch.setattr(notifications, "_render_email", broken)
    submitted = await make_report(media_root=media_root, contact_email="c@example.org")
    assert await ServiceRequest.count() == 1
    assert submitted.report.id
    assert await Notification.count() == 0


# --- the phone number ----------------------------------------------------------------------


@pytest.mark.parametrize("phone", ["13800138000", "+86 138-0013-8000", "0734-8888888", "12345"])
async def test_a_good_phone_number_is_kept_for_staff_only(anon, login, phone):
    boardwalk = await make_boardwalk()
    token = token_of(await send_form(anon, boardwalk.id, contact_phone=phone))
    report = await ServiceRequest.objects().first()
    assert report.contact_phone == phone
    page = await anon.get(f"/reports/{token}")
    assert phone not in page.text
    public = await anon.get(f"/open311/v2/requests/{report.id}.json")
    assert phone not in public.text
    alice = await login("alice")
    triage = await alice.get(f"/triage/{report.id}")
    assert phone in triage.text


@pytest.mark.parametrize(
    "phone", ["call me", "1234", "+86 138 0013 8000 1234 5678", "138--0013", "138(0013)8000", "0+1"]
)
async def test_a_bad_phone_number_is_refused_with_a_clear_message(anon, phone):
    boardwalk = await make_boardwalk()
    response = await send_form(anon, boardwalk.id, contact_phone=phone)
    assert response.status_code == 400
    assert 'id="contact_phone-error"' in response.text
    assert "电话号码" in response.text or "phone number" in response.text
    assert await ServiceRequest.count() == 0


async def test_a_bad_phone_number_through_the_form_is_worded_in_english(anon):
    boardwalk = await make_boardwalk()
    anon.headers["accept-language"] = "en"
    response = await send_form(anon, boardwalk.id, contact_phone="call me")
    assert response.status_code == 400
    assert "Enter a phone number of 5 to 15 digits" in response.text
    assert 'value="call me"' in response.text  # the value is kept to correct


async def test_open311_checks_the_phone_number(anon, now):
    await make_boardwalk()
    key = await reports.create_key(SYSTEM, KeyCreate(name="app"), now)
    anon.headers["accept-language"] = "en"
    data = {
        "api_key": key,
        "service_code": "deck_damage",
        "lat": str(NEAR_BOARDWALK[0]),
        "long": str(NEAR_BOARDWALK[1]),
    }
    refused = await anon.post("/open311/v2/requests.json", data={**data, "phone": "abc"})
    assert refused.status_code == 400
    (error,) = refused.json()
    assert error["description"].startswith("phone: Enter a phone number of 5 to 15 digits")
    assert await ServiceRequest.count() == 0
    accepted = await anon.post(
        "/open311/v2/requests.json", data={**data, "phone": "+86 0734 1234567"}
    )
    assert accepted.status_code == 201
    report = await ServiceRequest.objects().first()
    assert report.contact_phone == "+86 0734 1234567"
    assert "1234567" not in (await anon.get(f"/open311/v2/requests/{report.id}.xml")).text


# --- the tracking page ---------------------------------------------------------------------


async def test_the_tracking_page_shows_photos_and_a_dated_timeline(anon, personas, media_root, now):
    boardwalk = await make_boardwalk()
    token = token_of(await send_form(anon, boardwalk.id, photos=(jpeg(), jpeg(colour="navy"))))
    report = await ServiceRequest.objects().first()
    page = await anon.get(f"/reports/{token}", headers={"accept-language": "en"})
    assert page.status_code == 200
    photo_urls = re.findall(rf'src="(/reports/{token}/photos/\d+/thumbnail)"', page.text)
    assert len(photo_urls) == 2
    for url in photo_urls:
        thumb = await anon.get(url)
        assert thumb.status_code == 200
        assert thumb.headers["content-type"] == "image/jpeg"
        assert "no-store" in thumb.headers["cache-control"]
        full = await anon.get(url.removesuffix("/thumbnail"))
        assert full.status_code == 200
    assert 'data-step="received"' in page.text
    assert "Report received" in page.text
    # the instant in the bureau's zone (UTC+8), in the reader's language
    assert shown(now, "en") in page.text

    later = now + dt.timedelta(hours=3)
    ticket = await convert(report.id, personas["alice"], later, media_root)
    await repair(ticket.id, personas["alice"], later)
    page = await anon.get(f"/reports/{token}", headers={"accept-language": "en"})
    steps = re.findall(r'data-step="([a-z_]+)"', page.text)
    assert steps[0] == "received"
    for step in ("ticketed", "started", "fixed"):
        assert step in steps
    assert steps.index("ticketed") < steps.index("started") < steps.index("fixed")
    assert "Work started" in page.text and "Fixed" in page.text
    assert shown(later, "en") in page.text
    chinese = await anon.get(f"/reports/{token}", headers={"accept-language": "zh-CN"})
    assert shown(now, "zh_CN") in chinese.text and shown(later, "zh_CN") in chinese.text
    assert shown(now, "en") not in chinese.text


async def test_photos_are_served_only_through_their_own_tracking_link(anon, media_root):
    boardwalk = await make_boardwalk()
    mine = token_of(await send_form(anon, boardwalk.id, photos=(jpeg(),)))
    other = token_of(await send_form(anon, boardwalk.id, photos=(jpeg(colour="navy"),)))
    page = await anon.get(f"/reports/{mine}")
    (url,) = re.findall(rf'src="/reports/{mine}/photos/(\d+)/thumbnail"', page.text)
    assert (await anon.get(f"/reports/{other}/photos/{url}/thumbnail")).status_code == 404
    assert (await anon.get(f"/reports/nope/photos/{url}")).status_code == 404
    assert (await anon.get(f"/reports/{mine}/photos/99999999999")).status_code == 404


def shown(instant: dt.datetime, locale: str) -> str:
    """An instant as the pages show it: the bureau's zone, the reader's language."""
    zone = ZoneInfo("Asia/Shanghai")
    return format_datetime(instant.astimezone(zone), "medium", tzinfo=zone, locale=locale)
