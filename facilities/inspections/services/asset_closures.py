"""The closures over an inspected asset, shown on the inspection page and form (issue 16).

Closures sit above inspections in the dependency order (a closure proposal comes from an
inspection), so this package cannot import them; the composition root
(``facilities.app.configure_process``) plugs in the closures' own reading here, as it does the
asset register's status source. Without it, or for someone who may not see closures, none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, can

#: (actor, asset_id=...) -> the asset's planned and current closures, as closure rows
ClosureSource = Callable[..., Awaitable[list[dict[str, Any]]]]
_source: ClosureSource | None = None


def use_closure_source(source: ClosureSource) -> None:
    global _source
    _source = source


async def closures_of_asset(actor: Actor, asset_id: int) -> list[dict[str, Any]]:
    """The asset's closures that are planned or in force (none without the source or the
    permission to see closures)."""
    if _source is None or not can(actor, Perm.CLOSURES_VIEW):
        return []
    return await _source(actor, asset_id=asset_id)
