"""Rendering pages and redirecting with a one-time message.

Flash messages ride in a short-lived cookie rather than a server session, so anonymous visitors
(citizens) get them too without the server storing anything for them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from litestar import MediaType, Request
from litestar.datastructures import Cookie
from litestar.response import File, Redirect, Template

from facilities.lib.proxies import client_address
from facilities.web.auth import current_actor

FLASH_COOKIE = "flash"


def _encode(messages: list[dict[str, str]]) -> str:
    return base64.urlsafe_b64encode(json.dumps(messages, ensure_ascii=False).encode()).decode()


def read_flash(request: Request[Any, Any, Any]) -> list[dict[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        messages = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except (ValueError, RecursionError):  # a forged cookie: not JSON, or nested too deeply
        return []
    if not isinstance(messages, list):
        return []
    return [
        {"level": str(m.get("level", "info")), "message": str(m.get("message", ""))}
        for m in messages[:5]
        if isinstance(m, dict)
    ]


def render(
    request: Request[Any, Any, Any], template: str, status_code: int = 200, **context: Any
) -> Template:
    """A page, with the actor, the path and any pending flash messages in its context."""
    flashes = read_flash(request)
    cookies = [Cookie(key=FLASH_COOKIE, value="", max_age=0, path="/")] if flashes else []
    context.setdefault("actor", current_actor(request))
    return Template(
        template_name=template,
        context={"flashes": flashes, "path": request.url.path, **context},
        status_code=status_code,
        cookies=cookies,
        media_type=MediaType.HTML,
    )


def redirect(to: str, message: str | None = None, level: str = "success") -> Redirect:
    """A 303 See Other (so a refresh never re-submits), optionally carrying a message."""
    cookies = []
    if message:
        cookies.append(
            Cookie(
                key=FLASH_COOKIE,
                value=_encode([{"level": level, "message": message}]),
                max_age=60,
                path="/",
                httponly=True,
                samesite="lax",
            )
        )
    return Redirect(path=to, status_code=303, cookies=cookies)


def safe_next(target: str | None, default: str = "/staff") -> str:
    """Only same-site paths: '/assets' yes, '//evil.example' or 'https://...' no."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def attachment(request: Request[Any, Any, Any], stem: str, extension: str, now: dt.datetime) -> str:
    """``Content-Disposition`` for a download named after the bureau's local date, as staff
    know it (``tickets-20261207.csv``): at 07:00 in Shanghai the UTC date is still yesterday."""
    day = now.astimezone(request.app.state.settings.zone).strftime("%Y%m%d")
    return f'attachment; filename="{stem}-{day}.{extension}"'


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The address per-client rate limits count: behind a trusted reverse proxy (nginx) the
    socket peer is the proxy, so the client comes from ``X-Forwarded-For``."""
    if request.client is None:
        return "unknown"
    forwarded = request.headers.getall("x-forwarded-for", [])
    trusted = request.app.state.settings.trusted_proxies
    return client_address(request.client.host, forwarded, trusted)


def wants_json(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    if path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def media_file(request: Request[Any, Any, Any], row: Any, thumbnail: bool) -> File:
    """A stored upload (or its thumbnail) for a caller the controller has already allowed:
    never a path outside the media folder, PDFs as downloads, images inline, private caching."""
    from facilities.errors import NotFound
    from facilities.i18n import gettext as _
    from facilities.lib import media

    root = request.app.state.settings.media_path
    key = row.thumbnail_key if thumbnail else row.storage_key
    try:
        path = media.resolve(root, key) if key else None
    except FileNotFoundError:
        path = None
    if path is None or not path.exists():
        raise NotFound(_("No such file."))
    return File(
        path=path,
        filename=f"thumb-{row.id}.jpg" if thumbnail else getattr(row, "filename", "") or path.name,
        media_type="image/jpeg" if thumbnail else row.content_type,
        content_disposition_type="inline"
        if thumbnail or row.content_type != "application/pdf"
        else "attachment",
        headers={"Cache-Control": "private, max-age=3600"},
    )
