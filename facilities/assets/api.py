"""The asset register JSON API under /api/v1: sites, assets and components, with the same
services and errors as the pages (:mod:`facilities.assets.pages`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import JSONBody, QueryParameter
from litestar.response import Response

from facilities.accounts.guards import require_actor
from facilities.assets import services as assets
from facilities.assets.beyond import Commission
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
from facilities.web.auth import staff_guard
from facilities.web.errors import api_errors
from facilities.web.params import IdParam


class AssetPage(msgspec.Struct):
    items: list[AssetOut]
    page: int
    per_page: int
    total: int


ASSET_INDEX_DESCRIPTION = """Assets by code, filtered and paged; each with its ``geometry`` (a
GeoJSON object in WGS-84, or null when only ``lat``/``lng`` are known).

``bbox=west,south,east,north`` (WGS-84 degrees) keeps the assets whose bounding box meets that
box (a point asset's box is its point; an asset with no location never matches); it combines
with the other filters. A box that is not four numbers, is out of range, or has west > east or
south > north is a 400 naming ``bbox``."""


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

    @get("/assets", responses=api_errors(), description=ASSET_INDEX_DESCRIPTION)
    async def index(
        self,
        request: Request[Any, Any, Any],
        q: Annotated[str, QueryParameter(max_length=100)] = "",
        site: Annotated[int | None, QueryParameter(ge=1, le=2_147_483_647)] = None,
        type: Annotated[AssetType | None, QueryParameter()] = None,
        status: Annotated[Lifecycle | None, QueryParameter()] = None,
        page: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, QueryParameter(ge=1, le=200)] = 25,
        bbox: Annotated[
            str,
            QueryParameter(
                max_length=200,
                description="west,south,east,north in WGS-84 degrees, e.g. "
                "112.57,26.88,112.60,26.91",
            ),
        ] = "",
        *,
        now: dt.datetime,
    ) -> AssetPage:
        filters = AssetFilters(
            q=q, site=site, type=type, status=status, page=page, per_page=per_page, bbox=bbox
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
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[AssetIn],
        now: dt.datetime,
        commission: Commission,
    ) -> Response[AssetOut]:
        """Create an asset with the policy's default inspection schedules (both or neither)."""
        actor = require_actor(request)
        asset = await commission(actor, data, request.app.state.settings.zone, now)
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
