"""Staff notification preferences and the daily digest.

Each member of staff chooses, per kind of e-mail, immediately (the default), the daily digest or
off; the safety-critical kinds are always sent at once, even against a forged form. Every staff
e-mail goes through ``preferences.deliver_to_staff``; the digest job sends one e-mail per
person, grouped by kind, in their language, exactly once however often and however
concurrently it runs."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import email
import re
from email import policy

import pytest

from facilities.accounts.tables import StaffUser
from facilities.inspections import services as inspections
from facilities.inspections.tables import Inspection
from facilities.notifications import digest, preferences
from facilities.notifications import services as notifications
from facilities.notifications.choices import LOCKED, Delivery, StaffEvent
from facilities.notifications.senders import SmtpSender
from facilities.notifications.tables import DigestItem, Notification, NotificationPreference
from facilities.settings import Settings, SettingsError
from facilities.tickets import services as tickets
from facilities.tickets.choices import Priority
from scheduler.jobs import notifications as notification_jobs
from scheduler.registry import BY_ID
from tests.kit.assets import make_asset
from tests.kit.clients import csrf_token
from tests.kit.constants import ZONE
from tests.kit.inspections import make_schedule, make_team
from tests.kit.tickets import make_ticket

#: The tests' ``now`` is 2026-11-28 02:00 UTC (10:00 in Shanghai): the next digest is at
#: 07:30 on the 29th in Shanghai, which is 23:30 UTC on the 28th.
NEXT_DIGEST = dt.datetime(2026, 11, 28, 23, 30, tzinfo=dt.UTC)
AT = dt.time(7, 30)


def _smtp(settings, smtp_server):
    return SmtpSender(
        dataclasses.replace(
            settings,
            email_backend="smtp",
            smtp_host="127.0.0.1",
            smtp_port=smtp_server.port,
            mail_from="facilities@bureau.example",
        )
    )


def _parsed(smtp_server) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(m.content, policy=policy.default)  # type: ignore[misc]
        for m in smtp_server.messages
    ]


async def _deliver(settings, smtp_server, now) -> int:
    return await notifications.deliver_due(now, _smtp(settings, smtp_server), 50, 3)


async def _form_key(client, url="/account/notifications") -> str:
    page = await client.get(url)
    assert page.status_code == 200
    found = re.search(r'name="_submission" value="([^"]+)"', page.text)
    assert found, "the form carries a one-time submission key"
    return found.group(1)


async def _choose(user_id: int, now, **choices: str) -> None:
    await preferences.save_preferences(
        user_id, {StaffEvent(k): Delivery(v) for k, v in choices.items()}, now
    )


# --- the choices ---------------------------------------------------------------------------


async def test_everyone_starts_with_immediately_so_nothing_changes(personas):
    chosen = await preferences.preferences_of(personas["carol"].id)
    assert chosen == {kind: Delivery.IMMEDIATELY for kind in StaffEvent}
    assert LOCKED == {
        StaffEvent.TICKET_P0,
        StaffEvent.INSPECTION_NO_RESTRICTION,
        StaffEvent.PASSWORD_CHANGED,
    }


async def test_the_page_saves_and_shows_my_choices_once_per_submission(login, personas):
    carol = await login("carol")
    page = await carol.get("/account/notifications")
    assert page.status_code == 200
    assert 'name="ticket_assigned"' in page.text
    assert 'name="ticket_p0"' not in page.text  # locked: shown, not offered
    key = await _form_key(carol)
    form = {
        "_csrf_token": await csrf_token(carol),
        "_submission": key,
        "ticket_assigned": "digest",
        "closure_quiet": "off",
        "ticket_p0": "immediately",  # a locked kind may be sent as it is
    }
    first = await carol.post("/account/notifications", data=form)
    assert first.status_code == 303
    again = await carol.post("/account/notifications", data=form)  # a double tap
    assert again.status_code == 303
    assert again.headers.get("idempotent-replayed") == "true"
    assert await NotificationPreference.count() == 2
    chosen = await preferences.preferences_of(personas["carol"].id)
    assert chosen[StaffEvent.TICKET_ASSIGNED] == Delivery.DIGEST
    assert chosen[StaffEvent.CLOSURE_QUIET] == Delivery.OFF
    assert chosen[StaffEvent.TICKET_SLA_BREACH] == Delivery.IMMEDIATELY
    shown = (await carol.get("/account/notifications")).text
    assert re.search(r'id="ticket_assigned-digest"\s+aria-label="[^"]*"\s+checked', shown)
    assert re.search(r'id="closure_quiet-off"\s+aria-label="[^"]*"\s+checked', shown)
    # a second save changes the one row per kind, it adds none
    form = {"_csrf_token": await csrf_token(carol), "_submission": await _form_key(carol)}
    form["ticket_assigned"] = "immediately"
    assert (await carol.post("/account/notifications", data=form)).status_code == 303
    assert await NotificationPreference.count() == 2
    chosen = await preferences.preferences_of(personas["carol"].id)
    assert chosen[StaffEvent.TICKET_ASSIGNED] == Delivery.IMMEDIATELY
    assert chosen[StaffEvent.CLOSURE_QUIET] == Delivery.OFF
    # my choices are mine: alice still has the defaults
    assert set((await preferences.preferences_of(personas["alice"].id)).values()) == {
        Delivery.IMMEDIATELY
    }


async def test_a_forged_form_cannot_silence_a_locked_kind(login, personas, now):
    alice = await login("alice")
    forged = {
        "_csrf_token": await csrf_token(alice),
        "ticket_p0": "off",
        "ticket_assigned": "digest",
    }
    refused = await alice.post(
        "/account/notifications", data=forged, headers={"Accept-Language": "en"}
    )
    assert refused.status_code == 400
    assert "always sent at once: it cannot be delayed or turned off" in refused.text
    forged["ticket_p0"] = "digest"
    assert (await alice.post("/account/notifications", data=forged)).status_code == 400
    assert await NotificationPreference.count() == 0  # nothing of the form was saved
    # nor through the service, nor by an old row: a P0 still goes at once
    await NotificationPreference.insert(
        NotificationPreference(
            key=f"{personas['alice'].id}:ticket_p0",
            user=personas["alice"].id,
            kind="ticket_p0",
            delivery="off",
            updated_at=now,
        )
    )
    assert (await preferences.preferences_of(personas["alice"].id))[
        StaffEvent.TICKET_P0
    ] == Delivery.IMMEDIATELY
    await make_ticket(personas["carol"], priority=Priority.P0)
    rows = await Notification.objects().where(Notification.template == "ticket_p0")
    assert "alice@bureau.example" in {r.to_address for r in rows}


async def test_a_choice_that_is_not_offered_is_a_clear_400(login):
    carol = await login("carol")
    bad = {"_csrf_token": await csrf_token(carol), "ticket_assigned": "sometimes"}
    zh = await carol.post("/account/notifications", data=bad)
    assert zh.status_code == 400
    assert "请从列出的选项中选择" in zh.text
    en = await carol.post("/account/notifications", data=bad, headers={"Accept-Language": "en"})
    assert en.status_code == 400
    assert "Choose one of the listed options." in en.text
    assert await NotificationPreference.count() == 0


async def test_anonymous_visitors_are_sent_to_log_in(anon):
    response = await anon.get("/account/notifications")
    assert response.status_code in (302, 303, 401)
    assert await NotificationPreference.count() == 0


# --- each way of delivery, end to end --------------------------------------------------------


async def test_immediately_digest_and_off_route_real_events(personas, settings, smtp_server, now):
    alice, carol = personas["alice"], personas["carol"]
    await _choose(carol.id, now, ticket_assigned="digest")
    await _choose(alice.id, now, ticket_sla_breach="off")
    # assignment: carol chose the digest, so no mail now but an item waiting
    assigned = await make_ticket(alice, assignee_id=carol.id)
    assert await Notification.count().where(Notification.to_address == "carol@bureau.example") == 0
    items = await DigestItem.objects()
    assert [(i.kind, i.link, i.sent_at) for i in items] == [
        ("ticket_assigned", f"/tickets/{assigned.id}", None)
    ]
    assert f"#{assigned.id}" in items[0].subject
    # the same event told again (a rerun) is still one item
    await tickets.escalation._notify_assignee(assigned, now)
    assert await DigestItem.count() == 1
    # an SLA breach: alice turned it off, the admin (who chose nothing) gets it at once
    late = await make_ticket(alice, priority=Priority.P1, now=now - dt.timedelta(days=8))
    await Notification.delete(force=True)
    assert await tickets.escalate_sla_breaches(now) == 1
    assert await _deliver(settings, smtp_server, now) == 1
    [message] = _parsed(smtp_server)
    assert message["To"] == "admin@bureau.example"
    assert f"#{late.id}" in message["Subject"]
    assert await DigestItem.count() == 1  # off stores nothing either
    # the digest then carries carol's assignment, over SMTP, with its link
    assert await digest.send_digests(NEXT_DIGEST, settings.zone, AT) == 1
    assert await _deliver(settings, smtp_server, NEXT_DIGEST) == 1
    mail = _parsed(smtp_server)[-1]
    assert mail["To"] == "carol@bureau.example"
    body = mail.get_content()
    assert f"{settings.base_url}/tickets/{assigned.id}" in body
    assert f"#{assigned.id}" in body


async def test_a_team_lead_who_chose_the_digest_gets_the_reminder_there(
    personas, now, seeded_policy
):
    """The inspection reminders go through the same door: the lead's choice counts, the team
    mailbox (nobody's to choose for) still gets the reminder at once."""
    bob = personas["bob"]
    await _choose(bob.id, now, inspection_due="digest")
    team = await make_team(lead=bob)
    schedule = await make_schedule(
        personas["alice"], await make_asset(), now, lead_days=3, tolerance_days=2, team_id=team
    )
    assert int(await inspections.raise_due(now, ZONE)) == 1
    assert await inspections.send_reminders(now, ZONE) == 1
    mails = await Notification.objects().where(Notification.template == "inspection_before_due")
    assert [m.to_address for m in mails] == ["bridges@bureau.example"]
    [inspection] = await Inspection.objects().where(Inspection.schedule == schedule.id)
    items = await DigestItem.objects()
    assert [(i.kind, i.link) for i in items] == [
        ("inspection_due", f"/inspections/{inspection.id}")
    ]


# --- the digest ------------------------------------------------------------------------------


async def _english(user_id: int) -> None:
    await StaffUser.update({StaffUser.language: "en"}).where(StaffUser.id == user_id)


async def test_the_digest_groups_by_kind_in_each_persons_language(personas, settings, now):
    alice, carol = personas["alice"], personas["carol"]
    await _english(alice.id)
    for person in (alice, carol):
        await _choose(person.id, now, ticket_assigned="digest", ticket_sla_breach="digest")
    first = await make_ticket(alice, assignee_id=alice.id)
    second = await make_ticket(alice, assignee_id=alice.id)
    late = await make_ticket(alice, priority=Priority.P1, now=now - dt.timedelta(days=8))
    await tickets.escalate_sla_breaches(now)
    mine = await make_ticket(alice, assignee_id=carol.id)
    await Notification.delete(force=True)

    assert await digest.send_digests(NEXT_DIGEST, settings.zone, AT) == 2
    mails = {m.to_address: m for m in await Notification.objects()}
    assert set(mails) == {"alice@bureau.example", "carol@bureau.example"}
    english = mails["alice@bureau.example"]
    assert english.template == "staff_digest"
    assert english.subject == "Your daily digest: 3 items"
    text = english.body_text
    assigned_at = text.index("== A ticket is assigned to me (2) ==")
    breach_at = text.index("== A ticket passes its SLA due date (1) ==")
    assert assigned_at < breach_at  # the kinds in their listed order
    assert text.index(f"ticket #{first.id}") < text.index(f"ticket #{second.id}") < breach_at
    assert f"Overdue: ticket #{late.id} passed its due date" in text[breach_at:]
    assert f"{settings.base_url}/tickets/{late.id}" in text
    chinese = mails["carol@bureau.example"].body_text
    assert f"分派给您的工单：#{mine.id}" in chinese  # the item's subject, in carol's language
    assert "High-tech Zone Construction Bureau" not in chinese
    assert f"ticket #{first.id}" not in chinese  # only her own items
    assert await DigestItem.count().where(DigestItem.sent_at.is_null()) == 0


async def test_the_digest_goes_once_at_its_time_and_never_twice(personas, settings, now):
    carol = personas["carol"]
    await _choose(carol.id, now, ticket_assigned="digest")
    await make_ticket(personas["alice"], assignee_id=carol.id)
    # nothing is due before 07:30 local: the item came after this morning's digest
    assert await digest.send_digests(now, settings.zone, AT) == 0
    assert await digest.send_digests(NEXT_DIGEST - dt.timedelta(minutes=1), settings.zone, AT) == 0
    assert await digest.pending_count(carol.id) == 1
    assert await digest.send_digests(NEXT_DIGEST, settings.zone, AT) == 1
    # a second run, and a later one, find nothing to send
    assert await digest.send_digests(NEXT_DIGEST, settings.zone, AT) == 0
    later = NEXT_DIGEST + dt.timedelta(days=1)
    assert await digest.send_digests(later, settings.zone, AT) == 0
    assert await Notification.count().where(Notification.template == "staff_digest") == 1
    item = await DigestItem.objects().first()
    assert item is not None and item.sent_at == NEXT_DIGEST
    assert await digest.pending_count(carol.id) == 0


async def test_two_concurrent_runs_send_one_digest(personas, settings, now):
    carol, bob = personas["carol"], personas["bob"]
    for person in (carol, bob):
        await _choose(person.id, now, ticket_assigned="digest")
        await make_ticket(personas["alice"], assignee_id=person.id)
        await make_ticket(personas["alice"], assignee_id=person.id)
    runs = await asyncio.gather(
        digest.send_digests(NEXT_DIGEST, settings.zone, AT),
        digest.send_digests(NEXT_DIGEST, settings.zone, AT),
        digest.send_digests(NEXT_DIGEST, settings.zone, AT),
    )
    assert sum(runs) == 2  # one digest per person, whichever run queued it
    mails = await Notification.objects().where(Notification.template == "staff_digest")
    assert sorted(m.to_address for m in mails) == ["bob@bureau.example", "carol@bureau.example"]
    assert all(m.subject.count("2") == 1 for m in mails)  # each carries both items
    assert await DigestItem.count().where(DigestItem.sent_at.is_null()) == 0


async def test_nothing_pending_sends_nothing(personas, settings, now):
    await _choose(personas["carol"].id, now, ticket_assigned="digest")
    assert await digest.send_digests(NEXT_DIGEST, settings.zone, AT) == 0
    assert await notification_jobs.send_digests(NEXT_DIGEST, settings) == 0
    assert await Notification.count() == 0


async def test_the_scheduled_job_adds_my_work_and_honours_the_setting(
    personas, settings, smtp_server, now
):
    carol = personas["carol"]
    await _english(carol.id)
    await make_ticket(  # overdue work of hers, told at once (she had not chosen yet)
        personas["alice"],
        assignee_id=carol.id,
        priority=Priority.P1,
        now=now - dt.timedelta(days=8),
    )
    await Notification.delete(force=True)
    await _choose(carol.id, now, ticket_assigned="digest")
    await make_ticket(personas["alice"], assignee_id=carol.id)  # today's, for the digest
    assert "send_digests" in BY_ID
    # at 18:00 Shanghai time the item (made at 10:00 on the 28th) waits until the evening
    evening = dataclasses.replace(settings, digest_time="18:00")
    assert await notification_jobs.send_digests(now + dt.timedelta(hours=7), evening) == 0
    assert await notification_jobs.send_digests(now + dt.timedelta(hours=8), evening) == 1
    await Notification.delete(force=True)
    await DigestItem.update({DigestItem.sent_at: None}, force=True)
    assert await notification_jobs.send_digests(NEXT_DIGEST, settings) == 1
    assert await _deliver(settings, smtp_server, NEXT_DIGEST) == 1
    [mail] = _parsed(smtp_server)
    body = mail.get_content()
    assert mail["Subject"] == "Your daily digest: 1 item"
    assert "My overdue tickets: 1" in body
    assert "My inspections due by tonight: 0" in body
    assert f"{settings.base_url}/account/notifications" in body


async def test_the_digest_time_is_the_latest_that_passed_in_local_time(settings):
    zone = settings.zone
    assert digest.last_digest_time(NEXT_DIGEST, zone, AT) == NEXT_DIGEST
    just_before = NEXT_DIGEST - dt.timedelta(seconds=1)
    assert digest.last_digest_time(just_before, zone, AT) == NEXT_DIGEST - dt.timedelta(days=1)


def test_the_digest_time_setting_is_parsed_strictly():
    assert Settings.from_env({"FACILITIES_DIGEST_TIME": "06:45"}).digest_at == dt.time(6, 45)
    for bad in ("25:00", "7.30", "morning"):
        with pytest.raises(SettingsError, match="FACILITIES_DIGEST_TIME"):
            Settings.from_env({"FACILITIES_DIGEST_TIME": bad})
