"""Place as data: reading what people paste, telling them what is wrong, measuring on the ellipsoid,
and converting between WGS-84 and the shifted Chinese map systems.

Reference pairs for the coordinate systems come from two well-known open-source implementations
of the published transform:

- googollee/eviltransform, ``python/test.py`` (TESTS: wgsLat, wgsLng, gcjLat, gcjLng for Shanghai,
  Shenzhen and Beijing; its ``gcj2wgs_exact`` test allows 0.5 m on the way back).
- wandergis/coordtransform, ``test/app.js`` (the documented results for 116.404, 39.915:
  bd09togcj02, gcj02tobd09, wgs84togcj02; its gcj02towgs84 is the one-step shortcut).

The Chinese messages are read from the zh_CN catalog, as users see them.
"""

from __future__ import annotations

import pytest
import shapely
from pyproj import Geod, Transformer
from shapely import wkt
from shapely.geometry import LineString, Point, Polygon, box

from facilities.errors import ValidationFailed
from facilities.i18n import use_locale
from facilities.lib import coordsys, geo

GEOD = Geod(ellps="WGS84")


def _errors(call, *args, **kwargs) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        call(*args, **kwargs)
    return caught.value.errors


# --------------------------------------------------------------------------------------------
# Reading


@pytest.mark.parametrize(
    "text",
    [
        "26.8955,112.5798",
        "26.8955, 112.5798",
        "26.8955 112.5798",
        "26.8955，112.5798",
        "２６.8955，112.5798",
    ],
)
def test_lat_lng_text_is_read_latitude_first(text: str) -> None:
    point = geo.parse_geometry(text, "location")
    assert (point.x, point.y) == (112.5798, 26.8955)


def test_geojson_as_dict_as_text_and_as_a_feature() -> None:
    line = {"type": "LineString", "coordinates": [[112.5798, 26.8955], [112.5804031, 26.8959308]]}
    expected = LineString(line["coordinates"])
    assert geo.parse_geometry(line, "shape").equals(expected)
    assert geo.parse_geometry(
        '{"type": "LineString", "coordinates": [[112.5798, 26.8955], [112.5804031, 26.8959308]]}',
        "shape",
    ).equals(expected)
    feature = {"type": "Feature", "properties": {}, "geometry": line}
    assert geo.parse_geometry(feature, "shape").equals(expected)


def test_wkt_is_read_longitude_first() -> None:
    polygon = geo.parse_geometry(
        "POLYGON ((112.578 26.895, 112.581 26.895, 112.581 26.897, 112.578 26.895))", "shape"
    )
    assert polygon.geom_type == "Polygon"
    assert geo.bbox(polygon) == (112.578, 26.895, 112.581, 26.897)


@pytest.mark.parametrize(
    "value",
    [
        "next to the lake",
        '{"type": "Point"',
        "POLYGON ((0 0, 1 0, 1 1))",
        {"type": "Point", "coordinates": ["a", "b"]},
        {"type": "LineString", "coordinates": [[1, 2]]},
        {"type": "FeatureCollection", "features": []},
        {"coordinates": [1, 2]},
        5,
    ],
)
def test_unreadable_input_names_what_we_can_read(value: object) -> None:
    with use_locale("en"):
        assert _errors(geo.parse_geometry, value, "shape") == {
            "shape": "This is not a location we can read. Enter latitude and longitude "
            '(for example "26.8955, 112.5798"), GeoJSON or WKT.'
        }
    with use_locale("zh_CN"):
        assert _errors(geo.parse_geometry, value, "shape") == {
            "shape": "无法识别该位置。请输入纬度和经度（例如“26.8955, 112.5798”）、GeoJSON 或 WKT。"
        }


def test_blank_input_asks_for_a_location() -> None:
    with use_locale("en"):
        assert _errors(geo.parse_geometry, "  ", "where") == {"where": "Enter a location."}
    with use_locale("zh_CN"):
        assert _errors(geo.parse_geometry, "", "where") == {"where": "请输入位置。"}


def test_a_type_that_is_not_allowed_is_named() -> None:
    with use_locale("en"):
        assert _errors(geo.parse_geometry, "GEOMETRYCOLLECTION (POINT (1 1))", "shape") == {
            "shape": "A GeometryCollection is not accepted here; use one of: Point, MultiPoint, "
            "LineString, "
            "Polygon, MultiLineString, MultiPolygon."
        }
    with use_locale("zh_CN"):
        assert _errors(geo.parse_geometry, "LINESTRING (1 1, 2 2)", "pin", allowed=("Point",)) == {
            "pin": "此处不接受 LineString 类型的图形，请使用以下类型之一：Point。"
        }


