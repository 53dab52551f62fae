"""Asset register pages (staff) and the JSON API under /api/v1."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody, Parameter, QueryParameter
from litestar.response import Response, Stream, Template

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import can
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
from facilities.errors import Conflict, ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib.clock import utcnow
from facilities.lib.forms import parse_fields
from facilities.web.auth import require_actor, staff_guard
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
    async def index(self, request: Request[Any, Any, Any]) -> Template:
        actor = require_actor(request)
        filters, errors = parse_fields(AssetFilters, dict(request.query_params))
        if filters is None:
            raise ValidationFailed(
                errors, _("Some filters are not valid: %(fields)s") % {"fields": ", ".join(errors)}
            )
        page = await assets.list_assets(actor, filters)
        return render(
            request,
            "assets/index.html",
            page=page,
            filters=filters,
            sites=await assets.list_sites(actor),
            query=request.url.query,
        )

    @get("/export.csv")
    async def export(self, request: Request[Any, Any, Any]) -> Stream:
        actor = require_actor(request)
        filters, errors = parse_fields(AssetFilters, dict(request.query_params))
        if filters is None:
            raise ValidationFailed(errors)
        rows = assets.iter_assets(actor, filters)
        stamp = utcnow().strftime("%Y%m%d")
        return Stream(
            csvio.export_lines(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="assets-{stamp}.csv"'},
        )

    @get("/new")
    async def new(self, request: Request[Any, Any, Any]) -> Template:
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
        actor = require_actor(request)
        data, errors, values = await parse_form(request, AssetIn)
        if data is not None:
            try:
                asset = await assets.create_asset(actor, data, utcnow())
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                return redirect(
                    f"/assets/{asset.id}", _("Asset %(code)s created.") % {"code": asset.code}
                )
        return await _form_page(request, "assets/new.html", 400, form=values, errors=errors)

    @get("/{asset_id:int}")
    async def show(self, request: Request[Any, Any, Any], asset_id: IdParam) -> Template:
        actor = require_actor(request)
        row = await assets.get_asset(actor, asset_id)
        return render(
            request,
            "assets/show.html",
            row=row,
            asset=row.asset,
            components=await assets.list_components(actor, asset_id),
            history=await audit.list_events("asset", asset_id),
            can_edit=can(actor, Perm.ASSETS_EDIT),
        )

    @get("/{asset_id:int}/edit")
    async def edit(self, request: Request[Any, Any, Any], asset_id: IdParam) -> Template:
        row = await assets.get_asset(require_actor(request), asset_id)
        return await _form_page(
            request, "assets/edit.html", asset=row.asset, form=_asset_form_values(row)
        )

    @post("/{asset_id:int}")
    async def update(self, request: Request[Any, Any, Any], asset_id: IdParam) -> Any:
        actor = require_actor(request)
        row = await assets.get_asset(actor, asset_id)
        data, errors, values = await parse_form(request, AssetIn)
        conflict = False
        if data is not None:
            try:
                await assets.update_asset(actor, asset_id, data, utcnow())
            except ValidationFailed as exc:
                errors = exc.errors
            except Conflict:
                # Keep what the person typed; show what is saved now beside it.
                conflict = True
                row = await assets.get_asset(actor, asset_id)
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
        )

    @get("/{asset_id:int}/components/new")
    async def new_component(self, request: Request[Any, Any, Any], asset_id: IdParam) -> Template:
        actor = require_actor(request)
        row = await assets.get_asset(actor, asset_id)
        return render(
            request,
            "assets/component_form.html",
            asset=row.asset,
            component=None,
            components=await assets.list_components(actor, asset_id),
            form={},
            errors={},
            conflict=False,
        )

    @post("/{asset_id:int}/components")
    async def create_component(self, request: Request[Any, Any, Any], asset_id: IdParam) -> Any:
        actor = require_actor(request)
        row = await assets.get_asset(actor, asset_id)
        data, errors, values = await parse_form(request, ComponentIn)
        if data is not None:
            try:
                await assets.create_component(actor, asset_id, data, utcnow())
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                return redirect(f"/assets/{asset_id}#components", _("Component added."))
        return render(
            request,
            "assets/component_form.html",
            status_code=400,
            asset=row.asset,
            component=None,
            components=await assets.list_components(actor, asset_id),
            form=values,
            errors=errors,
            conflict=False,
        )

    @get("/components/{component_id:int}/edit")
    async def edit_component(
        self, request: Request[Any, Any, Any], component_id: IdParam
    ) -> Template:
        actor = require_actor(request)
        component = await assets.get_component(actor, component_id)
        row = await assets.get_asset(actor, component.asset)
        form = {
            k: ("" if v is None else v) for k, v in assets.component_snapshot(component).items()
        }
        form["version"] = component.version
        return render(
            request,
            "assets/component_form.html",
            asset=row.asset,
            component=component,
            components=await assets.list_components(actor, row.asset.id),
            form=form,
            errors={},
            conflict=False,
        )

    @post("/components/{component_id:int}")
    async def update_component(self, request: Request[Any, Any, Any], component_id: IdParam) -> Any:
        actor = require_actor(request)
        component = await assets.get_component(actor, component_id)
        data, errors, values = await parse_form(request, ComponentIn)
        conflict = False
        if data is not None:
            try:
                await assets.update_component(actor, component_id, data, utcnow())
            except ValidationFailed as exc:
                errors = exc.errors
            except Conflict:
                conflict = True
            else:
                return redirect(f"/assets/{component.asset}#components", _("Changes saved."))
        row = await assets.get_asset(actor, component.asset)
        return render(
            request,
            "assets/component_form.html",
            status_code=409 if conflict else 400,
            asset=row.asset,
            component=component,
            components=await assets.list_components(actor, row.asset.id),
            form=values,
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
        require_actor(request)
        return render(
            request,
            "assets/site_form.html",
            site=None,
            form={"kind": "park"},
            errors={},
            conflict=False,
        )

    @post("/")
    async def create(self, request: Request[Any, Any, Any]) -> Any:
        actor = require_actor(request)
        data, errors, values = await parse_form(request, SiteIn)
        if data is not None:
            try:
                await assets.create_site(actor, data, utcnow())
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
        site = await assets.get_site(require_actor(request), site_id)
        form = {k: ("" if v is None else v) for k, v in assets.site_snapshot(site).items()}
        form["version"] = site.version
        return render(
            request, "assets/site_form.html", site=site, form=form, errors={}, conflict=False
        )

    @post("/{site_id:int}")
    async def update(self, request: Request[Any, Any, Any], site_id: IdParam) -> Any:
        actor = require_actor(request)
        site = await assets.get_site(actor, site_id)
        data, errors, values = await parse_form(request, SiteIn)
        conflict = False
        if data is not None:
            try:
                await assets.update_site(actor, site_id, data, utcnow())
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

    @get("/")
    async def index(self, request: Request[Any, Any, Any]) -> list[SiteOut]:
        return await assets.list_sites(require_actor(request))

    @get("/{site_id:int}")
    async def show(self, request: Request[Any, Any, Any], site_id: IdParam) -> SiteOut:
        return assets.site_out(await assets.get_site(require_actor(request), site_id))

    @post("/")
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[SiteIn]
    ) -> Response[SiteOut]:
        site = await assets.create_site(require_actor(request), data, utcnow())
        return Response(assets.site_out(site), status_code=201)

    @put("/{site_id:int}")
    async def update(
        self, request: Request[Any, Any, Any], site_id: IdParam, data: JSONBody[SiteIn]
    ) -> SiteOut:
        """Replace a site's fields; send the ``version`` you read (409 when it is stale)."""
        site = await assets.update_site(require_actor(request), site_id, data, utcnow())
        return assets.site_out(site)


