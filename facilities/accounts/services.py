"""Accounts services: users, passwords, sessions, API tokens and shared rate limits.

Tokens (session cookies and API tokens) are 32 random bytes; only their SHA-256 is stored, so a
lookup is one indexed equality and a copy of the database cannot be replayed as a login.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from facilities import db
from facilities.accounts import scopes as token_scopes
from facilities.accounts import submissions
from facilities.accounts.choices import GRANTS, Perm, Role
from facilities.accounts.permissions import Actor, require
from facilities.accounts.schemas import PasswordChange, TokenCreate, UserCreate, UserUpdate
from facilities.accounts.tables import ApiToken, RateLimitBucket, Session, StaffUser
from facilities.audit import services as audit
from facilities.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from facilities.i18n import gettext as _
from facilities.notifications.choices import StaffEvent
from facilities.notifications.preferences import StaffRecipient, deliver_to_staff
from facilities.records import valid_id

SESSION_TOUCH_INTERVAL = dt.timedelta(minutes=5)
API_TOKEN_PREFIX = "fac_"  # noqa: S105 - a visible prefix, not a secret

_hasher = PasswordHasher()
# Verifying against this keeps the time of a login with an unknown user name like a real one.
_DUMMY_HASH = _hasher.hash("not-a-real-password-but-a-timing-shield")


class LoginThrottled(Exception):
    """Too many failed logins for this user name from this address in the sliding window;
    ``retry_after`` is the number of seconds until the oldest of them leaves it."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def actor_of(user: StaffUser | dict[str, Any], via: str = "session") -> Actor:
    get = user.get if isinstance(user, dict) else lambda key: getattr(user, key)
    return Actor(
        id=get("id"),
        username=str(get("username")),
        display_name=str(get("display_name")),
        role=Role(str(get("role"))),
        via=via,
        team=str(get("team") or ""),
    )


def snapshot(user: StaffUser) -> dict[str, Any]:
    """The audited fields of a user (never the password hash)."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "role": user.role,
        "language": user.language,
        "team": user.team,
        "is_active": user.is_active,
    }


# --- users ---------------------------------------------------------------------------------


async def get_user(user_id: int) -> StaffUser:
    user = await find_user(user_id)
    if user is None:
        raise NotFound(_("No such user."))
    return user


async def find_user(user_id: int) -> StaffUser | None:
    if not valid_id(user_id):
        return None
    return await StaffUser.objects().where(StaffUser.id == user_id).first()


async def find_user_by_username(username: str) -> StaffUser | None:
    return await StaffUser.objects().where(StaffUser.username == username.strip()).first()


async def staff_options(able_to: Perm | None = None) -> list[tuple[int, str]]:
    """(id, display name) of every active member of staff, by name: the names shown beside ids,
    and, with ``able_to``, a picker's choices: only those whose role holds that permission (the
    assignee picker offers no read-only viewer)."""
    query = StaffUser.select(StaffUser.id, StaffUser.display_name).where(
        StaffUser.is_active == True  # noqa: E712
    )
    if able_to is not None:
        query = query.where(StaffUser.role.is_in(sorted(GRANTS[able_to])))
    rows = await query.order_by(StaffUser.display_name)
    return [(r["id"], r["display_name"]) for r in rows]


async def list_users(actor: Actor) -> list[StaffUser]:
    require(actor, Perm.USERS_MANAGE)
    return await StaffUser.objects().order_by(StaffUser.username)


async def create_user(actor: Actor, data: UserCreate, now: dt.datetime) -> StaffUser:
    require(actor, Perm.USERS_MANAGE)
    username = data.username.strip()
    async with db.transaction():
        # ON CONFLICT: two admins creating the same name at once get a form error, not a 500
        # from the unique index (a check-then-insert races on PostgreSQL).
        inserted = (
            await StaffUser.insert(
                StaffUser(
                    username=username,
                    display_name=data.display_name.strip(),
                    email=data.email.strip(),
                    role=data.role,
                    language=data.language,
                    team=data.team.strip(),
                    password_hash=hash_password(data.password),
                    created_at=now,
                    updated_at=now,
                )
            )
            .on_conflict(target=StaffUser.username, action="DO NOTHING")
            .returning(StaffUser.id)
        )
        if not inserted:
            raise ValidationFailed({"username": _("This user name is taken.")})
        user = await get_user(inserted[0]["id"])
        await audit.record(actor, "user.created", "user", user.id, now, after=snapshot(user))
    return user


async def update_user(actor: Actor, user_id: int, data: UserUpdate, now: dt.datetime) -> StaffUser:
    """Save the admin form. Only the form's columns are written, and only when the version is
    still the one the form was read at (``UPDATE ... WHERE version = ?``): a concurrent edit
    gets Conflict, and a password set meanwhile is never written back with its old value."""
    require(actor, Perm.USERS_MANAGE)
    async with db.transaction():
        user = await get_user(user_id)
        if user.version != data.version:
            raise Conflict(_("Someone else changed this user while you were editing."))
        if actor.id == user.id and (data.role != Role.ADMIN or not data.is_active):
            raise ValidationFailed({"role": _("You cannot remove your own administrator access.")})
        before = snapshot(user)
        changed = (
            await StaffUser.update(
                {
                    StaffUser.display_name: data.display_name.strip(),
                    StaffUser.email: data.email.strip(),
                    StaffUser.role: data.role,
                    StaffUser.language: data.language,
                    StaffUser.team: data.team.strip(),
                    StaffUser.is_active: data.is_active,
                    StaffUser.updated_at: now,
                    StaffUser.version: data.version + 1,
                }
            )
            .where((StaffUser.id == user.id) & (StaffUser.version == data.version))
            .returning(StaffUser.id)
        )
        if not changed:
            raise Conflict(_("Someone else changed this user while you were editing."))
        if not data.is_active:
            await Session.delete().where(Session.user == user.id)
        user = await get_user(user.id)
        await audit.record(actor, "user.updated", "user", user.id, now, before, snapshot(user))
    return user


async def set_password(actor: Actor, user_id: int, password: str, now: dt.datetime) -> None:
    """Admin reset (or the CLI): replaces the password and ends the user's other sessions."""
    require(actor, Perm.USERS_MANAGE)
    async with db.transaction():
        user = await get_user(user_id)
        await StaffUser.update(
            {StaffUser.password_hash: hash_password(password), StaffUser.updated_at: now}
        ).where(StaffUser.id == user.id)
        await Session.delete().where(Session.user == user.id)
        await audit.record(actor, "user.password_reset", "user", user.id, now)


