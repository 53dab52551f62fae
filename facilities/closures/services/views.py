"""One closure as the staff page and the API show it: its facts, asset, linked tickets with
their public progress, every promise made, and the reopening gate, read together."""

from __future__ import annotations

import dataclasses
from typing import Any

from facilities.accounts.permissions import Actor
from facilities.assets.tables import Asset
from facilities.closures.choices import TICKET_PROGRESS
from facilities.closures.services.reading import get_closure, linked_tickets, promises
from facilities.closures.services.reopening_gate import Gate, gate
from facilities.closures.tables import Closure, ClosurePromise
from facilities.records import loads


@dataclasses.dataclass(frozen=True)
class ClosureView:
    """Everything the staff page and the API show about one closure."""

    closure: Closure
    asset_code: str
    asset_name_zh: str
    asset_name_en: str
    tickets: list[dict[str, Any]]
    promises: list[ClosurePromise]
    gate: Gate

    @property
    def measures(self) -> list[str]:
        return list(loads(self.closure.safety_measures) or [])

    @property
    def revised(self) -> list[ClosurePromise]:
        """Earlier promises, newest first: what was promised before each extension."""
        return list(reversed(self.promises[:-1]))


async def closure_view(actor: Actor, closure_id: int) -> ClosureView:
    closure = await get_closure(actor, closure_id)
    asset = (
        await Asset.select(Asset.code, Asset.name_zh, Asset.name_en)
        .where(Asset.id == closure.asset)
        .first()
    )
    assert asset is not None
    tickets = await linked_tickets(closure.id)
    for ticket in tickets:
        ticket["public_progress"] = TICKET_PROGRESS.get(ticket["status"])
    return ClosureView(
        closure=closure,
        asset_code=asset["code"],
        asset_name_zh=asset["name_zh"],
        asset_name_en=asset["name_en"],
        tickets=tickets,
        promises=await promises(closure.id),
        gate=await gate(closure),
    )
