"""A count on a home, linking to its full list, with the first few items.

Homes count by reading at most :data:`CAP` rows through the domains' list services (each of
them already ordered most urgent first): cheap whatever the size of the tables, and honest, as
a full list shows "100+" rather than a number that was never counted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

#: Most rows read to count one list; beyond it the home says "CAP+".
CAP = 100
#: Items shown under each count.
SHOWN = 5


@dataclasses.dataclass(frozen=True)
class Tally:
    """``count`` items (at least, when ``more``), the first ``SHOWN`` of them, and the list;
    ``kind`` tells the template how an item reads (a ticket, a report, a closure ...)."""

    kind: str
    title: str
    link: str
    count: int
    more: bool
    items: list[Any]

    @property
    def shown_count(self) -> str:
        return f"{self.count}+" if self.more else str(self.count)


def tally(kind: str, title: str, link: str, rows: Sequence[Any], cap: int = CAP) -> Tally:
    """A tally of ``rows`` (read with a limit of ``cap + 1``: one more says there are more)."""
    return counted(kind, title, link, len(rows), rows, cap)


def counted(
    kind: str, title: str, link: str, found: int, first: Sequence[Any], cap: int = CAP
) -> Tally:
    """A tally from a count made with a limit of ``cap + 1`` and the first items, for lists
    whose rows are costly to build (tickets): the count reads ids, only the shown are built."""
    return Tally(
        kind=kind,
        title=title,
        link=link,
        count=min(found, cap),
        more=found > cap,
        items=list(first[:SHOWN]),
    )