async def change_password(
    actor: Actor, data: PasswordChange, keep_session_hash: str | None, now: dt.datetime
) -> None:
    """The user changes their own password; every other session of theirs is logged out."""
    if data.new_password != data.confirm_password:
        raise ValidationFailed({"confirm_password": _("The two new passwords do not match.")})
    async with db.transaction():
        user = await get_user(actor.id or 0)
        if not verify_password(user.password_hash, data.current_password):
            raise ValidationFailed({"current_password": _("The current password is wrong.")})
        await StaffUser.update(
            {StaffUser.password_hash: hash_password(data.new_password), StaffUser.updated_at: now}
        ).where(StaffUser.id == user.id)
        others = Session.delete().where(Session.user == user.id)
        if keep_session_hash:
            others = others.where(Session.token_hash != keep_session_hash)
        await others
        await audit.record(actor, "user.password_changed", "user", user.id, now)
        if user.email:
            await deliver_to_staff(
                StaffRecipient(user.email, user.language, user.id),
                StaffEvent.PASSWORD_CHANGED,
                template="password_changed",
                context={"display_name": user.display_name, "at": now},
                dedupe_key=f"password_changed:{user.id}:{now.isoformat()}",
                now=now,
            )


# --- login and sessions --------------------------------------------------------------------


async def authenticate(
    username: str, password: str, ip: str, now: dt.datetime, max_attempts: int, window: int
) -> StaffUser:
    """Check a login. At most ``max_attempts`` failures per user name and address count in any
    ``window`` seconds (a sliding window, shared by every process through the database): the
    attempt takes one of that many places before its password is checked, atomically, so
    parallel attempts cannot all slip under the limit; a failure keeps its place for the window,
    a success gives it back. With no place free the password is not checked at all."""
    key = f"login:{username.strip().lower()}:{ip}"
    place, wait = await _take_place(key, max_attempts, window, now)
    if place is None:
        raise LoginThrottled(max(1, math.ceil(wait)))
    user = await find_user_by_username(username)
    valid = verify_password(user.password_hash if user else "", password)
    if user is None or not valid or not user.is_active:
        raise ValidationFailed({"password": _("Wrong user name or password.")})
    await _give_back_place(place, now)
    if _hasher.check_needs_rehash(user.password_hash):
        await StaffUser.update({StaffUser.password_hash: hash_password(password)}).where(
            StaffUser.id == user.id
        )
    return user