def test_multi_lines_and_multi_polygons_are_allowed() -> None:
    lines = geo.parse_geometry("MULTILINESTRING ((1 1, 2 2), (3 3, 4 4))", "shape")
    areas = geo.parse_geometry(
        "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))", "shape"
    )
    assert (lines.geom_type, areas.geom_type) == ("MultiLineString", "MultiPolygon")


# --------------------------------------------------------------------------------------------
# Checking


def test_an_empty_geometry_is_refused() -> None:
    with use_locale("en"):
        assert _errors(geo.parse_geometry, "POINT EMPTY", "pin") == {
            "pin": "The location is empty: draw at least one point."
        }
    with use_locale("zh_CN"):
        assert _errors(geo.parse_geometry, "LINESTRING EMPTY", "pin") == {
            "pin": "位置为空：请至少绘制一个点。"
        }


def test_swapped_coordinates_are_out_of_range_and_the_message_says_so() -> None:
    # Hengyang written latitude first in GeoJSON: "latitude" 112.5798 is impossible.
    swapped = {"type": "Point", "coordinates": [26.8955, 112.5798]}
    with use_locale("en"):
        assert _errors(geo.parse_geometry, swapped, "pin") == {
            "pin": "The point at latitude 112.5798, longitude 26.8955 is out of range: latitude "
            "must be between -90 and 90 and longitude between -180 and 180. "
            "Are latitude and longitude swapped?"
        }
    with use_locale("zh_CN"):
        assert _errors(geo.parse_geometry, "LINESTRING (10 10, 200 10)", "pin") == {
            "pin": "纬度 10、经度 200 处的点超出范围：纬度须在 -90 到 90 之间，"
            "经度须在 -180 到 180 之间。是否把纬度和经度写反了？"
        }


def test_a_coordinate_that_is_not_a_number_is_refused() -> None:
    with use_locale("en"):
        assert _errors(geo.parse_geometry, "POINT (NaN 1)", "pin") == {
            "pin": "A coordinate is missing or not a number."
        }
    with use_locale("zh_CN"):
        assert _errors(geo.check_geometry, Point(float("inf"), 1), "pin") == {
            "pin": "有坐标缺失或不是数字。"
        }


def test_a_self_intersecting_polygon_is_explained_with_its_place() -> None:
    bowtie = (
        "POLYGON ((112.578 26.895, 112.580 26.897, 112.580 26.895, 112.578 26.897, 112.578 26.895))"
    )
    with use_locale("en"):
        assert _errors(geo.parse_geometry, bowtie, "extent") == {
            "extent": "The outline crosses itself. Redraw it so that its edges do not cross. "
            "The problem is near latitude 26.896, longitude 112.579."
        }
    with use_locale("zh_CN"):
        assert _errors(geo.parse_geometry, bowtie, "extent") == {
            "extent": "轮廓线自相交。请重新绘制，使各边互不交叉。"
            " 问题位于纬度 26.896、经度 112.579 附近。"
        }


def test_too_few_points() -> None:
    with use_locale("en"):
        assert _errors(geo.parse_geometry, "LINESTRING (1 1, 1 1)", "line") == {
            "line": "The shape has too few distinct points: a line needs two, an area three. "
            "The problem is near latitude 1, longitude 1."
        }
    with use_locale("zh_CN"):
        assert _errors(geo.parse_geometry, "LINESTRING (1 1, 1 1)", "line") == {
            "line": "图形的不同点太少：线至少需要两个点，面至少需要三个点。"
            " 问题位于纬度 1、经度 1 附近。"
        }


