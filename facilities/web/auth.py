"""Who is asking: a staff session cookie or an API token, or nobody.

Anonymous visitors get no session at all (nothing is written for them). A bearer token, when
present, is the only credential considered; otherwise the session cookie is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)

from facilities.accounts import services as accounts
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.web.clock import now_of

SESSION_COOKIE = "facilities_session"


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


def current_actor(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor | None:
    return connection.scope.get("user")


class LoginRequired(NotAuthorizedException):
    """Raised by the staff guard; HTML requests are redirected to the login page."""

    def __init__(self, detail: str = "Log in to continue") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="facilities"'})


class InvalidToken(NotAuthorizedException):
    """A bearer token that is unknown, revoked or belongs to a deactivated user: always a 401
    (never a redirect to the login form, never a fall-back to the session cookie)."""

    def __init__(self) -> None:
        super().__init__(
            "Invalid or revoked API token",
            headers={"WWW-Authenticate": 'Bearer realm="facilities", error="invalid_token"'},
        )


async def staff_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Every staff route: a logged-in user or an API token is required (roles are checked in
    the services, which know what is being done)."""
    if current_actor(connection) is None:
        raise LoginRequired("Log in to continue")


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


def require_actor(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    actor = current_actor(connection)
    if actor is None:
        raise LoginRequired("Log in to continue")
    return actor
