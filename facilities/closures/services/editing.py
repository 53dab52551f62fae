"""Planning a closure and editing its facts: the cross-field rules, the audit snapshot, and the
promise of a still-planned closure corrected in place (a closure in force moves its
reopening only by extending, see :mod:`.lifecycle`)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.assets.tables import Asset
from facilities.audit import services as audit
from facilities.closures.choices import IN_FORCE, SafetyMeasure, Scope, Status
from facilities.closures.schemas import ClosureIn
from facilities.closures.services.activation import activate
from facilities.closures.services.places import read_places
from facilities.closures.services.reading import fresh_closure, get_closure
from facilities.closures.tables import Closure, ClosurePromise
from facilities.errors import Conflict, InvalidTransition, ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib import horizons
from facilities.records import loads, versioned_update

#: The facts staff edit on a closure (the form, the API and the audit snapshot).
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
    "extent",
    "detour_line",
    "fences",
    "entrances",
    "reopening_criteria_zh",
    "reopening_criteria_en",
    "effective_from",
    "is_urgent",
)


def snapshot(closure: Closure) -> dict[str, Any]:
    """The closure's facts as the audit trail records them (before and after a change)."""
    values = {name: getattr(closure, name) for name in EDITABLE}
    values["safety_measures"] = loads(values["safety_measures"])
    values.update(
        status=closure.status,
        planned_reopen_on=closure.planned_reopen_on,
        reopen_precision=closure.reopen_precision,
    )
    return values


def _values(data: ClosureIn) -> dict[str, Any]:
    """The editable columns' values from the input (measures as sorted JSON, texts stripped)."""
    values = {name: getattr(data, name) for name in EDITABLE}
    values["safety_measures"] = json.dumps(sorted({m.value for m in data.safety_measures}))
    for name in ("reason_zh", "reason_en", "detour_zh", "detour_en"):
        values[name] = values[name].strip()
    return values


async def _check(
    data: ClosureIn, now: dt.datetime, closure: Closure | None = None
) -> dict[str, Any]:
    """The rules across fields (the Struct checks each field alone); returns the drawings as
    they will be stored (:mod:`.places`)."""
    places, errors = await read_places(data)
    asset = await Asset.select(Asset.built_year).where(Asset.id == data.asset_id).first()
    if asset is None:
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
    errors.update(
        {
            name: message
            for name, message in _date_bounds(
                now, asset["built_year"] if asset else None, data
            ).items()
            # an edit is refused for what was typed, not for a date stored before the rule
            if name not in errors
            and (closure is None or getattr(closure, name) != getattr(data, name))
        }
    )
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
    return places


def _date_bounds(now: dt.datetime, built_year: int | None, data: ClosureIn) -> dict[str, str]:
    """The typed dates outside the horizon (:mod:`facilities.lib.horizons`)."""
    return horizons.check(
        horizons.bounds(now, built_year),
        {
            "effective_from": (_("Closed from"), data.effective_from),
            "planned_reopen_on": (_("Expected reopening"), data.planned_reopen_on),
        },
    )


async def create_closure(
    actor: Actor, data: ClosureIn, now: dt.datetime, proposal_id: int | None = None
) -> Closure:
    """Plan a closure; one that starts now or earlier is in force at once, with its notice."""
    require(actor, Perm.CLOSURES_EDIT)
    async with db.transaction():
        places = await _check(data, now)
        closure = Closure(
            asset=data.asset_id,
            **(_values(data) | places),
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
            await activate(closure.id, now)
    return await fresh_closure(closure.id)


async def check_closure(
    actor: Actor, data: ClosureIn, now: dt.datetime, closure_id: int | None = None
) -> None:
    """Refuse ``data`` as :func:`create_closure` (or, with ``closure_id``,
    :func:`update_closure`) would, without saving: the check before the public preview."""
    require(actor, Perm.CLOSURES_EDIT)
    if closure_id is None:
        await _check(data, now)
        return
    closure = await get_closure(actor, closure_id)
    if closure.status in {Status.LIFTED, Status.CANCELLED}:
        raise InvalidTransition(_("A lifted or cancelled closure cannot be edited."))
    await _check(data, now, closure)
    if data.asset_id != closure.asset:
        raise ValidationFailed({"asset_id": _("A closure cannot move to another asset.")})


def _stale() -> Conflict:
    """The 409 of an edit made on a closure someone else saved first."""
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
        places = await _check(data, now, closure)
        if data.asset_id != closure.asset:
            raise ValidationFailed({"asset_id": _("A closure cannot move to another asset.")})
        before = snapshot(closure)
        values = _values(data) | places
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
        await versioned_update(
            Closure,
            closure.id,
            data.version,
            {getattr(Closure, k): v for k, v in values.items()},
            now,
            _stale(),
        )
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
        updated = await fresh_closure(closure.id)
        await audit.record(
            actor, "closure.updated", "closure", closure.id, now, before, snapshot(updated)
        )
        if updated.status == Status.PLANNED and updated.effective_from <= now:
            await activate(updated.id, now)
    return await fresh_closure(closure_id)
