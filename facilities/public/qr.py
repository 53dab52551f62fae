"""``/q/{code}``: where an asset's QR label leads (the labels are printed by
``facilities.assets.labels``).

One printed code serves two readers, so the label never needs reprinting when a role changes:

- logged-in staff go to the asset's page (``/assets/{id}``), which offers "Start an inspection";
- anyone else goes to the citizen report form with this facility already chosen
  (``/report?asset={id}``): the report flow's own facility page, which names the facility,
  shows its closures in force and asks what is wrong. A citizen scanning a label on a bridge
  wants to report a problem there; the form is one tap from the public facility page anyway,
  and pre-choosing the facility spares them the search.

An unknown code is a 404 page. The answer depends on the session, so it is never cached.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Redirect

from facilities.assets import services as assets
from facilities.errors import NotFound
from facilities.i18n import gettext as _
from facilities.web.auth import current_actor

#: Longer than any asset code (the register allows 40 characters): a longer one is no label.
MAX_CODE = 100


class QrController(Controller):
    include_in_schema = False

    @get("/q/{code:str}")
    async def scan(self, request: Request[Any, Any, Any], code: str) -> Redirect:
        found = await assets.find_asset_by_code(code) if 0 < len(code) <= MAX_CODE else None
        if found is None:
            raise NotFound(_("No facility has this label code."))
        if current_actor(request) is not None:
            target = f"/assets/{found.id}"
        else:
            target = f"/report?asset={found.id}"
        return Redirect(
            path=target,
            status_code=303,
            headers={"cache-control": "private, no-store", "vary": "Cookie"},
        )
