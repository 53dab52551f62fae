"""Report services: the only code that writes reports, their photos and the Open311 keys.

A report is received from the web form or an Open311 client; a report about a facility under a
closure in force is answered by that closure (no ticket is opened for it). Staff triage the rest:
convert to a ticket (photos copied, reporter e-mail carried), merge into an open ticket, reject
with a public reason, or mark not our responsibility. From then on the public status is derived
from the ticket (or the closure), never copied. The accountability numbers are computed here too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import math
import secrets
import statistics
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from piccolo.query.functions.aggregate import Count

from facilities import db
from facilities.accounts import services as accounts
from facilities.accounts.choices import Perm, Role
from facilities.accounts.permissions import Actor, require
from facilities.accounts.tables import StaffUser
from facilities.assets.services import contains
from facilities.assets.tables import Asset, Site
from facilities.audit import services as audit
from facilities.audit.tables import AuditEvent
from facilities.closures import public as closures_public
from facilities.closures.choices import Status as ClosureStatus
from facilities.closures.public import PublicClosure
from facilities.closures.tables import Closure, ClosurePromise
from facilities.errors import Conflict, DomainError, InvalidTransition, NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib import media
from facilities.reports.choices import (
    OPEN_STAGES,
    TICKET_STAGES,
    TRIAGEABLE,
    AttributeType,
    Category,
    Channel,
    PublicStatus,
    ReportStatus,
    Stage,
    attributes_for,
    categories_for,
    is_value,
)
from facilities.reports.schemas import (
    AnswerIn,
    ConvertIn,
    KeyCreate,
    MergeIn,
    ReportIn,
    StillBrokenIn,
)
from facilities.reports.tables import Open311Key, ReportPhoto, ServiceRequest
from facilities.tickets import services as tickets
from facilities.tickets.choices import (
    FINAL_STATUSES,
    FIXED_REASONS,
    ClosingReason,
    PhotoTag,
    Source,
)
from facilities.tickets.choices import Status as TicketStatus
from facilities.tickets.schemas import CommentIn, TicketIn
from facilities.tickets.tables import RepairTicket

log = logging.getLogger(__name__)

MAX_ID = 2_147_483_647
BUREAU_ZONE = ZoneInfo("Asia/Shanghai")
#: A location sent with an Open311 request names the nearest facility within this many metres
#: (there is deliberately no setting for it: change it here, with a test).
MATCH_RADIUS_M = 150
#: "Facilities near me" on the web form: how far to look and how many to list.
NEARBY_RADIUS_M = 3000
NEARBY_LIMIT = 8
MAX_PHOTOS = 3
#: Reports on the same facility and category this close in time are suggested as duplicates.
DUPLICATE_WINDOW = dt.timedelta(days=14)
#: Open311 date ranges may span at most this long (GeoReport v2).
MAX_RANGE = dt.timedelta(days=90)
#: Most requests in one Open311 answer.
LIST_LIMIT = 1000
#: Rate limits, counted in the database (so across every web process) per fixed window.
RATE_WINDOW_SECONDS = 3600
WEB_REPORTS_PER_IP = 10
OPEN311_POSTS_PER_KEY = 300
OPEN311_POSTS_PER_IP = 60
BAD_KEYS_PER_IP = 20
KEY_PREFIX = "o311_"
RECENTLY_COVERED = dt.timedelta(days=30)
TOUCH_INTERVAL = dt.timedelta(minutes=5)


def citizen(name: str = "citizen") -> Actor:
    """Who the audit trail names for a report nobody on the staff made."""
    return Actor(
        id=None, username="citizen", display_name=name[:128], role=Role.VIEWER, via="public"
    )


def _valid_id(value: int | None) -> bool:
    return value is not None and 0 < value <= MAX_ID


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# --- rate limits ---------------------------------------------------------------------------


class RateLimited(DomainError):
    """Too many attempts in the window; ``retry_after`` is seconds until the window ends."""

    status_code = 429

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            _("Too many reports were sent from here. Please try again in %(minutes)s minutes.")
            % {"minutes": minutes}
        )
        self.retry_after = retry_after


async def take_rate(key: str, limit: int, now: dt.datetime) -> None:
    """Count one attempt under ``key`` (shared by every process through the database) and raise
    RateLimited once the window holds more than ``limit``. The count is one atomic upsert, so
    two processes cannot both slip through the last place."""
    hits = await accounts.rate_hit(key[:200], RATE_WINDOW_SECONDS, now)
    if hits > limit:
        ends = int(now.timestamp()) // RATE_WINDOW_SECONDS * RATE_WINDOW_SECONDS
        raise RateLimited(max(1, ends + RATE_WINDOW_SECONDS - int(now.timestamp())))


async def rate_used(key: str, now: dt.datetime) -> int:
    return await accounts.rate_count(key[:200], RATE_WINDOW_SECONDS, now)


# --- facilities: search, nearby, matching --------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Facility:
    """What a citizen may see of a facility to pick it (public columns only)."""

    id: int
    code: str
    name_zh: str
    name_en: str
    asset_type: str
    site_id: int
    site_name_zh: str
    site_name_en: str
    lat: float | None
    lng: float | None
    distance_m: float | None = None

    @property
    def categories(self) -> tuple[Category, ...]:
        return categories_for(self.asset_type)


FACILITY_COLUMNS = (
    Asset.id,
    Asset.code,
    Asset.name_zh,
    Asset.name_en,
    Asset.asset_type,
    Asset.site,
    Asset.lat,
    Asset.lng,
    Asset.site.name_zh.as_alias("site_name_zh"),
    Asset.site.name_en.as_alias("site_name_en"),
)
IN_CARE = Asset.lifecycle != "decommissioned"


def _facility(row: dict[str, Any], distance: float | None = None) -> Facility:
    return Facility(
        id=row["id"],
        code=row["code"],
        name_zh=row["name_zh"],
        name_en=row["name_en"],
        asset_type=row["asset_type"],
        site_id=row["site"],
        site_name_zh=row["site_name_zh"],
        site_name_en=row["site_name_en"],
        lat=row["lat"],
        lng=row["lng"],
        distance_m=None if distance is None else round(distance),
    )


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres (haversine; exact enough at park scale)."""
    earth = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * earth * math.asin(min(1.0, math.sqrt(a)))


async def find_facility(asset_id: int) -> Facility | None:
    if not _valid_id(asset_id):
        return None
    row = await Asset.select(*FACILITY_COLUMNS).where((Asset.id == asset_id) & IN_CARE).first()
    return _facility(row) if row else None


async def search_facilities(
    q: str = "", site_id: int | None = None, limit: int = 50
) -> list[Facility]:
    """Facilities whose name or code contains ``q``, or all of one site's."""
    conditions: list[Any] = [IN_CARE]
    term = q.strip()[:100]
    if term:
        conditions.append(
            contains(Asset.code, term)
            | contains(Asset.name_zh, term)
            | contains(Asset.name_en, term)
        )
    if site_id is not None:
        conditions.append(Asset.site == (site_id if _valid_id(site_id) else 0))
    if not term and site_id is None:
        return []
    rows = (
        await Asset.select(*FACILITY_COLUMNS)
        .where(*conditions)
        .order_by(Asset.name_zh)
        .limit(limit)
    )
    return [_facility(r) for r in rows]


