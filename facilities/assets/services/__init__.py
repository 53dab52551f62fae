"""Asset register services: the only code that writes sites, assets and components.

One module per part of the register, re-exported here, so callers keep writing
``from facilities.assets import services as assets``:

- :mod:`.sites`: the sites that hold the assets;
- :mod:`.assets`: the assets, their operational status, the pickers, the condition grade;
- :mod:`.components`: the parts of an asset, as a tree;
- :mod:`.public_view`: what citizens may see of the register;
- :mod:`.search`: a literal "contains" on either engine (also used by tickets and reports);
- :mod:`.checks`: what the writes share (unique-name races, coordinates, a Struct's fields).
"""

from __future__ import annotations

from facilities.assets.services.assets import (
    ASSET_FIELDS,
    AssetRow,
    StatusSource,
    all_asset_choices,
    asset_out,
    asset_snapshot,
    create_asset,
    find_asset_by_code,
    get_asset,
    iter_assets,
    list_assets,
    load_asset,
    operational_statuses,
    set_condition_grade,
    update_asset,
    use_status_source,
)
from facilities.assets.services.components import (
    COMPONENT_FIELDS,
    component_depth,
    component_detail,
    component_out,
    component_snapshot,
    create_component,
    get_component,
    list_components,
    update_component,
)
from facilities.assets.services.places import (
    asset_shape,
    canonical_geometry,
    geometry_object,
    geometry_wkt,
    read_part,
)
from facilities.assets.services.public_view import PublicAsset, PublicSite, public_register
from facilities.assets.services.search import contains
from facilities.assets.services.sites import (
    SITE_FIELDS,
    create_site,
    find_site,
    get_site,
    list_sites,
    site_boundary,
    site_detail,
    site_out,
    site_snapshot,
    update_site,
)

__all__ = [
    "ASSET_FIELDS",
    "COMPONENT_FIELDS",
    "SITE_FIELDS",
    "AssetRow",
    "PublicAsset",
    "PublicSite",
    "StatusSource",
    "all_asset_choices",
    "asset_out",
    "asset_shape",
    "asset_snapshot",
    "canonical_geometry",
    "component_depth",
    "component_detail",
    "component_out",
    "component_snapshot",
    "contains",
    "create_asset",
    "create_component",
    "create_site",
    "find_asset_by_code",
    "find_site",
    "geometry_object",
    "geometry_wkt",
    "get_asset",
    "get_component",
    "get_site",
    "iter_assets",
    "list_assets",
    "list_components",
    "list_sites",
    "load_asset",
    "operational_statuses",
    "public_register",
    "read_part",
    "set_condition_grade",
    "site_boundary",
    "site_detail",
    "site_out",
    "site_snapshot",
    "update_asset",
    "update_component",
    "update_site",
    "use_status_source",
]
