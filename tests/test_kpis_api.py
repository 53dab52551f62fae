"""The dashboards' numbers through the API (/api/v1/kpis/*, issue 19 item 8): the same numbers
as /tickets/dashboard and /inspections/dashboard on the same data, with the same query
parameters, a 400 naming the field for a bad one, and a token's scopes (each KPI belongs to the
domain it counts).

The inspections data set is the dashboard test's own (tests/test_inspections_dashboard.py: its
table of twelve inspections, PM compliance 5 on time, 3 late, 2 missed in Oct-Nov 2026)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from facilities.accounts import services as accounts
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.schemas import TokenCreate
from facilities.inspections.services import compliance as pm
from facilities.tickets import services as tickets
from facilities.tickets.choices import Priority, Status
from tests.kit.assets import make_asset
from tests.kit.constants import ZONE
from tests.kit.tickets import drive_to, make_ticket
from tests.test_inspections_dashboard import data  # noqa: F401  (the known data set)

pytestmark = pytest.mark.usefixtures("seeded_policy")

PERIOD = {"from": "2026-10", "to": "2026-11"}


def tally(body: dict[str, Any]) -> tuple[int, int, int]:
    return body["on_time"], body["late"], body["missed"]


# --- tickets ----------------------------------------------------------------------------------


async def test_ticket_kpis_are_the_dashboards(api, personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    other = await make_asset()
    earlier = now - dt.timedelta(days=20)
    urgent = await make_ticket(alice, asset, earlier, priority=Priority.P0)
    await make_ticket(alice, asset, now, priority=Priority.P2)
    await make_ticket(alice, other, now, priority=Priority.P2)
    fixed = await make_ticket(alice, other, earlier, priority=Priority.P3)
    await drive_to(fixed.id, Status.CLOSED, alice, now - dt.timedelta(days=2))
    dave = await api("dave")  # a viewer reads the dashboards

    response = await dave.get("/api/v1/kpis/tickets")

    assert response.status_code == 200, response.text
    body = response.json()
    page = await tickets.dashboard(personas["dave"], now)
    assert body["open_total"] == page.open_total == 4 - 1
    assert body["overdue"] == page.overdue
    assert body["overdue"] >= 1  # the P0 opened 20 days ago is past its SLA
    assert body["backlog"] == page.backlog
    assert body["backlog"]["P0"] == {urgent.status: 1}
    assert [(w["days"], w["closed"]) for w in body["windows"]] == [
        (d, page.closed_counts[d]) for d in page.mttr_days
    ]
    assert [(w["median_days_to_repair"], w["sla_compliance"]) for w in body["windows"]] == [
        (page.mttr_days[d], page.sla_compliance[d]) for d in page.mttr_days
    ]
    assert [(a["asset_id"], a["open"], a["p0"]) for a in body["per_asset"]] == [
        (asset.id, 2, 1),
        (other.id, 1, 0),
    ]


# --- inspections ------------------------------------------------------------------------------


async def test_inspection_kpis_on_the_known_data_set(api, data, now):  # noqa: F811
    dave = await api("dave")

    response = await dave.get("/api/v1/kpis/inspections", **PERIOD)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["first_month"], body["last_month"]) == ("2026-10", "2026-11")
    assert tally(body["overall"]) == (5, 3, 2) and body["overall"]["rate"] == 0.5
    assert [(m["month"], tally(m)) for m in body["by_month"]] == [
        ("2026-10", (3, 1, 1)),
        ("2026-11", (2, 2, 1)),
    ]
    assert {t["inspection_type"]: tally(t) for t in body["by_type"]} == {
        "patrol": (3, 1, 1),
        "routine_monthly": (2, 2, 1),
    }
    assert {t["team_id"]: (t["name"], tally(t)) for t in body["by_team"]} == {
        data["t1"]: ("一队", (4, 1, 0)),
        data["t2"]: ("二队", (0, 2, 2)),
        pm.NO_TEAM: ("", (1, 0, 0)),
    }
    assert {s["site_id"]: tally(s) for s in body["by_site"]} == {
        data["s1"]: (4, 1, 1),
        data["s2"]: (1, 2, 1),
    }
    ids = data["ids"]
    assert body["overdue_total"] == 3
    assert [r["id"] for r in body["overdue"]] == [ids[11], ids[4], ids[7]]
    assert {g["grade"]: g["assets"] for g in body["grades"]} == {
        "A": 0,
        "B": 1,
        "C": 0,
        "D": 1,
        "E": 0,
        None: 1,
    }
    assert [a["code"] for a in body["graded_assets"]] == ["GX-D-A2", "GX-D-A1"]
    a1 = body["graded_assets"][1]
    assert [(h["inspection_id"], h["bci"]) for h in a1["history"]] == [
        (ids[1], 85.0),
        (ids[6], 72.5),
    ]


async def test_inspection_kpis_take_the_pages_filters(api, data, now):  # noqa: F811
    dave = await api("dave")

    async def overall(**filters: Any) -> tuple[int, int, int]:
        response = await dave.get("/api/v1/kpis/inspections", **PERIOD, **filters)
        assert response.status_code == 200, response.text
        return tally(response.json()["overall"])

    assert await overall(type="patrol") == (3, 1, 1)
    assert await overall(site=data["s2"]) == (1, 2, 1)
    assert await overall(team=0) == (1, 0, 0)
    assert await overall(team=data["t1"]) == (4, 1, 0)
    page = await pm.compliance(
        SYSTEM, pm.Scope(dt.date(2026, 10, 1), dt.date(2026, 10, 1)), ZONE, now
    )
    october = await dave.get("/api/v1/kpis/inspections", **{"from": "2026-10", "to": "2026-10"})
    assert tally(october.json()["overall"]) == (
        page.overall.on_time,
        page.overall.late,
        page.overall.missed,
    )


async def test_default_period_is_the_pages(api, now):
    dave = await api("dave")
    body = (await dave.get("/api/v1/kpis/inspections")).json()
    default = pm.default_scope(now, ZONE)
    assert body["first_month"] == default.first.strftime("%Y-%m")
    assert body["last_month"] == default.last.strftime("%Y-%m")
    assert body["overall"]["rate"] is None and body["overall"]["counted"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13"}, "from"),
        ({"from": "2026-11", "to": "2026-10"}, "to"),
        ({"from": "2020-01", "to": "2026-11"}, "to"),
        ({"type": "picnic"}, "type"),
        ({"site": "abc"}, "site"),
        ({"team": "-1"}, "team"),
    ],
)
async def test_bad_parameters_are_a_400_naming_the_field(api, params, field):
    dave = await api("dave")
    response = await dave.client.get(
        "/api/v1/kpis/inspections",
        params=params,
        headers={**dave.headers, "accept-language": "en"},
    )
    assert response.status_code == 400, response.text
    assert field in {e["key"] for e in response.json()["extra"]}


async def test_each_kpi_needs_the_scope_of_what_it_counts(anon, personas, now):
    wanted = TokenCreate(name="dash", user_id=personas["dave"].id, scopes=["tickets:read"])
    headers = {"authorization": f"Bearer {await accounts.create_api_token(SYSTEM, wanted, now)}"}

    assert (await anon.get("/api/v1/kpis/tickets", headers=headers)).status_code == 200
    refused = await anon.get("/api/v1/kpis/inspections", headers=headers)
    assert refused.status_code == 403 and "inspections:read" in refused.json()["detail"]
    assert (await anon.get("/api/v1/kpis/tickets")).status_code == 401
