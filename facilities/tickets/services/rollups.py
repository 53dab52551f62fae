"""Money on tickets summed up: spent and committed per site, asset, work class, contractor
and year, the tickets behind each number, contractors' on-time rates, and the lines exported.

**Spent** is the actual cost of a ticket whose work finished (``actual_end_at``) or which was
closed without finishing (``closed_at``: rejected, cancelled, a duplicate), counted in the
calendar year, in the bureau's zone, of that moment (the work's end when both exist).

**Committed** is money promised to work not finished yet (neither ``actual_end_at`` nor
``closed_at``): the larger of the ticket's estimate and the actual cost recorded so far (lines
logged while the work goes on), counted in the year of the planned start, or of the ticket's
creation (bureau zone) when no start is planned. A ticket with neither amount commits nothing.
Each ticket is therefore counted at most once, spent or committed, never both.

Each roll-up is one GROUP BY query that reads the same on SQLite and PostgreSQL: years are
bucketed by comparing with year boundaries computed here in the bureau's zone (no engine date
functions), and amounts are summed as whole fen (``CAST(ROUND(x * 100) AS BIGINT)``) because
SQLite keeps NUMERIC as a float (0.1 + 0.2 would not be 0.3). The drill-down list behind every
number reads the very same conditions, so a number and its list always agree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.assets.tables import Asset, Site
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib import recurrence
from facilities.tickets.choices import WorkClass
from facilities.tickets.money_schemas import (
    Cell,
    CostFilters,
    Dimension,
    Measure,
    RollupOut,
    RollupRow,
)
from facilities.tickets.services.costs import CENTS, fen, money, quantity, yuan
from facilities.tickets.tables import Contractor, RepairTicket, TicketCostLine

#: Most years a roll-up puts side by side, and the years the pages offer.
MAX_YEARS = 10
FIRST_YEAR, LAST_YEAR = 2000, 2100
#: Most rows a drill-down list shows.
LIST_LIMIT = 500

#: When a ticket's work finished, or it was closed without finishing.
FINISHED_AT = "COALESCE(repair_ticket.actual_end_at, repair_ticket.closed_at)"
OPEN = "(repair_ticket.actual_end_at IS NULL AND repair_ticket.closed_at IS NULL)"
#: What an unfinished ticket commits: the larger of its estimate and its cost so far.
COMMITTED_VALUE = (
    "(CASE WHEN repair_ticket.cost_estimate IS NULL "
    "OR repair_ticket.cost_actual > repair_ticket.cost_estimate "
    "THEN repair_ticket.cost_actual ELSE repair_ticket.cost_estimate END)"
)


# --- roll-ups ------------------------------------------------------------------------------


def start_of_year(year: int, zone: ZoneInfo) -> dt.datetime:
    return recurrence.localize(dt.datetime(year, 1, 1), zone)


def year_of(moment: dt.datetime, zone: ZoneInfo) -> int:
    return moment.astimezone(zone).year


def check_year(year: int | None, now: dt.datetime, zone: ZoneInfo) -> int:
    """The year asked for, or this year (bureau zone); one outside 2000-2100 is a 400."""
    if year is None:
        return year_of(now, zone)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed({"year": _("Give a year from 2000 to 2100.")})
    return year


@dataclasses.dataclass(frozen=True)
class _Sql:
    text: str
    args: list[Any]


def _bucket(moment: str, years: list[int], zone: ZoneInfo) -> _Sql:
    """``CASE WHEN moment < <start of years[1]> THEN 0 ... ELSE n-1 END``."""
    if len(years) == 1:
        return _Sql("0", [])
    whens = " ".join(f"WHEN {moment} < {{}} THEN {i}" for i in range(len(years) - 1))
    return _Sql(
        f"CASE {whens} ELSE {len(years) - 1} END",
        [start_of_year(y, zone) for y in years[1:]],
    )


def _day_bucket(years: list[int]) -> _Sql:
    if len(years) == 1:
        return _Sql("0", [])
    whens = " ".join(
        f"WHEN repair_ticket.planned_start_on < {{}} THEN {i}" for i in range(len(years) - 1)
    )
    return _Sql(f"CASE {whens} ELSE {len(years) - 1} END", [dt.date(y, 1, 1) for y in years[1:]])


def _spent(years: list[int], zone: ZoneInfo) -> _Sql:
    return _Sql(
        f"(repair_ticket.cost_actual IS NOT NULL AND {FINISHED_AT} >= {{}} "
        f"AND {FINISHED_AT} < {{}})",
        [start_of_year(years[0], zone), start_of_year(years[-1] + 1, zone)],
    )


def _committed(years: list[int], zone: ZoneInfo) -> _Sql:
    return _Sql(
        f"({OPEN} AND {COMMITTED_VALUE} IS NOT NULL AND ("
        "(repair_ticket.planned_start_on IS NOT NULL "
        "AND repair_ticket.planned_start_on >= {} AND repair_ticket.planned_start_on < {}) OR "
        "(repair_ticket.planned_start_on IS NULL "
        "AND repair_ticket.created_at >= {} AND repair_ticket.created_at < {})))",
        [
            dt.date(years[0], 1, 1),
            dt.date(years[-1] + 1, 1, 1),
            start_of_year(years[0], zone),
            start_of_year(years[-1] + 1, zone),
        ],
    )


def _narrowing(filters: CostFilters) -> _Sql:
    sql: list[str] = []
    args: list[Any] = []
    if filters.site is not None:
        sql.append("asset.site = {}")
        args.append(filters.site)
    if filters.asset is not None:
        sql.append("repair_ticket.asset = {}")
        args.append(filters.asset)
    if filters.work_class is not None:
        sql.append("repair_ticket.work_class = {}")
        args.append(filters.work_class.value)
    if filters.contractor is not None:
        sql.append("repair_ticket.contractor_id = {}")
        args.append(filters.contractor)
    return _Sql("".join(f" AND {s}" for s in sql), args)


KEYS = {
    Dimension.SITE: "asset.site",
    Dimension.ASSET: "repair_ticket.asset",
    Dimension.WORK_CLASS: "repair_ticket.work_class",
    Dimension.CONTRACTOR: "repair_ticket.contractor_id",
    Dimension.YEAR: "0",
}


def years_up_to(last: int, count: int) -> list[int]:
    count = max(1, min(count, MAX_YEARS))
    return list(range(max(FIRST_YEAR, last - count + 1), last + 1))


async def rollup(
    actor: Actor,
    dimension: Dimension,
    years: list[int],
    filters: CostFilters,
    zone: ZoneInfo,
) -> RollupOut:
    """Spent and committed per ``dimension`` and year (see the module docstring): one GROUP BY
    query. The rows are ordered by key then year; a key with nothing in a year has no row."""
    require(actor, Perm.TICKETS_VIEW)
    spent, committed = _spent(years, zone), _committed(years, zone)
    spent_year = _bucket(FINISHED_AT, years, zone)
    created_year = _bucket("repair_ticket.created_at", years, zone)
    planned_year = _day_bucket(years)
    narrowing = _narrowing(filters)
    key = KEYS[dimension]
    # Only constant SQL and {} placeholders are joined here; every value is a parameter.
    amount = f"CASE WHEN {spent.text} THEN repair_ticket.cost_actual ELSE {COMMITTED_VALUE} END"
    query = (
        f"SELECT {key} AS key, "  # noqa: S608
        f"CASE WHEN {spent.text} THEN 1 ELSE 0 END AS is_spent, "
        f"CASE WHEN {spent.text} THEN {spent_year.text} "
        f"WHEN repair_ticket.planned_start_on IS NOT NULL THEN {planned_year.text} "
        f"ELSE {created_year.text} END AS year_index, "
        f"SUM({fen(amount)}) AS total, COUNT(*) AS n "
        "FROM repair_ticket JOIN asset ON asset.id = repair_ticket.asset "
        f"WHERE ({spent.text} OR {committed.text}){narrowing.text} "
        "GROUP BY 1, 2, 3"
    )
    args = [
        *spent.args,
        *spent.args,
        *spent_year.args,
        *planned_year.args,
        *created_year.args,
        *spent.args,
        *spent.args,
        *committed.args,
        *narrowing.args,
    ]
    rows = await RepairTicket.raw(query, *args)
    cells: dict[tuple[str, int], RollupRow] = {}
    for row in rows:
        year = years[int(row["year_index"])]
        ident = "" if row["key"] is None else str(row["key"])
        cell = cells.setdefault(
            (ident, year),
            RollupRow(key=ident, label="", year=year, spent=Cell.empty(), committed=Cell.empty()),
        )
        target = cell.spent if int(row["is_spent"]) else cell.committed
        target.amount = (target.amount + yuan(row["total"])).quantize(CENTS)
        target.tickets += int(row["n"])
    labels = await _labels(dimension, {k for k, _y in cells})
    out = []
    for (ident, _year), cell in cells.items():
        cell.label = labels.get(ident, ident)
        out.append(cell)
    out.sort(key=lambda r: (r.label, r.key, r.year))
    return RollupOut(dimension=dimension, years=years, rows=out)


async def _labels(dimension: Dimension, keys: Iterable[str]) -> dict[str, str]:
    ids = [int(k) for k in keys if k.isdecimal()]
    if dimension == Dimension.WORK_CLASS:
        return {k: WorkClass(k).label for k in keys if k in WorkClass.__members__.values()}
    if dimension == Dimension.YEAR:
        return {"0": _("All")}
    if not ids:
        return {"": _("No contractor")} if dimension == Dimension.CONTRACTOR else {}
    if dimension == Dimension.SITE:
        rows = await Site.select(Site.id, Site.name_zh).where(Site.id.is_in(ids))
        return {str(r["id"]): r["name_zh"] for r in rows}
    if dimension == Dimension.ASSET:
        rows = await Asset.select(Asset.id, Asset.code, Asset.name_zh).where(Asset.id.is_in(ids))
        return {str(r["id"]): f"{r['code']} {r['name_zh']}" for r in rows}
    rows = await Contractor.select(Contractor.id, Contractor.name).where(Contractor.id.is_in(ids))
    return {"": _("No contractor")} | {str(r["id"]): r["name"] for r in rows}


async def totals(actor: Actor, year: int, filters: CostFilters, zone: ZoneInfo) -> RollupRow:
    """Spent and committed in one year, over everything ``filters`` selects."""
    out = await rollup(actor, Dimension.YEAR, [year], filters, zone)
    if out.rows:
        return out.rows[0]
    return RollupRow(key="0", label="", year=year, spent=Cell.empty(), committed=Cell.empty())


async def tickets_behind(
    actor: Actor, year: int, filters: CostFilters, zone: ZoneInfo
) -> list[dict[str, Any]]:
    """The tickets a number sums (``filters.measure`` in ``year``), by the same conditions as
    the roll-ups and the contractor's on-time rate; at most :data:`LIST_LIMIT`, newest first."""
    require(actor, Perm.TICKETS_VIEW)
    years = [year]
    measure = filters.measure
    if measure == Measure.SPENT:
        condition = _spent(years, zone)
        amount = "repair_ticket.cost_actual"
    elif measure == Measure.COMMITTED:
        condition = _committed(years, zone)
        amount = COMMITTED_VALUE
    else:
        condition = _completed(years, zone, on_time=measure == Measure.ON_TIME)
        amount = "repair_ticket.cost_actual"
    narrowing = _narrowing(filters)
    rows = await RepairTicket.raw(
        "SELECT repair_ticket.id AS id, repair_ticket.title AS title, "  # noqa: S608
        "repair_ticket.status AS status, repair_ticket.work_class AS work_class, "
        "repair_ticket.sla_due_at AS sla_due_at, repair_ticket.actual_end_at AS actual_end_at, "
        "repair_ticket.closed_at AS closed_at, repair_ticket.planned_start_on AS planned_start_on, "
        f"{fen(amount)} AS amount_fen, asset.code AS asset_code, asset.name_zh AS asset_name "
        "FROM repair_ticket JOIN asset ON asset.id = repair_ticket.asset "
        f"WHERE {condition.text}{narrowing.text} "
        f"ORDER BY repair_ticket.id DESC LIMIT {LIST_LIMIT}",
        *condition.args,
        *narrowing.args,
    )
    for row in rows:
        row["amount"] = None if row["amount_fen"] is None else yuan(row["amount_fen"])
    return list(rows)


