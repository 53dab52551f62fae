"""Turning exceptions into responses: a friendly page in the reader's language, or Litestar's
JSON error shape for API clients. Never a stack trace to a client."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import asyncpg
import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect, Template

from facilities import i18n
from facilities.errors import DomainError, ValidationFailed
from facilities.i18n import gettext as _
from facilities.web.auth import LoginRequired
from facilities.web.locale import LANG_COOKIE
from facilities.web.responses import render, wants_json

log = logging.getLogger(__name__)

TITLES = {
    400: i18n.N_("The request could not be understood"),
    401: i18n.N_("Please log in"),
    403: i18n.N_("You do not have access to this page"),
    404: i18n.N_("Page not found"),
    405: i18n.N_("This action is not allowed here"),
    409: i18n.N_("Someone else changed this first"),
    413: i18n.N_("The upload is too large"),
    429: i18n.N_("Too many requests"),
    500: i18n.N_("Something went wrong on our side"),
    503: i18n.N_("The service is briefly unavailable"),
}
#: Seconds a client is asked to wait when the database cannot be reached.
RETRY_AFTER_SECONDS = 5


def _negotiate(request: Request[Any, Any, Any]) -> None:
    """Errors raised before the locale middleware ran (unknown routes) still speak the reader's
    language."""
    default = request.app.state.settings.language
    accept = request.headers.get("accept-language")
    i18n.set_locale(i18n.negotiate(request.cookies.get(LANG_COOKIE), accept, default))


def _json(status: int, detail: str, extra: Any = None) -> Response[Any]:
    body: dict[str, Any] = {"status_code": status, "detail": detail}
    if extra is not None:
        body["extra"] = extra
    return Response(content=body, status_code=status, media_type=MediaType.JSON)


class ErrorItem(msgspec.Struct):
    """One problem with a request: the field (``key``), where it was sent (``source``: body,
    query, path ...) and what is wrong with it."""

    message: str
    key: str = ""
    source: str = ""


class ErrorBody(msgspec.Struct):
    """Every JSON error answer (what :func:`_json` writes); ``extra`` lists the problems of a
    400, field by field."""

    status_code: int
    detail: str
    extra: list[ErrorItem] | None = None


API_ERRORS = {
    401: "No valid credentials: a bearer token (or a session) is missing, unknown or revoked.",
    403: "The role may not do this (or a browser session sent no valid CSRF token).",
    404: "No such record.",
    409: "Someone saved first (send the current ``version``), the action is not allowed in the "
    "record's present state, or a unique value is already taken.",
    413: "The request body or upload is too large.",
}


def api_errors(*codes: int) -> dict[int, ResponseSpec]:
    """The OpenAPI ``responses`` of a JSON API route, besides its success and the 400 Litestar
    declares itself: 401 always (every route needs a token or a session), plus ``codes``."""
    return {
        code: ResponseSpec(
            data_container=ErrorBody, description=API_ERRORS[code], generate_examples=False
        )
        for code in sorted({401, *codes})
    }


def _page(request: Request[Any, Any, Any], status: int, detail: str = "") -> Template:
    title = _(TITLES.get(status, TITLES[400 if status < 500 else 500]))
    return render(request, "errors/error.html", status_code=status, title=title, detail=detail)


def _names_a_missing_record(exc: HTTPException) -> bool:
    """A path parameter out of its range (``/assets/99999999999``, ``/assets/0``) names a record
    that cannot exist: that is a 404, like any other unknown id, not a 400 about the URL."""
    if not isinstance(exc, ValidationException) or not isinstance(exc.extra, list):
        return False
    return any(isinstance(item, dict) and item.get("source") == "path" for item in exc.extra)


def _json_extra(exc: HTTPException) -> Any:
    """Litestar's ``extra`` for validation errors; a 400 without one (a body that is not JSON at
    all) still gets a list, so clients can rely on ``extra`` for every 400."""
    extra = exc.extra if isinstance(exc, ValidationException) else None
    if not extra and exc.status_code == 400:
        extra = [{"message": exc.detail, "key": "body", "source": "body"}]
    return extra or None


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    if wants_json(request):
        extra = None
        if isinstance(exc, ValidationFailed):
            extra = [{"key": k, "message": v, "source": "body"} for k, v in exc.errors.items()]
        return _json(exc.status_code, exc.detail, extra)
    return _page(request, exc.status_code, exc.detail)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    _negotiate(request)
    if isinstance(exc, LoginRequired) and not wants_json(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        redirect = Redirect(path=f"/login?next={quote(target)}", status_code=303)
        return redirect
    if _names_a_missing_record(exc):
        exc = NotFoundException()
    status = exc.status_code
    csrf_failed = isinstance(exc, PermissionDeniedException) and "CSRF" in exc.detail
    if wants_json(request):
        detail = exc.detail
        if csrf_failed:
            detail = _("The form expired or came from another site. Reload the page and retry.")
        response: Response[Any] = _json(status, detail, _json_extra(exc))
    else:
        detail = ""
        if csrf_failed:
            detail = _("The form expired or came from another site. Reload the page and retry.")
        elif status == 400:
            detail = _("Some of the values sent are not valid.")
        response = _page(request, status, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    _negotiate(request)
    if wants_json(request):
        return _json(500, "Internal Server Error")
    try:
        return _page(request, 500)
    except Exception:  # the error page itself failed: answer plainly
        return Response(
            content=_("Something went wrong on our side"),
            status_code=500,
            media_type=MediaType.TEXT,
        )


def undecodable_input_handler(
    request: Request[Any, Any, Any], exc: UnicodeDecodeError
) -> Response[Any]:
    """Request text that is not UTF-8: Litestar's multipart parser decodes every part sent
    without a file name as text (a photo whose name a client left out), and raises. Bad input,
    so a 400 like any other, never a 500."""
    return http_error_handler(
        request, ClientException(detail=_("Some of the values sent are not valid."))
    )


def unstorable_text_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Text PostgreSQL cannot hold: a NUL character (``%00`` in a search, ``\\u0000`` in a
    JSON title) is refused by the database, wherever it was sent. SQLite stores it; on either
    engine it is the sender's mistake, a 400, never a 500."""
    log.info("text refused by the database on %s %s: %s", request.method, request.url.path, exc)
    return http_error_handler(
        request, ClientException(detail=_("Some of the values sent are not valid."))
    )


def database_unavailable_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The database cannot be reached (restarting, failing over, refusing connections): a 503
    with Retry-After, which clients and proxies retry, not a 500; /readyz says the same."""
    log.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
    _negotiate(request)
    detail = _("The database is restarting or unreachable. Please try again in a moment.")
    response: Response[Any]
    if wants_json(request):
        response = _json(503, detail)
    else:
        response = _page(request, 503, detail)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


#: What a lost or refused database connection raises (asyncpg, or the socket beneath it).
DATABASE_UNAVAILABLE = (
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    ConnectionRefusedError,
    ConnectionResetError,
)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error_handler,
    HTTPException: http_error_handler,
    UnicodeDecodeError: undecodable_input_handler,
    asyncpg.exceptions.CharacterNotInRepertoireError: unstorable_text_handler,
    asyncpg.exceptions.UntranslatableCharacterError: unstorable_text_handler,
    **{error: database_unavailable_handler for error in DATABASE_UNAVAILABLE},
    Exception: internal_error_handler,
}
