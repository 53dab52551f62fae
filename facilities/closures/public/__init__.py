"""What citizens may see of closures: read-only views built only from public fields.

Nothing here selects a staff name, a cost, a contact, an internal comment or a ticket title: the
views name every column they read, so a new internal column can never leak by accident. The
public pages, feeds and the Open311 answers are all made from these views.

A closure *holds* (the facility is out of use) while it is in force, and also after it was
lifted until its announced reopening time arrives: the same rule as
``services.operational_statuses``. It counts as *reopened* from ``reopens_at`` on.

:func:`version` is the cheap fingerprint of everything these views show (ETag and
Last-Modified of every public page and feed), with the next instant at which the views change
by the clock alone (a planned start, an announced reopening, a reopening leaving the 30-day list).

Split by what each part does; callers keep writing ``from facilities.closures import public``:
:mod:`.views` (the dataclasses and the columns they are made of), :mod:`.listings` (which
closures, in what order), :mod:`.sites` (the register of facilities), :mod:`.subscriptions`
(a subscription's state) and :mod:`.changes` (the fingerprint).
"""

from facilities.closures.public.changes import Version, last_changed, version
from facilities.closures.public.listings import (
    RECENTLY_REOPENED,
    Home,
    asset,
    calendar,
    closure,
    for_asset,
    holding_or_planned,
    holding_page,
    home,
    in_force,
    in_force_for_asset,
    recent_updates,
    timeline,
)
from facilities.closures.public.sites import (
    SITE_COLUMNS,
    PublicSite,
    RegisterEntry,
    RegisterSite,
    register,
    site,
)
from facilities.closures.public.subscriptions import subscription_state
from facilities.closures.public.views import (
    ASSET_COLUMNS,
    CLOSURE_COLUMNS,
    Progress,
    Promise,
    PublicAsset,
    PublicClosure,
    Revision,
    Update,
)

__all__ = [
    "ASSET_COLUMNS",
    "CLOSURE_COLUMNS",
    "RECENTLY_REOPENED",
    "SITE_COLUMNS",
    "Home",
    "Progress",
    "Promise",
    "PublicAsset",
    "PublicClosure",
    "PublicSite",
    "RegisterEntry",
    "RegisterSite",
    "Revision",
    "Update",
    "Version",
    "asset",
    "calendar",
    "closure",
    "for_asset",
    "holding_or_planned",
    "holding_page",
    "home",
    "in_force",
    "in_force_for_asset",
    "last_changed",
    "recent_updates",
    "register",
    "site",
    "subscription_state",
    "timeline",
    "version",
]
