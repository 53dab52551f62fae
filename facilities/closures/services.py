"""Closure services: lifecycle, promises, linked repair work, the reopening gate, the public
notice and its timeline, subscriptions, and the jobs that keep the notice honest."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
from collections.abc import Iterable
from typing import Any, NoReturn

from facilities import db
from facilities.accounts import services as accounts
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import SYSTEM, Actor, can, require
from facilities.assets.choices import OperationalStatus
from facilities.assets.tables import Asset, Site
from facilities.audit import services as audit
from facilities.audit.tables import AuditEvent
from facilities.closures.choices import (
    IN_FORCE,
    TICKET_PROGRESS,
    NoticeSource,
    NoticeState,
    Precision,
    PublicProgress,
    Reason,
    SafetyMeasure,
    Scope,
    Status,
)
from facilities.closures.schemas import (
    CancelIn,
    ClosureIn,
    ExtendIn,
    LiftIn,
    LinkTicketIn,
    NoticeIn,
    SubscribeIn,
)
from facilities.closures.tables import (
    Closure,
    ClosurePromise,
    ClosureTicket,
    Cursor,
    NoticeUpdate,
    Subscription,
)
from facilities.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from facilities.i18n import N_, use_locale
from facilities.i18n import gettext as _
from facilities.inspections import services as inspections
from facilities.inspections.tables import ClosureProposal
from facilities.lib import condition
from facilities.notifications import services as notifications
from facilities.tickets.tables import RepairTicket

MAX_ID = 2_147_483_647
SMALL_ID_LIST = 500
DONE_TICKET_STATUSES = frozenset({"accepted", "closed"})
IRRELEVANT_TICKET_STATUSES = frozenset({"cancelled", "rejected", "duplicate"})
#: Ticket actions whose progress is drafted onto the public timeline.
PUBLIC_TICKET_ACTIONS = ("start", "complete", "accept", "close", "hold", "resume")
RECENTLY_REOPENED = dt.timedelta(days=30)


def _valid_id(value: int | None) -> bool:
    return value is not None and 0 < value <= MAX_ID


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def bilingual(message: str, **params: Any) -> tuple[str, str]:
    """(Chinese, English) of one message: notices are always written in both languages.
    Mark the literal with ``N_`` at the call so the catalogs pick it up."""
    with use_locale("zh_CN"):
        zh = _(message) % params if params else _(message)
    with use_locale("en"):
        en = _(message) % params if params else _(message)
    return zh, en


# --- reading -------------------------------------------------------------------------------


async def find_closure(closure_id: int) -> Closure | None:
    if not _valid_id(closure_id):
        return None
    return await Closure.objects().where(Closure.id == closure_id).first()


async def get_closure(actor: Actor, closure_id: int) -> Closure:
    require(actor, Perm.CLOSURES_VIEW)
    closure = await find_closure(closure_id)
    if closure is None:
        raise NotFound(_("No such closure."))
    return closure


async def list_closures(
    actor: Actor, statuses: Iterable[str] | None = None, asset_id: int | None = None
) -> list[dict[str, Any]]:
    require(actor, Perm.CLOSURES_VIEW)
    query = Closure.select(
        *Closure.all_columns(),
        Closure.asset.code.as_alias("asset_code"),
        Closure.asset.name_zh.as_alias("asset_name_zh"),
        Closure.asset.name_en.as_alias("asset_name_en"),
    )
    if statuses:
        query = query.where(Closure.status.is_in(list(statuses)))
    if asset_id is not None:
        query = query.where(Closure.asset == asset_id)
    return await query.order_by(Closure.effective_from, ascending=False).limit(500)


async def operational_statuses(
    asset_ids: Iterable[int], now: dt.datetime
) -> dict[int, OperationalStatus]:
    """Derived from closures in force: a full closure closes the asset, any other restricts it.

    A lifted closure whose announced reopening time has not come yet still holds: the facility
    reopens at ``reopens_at``, not at the moment somebody pressed "lift"."""
    ids = list(asset_ids)
    statuses = dict.fromkeys(ids, OperationalStatus.IN_SERVICE)
    if not ids:
        return statuses
    holding = (Closure.effective_from <= now) & (
        Closure.status.is_in(sorted(IN_FORCE))
        | ((Closure.status == Status.LIFTED) & (Closure.reopens_at > now))
    )
    # For a long list (the public register) read the closures that hold and match in Python:
    # they are few, and an IN list of every asset id would exceed PostgreSQL's 32,767 bound
    # parameters per statement.
    if len(ids) <= SMALL_ID_LIST:
        holding = holding & Closure.asset.is_in(ids)
    rows = await Closure.select(Closure.asset, Closure.scope).where(holding)
    for row in rows:
        if row["asset"] not in statuses:
            continue
        if row["scope"] == Scope.FULL:
            statuses[row["asset"]] = OperationalStatus.CLOSED
        elif statuses[row["asset"]] != OperationalStatus.CLOSED:
            statuses[row["asset"]] = OperationalStatus.RESTRICTED
    return statuses


async def linked_tickets(closure_id: int) -> list[dict[str, Any]]:
    return (
        await ClosureTicket.select(
            ClosureTicket.id,
            ClosureTicket.ticket,
            ClosureTicket.public_label_zh,
            ClosureTicket.public_label_en,
            ClosureTicket.ticket.status.as_alias("status"),
            ClosureTicket.ticket.title.as_alias("title"),
            ClosureTicket.ticket.updated_at.as_alias("ticket_updated_at"),
        )
        .where(ClosureTicket.closure == closure_id)
        .order_by(ClosureTicket.id)
    )


@dataclasses.dataclass(frozen=True)
class ClosureView:
    """Everything the staff page and the API show about one closure."""

    closure: Closure
    asset_code: str
    asset_name_zh: str
    asset_name_en: str
    tickets: list[dict[str, Any]]
    promises: list[ClosurePromise]
    gate: Gate

    @property
    def measures(self) -> list[str]:
        return list(_json(self.closure.safety_measures) or [])

    @property
    def revised(self) -> list[ClosurePromise]:
        """Earlier promises, newest first: what was promised before each extension."""
        return list(reversed(self.promises[:-1]))


async def closure_view(actor: Actor, closure_id: int) -> ClosureView:
    closure = await get_closure(actor, closure_id)
    asset = (
        await Asset.select(Asset.code, Asset.name_zh, Asset.name_en)
        .where(Asset.id == closure.asset)
        .first()
    )
    assert asset is not None
    tickets = await linked_tickets(closure.id)
    for ticket in tickets:
        ticket["public_progress"] = TICKET_PROGRESS.get(ticket["status"])
    return ClosureView(
        closure=closure,
        asset_code=asset["code"],
        asset_name_zh=asset["name_zh"],
        asset_name_en=asset["name_en"],
        tickets=tickets,
        promises=await promises(closure.id),
        gate=await gate(closure),
    )


async def linkable_tickets(actor: Actor, closure: Closure) -> list[dict[str, Any]]:
    """The closed asset's tickets not linked yet (open ones first), for the link form."""
    require(actor, Perm.CLOSURES_VIEW)
    linked = [
        r["ticket"]
        for r in await ClosureTicket.select(ClosureTicket.ticket).where(
            ClosureTicket.closure == closure.id
        )
    ]
    query = RepairTicket.select(
        RepairTicket.id, RepairTicket.title, RepairTicket.status, RepairTicket.priority
    ).where(
        (RepairTicket.asset == closure.asset)
        & RepairTicket.status.not_in(sorted(IRRELEVANT_TICKET_STATUSES))
    )
    if linked:
        query = query.where(RepairTicket.id.not_in(linked))
    rows = await query.order_by(RepairTicket.id, ascending=False).limit(200)
    return sorted(rows, key=lambda r: (r["status"] in DONE_TICKET_STATUSES, -r["id"]))