async def _within(lat: float, lng: float, radius: float) -> list[Facility]:
    """Facilities with coordinates within ``radius`` metres, nearest first (a bounding box in
    the query, the exact distance here)."""
    dlat = radius / 111_320
    dlng = radius / max(1.0, 111_320 * math.cos(math.radians(lat)))
    rows = await Asset.select(*FACILITY_COLUMNS).where(
        IN_CARE
        & Asset.lat.is_not_null()
        & Asset.lng.is_not_null()
        & (Asset.lat >= lat - dlat)
        & (Asset.lat <= lat + dlat)
        & (Asset.lng >= lng - dlng)
        & (Asset.lng <= lng + dlng)
    )
    found = []
    for row in rows:
        metres = distance_m(lat, lng, row["lat"], row["lng"])
        if metres <= radius:
            found.append(_facility(row, metres))
    return sorted(found, key=lambda f: (f.distance_m, f.code))


async def nearby_facilities(lat: float, lng: float, limit: int = NEARBY_LIMIT) -> list[Facility]:
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise ValidationFailed({"lat": _("The location is not valid.")})
    return (await _within(lat, lng, NEARBY_RADIUS_M))[:limit]


async def match_location(lat: float, lng: float) -> Facility | None:
    """The nearest facility within MATCH_RADIUS_M of a reported location, if any."""
    found = await _within(lat, lng, MATCH_RADIUS_M)
    return found[0] if found else None


async def match_address(address_string: str = "", address_id: str = "") -> Facility | None:
    """``address_id`` is a facility code; ``address_string`` names a facility (its code or
    name within the text). Only an unambiguous match counts."""
    if address_id.strip():
        row = (
            await Asset.select(*FACILITY_COLUMNS)
            .where((Asset.code == address_id.strip().upper()) & IN_CARE)
            .first()
        )
        return _facility(row) if row else None
    text = address_string.strip().lower()
    if len(text) < 2:
        return None
    rows = await Asset.select(*FACILITY_COLUMNS).where(IN_CARE)
    scored: list[tuple[int, dict[str, Any]]] = []
    for row in rows:
        names = [n.lower() for n in (row["code"], row["name_zh"], row["name_en"]) if n]
        best = max((len(n) for n in names if n in text or text == n), default=0)
        if best:
            scored.append((best, row))
    if not scored:
        return None
    scored.sort(key=lambda item: -item[0])
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        return None
    return _facility(scored[0][1])


# --- the public state of a report ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PublicReport:
    """A report as the public (Open311, the facility page, the tracking page) may see it: no
    contact, no staff names, no ticket title; a rejected report's text is withheld."""

    id: int
    asset_id: int
    asset_code: str
    asset_name_zh: str
    asset_name_en: str
    category: str
    description: str
    lat: float | None
    lng: float | None
    address: str
    requested_at: dt.datetime
    updated_at: dt.datetime
    stage: Stage
    status_notes: str
    closure_id: int | None
    follow_up_of: int | None

    @property
    def status(self) -> PublicStatus:
        return PublicStatus.OPEN if self.stage in OPEN_STAGES else PublicStatus.CLOSED

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES


REPORT_PUBLIC_COLUMNS = (
    ServiceRequest.id,
    ServiceRequest.asset,
    ServiceRequest.category,
    ServiceRequest.description,
    ServiceRequest.lat,
    ServiceRequest.lng,
    ServiceRequest.address_string,
    ServiceRequest.status,
    ServiceRequest.public_reason,
    ServiceRequest.ticket,
    ServiceRequest.closure,
    ServiceRequest.follow_up_of,
    ServiceRequest.requested_at,
    ServiceRequest.updated_at,
    ServiceRequest.asset.code.as_alias("asset_code"),
    ServiceRequest.asset.name_zh.as_alias("asset_name_zh"),
    ServiceRequest.asset.name_en.as_alias("asset_name_en"),
    ServiceRequest.asset.lat.as_alias("asset_lat"),
    ServiceRequest.asset.lng.as_alias("asset_lng"),
)


@dataclasses.dataclass(frozen=True)
class _TicketState:
    status: str
    closing_reason: str | None
    updated_at: dt.datetime
    closed_at: dt.datetime | None


async def _ticket_states(ticket_ids: Iterable[int]) -> dict[int, _TicketState]:
    """Each ticket's state, a duplicate replaced by the ticket it duplicates (a few hops)."""
    wanted = {t for t in ticket_ids if t}
    states: dict[int, _TicketState] = {}
    duplicate_of: dict[int, int] = {}
    pending = set(wanted)
    for _hop in range(4):
        if not pending:
            break
        rows = await RepairTicket.select(
            RepairTicket.id,
            RepairTicket.status,
            RepairTicket.closing_reason,
            RepairTicket.updated_at,
            RepairTicket.closed_at,
            RepairTicket.duplicate_of,
        ).where(RepairTicket.id.is_in(sorted(pending)))
        pending = set()
        for r in rows:
            states[r["id"]] = _TicketState(
                r["status"], r["closing_reason"], r["updated_at"], r["closed_at"]
            )
            if r["status"] == TicketStatus.DUPLICATE and r["duplicate_of"]:
                duplicate_of[r["id"]] = r["duplicate_of"]
                if r["duplicate_of"] not in states:
                    pending.add(r["duplicate_of"])
    result = {}
    for ticket_id in wanted:
        current, seen = ticket_id, set()
        while current in duplicate_of and current not in seen and duplicate_of[current] in states:
            seen.add(current)
            current = duplicate_of[current]
        if current in states:
            result[ticket_id] = states[current]
    return result


