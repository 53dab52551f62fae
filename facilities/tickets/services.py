"""Ticket services: the only code that writes tickets, comments and attachments.

Every write checks the actor's permission, runs in one transaction with its audit event, and (for
tickets) compares the version the person saw, so a stale save changes nothing and says so.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import statistics
import unicodedata
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from piccolo.columns.combination import WhereRaw

from facilities import db
from facilities.accounts import services as accounts
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.accounts.tables import StaffUser
from facilities.assets.services import contains
from facilities.assets.tables import Asset, Component
from facilities.audit import services as audit
from facilities.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from facilities.i18n import gettext as _
from facilities.lib import media
from facilities.notifications import services as notifications
from facilities.tickets.choices import (
    CLOSING_REASONS_FROM,
    DEFAULT_SLA_HOURS,
    FINAL_STATUSES,
    FIXED_REASONS,
    OPEN_STATUSES,
    TRANSITIONS,
    TRANSITIONS_BY_ACTION,
    Action,
    ClosingReason,
    PhotoTag,
    Priority,
    Status,
)
from facilities.tickets.schemas import CommentIn, TicketFilters, TicketIn, TransitionIn
from facilities.tickets.tables import RepairTicket, SlaPolicy, TicketAttachment, TicketComment

MAX_ID = 2_147_483_647
MAX_MONEY = Decimal("9999999999.99")
EDITABLE = tuple(n for n in TicketIn.__struct_fields__ if n != "version")
FOREIGN_KEYS = {"asset_id": "asset", "component_id": "component", "assignee_id": "assignee"}


def _valid_id(value: int | None) -> bool:
    return value is not None and 0 < value <= MAX_ID


# --- SLA policy ----------------------------------------------------------------------------


async def sla_hours() -> dict[Priority, int]:
    """Hours allowed per priority: the policy table, with the defaults for any missing row."""
    rows = await SlaPolicy.select(SlaPolicy.priority, SlaPolicy.hours)
    hours = dict(DEFAULT_SLA_HOURS)
    hours.update({Priority(r["priority"]): int(r["hours"]) for r in rows})
    return hours


async def set_sla_hours(actor: Actor, priority: Priority, hours: int, now: dt.datetime) -> None:
    """Change the policy for future tickets (open tickets keep the due date they were given)."""
    require(actor, Perm.SLA_EDIT)
    if not 1 <= hours <= 24 * 366:
        raise ValidationFailed({priority.value: _("Enter a number from 1 to 8784.")})
    async with db.transaction():
        before = (await sla_hours())[priority]
        updated = (
            await SlaPolicy.update(
                {
                    SlaPolicy.hours: hours,
                    SlaPolicy.updated_at: now,
                    SlaPolicy.version: SlaPolicy.version + 1,
                }
            )
            .where(SlaPolicy.priority == priority)
            .returning(SlaPolicy.id)
        )
        if not updated:
            await SlaPolicy.insert(SlaPolicy(priority=priority, hours=hours, updated_at=now))
        await audit.record(
            actor,
            "sla.updated",
            "sla_policy",
            list(Priority).index(priority) + 1,
            now,
            {"hours": before},
            {"hours": hours},
        )


async def due_at(priority: Priority, created_at: dt.datetime) -> dt.datetime:
    return created_at + dt.timedelta(hours=(await sla_hours())[priority])


# --- reading -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TicketView:
    """A ticket with the names a page shows and what the actor may do next."""

    ticket: RepairTicket
    asset_code: str
    asset_name_zh: str
    asset_name_en: str
    site_id: int
    assignee_name: str
    actions: tuple[Action, ...]
    is_overdue: bool


def is_overdue(ticket: RepairTicket, now: dt.datetime) -> bool:
    return ticket.status in OPEN_STATUSES and ticket.sla_due_at < now


def allowed_actions(actor: Actor, ticket: RepairTicket) -> tuple[Action, ...]:
    """The transitions this actor may start from the ticket's status (the page's buttons)."""
    return tuple(
        t.action for t in TRANSITIONS if ticket.status in t.sources and actor.role in t.roles
    )


async def _views(actor: Actor, tickets: list[RepairTicket], now: dt.datetime) -> list[TicketView]:
    asset_ids = {t.asset for t in tickets}
    user_ids = {t.assignee for t in tickets if t.assignee}
    assets = {
        r["id"]: r
        for r in await Asset.select(
            Asset.id, Asset.code, Asset.name_zh, Asset.name_en, Asset.site
        ).where(Asset.id.is_in(list(asset_ids) or [0]))
    }
    names = {
        r["id"]: r["display_name"]
        for r in await StaffUser.select(StaffUser.id, StaffUser.display_name).where(
            StaffUser.id.is_in(list(user_ids) or [0])
        )
    }
    return [
        TicketView(
            ticket=t,
            asset_code=assets[t.asset]["code"],
            asset_name_zh=assets[t.asset]["name_zh"],
            asset_name_en=assets[t.asset]["name_en"],
            site_id=assets[t.asset]["site"],
            assignee_name=names.get(t.assignee, "") if t.assignee else "",
            actions=allowed_actions(actor, t),
            is_overdue=is_overdue(t, now),
        )
        for t in tickets
    ]


async def find_ticket(ticket_id: int) -> RepairTicket | None:
    if not _valid_id(ticket_id):
        return None
    return await RepairTicket.objects().where(RepairTicket.id == ticket_id).first()


async def get_ticket(actor: Actor, ticket_id: int, now: dt.datetime) -> TicketView:
    require(actor, Perm.TICKETS_VIEW)
    ticket = await find_ticket(ticket_id)
    if ticket is None:
        raise NotFound(_("No such ticket."))
    return (await _views(actor, [ticket], now))[0]


# Keyset pagination: each sort is a tuple of columns ending with the id, so the order is total and
# "the rows after this one" is one indexed range condition, however deep the page.
SORTS: dict[str, tuple[tuple[Any, bool], ...]] = {
    "-created": ((RepairTicket.created_at, False), (RepairTicket.id, False)),
    "-updated": ((RepairTicket.updated_at, False), (RepairTicket.id, False)),
    "due": ((RepairTicket.sla_due_at, True), (RepairTicket.id, True)),
    "priority": (
        (RepairTicket.priority, True),
        (RepairTicket.sla_due_at, True),
        (RepairTicket.id, True),
    ),
}


def _encode_cursor(ticket: RepairTicket, sort: str) -> str:
    values = []
    for column, _ascending in SORTS[sort]:
        value = getattr(ticket, column._meta.name)
        values.append(value.isoformat() if isinstance(value, dt.datetime) else value)
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> list[Any]:
    """The sort values of the last row seen, checked as strictly as any other input: a cursor
    comes from the URL, so a made-up one must be a 400, never a database error."""
    try:
        raw = json.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)),
            parse_constant=_refuse_constant,
        )
        columns = SORTS[sort]
        if not isinstance(raw, list) or len(raw) != len(columns):
            raise ValueError
        values: list[Any] = []
        for (column, _asc), value in zip(columns, raw, strict=True):
            if isinstance(column, type(RepairTicket.created_at)):
                if not isinstance(value, str):
                    raise ValueError
                instant = dt.datetime.fromisoformat(value)
                if instant.tzinfo is None or instant.utcoffset() is None:
                    raise ValueError
                values.append(instant.astimezone(dt.UTC))
            elif column is RepairTicket.id:
                if type(value) is not int or not _valid_id(value):
                    raise ValueError
                values.append(value)
            else:
                if not isinstance(value, str):
                    raise ValueError
                values.append(value)
        return values
    except (ValueError, TypeError, OverflowError):
        raise ValidationFailed({"after": _("This page link is no longer valid.")}) from None


def _refuse_constant(name: str) -> Any:
    """JSON has no NaN or Infinity; Python's parser would accept them."""
    raise ValueError(name)


