"""The domains plugged into each other, once per process: the web app and the scheduler both call
:func:`connect_domains`, so a job and a page see the same behaviour.

A domain may only import those below it (see the import-linter layers in pyproject.toml). Where
a lower domain needs a fact of a higher one, it declares a slot and this composition root fills
it: the asset register's operational status comes from the closures; the inspection page lists
the asset's closures; a ticket's reporters (citizen reports) hear of its moves and are written to
in their language; the date horizon comes from the settings.
"""

from __future__ import annotations

import functools

from facilities.assets import services as asset_services
from facilities.assets.services import map_view
from facilities.closures import services as closure_services
from facilities.closures.choices import IN_FORCE
from facilities.closures.choices import Status as ClosureStatus
from facilities.inspections import asset_flags
from facilities.inspections import services as inspection_services
from facilities.lib import horizons
from facilities.reports import services as report_services
from facilities.settings import Settings
from facilities.tickets import services as ticket_services


def connect_domains(settings: Settings) -> None:
    """Fill every slot a lower domain declares. Cheap and safe to repeat."""
    asset_services.use_status_source(closure_services.operational_statuses)
    map_view.use_flag_source(asset_flags.asset_flags)
    inspection_services.use_closure_source(
        functools.partial(
            closure_services.list_closures, statuses=[ClosureStatus.PLANNED, *sorted(IN_FORCE)]
        )
    )
    ticket_services.use_reporter_hooks(
        report_services.ticket_moved, report_services.reporter_language
    )
    horizons.configure(settings.date_horizon_years, settings.zone)
