"""The closure map beside the public lists (the home page and /notices).

The page renders an empty, hidden map section whose ``data-`` attributes carry the settings
(tile source, its coordinate system) and the translated words the script needs;
``static/js/map.js`` reveals it, reads the GeoJSON feed and draws the markers. Without JS the
page is the list alone. Every value here comes from the settings, never from the request, so
the page stays the same bytes for every reader (see ``facilities.web.conditional``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar import Request

#: The feed the map draws (closures in force, one point each).
FEED = "/feeds/closures.geojson"


@dataclasses.dataclass(frozen=True)
class MapConfig:
    tiles: str  # "none" or a URL template with {z}/{x}/{y}
    attribution: str
    crs: str  # "wgs84" or "gcj02": the coordinates the tile source draws in
    feed: str = FEED

    @property
    def has_tiles(self) -> bool:
        return self.tiles != "none"


def map_config(request: Request[Any, Any, Any]) -> MapConfig:
    settings = request.app.state.settings
    return MapConfig(settings.map_tiles, settings.map_attribution, settings.map_tiles_crs)
