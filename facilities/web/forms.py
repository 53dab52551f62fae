"""Reading HTML forms into Structs, with the message per field for re-rendering."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import msgspec
from litestar import Request

from facilities.errors import Conflict, ValidationFailed
from facilities.lib.forms import parse_fields
from facilities.web.csrf import FORM_FIELD as CSRF_FIELD

S = TypeVar("S", bound=msgspec.Struct)
R = TypeVar("R")


#: Fields the forms carry for the machinery (CSRF token, one-time submission key), not as data.
CONTROL_FIELDS = frozenset({CSRF_FIELD, "_submission"})


def new_submission_key() -> str:
    """A fresh one-time key for a rendered form (``accounts.submissions`` remembers its answer)."""
    return secrets.token_urlsafe(18)


async def form_values(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The submitted fields as text (first value of each), without the control fields."""
    form = await request.form()
    values = {}
    for key in form:
        if key in CONTROL_FIELDS:
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


@dataclasses.dataclass
class Submission(Generic[S, R]):
    """One form POST: what was typed (to refill the form), the message per field, whether a
    stale version was refused, and what the service returned when it accepted."""

    values: dict[str, str]
    errors: dict[str, str]
    data: S | None = None
    result: R | None = None
    ok: bool = False
    conflict: bool = False

    @property
    def status_code(self) -> int:
        """The status to re-render the form with: 409 for a stale version, else 400."""
        return 409 if self.conflict else 400


async def submit(
    request: Request[Any, Any, Any], struct: type[S], save: Callable[[S], Awaitable[R]]
) -> Submission[S, R]:
    """The form-POST cycle: parse the form into ``struct``, call the service ``save`` with it,
    and keep the typed values when parsing or the service refuses (400 with the messages, 409
    when someone saved first). The handler redirects when ``ok`` and re-renders otherwise."""
    data, errors, values = await parse_form(request, struct)
    submission: Submission[S, R] = Submission(values=values, errors=errors, data=data)
    if data is None:
        return submission
    try:
        submission.result = await save(data)
    except ValidationFailed as exc:
        submission.errors = exc.errors
    except Conflict:
        submission.conflict = True
    else:
        submission.ok = True
    return submission
