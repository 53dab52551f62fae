"""Moving a closure along its lifecycle: extend (a new promise, the old one kept), cancel, a
supervisor's sign-off, and lift (only through the reopening gate, or an administrator's written
override). Each write is version-checked: a stale one is a 409 and changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, can, require
from facilities.assets.tables import Asset
from facilities.audit import services as audit
from facilities.closures.choices import IN_FORCE, Status
from facilities.closures.schemas import CancelIn, ExtendIn, LiftIn
from facilities.closures.services.common import date_text
from facilities.closures.services.notices import publish_system
from facilities.closures.services.reading import fresh_closure, get_closure
from facilities.closures.services.reopening_gate import gate
from facilities.closures.tables import Closure, ClosurePromise
from facilities.errors import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from facilities.i18n import gettext as _
from facilities.i18n import use_locale
from facilities.lib import horizons
from facilities.records import versioned_update


def _changed_first() -> Conflict:
    """The 409 of a step taken on a closure someone else changed first."""
    return Conflict(_("Someone else changed this closure first. Reload it and try again."))


async def _bump(
    closure: Closure, expected_version: int, values: dict[Any, Any], now: dt.datetime
) -> None:
    """Write ``values`` only if the closure is still at ``expected_version`` (409 otherwise)."""
    await versioned_update(Closure, closure.id, expected_version, values, now, _changed_first())


async def _within_horizon(
    closure: Closure, now: dt.datetime, field: str, label: str, value: dt.date | dt.datetime
) -> None:
    """Refuse a typed date outside the horizon (:mod:`facilities.lib.horizons`)."""
    row = await Asset.select(Asset.built_year).where(Asset.id == closure.asset).first()
    window = horizons.bounds(now, row["built_year"] if row else None)
    errors = horizons.check(window, {field: (label, value)})
    if errors:
        raise ValidationFailed(errors)


async def _check_extension(closure: Closure, data: ExtendIn, now: dt.datetime) -> None:
    """The rules of an extension (also checked by its preview, before anything is saved)."""
    if closure.status not in {Status.ACTIVE, Status.EXTENDED}:
        raise InvalidTransition(_("Only a closure in force can be extended."))
    if not data.reason_zh.strip():
        raise ValidationFailed({"reason_zh": _("Say why the reopening moves.")})
    await _within_horizon(
        closure, now, "planned_reopen_on", _("Expected reopening"), data.planned_reopen_on
    )
    if closure.planned_reopen_on and data.planned_reopen_on <= closure.planned_reopen_on:
        raise ValidationFailed(
            {
                "planned_reopen_on": _(
                    "An extension moves the reopening later than the current promise."
                )
            }
        )


def extension_texts(data: ExtendIn) -> tuple[str, str]:
    """The public timeline entry of an extension, (Chinese, English): the notice publishes
    exactly this, and its preview shows it."""
    zh = date_text(data.planned_reopen_on, data.reopen_precision, "zh_CN")
    en = date_text(data.planned_reopen_on, data.reopen_precision, "en")
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
    return text_zh, text_en


async def check_extension(actor: Actor, closure_id: int, data: ExtendIn, now: dt.datetime) -> None:
    """Refuse an extension as :func:`extend` would, without saving (the preview's check)."""
    require(actor, Perm.CLOSURES_EDIT)
    await _check_extension(await get_closure(actor, closure_id), data, now)


async def extend(actor: Actor, closure_id: int, data: ExtendIn, now: dt.datetime) -> Closure:
    """Move the promised reopening; the old promise stays visible and the notice says why."""
    require(actor, Perm.CLOSURES_EDIT)
    async with db.transaction():
        closure = await get_closure(actor, closure_id)
        if closure.status not in {Status.ACTIVE, Status.EXTENDED}:
            raise InvalidTransition(_("Only a closure in force can be extended."))
        if closure.version != data.version:
            raise _changed_first()
        await _check_extension(closure, data, now)
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
        text_zh, text_en = extension_texts(data)
        await publish_system(
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
    return await fresh_closure(closure_id)


def cancel_texts(data: CancelIn) -> tuple[str, str]:
    """The public timeline entry of a closure in force called off, (Chinese, English): the
    notice publishes exactly this, and its preview shows it."""
    reason_zh, reason_en = data.reason_zh.strip(), data.reason_en.strip()
    with use_locale("zh_CN"):
        text_zh = _("The closure was called off: %(reason)s") % {"reason": reason_zh}
    with use_locale("en"):
        text_en = _("The closure was called off: %(reason)s") % {"reason": reason_en or reason_zh}
    return text_zh, text_en


async def cancel(actor: Actor, closure_id: int, data: CancelIn, now: dt.datetime) -> Closure:
    """Call the closure off; one that was in force says so on its public timeline."""
    require(actor, Perm.CLOSURES_EDIT)
    async with db.transaction():
        closure = await get_closure(actor, closure_id)
        if closure.status not in {Status.PLANNED, Status.ACTIVE, Status.EXTENDED}:
            raise InvalidTransition(_("This closure can no longer be cancelled."))
        if closure.version != data.version:
            raise _changed_first()
        reason_zh = data.reason_zh.strip()
        if not reason_zh:
            raise ValidationFailed({"reason_zh": _("Say why the closure is cancelled.")})
        await _bump(
            closure,
            data.version,
            {Closure.status: Status.CANCELLED, Closure.sequence: closure.sequence + 1},
            now,
        )
        if closure.status != Status.PLANNED:
            text_zh, text_en = cancel_texts(data)
            await publish_system(closure.id, f"cancelled:{closure.id}", text_zh, text_en, now)
        await audit.record(
            actor,
            "closure.cancelled",
            "closure",
            closure.id,
            now,
            {"status": closure.status},
            {"status": Status.CANCELLED, "reason": reason_zh},
        )
    return await fresh_closure(closure_id)


async def sign_off(actor: Actor, closure_id: int, version: int, now: dt.datetime) -> Closure:
    """A supervisor confirms the verified repair; only once criteria 1-3 are met."""
    require(actor, Perm.CLOSURES_SIGN_OFF)
    async with db.transaction():
        closure = await get_closure(actor, closure_id)
        if closure.status not in IN_FORCE:
            raise InvalidTransition(_("Only a closure in force can be signed off."))
        if closure.version != version:
            raise _changed_first()
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
    return await fresh_closure(closure_id)


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
            raise _changed_first()
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
        await _within_horizon(closure, now, "reopens_at", _("Reopens at"), reopens_at)
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
    return await fresh_closure(closure_id)