async def history(actor: Actor, closure_id: int) -> list[dict[str, Any]]:
    """The closure's audit trail, newest first."""
    require(actor, Perm.CLOSURES_VIEW)
    return await audit.list_events("closure", closure_id)


async def promises(closure_id: int) -> list[ClosurePromise]:
    return (
        await ClosurePromise.objects()
        .where(ClosurePromise.closure == closure_id)
        .order_by(ClosurePromise.made_at)
        .order_by(ClosurePromise.id)
    )


# --- the reopening gate --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Criterion:
    code: str
    met: bool
    label: str
    detail: str


@dataclasses.dataclass(frozen=True)
class Gate:
    criteria: tuple[Criterion, ...]

    @property
    def repair_verified(self) -> bool:
        """Criteria 1-3: the work is done and an inspection says the asset is safe."""
        return all(c.met for c in self.criteria if c.code != "sign_off")

    @property
    def open(self) -> bool:
        return all(c.met for c in self.criteria)


async def gate(closure: Closure) -> Gate:
    """The four reopening criteria, each with what it found.

    The grade criterion reads the asset's current condition grade (set by its latest final
    graded inspection, the acceptance itself or anything after it), so a worse inspection after
    the acceptance keeps the gate shut."""
    tickets = [
        t for t in await linked_tickets(closure.id) if t["status"] not in IRRELEVANT_TICKET_STATUSES
    ]
    unfinished = [t for t in tickets if t["status"] not in DONE_TICKET_STATUSES]
    acceptance = await inspections.latest_acceptance(closure.asset, since=closure.effective_from)
    open_direct = await inspections.open_direct_control_findings(closure.asset)
    asset = await Asset.select(Asset.condition_grade).where(Asset.id == closure.asset).first()
    grade = (asset or {}).get("condition_grade") or (acceptance.grade if acceptance else None)
    grade_ok = grade is not None and condition.grade_rank(grade) <= condition.grade_rank("C")
    if open_direct:
        grade_detail = _("%(n)s open direct-control finding(s)") % {"n": open_direct}
    elif grade:
        grade_detail = _("Grade %(grade)s") % {"grade": grade}
    else:
        grade_detail = _("Not graded")
    criteria = (
        Criterion(
            "tickets",
            not unfinished,
            _("Every linked repair ticket is accepted or closed"),
            _("%(done)s of %(total)s done")
            % {"done": len(tickets) - len(unfinished), "total": len(tickets)}
            if tickets
            else _("No repair tickets are linked"),
        ),
        Criterion(
            "acceptance",
            bool(acceptance and acceptance.passed),
            _("A final acceptance inspection passed"),
            (
                _("Inspection #%(id)s passed, grade %(grade)s")
                if acceptance.passed
                else _("Inspection #%(id)s did not pass, grade %(grade)s")
            )
            % {"id": acceptance.id, "grade": acceptance.grade or "—"}
            if acceptance
            else _("No final acceptance inspection since the closure"),
        ),
        Criterion(
            "grade",
            grade_ok and open_direct == 0,
            _("Grade C or better, no open direct-control finding"),
            grade_detail,
        ),
        Criterion(
            "sign_off",
            closure.signed_off_at is not None,
            _("A supervisor signed off"),
            _("Signed off %(when)s") % {"when": closure.signed_off_at.date().isoformat()}
            if closure.signed_off_at
            else _("Not yet signed off"),
        ),
    )
    return Gate(criteria)


# --- writing -------------------------------------------------------------------------------

EDITABLE = (
    "scope",
    "affected_part_zh",
    "affected_part_en",
    "crowd_limit",
    "hours_zh",
    "hours_en",
    "reason",
    "reason_zh",
    "reason_en",
    "safety_measures",
    "detour_zh",
    "detour_en",
    "reopening_criteria_zh",
    "reopening_criteria_en",
    "effective_from",
    "is_urgent",
)


def snapshot(closure: Closure) -> dict[str, Any]:
    values = {name: getattr(closure, name) for name in EDITABLE}
    values["safety_measures"] = _json(values["safety_measures"])
    values.update(
        status=closure.status,
        planned_reopen_on=closure.planned_reopen_on,
        reopen_precision=closure.reopen_precision,
    )
    return values


def _values(data: ClosureIn) -> dict[str, Any]:
    values = {name: getattr(data, name) for name in EDITABLE}
    values["safety_measures"] = json.dumps(sorted({m.value for m in data.safety_measures}))
    for name in ("reason_zh", "reason_en", "detour_zh", "detour_en"):
        values[name] = values[name].strip()
    return values


async def _check(data: ClosureIn, now: dt.datetime, closure: Closure | None = None) -> None:
    """The rules across fields (the Struct checks each field alone)."""
    errors: dict[str, str] = {}
    if not await Asset.exists().where(Asset.id == data.asset_id):
        errors["asset_id"] = _("Choose an existing asset.")
    if data.effective_from.tzinfo is None:
        errors["effective_from"] = _("Give the time with its time zone.")
    elif closure is not None and closure.status in IN_FORCE and data.effective_from > now:
        errors["effective_from"] = _(
            "This closure is already in force: its start cannot move into the future."
        )
    if not data.reason_zh.strip():
        errors["reason_zh"] = _("This field is required.")
    if (
        data.planned_reopen_on
        and data.effective_from.tzinfo is not None
        and data.planned_reopen_on < data.effective_from.date()
    ):
        errors["planned_reopen_on"] = _("The reopening cannot be before the closure starts.")
    if data.scope == Scope.PARTIAL and not data.affected_part_zh.strip():
        errors["affected_part_zh"] = _("Say which part is closed.")
    if data.scope == Scope.RESTRICTED and data.crowd_limit is None and not data.hours_zh.strip():
        errors["crowd_limit"] = _("Give a crowd limit or the opening hours of the restriction.")
    if SafetyMeasure.DETOUR in data.safety_measures and not data.detour_zh.strip():
        errors["detour_zh"] = _("Describe the detour.")
    if (
        closure is not None
        and closure.status != Status.PLANNED
        and data.planned_reopen_on is not None
        and (data.planned_reopen_on, data.reopen_precision)
        != (closure.planned_reopen_on, closure.reopen_precision)
    ):
        errors["planned_reopen_on"] = _(
            "The promised reopening of a closure in force changes only by extending it."
        )
    if errors:
        raise ValidationFailed(errors)


