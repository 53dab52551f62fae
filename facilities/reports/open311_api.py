"""Open311 GeoReport v2 under /open311/v2: discovery, services and their definitions, requests
(list, one, by token, post) and servicerequestupdates, in XML or JSON, errors as the spec's
``[{"code", "description"}]`` document.

The documents are built by :mod:`facilities.reports.open311`; handlers call the services.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException

from facilities.closures import public as closures_public
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib.forms import parse_fields
from facilities.reports import open311
from facilities.reports import services as reports
from facilities.reports.choices import Category, Channel, is_value
from facilities.reports.request_input import parse_id, read_uploads, request_language
from facilities.reports.schemas import Open311RequestIn, ReportIn
from facilities.web.clock import now_of
from facilities.web.responses import client_ip

#: The service's field names that Open311 calls otherwise (in error descriptions).
OPEN311_FIELDS = {"contact_phone": "phone", "contact_email": "email"}


class Open311Error(Exception):
    """An answer in the spec's error document: the HTTP code, its description, and for 429
    the seconds to wait (sent as Retry-After)."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def _described(errors: dict[str, str]) -> str:
    """The messages per field as one error description."""
    return "; ".join(f"{field}: {message}" for field, message in errors.items())


def _split(value: str, limit: int = 100) -> list[str]:
    """A comma-separated parameter's values (at most ``limit`` of them, else a 400)."""
    items = [part.strip() for part in value.split(",") if part.strip()]
    if len(items) > limit:
        raise Open311Error(
            400, _("Too many values in one parameter (at most %(n)s).") % {"n": limit}
        )
    return items


