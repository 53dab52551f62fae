"""Input and output shapes of the money and contractor features (issue 19, items 5 and 6): cost
lines on a ticket, the contractor register, site budgets and cost roll-ups. Shared by the HTML
forms, the exports and the JSON API, like :mod:`facilities.tickets.schemas`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

import msgspec

from facilities.tickets.choices import CostKind, WorkClass
from facilities.tickets.schemas import Id, Money, ShortText

Year = Annotated[int, msgspec.Meta(ge=2000, le=2100)]
Email = Annotated[str, msgspec.Meta(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Language = Annotated[str, msgspec.Meta(pattern=r"^(zh_CN|en)$")]


class CostLineIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A labour line (``worker``, ``hours`` at ``hourly_rate``) or a material line
    (``quantity`` ``unit`` at ``unit_price``); the fields of the other kind stay empty."""

    kind: CostKind
    description: Annotated[str, msgspec.Meta(max_length=200)] = ""
    worker: ShortText = ""
    hours: Decimal | None = None
    hourly_rate: Money | None = None
    quantity: Decimal | None = None
    unit: Annotated[str, msgspec.Meta(max_length=16)] = ""
    unit_price: Money | None = None


class CostLineOut(msgspec.Struct, kw_only=True):
    id: int
    ticket_id: int
    kind: CostKind
    description: str
    worker: str
    hours: Decimal | None
    hourly_rate: Decimal | None
    quantity: Decimal | None
    unit: str
    unit_price: Decimal | None
    amount: Decimal
    created_by: int | None
    created_at: dt.datetime


class CostLinesOut(msgspec.Struct, kw_only=True):
    """A ticket's lines, their total and the ticket's actual cost (the total when it has
    lines, else the amount typed on the ticket)."""

    items: list[CostLineOut]
    total: Decimal
    cost_estimate: Decimal | None
    cost_actual: Decimal | None


class ContractorIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A register entry; ``version`` is required to edit one (the version the person saw)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    contact_person: ShortText = ""
    phone: Annotated[str, msgspec.Meta(max_length=64)] = ""
    email: Email = ""
    language: Language = "zh_CN"
    contract_number: Annotated[str, msgspec.Meta(max_length=64)] = ""
    contract_start_on: dt.date | None = None
    contract_end_on: dt.date | None = None
    scope: Annotated[str, msgspec.Meta(max_length=8000)] = ""
    is_active: bool = True
    version: Annotated[int, msgspec.Meta(ge=1)] | None = None


class ContractorOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    contact_person: str
    phone: str
    email: str
    language: str
    contract_number: str
    contract_start_on: dt.date | None
    contract_end_on: dt.date | None
    scope: str
    is_active: bool
    version: int


class BudgetIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A site's budget for a year; ``version`` is the version seen when editing an existing
    one, absent for a first budget."""

    amount: Money
    note: Annotated[str, msgspec.Meta(max_length=300)] = ""
    version: Annotated[int, msgspec.Meta(ge=1)] | None = None


class Dimension(StrEnum):
    """What a roll-up groups by."""

    SITE = "site"
    ASSET = "asset"
    WORK_CLASS = "work_class"
    YEAR = "year"
    CONTRACTOR = "contractor"


class Measure(StrEnum):
    """The tickets behind a number on the costs and contractor pages (see
    :mod:`facilities.tickets.services.costs`)."""

    SPENT = "spent"
    COMMITTED = "committed"
    COMPLETED = "completed"
    ON_TIME = "on_time"


class CostFilters(msgspec.Struct, kw_only=True):
    """The query of the costs page, its exports and its drill-down list."""

    year: Year | None = None
    site: Id | None = None
    asset: Id | None = None
    work_class: WorkClass | None = None
    contractor: Id | None = None
    measure: Measure = Measure.SPENT


class Cell(msgspec.Struct, kw_only=True):
    """An amount and the number of tickets it sums."""

    amount: Decimal
    tickets: int

    @classmethod
    def empty(cls) -> Cell:
        return cls(amount=Decimal("0.00"), tickets=0)


class RollupRow(msgspec.Struct, kw_only=True):
    key: str
    label: str
    year: int
    spent: Cell
    committed: Cell


class RollupOut(msgspec.Struct, kw_only=True):
    dimension: Dimension
    years: list[int]
    rows: list[RollupRow]


class BudgetOut(msgspec.Struct, kw_only=True):
    site_id: int
    site_name: str
    year: int
    amount: Decimal | None
    note: str
    spent: Decimal
    committed: Decimal
    remaining: Decimal | None
    over_budget: bool
    version: int | None