async def create_closure(
    actor: Actor, data: ClosureIn, now: dt.datetime, proposal_id: int | None = None
) -> Closure:
    """Plan a closure; one that starts now or earlier is in force at once, with its notice."""
    require(actor, Perm.CLOSURES_EDIT)
    async with db.transaction():
        await _check(data, now)
        closure = Closure(
            asset=data.asset_id,
            **_values(data),
            planned_reopen_on=data.planned_reopen_on,
            reopen_precision=data.reopen_precision,
            status=Status.PLANNED,
            created_by=actor.id,
            created_at=now,
            updated_at=now,
        )
        await closure.save()
        await ClosurePromise.insert(
            ClosurePromise(
                closure=closure.id,
                planned_reopen_on=data.planned_reopen_on,
                precision=data.reopen_precision,
                made_at=now,
                made_by=actor.id,
                reason_zh="",
                reason_en="",
            )
        )
        await audit.record(
            actor,
            "closure.created",
            "closure",
            closure.id,
            now,
            after=snapshot(closure) | {"proposal": proposal_id},
        )
        if data.effective_from <= now:
            await _activate(closure.id, now)
    return await _fresh(closure.id)


async def _fresh(closure_id: int) -> Closure:
    closure = await find_closure(closure_id)
    assert closure is not None
    return closure


def _stale() -> Conflict:
    return Conflict(
        _("Someone else changed this closure while you were editing. Your changes were not saved.")
    )


async def update_closure(
    actor: Actor, closure_id: int, data: ClosureIn, now: dt.datetime
) -> Closure:
    """Edit the notice's facts; the reopening date changes only by extending (kept in history),
    except while the closure is still planned (nothing was promised in public yet)."""
    require(actor, Perm.CLOSURES_EDIT)
    if data.version is None:
        raise ValidationFailed({"version": _("The record version is missing; reload and retry.")})
    async with db.transaction():
        closure = await get_closure(actor, closure_id)
        if closure.status in {Status.LIFTED, Status.CANCELLED}:
            raise InvalidTransition(_("A lifted or cancelled closure cannot be edited."))
        if closure.version != data.version:
            raise _stale()
        await _check(data, now, closure)
        if data.asset_id != closure.asset:
            raise ValidationFailed({"asset_id": _("A closure cannot move to another asset.")})
        before = snapshot(closure)
        values = _values(data)
        planned = closure.status == Status.PLANNED
        if planned:
            values.update(
                planned_reopen_on=data.planned_reopen_on, reopen_precision=data.reopen_precision
            )
        moved = data.effective_from != closure.effective_from or (
            planned
            and (data.planned_reopen_on, data.reopen_precision)
            != (closure.planned_reopen_on, closure.reopen_precision)
        )
        if moved:  # the calendar event changed: feeds see a new revision
            values["sequence"] = closure.sequence + 1
        changed = (
            await Closure.update(
                {
                    **{getattr(Closure, k): v for k, v in values.items()},
                    Closure.updated_at: now,
                    Closure.version: data.version + 1,
                }
            )
            .where((Closure.id == closure.id) & (Closure.version == data.version))
            .returning(Closure.id)
        )
        if not changed:
            raise _stale()
        if planned:
            # Not public yet: the one promise is corrected, not revised.
            await ClosurePromise.update(
                {
                    ClosurePromise.planned_reopen_on: data.planned_reopen_on,
                    ClosurePromise.precision: data.reopen_precision,
                    ClosurePromise.made_at: now,
                    ClosurePromise.made_by: actor.id,
                }
            ).where(ClosurePromise.closure == closure.id)
        updated = await _fresh(closure.id)
        await audit.record(
            actor, "closure.updated", "closure", closure.id, now, before, snapshot(updated)
        )
        if updated.status == Status.PLANNED and updated.effective_from <= now:
            await _activate(updated.id, now)
    return await _fresh(closure_id)


async def _bump(
    closure: Closure, expected_version: int, values: dict[Any, Any], now: dt.datetime
) -> None:
    changed = (
        await Closure.update(
            {**values, Closure.updated_at: now, Closure.version: expected_version + 1}
        )
        .where((Closure.id == closure.id) & (Closure.version == expected_version))
        .returning(Closure.id)
    )
    if not changed:
        raise Conflict(_("Someone else changed this closure first. Reload it and try again."))


def _date_text(day: dt.date | None, precision: str, language: str) -> str:
    if day is None:
        return ""
    with use_locale(language):
        if language == "zh_CN":
            text = f"{day.month}月{day.day}日"
        else:
            text = day.strftime("%-d %B %Y")
        return (_("before %(date)s") if precision == Precision.BEFORE else _("on %(date)s")) % {
            "date": text
        }


async def extend(actor: Actor, closure_id: int, data: ExtendIn, now: dt.datetime) -> Closure:
    """Move the promised reopening; the old promise stays visible and the notice says why."""
    require(actor, Perm.CLOSURES_EDIT)
    async with db.transaction():
        closure = await get_closure(actor, closure_id)
        if closure.status not in {Status.ACTIVE, Status.EXTENDED}:
            raise InvalidTransition(_("Only a closure in force can be extended."))
        if closure.version != data.version:
            raise Conflict(_("Someone else changed this closure first. Reload it and try again."))
        if not data.reason_zh.strip():
            raise ValidationFailed({"reason_zh": _("Say why the reopening moves.")})
        if closure.planned_reopen_on and data.planned_reopen_on <= closure.planned_reopen_on:
            raise ValidationFailed(
                {
                    "planned_reopen_on": _(
                        "An extension moves the reopening later than the current promise."
                    )
                }
            )
        await _bump(
            closure,
            data.version,
            {
                Closure.status: Status.EXTENDED,
                Closure.planned_reopen_on: data.planned_reopen_on,
                Closure.reopen_precision: data.reopen_precision,
                Closure.sequence: closure.sequence + 1,
            },
            now,
        )
        await ClosurePromise.insert(
            ClosurePromise(
                closure=closure.id,
                planned_reopen_on=data.planned_reopen_on,
                precision=data.reopen_precision,
                reason_zh=data.reason_zh.strip(),
                reason_en=data.reason_en.strip(),
                made_at=now,
                made_by=actor.id,
            )
        )
        zh = _date_text(data.planned_reopen_on, data.reopen_precision, "zh_CN")
        en = _date_text(data.planned_reopen_on, data.reopen_precision, "en")
        with use_locale("zh_CN"):
            text_zh = _("Reopening now expected %(date)s. Reason: %(reason)s") % {
                "date": zh,
                "reason": data.reason_zh.strip(),
            }
        with use_locale("en"):
            text_en = _("Reopening now expected %(date)s. Reason: %(reason)s") % {
                "date": en,
                "reason": data.reason_en.strip() or data.reason_zh.strip(),
            }
        await _publish_system(
            closure.id, f"extended:{closure.id}:{closure.sequence + 1}", text_zh, text_en, now
        )
        await audit.record(
            actor,
            "closure.extended",
            "closure",
            closure.id,
            now,
            {"planned_reopen_on": closure.planned_reopen_on},
            {"planned_reopen_on": data.planned_reopen_on, "reason": data.reason_zh.strip()},
        )
    return await _fresh(closure_id)