@pytest.mark.parametrize(
    ("shape_wkt", "english", "chinese"),
    [
        (
            "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (20 20, 21 20, 21 21, 20 20))",
            "A hole lies outside the area or inside another hole. "
            "The problem is near latitude 20, longitude 20.",
            "有一个洞位于面之外，或位于另一个洞之内。 问题位于纬度 20、经度 20 附近。",
        ),
        (
            "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (0 5, 5 0, 10 5, 5 10, 0 5))",
            "The holes cut the area in two; draw separate areas instead. "
            "The problem is near latitude 0, longitude 5.",
            "洞把面分割成了几部分；请改为分别绘制几个面。 问题位于纬度 0、经度 5 附近。",
        ),
        (
            "MULTIPOLYGON (((0 0, 10 0, 10 10, 0 10, 0 0)), ((1 1, 2 1, 2 2, 1 2, 1 1)))",
            "Two parts of the area overlap; merge them into one. "
            "The problem is near latitude 1, longitude 1.",
            "面的两个部分相互重叠；请把它们合并为一个。 问题位于纬度 1、经度 1 附近。",
        ),
    ],
)
def test_invalid_areas_are_explained(shape_wkt: str, english: str, chinese: str) -> None:
    with use_locale("en"):
        assert _errors(geo.parse_geometry, shape_wkt, "extent") == {"extent": english}
    with use_locale("zh_CN"):
        assert _errors(geo.parse_geometry, shape_wkt, "extent") == {"extent": chinese}


def test_an_unknown_validity_reason_is_passed_on() -> None:
    with use_locale("en"):
        assert geo._explain_invalid("Repeated Point[1 2]") == (
            "The shape is not valid: Repeated Point[1 2]."
        )
    with use_locale("zh_CN"):
        assert geo._explain_invalid("Something new") == "图形无效：Something new。"


SITE = box(112.578, 26.895, 112.581, 26.897)


def _east_of_site(metres: float) -> tuple[float, float]:
    lng, lat, _back = GEOD.fwd(112.581, 26.896, 90.0, metres)
    return lng, lat


def test_a_line_inside_its_site_or_within_tolerance_passes() -> None:
    geo.check_within(LineString([(112.579, 26.896), (112.580, 26.896)]), SITE, "extent")
    geo.check_within(LineString([(112.580, 26.896), _east_of_site(15.0)]), SITE, "extent")


def test_a_line_leaving_its_site_is_refused_with_the_distance() -> None:
    line = LineString([(112.580, 26.896), _east_of_site(30.0)])
    with use_locale("en"):
        assert _errors(geo.check_within, line, SITE, "extent") == {
            "extent": "The shape reaches 30.0 m outside the site boundary; "
            "at most 20.0 m is allowed."
        }
    far = Point(_east_of_site(1500.0))
    with use_locale("zh_CN"):
        assert _errors(geo.check_within, far, SITE, "extent", tolerance_m=5) == {
            "extent": "图形超出场地边界 1.5 千米；最多允许超出 5.0 米。"
        }


# A footbridge across the west of Pinghu lake, Hengyang: 76.6 m end to end.
FOOTBRIDGE = LineString([(112.5798, 26.8955), (112.5804031, 26.8959308)])


def test_the_footbridge_line_is_76_6_metres() -> None:
    assert geo.length_m(FOOTBRIDGE) == pytest.approx(76.6, abs=0.5)


def test_a_line_of_about_the_stated_length_passes() -> None:
    geo.check_length(FOOTBRIDGE, 76.6, "line")
    geo.check_length(FOOTBRIDGE, 95.0, "line")  # within 25 %
    geo.check_length(LineString([(112.5798, 26.8955), (112.5798, 26.89555)]), 12.0, "line")  # 10 m


def test_a_line_far_from_the_stated_length_is_refused() -> None:
    two_km = LineString([(112.5798, 26.8955), (112.5798, 26.9135)])
    assert geo.length_m(two_km) == pytest.approx(1994, abs=2)
    with use_locale("en"):
        assert _errors(geo.check_length, two_km, 76.6, "line") == {
            "line": "The line is 2.0 km long, but the facility is 76.6 m long."
        }
    with use_locale("zh_CN"):
        assert _errors(geo.check_length, FOOTBRIDGE, 120.0, "line") == {
            "line": "线长 76.6 米，但设施长度为 120.0 米。"
        }
    with pytest.raises(ValidationFailed):
        geo.check_length(FOOTBRIDGE, 60.0, "line")  # 16.6 m off: over both 10 m and 25 %


def test_lengths_in_messages_use_the_locale() -> None:
    with use_locale("en"):
        assert geo.format_length(12345.0) == "12.3 km"
        assert geo.format_length(999.94) == "999.9 m"
    with use_locale("zh_CN"):
        assert geo.format_length(1000.0) == "1.0 千米"


# --------------------------------------------------------------------------------------------
# Measures


def _planar_area(polygon: Polygon) -> float:
    """An independent check: the area in an equal-area projection centred on the polygon."""
    centre = polygon.centroid
    project = Transformer.from_crs(
        "EPSG:4326", f"+proj=laea +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84", always_xy=True
    ).transform
    return shapely.transform(polygon, project, interleaved=False).area


