"""The accounts JSON API: users (administrators), the caller's own profile (``/api/v1/me``) and
API tokens. The same services, rules and audit as the admin pages (:mod:`.pages`).

Decisions a machine client should know:

- ``GET /api/v1/me`` answers any signed-in caller, whatever scopes its token holds (it shows
  only the caller's own account and the token's scopes): a client can check who it is.
- An API token cannot create tokens (403, see ``services.issue_api_token``); nor revoke the token
  it is using (409). Tokens are listed to their own user; administrators list every token.
- The clear token is in the answer to its creation only; a repeat of that request with the same
  ``Idempotency-Key`` makes no second token and does not show the first again (409).
- A user is never deleted, only deactivated; administrators cannot demote or deactivate
  themselves (400), so the last one cannot lock everybody out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody
from litestar.response import Response

from facilities.accounts import scopes as token_scopes
from facilities.accounts import services as accounts
from facilities.accounts.api_schemas import (
    MeOut,
    TokenCreatedOut,
    TokenOut,
    UserApiOut,
    UserApiUpdate,
    VersionIn,
)
from facilities.accounts.choices import Perm, Role
from facilities.accounts.guards import permission_guard, require_actor
from facilities.accounts.permissions import can
from facilities.accounts.schemas import TokenCreate, UserCreate, UserUpdate
from facilities.accounts.tables import StaffUser
from facilities.errors import NotFound
from facilities.i18n import gettext as _
from facilities.records import to_out
from facilities.web.auth import staff_guard
from facilities.web.errors import api_errors
from facilities.web.params import IdParam

#: Answers carrying a clear token are kept by nobody: no cache, no replay store.
NO_STORE = {"Cache-Control": "no-store"}


def user_out(user: StaffUser) -> UserApiOut:
    return to_out(UserApiOut, user)


def token_out(row: dict[str, Any]) -> TokenOut:
    return TokenOut(
        id=row["id"],
        name=row["name"],
        user_id=row["user_id"],
        username=row["username"],
        prefix=row["prefix"],
        scopes=list(token_scopes.normalise(token_scopes.parse_stored(row["scopes"]))),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
        is_expired=row["is_expired"],
    )


def bearer_of(request: Request[Any, Any, Any]) -> str | None:
    """The clear token this request came with (None for a session)."""
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else None


MANAGE_USERS = [permission_guard(Perm.USERS_MANAGE)]


class UserApiController(Controller):
    """Staff accounts, for administrators (users.manage), checked before the body is read."""

    path = "/api/v1/users"
    guards = [staff_guard]
    tags = ["users"]

    @get("/", guards=MANAGE_USERS, responses=api_errors(403))
    async def index(self, request: Request[Any, Any, Any]) -> list[UserApiOut]:
        """Every account, active or not, by user name."""
        return [user_out(u) for u in await accounts.list_users(require_actor(request))]

    @post("/", guards=MANAGE_USERS, responses=api_errors(403))
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[UserCreate], now: dt.datetime
    ) -> Response[UserApiOut]:
        """Create an account with an initial password (10 to 256 characters, as on the admin
        page). 400 naming ``username`` when the name is taken."""
        user = await accounts.create_user(require_actor(request), data, now)
        return Response(user_out(user), status_code=201)

    @get("/{user_id:int}", guards=MANAGE_USERS, responses=api_errors(403, 404))
    async def show(self, request: Request[Any, Any, Any], user_id: IdParam) -> UserApiOut:
        require_actor(request)
        return user_out(await accounts.get_user(user_id))

    @put("/{user_id:int}", guards=MANAGE_USERS, responses=api_errors(403, 404, 409))
    async def update(
        self,
        request: Request[Any, Any, Any],
        user_id: IdParam,
        data: JSONBody[UserApiUpdate],
        now: dt.datetime,
    ) -> UserApiOut:
        """Replace the editable fields (name, e-mail, role, language, team, active); send the
        ``version`` you read (409 when someone saved first). Deactivating ends the user's
        sessions; their tokens stop working while they are inactive."""
        form = UserUpdate(
            display_name=data.display_name,
            email=data.email,
            role=data.role,
            language=data.language,
            team=data.team,
            is_active=data.is_active,
            version=data.version,
        )
        user = await accounts.update_user(require_actor(request), user_id, form, now)
        return user_out(user)

    @post(
        "/{user_id:int}/deactivate",
        status_code=200,
        guards=MANAGE_USERS,
        responses=api_errors(403, 404, 409),
    )
    async def deactivate(
        self,
        request: Request[Any, Any, Any],
        user_id: IdParam,
        data: JSONBody[VersionIn],
        now: dt.datetime,
    ) -> UserApiOut:
        """Deactivate the account, keeping every other field (the edit form with "active"
        unticked); send the ``version`` you read."""
        user = await accounts.get_user(user_id)
        saved = accounts.snapshot(user)
        form = UserUpdate(
            display_name=saved["display_name"],
            email=saved["email"],
            role=Role(saved["role"]),
            language=saved["language"],
            team=saved["team"],
            is_active=False,
            version=data.version,
        )
        return user_out(await accounts.update_user(require_actor(request), user_id, form, now))


class MeApiController(Controller):
    path = "/api/v1/me"
    guards = [staff_guard]
    tags = ["users"]

    @get("/", responses=api_errors())
    async def show(self, request: Request[Any, Any, Any]) -> MeOut:
        """The caller's own account (any member of staff, any token whatever its scopes)."""
        actor = require_actor(request)
        user = await accounts.find_user(actor.id or 0)
        if user is None:
            raise NotFound(_("No such user."))
        scopes = list(token_scopes.normalise(actor.scopes)) if actor.scopes is not None else None
        return MeOut(user=user_out(user), via=actor.via, scopes=scopes)


