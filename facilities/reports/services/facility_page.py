"""The facility page before reporting: the facility, the closure in force on it, its open
reports and its public numbers, so a citizen sees what is already known before reporting again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from facilities.closures import public as closures_public
from facilities.closures.public import PublicClosure
from facilities.errors import NotFound
from facilities.i18n import gettext as _
from facilities.reports.services.accountability import Numbers, accountability
from facilities.reports.services.facility_search import Facility, find_facility
from facilities.reports.services.public_state import PublicReport, open_reports_for


@dataclasses.dataclass(frozen=True)
class FacilityPage:
    facility: Facility
    closure: PublicClosure | None
    open_reports: list[PublicReport]
    numbers: Numbers


async def facility_page(asset_id: int, now: dt.datetime, zone: ZoneInfo) -> FacilityPage:
    facility = await find_facility(asset_id)
    if facility is None:
        raise NotFound(_("No such facility."))
    return FacilityPage(
        facility=facility,
        closure=await closures_public.in_force_for_asset(facility.id, now),
        open_reports=await open_reports_for(facility.id, now),
        numbers=(await accountability(now, zone, asset_id=facility.id)).facility(facility.id),
    )
