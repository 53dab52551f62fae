"""Report pages: the citizen's form (facility choice, closure notice, photos, limits, honeypot,
escaping), the tracking page and "still broken?", staff triage, Open311 keys, the public
numbers, and the rate limit shared by two app instances through the database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import httpx
import pytest
from PIL import Image

from facilities.app import create_app
from facilities.reports import services as reports
from facilities.reports.choices import ReportStatus
from facilities.reports.schemas import ConvertIn
from facilities.reports.tables import Open311Key, ReportPhoto, ServiceRequest
from facilities.tickets.tables import RepairTicket, TicketAttachment
from tests.kit.assets import make_asset, make_site
from tests.kit.clients import client_for_app, csrf_token, post_form
from tests.kit.media import REFUSED, files_under, jpeg, jpeg_with_metadata
from tests.kit.reports import make_boardwalk, make_full_closure, make_report, repair

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def settings(settings, tmp_path):
    """The project's test settings with this test's own media folder (on PostgreSQL too)."""
    return dataclasses.replace(settings, media_dir=str(tmp_path / "media"))


async def send_report(
    client: httpx.AsyncClient,
    asset_id: int,
    *,
    photos: tuple[tuple[str, bytes], ...] = (),
    **fields: Any,
) -> httpx.Response:
    """The report form as a browser sends it (multipart when there are photos)."""
    data: dict[str, Any] = {
        "asset_id": str(asset_id),
        "category": "deck_damage",
        "description": "东入口一块木板松动 / loose plank at the east entrance",
        "contact_email": "citizen@example.org",
        "homepage": "",
        "lat": "",
        "lng": "",
        "_csrf_token": await csrf_token(client),
    }
    data.update({k: str(v) for k, v in fields.items()})
    files = [("photos", (name, content, "image/jpeg")) for name, content in photos]
    return await client.post("/report", data=data, files=files or None)


def token_of(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:2000]
    match = re.fullmatch(r"/reports/([A-Za-z0-9_-]{20,})", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


# --- choosing the facility -----------------------------------------------------------------


async def test_the_chooser_finds_facilities_by_name_and_by_site(anon):
    site = await make_site("平湖公园", name_en="Pinghu Park")
    boardwalk = await make_boardwalk(site=site)
    other = await make_asset(await make_site("雁鸣溪广场"), name_zh="雁鸣溪桥")

    page = await anon.get("/report")
    assert page.status_code == 200
    assert '<script src="/static/js/report.js" defer></script>' in page.text
    assert "<script>" not in page.text  # the CSP allows no inline script
    assert 'id="near-me" hidden' in page.text  # shown by the script only
    assert f'href="/report?site={site.id}"' in page.text

    found = await anon.get("/report", params={"q": "木栈道"})
    assert f'href="/report?asset={boardwalk.id}"' in found.text
    assert f'href="/report?asset={other.id}"' not in found.text

    by_site = await anon.get("/report", params={"site": site.id})
    assert f'href="/report?asset={boardwalk.id}"' in by_site.text
    assert f'href="/report?asset={other.id}"' not in by_site.text


async def test_nearby_json_lists_facilities_nearest_first(anon):
    boardwalk = await make_boardwalk()
    response = await anon.get("/report/nearby.json", params={"lat": "26.8961", "lng": "112.5834"})
    assert response.status_code == 200
    (item,) = response.json()["facilities"]
    assert item["id"] == boardwalk.id
    assert item["url"].startswith(f"/report?asset={boardwalk.id}&lat=")
    assert 30 < item["distance_m"] < 50
    bad = await anon.get("/report/nearby.json", params={"lat": "north", "lng": "1"})
    assert bad.status_code == 400


async def test_the_facility_view_shows_categories_numbers_and_open_reports(anon, media_root):
    boardwalk = await make_boardwalk()
    await make_report(boardwalk, media_root=media_root, description="栏杆松动 railing is loose")
    page = await anon.get(f"/report?asset={boardwalk.id}", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert "Lakeside Boardwalk" in page.text
    assert 'value="deck_damage"' in page.text
    assert 'value="play_equipment"' not in page.text  # not a playground
    assert "Reports received" in page.text
    assert 'id="open-reports"' in page.text and "railing is loose" in page.text
    assert 'name="homepage"' in page.text and 'tabindex="-1"' in page.text
    unknown = await anon.get("/report?asset=999999")
    assert unknown.status_code == 404


async def test_a_closed_facility_shows_its_notice_before_the_form(anon, personas, media_root, now):
    bridge = await make_boardwalk()
    closure = await make_full_closure(bridge, now - dt.timedelta(days=1))
    page = await anon.get(f"/report?asset={bridge.id}", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert 'id="closure-notice"' in page.text
    assert f'href="/notices/{closure.id}"' in page.text
    assert "Rotten deck planks: closed for repair" in page.text
    assert page.text.index('id="closure-notice"') < page.text.index('action="/report"')

    response = await send_report(anon, bridge.id)
    token = token_of(response)
    (report,) = await ServiceRequest.select()
    assert (report["status"], report["closure"], report["ticket"]) == (
        ReportStatus.COVERED,
        closure.id,
        None,
    )
    assert await RepairTicket.count() == 0
    tracking = await anon.get(f"/reports/{token}", headers={"accept-language": "en"})
    assert "Facility closed for repair" in tracking.text
    assert f'href="/notices/{closure.id}"' in tracking.text


# --- sending -------------------------------------------------------------------------------


async def test_a_report_is_received_and_tracked_with_a_secret_link(anon, media_root):
    anon.headers["accept-language"] = "en"
    boardwalk = await make_boardwalk()
    response = await send_report(anon, boardwalk.id, photos=(("IMG_1.JPG", jpeg()),))
    token = token_of(response)
    (report,) = await ServiceRequest.select()
    assert report["status"] == ReportStatus.NEW
    assert report["contact_email"] == "citizen@example.org"
    assert report["token_hash"] == reports.accounts.digest(token)
    assert await ReportPhoto.count() == 1

    page = await anon.get(f"/reports/{token}", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert f"Your report No. {report['id']} was received." in page.text  # the flash
    assert f'<dd id="reference">{report["id"]}</dd>' in page.text
    assert f"/reports/{token}" in page.text
    assert "Received, waiting to be reviewed" in page.text
    assert "citizen@example.org" not in page.text  # the contact is never shown
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert (await anon.get("/reports/not-the-token")).status_code == 404


async def test_gps_exif_is_stripped_from_an_uploaded_photo(anon, media_root):
    boardwalk = await make_boardwalk()
    response = await send_report(
        anon, boardwalk.id, photos=(("IMG_0001.JPG", jpeg_with_metadata((640, 480))),)
    )
    token_of(response)
    (photo,) = await ReportPhoto.objects()
    raw = (media_root / photo.storage_key).read_bytes()
    assert b"Exif" not in raw and b"PhoneMaker" not in raw and b"26.8842N" not in raw
    with Image.open(media_root / photo.storage_key) as image:
        assert not image.getexif()
        assert image.size == (640, 480)


@pytest.mark.parametrize("name", ["html", "text", "svg"])
async def test_a_file_that_is_not_a_photo_is_a_400_and_nothing_is_kept(anon, media_root, name):
    boardwalk = await make_boardwalk()
    response = await send_report(
        anon, boardwalk.id, photos=(("ok.jpg", jpeg()), ("photo.jpg", REFUSED[name]))
    )
    assert response.status_code == 400
    assert 'id="photos-error"' in response.text
    assert "东入口一块木板松动" in response.text  # what was typed is kept
    assert await ServiceRequest.count() == 0
    assert files_under(media_root) == []


async def test_too_many_photos_is_a_400(anon, media_root):
    boardwalk = await make_boardwalk()
    response = await send_report(
        anon, boardwalk.id, photos=tuple((f"{i}.jpg", jpeg()) for i in range(4))
    )
    assert response.status_code == 400
    assert await ServiceRequest.count() == 0


async def test_the_description_is_required_and_at_most_4000_characters(anon):
    boardwalk = await make_boardwalk()
    headers = {"accept-language": "en"}
    anon.headers.update(headers)
    empty = await send_report(anon, boardwalk.id, description="")
    assert empty.status_code == 400
    assert 'id="description-error"' in empty.text
    too_long = await send_report(anon, boardwalk.id, description="长" * 4001)
    assert too_long.status_code == 400
    assert "Enter at most 4000 characters." in too_long.text
    assert await ServiceRequest.count() == 0
    token_of(await send_report(anon, boardwalk.id, description="长" * 4000))
    bad_email = await send_report(anon, boardwalk.id, contact_email="not an address")
    assert bad_email.status_code == 400
    wrong_category = await send_report(anon, boardwalk.id, category="play_equipment")
    assert wrong_category.status_code == 400
    assert await ServiceRequest.count() == 1


async def test_the_honeypot_refuses_a_filled_in_hidden_field(anon):
    boardwalk = await make_boardwalk()
    response = await send_report(anon, boardwalk.id, homepage="http://spam.example")
    assert response.status_code == 400
    assert await ServiceRequest.count() == 0


async def test_a_body_over_the_limit_is_refused_with_413(app, settings, clock):
    small = create_app(
        dataclasses.replace(settings, max_request_bytes=50_000), embed_scheduler=False, clock=clock
    )
    boardwalk = await make_boardwalk()
    async with client_for_app(small) as client:
        response = await send_report(
            client, boardwalk.id, photos=(("big.jpg", jpeg() + b"\0" * 60_000),)
        )
    assert response.status_code == 413
    assert await ServiceRequest.count() == 0


async def test_without_csrf_the_form_is_refused(anon):
    boardwalk = await make_boardwalk()
    await csrf_token(anon)
    response = await anon.post("/report", data={"asset_id": boardwalk.id, "category": "litter"})
    assert response.status_code == 403
    assert await ServiceRequest.count() == 0


async def test_what_a_reporter_sends_is_escaped_everywhere(anon, login, media_root):
    boardwalk = await make_boardwalk()
    token = token_of(await send_report(anon, boardwalk.id, description=XSS, contact_name=XSS))
    (report,) = await ServiceRequest.select(ServiceRequest.id)
    alice = await login("alice")
    pages = [
        await anon.get(f"/reports/{token}"),
        await anon.get(f"/report?asset={boardwalk.id}"),
        await alice.get("/triage"),
        await alice.get(f"/triage/{report['id']}"),
    ]
    converted = await post_form(alice, f"/triage/{report['id']}/convert", {"version": 1})
    assert converted.status_code == 303
    pages.append(await alice.get(converted.headers["location"]))
    for page in pages:
        assert page.status_code == 200, page.url
        assert "<script>alert" not in page.text, page.url
        assert "<img src=x" not in page.text, page.url
        assert "&lt;script&gt;alert" in page.text, page.url


# --- still broken? -------------------------------------------------------------------------


async def test_still_broken_from_the_tracking_page(anon, login, personas, media_root, now):
    boardwalk = await make_boardwalk()
    token = token_of(await send_report(anon, boardwalk.id))
    (report,) = await ServiceRequest.select(ServiceRequest.id)
    page = await anon.get(f"/reports/{token}")
    assert 'id="still-broken"' not in page.text
    refused = await post_form(anon, f"/reports/{token}/still-broken", {"description": "x"})
    assert refused.status_code == 409

    ticket = await reports.convert_to_ticket(
        personas["alice"],
        report["id"],
        ConvertIn(version=1),
        now,
        media_root=media_root,
        max_upload_bytes=2_000_000,
    )
    await repair(ticket.id, personas["alice"], now)
    page = await anon.get(f"/reports/{token}", headers={"accept-language": "en"})
    assert "Fixed" in page.text and "Repaired" in page.text
    assert 'id="still-broken"' in page.text

    response = await post_form(
        anon, f"/reports/{token}/still-broken", {"description": "还是松 still loose"}
    )
    new_token = token_of(response)
    assert new_token != token
    follow = (
        await ServiceRequest.objects().where(ServiceRequest.follow_up_of == report["id"]).first()
    )
    assert follow is not None and follow.status == ReportStatus.NEW
    assert follow.description == "还是松 still loose"
    original = await anon.get(f"/reports/{token}")
    assert 'id="follow-ups"' in original.text
    assert 'id="still-broken"' not in original.text
    alice = await login("alice")
    queue = await alice.get("/triage")
    assert f'id="report-{follow.id}"' in queue.text


# --- staff triage --------------------------------------------------------------------------


async def test_triage_pages_and_conversion_through_the_forms(login, media_root):
    boardwalk = await make_boardwalk()
    submitted = await make_report(
        boardwalk, media_root=media_root, photos=(jpeg(), jpeg(colour="navy"))
    )
    duplicate = await make_report(boardwalk, media_root=media_root)
    bob = await login("bob")
    bob.cookies.set("lang", "en")

    queue = await bob.get("/triage")
    assert queue.status_code == 200
    assert f'id="report-{submitted.report.id}"' in queue.text
    detail = await bob.get(f"/triage/{submitted.report.id}")
    assert detail.status_code == 200
    assert "citizen@example.org" in detail.text  # staff see the contact
    assert f'href="/triage/{duplicate.report.id}"' in detail.text  # suggested duplicate
    (photo, _second) = (
        await ReportPhoto.objects()
        .where(ReportPhoto.report == submitted.report.id)
        .order_by(ReportPhoto.id)
    )
    assert f"/triage/photos/{photo.id}/thumbnail" in detail.text
    image = await bob.get(f"/triage/photos/{photo.id}")
    assert (image.status_code, image.headers["content-type"]) == (200, "image/jpeg")
    thumbnail = await bob.get(f"/triage/photos/{photo.id}/thumbnail")
    assert thumbnail.status_code == 200

    stale = await post_form(bob, f"/triage/{submitted.report.id}/convert", {"version": 5})
    assert stale.status_code == 409
    response = await post_form(
        bob, f"/triage/{submitted.report.id}/convert", {"version": 1, "priority": "P1"}
    )
    assert response.status_code == 303
    ticket = await RepairTicket.objects().first()
    assert response.headers["location"] == f"/tickets/{ticket.id}"
    assert (ticket.priority, ticket.reporter_email) == ("P1", "citizen@example.org")
    assert await TicketAttachment.count() == 2
    again = await post_form(bob, f"/triage/{submitted.report.id}/convert", {"version": 2})
    assert again.status_code == 409

    merge = await post_form(
        bob, f"/triage/{duplicate.report.id}/merge", {"version": 1, "ticket_id": ticket.id}
    )
    assert merge.status_code == 303
    assert (await reports.find_report(duplicate.report.id)).ticket == ticket.id


async def test_reject_and_not_ours_through_the_forms(login, media_root):
    first = await make_report(media_root=media_root)
    second = await make_report(media_root=media_root)
    alice = await login("alice")
    missing = await post_form(alice, f"/triage/{first.report.id}/reject", {"version": 1})
    assert missing.status_code == 400
    assert (await reports.find_report(first.report.id)).status == ReportStatus.NEW
    rejected = await post_form(
        alice, f"/triage/{first.report.id}/reject", {"version": 1, "reason": "照片看不出问题"}
    )
    assert rejected.status_code == 303
    not_ours = await post_form(
        alice, f"/triage/{second.report.id}/not-ours", {"version": 1, "reason": ""}
    )
    assert not_ours.status_code == 303
    statuses = {r.id: r.status for r in await ServiceRequest.objects()}
    assert statuses == {
        first.report.id: ReportStatus.REJECTED,
        second.report.id: ReportStatus.NOT_OURS,
    }


@pytest.mark.parametrize("username", ["carol", "dave"])
async def test_triage_is_refused_to_crew_and_viewers(login, media_root, username):
    submitted = await make_report(media_root=media_root)
    client = await login(username)
    assert (await client.get("/triage")).status_code == 403
    assert (await client.get(f"/triage/{submitted.report.id}")).status_code == 403
    response = await post_form(client, f"/triage/{submitted.report.id}/convert", {"version": 1})
    assert response.status_code == 403
    assert await RepairTicket.count() == 0
    assert (await reports.find_report(submitted.report.id)).status == ReportStatus.NEW


async def test_triage_needs_a_login(anon, media_root):
    submitted = await make_report(media_root=media_root, photos=(jpeg(),))
    (photo,) = await ReportPhoto.select(ReportPhoto.id)
    for url in ("/triage", f"/triage/{submitted.report.id}", f"/triage/photos/{photo['id']}"):
        response = await anon.get(url)
        assert response.status_code == 303, url
        assert response.headers["location"].startswith("/login?next=")


# --- Open311 keys --------------------------------------------------------------------------


async def test_an_admin_issues_and_revokes_open311_keys(login, personas):
    admin = await login("admin")
    created = await post_form(
        admin, "/triage/api-keys", {"name": "随手拍", "contact": "dev@app.example"}
    )
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    key = re.search(r'<code class="token" id="new-key">([^<]+)</code>', created.text).group(1)
    assert key.startswith(reports.KEY_PREFIX)
    listing = await admin.get("/triage/api-keys")
    assert key not in listing.text and key[:12] in listing.text
    (row,) = await Open311Key.select(Open311Key.id)
    revoked = await post_form(admin, f"/triage/api-keys/{row['id']}/revoke", {})
    assert revoked.status_code == 303
    assert (await Open311Key.objects().first()).revoked_at is not None
    alice = await login("alice")
    assert (await alice.get("/triage/api-keys")).status_code == 403
    refused = await post_form(alice, "/triage/api-keys", {"name": "mine"})
    assert refused.status_code == 403
    assert await Open311Key.count() == 1


# --- public numbers ------------------------------------------------------------------------


async def test_the_accountability_page(anon, media_root):
    site = await make_site("平湖公园", name_en="Pinghu Park")
    boardwalk = await make_boardwalk(site=site)
    await make_report(boardwalk, media_root=media_root)
    page = await anon.get("/accountability", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert "Pinghu Park" in page.text and "Lakeside Boardwalk" in page.text
    row = page.text[page.text.index(f'id="facility-{boardwalk.id}"') :]
    assert re.search(r"<td[^>]*>1</td>", row[: row.index("</tr>")])


# --- rate limit shared by two processes ----------------------------------------------------


async def test_the_per_address_limit_holds_across_two_app_instances(
    app, settings, monkeypatch, clock
):
    monkeypatch.setattr(reports, "WEB_REPORTS_PER_IP", 3)
    other = create_app(settings, embed_scheduler=False, clock=clock)
    boardwalk = await make_boardwalk()
    async with client_for_app(app) as first, client_for_app(other) as second:
        for _ in range(2):
            token_of(await send_report(first, boardwalk.id))
        token_of(await send_report(second, boardwalk.id))
        refused = await send_report(first, boardwalk.id)
        refused_elsewhere = await send_report(second, boardwalk.id)
    assert refused.status_code == 429
    assert refused_elsewhere.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert await ServiceRequest.count() == 3
    # another address is not affected
    transport = httpx.ASGITransport(app=other, client=("10.0.0.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as third:
        token_of(await send_report(third, boardwalk.id))
