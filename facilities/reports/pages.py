"""Citizen report pages: choose a facility and report a problem (the form, "near me"), the
reporter's tracking page with "still broken?", and the public accountability numbers.

Handlers parse, call a service and render; they never query tables.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.response import File, Template

from facilities.assets import services as assets
from facilities.errors import NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib.forms import parse_fields
from facilities.reports import services as reports
from facilities.reports.page_context import template_choices
from facilities.reports.pasted import PASTE_SYSTEMS, read_pasted
from facilities.reports.pin_json import pin_json
from facilities.reports.request_input import parse_float, parse_id, read_uploads, request_language
from facilities.reports.schemas import ReportForm, ReportIn, StillBrokenIn
from facilities.web.clock import now_of
from facilities.web.forms import CONTROL_FIELDS, parse_form
from facilities.web.maps import map_config
from facilities.web.responses import client_ip, media_file, redirect, render

#: The "still broken?" answer is a few words: a small body is plenty.
SMALL_BODY_BYTES = 64_000
HONEYPOT = "homepage"
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}


def _private(response: File) -> File:
    """A reporter's own file: not kept by shared caches, its secret address never sent on."""
    response.headers.update({**PRIVATE_HEADERS, "Cache-Control": "private, no-store"})
    return response


def _bad_parameter(exc: ValidationFailed) -> Response[Any]:
    """A 400 naming the parameter, in the reader's language (the API's error shape)."""
    key, message = next(iter(exc.errors.items()))
    return Response(
        {
            "status_code": 400,
            "detail": message,
            "extra": [{"key": key, "message": message, "source": "query"}],
        },
        status_code=400,
        media_type=MediaType.JSON,
    )


def _too_many(request: Request[Any, Any, Any], exc: reports.RateLimited) -> Template:
    """The 429 page, with Retry-After, when one address sent too many reports."""
    response = render(
        request,
        "errors/error.html",
        status_code=429,
        title=_("Too many requests"),
        detail=exc.detail,
    )
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


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
        site_id = parse_id(query.get("site"))
        pasted = await read_pasted(query.get("where", "")[:500], query.get("system", ""))
        if pasted.error and status_code == 200:
            status_code = 400
        followed = None
        follow_id = parse_id(str(form.get("same_as") or ""))
        if page is not None and follow_id is not None:
            followed = await reports.joinable_report(follow_id, page.facility.id, now)
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
            pasted=pasted,
            coord_systems=PASTE_SYSTEMS,
            sites=await assets.public_register(now_of(request)),
            followed=followed,
            pin_map=map_config(request),
            pin_start=await reports.map_start(),
            **template_choices(),
        )

    @get("/report")
    async def new(self, request: Request[Any, Any, Any]) -> Template:
        """Choose the facility (search, by site, or near me), then the form."""
        query = request.query_params
        asset_id = parse_id(query.get("asset"))
        form = {
            "asset_id": asset_id or "",
            "category": query.get("category", ""),
            "lat": query.get("lat", "") if parse_float(query.get("lat")) is not None else "",
            "lng": query.get("lng", "") if parse_float(query.get("lng")) is not None else "",
            "same_as": parse_id(query.get("follow")) or "",
        }
        return await self._form_page(request, asset_id, form, {})

    @get("/report/nearby.json", media_type=MediaType.JSON)
    async def nearby(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """Facilities near a location, nearest first (for the page's small script)."""
        query = request.query_params
        lat, lng = parse_float(query.get("lat")), parse_float(query.get("lng"))
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

    @get("/report/near", media_type=MediaType.JSON)
    async def near(self, request: Request[Any, Any, Any], now: dt.datetime) -> Response[Any]:
        """What a report pin is near (the page's map asks at each drop or drag): the facility
        it snaps to, its component, its closure, and the open reports around. Public facts
        only, no session needed; the browser may reuse an answer for half a minute."""
        query = request.query_params
        try:
            answer = await reports.answer_pin(
                parse_float(query.get("lat")), parse_float(query.get("lng")), now
            )
        except ValidationFailed as exc:
            return _bad_parameter(exc)
        return Response(
            pin_json(answer, now),
            media_type=MediaType.JSON,
            headers={"Cache-Control": "private, max-age=30", "Vary": "Accept-Language, Cookie"},
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
        values = {
            k: v for k in form if isinstance(v := form.get(k), str) and k not in CONTROL_FIELDS
        }
        asset_id = parse_id(values.get("asset_id"))
        if values.get(HONEYPOT, "").strip():
            return await self._form_page(
                request,
                asset_id,
                values,
                {HONEYPOT: _("Leave the field “Leave this empty” empty to send the report.")},
                400,
            )
        data, errors = parse_fields(ReportForm, values)
        photos = await read_uploads(form, "photos")
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
                        contact_phone=data.contact_phone,
                        language=request_language(request),
                    ),
                    photos,
                    now,
                    media_root=settings.media_path,
                    max_upload_bytes=settings.max_upload_bytes,
                    max_image_pixels=settings.max_image_pixels,
                    same_as=data.same_as,
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
            request, "reports/show.html", view=view, token=token, errors={}, **template_choices()
        )
        response.headers.update(PRIVATE_HEADERS)
        return response

    @get("/reports/{token:str}/photos/{photo_id:int}")
    async def photo(self, request: Request[Any, Any, Any], token: str, photo_id: int) -> File:
        """A photo the reporter sent, for them only (their link is the key)."""
        return _private(media_file(request, await reports.tracked_photo(token, photo_id), False))

    @get("/reports/{token:str}/photos/{photo_id:int}/thumbnail")
    async def thumbnail(self, request: Request[Any, Any, Any], token: str, photo_id: int) -> File:
        return _private(media_file(request, await reports.tracked_photo(token, photo_id), True))

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
                **template_choices(),
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
            **template_choices(),
        )
