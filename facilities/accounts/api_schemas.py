"""The JSON shapes of the accounts API (/api/v1/users, /api/v1/me, /api/v1/tokens). Inputs reuse
the admin forms' rules (:mod:`facilities.accounts.schemas`); outputs never carry a password hash
or a token hash, and a clear token appears only in :class:`TokenCreatedOut`, once."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from facilities.accounts.choices import Role
from facilities.accounts.schemas import DisplayName, Email, Language, TeamName

#: A version the client read (the next one, ``version + 1``, still fits the column).
Version = Annotated[int, msgspec.Meta(ge=1, le=2_147_483_646)]


class UserApiOut(msgspec.Struct, kw_only=True):
    id: int
    username: str
    display_name: str
    email: str
    role: Role
    language: str
    team: str
    is_active: bool
    created_at: dt.datetime | None
    last_login_at: dt.datetime | None
    version: int


class UserApiUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The whole editable user, as the edit form sends it. Unlike the form (an unticked box
    sends nothing), ``is_active`` must be named: leaving it out never deactivates anyone."""

    display_name: DisplayName
    email: Email = ""
    role: Role
    language: Language = "zh_CN"
    team: TeamName = ""
    is_active: bool
    version: Version


class VersionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The version the client read (409 when someone saved since)."""

    version: Version


class MeOut(msgspec.Struct, kw_only=True):
    """Who the caller is: their own account, and how they are signed in (``session`` or
    ``token``); for a token, the scopes it holds."""

    user: UserApiOut
    via: str
    scopes: list[str] | None


class TokenOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    user_id: int
    username: str
    prefix: str
    scopes: list[str]
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    is_expired: bool


class TokenCreatedOut(msgspec.Struct, kw_only=True):
    """The new token and, in ``token``, its clear value: shown here once and never again (only
    its SHA-256 is kept). A repeat of the same request (Idempotency-Key) does not show it."""

    token: str
    details: TokenOut
