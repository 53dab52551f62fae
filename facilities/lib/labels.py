"""Choices with translatable labels.

A ``LabelledChoice`` is a StrEnum; its labels are registered per enum class with
:func:`set_labels` (keyed by class and value, because members of two StrEnums with the same value
compare and hash equal: ``MaintenanceClass.I == MaintenanceGrade.I``). Labels are English msgids
marked with ``N_`` and translated when read, in the reader's language. A state's label is marked
with its context, ``NC_("ticket status", "Closed")``, so that each domain's states are their own
catalog entries: a closed ticket (已办结) and a closed bridge (已封闭) never share a translation.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from facilities.i18n import Msg, translate

_LABELS: dict[tuple[type, str], str | Msg] = {}


class LabelledChoice(StrEnum):
    @property
    def label(self) -> str:
        return translate(_LABELS[(type(self), self.value)])

    @classmethod
    def options(cls) -> list[tuple[str, str]]:
        """(value, translated label) for every member, for <select> lists."""
        return [(member.value, member.label) for member in cls]


def set_labels(choices: type[LabelledChoice], labels: Mapping[str, str | Msg]) -> None:
    """Register the label of every member of ``choices``; a missing one is a programming error."""
    missing = [member.value for member in choices if member not in labels]
    if missing:
        raise ValueError(f"{choices.__name__}: no label for {missing}")
    for member, text in labels.items():
        _LABELS[(choices, choices(member).value)] = text
