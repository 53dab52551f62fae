"""Typed dates within a sane horizon: a promised reopening, a closure's start and end, a
ticket's planned dates and a schedule's start and end (its rule's UNTIL) are refused more than
FACILITIES_DATE_HORIZON_YEARS (5) years after today or before the facility was built, by the
pages (400, the message beside the field, the typed values kept) and the JSON API (400 naming
the field), with nothing saved; the bound itself is accepted.

The app's clock is the ``now`` fixture, 28 Nov 2026 (Asia/Shanghai): the last day allowed is
28 Nov 2031."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from facilities.closures.tables import Closure, ClosurePromise
from facilities.i18n import use_locale
from facilities.inspections.tables import InspectionSchedule
from facilities.lib import horizons, recurrence
from facilities.settings import Settings
from facilities.tickets.tables import RepairTicket
from tests.kit.assets import make_asset
from tests.kit.clients import csrf_token, mentions
from tests.kit.closures import make_closure

LAST = dt.date(2031, 11, 28)  # now + 5 years in the bureau's zone
BEYOND = LAST + dt.timedelta(days=1)


async def english(login: Any, username: str = "alice") -> httpx.AsyncClient:
    client = await login(username)
    client.cookies.set("lang", "en")
    return client


async def post(client: httpx.AsyncClient, url: str, data: dict[str, Any]) -> httpx.Response:
    """A browser form post (safety measures as repeated checkboxes)."""
    fields: dict[str, list[str]] = {"_csrf_token": [await csrf_token(client)]}
    for key, value in data.items():
        fields[key] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return await client.post(url, data=fields)


def closure_form(asset_id: int, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "asset_id": asset_id,
        "scope": "full",
        "reason": "repair_works",
        "reason_zh": "桥面木板腐朽，全封闭维修",
        "effective_from": "2026-11-20T09:00",
        "planned_reopen_on": "2027-05-01",
        "reopen_precision": "before",
        "safety_measures": ["fencing"],
    }
    values.update(overrides)
    return values


def closure_body(asset_id: int, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "asset_id": asset_id,
        "reason_zh": "桥面木板腐朽，全封闭维修",
        "effective_from": "2026-11-20T01:00:00Z",
        "planned_reopen_on": "2027-05-01",
    }
    values.update(overrides)
    return values


def field_error(page: httpx.Response, field: str) -> str:
    """The text of the message shown beside ``field``."""
    marker = f'id="{field}-error"'
    assert marker in page.text, f"no message beside {field}"
    start = page.text.index(">", page.text.index(marker)) + 1
    return page.text[start : page.text.index("<", start)].strip()


# --- the rule itself -------------------------------------------------------------------------


def test_the_window_runs_from_the_built_year_to_n_years_ahead(now):
    window = horizons.bounds(now, 2007)
    assert (window.earliest, window.latest) == (dt.date(2007, 1, 1), LAST)
    assert horizons.bounds(now, None).earliest == horizons.FLOOR == dt.date(1900, 1, 1)
    assert horizons.bounds(now, 2007, years=1).latest == dt.date(2027, 11, 28)
    # The bureau's date: 28 Nov 20:00 UTC is already 29 Nov in Shanghai.
    late = dt.datetime(2026, 11, 28, 20, 0, tzinfo=dt.UTC)
    assert horizons.bounds(late, None).latest == dt.date(2031, 11, 29)
    assert horizons.add_years(dt.date(2028, 2, 29), 3) == dt.date(2031, 2, 28)


def test_the_messages_name_the_field_and_the_bound(now):
    window = horizons.bounds(now, 2007)
    with use_locale("en"):
        assert horizons.problem("Expected reopening", BEYOND, window) == (
            "Expected reopening must be on or before 28 Nov 2031"
        )
        assert horizons.problem("Planned start", dt.date(2006, 12, 31), window) == (
            "Planned start must be on or after 1 Jan 2007 (the facility was built in 2007)"
        )
        assert horizons.problem("Planned start", dt.date(1899, 12, 31), horizons.bounds(now)) == (
            "Planned start must be on or after 1 Jan 1900"
        )
    with use_locale("zh_CN"):
        assert "2031年11月28日" in (horizons.problem("预计重新开放日期", BEYOND, window) or "")
    for fine in (LAST, dt.date(2007, 1, 1), None):
        assert horizons.problem("x", fine, window) is None
    # A moment counts by its date in the bureau's zone: 28 Nov 2031 23:30 there is allowed.
    shanghai = ZoneInfo("Asia/Shanghai")
    assert horizons.problem("x", dt.datetime(2031, 11, 28, 23, 30, tzinfo=shanghai), window) is None
    assert horizons.problem("x", dt.datetime(2031, 11, 29, 0, 30, tzinfo=shanghai), window)


def test_the_end_of_a_rule_is_its_until():
    assert recurrence.until_day("FREQ=DAILY;UNTIL=99991231") == dt.date(9999, 12, 31)
    assert recurrence.until_day("RRULE:FREQ=WEEKLY;UNTIL=20301231T000000Z") == dt.date(2030, 12, 31)
    assert recurrence.until_day("FREQ=MONTHLY;BYMONTHDAY=1") is None


# --- closures: create, edit, extend, lift ----------------------------------------------------


async def test_a_far_reopening_is_refused_on_the_closure_form_and_nothing_is_saved(login, now):
    asset = await make_asset(built_year=2007)
    client = await english(login)
    before = await Closure.count()
    page = await post(client, "/closures", closure_form(asset.id, planned_reopen_on="9999-12-31"))
    assert page.status_code == 400
    assert field_error(page, "planned_reopen_on") == (
        "Expected reopening must be on or before 28 Nov 2031"
    )
    assert 'value="9999-12-31"' in page.text and "桥面木板腐朽，全封闭维修" in page.text
    assert await Closure.count() == before
    beyond = await post(
        client, "/closures", closure_form(asset.id, planned_reopen_on=BEYOND.isoformat())
    )
    assert beyond.status_code == 400 and await Closure.count() == before
    done = await post(
        client, "/closures", closure_form(asset.id, planned_reopen_on=LAST.isoformat())
    )
    assert done.status_code == 303, done.text[:2000]
    saved = await Closure.objects().where(Closure.asset == asset.id).first()
    assert saved is not None and saved.planned_reopen_on == LAST


async def test_a_closure_cannot_start_before_its_facility_was_built(login, now):
    asset = await make_asset(built_year=2007)
    client = await english(login)
    page = await post(
        client, "/closures", closure_form(asset.id, effective_from="2006-12-31T09:00")
    )
    assert page.status_code == 400
    assert field_error(page, "effective_from") == (
        "Closed from must be on or after 1 Jan 2007 (the facility was built in 2007)"
    )
    assert 'value="2006-12-31T09:00"' in page.text
    far = await post(client, "/closures", closure_form(asset.id, effective_from="2032-01-01T09:00"))
    assert far.status_code == 400 and "on or before 28 Nov 2031" in field_error(
        far, "effective_from"
    )
    assert not await Closure.exists().where(Closure.asset == asset.id)
    first_day = await post(
        client,
        "/closures",
        closure_form(asset.id, effective_from="2007-01-01T00:00", planned_reopen_on=""),
    )
    assert first_day.status_code == 303, first_day.text[:2000]


async def test_the_api_refuses_far_closure_dates_naming_the_field(api, now):
    asset = await make_asset(built_year=2007)
    alice = await api("alice")
    far = await alice.post(
        "/api/v1/closures", closure_body(asset.id, planned_reopen_on="9999-12-31")
    )
    assert far.status_code == 400 and mentions(far, "planned_reopen_on")
    early = await alice.post(
        "/api/v1/closures", closure_body(asset.id, effective_from="2006-06-01T00:00:00Z")
    )
    assert early.status_code == 400 and mentions(early, "effective_from")
    assert not await Closure.exists().where(Closure.asset == asset.id)
    ok = await alice.post("/api/v1/closures", closure_body(asset.id, planned_reopen_on=str(LAST)))
    assert ok.status_code == 201, ok.text


async def test_editing_a_planned_closure_checks_the_new_promise(login, api, personas, now):
    alice = personas["alice"]
    asset = await make_asset(built_year=2007)
    planned = await make_closure(alice, asset, now, effective_from=now + dt.timedelta(days=30))
    client = await english(login)
    form = closure_form(
        asset.id,
        effective_from="2026-12-28T10:00",
        planned_reopen_on=BEYOND.isoformat(),
        version=planned.version,
    )
    page = await post(client, f"/closures/{planned.id}", form)
    assert page.status_code == 400 and "28 Nov 2031" in field_error(page, "planned_reopen_on")
    session = await api("alice")
    body = closure_body(
        asset.id,
        effective_from=planned.effective_from.isoformat(),
        planned_reopen_on=BEYOND.isoformat(),
        version=planned.version,
    )
    refused = await session.put(f"/api/v1/closures/{planned.id}", body)
    assert refused.status_code == 400 and mentions(refused, "planned_reopen_on")
    unchanged = await Closure.objects().get(Closure.id == planned.id)
    assert unchanged is not None and unchanged.planned_reopen_on == dt.date(2027, 5, 1)
    accepted = await post(
        client, f"/closures/{planned.id}", {**form, "planned_reopen_on": LAST.isoformat()}
    )
    assert accepted.status_code == 303, accepted.text[:2000]


async def test_an_extension_beyond_the_horizon_is_refused(login, api, personas, now):
    alice = personas["alice"]
    closure = await make_closure(alice, await make_asset(built_year=2007), now)
    client = await english(login)
    typed = {"version": closure.version, "planned_reopen_on": "9999-12-31", "reason_zh": "雨季"}
    page = await post(client, f"/closures/{closure.id}/extend", typed)
    assert page.status_code == 400
    assert field_error(page, "planned_reopen_on") == (
        "Expected reopening must be on or before 28 Nov 2031"
    )
    assert 'value="9999-12-31"' in page.text and "雨季" in page.text
    session = await api("alice")
    refused = await session.post(
        f"/api/v1/closures/{closure.id}/extend", {**typed, "planned_reopen_on": str(BEYOND)}
    )
    assert refused.status_code == 400 and mentions(refused, "planned_reopen_on")
    assert await ClosurePromise.count().where(ClosurePromise.closure == closure.id) == 1
    done = await post(
        client, f"/closures/{closure.id}/extend", {**typed, "planned_reopen_on": str(LAST)}
    )
    assert done.status_code == 303
    extended = await Closure.objects().get(Closure.id == closure.id)
    assert extended is not None and extended.planned_reopen_on == LAST


async def test_a_reopening_time_beyond_the_horizon_is_refused_on_lift(api, personas, now):
    closure = await make_closure(personas["alice"], await make_asset(), now)
    admin = await api("admin")
    body = {
        "version": closure.version,
        "override_reason": "演练",
        "reopens_at": "2099-01-01T00:00:00Z",
    }
    refused = await admin.post(f"/api/v1/closures/{closure.id}/lift", body)
    assert refused.status_code == 400 and mentions(refused, "reopens_at")
    assert (await Closure.objects().get(Closure.id == closure.id)).status == "active"  # type: ignore[union-attr]


# --- tickets ---------------------------------------------------------------------------------


async def test_far_planned_ticket_dates_are_refused(login, api, now):
    asset = await make_asset(built_year=2007)
    client = await english(login)
    before = await RepairTicket.count()
    typed = {"asset_id": asset.id, "title": "桥面木板腐朽", "priority": "P2"}
    page = await post(client, "/tickets", {**typed, "planned_end_on": "9999-12-31"})
    assert page.status_code == 400
    assert field_error(page, "planned_end_on") == "Planned end must be on or before 28 Nov 2031"
    assert 'value="9999-12-31"' in page.text and "桥面木板腐朽" in page.text
    early = await post(client, "/tickets", {**typed, "planned_start_on": "2006-12-31"})
    assert early.status_code == 400
    assert "built in 2007" in field_error(early, "planned_start_on")
    session = await api("alice")
    refused = await session.post("/api/v1/tickets", {**typed, "planned_end_on": str(BEYOND)})
    assert refused.status_code == 400 and mentions(refused, "planned_end_on")
    assert await RepairTicket.count() == before
    ok = await session.post(
        "/api/v1/tickets", {**typed, "planned_start_on": "2007-01-01", "planned_end_on": str(LAST)}
    )
    assert ok.status_code == 201, ok.text
    ticket = ok.json()
    edited = await session.put(
        f"/api/v1/tickets/{ticket['id']}",
        {**typed, "planned_end_on": str(BEYOND), "version": ticket["version"]},
    )
    assert edited.status_code == 400 and mentions(edited, "planned_end_on")


# --- inspection schedules --------------------------------------------------------------------


def schedule(asset_id: int, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "asset_id": asset_id,
        "inspection_type": "patrol",
        "rrule": "FREQ=WEEKLY;BYDAY=MO",
        "anchor": "fixed",
        "starts_on": "2026-12-07",
        "start_time": "08:00",
    }
    values.update(overrides)
    return values


async def test_a_schedule_starts_and_ends_within_the_horizon(login, api, now):
    asset = await make_asset(built_year=2007)
    client = await english(login)
    endless = schedule(asset.id, rrule="FREQ=WEEKLY;BYDAY=MO;UNTIL=99991231")
    page = await post(client, "/inspections/schedules", endless)
    assert page.status_code == 400
    assert field_error(page, "rrule") == (
        "End of the rule (UNTIL) must be on or before 28 Nov 2031"
    )
    assert "UNTIL=99991231" in page.text
    early = await post(client, "/inspections/schedules", schedule(asset.id, starts_on="2006-05-01"))
    assert early.status_code == 400 and "built in 2007" in field_error(early, "starts_on")
    session = await api("alice")
    for body, field in (
        (schedule(asset.id, starts_on=str(BEYOND)), "starts_on"),
        (schedule(asset.id, rrule=f"FREQ=DAILY;UNTIL={BEYOND:%Y%m%d}"), "rrule"),
    ):
        refused = await session.post("/api/v1/schedules", body)
        assert refused.status_code == 400 and mentions(refused, field), refused.text
    assert not await InspectionSchedule.exists().where(InspectionSchedule.asset == asset.id)
    ok = await session.post(
        "/api/v1/schedules", schedule(asset.id, rrule=f"FREQ=DAILY;UNTIL={LAST:%Y%m%d}")
    )
    assert ok.status_code == 201, ok.text


def test_the_horizon_comes_from_the_setting(now):
    settings = Settings.from_env({"FACILITIES_DATE_HORIZON_YEARS": "1"})
    assert Settings.from_env({}).date_horizon_years == horizons.DEFAULT_YEARS == 5
    try:
        horizons.configure(settings.date_horizon_years, settings.zone)
        assert horizons.bounds(now, None).latest == dt.date(2027, 11, 28)
    finally:
        horizons.configure(horizons.DEFAULT_YEARS, settings.zone)
    with pytest.raises(ValueError, match="FACILITIES_DATE_HORIZON_YEARS"):
        Settings.from_env({"FACILITIES_DATE_HORIZON_YEARS": "0"})
