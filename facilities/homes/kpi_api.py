"""The dashboards' numbers as JSON: ``GET /api/v1/kpis/tickets`` (backlog, overdue, time to
repair and SLA compliance: the repair dashboard) and ``GET /api/v1/kpis/inspections`` (PM
compliance by month, type, team and site, the overdue inspections, the grade distribution and
each graded asset's BCI trend: the inspections dashboard), computed by the same services with the
same query parameters as those pages. It reads two domains, so it sits in homes, above both.
A token reads them with ``tickets:read`` and ``inspections:read`` respectively.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import QueryParameter

from facilities.accounts.guards import require_actor
from facilities.homes.kpi_schemas import (
    AssetBacklogOut,
    BciPointOut,
    GradeCountOut,
    GradedAssetOut,
    InspectionKpisOut,
    MonthTallyOut,
    OverdueOut,
    SiteTallyOut,
    TallyOut,
    TeamTallyOut,
    TicketKpisOut,
    TypeTallyOut,
    WindowOut,
)
from facilities.inspections.choices import InspectionType
from facilities.inspections.dashboard_pages import parse_scope
from facilities.inspections.services import compliance as pm
from facilities.tickets import services as tickets
from facilities.web.auth import staff_guard
from facilities.web.errors import api_errors
from facilities.web.params import zone_of

Month = Annotated[str, QueryParameter(max_length=20, pattern=r"^(\d{4}-\d{2})?$")]
Filter = Annotated[str, QueryParameter(max_length=20)]


def _tally(t: pm.Tally) -> dict[str, Any]:
    return {
        "on_time": t.on_time,
        "late": t.late,
        "missed": t.missed,
        "counted": t.counted,
        "rate": round(t.rate, 4) if t.rate is not None else None,
    }


def _type_label(code: str) -> str:
    try:
        return str(InspectionType(code).label)
    except ValueError:
        return code


class KpiApiController(Controller):
    path = "/api/v1/kpis"
    guards = [staff_guard]
    tags = ["kpis"]

    @get("/tickets", responses=api_errors())
    async def ticket_kpis(self, request: Request[Any, Any, Any], now: dt.datetime) -> TicketKpisOut:
        """The repair dashboard: open tickets by priority and status, the overdue count, and
        for the last 30 and 90 days the median days to repair and the share repaired within
        the SLA (tickets closed as fixed)."""
        stats = await tickets.dashboard(require_actor(request), now)
        return TicketKpisOut(
            open_total=stats.open_total,
            overdue=stats.overdue,
            backlog=stats.backlog,
            windows=[
                WindowOut(
                    days=days,
                    median_days_to_repair=stats.mttr_days[days],
                    sla_compliance=stats.sla_compliance[days],
                    closed=stats.closed_counts[days],
                )
                for days in stats.mttr_days
            ],
            per_asset=[
                AssetBacklogOut(
                    asset_id=int(row["id"]),
                    code=row["code"],
                    name_zh=row["name_zh"],
                    name_en=row["name_en"] or "",
                    open=int(row["n"]),
                    p0=int(row["p0"] or 0),
                )
                for row in stats.per_asset
            ],
        )

    @get("/inspections", responses=api_errors())
    async def inspection_kpis(
        self,
        request: Request[Any, Any, Any],
        first: Annotated[Month, QueryParameter(name="from")] = "",
        last: Annotated[Month, QueryParameter(name="to")] = "",
        site: Annotated[Filter, QueryParameter(name="site")] = "",
        kind: Annotated[Filter, QueryParameter(name="type")] = "",
        team: Annotated[Filter, QueryParameter(name="team")] = "",
        *,
        now: dt.datetime,
    ) -> InspectionKpisOut:
        """The inspections dashboard. ``from`` and ``to`` are months (YYYY-MM; default the
        last six, at most 24); ``site`` and ``team`` ids (``team=0``: no team); ``type`` an
        inspection type. 400 naming the field for a value that is not one of these."""
        actor = require_actor(request)
        zone = zone_of(request)
        scope = parse_scope(request, now)  # reads the parameters above, as the page does
        result = await pm.compliance(actor, scope, zone, now)
        overdue_total, overdue_rows = await pm.overdue(actor, scope, now)
        grades = await pm.grade_distribution(actor, scope.site_id)
        graded = await pm.graded_assets(actor, scope.site_id)
        return InspectionKpisOut(
            first_month=scope.first.strftime("%Y-%m"),
            last_month=scope.last.strftime("%Y-%m"),
            site_id=scope.site_id,
            inspection_type=scope.inspection_type,
            team_id=scope.team_id,
            overall=TallyOut(**_tally(result.overall)),
            by_month=[
                MonthTallyOut(month=m.strftime("%Y-%m"), **_tally(t))
                for m, t in result.by_month.items()
            ],
            by_type=[
                TypeTallyOut(inspection_type=k, label=_type_label(k), **_tally(t))
                for k, t in result.by_type.items()
            ],
            by_team=[
                TeamTallyOut(team_id=k, name=result.team_names.get(k, ""), **_tally(t))
                for k, t in sorted(result.by_team.items())
            ],
            by_site=[
                SiteTallyOut(
                    site_id=k,
                    name_zh=result.sites.get(k, {}).get("name_zh") or "",
                    name_en=result.sites.get(k, {}).get("name_en") or "",
                    **_tally(t),
                )
                for k, t in sorted(result.by_site.items())
            ],
            overdue_total=overdue_total,
            overdue=[
                OverdueOut(
                    id=r["id"],
                    asset_id=r["asset"],
                    asset_code=r["asset_code"],
                    asset_name_zh=r["asset_name_zh"],
                    asset_name_en=r["asset_name_en"] or "",
                    inspection_type=r["inspection_type"],
                    state=r["state"],
                    due_at=r["due_at"],
                    window_ends_at=r["window_ends_at"],
                    team_name=r["team_name"],
                    inspector_name=r["inspector_name"],
                )
                for r in overdue_rows
            ],
            grades=[GradeCountOut(grade=g or None, assets=n) for g, n in grades.items()],
            graded_assets=[
                GradedAssetOut(
                    asset_id=a["id"],
                    code=a["code"],
                    name_zh=a["name_zh"],
                    name_en=a["name_en"] or "",
                    condition_grade=a["condition_grade"],
                    history=[
                        BciPointOut(
                            inspection_id=h["id"], completed_at=h["completed_at"], bci=h["bci"]
                        )
                        for h in a["history"]
                    ],
                )
                for a in graded
            ],
        )
