"""Bulk changes from the ticket list, the pages: the list's selection and chosen change are
posted to a preview (what changes on each ticket, what is skipped and why), whose confirm form
carries each ticket's version; confirming applies them ticket by ticket and shows the outcome.
The rules are in :mod:`facilities.tickets.services.bulk`. Plain forms: no script is needed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, post
from litestar.response import Template

from facilities.accounts import services as accounts
from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import Actor, can, require
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib.forms import parse_fields
from facilities.tickets.services import bulk
from facilities.web.auth import staff_guard
from facilities.web.forms import form_values
from facilities.web.responses import render, safe_next

#: The form fields that are not the change itself.
SELECTION_FIELDS = ("ticket", "page_ticket", "all_on_page", "item", "back")


async def list_choices(actor: Actor) -> dict[str, Any]:
    """What the ticket list needs for its bulk form: whether to show it, and its choices."""
    allowed = can(actor, Perm.TICKETS_EDIT)
    return {
        "can_bulk": allowed,
        "bulk_actions": bulk.BulkAction.options(),
        "bulk_assignees": await accounts.staff_options(able_to=Perm.TICKETS_WORK)
        if allowed
        else [],
        "bulk_max": bulk.MAX_SELECTION,
    }


async def _change(request: Request[Any, Any, Any]) -> bulk.BulkChange:
    values = {k: v for k, v in (await form_values(request)).items() if k not in SELECTION_FIELDS}
    change, errors = parse_fields(bulk.BulkChange, values)
    if change is None:
        raise ValidationFailed(errors, "; ".join(errors.values()))
    return change


async def _back(request: Request[Any, Any, Any]) -> str:
    """The list to go back to (the same site's ticket list only)."""
    target = safe_next(str((await request.form()).get("back") or ""), "/tickets")
    return target if target.startswith("/tickets") else "/tickets"


async def _context(request: Request[Any, Any, Any], result: bulk.Result) -> dict[str, Any]:
    return {
        "result": result,
        "staff_names": dict(await accounts.staff_options()),
        "back": await _back(request),
    }


class TicketBulkController(Controller):
    path = "/tickets/bulk"
    guards = [staff_guard]
    include_in_schema = False

    @post("/preview")
    async def preview(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        """What the change would do to each selected ticket; writes nothing."""
        actor = require(require_actor(request), Perm.TICKETS_EDIT)
        form = await request.form()
        chosen = form.getall("ticket", [])
        if form.get("all_on_page") in ("true", "on"):  # the header box, with or without script
            chosen = [*chosen, *form.getall("page_ticket", [])]
        ids = bulk.selected_ids([str(v) for v in chosen])
        result = await bulk.preview(actor, ids, await _change(request), now)
        return render(request, "tickets/bulk_preview.html", **await _context(request, result))

    @post("/confirm")
    async def confirm(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        """Apply the previewed change at the versions the preview showed (``item``:
        ``ticket:version``), ticket by ticket, and show the outcome."""
        actor = require(require_actor(request), Perm.TICKETS_EDIT)
        form = await request.form()
        versions: dict[int, int] = {}
        for item in form.getall("item", []):
            ticket, _sep, version = str(item).partition(":")
            if not (ticket.isdecimal() and version.isdecimal()):
                message = _("The selection holds something that is not a ticket.")
                raise ValidationFailed({"item": message}, message)
            versions.setdefault(int(ticket), int(version))
        bulk.selected_ids([str(i) for i in versions])  # none, or too many: refused
        result = await bulk.apply(actor, versions, await _change(request), now)
        return render(request, "tickets/bulk_done.html", **await _context(request, result))
