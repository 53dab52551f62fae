"""The inspector's day (issue 17, staff): a suggested visiting order for the day's stops, nearest
neighbour improved by 2-opt (:mod:`facilities.lib.route`), and ``/inspections/route``, which lists
the reader's own inspections due today or overdue in that order beside a map of numbered stops."""

from __future__ import annotations

import datetime as dt
import re

from facilities.lib import route
from tests.kit.assets import make_asset, make_site
from tests.kit.inspections import plan

LAT = 26.9
STEP = 0.0025  # degrees of longitude: about 248 m at this latitude


def east(units: float) -> tuple[float, float]:
    """A point ``units`` steps east of (112.58, 26.9), as (lng, lat)."""
    return (round(112.58 + units * STEP, 7), LAT)


# --- the pure function ------------------------------------------------------------------------


def test_two_opt_shortens_the_path_nearest_neighbour_walks():
    # From 0 the nearest is +1, then -1.5, then +4.5 (back and forth: 9.5 steps); going west
    # first (-1.5, +1, +4.5) is 7.5 steps.
    start = east(0)
    stops = [east(1), east(-1.5), east(4.5)]

    greedy = route.nearest_neighbour(start, stops)
    suggested = route.visiting_order(start, stops)

    assert greedy == [0, 1, 2]
    assert suggested == [1, 0, 2]
    assert route.path_length_m(start, stops, suggested) < route.path_length_m(start, stops, greedy)
    assert round(route.path_length_m(start, stops, suggested) / 248, 1) == 7.5


def test_ties_go_to_the_stop_listed_first_and_the_answer_never_changes():
    start = east(0)
    west_first = [east(-1), east(1)]
    east_first = [east(1), east(-1)]

    assert route.nearest_neighbour(start, west_first) == [0, 1]
    assert route.nearest_neighbour(start, east_first) == [0, 1]
    orders = {tuple(route.visiting_order(start, west_first)) for _ in range(5)}
    assert orders == {(0, 1)}


def test_without_a_start_the_first_stop_stays_first():
    stops = [east(0), east(1), east(-1.5), east(4.5)]

    order = route.visiting_order(None, stops)

    assert order[0] == 0
    assert sorted(order) == [0, 1, 2, 3]
    assert order == [0, 2, 1, 3]  # 2-opt: west first, then east (7.5 steps, not 9.5)


def test_no_stops_and_one_stop():
    assert route.visiting_order(east(0), []) == []
    assert route.visiting_order(None, [east(2)]) == [0]
    assert route.visiting_order(east(0), [east(2)]) == [0]


def test_every_stop_is_visited_once_on_a_scattered_day():
    stops = [east(i * 0.7) if i % 2 else (112.58 + i * 0.001, LAT + i * 0.0013) for i in range(12)]

    order = route.visiting_order(None, stops)

    assert sorted(order) == list(range(12))
    assert route.path_length_m(None, stops, order) <= route.path_length_m(
        None, stops, route.nearest_neighbour(None, stops)
    )


# --- the page ---------------------------------------------------------------------------------


async def seed_day(personas, now: dt.datetime) -> dict[str, str]:
    """Bob's day: the most overdue at 0, then stops at +1, -1.5 and +4.5 due today; one due next
    week; one of Alice's due today; one of Bob's on an asset with no place."""
    alice, bob = personas["alice"], personas["bob"]
    site = await make_site("路线公园", name_en="Route Park")
    today = now.date()
    codes = {}
    for code, units, due_on, who in [
        ("GX-RT-START", 0, today - dt.timedelta(days=2), bob),
        ("GX-RT-PLUS1", 1, today, bob),
        ("GX-RT-MINUS", -1.5, today, bob),
        ("GX-RT-PLUS3", 4.5, today, bob),
        ("GX-RT-LATER", 2, today + dt.timedelta(days=7), bob),
        ("GX-RT-ALICE", 0.5, today, alice),
    ]:
        lng, lat = east(units)
        asset = await make_asset(site, code=code, name_zh=code, lat=lat, lng=lng)
        await plan(alice, asset, now, due_on=due_on, inspector_id=who.id)
        codes[code] = code
    nowhere = await make_asset(site, code="GX-RT-NOWHERE", name_zh="无位置")
    await plan(alice, nowhere, now, due_on=today, inspector_id=bob.id)
    return codes


async def test_the_page_lists_my_due_inspections_in_the_suggested_order(login, personas, now):
    await seed_day(personas, now)
    bob = await login("bob")

    response = await bob.get("/inspections/route")

    assert response.status_code == 200, response.text
    listed = re.findall(r'data-title="(GX-RT-[A-Z0-9]+)"', response.text)
    assert listed == ["GX-RT-START", "GX-RT-MINUS", "GX-RT-PLUS1", "GX-RT-PLUS3"]
    assert re.findall(r'data-step="(\d+)"', response.text) == ["1", "2", "3", "4"]
    assert 'data-overdue="true"' in response.text  # the start is overdue
    assert "GX-RT-LATER" not in response.text  # due next week
    assert "GX-RT-ALICE" not in response.text  # another inspector's
    assert "GX-RT-NOWHERE" in response.text.split('id="route-list"')[1].split("</ol>")[1]
    assert 'data-kind="route"' in response.text and "/static/js/staff_map.js" in response.text


async def test_nobody_sees_another_inspectors_day(login, personas, now):
    await seed_day(personas, now)
    alice = await login("alice")
    carol = await login("carol")

    alices = await alice.get("/inspections/route")
    carols = await carol.get("/inspections/route")

    assert re.findall(r'data-title="(GX-RT-[A-Z0-9]+)"', alices.text) == ["GX-RT-ALICE"]
    assert carols.status_code == 200
    assert "GX-RT-" not in carols.text


async def test_the_day_is_linked_from_the_inspection_views(login):
    bob = await login("bob")

    response = await bob.get("/inspections")

    assert 'href="/inspections/route"' in response.text


async def test_anonymous_readers_are_sent_to_log_in(anon):
    response = await anon.get("/inspections/route")

    assert response.status_code in {302, 303} and "/login" in response.headers["location"]