def _after(sort: str, values: list[Any]) -> Any:
    """Rows after the cursor, as one row-value comparison ``(a, b, id) > (x, y, z)``: both
    engines answer it with a single range scan of the matching composite index."""
    columns = SORTS[sort]
    names = ", ".join(f"repair_ticket.{column._meta.db_column_name}" for column, _ in columns)
    operator = ">" if columns[0][1] else "<"
    placeholders = ", ".join("{}" for _ in columns)
    return WhereRaw(f"({names}) {operator} ({placeholders})", *values)


def _conditions(filters: TicketFilters, now: dt.datetime) -> list[Any]:
    conditions: list[Any] = []
    if filters.status == "open":
        conditions.append(RepairTicket.status.is_in(sorted(OPEN_STATUSES)))
    elif filters.status == "final":
        conditions.append(RepairTicket.status.is_in(sorted(FINAL_STATUSES)))
    elif filters.status:
        if filters.status not in {s.value for s in Status}:
            raise ValidationFailed({"status": _("Choose one of the listed options.")})
        conditions.append(RepairTicket.status == filters.status)
    if filters.priority:
        conditions.append(RepairTicket.priority == filters.priority)
    if filters.asset:
        conditions.append(RepairTicket.asset == filters.asset)
    if filters.site:
        conditions.append(RepairTicket.asset.site == filters.site)
    if filters.assignee:
        conditions.append(RepairTicket.assignee == filters.assignee)
    if filters.source:
        conditions.append(RepairTicket.source == filters.source)
    if filters.overdue:
        conditions.append(RepairTicket.status.is_in(sorted(OPEN_STATUSES)))
        conditions.append(RepairTicket.sla_due_at < now)
    if filters.q.strip():
        # ``contains`` states the LIKE escape character: SQLite has no default one, so a plain
        # ``ilike`` would treat "50%" or "a_b" as wildcards there.
        term = filters.q.strip()
        conditions.append(
            contains(RepairTicket.title, term) | contains(RepairTicket.description, term)
        )
    return conditions