async def cancel(actor: Actor, closure_id: int, data: CancelIn, now: dt.datetime) -> Closure:
    """Call the closure off; one that was in force says so on its public timeline."""
    require(actor, Perm.CLOSURES_EDIT)
    async with db.transaction():
        closure = await get_closure(actor, closure_id)
        if closure.status not in {Status.PLANNED, Status.ACTIVE, Status.EXTENDED}:
            raise InvalidTransition(_("This closure can no longer be cancelled."))
        if closure.version != data.version:
            raise Conflict(_("Someone else changed this closure first. Reload it and try again."))
        reason_zh, reason_en = data.reason_zh.strip(), data.reason_en.strip()
        if not reason_zh:
            raise ValidationFailed({"reason_zh": _("Say why the closure is cancelled.")})
        await _bump(
            closure,
            data.version,
            {Closure.status: Status.CANCELLED, Closure.sequence: closure.sequence + 1},
            now,
        )
        if closure.status != Status.PLANNED:
            with use_locale("zh_CN"):
                text_zh = _("The closure was called off: %(reason)s") % {"reason": reason_zh}
            with use_locale("en"):
                text_en = _("The closure was called off: %(reason)s") % {
                    "reason": reason_en or reason_zh
                }
            await _publish_system(closure.id, f"cancelled:{closure.id}", text_zh, text_en, now)
        await audit.record(
            actor,
            "closure.cancelled",
            "closure",
            closure.id,
            now,
            {"status": closure.status},
            {"status": Status.CANCELLED, "reason": reason_zh},
        )
    return await _fresh(closure_id)


def _refuse_when_over(closure: Closure) -> None:
    if closure.status in {Status.LIFTED, Status.CANCELLED}:
        raise InvalidTransition(_("A lifted or cancelled closure cannot be changed."))


async def link_ticket(actor: Actor, closure_id: int, data: LinkTicketIn, now: dt.datetime) -> None:
    """Make the reopening wait for a ticket of the closed asset, with the label citizens read
    for it; linking it again changes the label."""
    require(actor, Perm.CLOSURES_EDIT)
    label_zh, label_en = data.public_label_zh.strip(), data.public_label_en.strip()
    async with db.transaction():
        closure = await get_closure(actor, closure_id)
        _refuse_when_over(closure)
        if not label_zh:
            raise ValidationFailed({"public_label_zh": _("This field is required.")})
        ticket = (
            await RepairTicket.select(RepairTicket.asset)
            .where(RepairTicket.id == data.ticket_id)
            .first()
        )
        if ticket is None:
            raise ValidationFailed({"ticket_id": _("No such ticket.")})
        if ticket["asset"] != closure.asset:
            raise ValidationFailed({"ticket_id": _("Link tickets on the closed asset only.")})
        key = f"{closure.id}:{data.ticket_id}"
        existing = await ClosureTicket.objects().where(ClosureTicket.key == key).first()
        if existing is not None:
            if (existing.public_label_zh, existing.public_label_en) == (label_zh, label_en):
                return
            await ClosureTicket.update(
                {ClosureTicket.public_label_zh: label_zh, ClosureTicket.public_label_en: label_en}
            ).where(ClosureTicket.id == existing.id)
            before: dict[str, Any] | None = {
                "ticket": data.ticket_id,
                "label": existing.public_label_zh,
                "label_en": existing.public_label_en,
            }
        else:
            await ClosureTicket.insert(
                ClosureTicket(
                    closure=closure.id,
                    ticket=data.ticket_id,
                    key=key,
                    public_label_zh=label_zh,
                    public_label_en=label_en,
                )
            ).on_conflict(action="DO NOTHING")
            before = None
        await Closure.update({Closure.updated_at: now}).where(Closure.id == closure.id)
        await audit.record(
            actor,
            "closure.ticket_linked",
            "closure",
            closure.id,
            now,
            before=before,
            after={"ticket": data.ticket_id, "label": label_zh, "label_en": label_en},
        )


async def unlink_ticket(actor: Actor, closure_id: int, ticket_id: int, now: dt.datetime) -> None:
    require(actor, Perm.CLOSURES_EDIT)
    async with db.transaction():
        closure = await get_closure(actor, closure_id)
        _refuse_when_over(closure)
        removed = (
            await ClosureTicket.delete()
            .where(ClosureTicket.key == f"{closure.id}:{ticket_id}")
            .returning(ClosureTicket.id)
        )
        if removed:
            await Closure.update({Closure.updated_at: now}).where(Closure.id == closure.id)
            await audit.record(
                actor,
                "closure.ticket_unlinked",
                "closure",
                closure.id,
                now,
                before={"ticket": ticket_id},
            )


async def sign_off(actor: Actor, closure_id: int, version: int, now: dt.datetime) -> Closure:
    """A supervisor confirms the verified repair; only once criteria 1-3 are met."""
    require(actor, Perm.CLOSURES_SIGN_OFF)
    async with db.transaction():
        closure = await get_closure(actor, closure_id)
        if closure.status not in IN_FORCE:
            raise InvalidTransition(_("Only a closure in force can be signed off."))
        if closure.version != version:
            raise Conflict(_("Someone else changed this closure first. Reload it and try again."))
        if closure.signed_off_at is not None:
            raise InvalidTransition(_("This closure was already signed off."))
        state = await gate(closure)
        if not state.repair_verified:
            raise InvalidTransition(
                _("The repair is not verified yet: see the reopening criteria.")
            )
        await _bump(
            closure, version, {Closure.signed_off_by: actor.id, Closure.signed_off_at: now}, now
        )
        await audit.record(
            actor,
            "closure.signed_off",
            "closure",
            closure.id,
            now,
            after={"signed_off_at": now, "criteria": [c.code for c in state.criteria if c.met]},
        )
    return await _fresh(closure_id)


async def lift(actor: Actor, closure_id: int, data: LiftIn, now: dt.datetime) -> Closure:
    """Lift the closure: only through the gate, or by an admin's written override (audited
    with the criteria that were not met). The reopening is announced by the job when
    ``reopens_at`` arrives."""
    require(actor, Perm.CLOSURES_EDIT)
    async with db.transaction():
        closure = await get_closure(actor, closure_id)
        if closure.status not in IN_FORCE:
            raise InvalidTransition(_("Only a closure in force can be lifted."))
        if closure.version != data.version:
            raise Conflict(_("Someone else changed this closure first. Reload it and try again."))
        state = await gate(closure)
        override = data.override_reason.strip()
        if not state.open:
            if not override:
                raise InvalidTransition(
                    _(
                        "The reopening criteria are not all met. An administrator may override "
                        "them with a written reason."
                    )
                )
            if not can(actor, Perm.CLOSURES_OVERRIDE):
                raise PermissionDenied(_("Only an administrator may override the criteria."))
        reopens_at = data.reopens_at or now
        if reopens_at.tzinfo is None:
            raise ValidationFailed({"reopens_at": _("Give the time with its time zone.")})
        reopens_at = max(reopens_at, now)
        unmet = [c.code for c in state.criteria if not c.met]
        await _bump(
            closure,
            data.version,
            {
                Closure.status: Status.LIFTED,
                Closure.lifted_at: now,
                Closure.reopens_at: reopens_at,
                Closure.override_reason: override if not state.open else "",
                Closure.sequence: closure.sequence + 1,
            },
            now,
        )
        await audit.record(
            actor,
            "closure.lifted_override" if not state.open else "closure.lifted",
            "closure",
            closure.id,
            now,
            {"status": closure.status},
            {
                "status": Status.LIFTED,
                "reopens_at": reopens_at,
                "unmet": unmet,
                "override_reason": override if not state.open else "",
            },
        )
    return await _fresh(closure_id)