async def _closure_states(closure_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    ids = sorted({c for c in closure_ids if c})
    if not ids:
        return {}
    rows = await Closure.select(
        Closure.id, Closure.status, Closure.reopens_at, Closure.updated_at
    ).where(Closure.id.is_in(ids))
    return {r["id"]: r for r in rows}


def stage_of(
    status: str,
    public_reason: str,
    ticket: _TicketState | None,
    closure: dict[str, Any] | None,
    now: dt.datetime,
) -> tuple[Stage, str]:
    """The public stage and status notes of a report: its own decision, or its ticket's, or
    its closure's. The notes are translated in the current language."""
    reason = public_reason.strip()
    if status == ReportStatus.REJECTED:
        return Stage.NO_FURTHER_ACTION, reason or _("This report was not accepted.")
    if status == ReportStatus.NOT_OURS:
        base = _("This is not the responsibility of the construction bureau.")
        return Stage.NOT_OURS, f"{base} {reason}" if reason else base
    if status == ReportStatus.COVERED and closure is not None:
        reopens_at = closure["reopens_at"]
        if closure["status"] == ClosureStatus.CANCELLED:
            return Stage.CLOSED, _("The closure of this facility was cancelled.")
        if closure["status"] == ClosureStatus.LIFTED and reopens_at and reopens_at <= now:
            return Stage.CLOSED, _("The repair is finished and the facility has reopened.")
        return Stage.CLOSURE, _(
            "This facility is already closed for repair; your report was added to the closure "
            "and no separate ticket was opened."
        )
    if status in (ReportStatus.TICKETED, ReportStatus.MERGED) and ticket is not None:
        stage = TICKET_STAGES.get(ticket.status, Stage.INVESTIGATING)
        if ticket.status == TicketStatus.CLOSED:
            if ticket.closing_reason in FIXED_REASONS:
                stage = Stage.FIXED
            reason = ticket.closing_reason or ""
            reason_label = ClosingReason(reason).label if is_value(ClosingReason, reason) else ""
            return stage, reason_label or _("Closed")
        if ticket.status in (TicketStatus.REJECTED, TicketStatus.CANCELLED):
            return stage, _("No repair is planned for this report.")
        return stage, ""
    return Stage.RECEIVED, ""


async def _public(rows: list[dict[str, Any]], now: dt.datetime) -> list[PublicReport]:
    ticket_states = await _ticket_states(r["ticket"] for r in rows)
    closure_states = await _closure_states(r["closure"] for r in rows)
    result = []
    for r in rows:
        ticket = ticket_states.get(r["ticket"]) if r["ticket"] else None
        closure = closure_states.get(r["closure"]) if r["closure"] else None
        stage, notes = stage_of(r["status"], r["public_reason"], ticket, closure, now)
        updated = max(
            [r["updated_at"]]
            + ([ticket.updated_at] if ticket else [])
            + ([closure["updated_at"]] if closure else [])
        )
        result.append(
            PublicReport(
                id=r["id"],
                asset_id=r["asset"],
                asset_code=r["asset_code"],
                asset_name_zh=r["asset_name_zh"],
                asset_name_en=r["asset_name_en"],
                category=r["category"],
                description="" if r["status"] == ReportStatus.REJECTED else r["description"],
                # where the reporter stood, else where the facility is (public either way)
                lat=r["lat"] if r["lat"] is not None else r["asset_lat"],
                lng=r["lng"] if r["lat"] is not None else r["asset_lng"],
                address=r["address_string"],
                requested_at=r["requested_at"],
                updated_at=updated,
                stage=stage,
                status_notes=notes,
                closure_id=r["closure"],
                follow_up_of=r["follow_up_of"],
            )
        )
    return result


async def public_report(report_id: int, now: dt.datetime) -> PublicReport | None:
    if not _valid_id(report_id):
        return None
    rows = await ServiceRequest.select(*REPORT_PUBLIC_COLUMNS).where(ServiceRequest.id == report_id)
    found = await _public(rows, now)
    return found[0] if found else None


async def public_reports(
    now: dt.datetime,
    *,
    ids: Sequence[int] = (),
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    categories: Sequence[str] = (),
    statuses: Sequence[str] = (),
    limit: int = LIST_LIMIT,
) -> list[PublicReport]:
    """Reports for Open311 listings, newest first: by ids, or requested within [start, end]
    (at most MAX_RANGE apart), of some categories, filtered by public status."""
    if ids:
        valid = sorted({i for i in ids if _valid_id(i)})
        rows = await ServiceRequest.select(*REPORT_PUBLIC_COLUMNS).where(
            ServiceRequest.id.is_in(valid or [0])
        )
        rows.sort(key=lambda r: r["requested_at"], reverse=True)
        return await _public(rows, now)
    end = end or now
    start = start or end - MAX_RANGE
    if end < start:
        raise ValidationFailed({"end_date": _("end_date is before start_date.")})
    if end - start > MAX_RANGE:
        raise ValidationFailed(
            {"end_date": _("start_date and end_date may be at most 90 days apart.")}
        )
    query = ServiceRequest.select(*REPORT_PUBLIC_COLUMNS).where(
        (ServiceRequest.requested_at >= start) & (ServiceRequest.requested_at <= end)
    )
    if categories:
        query = query.where(ServiceRequest.category.is_in(list(categories)))
    rows = await query.order_by(ServiceRequest.requested_at, ascending=False).limit(limit * 3)
    found = await _public(rows, now)
    if statuses:
        found = [r for r in found if r.status in statuses]
    return found[:limit]


async def open_reports_for(asset_id: int, now: dt.datetime, limit: int = 20) -> list[PublicReport]:
    """Open reports on one facility (shown before a citizen reports it again)."""
    rows = (
        await ServiceRequest.select(*REPORT_PUBLIC_COLUMNS)
        .where(
            (ServiceRequest.asset == asset_id)
            & ServiceRequest.status.is_in(
                [ReportStatus.NEW, ReportStatus.TICKETED, ReportStatus.MERGED, ReportStatus.COVERED]
            )
        )
        .order_by(ServiceRequest.requested_at, ascending=False)
        .limit(limit * 5)
    )
    return [r for r in await _public(rows, now) if r.is_open][:limit]


# --- the facility page before reporting ----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FacilityPage:
    facility: Facility
    closure: PublicClosure | None
    open_reports: list[PublicReport]
    numbers: Numbers


async def facility_page(asset_id: int, now: dt.datetime, zone: ZoneInfo) -> FacilityPage:
    facility = await find_facility(asset_id)
    if facility is None:
        raise NotFound(_("No such facility."))
    return FacilityPage(
        facility=facility,
        closure=await closures_public.in_force_for_asset(facility.id, now),
        open_reports=await open_reports_for(facility.id, now),
        numbers=(await accountability(now, zone, asset_id=facility.id)).facility(facility.id),
    )


# --- receiving a report --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclasses.dataclass(frozen=True)
class Submitted:
    report: ServiceRequest
    token: str
    closure: PublicClosure | None


def _check_attributes(category: str, values: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    known = {a.code: a for a in attributes_for(category)}
    for code in values:
        if code not in known:
            errors[f"attribute[{code}]"] = _("This service has no attribute “%(code)s”.") % {
                "code": code[:40]
            }
    for code, attribute in known.items():
        value = values.get(code, "").strip()
        if not value:
            if attribute.required:
                errors[f"attribute[{code}]"] = _("This field is required.")
            continue
        if attribute.datatype == AttributeType.SINGLEVALUELIST:
            if value not in {key for key, _name in attribute.values}:
                errors[f"attribute[{code}]"] = _("Choose one of the listed options.")
        elif len(value) > attribute.max_length:
            errors[f"attribute[{code}]"] = _("Enter at most %(n)s characters.") % {
                "n": attribute.max_length
            }
    return errors


def _store_photos(photos: Sequence[Upload], media_root: Any, max_bytes: int) -> list[Any]:
    """Check and store the photos (images only, metadata stripped); all or none are kept."""
    if len(photos) > MAX_PHOTOS:
        raise ValidationFailed({"photos": _("Send at most %(n)s photos.") % {"n": MAX_PHOTOS}})
    for photo in photos:
        if not photo.data:
            raise ValidationFailed({"photos": _("One of the photos is empty.")})
        if len(photo.data) > max_bytes:
            raise ValidationFailed(
                {
                    "photos": _("The file is larger than %(mb)s MB.")
                    % {"mb": round(max_bytes / 1_000_000, 1)}
                }
            )
    stored: list[Any] = []
    try:
        for photo in photos:
            if photo.data.startswith(b"%PDF-"):
                raise media.UnsupportedFile("pdf")
            item = media.store_upload(photo.data, media_root, "reports")
            stored.append(item)
            if not item.is_image:
                raise media.UnsupportedFile(item.content_type)
    except media.UnsupportedFile:
        for item in stored:
            media.remove(media_root, item.storage_key, item.thumbnail_key)
        raise ValidationFailed(
            {"photos": _("Only photos (JPEG, PNG or WebP) can be sent.")}
        ) from None
    except OSError:
        for item in stored:
            media.remove(media_root, item.storage_key, item.thumbnail_key)
        raise ValidationFailed(
            {"photos": _("The photo could not be stored. Nothing was saved; please try again.")}
        ) from None
    return stored


def _snapshot(report: ServiceRequest) -> dict[str, Any]:
    """The audited fields (never the contact details)."""
    return {
        "asset": report.asset,
        "category": report.category,
        "channel": report.channel,
        "status": report.status,
        "ticket": report.ticket,
        "closure": report.closure,
        "follow_up_of": report.follow_up_of,
        "public_reason": report.public_reason,
    }


async def submit_report(
    data: ReportIn,
    photos: Sequence[Upload],
    now: dt.datetime,
    *,
    media_root: Any,
    max_upload_bytes: int,
    channel: Channel = Channel.WEB,
    client: Open311Key | None = None,
    follow_up_of: int | None = None,
) -> Submitted:
    """Record a report (status new), or, when the facility is under a closure in force, record
    it as answered by that closure: no ticket, the closure's notice is the answer."""
    facility = await find_facility(data.asset_id)
    errors: dict[str, str] = {}
    if facility is None:
        errors["asset_id"] = _("Choose one of the listed facilities.")
    elif data.category not in facility.categories:
        errors["category"] = _("Choose a category that applies to this facility.")
    errors.update(_check_attributes(data.category, data.attributes))
    if errors:
        raise ValidationFailed(errors)
    assert facility is not None
    stored = _store_photos(photos, media_root, max_upload_bytes)
    token = secrets.token_urlsafe(24)
    try:
        async with db.transaction():
            closure = await closures_public.in_force_for_asset(facility.id, now)
            report = ServiceRequest(
                token_hash=accounts.digest(token),
                asset=facility.id,
                category=data.category,
                description=data.description.strip(),
                attributes=json.dumps(
                    {k: v.strip() for k, v in data.attributes.items() if v.strip()},
                    ensure_ascii=False,
                ),
                lat=data.lat,
                lng=data.lng,
                address_string=data.address_string.strip(),
                channel=channel,
                client=client.id if client else None,
                contact_name=data.contact_name.strip(),
                contact_email=data.contact_email.strip(),
                contact_phone=data.contact_phone.strip(),
                device_id=data.device_id.strip(),
                account_id=data.account_id.strip(),
                language=data.language if data.language in ("zh_CN", "en") else "zh_CN",
                status=ReportStatus.COVERED if closure else ReportStatus.NEW,
                closure=closure.id if closure else None,
                follow_up_of=follow_up_of,
                requested_at=now,
                updated_at=now,
            )
            await report.save()
            for upload, item in zip(photos, stored, strict=True):
                await ReportPhoto.insert(
                    ReportPhoto(
                        report=report.id,
                        filename=tickets.display_name(upload.filename, item.storage_key),
                        content_type=item.content_type,
                        size=item.size,
                        sha256=item.sha256,
                        storage_key=item.storage_key,
                        thumbnail_key=item.thumbnail_key,
                        created_at=now,
                    )
                )
            who = citizen(f"open311:{client.name}" if client else "citizen")
            await audit.record(
                who, "report.created", "service_request", report.id, now, after=_snapshot(report)
            )
    except BaseException:
        for item in stored:
            media.remove(media_root, item.storage_key, item.thumbnail_key)
        raise
    return Submitted(report=report, token=token, closure=closure)


# --- the reporter's tracking page and "still broken?" --------------------------------------


async def _by_token(token: str) -> ServiceRequest | None:
    if not token or len(token) > 100:
        return None
    return (
        await ServiceRequest.objects()
        .where(ServiceRequest.token_hash == accounts.digest(token))
        .first()
    )


@dataclasses.dataclass(frozen=True)
class Tracking:
    report: PublicReport
    facility: Facility | None
    closure: PublicClosure | None
    photo_count: int
    has_contact: bool
    follow_ups: list[PublicReport]
    can_say_still_broken: bool


async def _fixed_ticket(report: ServiceRequest) -> _TicketState | None:
    """The report's ticket when it was closed as repaired (the "still broken?" question)."""
    if report.status not in (ReportStatus.TICKETED, ReportStatus.MERGED) or not report.ticket:
        return None
    state = (await _ticket_states([report.ticket])).get(report.ticket)
    if state and state.status == TicketStatus.CLOSED and state.closing_reason in FIXED_REASONS:
        return state
    return None


async def _still_broken_allowed(report: ServiceRequest) -> bool:
    fixed = await _fixed_ticket(report)
    if fixed is None:
        return False
    since = fixed.closed_at or fixed.updated_at
    return not await ServiceRequest.exists().where(
        (ServiceRequest.follow_up_of == report.id) & (ServiceRequest.requested_at >= since)
    )


async def tracking(token: str, now: dt.datetime) -> Tracking:
    """What the reporter sees at their secret link; NotFound for any other token."""
    report = await _by_token(token)
    if report is None:
        raise NotFound(_("No report has this tracking link."))
    shown = await public_report(report.id, now)
    assert shown is not None
    follow_rows = (
        await ServiceRequest.select(*REPORT_PUBLIC_COLUMNS)
        .where(ServiceRequest.follow_up_of == report.id)
        .order_by(ServiceRequest.requested_at)
    )
    return Tracking(
        report=shown,
        facility=await find_facility(report.asset),
        closure=await closures_public.in_force_for_asset(report.asset, now),
        photo_count=await ReportPhoto.count().where(ReportPhoto.report == report.id),
        has_contact=bool(report.contact_email or report.contact_phone),
        follow_ups=await _public(follow_rows, now),
        can_say_still_broken=await _still_broken_allowed(report),
    )


async def still_broken(
    token: str, data: StillBrokenIn, now: dt.datetime, *, media_root: Any, max_upload_bytes: int
) -> Submitted:
    """The reporter says a repair did not fix it: a follow-up report, linked to this one,
    goes back to triage (once per repair)."""
    report = await _by_token(token)
    if report is None:
        raise NotFound(_("No report has this tracking link."))
    if not await _still_broken_allowed(report):
        raise InvalidTransition(
            _("This report is not closed as repaired, or you have already told us.")
        )
    return await submit_report(
        ReportIn(
            asset_id=report.asset,
            category=Category(report.category),
            description=data.description.strip(),
            attributes=_json(report.attributes) or {},
            lat=report.lat,
            lng=report.lng,
            address_string=report.address_string,
            contact_name=report.contact_name,
            contact_email=report.contact_email,
            contact_phone=report.contact_phone,
            device_id=report.device_id,
            account_id=report.account_id,
            language=report.language,
        ),
        [],
        now,
        media_root=media_root,
        max_upload_bytes=max_upload_bytes,
        channel=Channel(report.channel),
        follow_up_of=report.id,
    )


# --- triage (staff) ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """Another open report on the same facility and category, near in time."""

    report_id: int
    requested_at: dt.datetime
    status: str
    ticket_id: int | None
    excerpt: str


@dataclasses.dataclass(frozen=True)
class ReportRow:
    report: ServiceRequest
    asset_code: str
    asset_name_zh: str
    asset_name_en: str
    site_name_zh: str
    site_name_en: str
    client_name: str
    photos: list[ReportPhoto]
    stage: Stage
    status_notes: str
    suggestions: list[Suggestion]

    @property
    def attributes(self) -> dict[str, str]:
        return _json(self.report.attributes) or {}


STAFF_COLUMNS = (
    ServiceRequest.asset.code.as_alias("asset_code"),
    ServiceRequest.asset.name_zh.as_alias("asset_name_zh"),
    ServiceRequest.asset.name_en.as_alias("asset_name_en"),
    ServiceRequest.asset.site.name_zh.as_alias("site_name_zh"),  # type: ignore[union-attr]
    ServiceRequest.asset.site.name_en.as_alias("site_name_en"),  # type: ignore[union-attr]
    ServiceRequest.client.name.as_alias("client_name"),
)


async def _suggestions(
    reports: list[ServiceRequest], now: dt.datetime
) -> dict[int, list[Suggestion]]:
    """Possible duplicates of each report: same facility, same category, open, requested
    within DUPLICATE_WINDOW of it."""
    if not reports:
        return {}
    assets = sorted({r.asset for r in reports})
    first = min(r.requested_at for r in reports) - DUPLICATE_WINDOW
    last = max(r.requested_at for r in reports) + DUPLICATE_WINDOW
    candidates = await ServiceRequest.select(*REPORT_PUBLIC_COLUMNS).where(
        ServiceRequest.asset.is_in(assets)
        & (ServiceRequest.requested_at >= first)
        & (ServiceRequest.requested_at <= last)
        & ServiceRequest.status.is_in(
            [ReportStatus.NEW, ReportStatus.TICKETED, ReportStatus.MERGED, ReportStatus.COVERED]
        )
    )
    shown = {p.id: p for p in await _public(candidates, now)}
    by_id = {c["id"]: c for c in candidates}
    result: dict[int, list[Suggestion]] = {}
    for report in reports:
        found = []
        for other in candidates:
            if (
                other["id"] == report.id
                or other["asset"] != report.asset
                or other["category"] != report.category
                or abs(other["requested_at"] - report.requested_at) > DUPLICATE_WINDOW
                or not shown[other["id"]].is_open
            ):
                continue
            row = by_id[other["id"]]
            found.append(
                Suggestion(
                    report_id=row["id"],
                    requested_at=row["requested_at"],
                    status=row["status"],
                    ticket_id=row["ticket"],
                    excerpt=row["description"][:140],
                )
            )
        result[report.id] = sorted(found, key=lambda s: s.requested_at)
    return result


async def _rows(reports: list[ServiceRequest], now: dt.datetime, suggest: bool) -> list[ReportRow]:
    if not reports:
        return []
    ids = [r.id for r in reports]
    names = {
        r["id"]: r
        for r in await ServiceRequest.select(ServiceRequest.id, *STAFF_COLUMNS).where(
            ServiceRequest.id.is_in(ids)
        )
    }
    photos: dict[int, list[ReportPhoto]] = {}
    for photo in (
        await ReportPhoto.objects().where(ReportPhoto.report.is_in(ids)).order_by(ReportPhoto.id)
    ):
        photos.setdefault(photo.report, []).append(photo)
    public = {
        p.id: p
        for p in await _public(
            await ServiceRequest.select(*REPORT_PUBLIC_COLUMNS).where(ServiceRequest.id.is_in(ids)),
            now,
        )
    }
    suggestions = await _suggestions(reports, now) if suggest else {}
    return [
        ReportRow(
            report=r,
            asset_code=names[r.id]["asset_code"],
            asset_name_zh=names[r.id]["asset_name_zh"],
            asset_name_en=names[r.id]["asset_name_en"],
            site_name_zh=names[r.id]["site_name_zh"],
            site_name_en=names[r.id]["site_name_en"],
            client_name=names[r.id]["client_name"] or "",
            photos=photos.get(r.id, []),
            stage=public[r.id].stage,
            status_notes=public[r.id].status_notes,
            suggestions=suggestions.get(r.id, []),
        )
        for r in reports
    ]


@dataclasses.dataclass(frozen=True)
class Queue:
    new: list[ReportRow]
    covered: list[ReportRow]


async def triage_queue(actor: Actor, now: dt.datetime, limit: int = 200) -> Queue:
    """New reports, oldest first (with duplicate suggestions), and the recent reports a
    closure in force already answers (staff may still turn one into a ticket)."""
    require(actor, Perm.REPORTS_TRIAGE)
    new = (
        await ServiceRequest.objects()
        .where(ServiceRequest.status == ReportStatus.NEW)
        .order_by(ServiceRequest.requested_at)
        .order_by(ServiceRequest.id)
        .limit(limit)
    )
    covered = (
        await ServiceRequest.objects()
        .where(
            (ServiceRequest.status == ReportStatus.COVERED)
            & (ServiceRequest.requested_at >= now - RECENTLY_COVERED)
        )
        .order_by(ServiceRequest.requested_at, ascending=False)
        .limit(limit)
    )
    return Queue(new=await _rows(new, now, True), covered=await _rows(covered, now, False))


@dataclasses.dataclass(frozen=True)
class ReportDetail:
    row: ReportRow
    ticket: dict[str, Any] | None
    merge_targets: list[dict[str, Any]]
    follow_up_of: ReportRow | None
    follow_ups: list[ReportRow]
    history: list[dict[str, Any]]

    @property
    def can_triage(self) -> bool:
        return self.row.report.status in TRIAGEABLE


async def find_report(report_id: int) -> ServiceRequest | None:
    if not _valid_id(report_id):
        return None
    return await ServiceRequest.objects().where(ServiceRequest.id == report_id).first()


async def get_report(actor: Actor, report_id: int, now: dt.datetime) -> ReportDetail:
    require(actor, Perm.REPORTS_TRIAGE)
    report = await find_report(report_id)
    if report is None:
        raise NotFound(_("No such report."))
    (row,) = await _rows([report], now, True)
    ticket = None
    if report.ticket:
        ticket = (
            await RepairTicket.select(
                RepairTicket.id,
                RepairTicket.title,
                RepairTicket.status,
                RepairTicket.closing_reason,
            )
            .where(RepairTicket.id == report.ticket)
            .first()
        )
    targets = await (
        RepairTicket.select(
            RepairTicket.id, RepairTicket.title, RepairTicket.status, RepairTicket.created_at
        )
        .where(
            (RepairTicket.asset == report.asset)
            & RepairTicket.status.not_in(sorted(FINAL_STATUSES))
        )
        .order_by(RepairTicket.created_at, ascending=False)
        .limit(50)
    )
    original = await find_report(report.follow_up_of) if report.follow_up_of else None
    follow_ups = (
        await ServiceRequest.objects()
        .where(ServiceRequest.follow_up_of == report.id)
        .order_by(ServiceRequest.requested_at)
    )
    return ReportDetail(
        row=row,
        ticket=ticket,
        merge_targets=targets,
        follow_up_of=(await _rows([original], now, False))[0] if original else None,
        follow_ups=await _rows(follow_ups, now, False),
        history=list(reversed(await audit.list_events("service_request", report.id, 100))),
    )


async def _claim(
    actor: Actor,
    report_id: int,
    version: int,
    status: ReportStatus,
    now: dt.datetime,
    *,
    ticket_id: int | None = None,
    public_reason: str = "",
) -> ServiceRequest:
    """Move a report out of triage exactly once: a conditional update on status and version,
    so two people deciding at once cannot both win (the second gets a Conflict)."""
    report = await find_report(report_id)
    if report is None:
        raise NotFound(_("No such report."))
    if report.status not in TRIAGEABLE:
        raise InvalidTransition(_("This report has already been dealt with."))
    if report.version != version:
        raise Conflict(_("Someone else changed this report first. Reload it and try again."))
    changed = (
        await ServiceRequest.update(
            {
                ServiceRequest.status: status,
                ServiceRequest.ticket: ticket_id,
                ServiceRequest.public_reason: public_reason,
                ServiceRequest.triaged_at: now,
                ServiceRequest.triaged_by: actor.id,
                ServiceRequest.updated_at: now,
                ServiceRequest.version: version + 1,
            }
        )
        .where(
            (ServiceRequest.id == report.id)
            & (ServiceRequest.version == version)
            & ServiceRequest.status.is_in(sorted(TRIAGEABLE))
        )
        .returning(ServiceRequest.id)
    )
    if not changed:
        raise Conflict(_("Someone else changed this report first. Reload it and try again."))
    updated = await find_report(report.id)
    assert updated is not None
    await audit.record(
        actor,
        f"report.{status.value}",
        "service_request",
        report.id,
        now,
        _snapshot(report),
        _snapshot(updated),
    )
    return updated


def _local_name(zh: str, en: str) -> str:
    from facilities import i18n

    return en if i18n.current_locale() == "en" and en else zh


def ticket_description(report: ServiceRequest, row: ReportRow, zone: ZoneInfo = BUREAU_ZONE) -> str:
    """Everything the report says, for the ticket (staff only: the contact is included)."""
    lines = [report.description.strip() or _("(no description)"), "", "—"]
    lines.append(
        _("Citizen report No. %(id)s, received %(at)s")
        % {
            "id": report.id,
            "at": report.requested_at.astimezone(zone).isoformat(sep=" ", timespec="minutes"),
        }
    )
    lines.append(_("Category: %(category)s") % {"category": Category(report.category).label})
    for attribute in attributes_for(report.category):
        value = row.attributes.get(attribute.code)
        if value:
            names = dict(attribute.values)
            shown = _(names[value]) if value in names else value
            lines.append(f"{_(attribute.description)} {shown}")
    if report.lat is not None and report.lng is not None:
        lines.append(_("Location: %(lat)s, %(lng)s") % {"lat": report.lat, "lng": report.lng})
    if report.address_string:
        lines.append(_("Address: %(address)s") % {"address": report.address_string})
    channel = Channel(report.channel).label
    if row.client_name:
        channel = f"{channel} ({row.client_name})"
    lines.append(_("Received through: %(channel)s") % {"channel": channel})
    if report.follow_up_of:
        lines.append(
            _("Follow-up of report No. %(id)s: the reporter says it is still broken.")
            % {"id": report.follow_up_of}
        )
    contact = ", ".join(
        v for v in (report.contact_name, report.contact_email, report.contact_phone) if v
    )
    if contact:
        lines.append(_("Reporter (never public): %(contact)s") % {"contact": contact})
    return "\n".join(lines)[:8000]


async def _copy_photos(
    actor: Actor,
    ticket_id: int,
    report: ServiceRequest,
    media_root: Any,
    max_bytes: int,
    now: dt.datetime,
    created: list[Any],
) -> None:
    caption = _("Citizen photo, report No. %(id)s") % {"id": report.id}
    for photo in (
        await ReportPhoto.objects().where(ReportPhoto.report == report.id).order_by(ReportPhoto.id)
    ):
        try:
            data = media.resolve(media_root, photo.storage_key).read_bytes()
        except OSError:
            log.warning("report %s: photo %s is missing on disk", report.id, photo.storage_key)
            continue
        attachment = await tickets.add_attachment(
            actor,
            ticket_id,
            data,
            photo.filename,
            PhotoTag.BEFORE,
            caption,
            media_root,
            max(max_bytes, len(data)),
            now,
        )
        created.append(attachment)


async def convert_to_ticket(
    actor: Actor,
    report_id: int,
    data: ConvertIn,
    now: dt.datetime,
    *,
    media_root: Any,
    max_upload_bytes: int,
    zone: ZoneInfo = BUREAU_ZONE,
) -> RepairTicket:
    """Open a repair ticket from the report: its text, category, location and contact in the
    description, its photos attached, the reporter's e-mail as the ticket's reporter."""
    require(actor, Perm.REPORTS_TRIAGE)
    require(actor, Perm.TICKETS_CREATE)
    created: list[Any] = []
    try:
        async with db.transaction():
            report = await find_report(report_id)
            if report is None:
                raise NotFound(_("No such report."))
            if report.status not in TRIAGEABLE:
                raise InvalidTransition(_("This report has already been dealt with."))
            (row,) = await _rows([report], now, False)
            title = data.title.strip() or (
                f"{Category(report.category).label} · "
                f"{_local_name(row.asset_name_zh, row.asset_name_en)}"
            )
            ticket = await tickets.open_ticket(
                actor,
                TicketIn(
                    asset_id=report.asset,
                    title=title[:200],
                    description=ticket_description(report, row, zone),
                    source=Source.CITIZEN_REPORT,
                    priority=data.priority,
                    work_class=data.work_class,
                    reporter_email=report.contact_email,
                ),
                now,
            )
            await _claim(
                actor, report.id, data.version, ReportStatus.TICKETED, now, ticket_id=ticket.id
            )
            await _copy_photos(actor, ticket.id, report, media_root, max_upload_bytes, now, created)
    except BaseException:
        for attachment in created:
            media.remove(media_root, attachment.storage_key, attachment.thumbnail_key)
        raise
    return ticket


async def merge_into_ticket(
    actor: Actor,
    report_id: int,
    data: MergeIn,
    now: dt.datetime,
    *,
    media_root: Any,
    max_upload_bytes: int,
    zone: ZoneInfo = BUREAU_ZONE,
) -> RepairTicket:
    """The report joins an open ticket: its photos are attached there and its text recorded
    as an internal comment; its public status follows that ticket from now on."""
    require(actor, Perm.REPORTS_TRIAGE)
    require(actor, Perm.TICKETS_WORK)
    created: list[Any] = []
    try:
        async with db.transaction():
            ticket = await tickets.find_ticket(data.ticket_id)
            if ticket is None:
                raise ValidationFailed({"ticket_id": _("No ticket has this number.")})
            if ticket.status in FINAL_STATUSES:
                raise ValidationFailed(
                    {"ticket_id": _("That ticket is finished; choose an open one.")}
                )
            report = await find_report(report_id)
            if report is None:
                raise NotFound(_("No such report."))
            (row,) = await _rows([report], now, False)
            await _claim(
                actor, report.id, data.version, ReportStatus.MERGED, now, ticket_id=ticket.id
            )
            await tickets.add_comment(
                actor,
                ticket.id,
                CommentIn(body=ticket_description(report, row, zone)[:4000], is_public=False),
                now,
            )
            await _copy_photos(actor, ticket.id, report, media_root, max_upload_bytes, now, created)
    except BaseException:
        for attachment in created:
            media.remove(media_root, attachment.storage_key, attachment.thumbnail_key)
        raise
    return ticket


async def reject_report(
    actor: Actor, report_id: int, data: AnswerIn, now: dt.datetime
) -> ServiceRequest:
    """Close the report without work; the reason is public (its text is then withheld)."""
    require(actor, Perm.REPORTS_TRIAGE)
    reason = data.reason.strip()
    if not reason:
        raise ValidationFailed({"reason": _("Say why, in words the reporter will read.")})
    async with db.transaction():
        return await _claim(
            actor, report_id, data.version, ReportStatus.REJECTED, now, public_reason=reason
        )


async def mark_not_ours(
    actor: Actor, report_id: int, data: AnswerIn, now: dt.datetime
) -> ServiceRequest:
    """Close the report as someone else's responsibility (the reason may say whose)."""
    require(actor, Perm.REPORTS_TRIAGE)
    async with db.transaction():
        return await _claim(
            actor,
            report_id,
            data.version,
            ReportStatus.NOT_OURS,
            now,
            public_reason=data.reason.strip(),
        )


async def reports_for_ticket(actor: Actor, ticket_id: int) -> list[dict[str, Any]]:
    """The citizen reports a ticket answers (for the ticket page: "from report No. ...")."""
    require(actor, Perm.TICKETS_VIEW)
    if not _valid_id(ticket_id):
        return []
    return await (
        ServiceRequest.select(
            ServiceRequest.id,
            ServiceRequest.status,
            ServiceRequest.category,
            ServiceRequest.requested_at,
            ServiceRequest.follow_up_of,
        )
        .where(ServiceRequest.ticket == ticket_id)
        .order_by(ServiceRequest.requested_at)
    )


async def get_photo(actor: Actor, photo_id: int) -> ReportPhoto:
    """A report photo (staff only; citizens' photos are never public by URL)."""
    require(actor, Perm.REPORTS_TRIAGE)
    row = None
    if _valid_id(photo_id):
        row = await ReportPhoto.objects().where(ReportPhoto.id == photo_id).first()
    if row is None:
        raise NotFound(_("No such file."))
    return row


# --- Open311 client keys -------------------------------------------------------------------


async def list_keys(actor: Actor) -> list[dict[str, Any]]:
    require(actor, Perm.OPEN311_KEYS)
    return await Open311Key.select(
        Open311Key.id,
        Open311Key.name,
        Open311Key.contact,
        Open311Key.prefix,
        Open311Key.created_at,
        Open311Key.last_used_at,
        Open311Key.revoked_at,
    ).order_by(Open311Key.created_at, ascending=False)


async def create_key(actor: Actor, data: KeyCreate, now: dt.datetime) -> str:
    """Issue a key for one client application; the clear key is returned once, never stored."""
    require(actor, Perm.OPEN311_KEYS)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    async with db.transaction():
        row = Open311Key(
            name=data.name.strip(),
            contact=data.contact.strip(),
            key_hash=accounts.digest(key),
            prefix=key[:12],
            created_at=now,
            created_by=actor.id,
        )
        await row.save()
        await audit.record(
            actor,
            "open311_key.created",
            "open311_key",
            row.id,
            now,
            after={"name": row.name, "prefix": row.prefix},
        )
    return key


async def revoke_key(actor: Actor, key_id: int, now: dt.datetime) -> None:
    require(actor, Perm.OPEN311_KEYS)
    async with db.transaction():
        revoked = []
        if _valid_id(key_id):
            revoked = (
                await Open311Key.update({Open311Key.revoked_at: now})
                .where((Open311Key.id == key_id) & Open311Key.revoked_at.is_null())
                .returning(Open311Key.id)
            )
        if not revoked:
            raise NotFound(_("No such key, or it is already revoked."))
        await audit.record(actor, "open311_key.revoked", "open311_key", key_id, now)


async def client_for_key(key: str, now: dt.datetime) -> Open311Key | None:
    """The client application of a valid, unrevoked key (its last use noted now and then)."""
    if not key or len(key) > 200:
        return None
    row = (
        await Open311Key.objects()
        .where((Open311Key.key_hash == accounts.digest(key)) & Open311Key.revoked_at.is_null())
        .first()
    )
    if row is not None and (row.last_used_at is None or now - row.last_used_at > TOUCH_INTERVAL):
        await Open311Key.update({Open311Key.last_used_at: now}).where(Open311Key.id == row.id)
    return row


async def report_id_for_token(token: str) -> int | None:
    report = await _by_token(token)
    return report.id if report else None


# --- servicerequestupdates (mySociety's extension) -----------------------------------------


@dataclasses.dataclass(frozen=True)
class RequestUpdate:
    update_id: str
    service_request_id: int
    status: Stage
    updated_at: dt.datetime
    description: str


REPORT_EVENT_STAGES = {
    "report.ticketed": Stage.INVESTIGATING,
    "report.merged": Stage.INVESTIGATING,
    "report.rejected": Stage.NO_FURTHER_ACTION,
    "report.not_ours": Stage.NOT_OURS,
}
TICKET_ACTIONS = (
    "ticket.triage",
    "ticket.schedule",
    "ticket.start",
    "ticket.complete",
    "ticket.accept",
    "ticket.rework",
    "ticket.close",
    "ticket.hold",
    "ticket.resume",
    "ticket.reject",
    "ticket.mark_duplicate",
    "ticket.cancel",
)


async def request_updates(
    start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime, limit: int = LIST_LIMIT
) -> list[RequestUpdate]:
    """Every public change of any report within [start, end], oldest first: triage decisions,
    the progress of their tickets, the reopening of the facility closed under them. Read from
    the audit trail, so nothing is stored twice."""
    end = end or now
    start = start or end - MAX_RANGE
    if end < start:
        raise ValidationFailed({"end_date": _("end_date is before start_date.")})
    if end - start > MAX_RANGE:
        raise ValidationFailed(
            {"end_date": _("start_date and end_date may be at most 90 days apart.")}
        )
    window = (AuditEvent.at >= start) & (AuditEvent.at <= end)
    updates: list[RequestUpdate] = []
    report_events = (
        await AuditEvent.select()
        .where(
            window
            & (AuditEvent.entity_type == "service_request")
            & AuditEvent.action.is_in(sorted(REPORT_EVENT_STAGES))
        )
        .order_by(AuditEvent.at)
        .limit(limit)
    )
    for event in report_events:
        changes = _json(event["changes"]) or {}
        stage = REPORT_EVENT_STAGES[event["action"]]
        reason = (changes.get("public_reason") or [None, ""])[1] or ""
        if stage == Stage.INVESTIGATING:
            text = _("A repair ticket deals with this report.")
        elif stage == Stage.NOT_OURS:
            base = _("This is not the responsibility of the construction bureau.")
            text = f"{base} {reason}" if reason else base
        else:
            text = reason or _("This report was not accepted.")
        updates.append(
            RequestUpdate(f"r{event['id']}", event["entity_id"], stage, event["at"], text)
        )
    ticket_events = (
        await AuditEvent.select()
        .where(
            window
            & (AuditEvent.entity_type == "ticket")
            & AuditEvent.action.is_in(list(TICKET_ACTIONS))
        )
        .order_by(AuditEvent.at)
        .limit(limit * 2)
    )
    if ticket_events:
        linked = await ServiceRequest.select(
            ServiceRequest.id, ServiceRequest.ticket, ServiceRequest.triaged_at
        ).where(
            ServiceRequest.ticket.is_in(sorted({e["entity_id"] for e in ticket_events}))
            & ServiceRequest.status.is_in([ReportStatus.TICKETED, ReportStatus.MERGED])
        )
        by_ticket: dict[int, list[dict[str, Any]]] = {}
        for row in linked:
            by_ticket.setdefault(row["ticket"], []).append(row)
        for event in ticket_events:
            changes = _json(event["changes"]) or {}
            status = (changes.get("status") or [None, None])[1]
            if status is None:
                continue
            stage = TICKET_STAGES.get(status, Stage.INVESTIGATING)
            reason = (changes.get("closing_reason") or [None, None])[1]
            text = stage.label
            if status == TicketStatus.CLOSED:
                if reason in FIXED_REASONS:
                    stage = Stage.FIXED
                text = (
                    ClosingReason(reason).label if is_value(ClosingReason, reason) else _("Closed")
                )
            for row in by_ticket.get(event["entity_id"], []):
                if row["triaged_at"] and event["at"] < row["triaged_at"]:
                    continue
                updates.append(
                    RequestUpdate(
                        f"t{event['id']}-{row['id']}", row["id"], stage, event["at"], text
                    )
                )
    lifted = (
        await AuditEvent.select()
        .where(
            window
            & (AuditEvent.entity_type == "closure")
            & AuditEvent.action.is_in(
                ["closure.lifted", "closure.lifted_override", "closure.cancelled"]
            )
        )
        .order_by(AuditEvent.at)
        .limit(limit)
    )
    if lifted:
        covered = await ServiceRequest.select(ServiceRequest.id, ServiceRequest.closure).where(
            ServiceRequest.closure.is_in(sorted({e["entity_id"] for e in lifted}))
            & (ServiceRequest.status == ReportStatus.COVERED)
        )
        for event in lifted:
            for row in covered:
                if row["closure"] != event["entity_id"]:
                    continue
                text = (
                    _("The closure of this facility was cancelled.")
                    if event["action"] == "closure.cancelled"
                    else _("The repair is finished; the facility reopens as announced.")
                )
                updates.append(
                    RequestUpdate(
                        f"c{event['id']}-{row['id']}", row["id"], Stage.CLOSED, event["at"], text
                    )
                )
    updates.sort(key=lambda u: (u.updated_at, u.update_id))
    return updates[:limit]


# --- public accountability -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Numbers:
    """Public figures for one facility or one site."""

    reports: int
    fix_days: tuple[float, ...]
    closures_promised: int
    closures_on_time: int

    @property
    def fixed(self) -> int:
        return len(self.fix_days)

    @property
    def median_days_to_fix(self) -> float | None:
        return round(statistics.median(self.fix_days), 1) if self.fix_days else None

    @property
    def on_time_rate(self) -> float | None:
        if not self.closures_promised:
            return None
        return round(self.closures_on_time / self.closures_promised, 3)

    def __add__(self, other: Numbers) -> Numbers:
        return Numbers(
            self.reports + other.reports,
            self.fix_days + other.fix_days,
            self.closures_promised + other.closures_promised,
            self.closures_on_time + other.closures_on_time,
        )


EMPTY = Numbers(0, (), 0, 0)


@dataclasses.dataclass(frozen=True)
class FacilityNumbers:
    id: int
    name_zh: str
    name_en: str
    asset_type: str
    numbers: Numbers


@dataclasses.dataclass(frozen=True)
class SiteNumbers:
    id: int
    name_zh: str
    name_en: str
    facilities: list[FacilityNumbers]

    @property
    def numbers(self) -> Numbers:
        total = EMPTY
        for facility in self.facilities:
            total = total + facility.numbers
        return total


@dataclasses.dataclass(frozen=True)
class Accountability:
    sites: list[SiteNumbers]

    @property
    def numbers(self) -> Numbers:
        total = EMPTY
        for site in self.sites:
            total = total + site.numbers
        return total

    def facility(self, asset_id: int) -> Numbers:
        for site in self.sites:
            for facility in site.facilities:
                if facility.id == asset_id:
                    return facility.numbers
        return EMPTY


def on_time(reopens_at: dt.datetime, promised_on: dt.date, zone: ZoneInfo) -> bool:
    """A reopening keeps its first promise when it happens on or before the promised day
    (the day read in the bureau's zone)."""
    return reopens_at.astimezone(zone).date() <= promised_on


async def accountability(
    now: dt.datetime, zone: ZoneInfo, *, asset_id: int | None = None
) -> Accountability:
    """Per site and facility: reports received, median days from report to repair (reports
    whose ticket was closed as repaired or replaced), and how many lifted closures reopened on
    or before the date first promised (ClosurePromise's oldest row)."""
    asset_query = Asset.select(
        Asset.id, Asset.name_zh, Asset.name_en, Asset.asset_type, Asset.site
    ).where(IN_CARE)
    if asset_id is not None:
        asset_query = asset_query.where(Asset.id == asset_id)
    asset_rows = await asset_query.order_by(Asset.name_zh)
    ids = [a["id"] for a in asset_rows] or [0]
    counts = {
        r["asset"]: int(r["count"])
        for r in await ServiceRequest.select(ServiceRequest.asset, Count())
        .where(ServiceRequest.asset.is_in(ids) & (ServiceRequest.requested_at <= now))
        .group_by(ServiceRequest.asset)
    }
    fixes: dict[int, list[float]] = {}
    fixed_rows = await ServiceRequest.select(
        ServiceRequest.asset,
        ServiceRequest.requested_at,
        ServiceRequest.ticket.status.as_alias("ticket_status"),
        ServiceRequest.ticket.closing_reason.as_alias("closing_reason"),
        ServiceRequest.ticket.closed_at.as_alias("closed_at"),
    ).where(
        ServiceRequest.asset.is_in(ids)
        & ServiceRequest.status.is_in([ReportStatus.TICKETED, ReportStatus.MERGED])
        & (ServiceRequest.ticket.status == TicketStatus.CLOSED)
        & ServiceRequest.ticket.closing_reason.is_in(sorted(FIXED_REASONS))
    )
    for r in fixed_rows:
        if r["closed_at"] is None or r["closed_at"] > now:
            continue
        days = max(0.0, (r["closed_at"] - r["requested_at"]).total_seconds() / 86400)
        fixes.setdefault(r["asset"], []).append(days)
    lifted = await Closure.select(Closure.id, Closure.asset, Closure.reopens_at).where(
        Closure.asset.is_in(ids)
        & (Closure.status == ClosureStatus.LIFTED)
        & Closure.reopens_at.is_not_null()
        & (Closure.reopens_at <= now)
    )
    first_promise: dict[int, dt.date | None] = {}
    if lifted:
        for p in (
            await ClosurePromise.select(ClosurePromise.closure, ClosurePromise.planned_reopen_on)
            .where(ClosurePromise.closure.is_in([c["id"] for c in lifted]))
            .order_by(ClosurePromise.made_at)
            .order_by(ClosurePromise.id)
        ):
            first_promise.setdefault(p["closure"], p["planned_reopen_on"])
    promised: dict[int, int] = {}
    kept: dict[int, int] = {}
    for c in lifted:
        day = first_promise.get(c["id"])
        if day is None:
            continue  # no date was promised: nothing to keep
        promised[c["asset"]] = promised.get(c["asset"], 0) + 1
        if on_time(c["reopens_at"], day, zone):
            kept[c["asset"]] = kept.get(c["asset"], 0) + 1
    sites = {
        s["id"]: s
        for s in await Site.select(Site.id, Site.name_zh, Site.name_en).where(
            Site.id.is_in(sorted({a["site"] for a in asset_rows}) or [0])
        )
    }
    by_site: dict[int, list[FacilityNumbers]] = {}
    for a in asset_rows:
        by_site.setdefault(a["site"], []).append(
            FacilityNumbers(
                id=a["id"],
                name_zh=a["name_zh"],
                name_en=a["name_en"],
                asset_type=a["asset_type"],
                numbers=Numbers(
                    counts.get(a["id"], 0),
                    tuple(sorted(fixes.get(a["id"], []))),
                    promised.get(a["id"], 0),
                    kept.get(a["id"], 0),
                ),
            )
        )
    return Accountability(
        sites=sorted(
            (
                SiteNumbers(s["id"], s["name_zh"], s["name_en"], by_site[s["id"]])
                for s in sites.values()
            ),
            key=lambda s: s.name_zh,
        )
    )


async def staff_names(ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    rows = await StaffUser.select(StaffUser.id, StaffUser.display_name).where(
        StaffUser.id.is_in(wanted)
    )
    return {r["id"]: r["display_name"] for r in rows}