@dataclasses.dataclass(frozen=True)
class TicketPage:
    items: list[TicketView]
    next_cursor: str | None


def check_filters(filters: TicketFilters, now: dt.datetime) -> None:
    """Raise ValidationFailed for filters that cannot be applied (before a response starts:
    a streamed export cannot turn into a 400 once its first line is sent)."""
    _conditions(filters, now)
    if filters.after:
        _decode_cursor(filters.after, filters.sort)


async def list_tickets(actor: Actor, filters: TicketFilters, now: dt.datetime) -> TicketPage:
    require(actor, Perm.TICKETS_VIEW)
    conditions = _conditions(filters, now)
    if filters.after:
        conditions.append(_after(filters.sort, _decode_cursor(filters.after, filters.sort)))
    query = RepairTicket.objects().where(*conditions)
    for column, ascending in SORTS[filters.sort]:
        query = query.order_by(column, ascending=ascending)
    rows = await query.limit(filters.per_page + 1)
    more = len(rows) > filters.per_page
    rows = rows[: filters.per_page]
    cursor = _encode_cursor(rows[-1], filters.sort) if more and rows else None
    return TicketPage(items=await _views(actor, rows, now), next_cursor=cursor)


async def iter_tickets(
    actor: Actor, filters: TicketFilters, now: dt.datetime, batch: int = 500
) -> AsyncIterator[TicketView]:
    """Every ticket matching ``filters`` from the first (``filters.after`` is ignored), page
    after page, for exports. Call :func:`check_filters` first while the caller can still answer
    with an error."""
    require(actor, Perm.TICKETS_VIEW)
    _conditions(filters, now)
    cursor = ""
    while True:
        page = await list_tickets(
            actor, msgspec.structs.replace(filters, after=cursor, per_page=min(batch, 200)), now
        )
        for item in page.items:
            yield item
        if not page.next_cursor:
            return
        cursor = page.next_cursor


async def tickets_for_asset(
    actor: Actor, asset_id: int, now: dt.datetime, limit: int = 20
) -> list[TicketView]:
    """Open tickets first (most urgent first), then the most recently closed."""
    require(actor, Perm.TICKETS_VIEW)
    open_rows = await (
        RepairTicket.objects()
        .where((RepairTicket.asset == asset_id) & RepairTicket.status.is_in(sorted(OPEN_STATUSES)))
        .order_by(RepairTicket.priority)
        .order_by(RepairTicket.sla_due_at)
        .limit(limit)
    )
    recent = await (
        RepairTicket.objects()
        .where((RepairTicket.asset == asset_id) & RepairTicket.status.not_in(sorted(OPEN_STATUSES)))
        .order_by(RepairTicket.updated_at, ascending=False)
        .limit(5)
    )
    return await _views(actor, [*open_rows, *recent], now)


# --- writing -------------------------------------------------------------------------------


CENTS = Decimal("0.01")


def money(value: Decimal | float | None) -> Decimal | None:
    """An amount with exactly two decimals. SQLite keeps NUMERIC as a float, so 8800.50 reads
    back as 8800.5 there and as 8800.50 on PostgreSQL: every output goes through this."""
    return None if value is None else Decimal(str(value)).quantize(CENTS)