# --- closures proposed by inspection rules --------------------------------------------------

PROPOSED, APPROVED, DISMISSED = "proposed", "approved", "dismissed"


async def list_proposals(actor: Actor, asset_id: int | None = None) -> list[dict[str, Any]]:
    """Closures the inspection rules proposed and nobody decided yet, newest first."""
    require(actor, Perm.CLOSURES_VIEW)
    query = ClosureProposal.select(
        *ClosureProposal.all_columns(),
        ClosureProposal.asset.code.as_alias("asset_code"),
        ClosureProposal.asset.name_zh.as_alias("asset_name_zh"),
        ClosureProposal.asset.name_en.as_alias("asset_name_en"),
        ClosureProposal.inspection.grade.as_alias("grade"),
        ClosureProposal.inspection.inspection_type.as_alias("inspection_type"),
    ).where(ClosureProposal.status == PROPOSED)
    if asset_id is not None:
        query = query.where(ClosureProposal.asset == asset_id)
    return await query.order_by(ClosureProposal.created_at, ascending=False).order_by(
        ClosureProposal.id, ascending=False
    )


async def _get_proposal(proposal_id: int) -> dict[str, Any]:
    row = None
    if _valid_id(proposal_id):
        row = (
            await ClosureProposal.select(
                *ClosureProposal.all_columns(),
                ClosureProposal.asset.crowd_limit.as_alias("asset_crowd_limit"),
                ClosureProposal.inspection.grade.as_alias("grade"),
            )
            .where(ClosureProposal.id == proposal_id)
            .first()
        )
    if row is None:
        raise NotFound(_("No such closure proposal."))
    return row


def proposal_to_closure(proposal: dict[str, Any], now: dt.datetime) -> ClosureIn:
    """The closure a proposal stands for, in force at once: a structural defect found by the
    inspection, the site fenced and signed; a restricted one keeps the asset's crowd limit
    (or, without one, opens only under a guard's control). Staff refine it afterwards."""
    scope = Scope(proposal["scope"]) if proposal["scope"] in {*Scope} else Scope.FULL
    params = {"id": proposal["inspection"], "grade": proposal["grade"] or "—"}
    zh, en = bilingual(
        N_("Inspection #%(id)s (grade %(grade)s) found the facility unsafe to use."), **params
    )
    summary = (proposal["reason"] or "").strip()
    measures = [SafetyMeasure.FENCING, SafetyMeasure.WARNING_SIGNS]
    crowd_limit, hours_zh, hours_en = None, "", ""
    if scope == Scope.RESTRICTED:
        measures.append(SafetyMeasure.CROWD_CONTROL)
        crowd_limit = proposal["asset_crowd_limit"]
        if crowd_limit is None:
            hours_zh, hours_en = bilingual(N_("Open only while a guard controls access"))
            measures.append(SafetyMeasure.GUARD_ON_DUTY)
    return ClosureIn(
        asset_id=proposal["asset"],
        scope=scope,
        crowd_limit=crowd_limit,
        hours_zh=hours_zh,
        hours_en=hours_en,
        reason=Reason.STRUCTURAL_DEFECT,
        reason_zh=(f"{zh}\n{summary}" if summary else zh)[:2000],
        reason_en=en,
        safety_measures=measures,
        effective_from=now,
        is_urgent=scope == Scope.FULL,
    )


async def approve_proposal(actor: Actor, proposal_id: int, now: dt.datetime) -> Closure:
    """One click: the proposed closure is created (in force now) and the proposal marked
    approved, in one transaction; a proposal is decided once."""
    require(actor, Perm.CLOSURES_EDIT)
    async with db.transaction():
        proposal = await _get_proposal(proposal_id)
        claimed = (
            await ClosureProposal.update(
                {
                    ClosureProposal.status: APPROVED,
                    ClosureProposal.decided_at: now,
                    ClosureProposal.decided_by: actor.id,
                }
            )
            .where((ClosureProposal.id == proposal_id) & (ClosureProposal.status == PROPOSED))
            .returning(ClosureProposal.id)
        )
        if not claimed:
            raise InvalidTransition(_("This proposal was already decided."))
        closure = await create_closure(
            actor, proposal_to_closure(proposal, now), now, proposal_id=proposal_id
        )
        await audit.record(
            actor,
            "closure.proposal_approved",
            "closure",
            closure.id,
            now,
            {"proposal": proposal_id, "proposal_status": PROPOSED},
            {"proposal": proposal_id, "proposal_status": APPROVED},
        )
    return closure


async def dismiss_proposal(actor: Actor, proposal_id: int, now: dt.datetime) -> None:
    require(actor, Perm.CLOSURES_EDIT)
    async with db.transaction():
        proposal = await _get_proposal(proposal_id)
        claimed = (
            await ClosureProposal.update(
                {
                    ClosureProposal.status: DISMISSED,
                    ClosureProposal.decided_at: now,
                    ClosureProposal.decided_by: actor.id,
                }
            )
            .where((ClosureProposal.id == proposal_id) & (ClosureProposal.status == PROPOSED))
            .returning(ClosureProposal.id)
        )
        if not claimed:
            raise InvalidTransition(_("This proposal was already decided."))
        await audit.record(
            actor,
            "closure.proposal_dismissed",
            "closure_proposal",
            proposal_id,
            now,
            {"status": PROPOSED, "asset": proposal["asset"]},
            {"status": DISMISSED, "asset": proposal["asset"]},
        )


# --- notice updates ------------------------------------------------------------------------


async def _publish_system(
    closure_id: int, key: str, text_zh: str, text_en: str, now: dt.datetime
) -> bool:
    """Publish a system notice once per ``key`` (a rerun or a second scheduler adds nothing)."""
    rows = (
        await NoticeUpdate.insert(
            NoticeUpdate(
                closure=closure_id,
                state=NoticeState.PUBLISHED,
                source=NoticeSource.SYSTEM,
                dedupe_key=key,
                text_zh=text_zh,
                text_en=text_en,
                created_at=now,
                published_at=now,
            )
        )
        .on_conflict(action="DO NOTHING")
        .returning(NoticeUpdate.id)
    )
    if rows:
        await Closure.update({Closure.updated_at: now}).where(Closure.id == closure_id)
    return bool(rows)


