"""The ticket board: ``/tickets/board`` (columns by status, full counts, swimlanes by priority or
assignee with ``?lanes=``, the list's filters kept) and ``/tickets/board/move`` (a card moved to
another column, through the same service and guards as the ticket page's buttons; see
:mod:`facilities.tickets.services.board`).

The move is one handler for both kinds of client. The card's "Move to…" form posts it as any
form does (CSRF token, one-time key) and is answered with a redirect back to the same board, or
the board again with the refusal. ``static/js/board.js`` sends the same fields with ``fetch``
(CSRF header, ``Idempotency-Key``, ``Accept: application/json``) when a card is dropped, and is
answered with the card's new state, or the refusal as ``{"detail": ...}``, so it can put the card
back and say why, in the reader's language.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Response, Template

from facilities.accounts import services as accounts
from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import can
from facilities.assets import services as assets
from facilities.errors import DomainError, ValidationFailed
from facilities.i18n import gettext as _
from facilities.tickets import services as tickets
from facilities.tickets.choices import Status
from facilities.tickets.pages import _filters
from facilities.tickets.schemas import BoardMoveIn
from facilities.tickets.services import board as board_service
from facilities.web.auth import staff_guard
from facilities.web.forms import parse_form
from facilities.web.responses import redirect, render, wants_json

#: Query parameters the board itself reads; the rest are the list's filters.
BOARD_PARAMS = ("lanes",)


def _board_query(request: Request[Any, Any, Any]) -> str:
    """The board's query string as sent (filters and lanes, re-encoded), to come back to."""
    return urlencode([(k, v) for k, v in request.query_params.items() if k != "after"])


def _lanes(request: Request[Any, Any, Any]) -> str:
    return request.query_params.get("lanes", "none") or "none"


def texts() -> dict[str, str]:
    """The words board.js shows (it builds its dialog and messages from these)."""
    return {
        "moving": _("Moving #%(id)s…"),
        "moved": _("#%(id)s moved to “%(column)s”."),
        "failed": _("The move could not be sent. Check the connection and try again."),
        "login": _("Your session has ended. Log in again, then retry."),
        "note": _("Reason"),
        "note_optional": _("Note (required without an “after” photo)"),
        "dialog_title": _("Move #%(id)s to “%(column)s”"),
    }


class TicketBoardController(Controller):
    path = "/tickets"
    guards = [staff_guard]
    include_in_schema = False

    @get("/board")
    async def index(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        return await self._render(request, now)

    async def _render(
        self,
        request: Request[Any, Any, Any],
        now: dt.datetime,
        status_code: int = 200,
        move_error: str = "",
        move_ticket: int | None = None,
    ) -> Template:
        actor = require_actor(request)
        filters = _filters(request)
        board = await board_service.board(actor, filters, now, _lanes(request))
        query = _board_query(request)
        return render(
            request,
            "tickets/board.html",
            status_code=status_code,
            board=board,
            filters=filters,
            lanes_by=board.lanes_by,
            lane_choices=[
                ("none", _("No swimlanes")),
                ("priority", _("By priority")),
                ("assignee", _("By assignee")),
            ],
            sites=await assets.list_sites(actor),
            staff_options=await accounts.staff_options(),
            query=query,
            list_query=urlencode(
                [
                    (k, v)
                    for k, v in request.query_params.items()
                    if k not in (*BOARD_PARAMS, "after")
                ]
            ),
            can_work=can(actor, Perm.TICKETS_WORK),
            move_error=move_error,
            move_ticket=move_ticket,
            texts=texts(),
            described=board_service.described,
            now=now,
        )

    @post("/board/move", status_code=200)
    async def move(
        self, request: Request[Any, Any, Any], now: dt.datetime
    ) -> Response[Any] | Redirect | Template:
        actor = require_actor(request)
        as_json = wants_json(request)
        data, errors, _values = await parse_form(request, BoardMoveIn)
        try:
            if data is None:
                raise ValidationFailed(errors, _("Some of the values sent are not valid."))
            ticket, action = await board_service.move_ticket(
                actor,
                data,
                now,
                separate_acceptance=request.app.state.settings.separate_acceptance,
            )
        except DomainError as exc:
            message = exc.detail
            fields: dict[str, str] = getattr(exc, "errors", {})
            if isinstance(exc, ValidationFailed) and data is not None:
                message = next(iter(fields.values()), message)  # "Say why.", not "note: …"
            if as_json:
                return _refusal(exc.status_code, message, fields)
            return await self._render(
                request,
                now,
                exc.status_code,
                move_error=message,
                move_ticket=data.ticket_id if data is not None else None,
            )
        column = Status(ticket.status)
        done = _("Done: %(action)s.") % {"action": action.label}
        if not as_json:
            query = _board_query(request)
            return redirect("/tickets/board" + (f"?{query}" if query else ""), done)
        view = await tickets.get_ticket(
            actor,
            ticket.id,
            now,
            separate_acceptance=request.app.state.settings.separate_acceptance,
        )
        return Response(
            {
                "id": ticket.id,
                "status": column.value,
                "status_label": str(column.label),
                "version": ticket.version,
                "is_overdue": view.is_overdue,
                "message": done,
                "moves": board_service.described(board_service.moves_of(view)),
            }
        )


def _refusal(status_code: int, message: str, fields: dict[str, str]) -> Response[Any]:
    """The app's JSON error shape, with the person's message as ``detail``."""
    body: dict[str, Any] = {"status_code": status_code, "detail": message}
    if fields:
        body["extra"] = [{"key": k, "message": v, "source": "body"} for k, v in fields.items()]
    return Response(body, status_code=status_code)