class TokenApiController(Controller):
    """API tokens: scopes and expiry as the tokens page offers them (:mod:`.scopes`)."""

    path = "/api/v1/tokens"
    guards = [staff_guard]
    tags = ["tokens"]

    @get("/", responses=api_errors())
    async def index(self, request: Request[Any, Any, Any], now: dt.datetime) -> list[TokenOut]:
        """Tokens, newest first: every token for an administrator (tokens.manage), one's own
        tokens for anyone else. Never a token's value or hash."""
        actor = require_actor(request)
        own = not can(actor, Perm.TOKENS_MANAGE)
        return [token_out(r) for r in await accounts.list_api_tokens(actor, now, own=own)]

    @post(
        "/",
        guards=[permission_guard(Perm.TOKENS_MANAGE)],
        responses=api_errors(403, 409),
    )
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[TokenCreate], now: dt.datetime
    ) -> Response[TokenCreatedOut]:
        """Issue a token acting as ``user_id`` with ``scopes`` (each ``domain:read`` or
        ``domain:write``; without them every domain's write), expiring after
        ``expires_in_days`` (90 unless chosen, 365 at most). Administrators in a browser
        session only: a token cannot create tokens (403). The clear ``token`` is in this
        answer only; a repeat with the same Idempotency-Key answers 409, not the token again."""
        actor = require_actor(request)
        clear, token_id = await accounts.issue_api_token(actor, data, now)
        (row,) = await accounts.list_api_tokens(actor, now, token_id=token_id)
        return Response(
            TokenCreatedOut(token=clear, details=token_out(row)),
            status_code=201,
            headers=NO_STORE,
        )

    @post(
        "/{token_id:int}/revoke",
        status_code=200,
        guards=[permission_guard(Perm.TOKENS_MANAGE)],
        responses=api_errors(403, 404, 409),
    )
    async def revoke(
        self, request: Request[Any, Any, Any], token_id: IdParam, now: dt.datetime
    ) -> TokenOut:
        """Revoke a token: from now on it is refused (401). 404 when there is no such token
        or it is already revoked; 409 for the token this request itself uses."""
        actor = require_actor(request)
        await accounts.revoke_api_token(actor, token_id, now, in_use=bearer_of(request))
        (row,) = await accounts.list_api_tokens(actor, now, token_id=token_id)
        return token_out(row)
