"""The closure form on the staff pages: a closure as the form's values (times in the bureau's
zone), the posted form read back into ``ClosureIn`` (with its checkboxes of safety measures),
and the choices and messages the form pages show, and the preview step before a form publishes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request

from facilities.accounts.permissions import Actor
from facilities.assets import services as assets
from facilities.closures import services as closures
from facilities.closures.choices import SafetyMeasure
from facilities.closures.schemas import ClosureForm, ClosureIn
from facilities.i18n import gettext as _
from facilities.web.forms import parse_form
from facilities.web.params import zone_of


def local_input(value: dt.datetime | None, zone: ZoneInfo) -> str:
    """An instant as a ``datetime-local`` input's value in ``zone`` (empty for none)."""
    return value.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if value else ""


def closure_form(closure: Any, zone: ZoneInfo, measures: list[str]) -> dict[str, Any]:
    """The edit form's values for a stored closure."""
    form = {
        name: ("" if getattr(closure, name) is None else getattr(closure, name))
        for name in closures.EDITABLE
        if name != "safety_measures"
    }
    form.update(
        asset_id=closure.asset,
        effective_from=local_input(closure.effective_from, zone),
        planned_reopen_on=closure.planned_reopen_on.isoformat()
        if closure.planned_reopen_on
        else "",
        reopen_precision=closure.reopen_precision,
        safety_measures=measures,
        version=closure.version,
    )
    return form


async def read_closure_form(
    request: Request[Any, Any, Any],
) -> tuple[ClosureIn | None, dict[str, str], dict[str, Any]]:
    """(ClosureIn or None, errors, the typed values to refill the form)."""
    form = await request.form()
    measures = [str(m) for m in form.getall("safety_measures", [])]
    data, errors, values = await parse_form(request, ClosureForm)
    form_data: dict[str, Any] = {**values, "safety_measures": measures}
    known = {m.value for m in SafetyMeasure}
    if any(m not in known for m in measures):
        errors["safety_measures"] = _("Choose one of the listed options.")
    if data is None or errors:
        return None, errors, form_data
    try:
        closure_in = data.to_in(
            zone_of(request), [SafetyMeasure(m) for m in dict.fromkeys(measures)]
        )
    except ValueError:
        return None, {"effective_from": _("Enter a date and time.")}, form_data
    return closure_in, {}, form_data


async def asset_options(actor: Actor) -> list[tuple[int, str]]:
    """The assets a closure can be planned on, as (id, "code name") choices."""
    rows = await assets.all_asset_choices(actor)
    return [(r["id"], f"{r['code']} {r['name_zh']}") for r in rows]


def field_error_of(errors: dict[str, str]) -> str:
    """One message for a form whose fields are not shown (the first error, or a general one)."""
    return next(iter(errors.values()), _("Some of the values sent are not valid."))


#: Fields of a closure form that steer the preview, not data.
PREVIEW_FIELDS = frozenset({"intent", "previewed"})


def digest(values: dict[str, Any]) -> str:
    """A fingerprint of the form's values: "confirm" publishes only what was previewed."""
    data = {k: v for k, v in values.items() if k not in PREVIEW_FIELDS}
    text = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def previewing(values: dict[str, Any], publishes: bool = True) -> bool:
    """Show the public wording's preview (nothing saved) rather than save: asked for, or the
    form was changed after its preview (confirming would publish words nobody has read). Only
    ``intent=publish`` with the fingerprint of the preview saves; a post without ``intent``
    (a script, not the form) saves at once, and so does one that publishes nothing."""
    intent = values.get("intent")
    if intent is None or not publishes:
        return False
    return intent != "publish" or values.get("previewed") != digest(values)
