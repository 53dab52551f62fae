"""What the citizen reports above this domain hear about a ticket. Reports sit above tickets in
the layer order, so the composition root (``facilities.app.configure_process``) passes two of
their functions in once (:func:`use_reporter_hooks`), as it passes the asset register its status
source:

- ``moved``: told inside the transaction of every ticket transition (the reporters are mailed
  when their ticket is fixed, in the same transaction as the change);
- ``language``: the language the citizen who reported a ticket wrote in, for the public
  comments mailed to them.

Without them (a process that never wired them), nothing is told and mail goes out in Chinese.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from facilities.tickets.tables import RepairTicket

#: (the ticket after the move, its status before, now)
TicketMoved = Callable[[RepairTicket, str, dt.datetime], Awaitable[None]]
#: (ticket id, reporter e-mail) -> "zh_CN", "en", or None when no report names them
ReporterLanguage = Callable[[int, str], Awaitable[str | None]]

DEFAULT_LANGUAGE = "zh_CN"

_moved: TicketMoved | None = None
_language: ReporterLanguage | None = None


def use_reporter_hooks(moved: TicketMoved | None, language: ReporterLanguage | None) -> None:
    """Plug in the reports domain's listeners (``None`` unplugs them)."""
    global _moved, _language
    _moved, _language = moved, language


async def ticket_moved(ticket: RepairTicket, before: str, now: dt.datetime) -> None:
    if _moved is not None:
        await _moved(ticket, before, now)


async def reporter_language(ticket_id: int, email: str) -> str:
    """The language to write to the ticket's reporter in."""
    if _language is None or not email:
        return DEFAULT_LANGUAGE
    return await _language(ticket_id, email) or DEFAULT_LANGUAGE
