"""Once-only writes: a repeated submission gets the first one's answer instead of a second row.

A double tap on a phone, going back and sending the form again, a retry after a timeout: each
sends the same write twice. Every form the app renders carries a one-time key (the hidden
``_submission`` field, from the ``csrf()`` form macro); an API client may send an
``Idempotency-Key`` header; an Open311 POST is keyed by its own bytes (the same API key and body
within :data:`OPEN311_WINDOW` is the same request). :class:`SubmissionMiddleware` turns a key
into a row of ``submission_record`` before the handler runs:

- The first request inserts the row (``INSERT … ON CONFLICT DO NOTHING``: of two concurrent
  requests exactly one does) and runs. If it succeeds (2xx or 3xx) its status, ``Location`` and
  a small body are kept (with its cookies: a flash message shows again); if it is refused
  (4xx, 5xx) or starts a session (a login), the row is deleted so that the corrected form, or
  the next login, runs normally.
- A repeat waits while the first is still running, then answers with the first one's status,
  ``Location`` and body, marked ``Idempotent-Replayed: true``. It never runs the handler, so
  it makes no row, sends no mail and takes nothing from a rate limit.

The row's key is a SHA-256 of the client (the CSRF cookie of a browser, the bearer token of an
API client), the method and path, the key sent and what was sent (the form's fields and files,
or the body): a key is useless to anyone else, and a form changed before it is sent again (back,
edit, send) is another submission, which runs (an edit then meets the stale-version check) rather
than being answered with the first one's result and losing what was typed. Rows expire after
:data:`KEY_LIFETIME` and the scheduler's purge job removes them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from typing import Any

from litestar import Request
from litestar.datastructures import UploadFile
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from facilities.accounts.tables import SubmissionRecord
from facilities.errors import Conflict, ValidationFailed
from facilities.i18n import gettext as _
from facilities.web.auth import SESSION_COOKIE
from facilities.web.csrf import COOKIE_NAME as CSRF_COOKIE
from facilities.web.forms import CONTROL_FIELDS

FIELD = "_submission"
HEADER = b"idempotency-key"
KEY_LIFETIME = dt.timedelta(hours=24)
OPEN311_WINDOW = dt.timedelta(minutes=10)
#: A row still marked running after this long belongs to a request that died; it is taken over.
ABANDONED_AFTER = dt.timedelta(minutes=2)
#: How long a repeat waits for the first request to finish, in polls of POLL_SECONDS.
POLLS = 200
POLL_SECONDS = 0.05
#: Bodies up to this size are kept for replay (a redirect keeps only its Location).
MAX_KEPT_BODY = 256 * 1024
MAX_KEY_LENGTH = 200
#: What a repeat is answered with besides status and body (a flash message's cookie included).
KEPT_HEADERS = frozenset({"location", "content-type", "set-cookie"})
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value)
    return b""


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


async def submission_key(scope: Scope, receive: Receive) -> tuple[str, dt.timedelta] | None:
    """The row key and lifetime of this request, or None when it carries no key."""
    method, path = scope.get("method", ""), scope["path"]
    if method not in UNSAFE:
        return None
    request: Request[Any, Any, Any] = Request(scope, receive)
    if method == "POST" and path.startswith("/open311/"):
        return _digest("open311", path, await request.body()), OPEN311_WINDOW
    is_form = _header(scope, b"content-type").startswith(FORM_TYPES)
    sent = _header(scope, HEADER).decode("latin-1")
    if not sent and is_form:
        value = (await request.form()).get(FIELD)
        sent = value if isinstance(value, str) else ""
    if not sent:
        return None
    if len(sent) > MAX_KEY_LENGTH:
        raise ValidationFailed({FIELD: _("The submission key is too long.")})
    authorization = _header(scope, b"authorization")
    client = authorization or request.cookies.get(CSRF_COOKIE, "").encode()
    content = await _form_fingerprint(request) if is_form else await request.body()
    return _digest("key", client, method, path, sent, content), KEY_LIFETIME


async def _form_fingerprint(request: Request[Any, Any, Any]) -> bytes:
    """What a form says, field by field (a file by its name and bytes): the same form sent
    twice has the same fingerprint, whatever multipart boundary the browser chose."""
    h = hashlib.sha256()
    for name, value in (await request.form()).multi_items():
        if name in CONTROL_FIELDS:
            continue
        if isinstance(value, UploadFile):
            content = await value.read()
            await value.seek(0)
            h.update(_digest(name, value.filename or "", hashlib.sha256(content).digest()).encode())
        else:
            h.update(_digest(name, str(value)).encode())
    return h.digest()


async def _claim(key: str, now: dt.datetime, lifetime: dt.timedelta) -> bool:
    """Insert the row for ``key``; True when this request inserted it and so runs."""
    inserted = (
        await SubmissionRecord.insert(
            SubmissionRecord(key=key, created_at=now, expires_at=now + lifetime)
        )
        .on_conflict(target=SubmissionRecord.key, action="DO NOTHING")
        .returning(SubmissionRecord.id)
    )
    return bool(inserted)


async def _earlier(key: str, now: dt.datetime) -> dict[str, Any] | None:
    """The finished row of an earlier request with ``key``, waiting while it runs; None when
    there is none (never was, refused and released, expired, or abandoned), so this request
    may claim the key itself."""
    for _poll in range(POLLS):
        row = await SubmissionRecord.select().where(SubmissionRecord.key == key).first()
        if row is None:
            return None
        if row["expires_at"] <= now or (
            not row["done"] and row["created_at"] <= now - ABANDONED_AFTER
        ):
            await SubmissionRecord.delete().where(
                (SubmissionRecord.id == row["id"]) & (SubmissionRecord.done == row["done"])
            )
            return None
        if row["done"]:
            return row  # type: ignore[no-any-return]
        await asyncio.sleep(POLL_SECONDS)
    raise Conflict(_("This form is still being sent. Wait a moment, then reload the page."))


async def _replay(row: dict[str, Any], send: Send) -> None:
    """Answer as the first request was answered."""
    if row["status"] < 300 and len(row["body"]) != row["body_length"]:
        raise Conflict(_("This was already sent and saved; it was not saved again."))
    body = bytes(row["body"])
    headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in json.loads(row["headers"])
    ]
    headers += [(b"idempotent-replayed", b"true"), (b"content-length", str(len(body)).encode())]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": row["status"],
        "headers": headers,
    }
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(end)


class _Answer:
    """What the handler answered, seen through ``send``: what a repeat needs of it."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.starts_session = False
        self.body = bytearray()
        self.body_length = 0
        self.no_store = False

    def see(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            for raw_name, raw_value in message.get("headers", []):
                name = bytes(raw_name).lower().decode("latin-1")
                value = bytes(raw_value).decode("latin-1")
                if name in KEPT_HEADERS:
                    self.headers.append((name, value))
                if name == "set-cookie" and value.startswith(f"{SESSION_COOKIE}="):
                    self.starts_session = True
                if name == "cache-control" and "no-store" in value.lower():
                    # a secret shown once (a new API token): never written down for a replay;
                    # a repeat is told it was already done (see _replay)
                    self.no_store = True
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            self.body_length += len(chunk)
            if (
                self.status < 300
                and not self.no_store
                and len(self.body) + len(chunk) <= MAX_KEPT_BODY
            ):
                self.body.extend(chunk)

    @property
    def keepable(self) -> bool:
        """A success that is not a login (a session is never handed out twice)."""
        return 200 <= self.status < 400 and not self.starts_session


async def _settle(key: str, answer: _Answer) -> None:
    """Keep a successful answer for repeats; release the key of anything else."""
    if not answer.keepable:
        await SubmissionRecord.delete().where(SubmissionRecord.key == key)
        return
    await SubmissionRecord.update(
        {
            SubmissionRecord.done: True,
            SubmissionRecord.status: answer.status,
            SubmissionRecord.headers: json.dumps(answer.headers),
            SubmissionRecord.body: bytes(answer.body),
            SubmissionRecord.body_length: answer.body_length if answer.status < 300 else 0,
        }
    ).where(SubmissionRecord.key == key)


class SubmissionMiddleware:
    """Runs a keyed write once (see the module docstring). Placed after the CSRF check, so a
    forged request is refused before it can claim anything."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = await submission_key(scope, receive) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        key, lifetime = found
        now = scope["app"].state.clock()
        while not await _claim(key, now, lifetime):
            row = await _earlier(key, now)
            if row is not None:
                await _replay(row, send)
                return
        answer = _Answer()

        async def watching(message: Message) -> None:
            answer.see(message)
            await send(message)

        try:
            await self.app(scope, receive, watching)
        finally:
            await asyncio.shield(_settle(key, answer))


async def purge_expired(now: dt.datetime) -> int:
    """Delete rows whose key has expired; returns how many."""
    gone = (
        await SubmissionRecord.delete()
        .where(SubmissionRecord.expires_at <= now)
        .returning(SubmissionRecord.id)
    )
    return len(gone)
