"""Saved filters, the pages: save the filters of a list under a name, delete one.

The lists that take query filters, each with the filter schema its page parses the query with
(``LISTS``), live here because this module sits above every domain whose list it names (the
service, :mod:`facilities.accounts.saved_filters`, sits below them and is handed the schema).
Each list page shows its saved filters with ``partials/_saved_filters.html``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, post
from litestar.response import Redirect

from facilities.accounts import saved_filters
from facilities.accounts.guards import require_actor
from facilities.assets.schemas import AssetFilters
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.tickets.schemas import TicketFilters
from facilities.web.auth import staff_guard
from facilities.web.forms import form_values
from facilities.web.params import IdParam
from facilities.web.responses import redirect


class InspectionListFilters(msgspec.Struct, kw_only=True):
    """The inspection list's query (``inspections.pages._listed`` reads it parameter by
    parameter): an asset, only mine, only overdue."""

    asset: Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)] | None = None
    mine: bool = False
    overdue: bool = False


@dataclasses.dataclass(frozen=True)
class SavedList:
    """A list whose filters can be saved: where it is and the schema of its query."""

    path: str
    schema: type[msgspec.Struct]


LISTS: dict[str, SavedList] = {
    "tickets": SavedList("/tickets", TicketFilters),
    "mine": SavedList("/tickets/mine", TicketFilters),
    "inspections": SavedList("/inspections", InspectionListFilters),
    "assets": SavedList("/assets", AssetFilters),
}


def _list_of(key: str) -> SavedList:
    found = LISTS.get(key)
    if found is None:
        message = _("Filters of this list cannot be saved.")
        raise ValidationFailed({"list": message}, message)
    return found


class SavedFilterController(Controller):
    path = "/saved-filters"
    guards = [staff_guard]
    include_in_schema = False

    @post("/")
    async def create(self, request: Request[Any, Any, Any], now: dt.datetime) -> Redirect:
        """Save the list's current filters (the form carries them as ``query``) and show the
        list through the saved, normalised query."""
        actor = require_actor(request)
        values = await form_values(request)
        key = values.get("list", "")
        target = _list_of(key)
        saved = await saved_filters.save_filter(
            actor,
            key,
            target.schema,
            values.get("name", ""),
            values.get("query", ""),
            now,
            shared=values.get("shared", "") in ("true", "on"),
        )
        url = target.path + (f"?{saved.query}" if saved.query else "")
        return redirect(url, _("Filter “%(name)s” saved.") % {"name": saved.name})

    @post("/{filter_id:int}/delete")
    async def delete(self, request: Request[Any, Any, Any], filter_id: IdParam) -> Redirect:
        key = await saved_filters.delete_filter(require_actor(request), filter_id)
        target = LISTS.get(key)
        return redirect(target.path if target else "/staff", _("Saved filter deleted."))