def snapshot(ticket: RepairTicket) -> dict[str, Any]:
    values = {}
    for name in EDITABLE:
        column = FOREIGN_KEYS.get(name, name)
        value = getattr(ticket, column)
        if name in ("cost_estimate", "cost_actual"):
            value = None if value is None else str(money(value))
        values[name] = value
    values["status"] = ticket.status
    return values


async def _check(data: TicketIn, ticket_id: int | None = None) -> None:
    errors: dict[str, str] = {}
    asset = await Asset.select(Asset.id).where(Asset.id == data.asset_id).first()
    if asset is None:
        errors["asset_id"] = _("Choose an existing asset.")
    if data.component_id is not None:
        component = (
            await Component.select(Component.asset).where(Component.id == data.component_id).first()
        )
        if component is None or component["asset"] != data.asset_id:
            errors["component_id"] = _("Choose a component of this asset.")
    if data.assignee_id is not None:
        user = (
            await StaffUser.select(StaffUser.is_active)
            .where(StaffUser.id == data.assignee_id)
            .first()
        )
        if user is None or not user["is_active"]:
            errors["assignee_id"] = _("Choose an active staff member.")
    for field in ("cost_estimate", "cost_actual"):
        value = getattr(data, field)
        if value is not None and not (
            value.is_finite() and 0 <= value <= MAX_MONEY and value == round(value, 2)
        ):
            errors[field] = _("Enter an amount from 0 to 9999999999.99 (at most two decimals).")
    if (
        data.planned_start_on
        and data.planned_end_on
        and data.planned_end_on < data.planned_start_on
    ):
        errors["planned_end_on"] = _("The planned end cannot be before the planned start.")
    if errors:
        raise ValidationFailed(errors)


def _values(data: TicketIn) -> dict[str, Any]:
    values = {k: v for k, v in msgspec.structs.asdict(data).items() if k != "version"}
    for field, column in FOREIGN_KEYS.items():
        values[column] = values.pop(field)
    values["title"] = values["title"].strip()
    return values


async def open_ticket(actor: Actor, data: TicketIn, now: dt.datetime) -> RepairTicket:
    """Create a ticket (status new) with its SLA due date from the policy."""
    require(actor, Perm.TICKETS_CREATE)
    async with db.transaction():
        await _check(data)
        ticket = RepairTicket(
            **_values(data),
            status=Status.NEW,
            sla_due_at=await due_at(data.priority, now),
            created_by=actor.id,
            created_at=now,
            updated_at=now,
        )
        await ticket.save()
        await audit.record(
            actor, "ticket.created", "ticket", ticket.id, now, after=snapshot(ticket)
        )
        if ticket.priority == Priority.P0:
            await _notify_supervisors_of_p0(ticket, now)
        if ticket.assignee:
            await _notify_assignee(ticket, now)
    return ticket


async def update_ticket(
    actor: Actor, ticket_id: int, data: TicketIn, now: dt.datetime
) -> RepairTicket:
    """Save edited fields; a changed priority moves the SLA due date (from the creation time)."""
    require(actor, Perm.TICKETS_EDIT)
    if data.version is None:
        raise ValidationFailed({"version": _("The record version is missing; reload and retry.")})
    async with db.transaction():
        ticket = await find_ticket(ticket_id)
        if ticket is None:
            raise NotFound(_("No such ticket."))
        if ticket.status in FINAL_STATUSES:
            raise InvalidTransition(_("A finished ticket cannot be edited."))
        await _check(data, ticket.id)
        before = snapshot(ticket)
        values = _values(data)
        if data.priority != ticket.priority:
            values["sla_due_at"] = await due_at(data.priority, ticket.created_at)
        changed = (
            await RepairTicket.update(
                {
                    **{getattr(RepairTicket, k): v for k, v in values.items()},
                    RepairTicket.updated_at: now,
                    RepairTicket.version: data.version + 1,
                }
            )
            .where((RepairTicket.id == ticket.id) & (RepairTicket.version == data.version))
            .returning(RepairTicket.id)
        )
        if not changed:
            raise Conflict(
                _(
                    "Someone else changed this ticket while you were editing. "
                    "Your changes were not saved."
                )
            )
        updated = await find_ticket(ticket.id)
        assert updated is not None
        await audit.record(
            actor, "ticket.updated", "ticket", ticket.id, now, before, snapshot(updated)
        )
        if updated.assignee and updated.assignee != ticket.assignee:
            await _notify_assignee(updated, now)
        if updated.priority == Priority.P0 and ticket.priority != Priority.P0:
            await _notify_supervisors_of_p0(updated, now)
    return updated


