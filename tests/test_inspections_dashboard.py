"""The inspections dashboard (issue 19, item 4) on a known data set: PM compliance by month,
type, team and site with exact percentages, the drill-down list behind each number, the overdue
list, the grade distribution and the BCI trends, the filters, and a 400 on bad input.

The data set (NOW is 2026-11-28 10:00 in Shanghai; the period is October and November 2026):

====  =====  =======  =====  =====================================  ===========
 key  asset  type     team   deadline (window end, else due)        outcome
====  =====  =======  =====  =====================================  ===========
  1   A1     patrol   T1     10-07, finalised 10-06                 on time
  2   A1     patrol   T1     10-10 (no window), finalised at it     on time
  3   A2     routine  T2     10-17, finalised 10-20                 late
  4   A2     routine  T2     10-22, still planned                   missed
  5   A2     routine  T1     10-27, finalised 10-26                 on time
  6   A1     patrol   T1     11-06, finalised 11-06                 on time
  7   A1     patrol   T2     11-12, in progress                     missed
  8   A2     routine  T2     11-15 (no window), finalised 11-16     late
  9   A1     routine  none   11-30 (after NOW), finalised 11-25     on time
 10   A2     patrol   T2     12-01, planned (not yet due)           not counted
 11   A1     patrol   T1     09-22, planned (before the period)     not counted
 12   A1     patrol   T1     11-01 00:30 local (10-31 in UTC),      late, in November
                             finalised 11-01 01:00
====  =====  =======  =====  =====================================  ===========
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from facilities.accounts.permissions import SYSTEM
from facilities.assets.choices import Lifecycle
from facilities.inspections.bci_chart import bci_chart
from facilities.inspections.choices import State
from facilities.inspections.services import compliance as pm
from facilities.inspections.tables import Inspection
from tests.kit.assets import make_asset, make_site
from tests.kit.constants import NOW, ZONE
from tests.kit.inspections import make_team

pytestmark = pytest.mark.usefixtures("seeded_policy")

PERIOD = "from=2026-10&to=2026-11"


def local(month: int, day: int, hour: int = 17, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=ZONE)


async def _inspection(
    asset: Any,
    kind: str,
    team: int | None,
    due: dt.datetime,
    window: dt.datetime | None,
    state: State,
    completed: dt.datetime | None = None,
    bci: float | None = None,
) -> int:
    row = Inspection(
        asset=asset.id,
        inspection_type=kind,
        state=state,
        due_at=due,
        window_ends_at=window,
        completed_at=completed,
        team=team,
        bci=bci,
        grade="B" if bci else None,
        answers="{}",
        created_at=due - dt.timedelta(days=7),
        updated_at=NOW,
    )
    await row.save()
    return int(row.id)


@pytest.fixture
async def data(personas: Any) -> dict[str, Any]:
    s1, s2 = await make_site("一号公园"), await make_site("二号公园")
    a1 = await make_asset(s1, code="GX-D-A1", condition_grade="B")
    a2 = await make_asset(s2, code="GX-D-A2", condition_grade="D")
    await make_asset(s1, code="GX-D-A3")  # ungraded
    await make_asset(s2, code="GX-D-A4", condition_grade="B", lifecycle=Lifecycle.DECOMMISSIONED)
    t1, t2 = await make_team("一队"), await make_team("二队")
    p, r, F = "patrol", "routine_monthly", State.FINAL
    ids = {
        1: await _inspection(a1, p, t1, local(10, 5), local(10, 7), F, local(10, 6), bci=85.0),
        2: await _inspection(a1, p, t1, local(10, 10), None, F, local(10, 10)),
        3: await _inspection(a2, r, t2, local(10, 15), local(10, 17), F, local(10, 20)),
        4: await _inspection(a2, r, t2, local(10, 20), local(10, 22), State.PLANNED),
        5: await _inspection(a2, r, t1, local(10, 25), local(10, 27), F, local(10, 26)),
        6: await _inspection(a1, p, t1, local(11, 5), local(11, 6), F, local(11, 6), bci=72.5),
        7: await _inspection(a1, p, t2, local(11, 10), local(11, 12), State.IN_PROGRESS),
        8: await _inspection(a2, r, t2, local(11, 15), None, F, local(11, 16)),
        9: await _inspection(a1, r, None, local(11, 29), local(11, 30), F, local(11, 25)),
        10: await _inspection(a2, p, t2, local(11, 29), local(12, 1), State.PLANNED),
        11: await _inspection(a1, p, t1, local(9, 20), local(9, 22), State.PLANNED),
        12: await _inspection(
            a1, p, t1, local(11, 1, 0, 30), local(11, 1, 0, 30), F, local(11, 1, 1, 0)
        ),
    }
    return {"s1": s1.id, "s2": s2.id, "a1": a1.id, "a2": a2.id, "t1": t1, "t2": t2, "ids": ids}


def scope(**filters: Any) -> pm.Scope:
    return pm.Scope(dt.date(2026, 10, 1), dt.date(2026, 11, 1), **filters)


def t(tally: pm.Tally) -> tuple[int, int, int]:
    return tally.on_time, tally.late, tally.missed


async def test_compliance_by_month_type_team_and_site(data: dict[str, Any]) -> None:
    result = await pm.compliance(SYSTEM, scope(), ZONE, NOW)
    assert t(result.overall) == (5, 3, 2) and result.overall.rate == 0.5
    # 12 is due 00:30 on 1 November in Shanghai (still October in UTC): November's
    assert t(result.by_month[dt.date(2026, 10, 1)]) == (3, 1, 1)
    assert t(result.by_month[dt.date(2026, 11, 1)]) == (2, 2, 1)
    assert result.by_month[dt.date(2026, 11, 1)].rate == 0.4
    assert {k: t(v) for k, v in result.by_type.items()} == {
        "patrol": (3, 1, 1),
        "routine_monthly": (2, 2, 1),
    }
    assert {k: t(v) for k, v in result.by_team.items()} == {
        data["t1"]: (4, 1, 0),
        data["t2"]: (0, 2, 2),
        pm.NO_TEAM: (1, 0, 0),
    }
    assert result.by_team[data["t2"]].rate == 0.0
    assert {k: t(v) for k, v in result.by_site.items()} == {
        data["s1"]: (4, 1, 1),
        data["s2"]: (1, 2, 1),
    }
    assert result.team_names == {data["t1"]: "一队", data["t2"]: "二队"}


async def test_filters_narrow_every_count(data: dict[str, Any]) -> None:
    patrols = await pm.compliance(SYSTEM, scope(inspection_type="patrol"), ZONE, NOW)
    assert t(patrols.overall) == (3, 1, 1)
    assert set(patrols.by_type) == {"patrol"}
    site_two = await pm.compliance(SYSTEM, scope(site_id=data["s2"]), ZONE, NOW)
    assert t(site_two.overall) == (1, 2, 1) and site_two.overall.rate == 0.25
    no_team = await pm.compliance(SYSTEM, scope(team_id=pm.NO_TEAM), ZONE, NOW)
    assert t(no_team.overall) == (1, 0, 0)
    october = pm.Scope(dt.date(2026, 10, 1), dt.date(2026, 10, 1))
    assert t((await pm.compliance(SYSTEM, october, ZONE, NOW)).overall) == (3, 1, 1)


async def test_nothing_counted_gives_no_rate_not_zero(data: dict[str, Any]) -> None:
    empty = pm.Scope(dt.date(2025, 1, 1), dt.date(2025, 3, 1))
    result = await pm.compliance(SYSTEM, empty, ZONE, NOW)
    assert result.overall.counted == 0 and result.overall.rate is None
    assert list(result.by_month) == [dt.date(2025, m, 1) for m in (1, 2, 3)]


async def test_each_number_lists_its_inspections(data: dict[str, Any]) -> None:
    ids = data["ids"]

    async def listed(outcome: pm.Outcome, **filters: Any) -> set[int]:
        rows = await pm.counted_inspections(SYSTEM, scope(**filters), outcome, ZONE, NOW)
        return {r["id"] for r in rows}

    assert await listed(pm.Outcome.LATE) == {ids[3], ids[8], ids[12]}
    assert await listed(pm.Outcome.MISSED, team_id=data["t2"]) == {ids[4], ids[7]}
    assert await listed(pm.Outcome.ON_TIME, team_id=pm.NO_TEAM) == {ids[9]}
    counted = await listed(pm.Outcome.COUNTED)
    assert counted == {ids[k] for k in (1, 2, 3, 4, 5, 6, 7, 8, 9, 12)}  # not 10 nor 11
    november = pm.Scope(dt.date(2026, 11, 1), dt.date(2026, 11, 1))
    rows = await pm.counted_inspections(SYSTEM, november, pm.Outcome.LATE, ZONE, NOW)
    assert {r["id"] for r in rows} == {ids[8], ids[12]}


async def test_overdue_list_is_every_open_inspection_past_its_window(
    data: dict[str, Any],
) -> None:
    ids = data["ids"]
    total, rows = await pm.overdue(SYSTEM, scope(), NOW)
    assert total == 3
    assert [r["id"] for r in rows] == [ids[11], ids[4], ids[7]]  # most overdue first
    total, rows = await pm.overdue(SYSTEM, scope(site_id=data["s2"]), NOW)
    assert (total, [r["id"] for r in rows]) == (1, [ids[4]])


async def test_grade_distribution_and_trends(data: dict[str, Any]) -> None:
    assert await pm.grade_distribution(SYSTEM, None) == {
        "A": 0,
        "B": 1,
        "C": 0,
        "D": 1,
        "E": 0,
        "": 1,
    }  # the decommissioned A4 is not counted
    assert (await pm.grade_distribution(SYSTEM, data["s2"]))["D"] == 1
    assets = await pm.graded_assets(SYSTEM, None)
    assert [a["code"] for a in assets] == ["GX-D-A2", "GX-D-A1"]  # worst first
    a1 = assets[1]
    assert [h["bci"] for h in a1["history"]] == [85.0, 72.5]


async def test_the_page_shows_exact_percentages_and_links(data: dict[str, Any], login: Any) -> None:
    client = await login("dave")  # a viewer may see it
    response = await client.get(f"/inspections/dashboard?{PERIOD}")
    assert response.status_code == 200
    html = response.text

    def row(table: str, key: Any) -> str:
        section = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
        match = re.search(rf'<tr data-key="{key}">(.*?)</tr>', section, re.S)
        assert match, f"no row {key} in {table}"
        return match.group(1)

    assert "50%" in html.split('id="by-month"')[0]  # overall
    assert "60%" in row("by-month", "2026-10") and "40%" in row("by-month", "2026-11")
    assert "60%" in row("by-type", "patrol") and "40%" in row("by-type", "routine_monthly")
    assert "80%" in row("by-team", data["t1"]) and "0%" in row("by-team", data["t2"])
    assert "100%" in row("by-team", pm.NO_TEAM)
    assert "66.7%" in row("by-site", data["s1"]) and "25%" in row("by-site", data["s2"])
    late_link = (
        "/inspections/dashboard/list?from=2026-10&amp;to=2026-11&amp;type=patrol&amp;outcome=late"
    )
    assert late_link in row("by-type", "patrol")
    month_link = "/inspections/dashboard/list?from=2026-11&amp;to=2026-11&amp;outcome=late"
    assert month_link in row("by-month", "2026-11")
    # the overdue list, and the link to the full one
    overdue = html.split('id="overdue"', 1)[1].split("</section>", 1)[0]
    assert [int(i) for i in re.findall(r'data-inspection="(\d+)"', overdue)] == [
        data["ids"][11],
        data["ids"][4],
        data["ids"][7],
    ]
    assert 'href="/inspections?overdue=true"' in overdue
    # grade distribution links to the assets of the grade, each with its BCI trend
    assert '<a href="#grade-B">1</a>' in row("grade-distribution", "B")
    assert 'id="grade-B"' in html and 'id="grade-D"' in html
    trend = html.split(f'data-asset="{data["a1"]}"', 1)[1].split("</tr>", 1)[0]
    assert "<polyline" in trend and trend.count("<circle") == 2


async def test_the_drill_down_page_lists_the_rows_of_a_number(
    data: dict[str, Any], login: Any
) -> None:
    client = await login("dave")
    response = await client.get(f"/inspections/dashboard/list?{PERIOD}&type=patrol&outcome=late")
    assert response.status_code == 200
    assert [int(i) for i in re.findall(r'data-inspection="(\d+)"', response.text)] == [
        data["ids"][12]
    ]
    response = await client.get(f"/inspections/dashboard/list?{PERIOD}&team=0&outcome=on_time")
    assert re.findall(r'data-inspection="(\d+)"', response.text) == [str(data["ids"][9])]


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-13",
        "from=9999-12&to=9999-12",
        "from=2026-11&to=2026-10",
        "from=2020-01&to=2026-11",
        "type=bogus",
        "team=abc",
        "site=-1",
    ],
)
async def test_bad_filters_are_a_400(query: str, login: Any, personas: Any) -> None:
    client = await login("dave")
    assert (await client.get(f"/inspections/dashboard?{query}")).status_code == 400
    assert (await client.get(f"/inspections/dashboard/list?{query}")).status_code == 400


async def test_a_bad_outcome_is_a_400_in_the_readers_language(login: Any) -> None:
    client = await login("dave")
    response = await client.get("/inspections/dashboard/list?outcome=bogus")
    assert response.status_code == 400
    assert "请从列出的选项中选择" in response.text  # Chinese, the default language


def test_the_trend_chart_puts_a_higher_index_higher() -> None:
    stamp = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    history = [
        {"id": 1, "completed_at": stamp, "bci": 95.0},
        {"id": 2, "completed_at": stamp + dt.timedelta(days=90), "bci": 60.0},
        {"id": 3, "completed_at": stamp + dt.timedelta(days=180), "bci": None},  # left out
    ]
    chart = bci_chart(history, ZONE)
    first, last = chart["points"]
    assert first["x"] == chart["left"] and last["x"] == chart["right"]
    assert first["y"] < last["y"]  # SVG y grows downwards
    assert (first["grade"], last["grade"]) == ("A", "D")
    floors = {f["grade"]: f["y"] for f in chart["floors"]}
    assert first["y"] < floors["A"]  # 95 is above the A floor (90)
    assert floors["C"] < last["y"] < floors["D"]  # 60 lies between the C (66) and D (50) floors
