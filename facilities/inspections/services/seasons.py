"""Seasonal overrides: flood season and the days up to 五一, 国庆 and 春节 make fixed patrols daily
while they last, without touching any stored rule.

The policy is the ``seasonal`` rule's params over the defaults of
:mod:`facilities.inspections.policy`; raising reads it afresh on every run, and the schedule pages
describe the one read last (:func:`seasonal_note`). :class:`_Occurrences` is where raising asks
for a schedule's next occurrence, the season included. The pre-holiday inspections themselves
are raised in :mod:`.raising`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from facilities.i18n import gettext as _
from facilities.inspections import policy
from facilities.inspections.choices import Anchor, InspectionType
from facilities.inspections.tables import Rule
from facilities.lib import recurrence
from facilities.records import loads

SEASONAL_RULE = "seasonal"
#: The policy last read from the database (pages describe it; raise_due reads it afresh).
_last_seasonal: policy.SeasonalPolicy | None = policy.DEFAULT_POLICY


async def _seasonal_rule() -> dict[str, Any] | None:
    return await (
        Rule.select(Rule.id, Rule.version, Rule.enabled, Rule.params)
        .where(Rule.code == SEASONAL_RULE)
        .first()
    )


async def seasonal_policy() -> policy.SeasonalPolicy | None:
    """The seasonal policy in force: the ``seasonal`` rule's params over the defaults; None when
    staff disabled the rule. Without the row (not seeded yet) the defaults apply."""
    global _last_seasonal
    row = await _seasonal_rule()
    if row is None:
        found: policy.SeasonalPolicy | None = policy.DEFAULT_POLICY
    elif not row["enabled"]:
        found = None
    else:
        found = policy.SeasonalPolicy.from_params(loads(row["params"]) or {})
    _last_seasonal = found
    return found


def is_seasonal(inspection_type: str, anchor: str) -> bool:
    """Schedules the seasonal windows make daily: fixed patrols (a floating one is counted from
    its last completion)."""
    return inspection_type == InspectionType.PATROL and anchor != Anchor.FLOATING


class _Occurrences:
    """Next occurrences for one raise run. Many schedules share a rule, a start and an
    occurrence, so each distinct question is computed once; inside a seasonal window a patrol's
    next occurrence is the earlier of its own rule's and the daily rule's."""

    def __init__(self, zone: ZoneInfo, seasons: policy.SeasonalPolicy | None) -> None:
        self.zone = zone
        self.seasons = seasons
        self._cache: dict[tuple[str, dt.datetime, dt.datetime, bool], dt.datetime | None] = {}

    def following(
        self, rule: str, start_local: dt.datetime, after: dt.datetime, seasonal: bool
    ) -> dt.datetime | None:
        seasonal = seasonal and self.seasons is not None
        key = (rule, start_local, after, seasonal)
        try:
            return self._cache[key]
        except KeyError:
            pass
        found = recurrence.next_after(rule, start_local, after, self.zone)
        if seasonal:
            daily = self._daily_in_season(start_local, after)
            if daily is not None and (found is None or daily < found):
                found = daily
        self._cache[key] = found
        return found

    def _daily_in_season(self, start_local: dt.datetime, after: dt.datetime) -> dt.datetime | None:
        assert self.seasons is not None
        daily = recurrence.next_after("FREQ=DAILY", start_local, after, self.zone)
        if daily is None:
            return None
        day = daily.astimezone(self.zone).date()
        if policy.season_for(day, self.seasons) is not None:
            return daily
        opens = policy.next_window_start(day, self.seasons)
        if opens is None:
            return None
        midnight = recurrence.localize(dt.datetime.combine(opens, dt.time()), self.zone)
        return recurrence.next_after("FREQ=DAILY", start_local, midnight, self.zone, inclusive=True)


def seasonal_note(inspection_type: str, rule: str, anchor: str = Anchor.FIXED) -> str:
    """What the schedule page says of a patrol the seasonal windows make daily ("" otherwise)."""
    seasons = _last_seasonal
    if seasons is None or not is_seasonal(inspection_type, anchor):
        return ""
    if rule.strip().upper().removeprefix("RRULE:") == "FREQ=DAILY":
        return ""
    return _(
        "Daily during flood season (%(start)s to %(end)s) and the %(days)s days up to "
        "五一, 国庆 and 春节."
    ) % {"start": seasons.flood_from, "end": seasons.flood_to, "days": seasons.lead_days}