async def _has_after_photo(ticket_id: int) -> bool:
    return await TicketAttachment.exists().where(
        (TicketAttachment.ticket == ticket_id) & (TicketAttachment.tag == PhotoTag.AFTER)
    )


async def transition(
    actor: Actor, ticket_id: int, data: TransitionIn, now: dt.datetime
) -> RepairTicket:
    """Move a ticket along its lifecycle: 409 when the move does not exist from its status or
    the version is stale, 403 when the actor's role may not make it, 400 when data is missing."""
    require(actor, Perm.TICKETS_VIEW)
    rule = TRANSITIONS_BY_ACTION[data.action]
    async with db.transaction():
        ticket = await find_ticket(ticket_id)
        if ticket is None:
            raise NotFound(_("No such ticket."))
        if ticket.version != data.version:
            raise Conflict(_("Someone else changed this ticket first. Reload it and try again."))
        if ticket.status not in rule.sources:
            raise InvalidTransition(
                _("“%(action)s” is not possible while the ticket is “%(status)s”.")
                % {"action": data.action.label, "status": Status(ticket.status).label}
            )
        if actor.role not in rule.roles:
            raise PermissionDenied(_("Your role may not do this."))
        values = await _transition_values(ticket, rule.target, data, now)
        before = {
            "status": ticket.status,
            "closing_reason": ticket.closing_reason,
            "duplicate_of": ticket.duplicate_of,
        }
        changed = (
            await RepairTicket.update(
                {
                    **{getattr(RepairTicket, k): v for k, v in values.items()},
                    RepairTicket.updated_at: now,
                    RepairTicket.version: ticket.version + 1,
                }
            )
            .where((RepairTicket.id == ticket.id) & (RepairTicket.version == ticket.version))
            .returning(RepairTicket.id)
        )
        if not changed:
            raise Conflict(_("Someone else changed this ticket first. Reload it and try again."))
        updated = await find_ticket(ticket.id)
        assert updated is not None
        after = {
            "status": updated.status,
            "closing_reason": updated.closing_reason,
            "duplicate_of": updated.duplicate_of,
        }
        if data.note.strip():
            after["note"] = data.note.strip()
        await audit.record(
            actor, f"ticket.{data.action.value}", "ticket", ticket.id, now, before, after
        )
    return updated


async def _transition_values(
    ticket: RepairTicket, target: Status | None, data: TransitionIn, now: dt.datetime
) -> dict[str, Any]:
    note = data.note.strip()
    action = data.action
    values: dict[str, Any] = {"status": target or ticket.held_from}
    if action in {Action.REWORK, Action.HOLD, Action.REJECT, Action.CANCEL} and not note:
        raise ValidationFailed({"note": _("Say why.")})
    if action == Action.SCHEDULE:
        start = data.planned_start_on or ticket.planned_start_on
        if start is None:
            raise ValidationFailed({"planned_start_on": _("Give the planned start date.")})
        values["planned_start_on"] = start
    elif action == Action.START:
        values["actual_start_at"] = ticket.actual_start_at or now
    elif action == Action.COMPLETE:
        if not note and not await _has_after_photo(ticket.id):
            raise ValidationFailed(
                {"note": _("Add an “after” photo, or say in a note why there is none.")}
            )
        values["actual_end_at"] = now
    elif action == Action.REWORK:
        values["actual_end_at"] = None  # the work is not finished after all
    elif action == Action.HOLD:
        values["held_from"] = ticket.status
    if ticket.status == Status.ON_HOLD:
        values["held_from"] = None  # resumed or cancelled: no longer held from anywhere
    elif action == Action.CLOSE:
        allowed = CLOSING_REASONS_FROM[Status(ticket.status)]
        if data.closing_reason not in allowed:
            raise ValidationFailed({"closing_reason": _("Choose why the ticket is closed.")})
        values["closing_reason"] = data.closing_reason
    elif action == Action.MARK_DUPLICATE:
        original = await find_ticket(data.duplicate_of or 0)
        if original is None or original.id == ticket.id or original.status == Status.DUPLICATE:
            raise ValidationFailed(
                {
                    "duplicate_of": _(
                        "Give the number of the original ticket "
                        "(not this one, not another duplicate)."
                    )
                }
            )
        values["duplicate_of"] = original.id
        values["closing_reason"] = ClosingReason.DUPLICATE
    if note:
        values["status_note"] = note
    if values["status"] in FINAL_STATUSES:
        values["closed_at"] = now
    return values


