"""PM compliance and the inspections dashboard's other aggregates (issue 19, item 4).

**PM compliance** is the share of inspections finalised within their window. An inspection's
*deadline* is the end of its window (``window_ends_at``), or its due time when it has no window.
An inspection is *counted* in the month (bureau time zone) its deadline falls in, once that
deadline has passed or it has been finalised, whichever comes first. Each counted inspection is:

- *on time*: final, finalised (``completed_at``) at or before its deadline;
- *late*: final, finalised after its deadline;
- *missed*: not final (planned, in progress or submitted) although its deadline has passed.

Compliance = on time / (on time + late + missed); no counted inspection gives no rate (None),
never 0 %. Every inspection counts, scheduled or raised by hand (the type filter separates
patrols from special inspections). There is no cancelled or skipped state: an occurrence nobody
did stays open and counts as missed once its window closes (that is the point of the measure);
an inspection that is deleted is not counted at all. Finalising a missed one later turns it into
a late one.

The counts come from one GROUP BY query that works on SQLite and PostgreSQL alike: months are
bucketed by comparing the deadline with month boundaries computed here (in the bureau's zone),
not with an engine's date functions. The drill-down list (each number links to its rows) reads
the very same conditions, so a number and its list always agree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from piccolo.columns.combination import WhereRaw

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.assets.choices import Lifecycle
from facilities.assets.tables import Asset, Site
from facilities.inspections.choices import State
from facilities.inspections.tables import Inspection, Team
from facilities.lib import recurrence

#: The deadline of an inspection: its window's end, or its due time without a window.
DEADLINE = "COALESCE(inspection.window_ends_at, inspection.due_at)"
#: Longest period the dashboard aggregates, in months (two years side by side is plenty).
MAX_MONTHS = 24
#: Most rows a list on the dashboard shows (the overdue list, a drill-down, the assets).
LIST_LIMIT = 200
#: "No team" in the team filter (inspections raised without a responsible team).
NO_TEAM = 0


class Outcome(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSED = "missed"
    COUNTED = "counted"  # all three


@dataclasses.dataclass(frozen=True)
class Scope:
    """What the dashboard looks at: months ``first..last`` (first days), and optional filters.
    ``team_id`` NO_TEAM selects the inspections without a team."""

    first: dt.date
    last: dt.date
    site_id: int | None = None
    inspection_type: str | None = None
    team_id: int | None = None

    def months(self) -> list[dt.date]:
        out, month = [], self.first
        while month <= self.last:
            out.append(month)
            month = next_month(month)
        return out


@dataclasses.dataclass(frozen=True)
class Tally:
    on_time: int = 0
    late: int = 0
    missed: int = 0

    @property
    def counted(self) -> int:
        return self.on_time + self.late + self.missed

    @property
    def rate(self) -> float | None:
        """The share on time, 0..1; None when nothing was counted."""
        return self.on_time / self.counted if self.counted else None

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.on_time + other.on_time, self.late + other.late, self.missed + other.missed
        )


@dataclasses.dataclass(frozen=True)
class Compliance:
    overall: Tally
    by_month: dict[dt.date, Tally]
    by_type: dict[str, Tally]
    by_team: dict[int, Tally]  # NO_TEAM: no team
    by_site: dict[int, Tally]
    team_names: dict[int, str]
    sites: dict[int, dict[str, Any]]  # id -> {name_zh, name_en}


def next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def default_scope(now: dt.datetime, zone: ZoneInfo, months: int = 6) -> Scope:
    """The last ``months`` months up to and including the current one."""
    last = now.astimezone(zone).date().replace(day=1)
    first = last
    for _ in range(months - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return Scope(first=first, last=last)


def _start_of(month: dt.date, zone: ZoneInfo) -> dt.datetime:
    return recurrence.localize(dt.datetime.combine(month, dt.time(0, 0)), zone)


def _filters(scope: Scope) -> tuple[list[str], list[Any]]:
    sql: list[str] = []
    args: list[Any] = []
    if scope.site_id is not None:
        sql.append("inspection.asset IN (SELECT asset.id FROM asset WHERE asset.site = {})")
        args.append(scope.site_id)
    if scope.inspection_type is not None:
        sql.append("inspection.inspection_type = {}")
        args.append(scope.inspection_type)
    if scope.team_id == NO_TEAM:
        sql.append("inspection.team IS NULL")
    elif scope.team_id is not None:
        sql.append("inspection.team = {}")
        args.append(scope.team_id)
    return sql, args


def _outcome_sql(outcome: Outcome, now: dt.datetime) -> tuple[str, list[Any]]:
    final = f"inspection.state = '{State.FINAL.value}'"
    if outcome is Outcome.ON_TIME:
        return f"({final} AND inspection.completed_at <= {DEADLINE})", []
    if outcome is Outcome.LATE:
        return (
            f"({final} AND (inspection.completed_at IS NULL "
            f"OR inspection.completed_at > {DEADLINE}))",
            [],
        )
    if outcome is Outcome.MISSED:
        return f"(inspection.state <> '{State.FINAL.value}' AND {DEADLINE} < {{}})", [now]
    return f"({final} OR {DEADLINE} < {{}})", [now]


def _counted(scope: Scope, zone: ZoneInfo, now: dt.datetime) -> tuple[str, list[Any]]:
    """The WHERE clause of the counted inspections in scope (shared by counts and lists)."""
    counted, args = _outcome_sql(Outcome.COUNTED, now)
    sql = [f"{DEADLINE} >= {{}}", f"{DEADLINE} < {{}}", counted]
    args = [_start_of(scope.first, zone), _start_of(next_month(scope.last), zone), *args]
    more_sql, more_args = _filters(scope)
    return " AND ".join(sql + more_sql), args + more_args


async def compliance(actor: Actor, scope: Scope, zone: ZoneInfo, now: dt.datetime) -> Compliance:
    """PM compliance in scope by month, type, team and site (see the module docstring)."""
    require(actor, Perm.INSPECTIONS_VIEW)
    months = scope.months()
    bounds = [_start_of(m, zone) for m in months[1:]]
    bucket = (
        "CASE "
        + " ".join(f"WHEN {DEADLINE} < {{}} THEN {i}" for i in range(len(bounds)))
        + f" ELSE {len(bounds)} END"
        if bounds
        else "0"
    )
    sums, sum_args = [], []
    for outcome in (Outcome.ON_TIME, Outcome.LATE, Outcome.MISSED):
        condition, args = _outcome_sql(outcome, now)
        sums.append(f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS {outcome.value}")
        sum_args += args
    where, where_args = _counted(scope, zone, now)
    # Only constant SQL and {} placeholders are joined here; every value is a parameter.
    select = [
        "SELECT inspection.inspection_type AS inspection_type, inspection.team AS team,",
        f"asset.site AS site, {bucket} AS month_index, {', '.join(sums)}",
        "FROM inspection JOIN asset ON asset.id = inspection.asset",
        f"WHERE {where} GROUP BY 1, 2, 3, 4",
    ]
    rows = await Inspection.raw(
        " ".join(select),
        *bounds,
        *sum_args,
        *where_args,
    )
    overall = Tally()
    by_month = {m: Tally() for m in months}
    by_type: dict[str, Tally] = {}
    by_team: dict[int, Tally] = {}
    by_site: dict[int, Tally] = {}
    for row in rows:
        tally = Tally(int(row["on_time"]), int(row["late"]), int(row["missed"]))
        overall += tally
        month = months[int(row["month_index"])]
        by_month[month] += tally
        by_type[row["inspection_type"]] = by_type.get(row["inspection_type"], Tally()) + tally
        team = row["team"] or NO_TEAM
        by_team[team] = by_team.get(team, Tally()) + tally
        by_site[row["site"]] = by_site.get(row["site"], Tally()) + tally
    return Compliance(
        overall=overall,
        by_month=by_month,
        by_type=dict(sorted(by_type.items())),
        by_team=by_team,
        by_site=by_site,
        team_names=await _team_names(by_team),
        sites=await _sites(by_site),
    )


async def _team_names(ids: Iterable[int]) -> dict[int, str]:
    wanted = [i for i in ids if i != NO_TEAM]
    if not wanted:
        return {}
    rows = await Team.select(Team.id, Team.name).where(Team.id.is_in(wanted))
    return {r["id"]: r["name"] for r in rows}


async def _sites(ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    wanted = list(ids)
    if not wanted:
        return {}
    rows = await Site.select(Site.id, Site.name_zh, Site.name_en).where(Site.id.is_in(wanted))
    return {r["id"]: r for r in rows}


def _listing() -> Any:
    return Inspection.select(
        Inspection.id,
        Inspection.asset,
        Inspection.inspection_type,
        Inspection.state,
        Inspection.due_at,
        Inspection.window_ends_at,
        Inspection.completed_at,
        Inspection.asset.code.as_alias("asset_code"),
        Inspection.asset.name_zh.as_alias("asset_name_zh"),
        Inspection.asset.name_en.as_alias("asset_name_en"),
        Inspection.team.name.as_alias("team_name"),
        Inspection.inspector.display_name.as_alias("inspector_name"),
    )


async def counted_inspections(
    actor: Actor, scope: Scope, outcome: Outcome, zone: ZoneInfo, now: dt.datetime
) -> list[dict[str, Any]]:
    """The inspections behind one number of :func:`compliance` (same conditions), by deadline."""
    require(actor, Perm.INSPECTIONS_VIEW)
    where, args = _counted(scope, zone, now)
    if outcome is not Outcome.COUNTED:
        condition, more = _outcome_sql(outcome, now)
        where, args = f"{where} AND {condition}", args + more
    return await (
        _listing()
        .where(WhereRaw(where, *args))
        .order_by(Inspection.due_at)
        .order_by(Inspection.id)
        .limit(LIST_LIMIT)
    )


def _overdue_where(scope: Scope, now: dt.datetime) -> WhereRaw:
    condition, args = _outcome_sql(Outcome.MISSED, now)
    more_sql, more_args = _filters(scope)
    return WhereRaw(" AND ".join([condition, *more_sql]), *args, *more_args)


async def overdue(actor: Actor, scope: Scope, now: dt.datetime) -> tuple[int, list[dict[str, Any]]]:
    """Open inspections past their deadline now, whatever the period (site, type and team
    filters apply): their number and the most overdue first."""
    require(actor, Perm.INSPECTIONS_VIEW)
    total = await Inspection.count().where(_overdue_where(scope, now))
    rows = await (
        _listing()
        .where(_overdue_where(scope, now))
        .order_by(Inspection.due_at)
        .order_by(Inspection.id)
        .limit(LIST_LIMIT)
    )
    return total, rows


async def grade_distribution(actor: Actor, site_id: int | None) -> dict[str, int]:
    """Assets in the bureau's care (not decommissioned) by current condition grade: "A".."E",
    and "" for the ungraded."""
    require(actor, Perm.INSPECTIONS_VIEW)
    sql = "SELECT condition_grade, COUNT(*) AS n FROM asset WHERE lifecycle <> {}"
    args: list[Any] = [Lifecycle.DECOMMISSIONED.value]
    if site_id is not None:
        sql += " AND site = {}"
        args.append(site_id)
    rows = await Asset.raw(sql + " GROUP BY condition_grade", *args)
    counts = {g: 0 for g in ("A", "B", "C", "D", "E", "")}
    for row in rows:
        counts[row["condition_grade"] or ""] += int(row["n"])
    return counts


async def graded_assets(actor: Actor, site_id: int | None) -> list[dict[str, Any]]:
    """The graded assets (worst grade first) with their BCI history, oldest first, for the
    trend charts; at most LIST_LIMIT assets."""
    require(actor, Perm.INSPECTIONS_VIEW)
    query = Asset.select(
        Asset.id, Asset.code, Asset.name_zh, Asset.name_en, Asset.condition_grade
    ).where((Asset.lifecycle != Lifecycle.DECOMMISSIONED) & Asset.condition_grade.is_not_null())
    if site_id is not None:
        query = query.where(Asset.site == site_id)
    assets = (
        await query.order_by(Asset.condition_grade, ascending=False)
        .order_by(Asset.code)
        .limit(LIST_LIMIT)
    )
    history: dict[int, list[dict[str, Any]]] = {a["id"]: [] for a in assets}
    if history:
        rows = await (
            Inspection.select(
                Inspection.id, Inspection.asset, Inspection.completed_at, Inspection.bci
            )
            .where(
                Inspection.asset.is_in(list(history))
                & (Inspection.state == State.FINAL)
                & Inspection.bci.is_not_null()
                & Inspection.completed_at.is_not_null()
            )
            .order_by(Inspection.completed_at)
        )
        for row in rows:
            history[row["asset"]].append(row)
    for asset in assets:
        asset["history"] = history[asset["id"]]
    return assets
