"""Each site's repair budget per calendar year, and how much of it is gone.

A budget is one row per site and year (a unique index), set and changed by supervisors and
administrators (the ticket edit permission) with a version check, every change audited. Beside
it the page shows, for the same site and year, **spent** and **committed** exactly as the
roll-ups count them (:mod:`.costs`: spent = actual cost of tickets finished or closed that year;
committed = the larger of estimate and cost so far of tickets not finished, planned (or, without
a plan, opened) that year), and **remaining** = budget - spent - committed. A site is *over
budget* when remaining is below zero; the page says so in words, with the amount.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.assets.tables import Site
from facilities.audit import services as audit
from facilities.errors import Conflict, NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.records import stale, valid_id, versioned_update
from facilities.tickets.money_schemas import BudgetIn, BudgetOut, CostFilters, Dimension
from facilities.tickets.services import costs, rollups
from facilities.tickets.tables import SiteBudget


def _amount(data: BudgetIn) -> Decimal:
    value = data.amount
    if not (value.is_finite() and 0 <= value <= costs.MAX_MONEY and value == round(value, 2)):
        raise ValidationFailed(
            {"amount": _("Enter an amount from 0 to 9999999999.99 (at most two decimals).")}
        )
    return value.quantize(costs.CENTS)


async def _site(site_id: int) -> dict[str, Any]:
    row = None
    if valid_id(site_id):
        row = await Site.select(Site.id, Site.name_zh).where(Site.id == site_id).first()
    if row is None:
        raise NotFound(_("No such site."))
    return row


async def find_budget(site_id: int, year: int) -> SiteBudget | None:
    return (
        await SiteBudget.objects()
        .where((SiteBudget.site == site_id) & (SiteBudget.year == year))
        .first()
    )


async def set_budget(
    actor: Actor, site_id: int, year: int, data: BudgetIn, now: dt.datetime
) -> SiteBudget:
    """Create the site's budget for ``year`` (no ``version``) or change it (the ``version``
    seen): 409 when someone else saved first, including a second "first" budget."""
    require(actor, Perm.TICKETS_EDIT)
    if not rollups.FIRST_YEAR <= year <= rollups.LAST_YEAR:
        raise ValidationFailed({"year": _("Give a year from 2000 to 2100.")})
    amount = _amount(data)
    note = data.note.strip()
    async with db.transaction():
        await _site(site_id)
        row = await find_budget(site_id, year)
        if row is None:
            if data.version is not None:
                raise stale(_("budget"))
            row = SiteBudget(
                site=site_id,
                year=year,
                amount=amount,
                note=note,
                updated_by=actor.id,
                created_at=now,
                updated_at=now,
                version=1,
            )
            inserted = (
                await SiteBudget.insert(row)
                .on_conflict(action="DO NOTHING")
                .returning(SiteBudget.id)
            )
            if not inserted:  # someone created it since we looked
                raise stale(_("budget"))
            row.id = inserted[0]["id"]
            await audit.record(
                actor,
                "budget.created",
                "budget",
                row.id,
                now,
                after={"site": site_id, "year": year, "amount": str(amount), "note": note},
            )
            return row
        if data.version is None:
            raise stale(_("budget"))
        before = {"amount": str(costs.money(row.amount)), "note": row.note}
        await versioned_update(
            SiteBudget,
            row.id,
            data.version,
            {SiteBudget.amount: amount, SiteBudget.note: note, SiteBudget.updated_by: actor.id},
            now,
            stale(_("budget")),
        )
        await audit.record(
            actor,
            "budget.updated",
            "budget",
            row.id,
            now,
            before,
            {"amount": str(amount), "note": note},
        )
        updated = await find_budget(site_id, year)
        if updated is None:  # pragma: no cover - deleted under us: budgets are never deleted
            raise Conflict(_("The budget is gone. Reload the page."))
        return updated


async def budgets(
    actor: Actor, year: int, zone: ZoneInfo, site_id: int | None = None
) -> list[BudgetOut]:
    """Every site (or one) with its budget for ``year``, spent, committed and remaining."""
    require(actor, Perm.TICKETS_VIEW)
    sites = Site.select(Site.id, Site.name_zh).order_by(Site.name_zh)
    if site_id is not None:
        sites = sites.where(Site.id == site_id)
    rows = {r["site"]: r for r in await SiteBudget.select().where(SiteBudget.year == year)}
    money = await rollups.rollup(actor, Dimension.SITE, [year], CostFilters(site=site_id), zone)
    by_site = {int(r.key): r for r in money.rows if r.key}
    out = []
    for site in await sites:
        budget = rows.get(site["id"])
        cell = by_site.get(site["id"])
        spent = cell.spent.amount if cell else Decimal("0.00")
        committed = cell.committed.amount if cell else Decimal("0.00")
        amount = costs.money(budget["amount"]) if budget else None
        remaining = None if amount is None else amount - spent - committed
        out.append(
            BudgetOut(
                site_id=site["id"],
                site_name=site["name_zh"],
                year=year,
                amount=amount,
                note=budget["note"] if budget else "",
                spent=spent,
                committed=committed,
                remaining=remaining,
                over_budget=remaining is not None and remaining < 0,
                version=budget["version"] if budget else None,
            )
        )
    return out
