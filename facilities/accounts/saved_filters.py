"""Saved filters: a list's filters a person keeps under a name and finds again as a link on
that list; supervisors and admins may share one with everyone.

Accounts sits below the domains whose lists these are, so it knows no list's filters: the
caller hands in the list's filter schema (a msgspec Struct, the one the list page parses its
query with), and :func:`normalise` keeps only that schema's parameters, each parsed and checked
and written back in one canonical form, leaving out defaults and the page cursor. What is
stored therefore always parses: following a saved filter cannot fail later, and the same
filters saved twice read the same.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec

from facilities.accounts.choices import Role
from facilities.accounts.permissions import Actor
from facilities.accounts.tables import SavedFilter
from facilities.errors import NotFound, PermissionDenied, ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib.forms import parse_fields
from facilities.records import valid_id

#: Parameters never saved: where a page of the list starts is not a filter.
PAGING = frozenset({"after", "page"})
MAX_NAME = 80
MAX_QUERY = 2000
#: Who may share a filter with everyone (and delete a shared one they did not make).
SHARERS = frozenset({Role.ADMIN, Role.SUPERVISOR})


def _refused(field: str, message: str) -> ValidationFailed:
    """A 400 whose page says the message itself (the list page has no form to mark)."""
    return ValidationFailed({field: message}, message)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def normalise(schema: type[msgspec.Struct], query: str) -> str:
    """The query string ``query`` as ``schema`` reads it: its known parameters only (in the
    schema's order, the first value of each, paging left out), each parsed and written back,
    defaults dropped. ValidationFailed, naming the parameters, when one is not valid."""
    if len(query) > MAX_QUERY:
        raise _refused("query", _("These filters are too long to save."))
    pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    fields = [f for f in schema.__struct_fields__ if f not in PAGING]
    given: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            given.setdefault(key, value)
    parsed, errors = parse_fields(schema, given, checkboxes_absent_false=True)
    if parsed is None:
        raise _refused(
            "query", _("Some filters are not valid: %(fields)s") % {"fields": ", ".join(errors)}
        )
    defaults = schema()
    kept = []
    for name in fields:
        value, default = getattr(parsed, name), getattr(defaults, name)
        if name not in given:
            continue
        if not given[name].strip() and isinstance(default, str) and default:
            # sent empty where the default is not: the list reads that as "any" (the ticket
            # list's status), so it is kept as sent
            kept.append((name, ""))
        elif value != default:
            kept.append((name, "" if value is None else _text(value)))
    return urlencode(kept)


def _name(name: str) -> str:
    clean = " ".join(name.split())
    if not clean:
        raise _refused("name", _("Give the filter a name."))
    if len(clean) > MAX_NAME or "\x00" in clean:
        raise _refused("name", _("Use at most 80 characters for the name."))
    return clean


async def save_filter(
    actor: Actor,
    list_key: str,
    schema: type[msgspec.Struct],
    name: str,
    query: str,
    now: dt.datetime,
    *,
    shared: bool = False,
) -> SavedFilter:
    """Keep ``query`` (normalised through ``schema``) as the actor's filter ``name`` on the
    list ``list_key``; 400 when a filter is not valid or the actor already has that name
    there, 403 when someone who may not share asks to."""
    if actor.id is None:  # the system actor has no lists to come back to
        raise PermissionDenied(_("Only a person can save filters."))
    if shared and actor.role not in SHARERS:
        raise PermissionDenied(_("Only supervisors and administrators share filters."))
    clean = _name(name)
    normalised = normalise(schema, query)
    inserted = (
        await SavedFilter.insert(
            SavedFilter(
                user=actor.id,
                list_key=list_key,
                name=clean,
                query=normalised,
                is_shared=shared,
                created_at=now,
            )
        )
        .on_conflict(
            target=(SavedFilter.user, SavedFilter.list_key, SavedFilter.name),
            action="DO NOTHING",
        )
        .returning(SavedFilter.id)
    )
    if not inserted:
        raise _refused(
            "name",
            _(
                "You already have a filter named “%(name)s” on this list. "
                "Choose another name, or delete that one first."
            )
            % {"name": clean},
        )
    saved = await SavedFilter.objects().where(SavedFilter.id == inserted[0]["id"]).first()
    assert saved is not None
    return saved


async def visible_filters(actor: Actor, list_key: str) -> list[dict[str, Any]]:
    """The filters the actor sees on a list: their own and everyone's shared ones, by name;
    each with ``owner`` (a name), ``is_own`` and ``can_delete``."""
    if actor.id is None:
        return []
    condition = (SavedFilter.list_key == list_key) & (
        (SavedFilter.user == actor.id) | (SavedFilter.is_shared == True)  # noqa: E712
    )
    rows = (
        await SavedFilter.select(
            SavedFilter.id,
            SavedFilter.user,
            SavedFilter.name,
            SavedFilter.query,
            SavedFilter.is_shared,
            SavedFilter.user.display_name.as_alias("owner"),
        )
        .where(condition)
        .order_by(SavedFilter.name)
        .order_by(SavedFilter.id)
    )
    for row in rows:
        row["is_own"] = row["user"] == actor.id
        row["can_delete"] = _may_delete(actor, row)
    return rows  # type: ignore[no-any-return]


def _may_delete(actor: Actor, row: Mapping[str, Any]) -> bool:
    return bool(row["user"] == actor.id or (row["is_shared"] and actor.role in SHARERS))


async def delete_filter(actor: Actor, filter_id: int) -> str:
    """Delete a saved filter: one's own, or (supervisors, admins) a shared one. Someone else's
    private filter is answered as if it did not exist. Returns the list key it was on."""
    row = (
        await SavedFilter.select(
            SavedFilter.id, SavedFilter.user, SavedFilter.list_key, SavedFilter.is_shared
        )
        .where(SavedFilter.id == filter_id)
        .first()
        if valid_id(filter_id)
        else None
    )
    if row is None or (row["user"] != actor.id and not row["is_shared"]):
        raise NotFound(_("No such saved filter."))
    if not _may_delete(actor, row):
        raise PermissionDenied(_("Only its owner, a supervisor or an administrator may delete it."))
    await SavedFilter.delete().where(SavedFilter.id == filter_id)
    return str(row["list_key"])


@dataclasses.dataclass(frozen=True)
class OnList:
    """What ``partials/_saved_filters.html`` shows on a list: its key, the filters the actor
    sees there and whether they may share one."""

    key: str
    rows: list[dict[str, Any]]
    can_share: bool


async def on_list(actor: Actor, list_key: str) -> OnList:
    return OnList(list_key, await visible_filters(actor, list_key), actor.role in SHARERS)
