"""Report services: receiving a report (photos cleaned, closure-aware), the public status that
follows the ticket, duplicate suggestions, the "still broken?" loop, location matching, the
servicerequestupdates feed, the public numbers and the Open311 keys. Triage (convert, merge,
reject, not ours) is test_reports_triage.py.

The helpers shared with the other report and Open311 test files (``make_report``,
``make_full_closure``, ``repair``...) are tests/kit/reports.py.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from PIL import Image

from facilities.accounts.permissions import SYSTEM
from facilities.assets.choices import AssetType
from facilities.audit.tables import AuditEvent
from facilities.closures import services as closures
from facilities.closures.schemas import ExtendIn, LiftIn
from facilities.closures.tables import Closure
from facilities.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from facilities.i18n import use_locale
from facilities.reports import services as reports
from facilities.reports.choices import (
    TICKET_STAGES,
    Category,
    PublicStatus,
    ReportStatus,
    Stage,
    categories_for,
)
from facilities.reports.schemas import AnswerIn, ConvertIn, ReportIn, StillBrokenIn
from facilities.reports.tables import ReportPhoto, ServiceRequest
from facilities.tickets import services as tickets
from facilities.tickets.choices import ClosingReason, Status
from facilities.tickets.tables import RepairTicket
from tests.kit.assets import make_asset, make_site
from tests.kit.constants import ZONE
from tests.kit.media import REFUSED, files_under, jpeg, jpeg_with_metadata
from tests.kit.reports import (
    BOARDWALK,
    NEAR_BOARDWALK,
    make_boardwalk,
    make_full_closure,
    make_report,
    repair,
    report_row,
)
from tests.kit.tickets import drive_to, make_ticket, transition_data


async def lift(closure: Closure, reopens_at: dt.datetime) -> Closure:
    """Lift with an administrator's override (the gate needs inspections these tests skip)."""
    fresh = await closures.find_closure(closure.id)
    assert fresh is not None
    return await closures.lift(
        SYSTEM,
        closure.id,
        LiftIn(version=fresh.version, reopens_at=reopens_at, override_reason="测试 / test"),
        reopens_at,
    )


# --- receiving a report --------------------------------------------------------------------


async def test_a_report_is_received_new_with_its_photo_cleaned(app, media_root):
    submitted = await make_report(media_root=media_root, photos=(jpeg_with_metadata((640, 480)),))

    report = await report_row(submitted.report.id)
    assert report.status == ReportStatus.NEW
    assert report.category == Category.DECK_DAMAGE
    assert report.contact_email == "citizen@example.org"
    assert report.token_hash == reports.accounts.digest(submitted.token)
    assert submitted.token not in json.dumps(await ServiceRequest.select(), default=str)
    (photo,) = await ReportPhoto.objects().where(ReportPhoto.report == report.id)
    assert photo.content_type == "image/jpeg"
    raw = (media_root / photo.storage_key).read_bytes()
    assert b"Exif" not in raw and b"PhoneMaker" not in raw and b"26.8842N" not in raw
    with Image.open(media_root / photo.storage_key) as image:
        assert not image.getexif()
        assert image.size == (640, 480)
    assert submitted.closure is None
    event = await AuditEvent.objects().where(AuditEvent.action == "report.created").first()
    assert event.entity_id == report.id
    assert "citizen@example.org" not in json.dumps(event.changes, default=str)


@pytest.mark.parametrize("name", ["html", "svg", "text", "truncated_jpeg"])
async def test_a_file_that_is_not_a_photo_is_refused_and_nothing_is_kept(app, media_root, name):
    with pytest.raises(ValidationFailed) as refused:
        await make_report(media_root=media_root, photos=(jpeg(), REFUSED[name]))
    assert set(refused.value.errors) == {"photos"}
    assert await ServiceRequest.count() == 0
    assert await ReportPhoto.count() == 0
    assert files_under(media_root) == []


async def test_a_pdf_is_not_a_photo(app, media_root):
    with pytest.raises(ValidationFailed):
        await make_report(media_root=media_root, photos=(b"%PDF-1.4\n%%EOF\n",))
    assert files_under(media_root) == []


