"""Open311 client keys: issued by administrators (the clear key shown once, only its digest
stored), revoked, and looked up for each Open311 post; and a report's id for its token.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from facilities import db
from facilities.accounts import services as accounts
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.audit import services as audit
from facilities.errors import NotFound
from facilities.i18n import gettext as _
from facilities.records import claim, valid_id
from facilities.reports.schemas import KeyCreate
from facilities.reports.services.tracking import _by_token
from facilities.reports.tables import Open311Key

KEY_PREFIX = "o311_"
TOUCH_INTERVAL = dt.timedelta(minutes=5)


async def list_keys(actor: Actor) -> list[dict[str, Any]]:
    require(actor, Perm.OPEN311_KEYS)
    return await Open311Key.select(
        Open311Key.id,
        Open311Key.name,
        Open311Key.contact,
        Open311Key.prefix,
        Open311Key.created_at,
        Open311Key.last_used_at,
        Open311Key.revoked_at,
    ).order_by(Open311Key.created_at, ascending=False)


async def create_key(actor: Actor, data: KeyCreate, now: dt.datetime) -> str:
    """Issue a key for one client application; the clear key is returned once, never stored."""
    require(actor, Perm.OPEN311_KEYS)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    async with db.transaction():
        row = Open311Key(
            name=data.name.strip(),
            contact=data.contact.strip(),
            key_hash=accounts.digest(key),
            prefix=key[:12],
            created_at=now,
            created_by=actor.id,
        )
        await row.save()
        await audit.record(
            actor,
            "open311_key.created",
            "open311_key",
            row.id,
            now,
            after={"name": row.name, "prefix": row.prefix},
        )
    return key


async def revoke_key(actor: Actor, key_id: int, now: dt.datetime) -> None:
    require(actor, Perm.OPEN311_KEYS)
    async with db.transaction():
        revoked = []
        if valid_id(key_id):
            revoked = await claim(
                Open311Key,
                (Open311Key.id == key_id) & Open311Key.revoked_at.is_null(),
                {Open311Key.revoked_at: now},
                Open311Key.id,
            )
        if not revoked:
            raise NotFound(_("No such key, or it is already revoked."))
        await audit.record(actor, "open311_key.revoked", "open311_key", key_id, now)


async def client_for_key(key: str, now: dt.datetime) -> Open311Key | None:
    """The client application of a valid, unrevoked key (its last use noted now and then)."""
    if not key or len(key) > 200:
        return None
    row = (
        await Open311Key.objects()
        .where((Open311Key.key_hash == accounts.digest(key)) & Open311Key.revoked_at.is_null())
        .first()
    )
    if row is not None and (row.last_used_at is None or now - row.last_used_at > TOUCH_INTERVAL):
        await Open311Key.update({Open311Key.last_used_at: now}).where(Open311Key.id == row.id)
    return row


async def report_id_for_token(token: str) -> int | None:
    report = await _by_token(token)
    return report.id if report else None