async def write_update(
    actor: Actor, closure_id: int, data: NoticeIn, now: dt.datetime
) -> NoticeUpdate:
    require(actor, Perm.NOTICES_PUBLISH)
    if not data.text_zh.strip():
        raise ValidationFailed({"text_zh": _("This field is required.")})
    async with db.transaction():
        closure = await get_closure(actor, closure_id)
        if closure.status == Status.CANCELLED:
            raise InvalidTransition(_("A cancelled closure has no public notice."))
        row = NoticeUpdate(
            closure=closure.id,
            state=NoticeState.PUBLISHED if data.publish else NoticeState.DRAFT,
            source=NoticeSource.STAFF,
            text_zh=data.text_zh.strip(),
            text_en=data.text_en.strip(),
            created_at=now,
            created_by=actor.id,
            published_at=now if data.publish else None,
            published_by=actor.id if data.publish else None,
        )
        await row.save()
        await Closure.update({Closure.updated_at: now}).where(Closure.id == closure.id)
        await audit.record(
            actor,
            "closure.update_written",
            "closure",
            closure.id,
            now,
            after={"update": row.id, "published": data.publish},
        )
    return row


async def publish_update(
    actor: Actor, update_id: int, now: dt.datetime, edited: NoticeIn | None = None
) -> None:
    """Publish a draft (one click), optionally with the text edited first."""
    require(actor, Perm.NOTICES_PUBLISH)
    if edited is not None and not edited.text_zh.strip():
        raise ValidationFailed({"text_zh": _("This field is required.")})
    async with db.transaction():
        values: dict[Any, Any] = {
            NoticeUpdate.state: NoticeState.PUBLISHED,
            NoticeUpdate.published_at: now,
            NoticeUpdate.published_by: actor.id,
        }
        if edited is not None:
            values[NoticeUpdate.text_zh] = edited.text_zh.strip()
            values[NoticeUpdate.text_en] = edited.text_en.strip()
        closure = await Closure.select(Closure.status).where(
            Closure.id.is_in(
                NoticeUpdate.select(NoticeUpdate.closure).where(NoticeUpdate.id == update_id)
            )
        )
        if closure and closure[0]["status"] == Status.CANCELLED:
            raise InvalidTransition(_("A cancelled closure has no public notice."))
        rows = (
            await NoticeUpdate.update(values)
            .where((NoticeUpdate.id == update_id) & (NoticeUpdate.state == NoticeState.DRAFT))
            .returning(NoticeUpdate.closure)
        )
        if not rows:
            await _missing_or_decided(update_id)
        await Closure.update({Closure.updated_at: now}).where(Closure.id == rows[0]["closure"])
        await audit.record(
            actor,
            "closure.update_published",
            "closure",
            rows[0]["closure"],
            now,
            after={"update": update_id},
        )


async def discard_update(actor: Actor, update_id: int, now: dt.datetime) -> None:
    require(actor, Perm.NOTICES_PUBLISH)
    async with db.transaction():
        rows = (
            await NoticeUpdate.update({NoticeUpdate.state: NoticeState.DISCARDED})
            .where((NoticeUpdate.id == update_id) & (NoticeUpdate.state == NoticeState.DRAFT))
            .returning(NoticeUpdate.closure)
        )
        if not rows:
            await _missing_or_decided(update_id)
        await audit.record(
            actor,
            "closure.update_discarded",
            "closure",
            rows[0]["closure"],
            now,
            after={"update": update_id},
        )


async def _missing_or_decided(update_id: int) -> NoReturn:
    if not _valid_id(update_id) or not await NoticeUpdate.exists().where(
        NoticeUpdate.id == update_id
    ):
        raise NotFound(_("No such notice update."))
    raise InvalidTransition(_("This draft was already published or discarded."))


async def get_update(actor: Actor, update_id: int) -> NoticeUpdate:
    require(actor, Perm.CLOSURES_VIEW)
    row = None
    if _valid_id(update_id):
        row = await NoticeUpdate.objects().where(NoticeUpdate.id == update_id).first()
    if row is None:
        raise NotFound(_("No such notice update."))
    return row


async def list_updates(closure_id: int, published_only: bool = True) -> list[NoticeUpdate]:
    query = NoticeUpdate.objects().where(NoticeUpdate.closure == closure_id)
    if published_only:
        query = query.where(NoticeUpdate.state == NoticeState.PUBLISHED)
    else:
        query = query.where(NoticeUpdate.state != NoticeState.DISCARDED)
    return await query.order_by(NoticeUpdate.created_at, ascending=False).order_by(
        NoticeUpdate.id, ascending=False
    )


async def list_drafts(actor: Actor) -> list[dict[str, Any]]:
    require(actor, Perm.CLOSURES_VIEW)
    return (
        await NoticeUpdate.select(
            *NoticeUpdate.all_columns(),
            NoticeUpdate.closure._.asset._.code.as_alias("asset_code"),
        )
        .where(
            (NoticeUpdate.state == NoticeState.DRAFT)
            & (NoticeUpdate.closure._.status != Status.CANCELLED)
        )
        .order_by(NoticeUpdate.created_at)
        .order_by(NoticeUpdate.id)
    )


# --- jobs ----------------------------------------------------------------------------------


async def _activate(closure_id: int, now: dt.datetime) -> bool:
    """planned -> active once (a conditional update), with the closure notice published."""
    rows = (
        await Closure.update(
            {
                Closure.status: Status.ACTIVE,
                Closure.activated_at: now,
                Closure.updated_at: now,
                Closure.version: Closure.version + 1,  # an open edit form is now stale
            }
        )
        .where((Closure.id == closure_id) & (Closure.status == Status.PLANNED))
        .returning(Closure.planned_reopen_on, Closure.reopen_precision, Closure.scope)
    )
    if not rows:
        return False
    row = rows[0]
    with use_locale("zh_CN"):
        scope_zh = Scope(row["scope"]).label
    with use_locale("en"):
        scope_en = Scope(row["scope"]).label
    zh_date = _date_text(row["planned_reopen_on"], row["reopen_precision"], "zh_CN")
    en_date = _date_text(row["planned_reopen_on"], row["reopen_precision"], "en")
    with use_locale("zh_CN"):
        zh = (
            _("%(scope)s from today. Expected to reopen %(date)s.")
            % {"scope": scope_zh, "date": zh_date}
            if zh_date
            else _("%(scope)s from today.") % {"scope": scope_zh}
        )
    with use_locale("en"):
        en = (
            _("%(scope)s from today. Expected to reopen %(date)s.")
            % {"scope": scope_en, "date": en_date}
            if en_date
            else _("%(scope)s from today.") % {"scope": scope_en}
        )
    await _publish_system(closure_id, f"activated:{closure_id}", zh, en, now)
    await audit.record(
        SYSTEM,
        "closure.activated",
        "closure",
        closure_id,
        now,
        {"status": Status.PLANNED},
        {"status": Status.ACTIVE},
    )
    return True


async def activate_due(now: dt.datetime) -> int:
    """Put planned closures in force when their start arrives (each exactly once)."""
    due = await Closure.select(Closure.id).where(
        (Closure.status == Status.PLANNED) & (Closure.effective_from <= now)
    )
    activated = 0
    for row in due:
        async with db.transaction():
            activated += await _activate(row["id"], now)
    return activated


