"""Small text helpers shared by forms, CSV import and search."""

from __future__ import annotations

import unicodedata


def normalize_space(value: str) -> str:
    """Collapse runs of white space and trim; NFC-normalise so look-alike input compares equal."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def like_pattern(term: str) -> str:
    """A LIKE pattern matching ``term`` anywhere, with the wildcards in ``term`` escaped."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
