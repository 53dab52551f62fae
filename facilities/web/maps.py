"""The map settings every map page renders (closure map, notice and facility maps, the report
pin, the staff maps, the drawing tools): one place, in the web layer, so every domain's pages
read the same configuration (templates call it as the global ``map_config(request)``).

A page renders its map element with ``data-`` attributes (``templates/macros/maps.html``
``map_attrs``) carrying the tile source, its coordinate system and the words the script needs;
``static/js/mapkit.js`` reads them. Every value here comes from the settings, never from the
request, so a page stays the same bytes for every reader (see ``facilities.web.conditional``).

Tile sources (``FACILITIES_MAP_TILES``):

- ``none``: no tiles; ``static/js/basemap.js`` draws our own quiet basemap from
  :data:`BASEMAP` (site boundaries, water, paths, areas), so an offline install has a map.
- ``tianditu``: the national platform's vector map (``vec_w``) with its label layer
  (``cva_w``) over it, Web Mercator WMTS from ``t0``-``t7.tianditu.gov.cn``, with the key the
  platform requires (``FACILITIES_TIANDITU_KEY``). Tianditu draws in CGCS2000, which differs
  from WGS-84 by well under a metre: no display shift.
- a URL template (``https://{s}.host/{z}/{x}/{y}.png``) with its attribution and coordinate system.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar import Request

#: The feed the closure map draws (every closure in force or planned, with its extent).
FEED = "/feeds/closures.geojson"
#: Our own basemap data (site boundaries, water, paths), drawn when there is no tile source.
BASEMAP = "/feeds/basemap.geojson"

#: Tianditu's WMTS tiles in Web Mercator (TILEMATRIXSET=w); ``{layer}`` is vec (the map) or
#: cva (its Chinese labels). Leaflet fills {s} from :data:`TIANDITU_SUBDOMAINS`.
TIANDITU_TEMPLATE = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)
TIANDITU_SUBDOMAINS = "01234567"
TIANDITU_ATTRIBUTION = "天地图"


@dataclasses.dataclass(frozen=True)
class MapConfig:
    tiles: str  # "none" or a URL template with {z}/{x}/{y}
    attribution: str
    crs: str  # "wgs84" or "gcj02": the coordinates the tile source draws in
    feed: str = FEED
    basemap: str = BASEMAP
    #: A second tile layer drawn over ``tiles`` (Tianditu's labels), "" for none.
    labels: str = ""
    #: The values of {s} in the templates ("" : Leaflet's a, b, c).
    subdomains: str = ""

    @property
    def has_tiles(self) -> bool:
        return self.tiles != "none"


def tile_config(tiles: str, attribution: str, crs: str, tianditu_key: str = "") -> MapConfig:
    """The configuration for a tile setting (``tianditu`` expands to its two layers)."""
    if tiles == "tianditu":
        return MapConfig(
            TIANDITU_TEMPLATE.format(layer="vec", key=tianditu_key),
            attribution or TIANDITU_ATTRIBUTION,
            "wgs84",  # CGCS2000
            labels=TIANDITU_TEMPLATE.format(layer="cva", key=tianditu_key),
            subdomains=TIANDITU_SUBDOMAINS,
        )
    return MapConfig(tiles, attribution, crs)


def map_config(request: Request[Any, Any, Any]) -> MapConfig:
    settings = request.app.state.settings
    return tile_config(
        settings.map_tiles,
        settings.map_attribution,
        settings.map_tiles_crs,
        settings.tianditu_key,
    )
