"""What citizens would read if a staff form were confirmed: the public view of a closure as the
form would leave it, built from the same :class:`~.views.PublicClosure` the public pages read
(nothing is saved). The staff pages render it with the public notice's own template
(``facilities.public.wording.notice_preview``), so the preview and the notice cannot differ."""

from __future__ import annotations

import dataclasses
import datetime as dt

from facilities.closures.choices import Status
from facilities.closures.public.listings import closure as public_closure
from facilities.closures.public.views import Promise, PublicClosure, public_assets
from facilities.closures.schemas import ClosureIn, ExtendIn
from facilities.closures.services.places import SHAPES
from facilities.errors import NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib import geo

#: The id a closure not saved yet shows in its preview.
UNSAVED = 0


def _facts(data: ClosureIn) -> dict[str, object]:
    return {
        "scope": data.scope,
        "affected_part_zh": data.affected_part_zh.strip(),
        "affected_part_en": data.affected_part_en.strip(),
        "crowd_limit": data.crowd_limit,
        "hours_zh": data.hours_zh.strip(),
        "hours_en": data.hours_en.strip(),
        "reason": data.reason,
        "reason_zh": data.reason_zh.strip(),
        "reason_en": data.reason_en.strip(),
        "safety_measures": sorted({m.value for m in data.safety_measures}),
        "detour_zh": data.detour_zh.strip(),
        "detour_en": data.detour_en.strip(),
        **{name: _drawn(getattr(data, name)) for name in SHAPES},
        "reopening_criteria_zh": data.reopening_criteria_zh,
        "reopening_criteria_en": data.reopening_criteria_en,
        "effective_from": data.effective_from,
        "is_urgent": data.is_urgent,
    }


def _drawn(typed: str) -> str:
    """A drawing as it would be stored ("" when empty; the form was checked before a preview)."""
    if not typed.strip():
        return ""
    try:
        return geo.dump(geo.parse_geometry(typed, "geometry"))
    except ValidationFailed:
        return ""


async def _current(closure_id: int) -> PublicClosure:
    found = await public_closure(closure_id)
    if found is None:
        raise NotFound(_("No such closure."))
    return found


async def of_new(data: ClosureIn, now: dt.datetime) -> PublicClosure:
    """The notice of a closure about to be planned (in force at once if it starts by ``now``)."""
    assets = await public_assets({data.asset_id})
    if data.asset_id not in assets:
        raise NotFound(_("No such asset."))
    return PublicClosure(
        id=UNSAVED,
        asset=assets[data.asset_id],
        **_facts(data),  # type: ignore[arg-type]
        planned_reopen_on=data.planned_reopen_on,
        reopen_precision=data.reopen_precision,
        status=Status.ACTIVE if data.effective_from <= now else Status.PLANNED,
        reopens_at=None,
        reopening_announced_at=None,
        sequence=0,
        updated_at=now,
        created_at=now,
        promises=[Promise(now, data.planned_reopen_on, data.reopen_precision, "", "")],
        progress=[],
    )


async def of_edit(closure_id: int, data: ClosureIn, now: dt.datetime) -> PublicClosure:
    """The notice after an edit: a planned closure's promise is corrected in place (and it is in
    force at once if it now starts by ``now``); a closure in force keeps its promises."""
    current = await _current(closure_id)
    changes: dict[str, object] = {**_facts(data), "updated_at": now}
    if current.status == Status.PLANNED:
        changes.update(
            planned_reopen_on=data.planned_reopen_on,
            reopen_precision=data.reopen_precision,
            promises=[Promise(now, data.planned_reopen_on, data.reopen_precision, "", "")],
            status=Status.ACTIVE if data.effective_from <= now else Status.PLANNED,
        )
    return dataclasses.replace(current, **changes)  # type: ignore[arg-type]


async def of_extension(closure_id: int, data: ExtendIn, now: dt.datetime) -> PublicClosure:
    """The notice after an extension: the new promise, the earlier ones kept as revisions."""
    current = await _current(closure_id)
    promise = Promise(
        now,
        data.planned_reopen_on,
        data.reopen_precision,
        data.reason_zh.strip(),
        data.reason_en.strip(),
    )
    return dataclasses.replace(
        current,
        planned_reopen_on=data.planned_reopen_on,
        reopen_precision=data.reopen_precision,
        status=Status.EXTENDED,
        promises=[*current.promises, promise],
        updated_at=now,
    )
