"""Who is asking, for the web: the authentication middleware (a staff session cookie or an API
token, or nobody) and the guards that need an account's role.

Anonymous visitors get no session at all (nothing is written for them). A bearer token, when
present, is the only credential considered; otherwise the session cookie is. The pieces that
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

from facilities.accounts import services as accounts
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.web.auth import SESSION_COOKIE, InvalidToken, LoginRequired, current_actor
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
            return AuthenticationResult(user=actor, auth="token")
        token = connection.cookies.get(SESSION_COOKIE)
        if token:
            actor = await accounts.actor_for_session(token, now, settings.session_hours)
            if actor is not None:
                return AuthenticationResult(user=actor, auth=token)
        return AuthenticationResult(user=None, auth=None)


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
