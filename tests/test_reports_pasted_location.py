"""A citizen pastes where they are from a map app on the report page (facilities/reports/
pasted.py): the link or numbers are converted to WGS-84 before the nearest facilities are looked
up, because AMap, Tencent and WeChat pins (GCJ-02) and Baidu pins (BD-09) taken as they are would
land hundreds of metres away. The conversions themselves are tested in test_geo.py."""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from shapely.geometry import Point

from facilities.lib import coordsys, geo
from tests.kit.pages import english
from tests.kit.reports import BOARDWALK, make_boardwalk

LAT, LNG = BOARDWALK


@pytest.fixture
def settings(settings, tmp_path):
    return dataclasses.replace(settings, media_dir=str(tmp_path / "media"))


def offered(html: str) -> list[tuple[int, float, float]]:
    """(facility id, lat, lng) of each link in the pasted location's results."""
    results = html[html.index('id="pasted-results"') :]
    results = results[: results.index("</ul>")]
    found = []
    for href in re.findall(r'<a href="([^"]+)">', results):
        query = parse_qs(urlsplit(href.replace("&amp;", "&")).query)
        found.append((int(query["asset"][0]), float(query["lat"][0]), float(query["lng"][0])))
    return found


def metres(lat: float, lng: float) -> float:
    return geo.distance_m(LNG, LAT, Point(lng, lat))


async def test_an_amap_link_is_converted_before_facilities_are_matched(anon):
    boardwalk = await make_boardwalk()
    gcj_lng, gcj_lat = coordsys.wgs84_to_gcj02(LNG, LAT)
    assert metres(gcj_lat, gcj_lng) > 300  # taken as they are, the numbers would be far off

    page = await anon.get(
        "/report", params={"where": f"https://uri.amap.com/marker?position={gcj_lng},{gcj_lat}"}
    )

    assert page.status_code == 200
    ((_name, lat, lng),) = [o for o in offered(page.text) if o[0] == boardwalk.id]
    assert metres(lat, lng) < 1


async def test_a_baidu_link_is_converted_too(anon):
    boardwalk = await make_boardwalk()
    bd_lng, bd_lat = coordsys.wgs84_to_bd09(LNG, LAT)
    link = f"https://api.map.baidu.com/marker?location={bd_lat},{bd_lng}&coord_type=bd09ll"

    page = await anon.get("/report", params={"where": link})

    ((_name, lat, lng),) = [o for o in offered(page.text) if o[0] == boardwalk.id]
    assert metres(lat, lng) < 1


async def test_plain_numbers_need_their_map(anon):
    boardwalk = await make_boardwalk()
    gcj_lng, gcj_lat = coordsys.wgs84_to_gcj02(LNG, LAT)
    numbers = f"{gcj_lat:.7f}, {gcj_lng:.7f}"

    unsure = await english(anon).get("/report", params={"where": numbers})
    assert unsure.status_code == 400
    assert "Say which map these numbers come from" in unsure.text
    assert 'id="pasted-results"' not in unsure.text

    told = await anon.get("/report", params={"where": numbers, "system": "gcj02"})
    assert told.status_code == 200
    ((_name, lat, lng),) = [o for o in offered(told.text) if o[0] == boardwalk.id]
    assert metres(lat, lng) < 1


async def test_what_cannot_be_read_is_answered_in_the_readers_language(anon):
    await make_boardwalk()
    page = await anon.get("/report", params={"where": "平湖公园门口"})
    assert page.status_code == 400
    assert "未找到坐标" in page.text
    assert 'aria-invalid="true"' in page.text


async def test_nowhere_near_a_facility_says_so(anon):
    await make_boardwalk()
    page = await english(anon).get(
        "/report", params={"where": "39.9087, 116.3975", "system": "wgs84"}
    )
    assert page.status_code == 200
    assert offered(page.text) == []
    assert "No facility was found near that location." in page.text
