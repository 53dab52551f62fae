"""What a subscription link may tell whoever holds it: the subscription's state, never the
address."""

from __future__ import annotations

from facilities.closures.tables import Subscription


async def subscription_state(token: str) -> str | None:
    """ "active", "pending" (not confirmed yet), "unsubscribed", or None for an unknown token.
    Never the address."""
    if not token or len(token) > 64:
        return None
    row = (
        await Subscription.select(Subscription.confirmed_at, Subscription.unsubscribed_at)
        .where(Subscription.token == token)
        .first()
    )
    if row is None:
        return None
    if row["unsubscribed_at"] is not None:
        return "unsubscribed"
    return "active" if row["confirmed_at"] is not None else "pending"
