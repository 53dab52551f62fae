"""The staff maps' data (issue 17, staff): ``/assets/map.json`` sends only the assets whose box
meets the visible one, as compact rows, with the page's filters (site, type, grade, open P0/P1
tickets, inspection due) and a cap it announces; a bad box is a 400 naming ``bbox``; readers who
may not see the register are refused. ``/tickets/map.json`` places the list's tickets (with its
filters) at their facilities, ``/triage/map.json`` the reports awaiting triage at their pins."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from facilities.accounts.permissions import SYSTEM
from facilities.assets import services as assets
from facilities.assets.choices import AssetType
from facilities.tickets.choices import Priority
from tests.kit.assets import make_asset, make_site
from tests.kit.inspections import plan
from tests.kit.reports import make_report
from tests.kit.tickets import make_ticket

# Three assets in Hengyang: two in the box BOX, one ~3 km north-east of it.
BOX = "112.57,26.88,112.59,26.90"
INSIDE = [(26.8951, 112.5812), (26.8853, 112.5710)]  # lat, lng
OUTSIDE = (26.9200, 112.6100)


async def seed() -> dict[str, int]:
    park = await make_site("地图公园", name_en="Map Park")
    plaza = await make_site("地图广场", name_en="Map Plaza")
    bridge = await make_asset(
        park,
        code="GX-MAP-001",
        name_zh="地图桥",
        name_en="Map bridge",
        lat=INSIDE[0][0],
        lng=INSIDE[0][1],
        condition_grade="D",
    )
    pavilion = await make_asset(
        plaza,
        code="GX-MAP-002",
        name_zh="地图亭",
        asset_type=AssetType.PAVILION,
        lat=INSIDE[1][0],
        lng=INSIDE[1][1],
        condition_grade="A",
    )
    away = await make_asset(
        park, code="GX-MAP-003", name_zh="远处桥", lat=OUTSIDE[0], lng=OUTSIDE[1]
    )
    unplaced = await make_asset(park, code="GX-MAP-004", name_zh="无位置设施")
    return {
        "park": park.id,
        "plaza": plaza.id,
        "bridge": bridge.id,
        "pavilion": pavilion.id,
        "away": away.id,
        "unplaced": unplaced.id,
    }


def rows_by_code(body: dict) -> dict[str, dict]:
    return {
        row[body["fields"].index("code")]: dict(zip(body["fields"], row, strict=True))
        for row in body["rows"]
    }


# --- the asset map's data ---------------------------------------------------------------------


async def test_only_the_assets_in_the_box_are_sent_as_compact_rows(api):
    ids = await seed()
    dave = await api("dave")  # a viewer: may see the register

    response = await dave.get("/assets/map.json", bbox=BOX)

    assert response.status_code == 200, response.text
    body = response.json()
    found = rows_by_code(body)
    assert set(found) == {"GX-MAP-001", "GX-MAP-002"}
    bridge = found["GX-MAP-001"]
    assert bridge["id"] == ids["bridge"]
    assert (bridge["lat"], bridge["lng"]) == INSIDE[0]
    assert bridge["grade"] == "D"
    assert body["types"][bridge["type"]] == "footbridge"
    assert body["statuses"][bridge["status"]] == "in_service"
    assert body["truncated"] is False
    assert all(isinstance(row, list) for row in body["rows"])  # arrays, not objects


async def test_without_a_box_every_placed_asset_is_sent_and_the_unplaced_never(api):
    await seed()
    alice = await api("alice")

    body = (await alice.get("/assets/map.json")).json()

    assert set(rows_by_code(body)) == {"GX-MAP-001", "GX-MAP-002", "GX-MAP-003"}


async def test_site_type_and_grade_filters_narrow_the_rows(api):
    ids = await seed()
    alice = await api("alice")

    by_site = rows_by_code((await alice.get("/assets/map.json", site=ids["plaza"])).json())
    by_type = rows_by_code((await alice.get("/assets/map.json", type="pavilion")).json())
    by_grade = rows_by_code((await alice.get("/assets/map.json", grade="D")).json())
    ungraded = rows_by_code((await alice.get("/assets/map.json", grade="none")).json())

    assert set(by_site) == {"GX-MAP-002"}
    assert set(by_type) == {"GX-MAP-002"}
    assert set(by_grade) == {"GX-MAP-001"}
    assert set(ungraded) == {"GX-MAP-003"}


async def test_open_p0_p1_tickets_are_counted_and_filtered(api, now):
    ids = await seed()
    await make_ticket(asset_id=ids["bridge"], priority=Priority.P1, now=now)
    await make_ticket(asset_id=ids["bridge"], priority=Priority.P0, now=now)
    await make_ticket(asset_id=ids["pavilion"], priority=Priority.P3, now=now)
    alice = await api("alice")

    every = rows_by_code((await alice.get("/assets/map.json", bbox=BOX)).json())
    urgent = rows_by_code((await alice.get("/assets/map.json", bbox=BOX, urgent="true")).json())

    assert every["GX-MAP-001"]["urgent"] == 2
    assert every["GX-MAP-002"]["urgent"] == 0  # a P3 is not urgent
    assert set(urgent) == {"GX-MAP-001"}


async def test_due_and_overdue_inspections_are_marked_and_filtered(api, personas, now):
    ids = await seed()
    alice_actor = personas["alice"]
    due_asset = await assets.load_asset(SYSTEM, ids["pavilion"])
    late_asset = await assets.load_asset(SYSTEM, ids["away"])
    await plan(alice_actor, due_asset, now, due_on=(now + dt.timedelta(days=3)).date())
    await plan(alice_actor, late_asset, now - dt.timedelta(days=20), due_on=dt.date(2026, 11, 1))
    alice = await api("alice")

    every = rows_by_code((await alice.get("/assets/map.json")).json())
    due = rows_by_code((await alice.get("/assets/map.json", due="true")).json())

    assert every["GX-MAP-002"]["due"] == "due"
    assert every["GX-MAP-003"]["due"] == "overdue"
    assert every["GX-MAP-001"]["due"] == ""
    assert set(due) == {"GX-MAP-002", "GX-MAP-003"}


async def test_a_closed_asset_says_so(api, now):
    from tests.kit.closures import make_closure

    ids = await seed()
    bridge = await assets.load_asset(SYSTEM, ids["bridge"])
    await make_closure(asset=bridge, now=now - dt.timedelta(hours=1))
    alice = await api("alice")

    body = (await alice.get("/assets/map.json", bbox=BOX)).json()

    row = rows_by_code(body)["GX-MAP-001"]
    assert body["statuses"][row["status"]] in {"closed", "restricted"}


async def test_the_cap_is_announced_and_rows_stay_small(api):
    await seed()
    alice = await api("alice")

    capped = await alice.get("/assets/map.json", limit=2)
    full = await alice.get("/assets/map.json")

    body = capped.json()
    assert body["count"] == 2 and body["truncated"] is True and body["limit"] == 2
    assert full.json()["truncated"] is False
    per_row = len(json.dumps(full.json()["rows"], ensure_ascii=False).encode()) / 3
    assert per_row < 100  # bytes an asset: 1,000 rows (the default cap) stay under 100 kB


@pytest.mark.parametrize(
    "bbox", ["1,2,3", "a,b,c,d", "112.6,26.9,112.5,26.8", "200,0,201,1", "nan,0,1,1"]
)
async def test_a_bad_box_is_a_400_naming_bbox(api, bbox):
    alice = await api("alice")

    response = await alice.get("/assets/map.json", bbox=bbox)

    assert response.status_code == 400
    assert "bbox" in response.text


async def test_a_bad_filter_is_a_400_naming_it(api):
    alice = await api("alice")

    response = await alice.get("/assets/map.json", grade="Z")

    assert response.status_code == 400
    assert "grade" in response.text


async def test_anonymous_readers_get_no_map_data(anon):
    await seed()

    response = await anon.get("/assets/map.json", headers={"accept": "application/json"})
    page = await anon.get("/assets/map")

    assert response.status_code == 401
    assert "GX-MAP" not in response.text
    assert page.status_code in {302, 303} and "/login" in page.headers["location"]


async def test_the_map_page_carries_its_source_filters_and_legend(login):
    ids = await seed()
    alice = await login("alice")

    response = await alice.get(f"/assets/map?site={ids['park']}&urgent=true")

    assert response.status_code == 200
    text = response.text
    assert 'id="staff-map"' in text and 'data-source="/assets/map.json"' in text
    assert "/static/js/staff_map.js" in text and "leaflet.markercluster.js" in text
    assert 'id="urgent" name="urgent" type="checkbox" value="true" checked' in text
    assert f'<option value="{ids["park"]}" selected' in text
    assert 'data-extent="112.' in text  # the park's assets' box, where the map opens
    assert 'href="/assets/map"' in (await alice.get("/assets")).text


# --- tickets and the triage queue on a map ----------------------------------------------------


async def test_the_ticket_map_places_the_lists_tickets_with_its_filters(api, now):
    ids = await seed()
    p0 = await make_ticket(asset_id=ids["bridge"], priority=Priority.P0, title="断索", now=now)
    p2 = await make_ticket(asset_id=ids["pavilion"], priority=Priority.P2, now=now)
    nowhere = await make_ticket(asset_id=ids["unplaced"], priority=Priority.P1, now=now)
    dave = await api("dave")

    every = (await dave.get("/tickets/map.json")).json()
    only_p0 = (await dave.get("/tickets/map.json", priority="P0")).json()

    links = {point[5]: point for point in every["points"]}
    assert set(links) == {f"/tickets/{p0.id}", f"/tickets/{p2.id}"}
    assert f"/tickets/{nowhere.id}" not in links and every["unplaced"] == 1
    first = links[f"/tickets/{p0.id}"]
    assert (first[1], first[0]) == INSIDE[0] and first[2] == "staff-priority-P0"
    assert "断索" in first[3]
    assert [p[5] for p in only_p0["points"]] == [f"/tickets/{p0.id}"]
    page = await dave.client.get("/tickets/map?priority=P0")
    assert page.status_code == 200 and "/tickets/map.json?priority=P0" in page.text


async def test_a_bad_ticket_filter_is_a_400(api):
    alice = await api("alice")

    response = await alice.get("/tickets/map.json", priority="P9")

    assert response.status_code == 400
    assert "priority" in response.text


async def test_the_triage_map_places_reports_at_their_pins(api, now, media_root):
    ids = await seed()
    bridge = await assets.load_asset(SYSTEM, ids["bridge"])
    pinned = await make_report(bridge, now=now, media_root=media_root, lat=26.8952, lng=112.5813)
    unpinned = await make_report(bridge, now=now, media_root=media_root)
    bob = await api("bob")  # an inspector triages

    body = (await bob.get("/triage/map.json")).json()

    points = {point[5]: point for point in body["points"]}
    pinned_id, unpinned_id = pinned.report.id, unpinned.report.id
    assert (points[f"/triage/{pinned_id}"][1], points[f"/triage/{pinned_id}"][0]) == (
        26.8952,
        112.5813,
    )
    assert (points[f"/triage/{unpinned_id}"][1], points[f"/triage/{unpinned_id}"][0]) == INSIDE[0]
    assert points[f"/triage/{pinned_id}"][2] == "staff-report-new"


async def test_the_triage_map_is_for_those_who_triage(api, login):
    carol = await api("carol")  # crew: may not triage

    data = await carol.get("/triage/map.json")
    page = await (await login("carol")).get("/triage/map")

    assert data.status_code == 403
    assert page.status_code == 403