async def test_at_most_three_photos_each_within_the_size_limit(app, media_root):
    with use_locale("en"), pytest.raises(ValidationFailed, match="at most 3"):
        await make_report(media_root=media_root, photos=(jpeg(),) * 4)
    with use_locale("en"), pytest.raises(ValidationFailed, match="larger than"):
        await make_report(media_root=media_root, photos=(jpeg() + b"\0" * 2_000_000,))
    assert files_under(media_root) == []
    await make_report(media_root=media_root, photos=(jpeg(),) * 3)
    assert await ReportPhoto.count() == 3


async def test_the_category_must_fit_the_facility(app, media_root):
    playground = await make_asset(asset_type=AssetType.PLAYGROUND)
    assert Category.DECK_DAMAGE not in categories_for(AssetType.PLAYGROUND)
    assert Category.CABLES in categories_for(AssetType.SUSPENSION_FOOTBRIDGE)
    assert Category.CABLES not in categories_for(AssetType.BOARDWALK)
    with pytest.raises(ValidationFailed) as refused:
        await make_report(playground, media_root=media_root)
    assert set(refused.value.errors) == {"category"}
    await make_report(playground, media_root=media_root, category=Category.PLAY_EQUIPMENT)


async def test_attributes_are_checked_against_the_service_definition(app, media_root):
    with pytest.raises(ValidationFailed) as refused:
        await make_report(media_root=media_root, attributes={"defect": "exploded", "colour": "red"})
    assert set(refused.value.errors) == {"attribute[defect]", "attribute[colour]"}
    submitted = await make_report(media_root=media_root, attributes={"defect": "loose"})
    assert json.loads((await report_row(submitted.report.id)).attributes) == {"defect": "loose"}


async def test_a_decommissioned_facility_cannot_be_reported(app, media_root):
    gone = await make_boardwalk(lifecycle="decommissioned")
    with pytest.raises(ValidationFailed) as refused:
        await make_report(gone, media_root=media_root)
    assert set(refused.value.errors) == {"asset_id"}


# --- closure-aware -------------------------------------------------------------------------


async def test_a_report_on_a_closed_facility_is_answered_by_the_closure_without_a_ticket(
    app, personas, media_root, now
):
    bridge = await make_boardwalk()
    closure = await make_full_closure(bridge, now)
    assert closure.status == "active"

    submitted = await make_report(bridge, media_root=media_root)

    report = await report_row(submitted.report.id)
    assert (report.status, report.closure, report.ticket) == (
        ReportStatus.COVERED,
        closure.id,
        None,
    )
    assert submitted.closure is not None and submitted.closure.id == closure.id
    assert await RepairTicket.count() == 0
    shown = await reports.public_report(report.id, now)
    assert (shown.stage, shown.status) == (Stage.CLOSURE, PublicStatus.OPEN)
    queue = await reports.triage_queue(personas["alice"], now)
    assert [r.report.id for r in queue.covered] == [report.id]
    assert queue.new == []
    # Once the closure is lifted and the facility reopened, the report is closed.
    await lift(closure, now + dt.timedelta(days=30))
    later = await reports.public_report(report.id, now + dt.timedelta(days=31))
    assert (later.stage, later.status) == (Stage.CLOSED, PublicStatus.CLOSED)


async def test_a_planned_closure_not_yet_in_force_does_not_answer(app, media_root, now):
    bridge = await make_boardwalk()
    await make_full_closure(bridge, now, starts=dt.timedelta(days=5))
    submitted = await make_report(bridge, media_root=media_root)
    assert (await report_row(submitted.report.id)).status == ReportStatus.NEW


async def test_staff_may_still_turn_a_covered_report_into_a_ticket(app, personas, media_root, now):
    bridge = await make_boardwalk()
    await make_full_closure(bridge, now)
    submitted = await make_report(bridge, media_root=media_root, category=Category.LITTER)
    ticket = await reports.convert_to_ticket(
        personas["alice"],
        submitted.report.id,
        ConvertIn(version=1),
        now,
        media_root=media_root,
        max_upload_bytes=2_000_000,
    )
    assert (await report_row(submitted.report.id)).ticket == ticket.id


# --- the public status follows the ticket ---------------------------------------------------