async def announce_reopenings(now: dt.datetime) -> int:
    """Announce each lifted closure's reopening when its time comes, exactly once."""
    due = await Closure.select(Closure.id, Closure.override_reason).where(
        (Closure.status == Status.LIFTED)
        & Closure.reopening_announced_at.is_null()
        & (Closure.reopens_at <= now)
    )
    announced = 0
    for row in due:
        async with db.transaction():
            claimed = (
                await Closure.update({Closure.reopening_announced_at: now, Closure.updated_at: now})
                .where((Closure.id == row["id"]) & Closure.reopening_announced_at.is_null())
                .returning(Closure.id)
            )
            if not claimed:
                continue
            if row["override_reason"]:  # lifted by an override: claim no verification
                zh, en = bilingual(N_("Reopened."))
            else:
                zh, en = bilingual(
                    N_(
                        "Reopened. The repair was completed and verified "
                        "by an acceptance inspection."
                    )
                )
            await _publish_system(row["id"], f"reopened:{row['id']}", zh, en, now)
            announced += 1
    return announced


#: Longer than any request and its transaction take. PostgreSQL hands out audit ids at insert and
#: transactions commit in any order, so an event may become visible after events with higher
#: ids: a cursor moved to the highest id read would skip it for ever. An event recorded longer
#: ago than this is past that risk: every event with a lower id was inserted before it, so its
#: transaction has ended (committed and read, or rolled back).
PROGRESS_SETTLE = dt.timedelta(minutes=5)


async def draft_from_ticket_progress(
    now: dt.datetime, autopublish: frozenset[str], limit: int = 500
) -> int:
    """Turn transitions of linked tickets into bilingual timeline entries.

    Reads the audit stream after a stored cursor, ``limit`` events at a time; each (event,
    closure) becomes at most one entry (a unique key), so a rerun, a crash or a second scheduler
    adds nothing. The cursor moves only past events older than :data:`PROGRESS_SETTLE`, so
    recent events are read again by the next runs (adding nothing) and one that commits late
    is still read. Entries for the actions in ``autopublish`` are published at once; the others
    wait as drafts.
    """
    cursor = await Cursor.objects().where(Cursor.name == "ticket_progress").first()
    if cursor is None:
        await Cursor.insert(Cursor(name="ticket_progress", position=0)).on_conflict(
            action="DO NOTHING"
        )
        cursor = await Cursor.objects().where(Cursor.name == "ticket_progress").first()
    assert cursor is not None
    drafted = 0
    read = settled = cursor.position
    while True:
        events = (
            await AuditEvent.select(
                AuditEvent.id,
                AuditEvent.at,
                AuditEvent.action,
                AuditEvent.entity_id,
                AuditEvent.changes,
            )
            .where((AuditEvent.id > read) & (AuditEvent.entity_type == "ticket"))
            .order_by(AuditEvent.id)
            .limit(limit)
        )
        for event in events:
            drafted += await _draft_from_event(event, autopublish, now)
            if event["at"] <= now - PROGRESS_SETTLE:
                settled = event["id"]
        if len(events) < limit:
            break
        read = events[-1]["id"]
    if settled != cursor.position:
        await Cursor.update({Cursor.position: settled}).where(
            (Cursor.name == "ticket_progress") & (Cursor.position == cursor.position)
        )
    return drafted


async def _draft_from_event(
    event: dict[str, Any], autopublish: frozenset[str], now: dt.datetime
) -> int:
    """The entries one ticket event makes on the closures in force it is linked to."""
    action = event["action"].removeprefix("ticket.")
    if action not in PUBLIC_TICKET_ACTIONS:
        return 0
    status = (_json(event["changes"]).get("status") or [None, None])[1]
    progress = TICKET_PROGRESS.get(status or "")
    if progress is None:
        return 0
    links = await ClosureTicket.select(
        ClosureTicket.closure,
        ClosureTicket.public_label_zh,
        ClosureTicket.public_label_en,
        ClosureTicket.closure.status.as_alias("closure_status"),
    ).where(ClosureTicket.ticket == event["entity_id"])
    drafted = 0
    for link in links:
        if link["closure_status"] in IN_FORCE:
            drafted += await _draft_progress(
                link, progress, event["id"], action in autopublish, now
            )
    return drafted


async def _draft_progress(
    link: dict[str, Any], progress: PublicProgress, event_id: int, publish: bool, now: dt.datetime
) -> int:
    with use_locale("zh_CN"):
        zh = _("%(work)s: %(progress)s.") % {
            "work": link["public_label_zh"],
            "progress": progress.label,
        }
    with use_locale("en"):
        en = _("%(work)s: %(progress)s.") % {
            "work": link["public_label_en"] or link["public_label_zh"],
            "progress": progress.label,
        }
    rows = (
        await NoticeUpdate.insert(
            NoticeUpdate(
                closure=link["closure"],
                state=NoticeState.PUBLISHED if publish else NoticeState.DRAFT,
                source=NoticeSource.TICKET,
                dedupe_key=f"ticket-event:{event_id}:{link['closure']}",
                text_zh=zh,
                text_en=en,
                created_at=now,
                published_at=now if publish else None,
            )
        )
        .on_conflict(action="DO NOTHING")
        .returning(NoticeUpdate.id)
    )
    if rows:  # the public progress of the linked work changed, draft or not: new ETag
        await Closure.update({Closure.updated_at: now}).where(Closure.id == link["closure"])
    return len(rows)


async def warn_promise_slips(now: dt.datetime, days: int) -> int:
    """A promise is about to slip (reopening within ``days`` while linked work is open): alert
    the supervisors and draft a delay notice, once per promise."""
    horizon = (now + dt.timedelta(days=days)).date()
    closures = await Closure.select(
        Closure.id, Closure.planned_reopen_on, Closure.asset.code.as_alias("asset_code")
    ).where(
        Closure.status.is_in(sorted(IN_FORCE))
        & Closure.planned_reopen_on.is_not_null()
        & (Closure.planned_reopen_on <= horizon)
    )
    warned = 0
    for closure in closures:
        tickets = await linked_tickets(closure["id"])
        open_work = [
            t
            for t in tickets
            if t["status"] not in DONE_TICKET_STATUSES
            and t["status"] not in IRRELEVANT_TICKET_STATUSES
        ]
        if not open_work:
            continue
        promise = (
            await ClosurePromise.select(ClosurePromise.id)
            .where(ClosurePromise.closure == closure["id"])
            .order_by(ClosurePromise.id, ascending=False)
            .first()
        )
        key = f"slip:{closure['id']}:{promise['id'] if promise else 0}"
        async with db.transaction():
            zh, en = bilingual(
                N_(
                    "The repair is taking longer than planned; "
                    "a new reopening date will be announced."
                )
            )
            drafted = (
                await NoticeUpdate.insert(
                    NoticeUpdate(
                        closure=closure["id"],
                        state=NoticeState.DRAFT,
                        source=NoticeSource.SYSTEM,
                        dedupe_key=key,
                        text_zh=zh,
                        text_en=en,
                        created_at=now,
                    )
                )
                .on_conflict(action="DO NOTHING")
                .returning(NoticeUpdate.id)
            )
            if not drafted:
                continue
            for email, language in await accounts.supervisor_addresses():
                await notifications.enqueue(
                    to=email,
                    template="closure_promise_slip",
                    language=language,
                    now=now,
                    context={
                        "closure_id": closure["id"],
                        "asset_code": closure["asset_code"],
                        "planned": closure["planned_reopen_on"],
                        "open_tickets": len(open_work),
                    },
                    dedupe_key=f"{key}:{email}",
                )
            warned += 1
    return warned


