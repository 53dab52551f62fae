"""Accounts tables: staff users, their sessions, API tokens, shared rate-limit counters, the
answers of once-only writes and the filters people save on lists."""

from __future__ import annotations

from piccolo.columns import (
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from facilities.accounts.choices import Role


class StaffUser(Table, tablename="staff_user"):
    """A person working for the bureau. Never deleted, only deactivated: the audit keeps authors."""

    id = Serial(primary_key=True)
    username = Varchar(length=64, unique=True, required=True)
    display_name = Varchar(length=128, required=True)
    email = Varchar(length=254, default="")
    role = Varchar(length=16, choices=Role, default=Role.VIEWER)
    password_hash = Text(default="")
    is_active = Boolean(default=True)
    language = Varchar(length=8, default="zh_CN")
    #: The team the person works in (a team's name, as tickets and inspections name theirs):
    #: crew and inspectors act on work assigned to them or to this team. Empty: no team.
    team = Varchar(length=128, default="")
    created_at = Timestamptz()
    updated_at = Timestamptz()
    last_login_at = Timestamptz(null=True, default=None)
    version = Integer(default=1)


class Session(Table, tablename="staff_session"):
    """A logged-in browser. Only a SHA-256 of the cookie value is stored; logout deletes the row,
    so every web process sees the same sessions and a stolen database leaks no live cookie."""

    id = Serial(primary_key=True)
    token_hash = Varchar(length=64, unique=True, required=True)
    user = ForeignKey(StaffUser, null=False, on_delete=OnDelete.cascade)
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
    expires_at = Timestamptz(index=True)
    ip = Varchar(length=64, default="")
    user_agent = Varchar(length=256, default="")


class ApiToken(Table, tablename="api_token"):
    """A machine client's credential acting as a staff user. Only its SHA-256 is stored; the
    clear token is shown once at creation. Revoked and expired tokens stay for the audit trail."""

    id = Serial(primary_key=True)
    name = Varchar(length=128, required=True)
    user = ForeignKey(StaffUser, null=False, on_delete=OnDelete.cascade)
    token_hash = Varchar(length=64, unique=True, required=True)
    prefix = Varchar(length=12, default="")
    created_at = Timestamptz()
    created_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    #: What the token may touch (``accounts.scopes``): space-separated ``domain:read|write``.
    scopes = Text(default="")
    #: After this instant the token is refused like an unknown one. None only on tokens made
    #: before tokens expired (the migration kept them working); new tokens always expire.
    expires_at = Timestamptz(null=True, default=None)


class RateLimitBucket(Table, tablename="rate_limit_bucket"):
    """A rate-limit counter shared by every process through the database: the hits of ``key``
    in the fixed window starting at ``window_start`` (``accounts.services.rate_hit``), or one
    place of a sliding window (``key#n``; ``window_start``: the second the place was taken,
    ``hits``: 1 while held), as the login limit keeps them."""

    id = Serial(primary_key=True)
    key = Varchar(length=200, unique=True, required=True)
    window_start = Integer(default=0)
    hits = Integer(default=0)


class SubmissionRecord(Table, tablename="submission_record"):
    """A write already answered, by the SHA-256 of its one-time key: a repeat gets this answer
    instead of running again (``accounts.submissions``). ``done`` is false while the first
    request runs; ``headers`` (JSON) are the answer's Location, Content-Type and Set-Cookie;
    ``body`` holds a small 2xx answer (``body_length`` its real size)."""

    id = Serial(primary_key=True)
    key = Varchar(length=64, unique=True, required=True)
    created_at = Timestamptz()
    expires_at = Timestamptz(index=True)
    done = Boolean(default=False)
    status = Integer(default=0)
    headers = Text(default="[]")
    body = Bytea(default=b"")
    body_length = Integer(default=0)


class SavedFilter(Table, tablename="saved_filter"):
    """A list's filters saved under a name (``accounts.saved_filters``): ``list_key`` names the
    list (``tickets``, ``inspections``, ...), ``query`` is its query string as the list's filter
    schema normalised it (only known parameters, checked), so following it never fails. A
    shared one (supervisors and admins share) shows on that list for everyone. A person's
    names are unique per list (a unique index over user, list_key, name)."""

    id = Serial(primary_key=True)
    user = ForeignKey(StaffUser, null=False, on_delete=OnDelete.cascade)
    list_key = Varchar(length=32, required=True)
    name = Varchar(length=80, required=True)
    query = Text(default="")
    is_shared = Boolean(default=False)
    created_at = Timestamptz()
