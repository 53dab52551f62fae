"""Search by text in the register: a column "contains" a term literally, on either engine.

Also used by the tickets and reports searches (``from facilities.assets.services import
contains``).
"""

from __future__ import annotations

from typing import Any

from piccolo.columns.combination import Where
from piccolo.columns.operators.comparison import ComparisonOperator

from facilities.lib.text import like_pattern


class _LikeEscaped(ComparisonOperator):
    """LIKE with backslash as its escape character, stated: PostgreSQL assumes it, SQLite has no
    default escape, so without the clause ``50%`` would not find "50%" on SQLite."""

    template = "{name} LIKE {value} ESCAPE '\\'"


class _ILikeEscaped(ComparisonOperator):
    template = "{name} ILIKE {value} ESCAPE '\\'"


def contains(column: Any, term: str) -> Where:
    """``column`` contains ``term`` literally (``%``, ``_`` and ``\\`` are not wildcards),
    case-insensitively (SQLite's LIKE folds ASCII case; PostgreSQL uses ILIKE)."""
    postgres = column._meta.engine_type in ("postgres", "cockroach")
    operator = _ILikeEscaped if postgres else _LikeEscaped
    return Where(column=column, value=like_pattern(term), operator=operator)
