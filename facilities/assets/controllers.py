"""Asset register pages (staff) and the JSON API under /api/v1."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody, Parameter, QueryParameter
from litestar.response import Response, Stream, Template

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, can, require
from facilities.assets import csvio
from facilities.assets import services as assets
from facilities.assets.choices import AssetType, Lifecycle
from facilities.assets.schemas import (
    AssetFilters,
    AssetIn,
    AssetOut,
    ComponentIn,
    ComponentOut,
    SiteIn,
    SiteOut,
)
from facilities.audit import services as audit
from facilities.closures import services as closures
from facilities.errors import Conflict, ValidationFailed
from facilities.i18n import gettext as _
from facilities.inspections import services as inspections
from facilities.lib.forms import parse_fields
from facilities.tickets import services as tickets
from facilities.tickets.choices import OPEN_STATUSES
from facilities.web.auth import require_actor, staff_guard
from facilities.web.clock import now_of
from facilities.web.errors import api_errors
from facilities.web.forms import parse_form
from facilities.web.responses import redirect, render

IdParam = Annotated[int, Parameter(ge=1, le=2_147_483_647)]


class AssetPage(msgspec.Struct):
    items: list[AssetOut]
    page: int
    per_page: int
    total: int


def _asset_form_values(row: assets.AssetRow) -> dict[str, Any]:
    values = {k: ("" if v is None else v) for k, v in assets.asset_snapshot(row.asset).items()}
    values["version"] = row.asset.version
    return values


async def _create_asset(request: Request[Any, Any, Any], actor: Actor, data: AssetIn) -> Any:
    """A new asset gets the policy's default inspection schedules for its type and grade."""
    now = now_of(request)
    async with db.transaction():  # both or neither
        asset = await assets.create_asset(actor, data, now)
        await inspections.apply_default_schedules(
            actor, asset.id, request.app.state.settings.zone, now
        )
    return asset


def _editor(request: Request[Any, Any, Any]) -> Actor:
    """The actor, when they may edit the register: forms are not shown to those who cannot save
    them (the services check again on every write)."""
    return require(require_actor(request), Perm.ASSETS_EDIT)


def _differences(row: assets.AssetRow, data: AssetIn) -> dict[str, Any]:
    """Field -> the value saved now, for each field where it differs from what was typed."""
    saved = assets.asset_snapshot(row.asset)
    typed = {k: v for k, v in msgspec.structs.asdict(data).items() if k != "version"}
    return {field: pair[0] for field, pair in audit.diff(saved, typed).items()}


async def _form_page(
    request: Request[Any, Any, Any], template: str, status_code: int = 200, **context: Any
) -> Template:
    actor = require_actor(request)
    context.setdefault("errors", {})
    context.setdefault("conflict", False)
    return render(
        request, template, status_code=status_code, sites=await assets.list_sites(actor), **context
    )


