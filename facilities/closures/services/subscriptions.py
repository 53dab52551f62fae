"""E-mail subscriptions to notice updates (a facility, a site, or everything): double opt-in,
one-click unsubscribe, and the fan-out of each published update to the confirmed subscribers,
exactly once per update and subscriber."""

from __future__ import annotations

import datetime as dt
import secrets

from facilities import db
from facilities.assets.tables import Asset, Site
from facilities.closures.choices import NoticeState
from facilities.closures.schemas import SubscribeIn
from facilities.closures.tables import NoticeUpdate, Subscription
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.notifications import services as notifications
from facilities.records import claim


def _scope_key(email: str, asset_id: int | None, site_id: int | None) -> str:
    """One subscription per address and scope (a facility, a site, or everything)."""
    what = f"asset:{asset_id}" if asset_id else f"site:{site_id}" if site_id else "all"
    return f"{email.strip().lower()}|{what}"


async def subscribe(data: SubscribeIn, language: str, now: dt.datetime) -> None:
    """Start a subscription and send the confirmation link (double opt-in). Says nothing about
    whether the address was already subscribed, so the form cannot be used to probe."""
    if data.website:
        return  # a bot filled the honeypot: accept silently, store nothing
    if data.asset_id and not await Asset.exists().where(Asset.id == data.asset_id):
        raise ValidationFailed({"asset_id": _("No such facility.")})
    if data.site_id and not await Site.exists().where(Site.id == data.site_id):
        raise ValidationFailed({"site_id": _("No such site.")})
    key = _scope_key(data.email, data.asset_id, data.site_id)
    async with db.transaction():
        await Subscription.insert(
            Subscription(
                email=data.email.strip().lower(),
                asset=data.asset_id,
                site=data.site_id if not data.asset_id else None,
                scope_key=key,
                language=language,
                token=secrets.token_urlsafe(32),
                created_at=now,
            )
        ).on_conflict(action="DO NOTHING")
        row = await Subscription.objects().where(Subscription.scope_key == key).first()
        assert row is not None
        if row.confirmed_at is not None and row.unsubscribed_at is None:
            return
        if row.unsubscribed_at is not None:
            await Subscription.update(
                {
                    Subscription.unsubscribed_at: None,
                    Subscription.confirmed_at: None,
                    Subscription.token: secrets.token_urlsafe(32),
                }
            ).where(Subscription.id == row.id)
            row = await Subscription.objects().where(Subscription.id == row.id).first()
            assert row is not None
        await notifications.enqueue(
            to=row.email,
            template="subscription_confirm",
            language=language,
            now=now,
            context={"token": row.token},
            dedupe_key=f"subscribe:{row.id}:{row.token}",
        )


async def confirm_subscription(token: str, now: dt.datetime) -> bool:
    """Confirm the subscription of ``token`` (the link in the e-mail); true when it is active,
    whether this click or an earlier one confirmed it."""
    rows = await claim(
        Subscription,
        (Subscription.token == token[:64])
        & Subscription.confirmed_at.is_null()
        & Subscription.unsubscribed_at.is_null(),
        {Subscription.confirmed_at: now},
    )
    if rows:
        return True
    return await Subscription.exists().where(
        (Subscription.token == token[:64])
        & Subscription.confirmed_at.is_not_null()
        & Subscription.unsubscribed_at.is_null()
    )


async def unsubscribe(token: str, now: dt.datetime) -> bool:
    """End the subscription of ``token`` (one click, no login); true for any known token."""
    rows = await claim(
        Subscription,
        (Subscription.token == token[:64]) & Subscription.unsubscribed_at.is_null(),
        {Subscription.unsubscribed_at: now},
    )
    return bool(rows) or await Subscription.exists().where(Subscription.token == token[:64])


async def fan_out(now: dt.datetime, base_url: str, limit: int = 50) -> int:
    """Queue one e-mail per confirmed subscriber for each newly published update (a unique key
    per update and subscriber makes this exactly-once), then mark the update done."""
    updates = (
        await NoticeUpdate.select(
            NoticeUpdate.id,
            NoticeUpdate.closure,
            NoticeUpdate.text_zh,
            NoticeUpdate.text_en,
            NoticeUpdate.closure._.asset._.id.as_alias("asset_id"),
            NoticeUpdate.closure._.asset._.site.as_alias("site_id"),
            NoticeUpdate.closure._.asset._.name_zh.as_alias("asset_name_zh"),
            NoticeUpdate.closure._.asset._.name_en.as_alias("asset_name_en"),
        )
        .where((NoticeUpdate.state == NoticeState.PUBLISHED) & NoticeUpdate.fanned_out_at.is_null())
        .order_by(NoticeUpdate.id)
        .limit(limit)
    )
    queued = 0
    for update in updates:
        subscribers = await Subscription.select().where(
            Subscription.confirmed_at.is_not_null()
            & Subscription.unsubscribed_at.is_null()
            & (
                (Subscription.asset == update["asset_id"])
                | (Subscription.site == update["site_id"])
                | (Subscription.asset.is_null() & Subscription.site.is_null())
            )
        )
        async with db.transaction():
            for sub in subscribers:
                url = f"{base_url}/unsubscribe/{sub['token']}"
                english = sub["language"] == "en"
                queued += bool(
                    await notifications.enqueue(
                        to=sub["email"],
                        template="notice_update",
                        language=sub["language"],
                        now=now,
                        context={
                            "closure_id": update["closure"],
                            "asset_name": (
                                update["asset_name_en"]
                                if english and update["asset_name_en"]
                                else update["asset_name_zh"]
                            ),
                            "text": update["text_en"]
                            if english and update["text_en"]
                            else update["text_zh"],
                            "unsubscribe_url": url,
                        },
                        headers={
                            "List-Unsubscribe": f"<{url}>",
                            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                        },
                        dedupe_key=f"notice:{update['id']}:{sub['id']}",
                    )
                )
            await NoticeUpdate.update({NoticeUpdate.fanned_out_at: now}).where(
                NoticeUpdate.id == update["id"]
            )
    return queued
