"""What the register's writes share: a unique-index race reported as the field's error,
coordinates given in pairs, and a submitted Struct's fields without its version.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable
from typing import Any

import asyncpg
import msgspec

from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _


def _is_unique_violation(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.UniqueViolationError):
        return True
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE constraint failed" in str(exc)


@contextlib.asynccontextmanager
async def _taken(field: str, message: str) -> AsyncIterator[None]:
    """Two saves can both pass the "is it taken?" check before either commits; the unique index
    then refuses the second. Report that as the same field error, not a database error. (Wrap
    the whole transaction: on PostgreSQL a failed statement aborts it.)"""
    try:
        yield
    except Exception as exc:
        if _is_unique_violation(exc):
            raise ValidationFailed({field: message}) from exc
        raise


def _fields(struct: msgspec.Struct, *, skip: Iterable[str] = ("version",)) -> dict[str, Any]:
    return {k: v for k, v in msgspec.structs.asdict(struct).items() if k not in skip}


def _coordinates_error(lat: float | None, lng: float | None) -> dict[str, str]:
    if (lat is None) != (lng is None):
        return {"lng" if lng is None else "lat": _("Give both latitude and longitude, or neither.")}
    return {}