class Open311Controller(Controller):
    """The GeoReport v2 machine API (CSRF-exempt; a post needs an Open311 client key)."""

    path = "/open311/v2"
    include_in_schema = False

    def _respond(
        self,
        request: Request[Any, Any, Any],
        fmt: str,
        root: str,
        item: str,
        document: Any,
        status_code: int = 200,
    ) -> Response[bytes]:
        body = open311.encode(fmt, root, item, document)
        headers = {"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"}
        if request.method == "GET":
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            headers["ETag"] = etag
            if etag in request.headers.get("if-none-match", ""):
                return Response(b"", status_code=304, headers=headers)
        return Response(
            body, status_code=status_code, media_type=open311.MEDIA_TYPES[fmt], headers=headers
        )

    def _error(self, fmt: str, exc: Open311Error) -> Response[bytes]:
        headers = {"Access-Control-Allow-Origin": "*"}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        return Response(
            open311.errors(fmt, exc.code, exc.description),
            status_code=exc.code,
            media_type=open311.MEDIA_TYPES[fmt],
            headers=headers,
        )

    def _context(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        settings = request.app.state.settings
        return {
            "zone": settings.zone,
            "base_url": settings.base_url,
            "agency": _("High-tech Zone Construction Bureau"),
        }

    async def _items(
        self, request: Request[Any, Any, Any], found: Sequence[reports.PublicReport]
    ) -> list[dict[str, Any]]:
        context = self._context(request)
        in_force: dict[int, Any] = {}
        if found:
            for closure in await closures_public.in_force(now_of(request)):
                in_force.setdefault(closure.asset.id, closure)
        return [
            open311.request_item(
                report,
                context["zone"],
                agency=context["agency"],
                closure=in_force.get(report.asset_id),
                base_url=context["base_url"],
            )
            for report in found
        ]

    def _name(self, name: str) -> tuple[str, str]:
        parsed = open311.split_name(name)
        if parsed is None:
            raise Open311Error(404, _("Unknown resource: use a .xml or .json name."))
        return parsed

    def _instant(self, request: Request[Any, Any, Any], name: str) -> Any:
        text = request.query_params.get(name, "")
        if not text.strip():
            return None
        try:
            return open311.parse_instant(text, request.app.state.settings.zone)
        except ValueError:
            raise Open311Error(
                400, _("%(name)s is not an ISO 8601 date and time.") % {"name": name}
            ) from None

    @get("/{name:str}")
    async def document(self, request: Request[Any, Any, Any], name: str) -> Response[bytes]:
        fmt = "xml"
        try:
            stem, fmt = self._name(name)
            if stem == "discovery":
                settings = request.app.state.settings
                contact = f"{_('High-tech Zone Construction Bureau')} <{settings.mail_from}>"
                return self._respond(
                    request, fmt, "discovery", "", open311.discovery(settings.base_url, contact)
                )
            if stem == "services":
                return self._respond(request, fmt, "services", "service", open311.services())
            if stem == "requests":
                return await self._list(request, fmt)
            if stem == "servicerequestupdates":
                return await self._updates(request, fmt)
            raise Open311Error(404, _("Unknown resource."))
        except Open311Error as exc:
            return self._error(fmt, exc)

    async def _list(self, request: Request[Any, Any, Any], fmt: str) -> Response[bytes]:
        query = request.query_params
        ids_text = _split(query.get("service_request_id", ""))
        if ids_text:
            ids = [parse_id(text) for text in ids_text]
            if any(i is None for i in ids):
                raise Open311Error(400, _("service_request_id must be numbers."))
            found = await reports.public_reports(now_of(request), ids=[i for i in ids if i])
            return self._respond(
                request, fmt, "service_requests", "request", await self._items(request, found)
            )
        codes = _split(query.get("service_code", ""))
        unknown = [c for c in codes if not is_value(Category, c)]
        if unknown:
            raise Open311Error(
                400, _("Unknown service_code: %(codes)s") % {"codes": ", ".join(unknown)[:200]}
            )
        statuses = _split(query.get("status", ""), 2)
        if any(s not in ("open", "closed") for s in statuses):
            raise Open311Error(400, _("status must be open or closed."))
        try:
            found = await reports.public_reports(
                now_of(request),
                start=self._instant(request, "start_date"),
                end=self._instant(request, "end_date"),
                categories=codes,
                statuses=statuses,
            )
        except ValidationFailed as exc:
            raise Open311Error(400, _described(exc.errors)) from None
        return self._respond(
            request, fmt, "service_requests", "request", await self._items(request, found)
        )

    async def _updates(self, request: Request[Any, Any, Any], fmt: str) -> Response[bytes]:
        zone = request.app.state.settings.zone
        try:
            updates = await reports.request_updates(
                self._instant(request, "start_date"),
                self._instant(request, "end_date"),
                now_of(request),
            )
        except ValidationFailed as exc:
            raise Open311Error(400, _described(exc.errors)) from None
        return self._respond(
            request,
            fmt,
            "service_request_updates",
            "request_update",
            [open311.update_item(u, zone) for u in updates],
        )

    @get("/services/{name:str}")
    async def service(self, request: Request[Any, Any, Any], name: str) -> Response[bytes]:
        fmt = "xml"
        try:
            code, fmt = self._name(name)
            if not is_value(Category, code):
                raise Open311Error(404, _("Unknown service_code: %(codes)s") % {"codes": code[:64]})
            return self._respond(
                request, fmt, "service_definition", "", open311.service_definition(Category(code))
            )
        except Open311Error as exc:
            return self._error(fmt, exc)

    @get("/requests/{name:str}")
    async def request_show(
        self, request: Request[Any, Any, Any], name: str, now: dt.datetime
    ) -> Response[bytes]:
        fmt = "xml"
        try:
            text, fmt = self._name(name)
            report_id = parse_id(text)
            found = await reports.public_report(report_id, now) if report_id else None
            if found is None:
                raise Open311Error(404, _("No service request has this id."))
            return self._respond(
                request, fmt, "service_requests", "request", await self._items(request, [found])
            )
        except Open311Error as exc:
            return self._error(fmt, exc)

    @get("/tokens/{name:str}")
    async def token(self, request: Request[Any, Any, Any], name: str) -> Response[bytes]:
        fmt = "xml"
        try:
            token, fmt = self._name(name)
            report_id = await reports.report_id_for_token(token)
            if report_id is None:
                raise Open311Error(404, _("No service request has this token."))
            return self._respond(
                request,
                fmt,
                "service_requests",
                "request",
                [{"service_request_id": str(report_id), "token": token}],
            )
        except Open311Error as exc:
            return self._error(fmt, exc)

    @post("/{name:str}")
    async def create(self, request: Request[Any, Any, Any], name: str) -> Response[bytes]:
        fmt = "xml"
        try:
            stem, fmt = self._name(name)
            if stem != "requests":
                raise Open311Error(404, _("Unknown resource."))
            return await self._create(request, fmt)
        except Open311Error as exc:
            return self._error(fmt, exc)

    async def _create(self, request: Request[Any, Any, Any], fmt: str) -> Response[bytes]:
        settings = request.app.state.settings
        now = now_of(request)
        ip = client_ip(request)
        try:
            form = await request.form()
        except HTTPException as exc:
            message = (
                _("The request is too large.")
                if exc.status_code == 413
                else _("The request body could not be read.")
            )
            raise Open311Error(exc.status_code, message) from None
        try:
            client = await reports.client_for_key(str(form.get("api_key") or ""), now)
            if client is None:
                await reports.take_rate(f"open311:badkey:{ip}", reports.BAD_KEYS_PER_IP, now)
                raise Open311Error(403, _("api_key is missing or not valid."))
            # The address first: the key's hourly budget counts only posts that passed it.
            await reports.take_rate(f"open311:ip:{ip}", reports.OPEN311_POSTS_PER_IP, now)
            await reports.take_rate(f"open311:key:{client.id}", reports.OPEN311_POSTS_PER_KEY, now)
        except reports.RateLimited as exc:
            raise Open311Error(429, exc.detail, exc.retry_after) from None
        values = {k: v for k in form if isinstance(v := form.get(k), str)}
        data, errors = parse_fields(Open311RequestIn, values)
        if data is None:
            raise Open311Error(400, _described(errors))
        if not is_value(Category, data.service_code):
            raise Open311Error(
                400,
                _("Unknown service_code: %(codes)s") % {"codes": data.service_code[:64]},
            )
        attributes = {
            key[len("attribute[") : -1]: value
            for key, value in values.items()
            if key.startswith("attribute[") and key.endswith("]")
        }
        facility = await self._locate(data)
        try:
            submitted = await reports.submit_report(
                ReportIn(
                    asset_id=facility.id,
                    category=Category(data.service_code),
                    description=data.description,
                    attributes=attributes,
                    lat=data.lat,
                    lng=data.long,
                    address_string=data.address_string,
                    contact_name=f"{data.first_name} {data.last_name}".strip(),
                    contact_email=data.email,
                    contact_phone=data.phone,
                    device_id=data.device_id,
                    account_id=data.account_id,
                    language=reports.report_language(data.locale) or request_language(request),
                ),
                await read_uploads(form, "media"),
                now,
                media_root=settings.media_path,
                max_upload_bytes=settings.max_upload_bytes,
                max_image_pixels=settings.max_image_pixels,
                channel=Channel.OPEN311,
                client=client,
            )
        except ValidationFailed as exc:
            named = {OPEN311_FIELDS.get(k, k): v for k, v in exc.errors.items()}
            raise Open311Error(400, _described(named)) from None
        zone = settings.zone
        return self._respond(
            request,
            fmt,
            "service_requests",
            "request",
            [
                {
                    "service_request_id": str(submitted.report.id),
                    "token": submitted.token,
                    "service_notice": open311.service_notice(
                        submitted.closure, settings.base_url, zone
                    ),
                    "expected_datetime": open311.iso(
                        open311.expected(submitted.closure, zone), zone
                    ),
                    "account_id": data.account_id or None,
                }
            ],
            status_code=201,
        )

    async def _locate(self, data: Open311RequestIn) -> reports.Facility:
        if (data.lat is None) != (data.long is None):
            raise Open311Error(400, _("Send both lat and long, or neither."))
        if data.lat is not None and data.long is not None:
            facility = await reports.match_location(data.lat, data.long)
            if facility is not None:
                return facility
            if not (data.address_id or data.address_string):
                raise Open311Error(
                    400,
                    _("No facility of ours is within %(m)s m of this location.")
                    % {"m": reports.MATCH_RADIUS_M},
                )
        if data.address_id or data.address_string:
            facility = await reports.match_address(data.address_string, data.address_id)
            if facility is None:
                raise Open311Error(
                    400, _("The address does not name one of our facilities unambiguously.")
                )
            return facility
        raise Open311Error(
            400, _("A location is required: lat and long, address_string or address_id.")
        )