EXPECTED_STAGES = {
    Status.NEW: (Stage.INVESTIGATING, PublicStatus.OPEN),
    Status.TRIAGED: (Stage.INVESTIGATING, PublicStatus.OPEN),
    Status.SCHEDULED: (Stage.ACTION_SCHEDULED, PublicStatus.OPEN),
    Status.IN_PROGRESS: (Stage.IN_PROGRESS, PublicStatus.OPEN),
    Status.WORK_COMPLETE: (Stage.IN_PROGRESS, PublicStatus.OPEN),
    Status.ACCEPTED: (Stage.IN_PROGRESS, PublicStatus.OPEN),
    Status.ON_HOLD: (Stage.ACTION_SCHEDULED, PublicStatus.OPEN),
    Status.CLOSED: (Stage.CLOSED, PublicStatus.CLOSED),
    Status.REJECTED: (Stage.NO_FURTHER_ACTION, PublicStatus.CLOSED),
    Status.CANCELLED: (Stage.NO_FURTHER_ACTION, PublicStatus.CLOSED),
}


def test_every_ticket_status_has_a_public_stage():
    assert set(TICKET_STAGES) == {s.value for s in Status}


@pytest.mark.parametrize("status", sorted(EXPECTED_STAGES))
async def test_the_public_status_follows_the_ticket(app, personas, media_root, now, status):
    submitted = await make_report(media_root=media_root)
    ticket = await reports.convert_to_ticket(
        personas["alice"],
        submitted.report.id,
        ConvertIn(version=1),
        now,
        media_root=media_root,
        max_upload_bytes=2_000_000,
    )
    if status != Status.NEW:
        await drive_to(ticket.id, status, personas["alice"], now)
    shown = await reports.public_report(submitted.report.id, now)
    assert (shown.stage, shown.status) == EXPECTED_STAGES[status]
    if status == Status.CLOSED:  # the shortest way there: closed as no action needed
        assert shown.status_notes == ClosingReason.NO_ACTION_NEEDED.label


async def test_a_ticket_closed_as_repaired_makes_the_report_fixed(app, personas, media_root, now):
    submitted = await make_report(media_root=media_root)
    ticket = await reports.convert_to_ticket(
        personas["alice"],
        submitted.report.id,
        ConvertIn(version=1),
        now,
        media_root=media_root,
        max_upload_bytes=2_000_000,
    )
    await repair(ticket.id, personas["alice"], now)
    shown = await reports.public_report(submitted.report.id, now)
    assert (shown.stage, shown.status) == (Stage.FIXED, PublicStatus.CLOSED)
    assert shown.status_notes == ClosingReason.REPAIRED.label


async def test_a_ticket_marked_duplicate_is_followed_to_its_original(
    app, personas, media_root, now
):
    asset = await make_boardwalk()
    original = await make_ticket(personas["alice"], asset=asset, title="原始")
    submitted = await make_report(asset, media_root=media_root)
    ticket = await reports.convert_to_ticket(
        personas["alice"],
        submitted.report.id,
        ConvertIn(version=1),
        now,
        media_root=media_root,
        max_upload_bytes=2_000_000,
    )
    await tickets.transition(
        personas["alice"],
        ticket.id,
        transition_data(tickets.Action.MARK_DUPLICATE, ticket, original.id),
        now,
    )
    await drive_to(original.id, Status.IN_PROGRESS, personas["alice"], now)
    shown = await reports.public_report(submitted.report.id, now)
    assert (shown.stage, shown.status) == (Stage.IN_PROGRESS, PublicStatus.OPEN)


# --- duplicates ----------------------------------------------------------------------------