# --- on time (the contractor page) --------------------------------------------------------


def _completed(years: list[int], zone: ZoneInfo, *, on_time: bool = False) -> _Sql:
    """Work completed in ``years`` (its end, bureau zone); ``on_time``: by its SLA due time."""
    text = (
        "(repair_ticket.actual_end_at IS NOT NULL AND repair_ticket.actual_end_at >= {} "
        "AND repair_ticket.actual_end_at < {}"
    )
    if on_time:
        text += " AND repair_ticket.actual_end_at <= repair_ticket.sla_due_at"
    return _Sql(text + ")", [start_of_year(years[0], zone), start_of_year(years[-1] + 1, zone)])


@dataclasses.dataclass
class OnTime:
    """Tickets whose work was completed in a year, and how many of them by their SLA due."""

    year: int
    completed: int = 0
    on_time: int = 0
    spent: Decimal = Decimal("0.00")

    @property
    def rate(self) -> float | None:
        """on time / completed; None (not 0 %) when nothing was completed."""
        return self.on_time / self.completed if self.completed else None


async def on_time_by_year(
    actor: Actor, contractor_id: int, years: list[int], zone: ZoneInfo
) -> list[OnTime]:
    """A contractor's on-time rate (completed by the SLA due time / completed) and spent per
    year: one GROUP BY for the rate, the spent roll-up for the money."""
    require(actor, Perm.TICKETS_VIEW)
    completed, on_time = _completed(years, zone), _completed(years, zone, on_time=True)
    bucket = _bucket("repair_ticket.actual_end_at", years, zone)
    rows = await RepairTicket.raw(
        f"SELECT {bucket.text} AS year_index, COUNT(*) AS completed, "  # noqa: S608
        f"SUM(CASE WHEN {on_time.text} THEN 1 ELSE 0 END) AS on_time "
        f"FROM repair_ticket WHERE {completed.text} AND repair_ticket.contractor_id = {{}} "
        "GROUP BY 1",
        *bucket.args,
        *on_time.args,
        *completed.args,
        contractor_id,
    )
    out = {y: OnTime(year=y) for y in years}
    for row in rows:
        entry = out[years[int(row["year_index"])]]
        entry.completed, entry.on_time = int(row["completed"]), int(row["on_time"] or 0)
    money_rows = await rollup(
        actor, Dimension.YEAR, years, CostFilters(contractor=contractor_id), zone
    )
    for cell in money_rows.rows:
        out[cell.year].spent = cell.spent.amount
    return [out[y] for y in years]


