"""How an audit event reads on a history: each field by its form label, each value by its label.

The trail stores what changed as the code names it (``assignee_id``, ``deck_damage``, ``False``,
an ISO date in UTC). A reader sees the words of the form they fill in, in their own language: a
field by its form label, a choice by its label, a boolean as 是/否 (Yes/No), a member of staff by
name, a date and an instant in the bureau's zone.

Each domain describes the fields its services audit, once, in its ``labels`` module
(``describe("ticket", {...})``), keyed by the first part of the action code (``ticket.updated``
-> ``ticket``). Audit sits below the domains, so they tell it; it never imports them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from facilities.errors import ValidationFailed
from facilities.i18n import N_, Msg, translate
from facilities.i18n import gettext as _
from facilities.lib import geo
from facilities.web.templating import format_day, format_instant, format_number

Names = Mapping[int, str]
Show = Callable[[Any, Names], str]


def text(value: Any, names: Names) -> str:
    """Free text as it was written."""
    return str(value)


def yes_no(value: Any, names: Names) -> str:
    return _("Yes") if value else _("No")


def day(value: Any, names: Names) -> str:
    try:
        return format_day(dt.date.fromisoformat(str(value)[:10]))
    except ValueError:
        return str(value)


def instant(value: Any, names: Names) -> str:
    """An instant in the bureau's zone (the trail stores it in UTC)."""
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return format_instant(moment)


def number(value: Any, names: Names) -> str:
    try:
        return format_number(float(Decimal(str(value))), 2)
    except (InvalidOperation, ValueError):
        return str(value)


def user(value: Any, names: Names) -> str:
    """A member of staff by name (``#id`` when the account is gone)."""
    try:
        key = int(value)
    except (TypeError, ValueError):
        return str(value)
    return names.get(key) or f"#{key}"


def listing(value: Any, names: Names) -> str:
    """A list of names (components not scored)."""
    if isinstance(value, list | tuple):
        return _(", ").join(str(item) for item in value)
    return str(value)


#: A drawing's kind in words (the GeoJSON type names are code).
_SHAPE_WORDS = {
    "Point": N_("a point"),
    "MultiPoint": N_("points"),
    "LineString": N_("a line"),
    "MultiLineString": N_("lines"),
    "Polygon": N_("an area"),
    "MultiPolygon": N_("areas"),
}


def drawing(value: Any, names: Names) -> str:
    """A drawn geometry (stored GeoJSON text) as its kind and size ("a line, 76.6 m"), not as
    the coordinates nobody reads; the map on the record's page shows the shape."""
    try:
        shape = geo.parse_geometry(str(value), "geometry")
    except ValidationFailed:
        return str(value)[:80]
    kind = translate(_SHAPE_WORDS.get(shape.geom_type, shape.geom_type))
    if shape.geom_type in {"LineString", "MultiLineString"}:
        size = geo.format_length(geo.length_m(shape))
    elif shape.geom_type in {"Polygon", "MultiPolygon"}:
        size = geo.format_area(geo.area_m2(shape))
    else:
        return kind
    return _("{kind}, {size}").format(kind=kind, size=size)


def record(value: Any, names: Names) -> str:
    """Another record by its number (#12)."""
    return f"#{value}"


class choice:
    """A stored choice by its label; a list of them as a list of labels."""

    def __init__(self, choices: type[Enum]) -> None:
        self.choices = choices

    def __call__(self, value: Any, names: Names) -> str:
        if isinstance(value, list | tuple):
            return _(", ").join(self(item, names) for item in value)
        try:
            return str(self.choices(value).label)  # type: ignore[attr-defined]
        except ValueError:
            return str(value)


class labelled:
    """A code from a fixed list by its label (codes that are not an enum: reopening criteria)."""

    def __init__(self, labels: Mapping[str, str | Msg]) -> None:
        self.labels = labels

    def __call__(self, value: Any, names: Names) -> str:
        if isinstance(value, list | tuple):
            return _(", ").join(self(item, names) for item in value)
        return translate(self.labels[value]) if value in self.labels else str(value)


@dataclasses.dataclass(frozen=True)
class Field:
    """One audited field: its label (the form's msgid) and how its values read."""

    label: str | Msg
    show: Show = text


_FIELDS: dict[str, dict[str, Field]] = {}


def describe(prefix: str, fields: Mapping[str, Field]) -> None:
    """Say how the fields audited under actions ``<prefix>.*`` read (once per domain); a full
    action code (``closure.proposal_dismissed``) describes what differs for that action."""
    _FIELDS.setdefault(prefix, {}).update(fields)


def fields_for(action: str) -> Mapping[str, Field]:
    """How the fields of an event with this action code read."""
    return {**_FIELDS.get(action.split(".", 1)[0], {}), **_FIELDS.get(action, {})}


def user_ids(events: list[dict[str, Any]]) -> set[int]:
    """The staff ids named in the events' changes (to look their names up once)."""
    found: set[int] = set()
    for event in events:
        fields = fields_for(event["action"])
        for name, pair in (event.get("changes") or {}).items():
            field = fields.get(name)
            if field is None or field.show is not user:
                continue
            for value in pair:
                if isinstance(value, int) and not isinstance(value, bool):
                    found.add(value)
    return found


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


@dataclasses.dataclass(frozen=True)
class Change:
    field: str
    label: str
    before: str
    after: str


def changes(event: Mapping[str, Any]) -> list[Change]:
    """The event's changes as a reader reads them, in the active language ("—" for nothing)."""
    fields = fields_for(str(event["action"]))
    names: Names = event.get("names") or {}
    rows = []
    for name, pair in (event.get("changes") or {}).items():
        field = fields.get(name)
        if field is None:  # not described: said plainly rather than hidden
            field = Field(name)
        before, after = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
        rows.append(
            Change(
                field=name,
                label=translate(field.label),
                before="—" if _blank(before) else field.show(before, names),
                after="—" if _blank(after) else field.show(after, names),
            )
        )
    return rows
