"""Excel downloads: a workbook built off the event loop, the note on its times, and the
response, an attachment named after the bureau's local date."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, Response

from facilities.i18n import gettext as _
from facilities.lib import xlsx
from facilities.lib.xlsx import MEDIA_TYPE
from facilities.web.responses import attachment


def workbook_response(
    request: Request[Any, Any, Any], data: bytes, stem: str, now: dt.datetime
) -> Response[bytes]:
    return Response(
        content=data,
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": attachment(request, stem, "xlsx", now),
            "Cache-Control": "private, no-store",
        },
    )


async def workbook(sheets: Sequence[xlsx.Sheet], zone: ZoneInfo) -> bytes:
    """The workbook's bytes; building and zipping a long list takes a while, so in a thread.
    Text (headers, labels) must already be translated: the thread has the caller's context."""
    return await asyncio.to_thread(xlsx.build, sheets, zone)


def zone_note(zone: ZoneInfo) -> str:
    """The line above a table with times: Excel keeps none of their zone."""
    return _("Dates and times are local time in %(zone)s.") % {"zone": zone.key}
