"""Our own basemap: ``/feeds/basemap.geojson``, what the maps draw under everything when no
tile source is configured (``FACILITIES_MAP_TILES=none``, the offline default).

A FeatureCollection (RFC 7946, WGS-84) made from public data only: every site's boundary
(``layer: "site"``) and water (``"water"``), and the drawings of the facilities in use, lines as
``"path"`` (bridges, boardwalks, paths) and areas as ``"area"`` (playgrounds, plazas); points
are the closure map's business, not the basemap's. Each feature carries the place's names in
both languages, so one document serves every reader (``localized=False``), and it is served
through the public conditional GET (an asset or site change gives a new ETag).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from litestar import Controller, Request, get
from litestar.response.base import ASGIResponse

from facilities.assets.services.public_view import PublicPlace, public_places
from facilities.lib import geo
from facilities.public.serving import conditional

MEDIA_TYPE = "application/geo+json"

#: Which basemap layer an asset's drawing belongs to, by its geometry type.
_ASSET_LAYERS = {
    "LineString": "path",
    "MultiLineString": "path",
    "Polygon": "area",
    "MultiPolygon": "area",
}
_AREAS = {"Polygon", "MultiPolygon"}


def _feature(layer: str, place: PublicPlace, geometry: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": f"{layer}-{place.id}",
        "geometry": geometry,
        "properties": {
            "layer": layer,
            "name_zh": place.name_zh,
            "name_en": place.name_en,
            **({"asset_type": place.asset_type} if place.asset_type else {}),
        },
    }


def render(places: list[PublicPlace]) -> bytes:
    """The basemap FeatureCollection: sites first, then water, areas and paths (the order
    they are drawn in, bottom to top)."""
    layers: dict[str, list[dict[str, Any]]] = {"site": [], "water": [], "area": [], "path": []}
    for place in places:
        shape = geo.stored_object(place.geometry)
        if place.kind == "site":
            if shape and shape["type"] in _AREAS:
                layers["site"].append(_feature("site", place, shape))
            water = geo.stored_object(place.water)
            if water and water["type"] in _AREAS:
                layers["water"].append(_feature("water", place, water))
        elif shape and shape["type"] in _ASSET_LAYERS:
            layer = _ASSET_LAYERS[shape["type"]]
            layers[layer].append(_feature(layer, place, shape))
    document = {"type": "FeatureCollection", "features": [f for fs in layers.values() for f in fs]}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


class BasemapController(Controller):
    include_in_schema = False

    @get("/feeds/basemap.geojson", opt=conditional.route_opt)
    async def basemap(self, request: Request[Any, Any, Any]) -> ASGIResponse:
        async def build(now: dt.datetime) -> bytes:
            return render(await public_places())

        return await conditional(request, "basemap", MEDIA_TYPE, build, localized=False)
