"""Turning exceptions into responses: a friendly page in the reader's language, or Litestar's
JSON error shape for API clients. Never a stack trace to a client."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
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
}


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


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
