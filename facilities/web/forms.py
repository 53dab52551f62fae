"""Reading HTML forms into Structs, with the message per field for re-rendering."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Request

from facilities.lib.forms import parse_fields

S = TypeVar("S", bound=msgspec.Struct)


async def form_values(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The submitted fields as text (first value of each), without the CSRF token."""
    form = await request.form()
    values = {}
    for key in form:
        if key == "_csrf_token":
            continue
        value = form.get(key)
        values[key] = value if isinstance(value, str) else ""
    return values


async def parse_form(
    request: Request[Any, Any, Any], struct: type[S]
) -> tuple[S | None, dict[str, str], dict[str, str]]:
    """(instance or None, errors, raw values); the raw values refill the form on an error."""
    values = await form_values(request)
    instance, errors = parse_fields(struct, values)
    return instance, errors, values


def struct_values(struct: msgspec.Struct) -> dict[str, Any]:
    """A Struct as form values (None shown as an empty field)."""
    return {k: ("" if v is None else v) for k, v in msgspec.structs.asdict(struct).items()}
