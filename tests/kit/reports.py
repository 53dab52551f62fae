"""Citizen report factories and helpers: the demo's boardwalk, a report received through the
service (and its row), a full closure in force (``make_full_closure``) and a ticket repaired to
the end."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from facilities.accounts.permissions import SYSTEM
from facilities.assets.choices import AssetType
from facilities.closures import services as closures
from facilities.closures.schemas import ClosureIn
from facilities.closures.tables import Closure
from facilities.reports import services as reports
from facilities.reports.choices import Category
from facilities.reports.schemas import ReportIn
from facilities.reports.tables import ServiceRequest
from facilities.tickets import services as tickets
from facilities.tickets.choices import ClosingReason, Status
from facilities.tickets.tables import RepairTicket
from tests.kit.assets import make_asset
from tests.kit.constants import NOW
from tests.kit.tickets import drive_to, transition_data

# The Pinghu Park boardwalk of the demo, and a spot 40 m east of it.
BOARDWALK = (26.8961, 112.5830)
NEAR_BOARDWALK = (26.8961, 112.5834)


async def make_boardwalk(**fields: Any) -> Any:
    values: dict[str, Any] = {
        "name_zh": "环湖木栈道",
        "name_en": "Lakeside Boardwalk",
        "asset_type": AssetType.BOARDWALK,
        "lat": BOARDWALK[0],
        "lng": BOARDWALK[1],
    }
    values.update(fields)
    return await make_asset(**values)


async def make_report(
    asset: Any = None,
    *,
    now: dt.datetime = NOW,
    media_root: Path,
    photos: tuple[bytes, ...] = (),
    **fields: Any,
) -> reports.Submitted:
    """Receive a report through the service, with readable defaults."""
    asset = asset or await make_boardwalk()
    values: dict[str, Any] = {
        "asset_id": asset.id,
        "category": Category.DECK_DAMAGE,
        "description": "东入口附近一块木板松动 / a loose plank near the east entrance",
        "contact_email": "citizen@example.org",
    }
    values.update(fields)
    return await reports.submit_report(
        ReportIn(**values),
        [reports.Upload(f"IMG_{i}.JPG", data) for i, data in enumerate(photos)],
        now,
        media_root=media_root,
        max_upload_bytes=2_000_000,
    )


async def make_full_closure(
    asset: Any,
    now: dt.datetime = NOW,
    *,
    starts: dt.timedelta = dt.timedelta(days=-3),
    reopen_on: dt.date | None = dt.date(2027, 4, 30),
    **fields: Any,
) -> Closure:
    """A full closure, in force from ``now + starts`` when that is not in the future."""
    values: dict[str, Any] = {
        "asset_id": asset.id,
        "reason_zh": "桥面木板腐朽，全封闭维修",
        "reason_en": "Rotten deck planks: closed for repair",
        "effective_from": now + starts,
        "planned_reopen_on": reopen_on,
    }
    values.update(fields)
    return await closures.create_closure(
        SYSTEM, ClosureIn(**values), now + min(starts, dt.timedelta())
    )


async def repair(ticket_id: int, actor: Any, now: dt.datetime) -> RepairTicket:
    """Walk a ticket through the work to "closed" as repaired (accepted first)."""
    ticket = await drive_to(ticket_id, Status.ACCEPTED, actor, now)
    return await tickets.transition(
        actor,
        ticket_id,
        transition_data(tickets.Action.CLOSE, ticket, 0, closing_reason=ClosingReason.REPAIRED),
        now,
    )


async def report_row(report_id: int) -> ServiceRequest:
    row = await reports.find_report(report_id)
    assert row is not None
    return row
