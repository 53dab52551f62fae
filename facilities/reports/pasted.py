"""A location a citizen pastes from a map app on the report page's chooser ("I am here" from
AMap, Baidu, Tencent or WeChat), read, converted to WGS-84 and answered with the facilities near
it. The same numbers are hundreds of metres apart in GCJ-02, BD-09 and WGS-84
(:mod:`facilities.lib.coordsys`), so a pasted pin is converted before it is matched."""

from __future__ import annotations

import dataclasses
from typing import Any

from facilities.errors import ValidationFailed
from facilities.i18n import N_
from facilities.lib import coordsys
from facilities.lib.coordsys import CoordSystem
from facilities.reports import services as reports

#: The systems a citizen may say pasted numbers are in ("" lets a link say it itself).
PASTE_SYSTEMS = (
    ("", N_("Tell from the link")),
    (CoordSystem.GCJ02, N_("AMap, Tencent or WeChat (GCJ-02)")),
    (CoordSystem.BD09, N_("Baidu (BD-09)")),
    (CoordSystem.WGS84, N_("GPS or Tianditu (WGS-84)")),
)


@dataclasses.dataclass(frozen=True)
class Pasted:
    """A location pasted from a map app, read and converted to WGS-84, with the facilities near it
    (or the message saying why it could not be read)."""

    where: str = ""
    system: str = ""
    lat: float | None = None
    lng: float | None = None
    facilities: tuple[Any, ...] = ()
    error: str = ""


async def read_pasted(where: str, system: str) -> Pasted:
    """Read ``where`` (an AMap, Baidu or Tencent link, a WeChat location, or numbers in the
    chosen ``system``) with :func:`coordsys.parse_location`: the same numbers are hundreds of
    metres apart in GCJ-02, BD-09 and WGS-84, so a pasted pin is converted before matching."""
    if not where.strip():
        return Pasted()
    chosen = system if system in {value for value, _label in PASTE_SYSTEMS if value} else ""
    try:
        found = coordsys.parse_location(where, "where", chosen or None)
    except ValidationFailed as exc:
        return Pasted(where=where, system=chosen, error=exc.errors.get("where", exc.detail))
    nearby = await reports.nearby_facilities(found.lat, found.lng)
    return Pasted(where, chosen, found.lat, found.lng, tuple(nearby))
