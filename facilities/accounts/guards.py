"""Who is asking, for the web: the authentication middleware (a staff session cookie or an API
token, or nobody) and the guards that need an account's role.

Anonymous visitors get no session at all (nothing is written for them). A bearer token, when
present, is the only credential considered, and the request must lie within its scopes
(:mod:`facilities.accounts.scopes`); otherwise the session cookie is. The pieces that
know no account (the cookie's name, the login-required errors, ``staff_guard``) stay in
:mod:`facilities.web.auth`, below the domains.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)

from facilities.accounts import scopes
from facilities.accounts import services as accounts
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.errors import PermissionDenied
from facilities.i18n import gettext as _
from facilities.web.auth import (
    SESSION_COOKIE,
    InvalidToken,
    LoginRequired,
    current_actor,
    staff_guard,
)
from facilities.web.clock import now_of


class AuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        settings = connection.app.state.settings
        now = now_of(connection)
        header = connection.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            actor = await accounts.actor_for_api_token(header[7:].strip(), now)
            if actor is None:
                raise InvalidToken()
            check_token_scope(connection, actor)
            return AuthenticationResult(user=actor, auth="token")
        token = connection.cookies.get(SESSION_COOKIE)
        if token:
            actor = await accounts.actor_for_session(token, now, settings.session_hours)
            if actor is not None:
                return AuthenticationResult(user=actor, auth=token)
        return AuthenticationResult(user=None, auth=None)


def check_token_scope(connection: ASGIConnection[Any, Any, Any, Any], actor: Actor) -> None:
    """Refuse (403, naming the scope) a token request outside the token's scopes. Every token
    request passes here, before any handler or guard; the role is checked after, as always."""
    if actor.scopes is None:
        return
    handler = connection.scope.get("route_handler")
    staff = handler is not None and any(
        getattr(g, "func", g) is staff_guard for g in handler.resolve_guards()
    )
    missing = scopes.missing_scope(
        actor.scopes,
        connection.url.path,
        str(connection.scope.get("method", "GET")),
        scoped_route=staff,
    )
    if missing is None:
        return
    if missing:
        raise PermissionDenied(
            _("This API token lacks the scope “%(scope)s” needed here.") % {"scope": missing}
        )
    raise PermissionDenied(_("API tokens cannot be used here."))


def require_actor(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    """The acting member of staff (or machine); LoginRequired when nobody is logged in."""
    actor: Actor | None = current_actor(connection)
    if actor is None:
        raise LoginRequired("Log in to continue")
    return actor


def permission_guard(
    perm: Perm,
) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]:
    """A guard for routes that exist only for holders of ``perm`` (the admin pages): checked
    before the request body is even read, so a refused user learns nothing from a form error.
    Anonymous visitors are sent to log in; the services still check again."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        require(require_actor(connection), perm)

    guard.__name__ = f"permission_guard({perm.value})"
    return guard
