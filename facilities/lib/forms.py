"""Turn text fields (an HTML form, a CSV row) into a msgspec Struct, with a message per field.

The Struct's annotations (types, ranges, lengths, patterns, enums) are the one statement of the
rules; this reads them through ``msgspec.inspect`` and words each failure for a person in the
current language, instead of msgspec's developer-facing messages.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import msgspec
from msgspec import inspect as mi

from facilities.i18n import gettext as _

S = TypeVar("S", bound=msgspec.Struct)

TRUE_WORDS = {"on", "true", "1", "yes", "y"}
FALSE_WORDS = {"", "off", "false", "0", "no", "n"}


class _Invalid(Exception):
    pass


def parse_fields(
    struct: type[S], data: Mapping[str, str | None], *, checkboxes_absent_false: bool = True
) -> tuple[S | None, dict[str, str]]:
    """Return ``(instance, {})`` or ``(None, errors)``; unknown keys in ``data`` are ignored."""
    info = mi.type_info(struct)
    assert isinstance(info, mi.StructType)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in info.fields:
        raw = data.get(field.encode_name)
        raw = raw.strip() if isinstance(raw, str) else raw
        if isinstance(raw, str) and "\x00" in raw:
            # PostgreSQL cannot store a NUL (SQLite can): refused here for both engines, before
            # a query (or a CSV download already under way) fails on it.
            errors[field.encode_name] = _("This field contains a character that is not allowed.")
            continue
        try:
            value = _convert(field, raw, checkboxes_absent_false)
        except _Invalid as exc:
            errors[field.encode_name] = str(exc)
            continue
        if value is not _MISSING:
            values[field.encode_name] = value
    if errors:
        return None, errors
    try:
        return msgspec.convert(values, struct), {}
    except msgspec.ValidationError as exc:  # a rule the walker above does not know
        return None, {"__all__": str(exc)}


_MISSING = object()


def _convert(field: mi.Field, raw: str | None, checkboxes_absent_false: bool) -> Any:
    kinds = field.type.types if isinstance(field.type, mi.UnionType) else (field.type,)
    nullable = any(isinstance(k, mi.NoneType) for k in kinds)
    kind = next((k for k in kinds if not isinstance(k, mi.NoneType)), mi.NoneType())
    if isinstance(kind, mi.BoolType):
        if raw is None and not checkboxes_absent_false:
            return _MISSING
        text = (raw or "").lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        raise _Invalid(_("Answer yes or no."))
    if raw is None or raw == "":
        if nullable:
            return None
        if not field.required:
            return _MISSING
        if isinstance(kind, mi.StrType) and not kind.min_length:
            return ""
        raise _Invalid(_("This field is required."))
    return _convert_value(kind, raw)


def _convert_value(kind: mi.Type, raw: str) -> Any:
    if isinstance(kind, mi.StrType):
        return _check_str(kind, raw)
    if isinstance(kind, mi.IntType):
        try:
            number: int | float = int(raw)
        except ValueError:
            raise _Invalid(_("Enter a whole number.")) from None
        _check_range(kind, number)
        return number
    if isinstance(kind, mi.FloatType):
        try:
            number = float(raw)
        except ValueError:
            raise _Invalid(_("Enter a number.")) from None
        if not math.isfinite(number):
            raise _Invalid(_("Enter a number."))
        _check_range(kind, number)
        return number
    if isinstance(kind, mi.EnumType | mi.LiteralType):
        allowed = [m.value for m in kind.cls] if isinstance(kind, mi.EnumType) else kind.values
        if raw not in allowed:
            raise _Invalid(_("Choose one of the listed options."))
        return raw
    if isinstance(kind, mi.DecimalType):
        try:
            amount = Decimal(raw)
        except InvalidOperation:
            raise _Invalid(_("Enter a number.")) from None
        if not amount.is_finite():
            raise _Invalid(_("Enter a number."))
        return amount
    if isinstance(kind, mi.DateType):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise _Invalid(_("Enter a date as YYYY-MM-DD.")) from None
    raise _Invalid(_("This value is not accepted."))


def _check_str(kind: mi.StrType, raw: str) -> str:
    if kind.min_length and len(raw) < kind.min_length:
        if kind.min_length == 1:
            raise _Invalid(_("This field is required."))
        raise _Invalid(_("Enter at least %(n)s characters.") % {"n": kind.min_length})
    if kind.max_length is not None and len(raw) > kind.max_length:
        raise _Invalid(_("Enter at most %(n)s characters.") % {"n": kind.max_length})
    if kind.pattern and not re.search(kind.pattern, raw):
        raise _Invalid(_("This value is not in the expected format."))
    return raw


def _check_range(kind: mi.IntType | mi.FloatType, number: float) -> None:
    """Refuse a number outside the field's bounds with a message that never calls a refused
    value allowed: "from 0 to 100000" would be wrong for a length that must be above 0."""
    low, low_open = (kind.gt, True) if kind.gt is not None else (kind.ge, False)
    high, high_open = (kind.lt, True) if kind.lt is not None else (kind.le, False)
    if isinstance(kind, mi.IntType):
        # Whole numbers: > 0 is >= 1 and < 10 is <= 9, so every bound can be stated inclusively.
        if low is not None and low_open:
            low, low_open = int(low) + 1, False
        if high is not None and high_open:
            high, high_open = int(high) - 1, False
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and (number >= high if high_open else number > high)
    if not (too_low or too_high):
        return
    if low is not None and high is not None and not low_open and not high_open:
        raise _Invalid(_("Enter a number from %(low)s to %(high)s.") % {"low": low, "high": high})
    if too_low and low is not None:
        # "above" is exact for an open bound, and for whole numbers one below a closed one.
        shown = low - 1 if isinstance(kind, mi.IntType) and not low_open else low
        raise _Invalid(_("Enter a number above %(low)s.") % {"low": shown})
    raise _Invalid(_("Enter a number up to %(high)s.") % {"high": high})