class AssetApiController(Controller):
    path = "/api/v1"
    guards = [staff_guard]
    tags = ["assets"]

    @get("/assets")
    async def index(
        self,
        request: Request[Any, Any, Any],
        q: Annotated[str, QueryParameter(max_length=100)] = "",
        site: Annotated[int | None, QueryParameter(ge=1, le=2_147_483_647)] = None,
        type: Annotated[AssetType | None, QueryParameter()] = None,
        status: Annotated[Lifecycle | None, QueryParameter()] = None,
        page: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, QueryParameter(ge=1, le=200)] = 25,
    ) -> AssetPage:
        filters = AssetFilters(
            q=q, site=site, type=type, status=status, page=page, per_page=per_page
        )
        result = await assets.list_assets(require_actor(request), filters)
        return AssetPage(
            items=[assets.asset_out(r) for r in result.items],
            page=result.number,
            per_page=result.per_page,
            total=result.total,
        )

    @get("/assets/{asset_id:int}")
    async def show(self, request: Request[Any, Any, Any], asset_id: IdParam) -> AssetOut:
        return assets.asset_out(await assets.get_asset(require_actor(request), asset_id))

    @post("/assets")
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[AssetIn]
    ) -> Response[AssetOut]:
        actor = require_actor(request)
        asset = await assets.create_asset(actor, data, utcnow())
        return Response(assets.asset_out(await assets.get_asset(actor, asset.id)), status_code=201)

    @put("/assets/{asset_id:int}")
    async def update(
        self, request: Request[Any, Any, Any], asset_id: IdParam, data: JSONBody[AssetIn]
    ) -> AssetOut:
        """Replace an asset's fields; send the ``version`` you read (409 when it is stale)."""
        actor = require_actor(request)
        await assets.update_asset(actor, asset_id, data, utcnow())
        return assets.asset_out(await assets.get_asset(actor, asset_id))

    @get("/assets/{asset_id:int}/components")
    async def components(
        self, request: Request[Any, Any, Any], asset_id: IdParam
    ) -> list[ComponentOut]:
        return await assets.list_components(require_actor(request), asset_id)

    @post("/assets/{asset_id:int}/components")
    async def create_component(
        self, request: Request[Any, Any, Any], asset_id: IdParam, data: JSONBody[ComponentIn]
    ) -> Response[ComponentOut]:
        row = await assets.create_component(require_actor(request), asset_id, data, utcnow())
        return Response(assets.component_out(row), status_code=201)

    @get("/components/{component_id:int}")
    async def show_component(
        self, request: Request[Any, Any, Any], component_id: IdParam
    ) -> ComponentOut:
        return assets.component_out(
            await assets.get_component(require_actor(request), component_id)
        )

    @put("/components/{component_id:int}")
    async def update_component(
        self, request: Request[Any, Any, Any], component_id: IdParam, data: JSONBody[ComponentIn]
    ) -> ComponentOut:
        row = await assets.update_component(require_actor(request), component_id, data, utcnow())
        return assets.component_out(row)
