"""Reading what a browser or an Open311 client sent: an id or a coordinate from a query or form
field (None when it is not one), the uploaded photos, and the language of the request.

Shared by the citizen pages (:mod:`facilities.reports.pages`) and the Open311 API
(:mod:`facilities.reports.open311_api`).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import UploadFile

from facilities import i18n
from facilities.records import valid_id
from facilities.reports import services as reports


def parse_id(value: str | None) -> int | None:
    """A positive id that fits the id columns, or None for anything else."""
    text = (value or "").strip()
    if not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if valid_id(number) else None


def parse_float(value: str | None) -> float | None:
    """A finite number, or None (not a number, NaN or infinite)."""
    try:
        number = float((value or "").strip())
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


async def read_uploads(form: Any, name: str) -> list[reports.Upload]:
    """The files sent under ``name`` (an empty file input is skipped)."""
    files = []
    for item in form.getall(name) if name in form else []:
        if isinstance(item, UploadFile):
            data = await item.read()
            if data or item.filename:
                files.append(reports.Upload(item.filename or "", data))
    return files


def request_language(request: Request[Any, Any, Any]) -> str:
    """The language the request is answered in (stored on the report)."""
    return i18n.current_locale()
