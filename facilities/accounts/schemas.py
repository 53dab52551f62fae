"""Accounts input and output shapes (HTML forms and the JSON API share them)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from facilities.accounts.choices import Role
from facilities.accounts.scopes import ALL_SCOPES, FULL_SCOPES

DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 365
#: One of accounts.scopes.ALL_SCOPES (built from that tuple, which mypy cannot follow).
Scope = Literal[ALL_SCOPES]  # type: ignore[valid-type]

Username = Annotated[str, msgspec.Meta(min_length=2, max_length=64, pattern=r"^[a-zA-Z0-9_.-]+$")]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Email = Annotated[str, msgspec.Meta(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Password = Annotated[str, msgspec.Meta(min_length=10, max_length=256)]
TeamName = Annotated[str, msgspec.Meta(max_length=128)]
Language = Annotated[str, msgspec.Meta(pattern=r"^(zh_CN|en)$")]


class UserCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    username: Username
    display_name: DisplayName
    email: Email = ""
    role: Role = Role.VIEWER
    language: Language = "zh_CN"
    team: TeamName = ""
    password: Password


class UserUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    display_name: DisplayName
    email: Email = ""
    role: Role
    language: Language = "zh_CN"
    team: TeamName = ""
    is_active: bool = False
    version: int


class PasswordChange(msgspec.Struct, kw_only=True):
    current_password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    new_password: Password
    confirm_password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class LoginForm(msgspec.Struct, kw_only=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    next: str = ""


class TokenForm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The token form's single-valued fields (its scope checkboxes are read as a list)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    user_id: Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)]
    #: The token expires this many days after it is made: 90 unless chosen, a year at most.
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=MAX_TOKEN_DAYS)] = DEFAULT_TOKEN_DAYS


class TokenCreate(TokenForm, kw_only=True, forbid_unknown_fields=True):
    """A new API token. Without ``scopes`` it gets every domain's read and write (its user's
    role still limits it), as tokens did before scopes; the form always names them."""

    scopes: list[Scope] = msgspec.field(default_factory=lambda: list(FULL_SCOPES))


class UserOut(msgspec.Struct, kw_only=True):
    id: int
    username: str
    display_name: str
    email: str
    role: Role
    language: str
    is_active: bool
    last_login_at: dt.datetime | None
    version: int