async def lines_in(
    actor: Actor, year: int, filters: CostFilters, zone: ZoneInfo
) -> list[dict[str, Any]]:
    """The cost lines entered in ``year`` (bureau zone) on the tickets ``filters`` select, for
    the exports; amounts as exact Decimals."""
    require(actor, Perm.TICKETS_VIEW)
    narrowing = _narrowing(filters)
    rows = await TicketCostLine.raw(
        "SELECT ticket_cost_line.ticket AS ticket, asset.code AS asset_code, "  # noqa: S608
        "ticket_cost_line.kind AS kind, ticket_cost_line.description AS description, "
        "ticket_cost_line.worker AS worker, ticket_cost_line.hours AS hours, "
        "ticket_cost_line.hourly_rate AS hourly_rate, ticket_cost_line.quantity AS quantity, "
        "ticket_cost_line.unit AS unit, ticket_cost_line.unit_price AS unit_price, "
        f"{fen('ticket_cost_line.amount')} AS amount_fen, "
        "ticket_cost_line.created_at AS created_at "
        "FROM ticket_cost_line "
        "JOIN repair_ticket ON repair_ticket.id = ticket_cost_line.ticket "
        "JOIN asset ON asset.id = repair_ticket.asset "
        "WHERE ticket_cost_line.created_at >= {} AND ticket_cost_line.created_at < {}"
        f"{narrowing.text} ORDER BY ticket_cost_line.ticket, ticket_cost_line.id",
        start_of_year(year, zone),
        start_of_year(year + 1, zone),
        *narrowing.args,
    )
    out = []
    for row in rows:
        row["amount"] = yuan(row.pop("amount_fen"))
        for name in ("hours", "hourly_rate", "unit_price"):
            row[name] = money(row[name])
        row["quantity"] = quantity(row["quantity"])
        if isinstance(row["created_at"], str):  # SQLite's raw rows hand back the stored text
            row["created_at"] = dt.datetime.fromisoformat(row["created_at"])
        out.append(row)
    return out
