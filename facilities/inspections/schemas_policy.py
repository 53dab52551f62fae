"""The JSON shapes of the inspection policy data: teams, checklist templates and rules
(/api/v1/teams, /checklists, /rules; :mod:`facilities.inspections.services.policy_editing`)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from facilities.assets.choices import ComponentGroup

Version = Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)]
UserId = Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]


class TeamIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A team: its name (as accounts name their team), its e-mail and its lead."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    email: Annotated[
        str, msgspec.Meta(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")
    ] = ""
    lead_id: UserId | None = None


class TeamUpdate(TeamIn, kw_only=True, forbid_unknown_fields=True):
    version: Version


class TeamOut(msgspec.Struct, kw_only=True):
    """``version`` changes whenever the team does: send it back to change it (409 if stale)."""

    id: int
    name: str
    email: str
    lead_id: int | None
    version: int


class ChecklistItemIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    key: Code
    zh: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    en: Annotated[str, msgspec.Meta(max_length=300)] = ""
    group: ComponentGroup = ComponentGroup.ANCILLARY
    critical: bool = False


class ChecklistIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Code
    name_zh: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    name_en: Annotated[str, msgspec.Meta(max_length=128)] = ""
    items: Annotated[list[ChecklistItemIn], msgspec.Meta(max_length=200)] = []


class ChecklistUpdate(ChecklistIn, kw_only=True, forbid_unknown_fields=True):
    version: Version


class ChecklistItemOut(msgspec.Struct, kw_only=True):
    key: str
    zh: str
    en: str = ""
    group: str = ""
    critical: bool = False


class ChecklistOut(msgspec.Struct, kw_only=True):
    id: int
    code: str
    name_zh: str
    name_en: str
    items: list[ChecklistItemOut]
    version: int


class RuleIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A rule's switch and wording, and the ``version`` you read (the next is one higher)."""

    enabled: bool
    basis: Annotated[str, msgspec.Meta(max_length=300)] = ""
    description: Annotated[str, msgspec.Meta(max_length=300)] = ""
    version: Version


class RuleOut(msgspec.Struct, kw_only=True):
    """A rule: its code (what the engine does, see the description), the basis it rests on,
    whether it is on, its version (cited by each firing) and its parameters."""

    id: int
    code: str
    version: int
    basis: str
    description: str
    enabled: bool
    params: dict[str, Any]
