"""What the KPI API (:mod:`facilities.homes.kpi_api`) answers: the numbers of the repair
dashboard (``/tickets/dashboard``) and of the inspections dashboard (``/inspections/dashboard``),
as those pages show them."""

from __future__ import annotations

import datetime as dt

import msgspec


class WindowOut(msgspec.Struct, kw_only=True):
    """Tickets closed as fixed in the last ``days`` days."""

    days: int
    median_days_to_repair: float | None
    sla_compliance: float | None  # the share repaired within the SLA, 0..1
    closed: int


class AssetBacklogOut(msgspec.Struct, kw_only=True):
    asset_id: int
    code: str
    name_zh: str
    name_en: str
    open: int
    p0: int


class TicketKpisOut(msgspec.Struct, kw_only=True):
    open_total: int
    overdue: int
    backlog: dict[str, dict[str, int]]  # priority -> status -> open tickets
    windows: list[WindowOut]
    per_asset: list[AssetBacklogOut]  # the 20 assets with the most open tickets


class TallyOut(msgspec.Struct, kw_only=True):
    """Inspections counted in a scope: finalised within their window, late, or missed."""

    on_time: int
    late: int
    missed: int
    counted: int
    rate: float | None  # the share on time, 0..1; null when nothing was counted


class MonthTallyOut(TallyOut, kw_only=True):
    month: str  # YYYY-MM, in the bureau's zone


class TypeTallyOut(TallyOut, kw_only=True):
    inspection_type: str
    label: str


class TeamTallyOut(TallyOut, kw_only=True):
    team_id: int  # 0: no team
    name: str


class SiteTallyOut(TallyOut, kw_only=True):
    site_id: int
    name_zh: str
    name_en: str


class OverdueOut(msgspec.Struct, kw_only=True):
    id: int
    asset_id: int
    asset_code: str
    asset_name_zh: str
    asset_name_en: str
    inspection_type: str
    state: str
    due_at: dt.datetime
    window_ends_at: dt.datetime | None
    team_name: str | None
    inspector_name: str | None


class GradeCountOut(msgspec.Struct, kw_only=True):
    grade: str | None  # A..E; null for the assets not graded yet
    assets: int


class BciPointOut(msgspec.Struct, kw_only=True):
    inspection_id: int
    completed_at: dt.datetime
    bci: float


class GradedAssetOut(msgspec.Struct, kw_only=True):
    asset_id: int
    code: str
    name_zh: str
    name_en: str
    condition_grade: str
    history: list[BciPointOut]  # oldest first


class InspectionKpisOut(msgspec.Struct, kw_only=True):
    first_month: str  # YYYY-MM
    last_month: str
    site_id: int | None
    inspection_type: str | None
    team_id: int | None
    overall: TallyOut
    by_month: list[MonthTallyOut]
    by_type: list[TypeTallyOut]
    by_team: list[TeamTallyOut]
    by_site: list[SiteTallyOut]
    overdue_total: int
    overdue: list[OverdueOut]  # the most overdue first, at most 200
    grades: list[GradeCountOut]
    graded_assets: list[GradedAssetOut]