def test_area_is_geodesic_and_ignores_ring_direction_and_subtracts_holes() -> None:
    assert geo.area_m2(SITE) == pytest.approx(_planar_area(SITE), rel=1e-4)
    clockwise = Polygon(list(SITE.exterior.coords)[::-1])
    assert geo.area_m2(clockwise) == pytest.approx(geo.area_m2(SITE), rel=1e-9)
    hole = box(112.579, 26.8955, 112.580, 26.8965)
    with_hole = Polygon(SITE.exterior.coords, [hole.exterior.coords])
    assert geo.area_m2(with_hole) == pytest.approx(geo.area_m2(SITE) - geo.area_m2(hole), rel=1e-9)
    assert geo.area_m2(FOOTBRIDGE) == 0.0


def test_bbox_is_lng_lat_order() -> None:
    assert geo.bbox(FOOTBRIDGE) == (112.5798, 26.8955, 112.5804031, 26.8959308)


def test_distance_from_a_pin_to_the_nearest_facility() -> None:
    path = LineString([(112.5790, 26.8960), (112.5810, 26.8960)])
    expected = GEOD.inv(112.5800, 26.8955, 112.5800, 26.8960)[2]  # straight north to the path
    assert geo.distance_m(112.5800, 26.8955, path) == pytest.approx(expected, abs=0.05)
    assert geo.distance_m(112.5800, 26.8960, SITE) == 0.0


# --------------------------------------------------------------------------------------------
# Coordinate systems

# googollee/eviltransform python/test.py: (wgsLat, wgsLng, gcjLat, gcjLng)
EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


@pytest.mark.parametrize(("wgs_lat", "wgs_lng", "gcj_lat", "gcj_lng"), EVILTRANSFORM)
def test_wgs84_to_gcj02_matches_eviltransform(
    wgs_lat: float, wgs_lng: float, gcj_lat: float, gcj_lng: float
) -> None:
    lng, lat = coordsys.wgs84_to_gcj02(wgs_lng, wgs_lat)
    assert lng == pytest.approx(gcj_lng, abs=1e-6)
    assert lat == pytest.approx(gcj_lat, abs=1e-6)


@pytest.mark.parametrize(("wgs_lat", "wgs_lng", "gcj_lat", "gcj_lng"), EVILTRANSFORM)
def test_gcj02_to_wgs84_matches_eviltransform_within_its_exact_bound(
    wgs_lat: float, wgs_lng: float, gcj_lat: float, gcj_lng: float
) -> None:
    assert _metres(coordsys.gcj02_to_wgs84(gcj_lng, gcj_lat), (wgs_lng, wgs_lat)) < 0.5


def test_coordtransform_documented_results() -> None:
    # wandergis/coordtransform test/app.js, input 116.404, 39.915 (lng, lat)
    assert coordsys.wgs84_to_gcj02(116.404, 39.915) == pytest.approx(
        (116.41024449916938, 39.91640428150164), abs=1e-8
    )
    assert coordsys.gcj02_to_bd09(116.404, 39.915) == pytest.approx(
        (116.41036949371029, 39.92133699351021), abs=1e-8
    )
    # The published BD-09 inverse is approximate; ours is refined, so allow 10 cm.
    assert (
        _metres(coordsys.bd09_to_gcj02(116.404, 39.915), (116.39762729119315, 39.90865673957631))
        < 0.1
    )
    # Its gcj02towgs84 is the one-step shortcut: ours differs, but only by the shortcut's error.
    assert (
        _metres(coordsys.gcj02_to_wgs84(116.404, 39.915), (116.39775550083061, 39.91359571849836))
        < 5
    )


def test_the_shift_in_hengyang_is_hundreds_of_metres() -> None:
    wgs = (112.5798, 26.8955)
    assert 100 < _metres(wgs, coordsys.wgs84_to_gcj02(*wgs)) < 700
    assert 100 < _metres(wgs, coordsys.wgs84_to_bd09(*wgs)) < 1500


