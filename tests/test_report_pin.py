"""The report pin (GET /report/near and the report form): a pin snaps to the nearest facility,
measured to its drawing (a bridge drawn as a line is near anywhere along it, not only at its
middle), names a component drawn within a few metres, answers a closed facility with its
notice, and lists the open reports within 50 m so a citizen can follow one ("this is mine
too") instead of reporting again. Bad numbers get a 400 naming the parameter."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from shapely.geometry import LineString, Point

from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.i18n import use_locale
from facilities.lib import geo
from facilities.reports import services as reports
from facilities.reports.choices import Category, ReportStatus
from facilities.reports.tables import ServiceRequest
from tests.kit.assets import make_asset, make_component, make_site
from tests.kit.pages import english
from tests.kit.reports import make_full_closure, make_report

# A footbridge drawn as a line about 79 m long, west to east, its point at the middle.
WEST, EAST, LAT = 112.5800, 112.5808, 26.8950
MIDDLE = ((WEST + EAST) / 2, LAT)
BRIDGE_LINE = LineString([(WEST, LAT), (EAST, LAT)])
# One ten-thousandth of a degree of latitude is about 11 m.
NORTH_11M = 0.0001


@pytest.fixture
def settings(settings, tmp_path):
    return dataclasses.replace(settings, media_dir=str(tmp_path / "media"))


async def make_bridge(site: Any = None, **fields: Any) -> Any:
    values: dict[str, Any] = {
        "name_zh": "平湖吊桥",
        "name_en": "Pinghu Suspension Bridge",
        "geometry": geo.dump(BRIDGE_LINE),
        "lat": MIDDLE[1],
        "lng": MIDDLE[0],
    }
    values.update(fields)
    return await make_asset(site, **values)


def offset(lng: float, lat: float, east_m: float = 0, north_m: float = 0) -> tuple[float, float]:
    """The point ``east_m`` east and ``north_m`` north of (lng, lat) (geodesic)."""
    lng2, lat2, _ = geo.GEOD.fwd(lng, lat, 90, east_m) if east_m else (lng, lat, 0)
    lng3, lat3, _ = geo.GEOD.fwd(lng2, lat2, 0, north_m) if north_m else (lng2, lat2, 0)
    return lng3, lat3


async def near(client: Any, lng: float, lat: float) -> dict[str, Any]:
    response = await client.get("/report/near", params={"lat": f"{lat:.7f}", "lng": f"{lng:.7f}"})
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_pin_snaps_to_the_nearest_of_two_facilities(anon):
    site = await make_site()
    pin = (112.5900, 26.9000)
    near_one = await make_asset(
        site, name_zh="近处座椅", lng=offset(*pin, east_m=30)[0], lat=pin[1]
    )
    await make_asset(site, name_zh="远处座椅", lng=offset(*pin, east_m=-45)[0], lat=pin[1])

    answer = await near(anon, *pin)

    assert answer["snapped"]["id"] == near_one.id
    assert answer["snapped"]["distance_m"] == 30
    # the pin moves onto the facility (a point: the point itself)
    assert (
        geo.distance_m(
            answer["snapped"]["lng"], answer["snapped"]["lat"], Point(near_one.lng, near_one.lat)
        )
        < 0.5
    )
    # both are offered to choose from, the nearest first
    assert [c["name"] for c in answer["choices"]] == ["近处座椅", "远处座椅"]


async def test_nothing_snaps_beyond_the_radius(anon):
    site = await make_site()
    pin = (112.5900, 26.9000)
    far = await make_asset(site, lng=offset(*pin, east_m=90)[0], lat=pin[1])

    answer = await near(anon, *pin)

    assert answer["snapped"] is None and answer["closure"] is None
    assert [c["id"] for c in answer["choices"]] == [far.id]  # still offered, not chosen


async def test_a_line_facility_is_measured_to_the_line_not_its_middle(anon):
    site = await make_site()
    bridge = await make_bridge(site)
    pin = (WEST + 0.00005, LAT + NORTH_11M)  # over the west end: ~11 m from the line
    assert geo.distance_m(*pin, Point(*MIDDLE)) > 30  # ~35 m from its middle point
    # a bench 25 m from the pin: nearer than the bridge's middle, farther than its line
    bench = await make_asset(
        site, name_zh="长椅", lng=offset(*pin, north_m=25)[0], lat=offset(*pin, north_m=25)[1]
    )

    answer = await near(anon, *pin)

    assert answer["snapped"]["id"] == bridge.id
    assert 10 <= answer["snapped"]["distance_m"] <= 12
    # snapped onto the line itself, straight south of the pin
    assert answer["snapped"]["lat"] == pytest.approx(LAT, abs=1e-6)
    assert answer["snapped"]["lng"] == pytest.approx(pin[0], abs=1e-6)
    assert answer["snapped"]["geometry"]["type"] == "LineString"
    assert [c["id"] for c in answer["choices"]] == [bridge.id, bench.id]


async def test_a_component_drawn_within_15_m_is_named(anon):
    bridge = await make_bridge()
    await make_component(
        bridge, "西桥台", name_en="West abutment", geometry=geo.dump(Point(WEST, LAT))
    )
    await make_component(
        bridge, "东桥台", name_en="East abutment", geometry=geo.dump(Point(EAST, LAT))
    )

    at_west = await near(english(anon), WEST + 0.00003, LAT + 0.00003)
    in_the_middle = await near(anon, *MIDDLE)

    assert at_west["snapped"]["id"] == bridge.id
    assert at_west["component"]["name"] == "West abutment"
    assert at_west["component"]["distance_m"] <= 5
    assert in_the_middle["snapped"]["id"] == bridge.id
    assert in_the_middle["component"] is None  # both abutments are ~40 m away


async def test_a_pin_on_a_closed_facility_is_answered_with_its_notice(anon, now):
    bridge = await make_bridge()
    closure = await make_full_closure(bridge, now)

    chinese = await near(anon, *MIDDLE)
    answer = await near(english(anon), *MIDDLE)

    assert answer["closure"]["id"] == closure.id
    assert answer["closure"]["url"] == f"/notices/{closure.id}"
    assert answer["closure"]["headline"] == "This facility is closed"
    assert answer["closure"]["reason"] == "Rotten deck planks: closed for repair"
    assert answer["closure"]["planned"] is False
    assert chinese["closure"]["headline"] != answer["closure"]["headline"]
    assert chinese["closure"]["reason"] == "桥面木板腐朽，全封闭维修"


async def test_a_closure_planned_soon_is_announced_a_later_one_is_not(app, now):
    bridge = await make_bridge()
    soon = await make_full_closure(bridge, now, starts=dt.timedelta(days=3))

    answer = await reports.answer_pin(LAT, MIDDLE[0], now)
    assert answer.closure is not None and answer.closure.id == soon.id

    later = await reports.answer_pin(LAT, MIDDLE[0], now - dt.timedelta(days=30))
    assert later.closure is None


async def test_open_reports_within_50_m_are_listed_one_at_80_m_is_not(anon, now, media_root):
    bridge = await make_bridge()
    pin = MIDDLE
    at_30 = offset(*pin, north_m=30)
    at_80 = offset(*pin, north_m=80)
    near_report = await make_report(
        bridge, now=now, media_root=media_root, lng=at_30[0], lat=at_30[1]
    )
    await make_report(bridge, now=now, media_root=media_root, lng=at_80[0], lat=at_80[1])
    unpinned = await make_report(bridge, now=now, media_root=media_root)  # at the bridge's point
    closed = await make_report(bridge, now=now, media_root=media_root, lng=pin[0], lat=pin[1])
    await ServiceRequest.update({ServiceRequest.status: ReportStatus.REJECTED}).where(
        ServiceRequest.id == closed.report.id
    )

    answer = await near(english(anon), *pin)

    listed = {r["id"]: r for r in answer["reports"]}
    assert set(listed) == {near_report.report.id, unpinned.report.id}
    item = listed[near_report.report.id]
    assert item["distance_m"] == 30
    assert item["category"] == str(Category.DECK_DAMAGE.label)  # a label, not the code
    assert item["url"] == f"/open311/v2/requests/{near_report.report.id}.json"
    assert f"follow={near_report.report.id}" in item["follow_url"]
    assert f"asset={bridge.id}" in item["follow_url"]
    # public facts only: nothing a reporter typed or left as a contact
    text = str(answer)
    assert "citizen@example.org" not in text and "loose plank" not in text


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"lat": "abc", "lng": "112.58"}, "lat"),
        ({"lng": "112.58"}, "lat"),
        ({"lat": "95", "lng": "112.58"}, "lat"),
        ({"lat": "26.9", "lng": "nan"}, "lng"),
        ({"lat": "26.9", "lng": "181"}, "lng"),
    ],
)
async def test_bad_numbers_get_a_400_naming_the_parameter(anon, params, key):
    chinese = await anon.get("/report/near", params=params)
    in_english = await english(anon).get("/report/near", params=params)

    for response in (chinese, in_english):
        assert response.status_code == 400
        body = response.json()
        assert body["extra"][0]["key"] == key
    assert ("latitude" if key == "lat" else "longitude") in in_english.json()["detail"]
    with use_locale("zh_CN"):  # Chinese by default: the catalog's words, whatever they are
        expected = (
            _("Give the latitude as a number from -90 to 90.")
            if key == "lat"
            else _("Give the longitude as a number from -180 to 180.")
        )
    assert chinese.json()["detail"] == expected


async def test_this_is_mine_too_links_the_new_report_to_the_open_one(
    anon, personas, now, media_root
):
    bridge = await make_bridge()
    first = await make_report(bridge, now=now, media_root=media_root, lng=MIDDLE[0], lat=LAT)

    page = await english(anon).get(
        "/report",
        params={"asset": bridge.id, "follow": first.report.id, "lat": LAT, "lng": MIDDLE[0]},
    )
    assert page.status_code == 200
    assert f"You are following report No. {first.report.id}" in page.text
    assert f'name="same_as" value="{first.report.id}"' in page.text

    second = await make_report(
        bridge, now=now, media_root=media_root, contact_email="neighbour@example.org"
    )
    assert second.report.follow_up_of is None
    joined = await reports.submit_report(
        reports_in(bridge.id),
        [],
        now,
        media_root=media_root,
        max_upload_bytes=1000,
        same_as=first.report.id,
    )
    # "mine too" is its own link: a follow-up (follow_up_of) says a repaired report is still
    # broken, which this is not
    assert joined.report.same_as == first.report.id
    assert joined.report.follow_up_of is None
    assert joined.report.status == ReportStatus.NEW
    alice = personas["alice"]
    original = await reports.get_report(alice, first.report.id, now)
    assert [r.report.id for r in original.same_here] == [joined.report.id]
    assert original.follow_ups == []
    shown = await reports.get_report(alice, joined.report.id, now)
    assert shown.same_as is not None and shown.same_as.report.id == first.report.id


async def test_a_report_that_is_not_open_cannot_be_followed(app, now, media_root):
    bridge = await make_bridge()
    other = await make_bridge(code="GX-QL-OTHER", name_zh="另一座桥")
    done = await make_report(bridge, now=now, media_root=media_root)
    await ServiceRequest.update({ServiceRequest.status: ReportStatus.REJECTED}).where(
        ServiceRequest.id == done.report.id
    )
    elsewhere = await make_report(other, now=now, media_root=media_root)

    for target in (done.report.id, elsewhere.report.id):
        with pytest.raises(ValidationFailed) as caught:
            await reports.submit_report(
                reports_in(bridge.id),
                [],
                now,
                media_root=media_root,
                max_upload_bytes=1000,
                same_as=target,
            )
        assert "same_as" in caught.value.errors


async def test_a_report_form_on_a_closed_facility_is_answered_by_the_closure(anon, now, media_root):
    bridge = await make_bridge()
    closure = await make_full_closure(bridge, now)

    submitted = await make_report(bridge, now=now, media_root=media_root, lng=MIDDLE[0], lat=LAT)

    assert submitted.closure is not None and submitted.closure.id == closure.id
    assert submitted.report.status == ReportStatus.COVERED


async def test_the_form_pages_carry_the_pin_map(anon):
    bridge = await make_bridge()

    chooser = await anon.get("/report")
    form = await anon.get("/report", params={"asset": bridge.id})

    assert 'id="pin-map"' in chooser.text and 'data-mode="choose"' in chooser.text
    assert 'id="pin-asset"' in chooser.text  # the facility field the pin preselects
    assert 'data-mode="place"' in form.text and 'data-lat-input="lat"' in form.text
    assert "/static/js/report_map.js" in form.text
    assert 'data-tiles="none"' in form.text


def reports_in(asset_id: int) -> Any:
    from facilities.reports.schemas import ReportIn

    return ReportIn(asset_id=asset_id, category=Category.DECK_DAMAGE, description="我也看到了")
