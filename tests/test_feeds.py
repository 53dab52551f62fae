"""The feeds, each read back by a real parser: Atom 1.0 (feedparser), iCalendar (icalendar),
GeoJSON (a JSON Schema) and CAP 1.2 (xml.etree against the standard's required elements);
and conditional GET on every one of them: 304 on a matching ETag or If-Modified-Since, 200 once
something public changed."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from email.utils import format_datetime

import feedparser
import icalendar
import jsonschema
import pytest

from facilities.closures import services as closures
from facilities.closures.schemas import ExtendIn, NoticeIn
from tests.kit.public_story import READ_AT, pin_clock

CAP_NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
FEEDS = [
    "/feeds/notices.atom",
    "/feeds/sites/{site}.atom",
    "/feeds/facilities/{bridge}.atom",
    "/feeds/closures.ics",
    "/feeds/closures.geojson",
    "/feeds/cap/{closure}.xml",
]


def _url(template: str, story) -> str:
    return template.format(site=story.site.id, bridge=story.bridge.id, closure=story.closure.id)


# --- Atom --------------------------------------------------------------------------------


async def test_atom_feed_parses_with_one_entry_per_published_update(anon, story):
    response = await anon.get("/feeds/notices.atom?lang=en")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "Facility closure notices"
    assert feed.feed.id.startswith("tag:")
    assert feed.feed.link.endswith("/")
    assert feed.feed.author
    # bridge: activation, filter nets, extension; fountain: activation, reopening (no drafts,
    # nothing of the planned closure yet)
    assert len(feed.entries) == 5
    titles = [entry.title for entry in feed.entries]
    assert any("Two layers of filter nets" in t for t in titles)
    assert all(entry.id.startswith("tag:") for entry in feed.entries)
    assert len({entry.id for entry in feed.entries}) == 5
    newest = feed.entries[0]
    assert newest.link.startswith(f"http://127.0.0.1:8000/notices/{story.reopened.id}#update-")
    published = [entry.published_parsed for entry in feed.entries]
    assert published == sorted(published, reverse=True)


async def test_atom_entry_ids_are_stable_and_new_updates_add_entries(anon, story):
    first = feedparser.parse((await anon.get("/feeds/notices.atom")).content)
    again = feedparser.parse((await anon.get("/feeds/notices.atom")).content)
    assert [e.id for e in first.entries] == [e.id for e in again.entries]
    await closures.write_update(
        story.alice,
        story.closure.id,
        NoticeIn(text_zh="新桥面板已铺设一半。", text_en="Half of the new deck is laid."),
        READ_AT,
    )
    later = feedparser.parse((await anon.get("/feeds/notices.atom")).content)
    assert len(later.entries) == 6
    assert later.entries[0].title.endswith("新桥面板已铺设一半。")
    assert [e.id for e in later.entries[1:]] == [e.id for e in first.entries]


async def test_site_and_facility_feeds_hold_only_their_own_notices(anon, story):
    site = feedparser.parse((await anon.get(f"/feeds/sites/{story.site.id}.atom")).content)
    assert not site.bozo
    assert len(site.entries) == 3
    assert all(f"/notices/{story.closure.id}#" in e.link for e in site.entries)
    other = feedparser.parse((await anon.get(f"/feeds/sites/{story.other_site.id}.atom")).content)
    assert len(other.entries) == 2
    bridge = feedparser.parse((await anon.get(f"/feeds/facilities/{story.bridge.id}.atom")).content)
    assert len(bridge.entries) == 3
    assert bridge.feed.title.endswith("平湖公园景观悬索桥")
    quiet = await anon.get(f"/feeds/facilities/{story.boardwalk.id}.atom?lang=en")
    parsed = feedparser.parse(quiet.content)
    assert not parsed.bozo and parsed.entries == []
    assert parsed.feed.title.endswith("Pinghu Lakeside Boardwalk")
    for missing in ("/feeds/sites/999999.atom", "/feeds/facilities/abc.atom", "/feeds/sites/1.rss"):
        assert (await anon.get(missing)).status_code == 404


async def test_atom_text_is_escaped_xml(anon, story):
    await closures.write_update(
        story.alice,
        story.closure.id,
        NoticeIn(text_zh="<b>桥</b> & 栈道", text_en="<script>alert(1)</script> & more"),
        READ_AT,
    )
    response = await anon.get("/feeds/notices.atom?lang=en")
    assert b"<script>" not in response.content
    feed = feedparser.parse(response.content)
    assert not feed.bozo
    assert feed.entries[0].content[0].value == "<script>alert(1)</script> & more"


# --- iCalendar ---------------------------------------------------------------------------


def _events(body: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"]
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


async def test_ics_is_valid_rfc5545_with_one_event_per_closure_window(anon, story):
    response = await anon.get("/feeds/closures.ics?lang=en")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    body = response.content
    lines = body.split(b"\r\n")
    assert lines[0] == b"BEGIN:VCALENDAR" and lines[-2] == b"END:VCALENDAR"
    assert all(len(line) <= 75 for line in lines), "content lines fold at 75 octets"
    events = _events(body)
    assert len(events) == 3  # the bridge, the planned boardwalk, the reopened fountain
    bridge = events[f"closure-{story.closure.id}@127.0.0.1"]
    for required in ("UID", "DTSTAMP", "DTSTART", "SUMMARY", "SEQUENCE"):
        assert required in bridge
    assert bridge.decoded("DTSTART") == dt.datetime(2027, 3, 2, 1, 0, tzinfo=dt.UTC)
    # "before 1 May": the window ends when 1 May begins in Shanghai
    assert bridge.decoded("DTEND") == dt.datetime(2027, 4, 30, 16, 0, tzinfo=dt.UTC)
    assert "Pinghu Park Landscape Suspension Bridge" in str(bridge["SUMMARY"])
    assert "Expected to reopen before 1 May" in str(bridge["DESCRIPTION"])
    assert str(bridge["URL"]).endswith(f"/notices/{story.closure.id}")
    fountain = events[f"closure-{story.reopened.id}@127.0.0.1"]
    assert fountain.decoded("DTEND") == story.reopened.reopens_at


async def test_ics_uid_is_stable_and_sequence_bumps_when_the_promise_moves(anon, story):
    uid = f"closure-{story.closure.id}@127.0.0.1"
    first = _events((await anon.get("/feeds/closures.ics")).content)
    again = _events((await anon.get("/feeds/closures.ics")).content)
    assert set(first) == set(again)
    before = int(first[uid]["SEQUENCE"])
    current = await closures.find_closure(story.closure.id)
    await closures.extend(
        story.alice,
        story.closure.id,
        ExtendIn(
            version=current.version,
            planned_reopen_on=dt.date(2027, 5, 20),
            reason_zh="雨季影响施工。",
        ),
        READ_AT,
    )
    after = _events((await anon.get("/feeds/closures.ics")).content)
    assert uid in after
    assert int(after[uid]["SEQUENCE"]) == before + 1
    assert after[uid].decoded("DTEND") == dt.datetime(2027, 5, 19, 16, 0, tzinfo=dt.UTC)


# --- GeoJSON -----------------------------------------------------------------------------

GEOJSON_SCHEMA = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "geometry", "properties"],
                "properties": {
                    "type": {"const": "Feature"},
                    "geometry": {
                        "oneOf": [
                            {"type": "null"},
                            {
                                "type": "object",
                                "required": ["type", "coordinates"],
                                "properties": {
                                    "type": {
                                        "enum": [
                                            "Point",
                                            "MultiPoint",
                                            "LineString",
                                            "MultiLineString",
                                            "Polygon",
                                            "MultiPolygon",
                                        ]
                                    },
                                    "coordinates": {"type": "array", "minItems": 1},
                                },
                            },
                        ]
                    },
                    "properties": {
                        "type": "object",
                        "required": [
                            "name_zh",
                            "name_en",
                            "scope",
                            "reason",
                            "expected_reopening",
                            "url",
                        ],
                    },
                },
            },
        },
    },
}


async def test_geojson_holds_the_closures_holding_and_planned_at_their_place(anon, story):
    response = await anon.get("/feeds/closures.geojson")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    document = json.loads(response.content)
    jsonschema.validate(document, GEOJSON_SCHEMA)
    # the bridge (in force, urgent: first) and the planned boardwalk; the reopened fountain not
    assert [f["id"] for f in document["features"]] == [story.closure.id, story.planned.id]
    feature, planned = document["features"]
    # the story's bridge has no drawing: the whole facility is closed at its point
    assert feature["geometry"] == {"type": "Point", "coordinates": [112.5812, 26.8949]}
    props = feature["properties"]
    assert props["role"] == "closure"
    assert props["marker"] == [112.5812, 26.8949]  # [lng, lat]
    assert props["whole_facility"] is True
    assert props["status"] == "extended"
    assert props["name_zh"] == "平湖公园景观悬索桥"
    assert props["name_en"] == "Pinghu Park Landscape Suspension Bridge"
    assert props["scope"] == "full"
    assert props["reason"] == "structural_defect"
    assert props["expected_reopening"] == "2027-05-01"
    assert props["reopen_precision"] == "before"
    assert props["expected_reopening_en"] == "Expected to reopen before 1 May"
    assert props["url"] == f"http://127.0.0.1:8000/notices/{story.closure.id}"
    assert planned["properties"]["status"] == "planned"
    assert planned["properties"]["role"] == "closure"


# --- CAP 1.2 -----------------------------------------------------------------------------

CAP_ALERT_REQUIRED = ("identifier", "sender", "sent", "status", "msgType", "scope")
CAP_INFO_REQUIRED = ("category", "event", "urgency", "severity", "certainty")
CAP_VALUES = {
    "status": {"Actual", "Exercise", "System", "Test", "Draft"},
    "msgType": {"Alert", "Update", "Cancel", "Ack", "Error"},
    "scope": {"Public", "Restricted", "Private"},
    "urgency": {"Immediate", "Expected", "Future", "Past", "Unknown"},
    "severity": {"Extreme", "Severe", "Moderate", "Minor", "Unknown"},
    "certainty": {"Observed", "Likely", "Possible", "Unlikely", "Unknown"},
}
CAP_TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$"


def _text(element: ET.Element, name: str) -> str:
    found = element.find(f"cap:{name}", CAP_NS)
    assert found is not None, f"missing <{name}>"
    return found.text or ""


async def test_cap_alert_has_the_required_elements_and_one_info_per_language(anon, story):
    import re

    response = await anon.get(f"/feeds/cap/{story.closure.id}.xml")
    assert response.status_code == 200
    assert "xml" in response.headers["content-type"]
    root = ET.fromstring(response.content)  # noqa: S314 - our own output
    assert root.tag == "{urn:oasis:names:tc:emergency:cap:1.2}alert"
    for name in CAP_ALERT_REQUIRED:
        assert _text(root, name).strip(), name
    assert _text(root, "status") == "Actual"
    assert _text(root, "scope") == "Public"
    assert re.match(CAP_TIME, _text(root, "sent"))
    identifier = _text(root, "identifier")
    assert not set(identifier) & {" ", ",", "<", "&"}
    # the closure was extended after it was first announced: this is an update of that alert
    assert _text(root, "msgType") == "Update"
    sender, original, sent = _text(root, "references").split(",")
    assert sender == _text(root, "sender")
    assert original != identifier and re.match(CAP_TIME, sent)
    infos = root.findall("cap:info", CAP_NS)
    assert [_text(i, "language") for i in infos] == ["zh-CN", "en"]
    for info in infos:
        for name in CAP_INFO_REQUIRED:
            value = _text(info, name)
            assert value, name
            if name in CAP_VALUES:
                assert value in CAP_VALUES[name]
        assert _text(info, "category") == "Infra"
        assert _text(info, "urgency") == "Immediate"
        area = info.find("cap:area", CAP_NS)
        assert area is not None and _text(area, "areaDesc")
        # the bridge is only a point: the area to avoid is a polygon round it, not a circle
        assert area.find("cap:circle", CAP_NS) is None
        pairs = [tuple(map(float, p.split(","))) for p in _text(area, "polygon").split(" ")]
        assert len(pairs) >= 4 and pairs[0] == pairs[-1]
        lats, lngs = [lat for lat, _ in pairs], [lng for _, lng in pairs]
        assert min(lats) < 26.8949 < max(lats) and min(lngs) < 112.5812 < max(lngs)
    english = infos[1]
    assert "Pinghu Park Landscape Suspension Bridge" in _text(english, "headline")
    assert "Expected to reopen before 1 May" in _text(english, "description")
    assert "north gate" in _text(english, "instruction")
    assert _text(english, "web").endswith(f"/notices/{story.closure.id}")
    # the identifier is stable while nothing changes
    again = ET.fromstring(  # noqa: S314 - our own output
        (await anon.get(f"/feeds/cap/{story.closure.id}.xml")).content
    )
    assert _text(again, "identifier") == identifier


async def test_cap_only_for_urgent_closures(anon, story):
    assert (await anon.get(f"/feeds/cap/{story.planned.id}.xml")).status_code == 404
    assert (await anon.get("/feeds/cap/999999.xml")).status_code == 404
    assert (await anon.get("/feeds/cap/x.xml")).status_code == 404


# --- conditional GET on every feed -------------------------------------------------------


@pytest.mark.parametrize("template", FEEDS)
async def test_feed_answers_304_then_200_after_a_change(anon, story, template, clock):
    url = _url(template, story)
    first = await anon.get(url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    modified = first.headers["last-modified"]
    assert etag and modified
    same = await anon.get(url, headers={"If-None-Match": etag})
    assert same.status_code == 304
    assert same.content == b""
    assert same.headers["etag"] == etag
    assert (await anon.get(url, headers={"If-None-Match": f'"nope", {etag}'})).status_code == 304
    since = await anon.get(url, headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    earlier = format_datetime(READ_AT - dt.timedelta(days=400), usegmt=True)
    assert (await anon.get(url, headers={"If-Modified-Since": earlier})).status_code == 200
    # something public changes (a new promise): every feed changes with it
    current = await closures.find_closure(story.closure.id)
    changed_at = READ_AT + dt.timedelta(hours=1)
    await closures.extend(
        story.alice,
        story.closure.id,
        ExtendIn(version=current.version, planned_reopen_on=dt.date(2027, 5, 20), reason_zh="雨季"),
        changed_at,
    )
    pin_clock(clock, changed_at)
    after = await anon.get(url, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    assert (await anon.get(url, headers={"If-Modified-Since": modified})).status_code == 200
    assert after.content != first.content


async def test_etag_depends_on_the_language_of_a_localized_feed(anon, story):
    chinese = await anon.get("/feeds/notices.atom")
    english = await anon.get("/feeds/notices.atom?lang=en")
    assert chinese.headers["etag"] != english.headers["etag"]
    cross = await anon.get(
        "/feeds/notices.atom?lang=en", headers={"If-None-Match": chinese.headers["etag"]}
    )
    assert cross.status_code == 200
    # GeoJSON and CAP carry both languages: one representation for everybody
    a = await anon.get("/feeds/closures.geojson")
    b = await anon.get("/feeds/closures.geojson", cookies={"lang": "en"})
    assert a.headers["etag"] == b.headers["etag"] and a.content == b.content