async def start_session(
    user: StaffUser, ip: str, user_agent: str, now: dt.datetime, hours: int
) -> str:
    """A fresh session (a new id at every login); returns the cookie value."""
    token = secrets.token_urlsafe(32)
    async with db.transaction():
        await Session.insert(
            Session(
                token_hash=digest(token),
                user=user.id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + dt.timedelta(hours=hours),
                ip=ip[:64],
                user_agent=user_agent[:256],
            )
        )
        await StaffUser.update({StaffUser.last_login_at: now}).where(StaffUser.id == user.id)
        await audit.record(actor_of(user), "user.login", "user", user.id, now)
    return token


async def actor_for_session(token: str, now: dt.datetime, hours: int) -> Actor | None:
    """The actor behind a session cookie, sliding its expiry at most every few minutes."""
    token_hash = digest(token)
    row = (
        await Session.select(
            Session.id,
            Session.expires_at,
            Session.last_seen_at,
            *Session.user.all_columns(exclude=[Session.user.password_hash]),
        )
        .where((Session.token_hash == token_hash) & (Session.expires_at > now))
        .first()
    )
    if row is None or not row["user.is_active"]:
        return None
    if now - row["last_seen_at"] > SESSION_TOUCH_INTERVAL:
        await Session.update(
            {Session.last_seen_at: now, Session.expires_at: now + dt.timedelta(hours=hours)}
        ).where(Session.id == row["id"])
    return actor_of({k.removeprefix("user."): v for k, v in row.items()})


async def end_session(token: str) -> None:
    await Session.delete().where(Session.token_hash == digest(token))


async def purge_expired(now: dt.datetime) -> int:
    """Delete expired sessions, rate-limit windows older than a day and expired submission keys;
    returns rows removed."""
    expired = await Session.delete().where(Session.expires_at <= now).returning(Session.id)
    old = (
        await RateLimitBucket.delete()
        .where(RateLimitBucket.window_start < int(now.timestamp()) - 86400)
        .returning(RateLimitBucket.id)
    )
    return len(expired) + len(old) + await submissions.purge_expired(now)


# --- API tokens ----------------------------------------------------------------------------


async def list_api_tokens(
    actor: Actor, now: dt.datetime, *, own: bool = False, token_id: int | None = None
) -> list[dict[str, Any]]:
    """Every token, newest first, with its scopes in words and whether it has expired. With
    ``own`` (what a member of staff without tokens.manage may ask the API for) only the tokens
    acting as the actor; with ``token_id`` only that one. Never a hash."""
    if not own:
        require(actor, Perm.TOKENS_MANAGE)
    query = ApiToken.select(
        ApiToken.id,
        ApiToken.name,
        ApiToken.prefix,
        ApiToken.created_at,
        ApiToken.last_used_at,
        ApiToken.revoked_at,
        ApiToken.scopes,
        ApiToken.expires_at,
        ApiToken.user.as_alias("user_id"),
        ApiToken.user.username.as_alias("username"),
    ).order_by(ApiToken.created_at, ascending=False)
    if own:
        query = query.where(ApiToken.user == (actor.id or 0))
    if token_id is not None:
        query = query.where(ApiToken.id == token_id)
    rows = await query.order_by(ApiToken.id, ascending=False)
    for row in rows:
        row["scope_labels"] = token_scopes.labelled(row["scopes"].split())
        row["is_expired"] = row["expires_at"] is not None and row["expires_at"] <= now
    return rows


async def create_api_token(actor: Actor, data: TokenCreate, now: dt.datetime) -> str:
    """Create a token acting as ``data.user_id`` with ``data.scopes``, expiring
    ``data.expires_in_days`` from ``now``; the clear value is returned once, never stored."""
    token, _token_id = await issue_api_token(actor, data, now)
    return token