async def test_duplicates_are_suggested_same_facility_same_category_open_and_near_in_time(
    app, personas, media_root, now
):
    asset = await make_boardwalk()
    other_asset = await make_boardwalk(name_zh="另一条栈道")
    first = await make_report(asset, media_root=media_root, now=now - dt.timedelta(days=3))
    second = await make_report(asset, media_root=media_root, now=now)
    # not suggested: another category, another facility, too long ago, or closed
    await make_report(asset, media_root=media_root, category=Category.LITTER, now=now)
    await make_report(other_asset, media_root=media_root, now=now)
    await make_report(asset, media_root=media_root, now=now - dt.timedelta(days=20))
    rejected = await make_report(asset, media_root=media_root, now=now - dt.timedelta(days=1))
    await reports.reject_report(
        personas["alice"], rejected.report.id, AnswerIn(version=1, reason="重复"), now
    )
    # a report already on an open ticket is suggested, with its ticket
    ticketed = await make_report(asset, media_root=media_root, now=now - dt.timedelta(days=2))
    ticket = await reports.convert_to_ticket(
        personas["alice"],
        ticketed.report.id,
        ConvertIn(version=1),
        now,
        media_root=media_root,
        max_upload_bytes=2_000_000,
    )

    queue = await reports.triage_queue(personas["bob"], now)
    rows = {r.report.id: r for r in queue.new}
    suggested = rows[second.report.id].suggestions
    assert [(s.report_id, s.ticket_id) for s in suggested] == [
        (first.report.id, None),
        (ticketed.report.id, ticket.id),
    ]
    assert [s.report_id for s in rows[first.report.id].suggestions] == [
        ticketed.report.id,
        second.report.id,
    ]
    detail = await reports.get_report(personas["bob"], second.report.id, now)
    assert [t["id"] for t in detail.merge_targets] == [ticket.id]
    # once the ticket is finished, that report stops being a candidate
    await drive_to(ticket.id, Status.CLOSED, personas["alice"], now)
    queue = await reports.triage_queue(personas["bob"], now)
    rows = {r.report.id: r for r in queue.new}
    assert [s.report_id for s in rows[second.report.id].suggestions] == [first.report.id]


# --- still broken? -------------------------------------------------------------------------


async def test_still_broken_reopens_triage_with_a_linked_follow_up(app, personas, media_root, now):
    alice = personas["alice"]
    submitted = await make_report(media_root=media_root, photos=(jpeg(),))
    files = {"media_root": media_root, "max_upload_bytes": 2_000_000}
    view = await reports.tracking(submitted.token, now)
    assert not view.can_say_still_broken
    with pytest.raises(InvalidTransition):
        await reports.still_broken(submitted.token, StillBrokenIn(), now, **files)

    ticket = await reports.convert_to_ticket(
        alice, submitted.report.id, ConvertIn(version=1), now, **files
    )
    assert not (await reports.tracking(submitted.token, now)).can_say_still_broken
    repaired_at = now + dt.timedelta(days=5)
    await repair(ticket.id, alice, repaired_at)
    view = await reports.tracking(submitted.token, repaired_at)
    assert view.report.stage == Stage.FIXED
    assert view.can_say_still_broken

    later = repaired_at + dt.timedelta(days=2)
    follow = await reports.still_broken(
        submitted.token, StillBrokenIn(description="还是松的 / still loose"), later, **files
    )

    new = await report_row(follow.report.id)
    original = await report_row(submitted.report.id)
    assert new.follow_up_of == original.id
    assert (new.status, new.asset, new.category, new.contact_email) == (
        ReportStatus.NEW,
        original.asset,
        original.category,
        original.contact_email,
    )
    assert new.description == "还是松的 / still loose"
    assert follow.token != submitted.token
    queue = await reports.triage_queue(alice, later)
    assert [r.report.id for r in queue.new] == [new.id]
    view = await reports.tracking(submitted.token, later)
    assert [f.id for f in view.follow_ups] == [new.id]
    assert not view.can_say_still_broken  # once per repair
    with pytest.raises(InvalidTransition):
        await reports.still_broken(submitted.token, StillBrokenIn(), later, **files)
    # the follow-up becomes a new ticket that says where it comes from
    second = await reports.convert_to_ticket(alice, new.id, ConvertIn(version=1), later, **files)
    assert (
        f"report No. {original.id}" in second.description or str(original.id) in second.description
    )
    assert second.id != ticket.id


async def test_an_unknown_tracking_token_is_not_found(app, now):
    with pytest.raises(NotFound):
        await reports.tracking("not-a-token", now)


# --- location matching ---------------------------------------------------------------------


