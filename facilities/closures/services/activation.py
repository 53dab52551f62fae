"""What the clock does to closures: a planned closure is put in force when its start arrives,
and a lifted one's reopening is announced when its time comes, each exactly once (a
conditional update claims it) with its entry on the public timeline."""

from __future__ import annotations

import datetime as dt

from facilities import db
from facilities.accounts.permissions import SYSTEM
from facilities.audit import services as audit
from facilities.closures.choices import Scope, Status
from facilities.closures.services.common import bilingual, date_text
from facilities.closures.services.notices import publish_system
from facilities.closures.tables import Closure
from facilities.i18n import N_, use_locale
from facilities.i18n import gettext as _
from facilities.records import claim


async def activate(closure_id: int, now: dt.datetime) -> bool:
    """planned -> active once (a conditional update), with the closure notice published."""
    rows = await claim(
        Closure,
        (Closure.id == closure_id) & (Closure.status == Status.PLANNED),
        {
            Closure.status: Status.ACTIVE,
            Closure.activated_at: now,
            Closure.updated_at: now,
            Closure.version: Closure.version + 1,  # an open edit form is now stale
        },
        Closure.planned_reopen_on,
        Closure.reopen_precision,
        Closure.scope,
    )
    if not rows:
        return False
    row = rows[0]
    with use_locale("zh_CN"):
        scope_zh = Scope(row["scope"]).label
    with use_locale("en"):
        scope_en = Scope(row["scope"]).label
    zh_date = date_text(row["planned_reopen_on"], row["reopen_precision"], "zh_CN")
    en_date = date_text(row["planned_reopen_on"], row["reopen_precision"], "en")
    with use_locale("zh_CN"):
        zh = (
            _("%(scope)s from today. Expected to reopen %(date)s.")
            % {"scope": scope_zh, "date": zh_date}
            if zh_date
            else _("%(scope)s from today.") % {"scope": scope_zh}
        )
    with use_locale("en"):
        en = (
            _("%(scope)s from today. Expected to reopen %(date)s.")
            % {"scope": scope_en, "date": en_date}
            if en_date
            else _("%(scope)s from today.") % {"scope": scope_en}
        )
    await publish_system(closure_id, f"activated:{closure_id}", zh, en, now)
    await audit.record(
        SYSTEM,
        "closure.activated",
        "closure",
        closure_id,
        now,
        {"status": Status.PLANNED},
        {"status": Status.ACTIVE},
    )
    return True


async def activate_due(now: dt.datetime) -> int:
    """Put planned closures in force when their start arrives (each exactly once)."""
    due = await Closure.select(Closure.id).where(
        (Closure.status == Status.PLANNED) & (Closure.effective_from <= now)
    )
    activated = 0
    for row in due:
        async with db.transaction():
            activated += await activate(row["id"], now)
    return activated


async def announce_reopenings(now: dt.datetime) -> int:
    """Announce each lifted closure's reopening when its time comes, exactly once."""
    due = await Closure.select(Closure.id, Closure.override_reason).where(
        (Closure.status == Status.LIFTED)
        & Closure.reopening_announced_at.is_null()
        & (Closure.reopens_at <= now)
    )
    announced = 0
    for row in due:
        async with db.transaction():
            claimed = await claim(
                Closure,
                (Closure.id == row["id"]) & Closure.reopening_announced_at.is_null(),
                {Closure.reopening_announced_at: now, Closure.updated_at: now},
            )
            if not claimed:
                continue
            if row["override_reason"]:  # lifted by an override: claim no verification
                zh, en = bilingual(N_("Reopened."))
            else:
                zh, en = bilingual(
                    N_(
                        "Reopened. The repair was completed and verified "
                        "by an acceptance inspection."
                    )
                )
            await publish_system(row["id"], f"reopened:{row['id']}", zh, en, now)
            announced += 1
    return announced
