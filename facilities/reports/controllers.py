"""Report pages (citizens and staff) and Open311 GeoReport v2.

Controllers parse, call a service and respond; they never query tables.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException
from litestar.params import Parameter
from litestar.response import File, Redirect, Template

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import can
from facilities.assets import services as assets
from facilities.closures import public as closures_public
from facilities.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib.forms import parse_fields
from facilities.reports import choices, open311
from facilities.reports import services as reports
from facilities.reports.choices import Category, Channel, PublicStatus, is_value
from facilities.reports.schemas import (
    AnswerIn,
    ConvertIn,
    KeyCreate,
    MergeIn,
    Open311RequestIn,
    ReportForm,
    ReportIn,
    StillBrokenIn,
)
from facilities.tickets.choices import Priority, WorkClass
from facilities.web.auth import permission_guard, require_actor, staff_guard
from facilities.web.clock import now_of
from facilities.web.forms import parse_form
from facilities.web.responses import client_ip, media_file, redirect, render

IdParam = Annotated[int, Parameter(ge=1, le=2_147_483_647)]
MANAGE_KEYS = [permission_guard(Perm.OPEN311_KEYS)]
#: The "still broken?" answer is a few words: a small body is plenty.
SMALL_BODY_BYTES = 64_000
HONEYPOT = "homepage"
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}


def _choices() -> dict[str, Any]:
    """The report choices for templates (the app's globals are another team's file)."""
    return {
        "Category": Category,
        "ReportStatus": choices.ReportStatus,
        "Stage": choices.Stage,
        "Channel": Channel,
        "PublicStatus": PublicStatus,
        "STAGE_COLOURS": choices.STAGE_COLOURS,
        "attributes_for": choices.attributes_for,
        "MAX_PHOTOS": reports.MAX_PHOTOS,
    }


def _int(value: str | None) -> int | None:
    text = (value or "").strip()
    if not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= 2_147_483_647 else None


def _float(value: str | None) -> float | None:
    try:
        number = float((value or "").strip())
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


async def _uploads(form: Any, name: str) -> list[reports.Upload]:
    files = []
    for item in form.getall(name) if name in form else []:
        if isinstance(item, UploadFile):
            data = await item.read()
            if data or item.filename:
                files.append(reports.Upload(item.filename or "", data))
    return files


def _too_many(request: Request[Any, Any, Any], exc: reports.RateLimited) -> Template:
    response = render(
        request,
        "errors/error.html",
        status_code=429,
        title=_("Too many requests"),
        detail=exc.detail,
    )
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


# --- citizens ------------------------------------------------------------------------------


class ReportController(Controller):
    """Citizen pages: the report form, the tracking page, the public numbers."""

    include_in_schema = False

    async def _form_page(
        self,
        request: Request[Any, Any, Any],
        asset_id: int | None,
        form: dict[str, Any],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Template:
        settings = request.app.state.settings
        now = now_of(request)
        query = request.query_params
        page = None
        if asset_id is not None:
            try:
                page = await reports.facility_page(asset_id, now, settings.zone)
            except NotFound:
                errors = {**errors, "asset_id": _("Choose one of the listed facilities.")}
                status_code = 404 if status_code == 200 else status_code
        q = query.get("q", "")[:100]
        site_id = _int(query.get("site"))
        return render(
            request,
            "reports/new.html",
            status_code=status_code,
            page=page,
            form=form,
            errors=errors,
            q=q,
            site_id=site_id,
            results=await reports.search_facilities(q=q) if q.strip() else [],
            site_facilities=await reports.search_facilities(site_id=site_id) if site_id else [],
            sites=await assets.public_register(now_of(request)),
            **_choices(),
        )

    @get("/report")
    async def new(self, request: Request[Any, Any, Any]) -> Template:
        """Choose the facility (search, by site, or near me), then the form."""
        query = request.query_params
        asset_id = _int(query.get("asset"))
        form = {
            "asset_id": asset_id or "",
            "category": query.get("category", ""),
            "lat": query.get("lat", "") if _float(query.get("lat")) is not None else "",
            "lng": query.get("lng", "") if _float(query.get("lng")) is not None else "",
        }
        return await self._form_page(request, asset_id, form, {})

    @get("/report/nearby.json", media_type=MediaType.JSON)
    async def nearby(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """Facilities near a location, nearest first (for the page's small script)."""
        lat, lng = _float(request.query_params.get("lat")), _float(request.query_params.get("lng"))
        if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
            return Response(
                {"detail": _("The location is not valid.")},
                status_code=400,
                media_type=MediaType.JSON,
            )
        found = await reports.nearby_facilities(lat, lng)
        from facilities.web.templating import local_name

        return Response(
            {
                "facilities": [
                    {
                        "id": f.id,
                        "name": local_name(f),
                        "site": local_name({"name_zh": f.site_name_zh, "name_en": f.site_name_en}),
                        "distance_m": f.distance_m,
                        "url": f"/report?asset={f.id}&lat={lat:.6f}&lng={lng:.6f}",
                    }
                    for f in found
                ]
            },
            media_type=MediaType.JSON,
        )

    @post("/report")
    async def create(self, request: Request[Any, Any, Any], now: dt.datetime) -> Any:
        settings = request.app.state.settings
        try:
            await reports.take_rate(
                f"report:ip:{client_ip(request)}", reports.WEB_REPORTS_PER_IP, now
            )
        except reports.RateLimited as exc:
            return _too_many(request, exc)
        form = await request.form()
        values = {k: v for k in form if isinstance(v := form.get(k), str) and k != "_csrf_token"}
        asset_id = _int(values.get("asset_id"))
        if values.get(HONEYPOT, "").strip():
            return await self._form_page(
                request,
                asset_id,
                values,
                {HONEYPOT: _("Leave the field “Leave this empty” empty to send the report.")},
                400,
            )
        data, errors = parse_fields(ReportForm, values)
        photos = await _uploads(form, "photos")
        if data is not None:
            try:
                submitted = await reports.submit_report(
                    ReportIn(
                        asset_id=data.asset_id,
                        category=data.category,
                        description=data.description,
                        lat=data.lat,
                        lng=data.lng,
                        contact_name=data.contact_name,
                        contact_email=data.contact_email,
                        language=_language(request),
                    ),
                    photos,
                    now,
                    media_root=settings.media_path,
                    max_upload_bytes=settings.max_upload_bytes,
                )
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                return redirect(
                    f"/reports/{submitted.token}",
                    _("Thank you. Your report No. %(id)s was received.")
                    % {"id": submitted.report.id},
                )
        return await self._form_page(request, asset_id, values, errors, 400)

    @get("/reports/{token:str}")
    async def show(self, request: Request[Any, Any, Any], token: str, now: dt.datetime) -> Template:
        """The reporter's tracking page (the link is the secret)."""
        view = await reports.tracking(token, now)
        response = render(
            request, "reports/show.html", view=view, token=token, errors={}, **_choices()
        )
        response.headers.update(PRIVATE_HEADERS)
        return response

    @post("/reports/{token:str}/still-broken", request_max_body_size=SMALL_BODY_BYTES)
    async def still_broken(
        self, request: Request[Any, Any, Any], token: str, now: dt.datetime
    ) -> Any:
        settings = request.app.state.settings
        try:
            await reports.take_rate(
                f"report:ip:{client_ip(request)}", reports.WEB_REPORTS_PER_IP, now
            )
        except reports.RateLimited as exc:
            return _too_many(request, exc)
        data, errors, _values = await parse_form(request, StillBrokenIn)
        if data is None:
            view = await reports.tracking(token, now)
            response = render(
                request,
                "reports/show.html",
                status_code=400,
                view=view,
                token=token,
                errors=errors,
                **_choices(),
            )
            response.headers.update(PRIVATE_HEADERS)
            return response
        submitted = await reports.still_broken(
            token,
            data,
            now,
            media_root=settings.media_path,
            max_upload_bytes=settings.max_upload_bytes,
        )
        return redirect(
            f"/reports/{submitted.token}",
            _("Thank you. We will look again: follow-up report No. %(id)s was opened.")
            % {"id": submitted.report.id},
        )

    @get("/accountability")
    async def accountability(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        settings = request.app.state.settings
        return render(
            request,
            "reports/accountability.html",
            stats=await reports.accountability(now, settings.zone),
            **_choices(),
        )


def _language(request: Request[Any, Any, Any]) -> str:
    from facilities import i18n

    return i18n.current_locale()


# --- staff: triage and Open311 keys --------------------------------------------------------


class TriageController(Controller):
    path = "/triage"
    guards = [staff_guard]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        return render(
            request,
            "reports/triage.html",
            queue=await reports.triage_queue(actor, now),
            can_manage_keys=can(actor, Perm.OPEN311_KEYS),
            **_choices(),
        )

    async def _show(
        self,
        request: Request[Any, Any, Any],
        report_id: int,
        status_code: int = 200,
        errors: dict[str, str] | None = None,
        action_error: str = "",
        form: dict[str, Any] | None = None,
    ) -> Template:
        actor = require_actor(request)
        detail = await reports.get_report(actor, report_id, now_of(request))
        return render(
            request,
            "reports/triage_show.html",
            status_code=status_code,
            detail=detail,
            r=detail.row.report,
            errors=errors or {},
            action_error=action_error,
            form=form or {},
            priorities=Priority.options(),
            work_classes=WorkClass.options(),
            **_choices(),
        )

    @get("/{report_id:int}")
    async def show(self, request: Request[Any, Any, Any], report_id: IdParam) -> Template:
        return await self._show(request, report_id)

    async def _act(
        self, request: Request[Any, Any, Any], report_id: int, struct: type[Any], action: str
    ) -> Any:
        actor = require_actor(request)
        settings = request.app.state.settings
        data, errors, values = await parse_form(request, struct)
        if data is None:
            return await self._show(
                request,
                report_id,
                400,
                errors,
                _("Some of the values sent are not valid."),
                values,
            )
        now = now_of(request)
        files = {"media_root": settings.media_path, "max_upload_bytes": settings.max_upload_bytes}
        try:
            if action == "convert":
                ticket = await reports.convert_to_ticket(
                    actor, report_id, data, now, zone=settings.zone, **files
                )
                return redirect(
                    f"/tickets/{ticket.id}",
                    _("Ticket #%(id)s opened from report No. %(report)s.")
                    % {"id": ticket.id, "report": report_id},
                )
            if action == "merge":
                ticket = await reports.merge_into_ticket(
                    actor, report_id, data, now, zone=settings.zone, **files
                )
                message = _("Report No. %(report)s merged into ticket #%(id)s.") % {
                    "id": ticket.id,
                    "report": report_id,
                }
            elif action == "reject":
                await reports.reject_report(actor, report_id, data, now)
                message = _("Report No. %(report)s rejected.") % {"report": report_id}
            else:
                await reports.mark_not_ours(actor, report_id, data, now)
                message = _("Report No. %(report)s marked not our responsibility.") % {
                    "report": report_id
                }
        except ValidationFailed as exc:
            return await self._show(
                request, report_id, 400, exc.errors, next(iter(exc.errors.values())), values
            )
        except (Conflict, InvalidTransition) as exc:
            return await self._show(request, report_id, 409, {}, exc.detail, values)
        return redirect("/triage", message)

    @post("/{report_id:int}/convert")
    async def convert(self, request: Request[Any, Any, Any], report_id: IdParam) -> Any:
        return await self._act(request, report_id, ConvertIn, "convert")

    @post("/{report_id:int}/merge")
    async def merge(self, request: Request[Any, Any, Any], report_id: IdParam) -> Any:
        return await self._act(request, report_id, MergeIn, "merge")

    @post("/{report_id:int}/reject")
    async def reject(self, request: Request[Any, Any, Any], report_id: IdParam) -> Any:
        return await self._act(request, report_id, AnswerIn, "reject")

    @post("/{report_id:int}/not-ours")
    async def not_ours(self, request: Request[Any, Any, Any], report_id: IdParam) -> Any:
        return await self._act(request, report_id, AnswerIn, "not_ours")

    @get("/photos/{photo_id:int}")
    async def photo(self, request: Request[Any, Any, Any], photo_id: IdParam) -> File:
        return media_file(request, await reports.get_photo(require_actor(request), photo_id), False)

    @get("/photos/{photo_id:int}/thumbnail")
    async def thumbnail(self, request: Request[Any, Any, Any], photo_id: IdParam) -> File:
        return media_file(request, await reports.get_photo(require_actor(request), photo_id), True)

    @get("/api-keys", guards=MANAGE_KEYS)
    async def keys(self, request: Request[Any, Any, Any]) -> Template:
        return await self._keys(request, None, {}, {}, 200)

    async def _keys(
        self,
        request: Request[Any, Any, Any],
        new_key: str | None,
        form: dict[str, Any],
        errors: dict[str, str],
        status_code: int,
    ) -> Template:
        response = render(
            request,
            "reports/api_keys.html",
            status_code=status_code,
            keys=await reports.list_keys(require_actor(request)),
            new_key=new_key,
            form=form,
            errors=errors,
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @post("/api-keys", guards=MANAGE_KEYS)
    async def create_key(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        data, errors, values = await parse_form(request, KeyCreate)
        if data is None:
            return await self._keys(request, None, values, errors, 400)
        key = await reports.create_key(actor, data, now)
        return await self._keys(request, key, {}, {}, 201)

    @post("/api-keys/{key_id:int}/revoke", guards=MANAGE_KEYS)
    async def revoke_key(
        self, request: Request[Any, Any, Any], key_id: IdParam, now: dt.datetime
    ) -> Redirect:
        await reports.revoke_key(require_actor(request), key_id, now)
        return redirect("/triage/api-keys", _("Key revoked."))


# --- Open311 GeoReport v2 ------------------------------------------------------------------


class Open311Error(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def _described(errors: dict[str, str]) -> str:
    return "; ".join(f"{field}: {message}" for field, message in errors.items())


def _split(value: str, limit: int = 100) -> list[str]:
    items = [part.strip() for part in value.split(",") if part.strip()]
    if len(items) > limit:
        raise Open311Error(
            400, _("Too many values in one parameter (at most %(n)s).") % {"n": limit}
        )
    return items


class Open311Controller(Controller):
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
            ids = [_int(text) for text in ids_text]
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
            report_id = _int(text)
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
            await reports.take_rate(f"open311:key:{client.id}", reports.OPEN311_POSTS_PER_KEY, now)
            await reports.take_rate(f"open311:ip:{ip}", reports.OPEN311_POSTS_PER_IP, now)
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
                    language=_language(request),
                ),
                await _uploads(form, "media"),
                now,
                media_root=settings.media_path,
                max_upload_bytes=settings.max_upload_bytes,
                channel=Channel.OPEN311,
                client=client,
            )
        except ValidationFailed as exc:
            raise Open311Error(400, _described(exc.errors)) from None
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