# --- comments and attachments --------------------------------------------------------------


async def add_comment(actor: Actor, ticket_id: int, data: CommentIn, now: dt.datetime) -> int:
    require(actor, Perm.TICKETS_WORK)
    async with db.transaction():
        ticket = await find_ticket(ticket_id)
        if ticket is None:
            raise NotFound(_("No such ticket."))
        rows = await TicketComment.insert(
            TicketComment(
                ticket=ticket.id,
                author=actor.id,
                body=data.body.strip(),
                is_public=data.is_public,
                created_at=now,
            )
        ).returning(TicketComment.id)
        comment_id = int(rows[0]["id"])
        await audit.record(
            actor,
            "ticket.commented",
            "ticket",
            ticket.id,
            now,
            after={"comment": comment_id, "public": data.is_public},
        )
        await RepairTicket.update({RepairTicket.updated_at: now}).where(
            RepairTicket.id == ticket.id
        )
        if data.is_public and ticket.reporter_email:
            await notifications.enqueue(
                to=ticket.reporter_email,
                template="ticket_public_comment",
                context={"ticket_id": ticket.id, "title": ticket.title, "body": data.body.strip()},
                language="zh_CN",
                dedupe_key=f"ticket_comment:{comment_id}",
                now=now,
            )
    return comment_id


