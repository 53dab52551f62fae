"""What the staff calendar shows: planned tickets, inspections and closures as calendar items,
each read through its own domain's service (so that domain's permission checks apply).

The layers are named here once: the page's checkboxes, the ``?layers=`` parameter and the
legend all read :data:`LAYERS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, can
from facilities.closures import services as closures
from facilities.closures.choices import Status as ClosureStatus
from facilities.errors import ValidationFailed
from facilities.homes.calendar_layout import Item
from facilities.i18n import gettext as _
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType
from facilities.lib import recurrence
from facilities.tickets import services as tickets

TICKETS, INSPECTIONS, CLOSURES = "tickets", "inspections", "closures"
#: Every layer, in the legend's order.
LAYERS = (TICKETS, INSPECTIONS, CLOSURES)
#: The permission that lets someone see a layer: a layer they may not read is left out.
LAYER_PERMS = {
    TICKETS: Perm.TICKETS_VIEW,
    INSPECTIONS: Perm.INSPECTIONS_VIEW,
    CLOSURES: Perm.CLOSURES_VIEW,
}
#: Closures that hold now or are about to: the ones a work plan has to go around.
CLOSURES_SHOWN = (ClosureStatus.PLANNED, ClosureStatus.ACTIVE, ClosureStatus.EXTENDED)


def layer_labels() -> dict[str, str]:
    """Each layer's name in the reader's language (the checkboxes and the legend)."""
    return {TICKETS: _("Tickets"), INSPECTIONS: _("Inspections"), CLOSURES: _("Closures")}


def parse_layers(values: Iterable[str] | None) -> tuple[str, ...]:
    """The layers asked for: ``?layers=tickets,closures`` or the form's repeated checkboxes.
    Absent: every layer; present but empty (every box unticked): none. An unknown name: 400."""
    if values is None:
        return LAYERS
    names = {n.strip() for value in values for n in value.split(",") if n.strip()}
    unknown = names - set(LAYERS)
    if unknown:
        raise ValidationFailed(
            {"layers": _("Choose layers among: tickets, inspections, closures.")}
        )
    return tuple(layer for layer in LAYERS if layer in names)


async def ticket_items(actor: Actor, first: dt.date, last: dt.date) -> list[Item]:
    """Open tickets with planned dates meeting [first, last]; one without an end is one day."""
    items = []
    for row in await tickets.planned_between(actor, first, last):
        start = row["planned_start_on"]
        items.append(
            Item(
                key=f"ticket-{row['id']}",
                layer=TICKETS,
                start=start,
                end=max(row["planned_end_on"] or start, start),
                title=f"{row['asset_code']} {row['title']}",
                url=f"/tickets/{row['id']}",
                extra={"id": row["id"], "version": row["version"], "priority": row["priority"]},
            )
        )
    return items


async def inspection_items(
    actor: Actor, first: dt.date, last: dt.date, zone: ZoneInfo, now: dt.datetime
) -> list[Item]:
    """Inspections due in [first, last] from their due day to the end of their window, and the
    occurrences schedules will raise there (one day, on their due day)."""
    start = recurrence.localize(dt.datetime.combine(first, dt.time(0, 0)), zone)
    end = recurrence.localize(dt.datetime.combine(last + dt.timedelta(days=1), dt.time()), zone)
    items = []
    for entry in await inspections.calendar_entries(actor, start, end, zone, now):
        due = entry.due_at.astimezone(zone).date()
        window = entry.window_ends_at.astimezone(zone).date() if entry.window_ends_at else due
        if entry.inspection_id is not None:
            url = f"/inspections/{entry.inspection_id}"
        else:
            url = f"/inspections/schedules?asset={entry.asset_id}"
        items.append(
            Item(
                key=entry.uid,
                layer=INSPECTIONS,
                start=due,
                end=max(window, due),
                title=f"{entry.asset_code} · {InspectionType(entry.inspection_type).label}",
                url=url,
                extra={
                    "projected": entry.inspection_id is None,
                    "overdue": entry.is_overdue,
                },
            )
        )
    return items


async def closure_items(actor: Actor, first: dt.date, last: dt.date, zone: ZoneInfo) -> list[Item]:
    """Planned and in-force closures meeting [first, last]: from the day they take effect to
    the day before the promised reopening; without a promise they run on past the range."""
    items = []
    for row in await closures.list_closures(actor, statuses=CLOSURES_SHOWN):
        start = row["effective_from"].astimezone(zone).date()
        promised = row["planned_reopen_on"]
        end = promised - dt.timedelta(days=1) if promised else last + dt.timedelta(days=1)
        end = max(end, start)
        if end < first or start > last:
            continue
        items.append(
            Item(
                key=f"closure-{row['id']}",
                layer=CLOSURES,
                start=start,
                end=end,
                title=f"{row['asset_code']} {row['asset_name_zh']}",
                url=f"/closures/{row['id']}",
                extra={"status": row["status"], "open_ended": promised is None},
            )
        )
    return items


async def calendar_items(
    actor: Actor,
    layers: Iterable[str],
    first: dt.date,
    last: dt.date,
    zone: ZoneInfo,
    now: dt.datetime,
) -> list[Item]:
    """The items of the chosen layers the actor may read, meeting [first, last]."""
    chosen = [layer for layer in layers if can(actor, LAYER_PERMS[layer])]
    items: list[Item] = []
    if TICKETS in chosen:
        items += await ticket_items(actor, first, last)
    if INSPECTIONS in chosen:
        items += await inspection_items(actor, first, last, zone, now)
    if CLOSURES in chosen:
        items += await closure_items(actor, first, last, zone)
    return items