async def test_a_location_matches_the_nearest_facility_within_the_radius(app):
    boardwalk = await make_boardwalk()
    pavilion = await make_asset(
        asset_type=AssetType.PAVILION, lat=BOARDWALK[0] + 0.0009, lng=BOARDWALK[1]
    )  # 100 m north
    await make_boardwalk(lat=None, lng=None)  # no coordinates: never matched by location
    assert reports.MATCH_RADIUS_M == 150

    assert (await reports.match_location(*NEAR_BOARDWALK)).id == boardwalk.id
    north = await reports.match_location(BOARDWALK[0] + 0.0008, BOARDWALK[1])
    assert north.id == pavilion.id
    assert await reports.match_location(BOARDWALK[0] + 0.003, BOARDWALK[1]) is None  # ~330 m
    nearby = await reports.nearby_facilities(*NEAR_BOARDWALK)
    assert [f.id for f in nearby] == [boardwalk.id, pavilion.id]
    assert 30 < nearby[0].distance_m < 50


async def test_an_address_names_one_facility_or_none(app):
    site = await make_site("平湖公园")
    bridge = await make_asset(
        site, code="GX-QL-PH-001", name_zh="平湖公园景观悬索桥", name_en="Pinghu Bridge"
    )
    await make_asset(
        site, code="GX-ZD-PH-001", name_zh="平湖公园环湖木栈道", name_en="Lakeside Boardwalk"
    )
    assert (await reports.match_address(address_id="gx-ql-ph-001")).id == bridge.id
    assert (await reports.match_address("平湖公园景观悬索桥东端")).id == bridge.id
    assert (await reports.match_address("near the Pinghu Bridge, east end")).id == bridge.id
    assert await reports.match_address("平湖公园") is None  # names the park, not one facility
    assert await reports.match_address("somewhere else") is None


# --- servicerequestupdates -----------------------------------------------------------------


async def test_updates_are_read_from_triage_and_ticket_progress(app, personas, media_root, now):
    alice = personas["alice"]
    converted = await make_report(media_root=media_root)
    rejected = await make_report(media_root=media_root)
    files = {"media_root": media_root, "max_upload_bytes": 2_000_000}
    step = now + dt.timedelta(hours=1)
    ticket = await reports.convert_to_ticket(
        alice, converted.report.id, ConvertIn(version=1), step, **files
    )
    await reports.reject_report(
        alice, rejected.report.id, AnswerIn(version=1, reason="不清楚 / unclear"), step
    )
    await repair(ticket.id, alice, step + dt.timedelta(days=1))

    updates = await reports.request_updates(
        now, now + dt.timedelta(days=3), now + dt.timedelta(days=3)
    )

    by_report: dict[int, list[Stage]] = {}
    for update in updates:
        by_report.setdefault(update.service_request_id, []).append(update.status)
    assert by_report[rejected.report.id] == [Stage.NO_FURTHER_ACTION]
    assert by_report[converted.report.id][0] == Stage.INVESTIGATING
    assert by_report[converted.report.id][-1] == Stage.FIXED
    assert Stage.IN_PROGRESS in by_report[converted.report.id]
    assert len({u.update_id for u in updates}) == len(updates)
    assert updates == sorted(updates, key=lambda u: (u.updated_at, u.update_id))
    narrow = await reports.request_updates(now, step - dt.timedelta(minutes=1), now)
    assert narrow == []
    with pytest.raises(ValidationFailed):
        await reports.request_updates(now, now + dt.timedelta(days=91), now)


# --- public accountability -----------------------------------------------------------------


