"""Open311 GeoReport v2 at /open311/v2: every endpoint in XML (parsed with xml.etree) and JSON,
the spec's field names, ISO 8601 instants with their offset, the error shape with 400/403/404,
closure-aware answers that open no ticket, status following the ticket, mySociety's
servicerequestupdates, api_key checks and rate limits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest
from PIL import Image

from facilities.accounts.permissions import SYSTEM
from facilities.reports import services as reports
from facilities.reports.choices import Category, Channel, ReportStatus
from facilities.reports.schemas import AnswerIn, ConvertIn, KeyCreate
from facilities.reports.tables import ReportPhoto, ServiceRequest
from facilities.tickets.tables import RepairTicket
from tests.kit.media import REFUSED, jpeg_with_metadata
from tests.kit.reports import (
    BOARDWALK,
    NEAR_BOARDWALK,
    make_boardwalk,
    make_full_closure,
    make_report,
    repair,
)

BASE = "/open311/v2"
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
FORMATS = ["xml", "json"]


@pytest.fixture
def settings(settings, tmp_path):
    return dataclasses.replace(settings, media_dir=str(tmp_path / "media"))


@pytest.fixture
async def api_key(app, now) -> str:
    return await reports.create_key(SYSTEM, KeyCreate(name="随手拍 app"), now)


@pytest.fixture
async def client(anon) -> httpx.AsyncClient:
    anon.headers["accept-language"] = "en"
    return anon


def xml_of(response: httpx.Response) -> ET.Element:
    assert response.headers["content-type"].startswith("text/xml"), response.headers
    return ET.fromstring(response.content)  # noqa: S314 - our own answer, under test


def records(response: httpx.Response, fmt: str, item: str = "request") -> list[dict[str, str]]:
    """The list of records of a response in either format, as plain dicts of text."""
    if fmt == "json":
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert isinstance(body, list)
        return [{k: "" if v is None else str(v) for k, v in row.items()} for row in body]
    root = xml_of(response)
    return [{child.tag: child.text or "" for child in element} for element in root.iter(item)]


def error_of(response: httpx.Response, fmt: str) -> tuple[int, str]:
    if fmt == "json":
        (error,) = response.json()
        assert set(error) == {"code", "description"}
        return int(error["code"]), str(error["description"])
    root = xml_of(response)
    assert root.tag == "errors"
    (error,) = root.findall("error")
    return int(error.findtext("code")), error.findtext("description") or ""


async def post_request(
    client: httpx.AsyncClient, fmt: str, api_key: str | None, **fields: Any
) -> httpx.Response:
    data: dict[str, Any] = {
        "service_code": "deck_damage",
        "lat": str(NEAR_BOARDWALK[0]),
        "long": str(NEAR_BOARDWALK[1]),
        "description": "木板松动 loose plank",
        "email": "app-user@example.org",
        "first_name": "San",
        "last_name": "Zhang",
    }
    if api_key is not None:
        data["api_key"] = api_key
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    files = data.pop("files", None)
    return await client.post(f"{BASE}/requests.{fmt}", data=data, files=files)


# --- discovery and services ----------------------------------------------------------------


async def test_discovery(client):
    root = xml_of(await client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    endpoint = root.find("endpoints/endpoint")
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint.findtext("url").endswith("/open311/v2")
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]
    assert root.findtext("changeset")
    body = (await client.get(f"{BASE}/discovery.json")).json()
    assert body["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    assert set(body) >= {"changeset", "contact", "key_service", "endpoints"}


@pytest.mark.parametrize("fmt", FORMATS)
async def test_the_service_list(client, fmt):
    response = await client.get(f"{BASE}/services.{fmt}")
    assert response.status_code == 200
    services = records(response, fmt, "service")
    assert [s["service_code"] for s in services] == [c.value for c in Category]
    deck = next(s for s in services if s["service_code"] == "deck_damage")
    assert deck["service_name"] == "Deck damage (loose or broken planks)"
    assert deck["metadata"] in ("true", "True")
    assert deck["type"] == "realtime"
    assert "boardwalk" in deck["keywords"]
    litter = next(s for s in services if s["service_code"] == "litter")
    assert litter["metadata"] in ("false", "False")
    if fmt == "xml":
        assert xml_of(response).tag == "services"


async def test_a_service_definition_in_both_formats(client):
    root = xml_of(await client.get(f"{BASE}/services/deck_damage.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "deck_damage"
    attributes = root.findall("attributes/attribute")
    assert [a.findtext("code") for a in attributes] == ["defect", "where"]
    defect = attributes[0]
    assert defect.findtext("datatype") == "singlevaluelist"
    assert defect.findtext("variable") == "true"
    assert defect.findtext("required") == "false"
    assert defect.findtext("order") == "1"
    assert [v.findtext("key") for v in defect.findall("values/value")] == [
        "loose",
        "broken",
        "missing",
        "slippery",
    ]
    body = (await client.get(f"{BASE}/services/deck_damage.json")).json()
    assert body["service_code"] == "deck_damage"
    assert body["attributes"][0]["values"][0] == {"key": "loose", "name": "Loose plank or board"}
    assert (await client.get(f"{BASE}/services/litter.json")).json()["attributes"] == []


@pytest.mark.parametrize("fmt", FORMATS)
async def test_an_unknown_service_or_format_is_404(client, fmt):
    response = await client.get(f"{BASE}/services/teleporter.{fmt}")
    assert response.status_code == 404
    assert error_of(response, fmt)[0] == 404
    assert (await client.get(f"{BASE}/services.html")).status_code == 404
    assert (await client.get(f"{BASE}/nothing.{fmt}")).status_code == 404


# --- POST requests -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_posting_a_request_matches_the_nearest_facility(client, api_key, fmt):
    boardwalk = await make_boardwalk()
    response = await post_request(
        client, fmt, api_key, **{"attribute[defect]": "loose", "device_id": "phone-1"}
    )
    assert response.status_code == 201, response.text
    (answer,) = records(response, fmt)
    assert answer["service_notice"] == ""
    report = await ServiceRequest.objects().first()
    assert answer["service_request_id"] == str(report.id)
    assert report.token_hash == reports.accounts.digest(answer["token"])
    assert (report.asset, report.channel, report.status) == (
        boardwalk.id,
        Channel.OPEN311,
        ReportStatus.NEW,
    )
    assert (report.contact_email, report.contact_name, report.device_id) == (
        "app-user@example.org",
        "San Zhang",
        "phone-1",
    )
    assert (report.lat, report.lng) == NEAR_BOARDWALK
    assert report.client is not None
    assert '"defect": "loose"' in report.attributes or report.attributes == {"defect": "loose"}


async def test_a_request_may_name_the_facility_by_address(client, api_key):
    boardwalk = await make_boardwalk(code="GX-ZD-PH-001")
    by_id = await post_request(
        client, "json", api_key, lat=None, long=None, address_id="GX-ZD-PH-001"
    )
    assert by_id.status_code == 201, by_id.text
    by_text = await post_request(
        client, "json", api_key, lat=None, long=None, address_string="Lakeside Boardwalk, east end"
    )
    assert by_text.status_code == 201, by_text.text
    assert {r.asset for r in await ServiceRequest.objects()} == {boardwalk.id}


@pytest.mark.parametrize("fmt", FORMATS)
async def test_posting_errors(client, api_key, fmt):
    await make_boardwalk()
    cases = [
        ({"service_code": None}, 400, "service_code"),
        ({"service_code": "teleporter"}, 400, "teleporter"),
        ({"lat": str(BOARDWALK[0] + 0.01)}, 400, "150 m"),
        ({"lat": None, "long": None}, 400, "location"),
        ({"long": None}, 400, "lat and long"),
        ({"lat": "north"}, 400, "lat"),
        ({"description": "长" * 4001}, 400, "4000"),
        ({"email": "no-at-sign"}, 400, "email"),
        ({"attribute[defect]": "exploded"}, 400, "attribute[defect]"),
    ]
    for fields, status, text in cases:
        response = await post_request(client, fmt, api_key, **fields)
        assert response.status_code == status, (fields, response.text)
        code, description = error_of(response, fmt)
        assert code == status
        assert text in description, (fields, description)
    for key in (None, "", "o311_not-a-real-key"):
        response = await post_request(client, fmt, key)
        assert response.status_code == 403
        assert error_of(response, fmt)[0] == 403
    assert await ServiceRequest.count() == 0


async def test_a_revoked_key_is_refused(client, api_key, personas, now):
    await make_boardwalk()
    (key_row,) = await reports.list_keys(personas["admin"])
    await reports.revoke_key(personas["admin"], key_row["id"], now)
    response = await post_request(client, "json", api_key)
    assert response.status_code == 403


async def test_a_photo_sent_as_media_is_cleaned(client, api_key, media_root):
    await make_boardwalk()
    response = await post_request(
        client,
        "json",
        api_key,
        files=[("media", ("IMG_0001.JPG", jpeg_with_metadata((320, 240)), "image/jpeg"))],
    )
    assert response.status_code == 201, response.text
    (photo,) = await ReportPhoto.objects()
    raw = (media_root / photo.storage_key).read_bytes()
    assert b"Exif" not in raw and b"26.8842N" not in raw
    with Image.open(media_root / photo.storage_key) as image:
        assert not image.getexif()
    refused = await post_request(
        client, "json", api_key, files=[("media", ("x.jpg", REFUSED["html"], "image/jpeg"))]
    )
    assert refused.status_code == 400
    assert "photos" in error_of(refused, "json")[1]
    assert await ServiceRequest.count() == 1


# --- closure-aware -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_request_on_a_closed_facility_gets_the_notice_and_opens_no_ticket(
    client, api_key, now, fmt
):
    bridge = await make_boardwalk()
    closure = await make_full_closure(
        bridge, now - dt.timedelta(days=1), reopen_on=dt.date(2027, 4, 30)
    )

    first = await post_request(client, fmt, api_key)
    second = await post_request(client, fmt, api_key, service_code="railing")

    assert first.status_code == second.status_code == 201
    (answer,) = records(first, fmt)
    assert "Rotten deck planks: closed for repair" in answer["service_notice"]
    assert f"/notices/{closure.id}" in answer["service_notice"]
    assert "2027-04-30" in answer["service_notice"]
    assert answer["expected_datetime"] == "2027-04-30T00:00:00+08:00"
    assert await RepairTicket.count() == 0
    assert {r.status for r in await ServiceRequest.objects()} == {ReportStatus.COVERED}
    (shown,) = records(
        await client.get(f"{BASE}/requests/{answer['service_request_id']}.{fmt}"), fmt
    )
    assert shown["status"] == "open"
    assert shown["expected_datetime"] == "2027-04-30T00:00:00+08:00"
    assert f"/notices/{closure.id}" in shown["service_notice"]
    assert "closed for repair" in shown["status_notes"]


# --- reading requests ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_one_request_has_the_specs_fields(client, media_root, now, fmt):
    boardwalk = await make_boardwalk(code="GX-ZD-PH-001")
    submitted = await make_report(
        boardwalk,
        media_root=media_root,
        now=now,
        lat=NEAR_BOARDWALK[0],
        lng=NEAR_BOARDWALK[1],
        description='木板 <b>"松动"</b> & ]]> loose',
    )
    response = await client.get(f"{BASE}/requests/{submitted.report.id}.{fmt}")
    assert response.status_code == 200
    (item,) = records(response, fmt)
    if fmt == "xml":
        assert [child.tag for child in xml_of(response).find("request")] == REQUEST_FIELDS
    else:
        assert list(response.json()[0]) == REQUEST_FIELDS
    assert item["service_request_id"] == str(submitted.report.id)
    assert (item["status"], item["service_code"]) == ("open", "deck_damage")
    assert item["service_name"] == "Deck damage (loose or broken planks)"
    assert item["description"] == '木板 <b>"松动"</b> & ]]> loose'
    assert item["requested_datetime"] == "2026-11-28T10:00:00+08:00"
    assert ISO_WITH_OFFSET.match(item["updated_datetime"])
    assert item["expected_datetime"] == ""
    assert item["address_id"] == "GX-ZD-PH-001"
    assert item["address"] == "Lakeside Boardwalk"
    assert (float(item["lat"]), float(item["long"])) == NEAR_BOARDWALK
    assert item["agency_responsible"] == "High-tech Zone Construction Bureau"
    assert "citizen@example.org" not in response.text  # never the contact


async def test_a_report_without_a_location_is_placed_at_its_facility(client, media_root):
    boardwalk = await make_boardwalk()
    submitted = await make_report(boardwalk, media_root=media_root)
    (item,) = (await client.get(f"{BASE}/requests/{submitted.report.id}.json")).json()
    assert (item["lat"], item["long"]) == BOARDWALK


@pytest.mark.parametrize("fmt", FORMATS)
async def test_an_unknown_request_or_token_is_404(client, fmt):
    for url in (
        f"{BASE}/requests/12345.{fmt}",
        f"{BASE}/requests/abc.{fmt}",
        f"{BASE}/tokens/nope.{fmt}",
    ):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert error_of(response, fmt)[0] == 404


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_token_gives_the_request_id(client, api_key, fmt):
    await make_boardwalk()
    (answer,) = records(await post_request(client, "json", api_key), "json")
    response = await client.get(f"{BASE}/tokens/{answer['token']}.{fmt}")
    assert response.status_code == 200
    (item,) = records(response, fmt)
    assert item == {"service_request_id": answer["service_request_id"], "token": answer["token"]}


@pytest.mark.parametrize("fmt", FORMATS)
async def test_listing_with_filters(client, personas, media_root, now, fmt):
    boardwalk = await make_boardwalk()
    old = await make_report(boardwalk, media_root=media_root, now=now - dt.timedelta(days=40))
    litter = await make_report(
        boardwalk, media_root=media_root, now=now - dt.timedelta(days=2), category=Category.LITTER
    )
    recent = await make_report(boardwalk, media_root=media_root, now=now - dt.timedelta(days=1))
    await reports.reject_report(
        personas["alice"], recent.report.id, AnswerIn(version=1, reason="看不清"), now
    )

    def ids(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in records(response, fmt)]

    url = f"{BASE}/requests.{fmt}"
    everything = ids(await client.get(url))
    assert everything == [str(recent.report.id), str(litter.report.id), str(old.report.id)]
    assert ids(await client.get(url, params={"service_code": "litter"})) == [str(litter.report.id)]
    assert ids(await client.get(url, params={"status": "closed"})) == [str(recent.report.id)]
    assert ids(await client.get(url, params={"status": "open", "service_code": "deck_damage"})) == [
        str(old.report.id)
    ]
    window = {"start_date": "2026-11-25T00:00:00+08:00", "end_date": "2026-11-28T12:00:00+08:00"}
    assert ids(await client.get(url, params=window)) == [
        str(recent.report.id),
        str(litter.report.id),
    ]
    both = f"{old.report.id},{litter.report.id}"
    assert sorted(ids(await client.get(url, params={"service_request_id": both}))) == sorted(
        [str(old.report.id), str(litter.report.id)]
    )
    (rejected,) = records(await client.get(url, params={"status": "closed"}), fmt)
    assert rejected["description"] == ""  # a rejected report's text is withheld
    assert rejected["status_notes"] == "看不清"


async def test_an_unencoded_plus_in_a_date_is_read_as_meant(client, media_root, now):
    submitted = await make_report(media_root=media_root, now=now)
    query = "start_date=2026-11-28T09:00:00+08:00&end_date=2026-11-28T11:00:00+08:00"
    response = await client.get(f"{BASE}/requests.json?{query}")
    assert response.status_code == 200, response.text
    assert [r["service_request_id"] for r in response.json()] == [str(submitted.report.id)]
    early = "start_date=2026-11-28T08:00:00+08:00&end_date=2026-11-28T09:59:00+08:00"
    assert (await client.get(f"{BASE}/requests.json?{early}")).json() == []


@pytest.mark.parametrize("fmt", FORMATS)
async def test_listing_errors(client, fmt):
    url = f"{BASE}/requests.{fmt}"
    cases = [
        {"start_date": "2026-01-01", "end_date": "2026-06-01"},  # more than 90 days
        {"start_date": "2026-06-01", "end_date": "2026-05-01"},
        {"start_date": "yesterday"},
        {"status": "pending"},
        {"service_code": "teleporter"},
        {"service_request_id": "1,abc"},
    ]
    for params in cases:
        response = await client.get(url, params=params)
        assert response.status_code == 400, params
        assert error_of(response, fmt)[0] == 400
    assert (
        await client.get(url, params={"start_date": "2026-01-01", "end_date": "2026-03-31"})
    ).status_code == 200


async def test_the_status_follows_the_ticket_in_open311(client, personas, media_root, now):
    submitted = await make_report(media_root=media_root)
    url = f"{BASE}/requests/{submitted.report.id}.json"
    assert (await client.get(url)).json()[0]["status"] == "open"
    ticket = await reports.convert_to_ticket(
        personas["alice"],
        submitted.report.id,
        ConvertIn(version=1),
        now,
        media_root=media_root,
        max_upload_bytes=2_000_000,
    )
    assert (await client.get(url)).json()[0]["status"] == "open"
    await repair(ticket.id, personas["alice"], now + dt.timedelta(days=3))
    (item,) = (await client.get(url)).json()
    assert (item["status"], item["status_notes"]) == ("closed", "Repaired")
    assert item["updated_datetime"] == "2026-12-01T10:00:00+08:00"


async def test_conditional_get(client):
    first = await client.get(f"{BASE}/services.json")
    etag = first.headers["etag"]
    again = await client.get(f"{BASE}/services.json", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""


# --- servicerequestupdates -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_service_request_updates(client, personas, media_root, now, fmt):
    submitted = await make_report(media_root=media_root)
    ticket = await reports.convert_to_ticket(
        personas["alice"],
        submitted.report.id,
        ConvertIn(version=1),
        now,
        media_root=media_root,
        max_upload_bytes=2_000_000,
    )
    await repair(ticket.id, personas["alice"], now + dt.timedelta(days=1))
    params = {"start_date": "2026-11-27T00:00:00+08:00", "end_date": "2026-12-05T00:00:00+08:00"}
    response = await client.get(f"{BASE}/servicerequestupdates.{fmt}", params=params)
    assert response.status_code == 200
    if fmt == "xml":
        assert xml_of(response).tag == "service_request_updates"
    updates = records(response, fmt, "request_update")
    assert {u["service_request_id"] for u in updates} == {str(submitted.report.id)}
    assert updates[0]["status"] == "investigating"
    assert updates[-1]["status"] == "fixed"
    assert updates[-1]["description"] == "Repaired"
    assert all(ISO_WITH_OFFSET.match(u["updated_datetime"]) for u in updates)
    assert len({u["update_id"] for u in updates}) == len(updates)
    too_wide = await client.get(
        f"{BASE}/servicerequestupdates.{fmt}",
        params={"start_date": "2026-01-01", "end_date": "2026-12-01"},
    )
    assert too_wide.status_code == 400
    assert error_of(too_wide, fmt)[0] == 400


# --- abuse ---------------------------------------------------------------------------------


async def test_the_rate_limit_per_api_key(client, api_key, now, monkeypatch):
    monkeypatch.setattr(reports, "OPEN311_POSTS_PER_KEY", 2)
    await make_boardwalk()
    other_key = await reports.create_key(SYSTEM, KeyCreate(name="另一个 app"), now)
    # Each post its own report: the same body again within minutes would be the first one's
    # repeat (answered without counting, test_submissions.py).
    for n in range(2):
        assert (
            await post_request(client, "json", api_key, description=f"木板松动 {n}")
        ).status_code == 201
    refused = await post_request(client, "xml", api_key, description="木板松动 2")
    assert refused.status_code == 429
    assert error_of(refused, "xml")[0] == 429
    assert int(refused.headers["retry-after"]) > 0
    assert (await post_request(client, "json", other_key)).status_code == 201
    assert await ServiceRequest.count() == 3


async def test_guessing_keys_is_slowed_down_per_address(client, api_key, monkeypatch):
    monkeypatch.setattr(reports, "BAD_KEYS_PER_IP", 2)
    await make_boardwalk()
    statuses = [
        (await post_request(client, "json", f"o311_guess{i}")).status_code for i in range(4)
    ]
    assert statuses == [403, 403, 429, 429]


async def test_control_characters_never_break_the_xml(client, api_key):
    await make_boardwalk()
    response = await post_request(client, "json", api_key, description="木板\x01松动\x0b!")
    (answer,) = records(response, "json")
    xml_response = await client.get(f"{BASE}/requests/{answer['service_request_id']}.xml")
    (item,) = records(xml_response, "xml")
    assert item["description"] == "木板\ufffd松动\ufffd!"
    as_json = await client.get(f"{BASE}/requests/{answer['service_request_id']}.json")
    assert as_json.json()[0]["description"] == "木板\x01松动\x0b!"


async def test_a_location_far_from_everything_falls_back_to_the_address(client, api_key):
    boardwalk = await make_boardwalk(code="GX-ZD-PH-001")
    response = await post_request(
        client, "json", api_key, lat=str(BOARDWALK[0] + 0.01), address_id="GX-ZD-PH-001"
    )
    assert response.status_code == 201, response.text
    assert (await ServiceRequest.objects().first()).asset == boardwalk.id


async def test_what_is_sent_comes_back_as_text_not_markup(client, api_key):
    await make_boardwalk()
    nasty = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'
    response = await post_request(client, "json", api_key, description=nasty)
    (answer,) = records(response, "json")
    xml_response = await client.get(f"{BASE}/requests/{answer['service_request_id']}.xml")
    (item,) = records(xml_response, "xml")
    assert item["description"] == nasty
    assert b"<!DOCTYPE" not in xml_response.content