async def issue_api_token(actor: Actor, data: TokenCreate, now: dt.datetime) -> tuple[str, int]:
    """:func:`create_api_token`, also giving the new row's id (the API answers with it).

    An API token cannot make tokens (403): what a token could mint would have to be checked
    against its own scopes, owner and expiry, and a leaked token could otherwise renew itself
    for ever; tokens are issued by an administrator in a browser session (or the CLI)."""
    require(actor, Perm.TOKENS_MANAGE)
    if actor.via == "token":
        raise PermissionDenied(_("An API token cannot create API tokens."))
    owner = await find_user(data.user_id)
    if owner is None or not owner.is_active:
        raise ValidationFailed({"user_id": _("Choose an active user.")})
    scopes = token_scopes.stored(data.scopes)
    if not scopes:
        raise ValidationFailed({"scopes": _("Choose at least one scope.")})
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with db.transaction():
        row = ApiToken(
            name=data.name.strip(),
            user=owner.id,
            token_hash=digest(token),
            prefix=token[:12],
            created_at=now,
            created_by=actor.id,
            scopes=scopes,
            expires_at=now + dt.timedelta(days=data.expires_in_days),
        )
        await row.save()
        await audit.record(
            actor,
            "token.created",
            "api_token",
            row.id,
            now,
            after={
                "name": row.name,
                "user": owner.username,
                "prefix": row.prefix,
                "scopes": scopes,
                "expires_at": row.expires_at.isoformat(),
            },
        )
    return token, int(row.id)


async def revoke_api_token(
    actor: Actor, token_id: int, now: dt.datetime, in_use: str | None = None
) -> None:
    """Revoke a token. ``in_use``: the clear token the request itself came with; revoking that
    one is refused (409), so a client cannot cut the branch it sits on by mistake."""
    require(actor, Perm.TOKENS_MANAGE)
    async with db.transaction():
        if not valid_id(token_id):
            raise NotFound(_("No such token."))
        if in_use is not None and await ApiToken.exists().where(
            (ApiToken.id == token_id) & (ApiToken.token_hash == digest(in_use))
        ):
            raise Conflict(_("This request uses that token; revoke it with another credential."))
        revoked = (
            await ApiToken.update({ApiToken.revoked_at: now})
            .where((ApiToken.id == token_id) & ApiToken.revoked_at.is_null())
            .returning(ApiToken.id)
        )
        if not revoked:
            raise NotFound(_("No such token, or it is already revoked."))
        await audit.record(actor, "token.revoked", "api_token", token_id, now)


async def actor_for_api_token(token: str, now: dt.datetime) -> Actor | None:
    """The actor a bearer token stands for, carrying its scopes; None (a 401) when the token
    is unknown, revoked or expired, or its user is deactivated. Only a token accepted here has
    its last use recorded."""
    row = (
        await ApiToken.select(
            ApiToken.id,
            ApiToken.last_used_at,
            ApiToken.scopes.as_alias("token_scopes"),
            *ApiToken.user.all_columns(exclude=[ApiToken.user.password_hash]),
        )
        .where(
            (ApiToken.token_hash == digest(token))
            & ApiToken.revoked_at.is_null()
            & (ApiToken.expires_at.is_null() | (ApiToken.expires_at > now))
        )
        .first()
    )
    if row is None or not row["user.is_active"]:
        return None
    last = row["last_used_at"]
    if last is None or now - last > SESSION_TOUCH_INTERVAL:
        await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == row["id"])
    actor = actor_of({k.removeprefix("user."): v for k, v in row.items()}, via="token")
    return dataclasses.replace(actor, scopes=token_scopes.parse_stored(row["token_scopes"]))


# --- rate limits shared by every process ---------------------------------------------------


def _window_start(now: dt.datetime, window: int) -> int:
    return int(now.timestamp()) // window * window


async def rate_count(key: str, window: int, now: dt.datetime) -> int:
    row = (
        await RateLimitBucket.select(RateLimitBucket.window_start, RateLimitBucket.hits)
        .where(RateLimitBucket.key == key)
        .first()
    )
    if row is None or row["window_start"] != _window_start(now, window):
        return 0
    return int(row["hits"])


# One event counted in the key's fixed window: a new window starts again at 1.
_COUNT_EVENT = (
    "INSERT INTO rate_limit_bucket (key, window_start, hits) VALUES ({}, {}, 1) "
    "ON CONFLICT (key) DO UPDATE SET "
    "hits = CASE WHEN rate_limit_bucket.window_start = excluded.window_start "
    "THEN rate_limit_bucket.hits + 1 ELSE 1 END, "
    "window_start = excluded.window_start "
)