@pytest.mark.parametrize(
    "wgs",
    [(112.5798, 26.8955), (121.5272106, 31.1774276), (87.6, 43.8), (126.6, 45.75), (109.5, 18.25)],
)
def test_round_trips_come_back_within_a_metre(wgs: tuple[float, float]) -> None:
    assert _metres(coordsys.gcj02_to_wgs84(*coordsys.wgs84_to_gcj02(*wgs)), wgs) < 0.01
    assert _metres(coordsys.bd09_to_wgs84(*coordsys.wgs84_to_bd09(*wgs)), wgs) < 0.01
    gcj = coordsys.wgs84_to_gcj02(*wgs)
    assert _metres(coordsys.bd09_to_gcj02(*coordsys.gcj02_to_bd09(*gcj)), gcj) < 0.01
    for system in coordsys.CoordSystem:
        assert _metres(coordsys.to_wgs84(*coordsys.from_wgs84(*wgs, system), system), wgs) < 0.01


def test_the_one_step_shortcut_would_be_metres_off_and_iteration_is_not() -> None:
    wgs = (121.5272106, 31.1774276)
    gcj = coordsys.wgs84_to_gcj02(*wgs)
    shift = (gcj[0] - wgs[0], gcj[1] - wgs[1])
    again = coordsys.wgs84_to_gcj02(*gcj)
    shortcut = (gcj[0] - (again[0] - gcj[0]), gcj[1] - (again[1] - gcj[1]))
    assert shift != (0.0, 0.0)
    assert _metres(shortcut, wgs) > 0.5
    assert _metres(coordsys.gcj02_to_wgs84(*gcj), wgs) < 0.001


@pytest.mark.parametrize("point", [(2.3522, 48.8566), (-74.006, 40.7128), (139.69, 35.69)])
def test_points_outside_china_pass_through(point: tuple[float, float]) -> None:
    for convert in (
        coordsys.wgs84_to_gcj02,
        coordsys.gcj02_to_wgs84,
        coordsys.gcj02_to_bd09,
        coordsys.bd09_to_gcj02,
        coordsys.wgs84_to_bd09,
        coordsys.bd09_to_wgs84,
    ):
        assert convert(*point) == point


def test_cgcs2000_is_taken_as_wgs84() -> None:
    assert coordsys.to_wgs84(112.5798, 26.8955, "cgcs2000") == (112.5798, 26.8955)
    assert coordsys.from_wgs84(112.5798, 26.8955, coordsys.CoordSystem.CGCS2000) == (
        112.5798,
        26.8955,
    )


# --------------------------------------------------------------------------------------------
# Locations pasted from maps


def test_an_amap_link_is_lng_lat_in_gcj02() -> None:
    found = coordsys.parse_location("https://uri.amap.com/marker?position=112.5830,26.8961", "pin")
    assert found.source is coordsys.CoordSystem.GCJ02
    assert coordsys.wgs84_to_gcj02(found.lng, found.lat) == pytest.approx(
        (112.5830, 26.8961), abs=1e-9
    )


def test_a_baidu_link_is_lat_lng_in_bd09_unless_it_says_otherwise() -> None:
    found = coordsys.parse_location(
        "https://api.map.baidu.com/marker?location=26.90,112.59&coord_type=bd09ll&title=x", "pin"
    )
    assert found.source is coordsys.CoordSystem.BD09
    assert coordsys.wgs84_to_bd09(found.lng, found.lat) == pytest.approx((112.59, 26.90), abs=1e-9)
    plain = coordsys.parse_location("https://api.map.baidu.com/marker?location=26.90,112.59", "pin")
    assert plain == found
    gcj = coordsys.parse_location(
        "https://api.map.baidu.com/marker?location=26.90,112.59&coord_type=gcj02", "pin"
    )
    assert gcj.source is coordsys.CoordSystem.GCJ02
    wgs = coordsys.parse_location(
        "https://api.map.baidu.com/marker?location=26.90,112.59&coord_type=wgs84", "pin"
    )
    assert (wgs.lng, wgs.lat, wgs.source) == (112.59, 26.90, coordsys.CoordSystem.WGS84)


def test_a_baidu_mercator_link_is_refused() -> None:
    link = "https://api.map.baidu.com/marker?location=3000000,12500000&coord_type=bd09mc"
    with use_locale("en"):
        assert _errors(coordsys.parse_location, link, "pin") == {
            "pin": 'This Baidu link uses the coordinate type "bd09mc", which we cannot read; '
            "use a link with latitude and longitude (bd09ll)."
        }
    with use_locale("zh_CN"):
        assert _errors(coordsys.parse_location, link, "pin") == {
            "pin": "该百度链接使用的坐标类型“bd09mc”无法识别；请使用带经纬度（bd09ll）的链接。"
        }


