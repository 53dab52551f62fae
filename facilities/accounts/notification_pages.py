"""/account/notifications: a member of staff chooses, per kind of e-mail, immediately, in the
daily digest or off (their own choices only; the rules are in
:mod:`facilities.notifications.preferences`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Template

from facilities.accounts.guards import require_actor
from facilities.i18n import gettext as _
from facilities.notifications import digest, preferences
from facilities.notifications.choices import Delivery, StaffEvent
from facilities.web.auth import staff_guard
from facilities.web.forms import submit
from facilities.web.responses import redirect, render


async def _page(
    request: Request[Any, Any, Any],
    user_id: int,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    saved = await preferences.preferences_of(user_id)
    form = {kind.value: str(delivery) for kind, delivery in saved.items()}
    form.update(values or {})
    return render(
        request,
        "accounts/notifications.html",
        status_code=status_code,
        form=form,
        errors=errors or {},
        kinds=list(StaffEvent),
        deliveries=list(Delivery),
        pending=await digest.pending_count(user_id),
        digest_time=request.app.state.settings.digest_time,
    )


class NotificationPreferencesController(Controller):
    include_in_schema = False
    path = "/account/notifications"
    guards = [staff_guard]

    @get("/")
    async def edit(self, request: Request[Any, Any, Any]) -> Template:
        actor = require_actor(request)
        return await _page(request, actor.id or 0)

    @post("/")
    async def update(self, request: Request[Any, Any, Any], now: dt.datetime) -> Any:
        actor = require_actor(request)
        user_id = actor.id or 0
        form = await submit(
            request,
            preferences.PreferencesForm,
            lambda data: preferences.save_preferences(user_id, preferences.choices_of(data), now),
        )
        if form.ok:
            return redirect("/account/notifications", _("Your e-mail choices were saved."))
        return await _page(request, user_id, form.values, form.errors, form.status_code)