async def rate_hit(key: str, window: int, now: dt.datetime) -> int:
    """Count one event in the current fixed window and return the new count (atomic upsert)."""
    rows = await RateLimitBucket.raw(
        _COUNT_EVENT + "RETURNING hits", key, _window_start(now, window)
    )
    return int(rows[0]["hits"])


async def rate_take(key: str, limit: int, window: int, now: dt.datetime) -> int | None:
    """Count one event in the current fixed window if it holds fewer than ``limit``, and return
    the new count; None, counting nothing, when the window is full. One conditional upsert (on
    PostgreSQL the row is locked and the condition rechecked on its latest version), so parallel
    callers never count past ``limit`` and a refused event uses up nothing."""
    if limit < 1:
        return None
    rows = await RateLimitBucket.raw(
        _COUNT_EVENT + "WHERE rate_limit_bucket.window_start <> excluded.window_start "
        "OR rate_limit_bucket.hits < {} "
        "RETURNING hits",
        key,
        _window_start(now, window),
        limit,
    )
    return int(rows[0]["hits"]) if rows else None


# A sliding window of ``limit`` places per key, each a rate_limit_bucket row ``key#n`` (``n`` below
# ``limit``): ``window_start`` is the second it was taken, ``hits`` 1 while it is held and 0 once
# given back. A place is free when it has no row yet, was given back, or was taken ``window``
# seconds ago or more; so no more than ``limit`` events hold a place in any ``window`` seconds,
# and the next is let in exactly ``window`` seconds after the oldest of them.


def _places(key: str, limit: int) -> list[str]:
    return [f"{key[:190]}#{n}" for n in range(limit)]


async def _take_place(
    key: str, limit: int, window: int, now: dt.datetime
) -> tuple[str | None, float]:
    """Take a free place under ``key``: (the place, 0), or (None, seconds until the first held
    place frees) when all are held. Each place is taken by one conditional upsert (on
    PostgreSQL it locks the row and rechecks the condition on its latest version), so of any
    number of parallel callers exactly as many get a place as there were free places."""
    second = int(now.timestamp())
    places = _places(key, limit)
    while True:
        held = {
            row["key"]: row["window_start"]
            for row in await RateLimitBucket.select(
                RateLimitBucket.key, RateLimitBucket.window_start
            ).where(
                RateLimitBucket.key.is_in(places)
                & (RateLimitBucket.hits > 0)
                & (RateLimitBucket.window_start > second - window)
            )
        }
        if len(held) >= limit:
            return None, min(held.values()) + window - now.timestamp()
        for place in places:
            if place not in held and await _claim(place, second, window):
                return place, 0.0
        # Every place seen free was taken meanwhile by parallel attempts: look again.


async def _claim(place: str, second: int, window: int) -> bool:
    rows = await RateLimitBucket.raw(
        "INSERT INTO rate_limit_bucket (key, window_start, hits) VALUES ({}, {}, 1) "
        "ON CONFLICT (key) DO UPDATE SET window_start = excluded.window_start, hits = 1 "
        "WHERE rate_limit_bucket.hits = 0 OR rate_limit_bucket.window_start <= {} "
        "RETURNING id",
        place,
        second,
        second - window,
    )
    return bool(rows)


async def _give_back_place(place: str, now: dt.datetime) -> None:
    """Free a place taken at ``now`` (and not since taken again)."""
    await RateLimitBucket.update({RateLimitBucket.hits: 0}).where(
        (RateLimitBucket.key == place) & (RateLimitBucket.window_start == int(now.timestamp()))
    )


async def supervisor_recipients() -> list[StaffRecipient]:
    """Every active supervisor and administrator with an address: the people told about P0
    tickets, SLA breaches, escalations and promises at risk (each as they chose to be)."""
    rows = await StaffUser.select(StaffUser.id, StaffUser.email, StaffUser.language).where(
        StaffUser.role.is_in([Role.SUPERVISOR, Role.ADMIN])
        & (StaffUser.is_active == True)  # noqa: E712
        & (StaffUser.email != "")
    )
    return [StaffRecipient(r["email"], r["language"], r["id"]) for r in rows]


async def supervisor_addresses() -> list[tuple[str, str]]:
    """(e-mail, language) of :func:`supervisor_recipients`."""
    return [(r.email, r.language) for r in await supervisor_recipients()]