def test_tencent_links_and_wechat_locations_are_lat_lng_in_gcj02() -> None:
    expected = coordsys.gcj02_to_wgs84(112.5830, 26.8961)
    for text in (
        "https://apis.map.qq.com/uri/v1/marker?marker=coord:26.8961,112.5830;title:桥&referer=x",
        "https://apis.map.qq.com/uri/v1/routeplan?type=walk&tocoord=26.8961,112.5830",
        '{"latitude": 26.8961, "longitude": 112.583, "speed": -1}',
    ):
        found = coordsys.parse_location(text, "pin")
        assert (found.lng, found.lat, found.source) == (*expected, coordsys.CoordSystem.GCJ02)


def test_a_geo_uri_is_wgs84() -> None:
    assert coordsys.parse_location("geo:26.8955,112.5798;u=10", "pin") == (
        112.5798,
        26.8955,
        coordsys.CoordSystem.WGS84,
    )


def test_plain_numbers_need_a_system() -> None:
    found = coordsys.parse_location("26.8961，112.5830", "pin", system="gcj02")
    assert (found.lng, found.lat) == coordsys.gcj02_to_wgs84(112.5830, 26.8961)
    with use_locale("en"):
        assert _errors(coordsys.parse_location, "26.8961, 112.5830", "pin") == {
            "pin": "Say which map these numbers come from: the same numbers are hundreds of "
            "metres apart in WGS-84, AMap (GCJ-02) and Baidu (BD-09)."
        }
    with use_locale("zh_CN"):
        assert _errors(coordsys.parse_location, "26.8961 112.5830", "pin") == {
            "pin": "请说明这些数字来自哪个地图：同样的数字在 WGS-84、高德（GCJ-02）和百度（BD-09）"
            "中相差数百米。"
        }


def test_a_short_link_cannot_be_followed_offline() -> None:
    with use_locale("en"):
        assert _errors(coordsys.parse_location, "https://surl.amap.com/2kX9", "pin") == {
            "pin": "A short link does not contain the coordinates. Open it, then copy the full "
            "link from the address bar or the coordinates shown."
        }
    with use_locale("zh_CN"):
        assert _errors(coordsys.parse_location, "https://surl.amap.com/2kX9", "pin") == {
            "pin": "短链接不包含坐标。请先打开它，再从地址栏复制完整链接或复制显示的坐标。"
        }


@pytest.mark.parametrize(
    "text",
    [
        "https://example.com/?position=112.5830,26.8961",
        "https://uri.amap.com/marker?name=bridge",
        "geo:near the lake",
        '{"lat": 26.9}',
        "the old bridge",
    ],
)
def test_text_without_coordinates_says_what_to_paste(text: str) -> None:
    with use_locale("en"):
        assert _errors(coordsys.parse_location, text, "pin") == {
            "pin": "No coordinates found. Paste a full AMap, Baidu or Tencent map link, or enter "
            'latitude and longitude (for example "26.8955, 112.5798").'
        }
    with use_locale("zh_CN"):
        assert _errors(coordsys.parse_location, text, "pin") == {
            "pin": "未找到坐标。请粘贴完整的高德、百度或腾讯地图链接，"
            "或输入纬度和经度（例如“26.8955, 112.5798”）。"
        }


def test_a_location_link_out_of_range_is_refused_and_blank_asks() -> None:
    with use_locale("en"):
        assert (
            "out of range"
            in _errors(
                coordsys.parse_location,
                "https://uri.amap.com/marker?position=26.8961,112.5830",
                "pin",
            )["pin"]
        )
        assert _errors(coordsys.parse_location, " ", "pin") == {"pin": "Enter a location."}


# --------------------------------------------------------------------------------------------
# Output


def test_geojson_out_is_rounded_to_seven_decimals_as_lists() -> None:
    line = LineString([(112.57980001234, 26.89550004999), (112.5804031, 26.8959308)])
    assert geo.to_geojson(line) == {
        "type": "LineString",
        "coordinates": [[112.5798, 26.8955], [112.5804031, 26.8959308]],
    }
    polygon = geo.to_geojson(SITE)
    assert polygon["type"] == "Polygon"
    assert geo.parse_geometry(polygon, "shape").equals(SITE)


def test_wkt_out_is_rounded_and_reads_back() -> None:
    text = geo.to_wkt(Point(112.579812345678, 26.8955))
    assert text == "POINT (112.5798123 26.8955)"
    assert wkt.loads(geo.to_wkt(FOOTBRIDGE)).equals(FOOTBRIDGE)
