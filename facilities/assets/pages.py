"""Asset register pages for staff: the list and its CSV and Excel exports, one asset with
everything that hangs off it, the asset, component and site forms. The JSON API is in
:mod:`facilities.assets.api`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import Stream, Template

from facilities.accounts import saved_filters
from facilities.accounts.choices import Perm
from facilities.accounts.guards import require_actor
from facilities.accounts.permissions import Actor, can, require
from facilities.assets import csvio, xlsxio
from facilities.assets import services as assets
from facilities.assets.beyond import AssetFile, Commission
from facilities.assets.choices import AssetType, Lifecycle
from facilities.assets.schemas import AssetFilters, AssetIn, ComponentIn, ComponentOut, SiteIn
from facilities.audit import services as audit
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib.forms import parse_fields
from facilities.web.auth import staff_guard
from facilities.web.forms import submit
from facilities.web.params import IdParam
from facilities.web.responses import attachment, redirect, render
from facilities.web.spreadsheets import workbook_response


def _asset_form_values(row: assets.AssetRow) -> dict[str, Any]:
    values = {k: ("" if v is None else v) for k, v in assets.asset_snapshot(row.asset).items()}
    values["version"] = row.asset.version
    return values


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
            saved_filters=await saved_filters.on_list(actor, "assets"),
        )

    @get("/export.csv")
    async def export(self, request: Request[Any, Any, Any], now: dt.datetime) -> Stream:
        actor = require_actor(request)
        filters, errors = parse_fields(AssetFilters, dict(request.query_params))
        if filters is None:
            raise ValidationFailed(errors)
        rows = assets.iter_assets(actor, filters, now)
        return Stream(
            csvio.export_lines(rows),
            media_type="text/csv",  # Litestar adds the charset to every text/* type
            headers={"Content-Disposition": attachment(request, "assets", "csv", now)},
        )

    @get("/export.xlsx")
    async def export_xlsx(
        self, request: Request[Any, Any, Any], now: dt.datetime
    ) -> Response[bytes]:
        """The list as a workbook: assets, and their components on a second sheet."""
        actor = require_actor(request)
        filters, errors = parse_fields(AssetFilters, dict(request.query_params))
        if filters is None:
            raise ValidationFailed(errors)
        zone = request.app.state.settings.zone
        data = await xlsxio.export_workbook(actor, filters, now, zone)
        return workbook_response(request, data, "assets", now)

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
    async def create(
        self, request: Request[Any, Any, Any], now: dt.datetime, commission: Commission
    ) -> Any:
        actor = _editor(request)
        zone = request.app.state.settings.zone
        form = await submit(request, AssetIn, lambda data: commission(actor, data, zone, now))
        if form.ok and form.result is not None:
            asset = form.result
            return redirect(
                f"/assets/{asset.id}", _("Asset %(code)s created.") % {"code": asset.code}
            )
        return await _form_page(
            request, "assets/new.html", form.status_code, form=form.values, errors=form.errors
        )

    @get("/{asset_id:int}")
    async def show(
        self,
        request: Request[Any, Any, Any],
        asset_id: IdParam,
        now: dt.datetime,
        asset_file: AssetFile,
    ) -> Template:
        """The asset and everything that hangs off it: the domains above the register (tickets,
        inspections, closures) come through ``asset_file``, provided by the app."""
        actor = require_actor(request)
        row = await assets.get_asset(actor, asset_id, now)
        return render(
            request,
            "assets/show.html",
            row=row,
            asset=row.asset,
            components=await assets.list_components(actor, asset_id),
            history=await audit.list_events("asset", asset_id),
            can_edit=can(actor, Perm.ASSETS_EDIT),
            **await asset_file(actor, asset_id, now),
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
        form = await submit(
            request, AssetIn, lambda data: assets.update_asset(actor, asset_id, data, now)
        )
        if form.ok:
            return redirect(f"/assets/{asset_id}", _("Changes saved."))
        differences: dict[str, Any] = {}
        if form.conflict and form.data is not None:
            # Keep what the person typed; show what is saved now beside it.
            row = await assets.get_asset(actor, asset_id, now)
            differences = _differences(row, form.data)
        return await _form_page(
            request,
            "assets/edit.html",
            form.status_code,
            asset=row.asset,
            form=form.values,
            errors=form.errors,
            conflict=form.conflict,
            current=_asset_form_values(row) if form.conflict else None,
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
        form = await submit(
            request,
            ComponentIn,
            lambda data: assets.create_component(actor, asset_id, data, now),
        )
        if form.ok:
            return redirect(f"/assets/{asset_id}#components", _("Component added."))
        return await _component_page(
            request, actor, row.asset, None, form.values, form.errors, form.status_code
        )

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
        form = await submit(
            request,
            ComponentIn,
            lambda data: assets.update_component(actor, component_id, data, now),
        )
        if form.ok:
            return redirect(f"/assets/{component.asset}#components", _("Changes saved."))
        row = await assets.get_asset(actor, component.asset, now)
        return await _component_page(
            request,
            actor,
            row.asset,
            component,
            form.values,
            form.errors,
            form.status_code,
            conflict=form.conflict,
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
        form = await submit(request, SiteIn, lambda data: assets.create_site(actor, data, now))
        if form.ok:
            return redirect("/sites", _("Site created."))
        return render(
            request,
            "assets/site_form.html",
            status_code=form.status_code,
            site=None,
            form=form.values,
            errors=form.errors,
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
        form = await submit(
            request, SiteIn, lambda data: assets.update_site(actor, site_id, data, now)
        )
        if form.ok:
            return redirect("/sites", _("Changes saved."))
        return render(
            request,
            "assets/site_form.html",
            status_code=form.status_code,
            site=site,
            form=form.values,
            errors=form.errors,
            conflict=form.conflict,
        )
