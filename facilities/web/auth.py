"""Who is asking, as far as the web plumbing needs to know: the session cookie's name, the
actor the authentication middleware put on the connection, and the errors and guard for a
missing login.

The middleware itself and the guards that read an account's role live with the accounts
(:mod:`facilities.accounts.guards`): ``web/`` sits below every domain and imports none.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

SESSION_COOKIE = "facilities_session"


def current_actor(connection: ASGIConnection[Any, Any, Any, Any]) -> Any:
    """The ``accounts.permissions.Actor`` authenticated for this connection, or None."""
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