async def list_comments(actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
    require(actor, Perm.TICKETS_VIEW)
    return (
        await TicketComment.select(
            TicketComment.id,
            TicketComment.body,
            TicketComment.is_public,
            TicketComment.created_at,
            TicketComment.author.display_name.as_alias("author"),
        )
        .where(TicketComment.ticket == ticket_id)
        .order_by(TicketComment.created_at)
        .order_by(TicketComment.id)  # a total order: comments made at the same instant
    )


async def add_attachment(
    actor: Actor,
    ticket_id: int,
    data: bytes,
    filename: str,
    tag: PhotoTag,
    caption: str,
    media_root: Path,
    max_bytes: int,
    now: dt.datetime,
) -> TicketAttachment:
    """Check, clean and store a photo or PDF, then record it; the file is removed again if the
    database write fails, so there is never a file without its row."""
    require(actor, Perm.TICKETS_WORK)
    ticket = await find_ticket(ticket_id)
    if ticket is None:
        raise NotFound(_("No such ticket."))
    stored = media.store_checked(data, media_root, f"tickets/{ticket.id}", max_bytes)
    try:
        async with db.transaction():
            row = TicketAttachment(
                ticket=ticket.id,
                uploaded_by=actor.id,
                tag=tag,
                filename=display_name(filename, stored.storage_key),
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                storage_key=stored.storage_key,
                thumbnail_key=stored.thumbnail_key,
                caption=caption.strip()[:300],
                created_at=now,
            )
            await row.save()
            await audit.record(
                actor,
                "ticket.attached",
                "ticket",
                ticket.id,
                now,
                after={"file": row.filename, "tag": tag.value},
            )
    except BaseException:
        media.remove(media_root, stored.storage_key, stored.thumbnail_key)
        raise
    return row


def display_name(filename: str, storage_key: str) -> str:
    """The name shown and offered on download: the sender's name without any folder, with the
    extension of what the file really is (a PNG sent as "photo.pdf" is "photo.png")."""
    # Control and format characters go: a right-to-left override ("invoice\u202egpj.png")
    # would show the name reversed ("invoicepng.jpg"), a line break would break a header.
    visible = "".join(c for c in filename if unicodedata.category(c) not in {"Cc", "Cf"})
    stem = Path(visible.replace("\\", "/")).stem.strip().strip(".") or "upload"
    extension = Path(storage_key).suffix
    return stem[: 200 - len(extension)] + extension


async def list_attachments(actor: Actor, ticket_id: int) -> list[TicketAttachment]:
    require(actor, Perm.TICKETS_VIEW)
    return (
        await TicketAttachment.objects()
        .where(TicketAttachment.ticket == ticket_id)
        .order_by(TicketAttachment.created_at)
        .order_by(TicketAttachment.id)
    )


async def get_attachment(actor: Actor, attachment_id: int) -> TicketAttachment:
    """An attachment the actor may see (staff only; media are never public by URL alone)."""
    require(actor, Perm.TICKETS_VIEW)
    row = None
    if _valid_id(attachment_id):
        row = await TicketAttachment.objects().where(TicketAttachment.id == attachment_id).first()
    if row is None:
        raise NotFound(_("No such file."))
    return row


# --- timeline ------------------------------------------------------------------------------


async def timeline(actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
    """Everything that happened to the ticket, oldest first: audit events with the comments'
    text attached (internal comments are staff-only, like this whole page)."""
    require(actor, Perm.TICKETS_VIEW)
    events = list(reversed(await audit.list_events("ticket", ticket_id, limit=500)))
    comments = {c["id"]: c for c in await list_comments(actor, ticket_id)}
    for event in events:
        comment_id = event["changes"].get("comment", [None, None])[1]
        event["comment"] = comments.get(comment_id)
    return events


# --- notifications and escalation ----------------------------------------------------------


async def _notify_supervisors_of_p0(ticket: RepairTicket, now: dt.datetime) -> None:
    for email, language in await accounts.supervisor_addresses():
        await notifications.enqueue(
            to=email,
            template="ticket_p0",
            language=language,
            now=now,
            context={"ticket_id": ticket.id, "title": ticket.title, "due": ticket.sla_due_at},
            dedupe_key=f"ticket_p0:{ticket.id}:{email}",
        )


async def _notify_assignee(ticket: RepairTicket, now: dt.datetime) -> None:
    user = (
        await StaffUser.select(StaffUser.email, StaffUser.language)
        .where(StaffUser.id == ticket.assignee)
        .first()
    )
    if user and user["email"]:
        await notifications.enqueue(
            to=user["email"],
            template="ticket_assigned",
            language=user["language"],
            now=now,
            context={
                "ticket_id": ticket.id,
                "title": ticket.title,
                "due": ticket.sla_due_at,
                "priority": ticket.priority,
            },
            dedupe_key=f"ticket_assigned:{ticket.id}:{ticket.assignee}:{ticket.version}",
        )


async def escalate_sla_breaches(now: dt.datetime, limit: int = 200) -> int:
    """Tell the supervisors once per breach: a ticket past its due date and still open.

    The claim is a conditional update of ``sla_escalated_for`` to the due date it breached, so a
    second run (or a second scheduler) finds nothing to claim; a new due date (priority changed)
    is a new breach. Claim and messages commit together.
    """
    candidates = await (
        RepairTicket.select(RepairTicket.id, RepairTicket.sla_due_at)
        .where(
            RepairTicket.status.is_in(sorted(OPEN_STATUSES))
            & (RepairTicket.sla_due_at < now)
            & (
                RepairTicket.sla_escalated_for.is_null()
                | (RepairTicket.sla_escalated_for != RepairTicket.sla_due_at)
            )
        )
        .order_by(RepairTicket.sla_due_at)
        .limit(limit)
    )
    escalated = 0
    recipients = await accounts.supervisor_addresses()
    for row in candidates:
        async with db.transaction():
            claimed = (
                await RepairTicket.update({RepairTicket.sla_escalated_for: row["sla_due_at"]})
                .where(
                    (RepairTicket.id == row["id"])
                    & (
                        RepairTicket.sla_escalated_for.is_null()
                        | (RepairTicket.sla_escalated_for != row["sla_due_at"])
                    )
                )
                .returning(RepairTicket.title, RepairTicket.priority)
            )
            if not claimed:
                continue
            for email, language in recipients:
                await notifications.enqueue(
                    to=email,
                    template="ticket_sla_breach",
                    language=language,
                    now=now,
                    context={
                        "ticket_id": row["id"],
                        "title": claimed[0]["title"],
                        "due": row["sla_due_at"],
                        "priority": claimed[0]["priority"],
                    },
                    dedupe_key=f"sla_breach:{row['id']}:{row['sla_due_at'].isoformat()}:{email}",
                )
            escalated += 1
    return escalated


# --- dashboard -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Dashboard:
    backlog: dict[str, dict[str, int]]  # priority -> status -> count
    open_total: int
    overdue: int
    mttr_days: dict[int, float | None]  # window days -> median days to repair
    sla_compliance: dict[int, float | None]  # window days -> share closed on time
    closed_counts: dict[int, int]
    per_asset: list[dict[str, Any]]


def median_days(durations: Iterable[dt.timedelta]) -> float | None:
    values = [d.total_seconds() / 86400 for d in durations]
    return round(statistics.median(values), 1) if values else None


async def dashboard(
    actor: Actor, now: dt.datetime, windows: tuple[int, ...] = (30, 90)
) -> Dashboard:
    require(actor, Perm.TICKETS_VIEW)
    open_list = sorted(OPEN_STATUSES)
    rows = await RepairTicket.raw(
        "SELECT priority, status, COUNT(*) AS n FROM repair_ticket "
        "WHERE status IN ({}, {}, {}, {}, {}, {}) GROUP BY priority, status",
        *open_list,
    )
    backlog: dict[str, dict[str, int]] = {p.value: {} for p in Priority}
    for r in rows:
        backlog[r["priority"]][r["status"]] = int(r["n"])
    overdue = await RepairTicket.count().where(
        RepairTicket.status.is_in(open_list) & (RepairTicket.sla_due_at < now)
    )
    mttr: dict[int, float | None] = {}
    compliance: dict[int, float | None] = {}
    closed_counts: dict[int, int] = {}
    for days in windows:
        closed = await RepairTicket.select(
            RepairTicket.created_at,
            RepairTicket.closed_at,
            RepairTicket.sla_due_at,
            RepairTicket.closing_reason,
        ).where(
            (RepairTicket.status == Status.CLOSED)
            & (RepairTicket.closed_at >= now - dt.timedelta(days=days))
            & (RepairTicket.closed_at <= now)
        )
        fixed = [r for r in closed if r["closing_reason"] in FIXED_REASONS]
        mttr[days] = median_days(r["closed_at"] - r["created_at"] for r in fixed)
        on_time = sum(1 for r in fixed if r["closed_at"] <= r["sla_due_at"])
        compliance[days] = round(on_time / len(fixed), 3) if fixed else None
        closed_counts[days] = len(fixed)
    per_asset = await RepairTicket.raw(
        "SELECT a.id, a.code, a.name_zh, a.name_en, COUNT(*) AS n, "
        "SUM(CASE WHEN t.priority = 'P0' THEN 1 ELSE 0 END) AS p0 "
        "FROM repair_ticket t JOIN asset a ON a.id = t.asset "
        "WHERE t.status IN ({}, {}, {}, {}, {}, {}) "
        "GROUP BY a.id, a.code, a.name_zh, a.name_en ORDER BY n DESC, a.code LIMIT 20",
        *open_list,
    )
    return Dashboard(
        backlog=backlog,
        open_total=sum(sum(v.values()) for v in backlog.values()),
        overdue=overdue,
        mttr_days=mttr,
        sla_compliance=compliance,
        closed_counts=closed_counts,
        per_asset=per_asset,
    )


async def open_p0_assets(asset_ids: Iterable[int]) -> set[int]:
    ids = list(asset_ids)
    if not ids:
        return set()
    rows = await RepairTicket.select(RepairTicket.asset).where(
        RepairTicket.asset.is_in(ids)
        & (RepairTicket.priority == Priority.P0)
        & RepairTicket.status.is_in(sorted(OPEN_STATUSES))
    )
    return {r["asset"] for r in rows}


async def planned_between(actor: Actor, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """Open tickets whose planned work overlaps [first, last] (the calendar)."""
    require(actor, Perm.TICKETS_VIEW)
    return await (
        RepairTicket.select(
            RepairTicket.id,
            RepairTicket.title,
            RepairTicket.priority,
            RepairTicket.status,
            RepairTicket.planned_start_on,
            RepairTicket.planned_end_on,
            RepairTicket.asset.code.as_alias("asset_code"),
        )
        .where(
            RepairTicket.status.is_in(sorted(OPEN_STATUSES | {Status.ACCEPTED}))
            & RepairTicket.planned_start_on.is_not_null()
            & (RepairTicket.planned_start_on <= last)
            & (
                (RepairTicket.planned_end_on >= first)
                | (RepairTicket.planned_end_on.is_null() & (RepairTicket.planned_start_on >= first))
            )
        )
        .order_by(RepairTicket.planned_start_on)
        .order_by(RepairTicket.priority)
    )


async def count_open() -> int:
    return await RepairTicket.count().where(RepairTicket.status.is_in(sorted(OPEN_STATUSES)))