async def test_the_public_numbers(app, personas, media_root, now):
    alice = personas["alice"]
    site = await make_site("平湖公园")
    boardwalk = await make_boardwalk(site=site)
    pavilion = await make_asset(site, asset_type=AssetType.PAVILION)
    files = {"media_root": media_root, "max_upload_bytes": 2_000_000}
    # three reports on the boardwalk: fixed after 2 and 6 days, one still new
    for days in (2, 6):
        submitted = await make_report(boardwalk, media_root=media_root, now=now)
        ticket = await reports.convert_to_ticket(
            alice, submitted.report.id, ConvertIn(version=1), now, **files
        )
        await repair(ticket.id, alice, now + dt.timedelta(days=days))
    await make_report(boardwalk, media_root=media_root, now=now)
    # the pavilion: closed twice; one reopening kept its first promise, one did not (even though
    # the promise was extended: the first promise is what counts)
    kept = await make_full_closure(
        pavilion, now - dt.timedelta(days=60), reopen_on=dt.date(2026, 10, 20)
    )
    await lift(
        kept, dt.datetime(2026, 10, 20, 15, 0, tzinfo=dt.UTC)
    )  # 23:00 in Shanghai: on the day
    late = await make_full_closure(
        pavilion, now - dt.timedelta(days=30), reopen_on=dt.date(2026, 11, 10)
    )
    fresh = await closures.find_closure(late.id)
    await closures.extend(
        SYSTEM,
        late.id,
        ExtendIn(version=fresh.version, planned_reopen_on=dt.date(2026, 11, 30), reason_zh="延期"),
        now - dt.timedelta(days=25),
    )
    await lift(late, dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC))
    clock = now + dt.timedelta(days=10)

    stats = await reports.accountability(clock, ZONE)

    (park,) = [s for s in stats.sites if s.id == site.id]
    walk = stats.facility(boardwalk.id)
    assert (walk.reports, walk.fixed, walk.median_days_to_fix) == (3, 2, 4.0)
    assert walk.on_time_rate is None
    pav = stats.facility(pavilion.id)
    assert (pav.reports, pav.closures_promised, pav.closures_on_time, pav.on_time_rate) == (
        0,
        2,
        1,
        0.5,
    )
    assert (park.numbers.reports, park.numbers.median_days_to_fix, park.numbers.on_time_rate) == (
        3,
        4.0,
        0.5,
    )
    # nothing counts before it happened
    early = await reports.accountability(dt.datetime(2026, 10, 1, tzinfo=dt.UTC), ZONE)
    assert early.facility(boardwalk.id).reports == 0
    assert early.facility(pavilion.id).closures_promised == 0


def test_on_time_is_judged_on_the_local_day():
    promised = dt.date(2026, 5, 1)
    assert reports.on_time(dt.datetime(2026, 5, 1, 15, 59, tzinfo=dt.UTC), promised, ZONE)
    assert not reports.on_time(dt.datetime(2026, 5, 1, 16, 0, tzinfo=dt.UTC), promised, ZONE)


# --- Open311 keys --------------------------------------------------------------------------


async def test_keys_are_stored_hashed_and_can_be_revoked(app, personas, now):
    from facilities.reports.schemas import KeyCreate
    from facilities.reports.tables import Open311Key

    admin = personas["admin"]
    key = await reports.create_key(admin, KeyCreate(name="随手拍 app"), now)
    assert key.startswith(reports.KEY_PREFIX)
    (row,) = await Open311Key.select()
    assert row["key_hash"] == reports.accounts.digest(key)
    assert key not in json.dumps(row, default=str)
    client = await reports.client_for_key(key, now)
    assert client is not None and client.name == "随手拍 app"
    with pytest.raises(PermissionDenied):
        await reports.create_key(personas["alice"], KeyCreate(name="x"), now)
    await reports.revoke_key(admin, row["id"], now)
    assert await reports.client_for_key(key, now) is None
    with pytest.raises(NotFound):
        await reports.revoke_key(admin, row["id"], now)


async def test_every_reports_table_takes_a_row(app, personas, media_root, now):
    """What tests/test_migrations.py::test_every_table_takes_a_row needs for this app's tables
    (the same calls, to paste there)."""
    from facilities import db
    from facilities.reports.schemas import KeyCreate
    from facilities.reports.tables import Open311Key

    asset = await make_asset()
    await reports.create_key(personas["admin"], KeyCreate(name="ci"), now)
    await reports.submit_report(
        ReportIn(asset_id=asset.id, category=Category.OTHER, description="row"),
        [reports.Upload("row.jpg", jpeg())],
        now,
        media_root=media_root,
        max_upload_bytes=1_000_000,
    )
    mine = [t for t in db.all_tables() if t in (Open311Key, ServiceRequest, ReportPhoto)]
    assert len(mine) == 3
    assert [t._meta.tablename for t in mine if await t.count() == 0] == []
