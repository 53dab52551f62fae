"""Offset pagination for small lists (assets, users); keyset pagination lives with big tables."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_PER_PAGE = 200


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def clamp(number: int, per_page: int) -> tuple[int, int]:
    """Bound the requested page so a hostile query string cannot ask for a huge offset."""
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    number = min(max(number, 1), 1_000_000)
    return number, per_page