class AssetController(Controller):
    path = "/assets"
    guards = [staff_guard]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any], now: dt.datetime) -> Template:
        actor = require_actor(request)
        filters, errors = parse_fields(AssetFilters, dict(request.query_params))
        if filters is None:
            raise ValidationFailed(
                errors, _("Some filters are not valid: %(fields)s") % {"fields": ", ".join(errors)}
            )
        page = await assets.list_assets(actor, filters, now)
        return render(
            request,
            "assets/index.html",
            page=page,
            filters=filters,
            sites=await assets.list_sites(actor),
            query=request.url.query,
            default_per_page=AssetFilters().per_page,
        )

    @get("/export.csv")
    async def export(self, request: Request[Any, Any, Any], now: dt.datetime) -> Stream:
        actor = require_actor(request)
        filters, errors = parse_fields(AssetFilters, dict(request.query_params))
        if filters is None:
            raise ValidationFailed(errors)
        rows = assets.iter_assets(actor, filters, now)
        stamp = now.strftime("%Y%m%d")
        return Stream(
            csvio.export_lines(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="assets-{stamp}.csv"'},
        )

    @get("/new")
    async def new(self, request: Request[Any, Any, Any]) -> Template:
        _editor(request)
        return await _form_page(
            request,
            "assets/new.html",
            form={
                "lifecycle": Lifecycle.IN_USE,
                "asset_type": AssetType.FOOTBRIDGE,
                "site_id": request.query_params.get("site", ""),
            },
        )

    @post("/")
    async def create(self, request: Request[Any, Any, Any]) -> Any:
        actor = _editor(request)
        data, errors, values = await parse_form(request, AssetIn)
        if data is not None:
            try:
                asset = await _create_asset(request, actor, data)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                return redirect(
                    f"/assets/{asset.id}", _("Asset %(code)s created.") % {"code": asset.code}
                )
        return await _form_page(request, "assets/new.html", 400, form=values, errors=errors)

    @get("/{asset_id:int}")
    async def show(
        self, request: Request[Any, Any, Any], asset_id: IdParam, now: dt.datetime
    ) -> Template:
        """The asset and everything that hangs off it. The page composes the domains above the
        register (tickets, inspections, closures); their services stay independent of it."""
        actor = require_actor(request)
        row = await assets.get_asset(actor, asset_id, now)
        ticket_rows = await tickets.tickets_for_asset(actor, asset_id, now)
        schedules = await inspections.list_schedules(actor, asset_id)
        overdue = await inspections.overdue_schedules([s.id for s in schedules], now)
        return render(
            request,
            "assets/show.html",
            row=row,
            asset=row.asset,
            components=await assets.list_components(actor, asset_id),
            history=await audit.list_events("asset", asset_id),
            can_edit=can(actor, Perm.ASSETS_EDIT),
            tickets=ticket_rows,
            open_p0=any(
                t.ticket.priority == "P0" and t.ticket.status in OPEN_STATUSES for t in ticket_rows
            ),
            schedules=[
                (s, inspections.schedule_status(s, now, s.id in overdue)) for s in schedules
            ],
            recent_inspections=await inspections.list_inspections(
                actor, now, asset_id=asset_id, open_only=False, limit=10
            ),
            grade_history=await inspections.grade_history(asset_id),
            proposals=await inspections.list_proposals(actor, asset_id),
            closures=await closures.list_closures(actor, asset_id=asset_id),
            now=now,
        )

    @get("/{asset_id:int}/edit")
    async def edit(
        self, request: Request[Any, Any, Any], asset_id: IdParam, now: dt.datetime
    ) -> Template:
        row = await assets.get_asset(_editor(request), asset_id, now)
        return await _form_page(
            request, "assets/edit.html", asset=row.asset, form=_asset_form_values(row)
        )

    @post("/{asset_id:int}")
    async def update(
        self, request: Request[Any, Any, Any], asset_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = _editor(request)
        row = await assets.get_asset(actor, asset_id, now)
        data, errors, values = await parse_form(request, AssetIn)
        conflict = False
        differences: dict[str, Any] = {}
        if data is not None:
            try:
                await assets.update_asset(actor, asset_id, data, now)
            except ValidationFailed as exc:
                errors = exc.errors
            except Conflict:
                # Keep what the person typed; show what is saved now beside it.
                conflict = True
                row = await assets.get_asset(actor, asset_id, now)
                differences = _differences(row, data)
            else:
                return redirect(f"/assets/{asset_id}", _("Changes saved."))
        status = 409 if conflict else 400
        return await _form_page(
            request,
            "assets/edit.html",
            status,
            asset=row.asset,
            form=values,
            errors=errors,
            conflict=conflict,
            current=_asset_form_values(row) if conflict else None,
            differences=differences,
        )

    @get("/{asset_id:int}/components/new")
    async def new_component(
        self, request: Request[Any, Any, Any], asset_id: IdParam, now: dt.datetime
    ) -> Template:
        actor = _editor(request)
        row = await assets.get_asset(actor, asset_id, now)
        return await _component_page(request, actor, row.asset, None, {}, {})

    @post("/{asset_id:int}/components")
    async def create_component(
        self, request: Request[Any, Any, Any], asset_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = _editor(request)
        row = await assets.get_asset(actor, asset_id, now)
        data, errors, values = await parse_form(request, ComponentIn)
        if data is not None:
            try:
                await assets.create_component(actor, asset_id, data, now)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                return redirect(f"/assets/{asset_id}#components", _("Component added."))
        return await _component_page(request, actor, row.asset, None, values, errors, 400)

    @get("/components/{component_id:int}/edit")
    async def edit_component(
        self, request: Request[Any, Any, Any], component_id: IdParam, now: dt.datetime
    ) -> Template:
        actor = _editor(request)
        component = await assets.get_component(actor, component_id)
        row = await assets.get_asset(actor, component.asset, now)
        form = {
            k: ("" if v is None else v) for k, v in assets.component_snapshot(component).items()
        }
        form["version"] = component.version
        return await _component_page(request, actor, row.asset, component, form, {})

    @post("/components/{component_id:int}")
    async def update_component(
        self, request: Request[Any, Any, Any], component_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = _editor(request)
        component = await assets.get_component(actor, component_id)
        data, errors, values = await parse_form(request, ComponentIn)
        conflict = False
        if data is not None:
            try:
                await assets.update_component(actor, component_id, data, now)
            except ValidationFailed as exc:
                errors = exc.errors
            except Conflict:
                conflict = True
            else:
                return redirect(f"/assets/{component.asset}#components", _("Changes saved."))
        row = await assets.get_asset(actor, component.asset, now)
        status = 409 if conflict else 400
        return await _component_page(
            request, actor, row.asset, component, values, errors, status, conflict=conflict
        )


def possible_parents(components: list[ComponentOut], editing: Any | None) -> list[ComponentOut]:
    """The components ``editing`` may be placed under: not itself, not one of its own parts
    (``components`` is in tree order, so its parts follow it, deeper than it)."""
    if editing is None:
        return components
    allowed: list[ComponentOut] = []
    inside_depth: int | None = None
    for c in components:
        if inside_depth is not None and c.depth > inside_depth:
            continue
        inside_depth = None
        if c.id == editing.id:
            inside_depth = c.depth
            continue
        allowed.append(c)
    return allowed


async def _component_page(
    request: Request[Any, Any, Any],
    actor: Actor,
    asset: Any,
    component: Any | None,
    form: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
    *,
    conflict: bool = False,
) -> Template:
    components = await assets.list_components(actor, asset.id)
    return render(
        request,
        "assets/component_form.html",
        status_code=status_code,
        asset=asset,
        component=component,
        parents=possible_parents(components, component),
        form=form,
        errors=errors,
        conflict=conflict,
    )


class SiteController(Controller):
    path = "/sites"
    guards = [staff_guard]
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        actor = require_actor(request)
        return render(
            request,
            "assets/sites.html",
            sites=await assets.list_sites(actor),
            can_edit=can(actor, Perm.ASSETS_EDIT),
        )

    @get("/new")
    async def new(self, request: Request[Any, Any, Any]) -> Template:
        _editor(request)
        return render(
            request,
            "assets/site_form.html",
            site=None,
            form={"kind": "park"},
            errors={},
            conflict=False,
        )

    @post("/")
    async def create(self, request: Request[Any, Any, Any], now: dt.datetime) -> Any:
        actor = _editor(request)
        data, errors, values = await parse_form(request, SiteIn)
        if data is not None:
            try:
                await assets.create_site(actor, data, now)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                return redirect("/sites", _("Site created."))
        return render(
            request,
            "assets/site_form.html",
            status_code=400,
            site=None,
            form=values,
            errors=errors,
            conflict=False,
        )

    @get("/{site_id:int}/edit")
    async def edit(self, request: Request[Any, Any, Any], site_id: IdParam) -> Template:
        site = await assets.get_site(_editor(request), site_id)
        form = {k: ("" if v is None else v) for k, v in assets.site_snapshot(site).items()}
        form["version"] = site.version
        return render(
            request, "assets/site_form.html", site=site, form=form, errors={}, conflict=False
        )

    @post("/{site_id:int}")
    async def update(
        self, request: Request[Any, Any, Any], site_id: IdParam, now: dt.datetime
    ) -> Any:
        actor = _editor(request)
        site = await assets.get_site(actor, site_id)
        data, errors, values = await parse_form(request, SiteIn)
        conflict = False
        if data is not None:
            try:
                await assets.update_site(actor, site_id, data, now)
            except ValidationFailed as exc:
                errors = exc.errors
            except Conflict:
                conflict = True
            else:
                return redirect("/sites", _("Changes saved."))
        return render(
            request,
            "assets/site_form.html",
            status_code=409 if conflict else 400,
            site=site,
            form=values,
            errors=errors,
            conflict=conflict,
        )


class SiteApiController(Controller):
    path = "/api/v1/sites"
    guards = [staff_guard]
    tags = ["sites"]

    @get("/", responses=api_errors())
    async def index(self, request: Request[Any, Any, Any]) -> list[SiteOut]:
        return await assets.list_sites(require_actor(request))

    @get("/{site_id:int}", responses=api_errors(404))
    async def show(self, request: Request[Any, Any, Any], site_id: IdParam) -> SiteOut:
        return await assets.site_detail(require_actor(request), site_id)

    @post("/", responses=api_errors(403))
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[SiteIn], now: dt.datetime
    ) -> Response[SiteOut]:
        site = await assets.create_site(require_actor(request), data, now)
        return Response(assets.site_out(site), status_code=201)

    @put("/{site_id:int}", responses=api_errors(403, 404, 409))
    async def update(
        self,
        request: Request[Any, Any, Any],
        site_id: IdParam,
        data: JSONBody[SiteIn],
        now: dt.datetime,
    ) -> SiteOut:
        """Replace a site's fields; send the ``version`` you read (409 when it is stale)."""
        actor = require_actor(request)
        await assets.update_site(actor, site_id, data, now)
        return await assets.site_detail(actor, site_id)


class AssetApiController(Controller):
    path = "/api/v1"
    guards = [staff_guard]
    tags = ["assets"]

    @get("/assets", responses=api_errors())
    async def index(
        self,
        request: Request[Any, Any, Any],
        q: Annotated[str, QueryParameter(max_length=100)] = "",
        site: Annotated[int | None, QueryParameter(ge=1, le=2_147_483_647)] = None,
        type: Annotated[AssetType | None, QueryParameter()] = None,
        status: Annotated[Lifecycle | None, QueryParameter()] = None,
        page: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, QueryParameter(ge=1, le=200)] = 25,
        *,
        now: dt.datetime,
    ) -> AssetPage:
        filters = AssetFilters(
            q=q, site=site, type=type, status=status, page=page, per_page=per_page
        )
        result = await assets.list_assets(require_actor(request), filters, now)
        return AssetPage(
            items=[assets.asset_out(r) for r in result.items],
            page=result.number,
            per_page=result.per_page,
            total=result.total,
        )

    @get("/assets/{asset_id:int}", responses=api_errors(404))
    async def show(
        self, request: Request[Any, Any, Any], asset_id: IdParam, now: dt.datetime
    ) -> AssetOut:
        return assets.asset_out(await assets.get_asset(require_actor(request), asset_id, now))

    @post("/assets", responses=api_errors(403, 409))
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[AssetIn], now: dt.datetime
    ) -> Response[AssetOut]:
        actor = require_actor(request)
        asset = await _create_asset(request, actor, data)
        return Response(
            assets.asset_out(await assets.get_asset(actor, asset.id, now)), status_code=201
        )

    @put("/assets/{asset_id:int}", responses=api_errors(403, 404, 409))
    async def update(
        self,
        request: Request[Any, Any, Any],
        asset_id: IdParam,
        data: JSONBody[AssetIn],
        now: dt.datetime,
    ) -> AssetOut:
        """Replace an asset's fields; send the ``version`` you read (409 when it is stale)."""
        actor = require_actor(request)
        await assets.update_asset(actor, asset_id, data, now)
        return assets.asset_out(await assets.get_asset(actor, asset_id, now))

    @get("/assets/{asset_id:int}/components", responses=api_errors(404))
    async def components(
        self, request: Request[Any, Any, Any], asset_id: IdParam
    ) -> list[ComponentOut]:
        return await assets.list_components(require_actor(request), asset_id)

    @post("/assets/{asset_id:int}/components", responses=api_errors(403, 404))
    async def create_component(
        self,
        request: Request[Any, Any, Any],
        asset_id: IdParam,
        data: JSONBody[ComponentIn],
        now: dt.datetime,
    ) -> Response[ComponentOut]:
        actor = require_actor(request)
        row = await assets.create_component(actor, asset_id, data, now)
        return Response(await assets.component_detail(actor, row.id), status_code=201)

    @get("/components/{component_id:int}", responses=api_errors(404))
    async def show_component(
        self, request: Request[Any, Any, Any], component_id: IdParam
    ) -> ComponentOut:
        return await assets.component_detail(require_actor(request), component_id)

    @put("/components/{component_id:int}", responses=api_errors(403, 404, 409))
    async def update_component(
        self,
        request: Request[Any, Any, Any],
        component_id: IdParam,
        data: JSONBody[ComponentIn],
        now: dt.datetime,
    ) -> ComponentOut:
        actor = require_actor(request)
        await assets.update_component(actor, component_id, data, now)
        return await assets.component_detail(actor, component_id)
