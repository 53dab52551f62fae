"""Who is asking: a staff session cookie or an API token, or nobody.

Anonymous visitors get no session at all (nothing is written for them). A bearer token, when
present, is the only credential considered; otherwise the session cookie is.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)

from facilities.accounts import services as accounts
from facilities.accounts.permissions import Actor
from facilities.lib.clock import utcnow

SESSION_COOKIE = "facilities_session"


class AuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        settings = connection.app.state.settings
        now = utcnow()
        header = connection.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            actor = await accounts.actor_for_api_token(header[7:].strip(), now)
            if actor is None:
                raise NotAuthorizedException("Invalid or revoked API token")
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


def staff_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Every staff route: a logged-in user or an API token is required (roles are checked in
    the services, which know what is being done)."""
    if current_actor(connection) is None:
        raise LoginRequired("Log in to continue")


def require_actor(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    actor = current_actor(connection)
    if actor is None:
        raise LoginRequired("Log in to continue")
    return actor
