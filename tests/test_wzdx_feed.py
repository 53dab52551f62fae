"""The WZDx v4.2 Work Zone Feed of closures: the public story's feed validates against the
official WorkZoneFeed schema (tests/standards, resolved locally: no network), holds every planned
or holding closure with its dates and nothing else, speaks the reader's language (``?lang=``),
and says what a footbridge closure is in WZDx's terms: the closed extent as its geometry (the
bridge's line) and a detour road event for the drawn detour, linked both ways."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource
from shapely.geometry import MultiLineString, Point, shape

from facilities import demo_places as places
from facilities.closures import public
from facilities.closures import services as closures
from facilities.closures.schemas import CancelIn
from facilities.public.feeds import wzdx
from facilities.public.feeds.common import rfc3339
from tests.kit.drawn_closures import Drawn, build_drawn, geometry
from tests.kit.public_story import READ_AT

URL = "/feeds/closures.wzdx.geojson"
BASE = "http://127.0.0.1:8000"
STANDARDS = Path(__file__).parent / "standards"
WZDX = "https://raw.githubusercontent.com/usdot-jpo-ode/wzdx/main/schemas/4.2/"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def _registry() -> Registry:
    """Every schema the feed's $refs reach, under its official address, read from tests/."""
    resources = []
    for path in sorted(STANDARDS.glob("*/*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


def _format_checker() -> jsonschema.FormatChecker:
    """The draft-07 checker, with ``date-time`` checked here (RFC 3339, section 5.6) since the
    optional package jsonschema would use for it is not installed."""
    checker = jsonschema.FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def date_time(value: object) -> bool:
        if not isinstance(value, str) or not RFC3339.match(value):
            return False
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True

    return checker


def validate(document: dict) -> None:
    feed_schema = json.loads((STANDARDS / "wzdx-4.2" / "WorkZoneFeed.json").read_text())
    validator = jsonschema.Draft7Validator(
        feed_schema, registry=_registry(), format_checker=_format_checker()
    )
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def by_id(document: dict) -> dict[str, dict]:
    return {feature["id"]: feature for feature in document["features"]}


async def read(anon, url: str = URL) -> dict:
    response = await anon.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    return json.loads(response.content)


def test_the_schema_check_itself_rejects_a_broken_feed():
    """The validation below can fail: a feed without dates or with a bad direction does."""
    broken = {
        "feed_info": {"publisher": "x", "version": "4.2", "update_date": "yesterday"},
        "type": "FeatureCollection",
        "features": [
            {
                "id": "1",
                "type": "Feature",
                "properties": {
                    "core_details": {
                        "event_type": "work-zone",
                        "data_source_id": "s",
                        "road_names": ["a"],
                        "direction": "both",
                    }
                },
                "geometry": {"type": "Point", "coordinates": [112.58, 26.89]},
            }
        ],
    }
    with pytest.raises(AssertionError):
        validate(broken)


@pytest.mark.parametrize("query", ["", "?lang=en"])
async def test_the_feed_of_the_story_validates_against_the_official_schema(anon, story, query):
    document = await read(anon, URL + query)

    validate(document)
    info = document["feed_info"]
    assert info["version"] == "4.2"
    assert info["update_date"] == "2027-04-10T02:00:00Z"  # generated at READ_AT
    assert info["data_sources"][0]["data_source_id"] == wzdx.data_source_id(BASE)
    assert "contact_email" not in info  # the default sender facilities@localhost is no contact


async def test_every_planned_or_holding_closure_appears_with_its_dates(anon, story):
    features = by_id(await read(anon))

    bridge = features[wzdx.road_event_id(BASE, story.closure.id)]
    boardwalk = features[wzdx.road_event_id(BASE, story.planned.id)]
    assert len(features) == 2  # the fountain reopened 8 days ago: not in the feed
    assert wzdx.road_event_id(BASE, story.reopened.id) not in features
    props = bridge["properties"]
    assert props["start_date"] == "2027-03-02T01:00:00Z"
    assert props["end_date"] == "2027-04-30T16:00:00Z"  # "before 1 May": 1 May 00:00 in Hengyang
    assert props["is_start_date_verified"] is True  # in force: the bureau closed it
    assert props["is_end_date_verified"] is False  # a promise, not an announced reopening
    planned = boardwalk["properties"]
    assert planned["start_date"] == "2027-04-30T02:00:00Z"
    assert planned["end_date"] == "2027-05-09T16:00:00Z"  # "on 10 May"
    assert planned["is_start_date_verified"] is False  # not started yet
    assert planned["core_details"]["data_source_id"] == wzdx.data_source_id(BASE)


async def test_road_event_ids_are_stable_and_one_per_closure(anon, story):
    first = await read(anon)
    again = await read(anon, URL + "?lang=en")

    assert list(by_id(first)) == list(by_id(again))
    assert len(set(by_id(first))) == len(first["features"]) == 2


async def test_a_cancelled_closure_leaves_the_feed(anon, story):
    current = await closures.find_closure(story.planned.id)
    await closures.cancel(
        story.alice,
        story.planned.id,
        CancelIn(version=current.version, reason_zh="工期调整。"),
        READ_AT,
    )

    document = await read(anon)

    validate(document)
    assert list(by_id(document)) == [wzdx.road_event_id(BASE, story.closure.id)]


async def test_a_footbridge_closure_in_wzdx_terms(anon, story):
    bridge = by_id(await read(anon))[wzdx.road_event_id(BASE, story.closure.id)]

    props = bridge["properties"]
    core = props["core_details"]
    assert core["event_type"] == "work-zone"
    assert core["direction"] == "undefined"
    assert props["vehicle_impact"] == "all-lanes-open"  # a footbridge carries no vehicles
    assert props["lanes"] == [{"order": 1, "type": "sidewalk", "status": "closed"}]
    assert bridge["geometry"] == {
        "type": "MultiPoint",
        "coordinates": [[112.5812, 26.8949], [112.5812, 26.8949]],  # start = end = the point
    }


async def test_text_follows_the_lang_parameter_and_names_carry_both_languages(anon, story):
    chinese = by_id(await read(anon))
    english = by_id(await read(anon, URL + "?lang=en"))
    bridge = wzdx.road_event_id(BASE, story.closure.id)
    boardwalk = wzdx.road_event_id(BASE, story.planned.id)

    zh, en = chinese[bridge]["properties"], english[bridge]["properties"]
    assert zh["core_details"]["road_names"] == [
        "平湖公园景观悬索桥",
        "Pinghu Park Landscape Suspension Bridge",
    ]
    assert en["core_details"]["road_names"] == [
        "Pinghu Park Landscape Suspension Bridge",
        "平湖公园景观悬索桥",
    ]
    assert zh["core_details"]["description"].startswith("木质桥面板受风雨侵蚀腐朽")
    assert en["core_details"]["description"].startswith("Weather rotted the timber deck")
    # a partial closure names the closed part
    assert chinese[boardwalk]["properties"]["core_details"]["description"].startswith("东段木栈道")
    assert english[boardwalk]["properties"]["core_details"]["description"] == (
        "The east section: Loose boards are replaced."
    )


async def test_conditional_get_and_one_etag_per_language(anon, story):
    chinese = await anon.get(URL)
    english = await anon.get(URL + "?lang=en")
    assert chinese.headers["etag"] != english.headers["etag"]

    again = await anon.get(URL, headers={"If-None-Match": chinese.headers["etag"]})

    assert again.status_code == 304


async def test_a_closure_whose_facility_has_no_location_is_left_out(story):
    found = await public.closure(story.closure.id)
    assert found is not None
    nowhere = dataclasses.replace(found, asset=dataclasses.replace(found.asset, lat=None, lng=None))

    document = json.loads(wzdx.render([found, nowhere], base=BASE, now=READ_AT))

    validate(document)
    assert wzdx.closure_geometry(nowhere) is None
    assert len(document["features"]) == 1


async def test_an_open_ended_closure_gets_an_unverified_estimated_end_and_contact(story):
    found = await public.closure(story.closure.id)
    assert found is not None
    open_ended = dataclasses.replace(found, planned_reopen_on=None)

    document = json.loads(
        wzdx.render([open_ended], base=BASE, now=READ_AT, contact_email="roads@bureau.example")
    )

    validate(document)
    props = document["features"][0]["properties"]
    assert props["end_date"] == rfc3339(found.updated_at + wzdx.OPEN_ENDED)
    assert props["is_end_date_verified"] is False
    assert document["feed_info"]["contact_email"] == "roads@bureau.example"
    assert wzdx.contact("facilities@localhost") is None


# --- geometry: the closed extent and the detour (issue 17) ---------------------------------


@pytest.fixture
async def drawn(app, personas, now) -> Drawn:
    return await build_drawn(personas["alice"], now)


async def test_a_drawn_footbridge_closure_is_its_line_with_a_linked_detour(anon, drawn):
    document = await read(anon)

    validate(document)
    events = by_id(document)
    work_zone = events[wzdx.road_event_id(BASE, drawn.closure.id)]
    detour_id = wzdx.detour_event_id(BASE, drawn.closure.id, 1)
    detour = events[detour_id]
    # the whole bridge is closed: the work zone is its 76.6 m line, south end to north end
    assert work_zone["geometry"]["type"] == "LineString"
    assert work_zone["geometry"]["coordinates"] == geometry(places.BRIDGE)["coordinates"]
    # the detour is a road event of its own, on the drawn line, linked both ways
    assert detour["properties"]["core_details"]["event_type"] == "detour"
    assert detour["geometry"] == geometry(places.BRIDGE_DETOUR)
    assert work_zone["properties"]["core_details"]["related_road_events"] == [
        {"type": "related-detour", "id": detour_id}
    ]
    assert detour["properties"]["core_details"]["related_road_events"] == [
        {"type": "related-work-zone", "id": work_zone["id"]}
    ]
    assert detour["properties"]["core_details"]["road_names"] == ["平湖公园", "Pinghu Park"]
    assert (
        detour["properties"]["core_details"]["description"] == "请经环湖木栈道东段绕行至公园西门。"
    )
    for name in ("start_date", "end_date", "is_start_date_verified", "is_end_date_verified"):
        assert detour["properties"][name] == work_zone["properties"][name], name
    # the footbridge in WZDx terms
    props = work_zone["properties"]
    assert props["vehicle_impact"] == "all-lanes-open"
    assert props["lanes"] == [{"order": 1, "type": "sidewalk", "status": "closed"}]
    assert props["types_of_work"] == [
        {"type_name": "maintenance", "is_architectural_change": False}
    ]
    assert list(events) == [work_zone["id"], detour_id, wzdx.road_event_id(BASE, drawn.planned.id)]


async def test_a_planned_road_bridge_footway_closure_is_unverified_and_on_its_footway(
    anon, drawn, now
):
    document = await read(anon, URL + "?lang=en")

    validate(document)
    planned = by_id(document)[wzdx.road_event_id(BASE, drawn.planned.id)]
    props = planned["properties"]
    assert props["start_date"] > document["feed_info"]["update_date"]  # it starts later
    assert props["is_start_date_verified"] is False
    assert "event_status" not in props  # deprecated in 4.2: the dates say it
    assert planned["geometry"] == geometry(places.ROAD_BRIDGE_NORTH_FOOTWAY)
    # a road bridge partly closed: vehicles may or may not be affected; the notice says which part
    assert props["vehicle_impact"] == "unknown"
    assert props["core_details"]["description"] == (
        "North footway: The expansion-joint seal is being replaced."
    )
    # its detour is words only (no line drawn): no detour event
    assert "related_road_events" not in props["core_details"]


async def test_a_detour_in_two_parts_is_two_detour_events_and_an_area_is_a_point(drawn, now):
    found = await public.closure(drawn.closure.id)
    assert found is not None
    west, east = (
        [(112.5810, 26.8940), (112.5800, 26.8940)],
        [(112.5830, 26.8960), (112.5840, 26.8960)],
    )
    split = dataclasses.replace(
        found, detour_line=json.dumps(MultiLineString([west, east]).__geo_interface__)
    )
    fountain = dataclasses.replace(
        found,
        id=found.id + 1000,
        detour_line="",
        asset=dataclasses.replace(found.asset, geometry=places.FOUNTAIN, lat=None, lng=None),
    )

    document = json.loads(wzdx.render([split, fountain], base=BASE, now=now))

    validate(document)
    work_zone, first, second, plaza = document["features"]
    ids = [first["id"], second["id"]]
    assert ids == [wzdx.detour_event_id(BASE, found.id, n) for n in (1, 2)]
    assert [e["id"] for e in work_zone["properties"]["core_details"]["related_road_events"]] == ids
    assert first["geometry"]["coordinates"] == [list(p) for p in west]
    # an area closed as a whole is a point on it, start = end (a road event is no area)
    assert plaza["geometry"]["type"] == "MultiPoint"
    start, end = plaza["geometry"]["coordinates"]
    assert start == end and shape(json.loads(places.FOUNTAIN)).contains(Point(start))
    assert "related_road_events" not in plaza["properties"]["core_details"]