async def remind_quiet_notices(now: dt.datetime, days: int) -> int:
    """Remind the supervisors of closures in force with no published update for ``days``,
    once per quiet spell (the key names the newest update)."""
    closures = await Closure.select(
        Closure.id, Closure.activated_at, Closure.asset.code.as_alias("asset_code")
    ).where(Closure.status.is_in(sorted(IN_FORCE)))
    reminded = 0
    for closure in closures:
        latest = (
            await NoticeUpdate.select(NoticeUpdate.id, NoticeUpdate.published_at)
            .where(
                (NoticeUpdate.closure == closure["id"])
                & (NoticeUpdate.state == NoticeState.PUBLISHED)
            )
            .order_by(NoticeUpdate.published_at, ascending=False)
            .first()
        )
        since = latest["published_at"] if latest else closure["activated_at"]
        if since is None or now - since < dt.timedelta(days=days):
            continue
        key = f"quiet:{closure['id']}:{latest['id'] if latest else 0}"
        queued = 0
        for email, language in await accounts.supervisor_addresses():
            queued += (
                await notifications.enqueue(
                    to=email,
                    template="closure_quiet",
                    language=language,
                    now=now,
                    context={
                        "closure_id": closure["id"],
                        "asset_code": closure["asset_code"],
                        "since": since,
                    },
                    dedupe_key=f"{key}:{email}",
                )
                is not None
            )
        reminded += 1 if queued else 0  # a rerun queues nothing and counts nothing
    return reminded


# --- subscriptions -------------------------------------------------------------------------


def _scope_key(email: str, asset_id: int | None, site_id: int | None) -> str:
    what = f"asset:{asset_id}" if asset_id else f"site:{site_id}" if site_id else "all"
    return f"{email.strip().lower()}|{what}"


async def subscribe(data: SubscribeIn, language: str, now: dt.datetime) -> None:
    """Start a subscription and send the confirmation link (double opt-in). Says nothing about
    whether the address was already subscribed, so the form cannot be used to probe."""
    if data.website:
        return  # a bot filled the honeypot: accept silently, store nothing
    if data.asset_id and not await Asset.exists().where(Asset.id == data.asset_id):
        raise ValidationFailed({"asset_id": _("No such facility.")})
    if data.site_id and not await Site.exists().where(Site.id == data.site_id):
        raise ValidationFailed({"site_id": _("No such site.")})
    key = _scope_key(data.email, data.asset_id, data.site_id)
    async with db.transaction():
        await Subscription.insert(
            Subscription(
                email=data.email.strip().lower(),
                asset=data.asset_id,
                site=data.site_id if not data.asset_id else None,
                scope_key=key,
                language=language,
                token=secrets.token_urlsafe(32),
                created_at=now,
            )
        ).on_conflict(action="DO NOTHING")
        row = await Subscription.objects().where(Subscription.scope_key == key).first()
        assert row is not None
        if row.confirmed_at is not None and row.unsubscribed_at is None:
            return
        if row.unsubscribed_at is not None:
            await Subscription.update(
                {
                    Subscription.unsubscribed_at: None,
                    Subscription.confirmed_at: None,
                    Subscription.token: secrets.token_urlsafe(32),
                }
            ).where(Subscription.id == row.id)
            row = await Subscription.objects().where(Subscription.id == row.id).first()
            assert row is not None
        await notifications.enqueue(
            to=row.email,
            template="subscription_confirm",
            language=language,
            now=now,
            context={"token": row.token},
            dedupe_key=f"subscribe:{row.id}:{row.token}",
        )


async def confirm_subscription(token: str, now: dt.datetime) -> bool:
    rows = (
        await Subscription.update({Subscription.confirmed_at: now})
        .where(
            (Subscription.token == token[:64])
            & Subscription.confirmed_at.is_null()
            & Subscription.unsubscribed_at.is_null()
        )
        .returning(Subscription.id)
    )
    if rows:
        return True
    return await Subscription.exists().where(
        (Subscription.token == token[:64])
        & Subscription.confirmed_at.is_not_null()
        & Subscription.unsubscribed_at.is_null()
    )


async def unsubscribe(token: str, now: dt.datetime) -> bool:
    rows = (
        await Subscription.update({Subscription.unsubscribed_at: now})
        .where((Subscription.token == token[:64]) & Subscription.unsubscribed_at.is_null())
        .returning(Subscription.id)
    )
    return bool(rows) or await Subscription.exists().where(Subscription.token == token[:64])


async def fan_out(now: dt.datetime, base_url: str, limit: int = 50) -> int:
    """Queue one e-mail per confirmed subscriber for each newly published update (a unique key
    per update and subscriber makes this exactly-once), then mark the update done."""
    updates = (
        await NoticeUpdate.select(
            NoticeUpdate.id,
            NoticeUpdate.closure,
            NoticeUpdate.text_zh,
            NoticeUpdate.text_en,
            NoticeUpdate.closure._.asset._.id.as_alias("asset_id"),
            NoticeUpdate.closure._.asset._.site.as_alias("site_id"),
            NoticeUpdate.closure._.asset._.name_zh.as_alias("asset_name_zh"),
            NoticeUpdate.closure._.asset._.name_en.as_alias("asset_name_en"),
        )
        .where((NoticeUpdate.state == NoticeState.PUBLISHED) & NoticeUpdate.fanned_out_at.is_null())
        .order_by(NoticeUpdate.id)
        .limit(limit)
    )
    queued = 0
    for update in updates:
        subscribers = await Subscription.select().where(
            Subscription.confirmed_at.is_not_null()
            & Subscription.unsubscribed_at.is_null()
            & (
                (Subscription.asset == update["asset_id"])
                | (Subscription.site == update["site_id"])
                | (Subscription.asset.is_null() & Subscription.site.is_null())
            )
        )
        async with db.transaction():
            for sub in subscribers:
                url = f"{base_url}/unsubscribe/{sub['token']}"
                english = sub["language"] == "en"
                queued += bool(
                    await notifications.enqueue(
                        to=sub["email"],
                        template="notice_update",
                        language=sub["language"],
                        now=now,
                        context={
                            "closure_id": update["closure"],
                            "asset_name": (
                                update["asset_name_en"]
                                if english and update["asset_name_en"]
                                else update["asset_name_zh"]
                            ),
                            "text": update["text_en"]
                            if english and update["text_en"]
                            else update["text_zh"],
                            "unsubscribe_url": url,
                        },
                        headers={
                            "List-Unsubscribe": f"<{url}>",
                            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                        },
                        dedupe_key=f"notice:{update['id']}:{sub['id']}",
                    )
                )
            await NoticeUpdate.update({NoticeUpdate.fanned_out_at: now}).where(
                NoticeUpdate.id == update["id"]
            )
    return queued


async def count_in_force() -> int:
    return await Closure.count().where(Closure.status.is_in(sorted(IN_FORCE)))
