"""Issue 16, item 3: the safety checks of an inspection, through the services, the pages and the
API.

- No default recommendation: a draft may leave it empty, submitting and finalising refuse
  without one (the field named, nothing saved).
- "No restriction" at grade D or E needs a written reason; it is stored, audited, shown, and
  flagged to the supervisors (a badge on the page and the list, a mail through the outbox).
- Unscored components are named before finalising; "finalise anyway" needs a reason, stored,
  audited and shown.
- The inspection page shows the closures over the asset (planned or in force).

These tests call the services without the kit's defaults (tests/kit/inspections.py records a
recommendation and finalises anyway for the tests about other things).
"""

from __future__ import annotations

import re

import pytest

from facilities.accounts.permissions import SYSTEM
from facilities.audit.tables import AuditEvent
from facilities.closures import services as closures
from facilities.closures.schemas import CancelIn
from facilities.errors import ValidationFailed
from facilities.inspections import services as inspections
from facilities.inspections.choices import Recommendation, State
from facilities.inspections.schemas import ConditionIn, FindingIn, RecordIn
from facilities.inspections.tables import Inspection
from facilities.notifications.tables import Notification
from tests.kit.clients import mentions, post_form
from tests.kit.closures import make_closure
from tests.kit.constants import ZONE
from tests.kit.inspections import footbridge, plan

REASON = "临时加固已完成，限流由现场人员控制。 Propped; a guard limits the crowd."


def all_parts(parts, score: float) -> list[ConditionIn]:
    return [ConditionIn(component_id=p.id, score=score) for p in parts.values()]


async def fresh(inspection_id: int) -> Inspection:
    return await inspections.get_inspection(SYSTEM, inspection_id)


async def recorded(personas, now, score: float = 90, parts=None, asset=None, **fields):
    """An inspection planned and recorded by bob (every component scored by default)."""
    if asset is None:
        asset, parts = await footbridge()
    inspection = await plan(personas["alice"], asset, now)
    conditions = fields.pop("conditions", None)
    await inspections.save_record(
        personas["bob"],
        inspection.id,
        RecordIn(
            version=inspection.version,
            conditions=all_parts(parts, score) if conditions is None else conditions,
            **fields,
        ),
        now,
    )
    return await fresh(inspection.id), parts


async def submitted(personas, now, **fields):
    inspection, parts = await recorded(personas, now, **fields)
    done = await inspections.submit(personas["bob"], inspection.id, inspection.version, now)
    return done, parts


async def actions(inspection_id: int) -> list[str]:
    rows = (
        await AuditEvent.select(AuditEvent.action)
        .where((AuditEvent.entity_type == "inspection") & (AuditEvent.entity_id == inspection_id))
        .order_by(AuditEvent.id)
    )
    return [r["action"] for r in rows]


async def flag_mails() -> list[str]:
    rows = await Notification.select(Notification.to_address).where(
        Notification.template == "inspection_no_restriction"
    )
    return sorted(r["to_address"] for r in rows)


# --- rule 1: no default recommendation -------------------------------------------------------


async def test_a_draft_has_no_recommendation_and_saves_without_one(personas, now):
    asset, parts = await footbridge()
    planned = await plan(personas["alice"], asset, now)
    assert planned.recommendation == ""
    draft, _parts = await recorded(personas, now, asset=asset, parts=parts)
    assert draft.state == State.IN_PROGRESS
    assert draft.recommendation == ""


async def test_submitting_without_a_recommendation_is_refused_and_changes_nothing(personas, now):
    inspection, _parts = await recorded(personas, now)
    with pytest.raises(ValidationFailed) as refused:
        await inspections.submit(personas["bob"], inspection.id, inspection.version, now)
    assert set(refused.value.errors) == {"recommendation"}
    after = await fresh(inspection.id)
    assert (after.state, after.version) == (State.IN_PROGRESS, inspection.version)
    assert "inspection.submitted" not in await actions(inspection.id)


async def test_finalising_a_submitted_inspection_without_a_recommendation_is_refused(
    personas, now, settings
):
    """A submitted inspection from before issue 16 could lack one (the migration clears only
    drafts, but the rule holds at sign-off too)."""
    inspection, _parts = await submitted(personas, now, recommendation=Recommendation.RESTRICT)
    await Inspection.update({Inspection.recommendation: ""}).where(Inspection.id == inspection.id)
    with pytest.raises(ValidationFailed) as refused:
        await inspections.finalise(
            personas["alice"], inspection.id, inspection.version, ZONE, settings.media_path, now
        )
    assert set(refused.value.errors) == {"recommendation"}
    assert (await fresh(inspection.id)).state == State.SUBMITTED


# --- rule 2: "no restriction" at grade D or E ------------------------------------------------


async def test_no_restriction_at_grade_d_without_a_reason_is_refused(personas, now):
    inspection, _parts = await recorded(personas, now, score=55, recommendation="none")
    with pytest.raises(ValidationFailed) as refused:
        await inspections.submit(personas["bob"], inspection.id, inspection.version, now)
    assert set(refused.value.errors) == {"no_restriction_reason"}
    assert "D" in refused.value.errors["no_restriction_reason"]
    after = await fresh(inspection.id)
    assert (after.state, after.flagged_grade) == (State.IN_PROGRESS, None)
    assert await flag_mails() == []


async def test_no_restriction_at_grade_e_with_a_reason_is_flagged_and_supervisors_told(
    personas, now, settings
):
    inspection, _parts = await submitted(
        personas, now, score=30, recommendation="none", no_restriction_reason=REASON
    )
    assert (inspection.state, inspection.flagged_grade) == (State.SUBMITTED, "E")
    assert inspection.no_restriction_reason == REASON
    assert await flag_mails() == ["admin@bureau.example", "alice@bureau.example"]
    mail = await Notification.objects().where(Notification.to_address == "alice@bureau.example")
    assert f"/inspections/{inspection.id}" in mail[0].body_text and REASON in mail[0].body_text
    assert {"inspection.recommended", "inspection.flagged"} <= set(await actions(inspection.id))
    final = await inspections.finalise(
        personas["alice"], inspection.id, inspection.version, ZONE, settings.media_path, now
    )
    assert (final.grade, final.flagged_grade) == ("E", "E")
    assert len(await flag_mails()) == 2  # told once, not again on finalising


async def test_a_restriction_at_grade_d_needs_no_reason_and_is_not_flagged(personas, now):
    inspection, _parts = await submitted(personas, now, score=55, recommendation="restrict")
    assert (inspection.state, inspection.flagged_grade) == (State.SUBMITTED, None)
    assert await flag_mails() == []


async def test_no_restriction_at_grade_c_needs_no_reason(personas, now):
    inspection, _parts = await submitted(personas, now, score=70, recommendation="none")
    assert (inspection.state, inspection.flagged_grade) == (State.SUBMITTED, None)


async def test_a_grade_falling_to_d_after_submitting_asks_the_reviewer_for_the_reason(
    personas, now, settings
):
    """A direct-control defect added after submitting caps the grade at D at sign-off: the
    reviewer gives the reason (or the finalise is refused), and the flag goes out then."""
    inspection, parts = await submitted(personas, now, score=95, recommendation="none")
    await inspections.add_finding(
        personas["bob"],
        inspection.id,
        FindingIn(component_id=parts["cable"].id, is_direct_control=True, description="断丝"),
        now,
    )
    version = (await fresh(inspection.id)).version
    with pytest.raises(ValidationFailed) as refused:
        await inspections.finalise(
            personas["alice"], inspection.id, version, ZONE, settings.media_path, now
        )
    assert set(refused.value.errors) == {"no_restriction_reason"}
    assert (await fresh(inspection.id)).state == State.SUBMITTED
    final = await inspections.finalise(
        personas["alice"],
        inspection.id,
        version,
        ZONE,
        settings.media_path,
        now,
        no_restriction_reason=REASON,
    )
    assert (final.grade, final.flagged_grade, final.no_restriction_reason) == ("D", "D", REASON)
    assert len(await flag_mails()) == 2


# --- rule 3: unscored components before finalising -------------------------------------------


async def test_finalising_with_unscored_components_names_them_and_is_refused(
    personas, now, settings
):
    asset, parts = await footbridge()
    some = [ConditionIn(component_id=parts[k].id, score=90) for k in ("deck", "cable")]
    inspection, _parts = await submitted(
        personas, now, asset=asset, parts=parts, conditions=some, recommendation="none"
    )
    with pytest.raises(ValidationFailed) as refused:
        await inspections.finalise(
            personas["alice"], inspection.id, inspection.version, ZONE, settings.media_path, now
        )
    message = refused.value.errors["finalise_anyway"]
    assert "4 个构件中已评分 2 个" in message and "桥台" in message and "照明" in message
    assert "主缆" not in message
    with pytest.raises(ValidationFailed) as no_reason:
        await inspections.finalise(
            personas["alice"],
            inspection.id,
            inspection.version,
            ZONE,
            settings.media_path,
            now,
            finalise_anyway=True,
            unscored_reason="   ",
        )
    assert set(no_reason.value.errors) == {"unscored_reason"}
    after = await fresh(inspection.id)
    assert (after.state, after.version, after.unscored_reason) == (
        State.SUBMITTED,
        inspection.version,
        "",
    )


async def test_finalise_anyway_stores_and_audits_the_reason(personas, now, settings):
    asset, parts = await footbridge()
    some = [ConditionIn(component_id=parts["deck"].id, score=90)]
    inspection, _parts = await submitted(
        personas, now, asset=asset, parts=parts, conditions=some, recommendation="none"
    )
    final = await inspections.finalise(
        personas["alice"],
        inspection.id,
        inspection.version,
        ZONE,
        settings.media_path,
        now,
        finalise_anyway=True,
        unscored_reason="桥下部分水位过高，无法检查",
    )
    assert (final.state, final.unscored_reason) == (State.FINAL, "桥下部分水位过高，无法检查")
    event = (
        await AuditEvent.select(AuditEvent.changes)
        .where(
            (AuditEvent.entity_id == inspection.id)
            & (AuditEvent.action == "inspection.finalised_unscored")
        )
        .first()
    )
    assert event is not None
    changes = str(event["changes"])
    assert "桥台" in changes and "照明" in changes and "桥下部分水位过高" in changes


async def test_with_every_component_scored_finalising_asks_nothing(personas, now, settings):
    inspection, _parts = await submitted(personas, now, recommendation="none")
    final = await inspections.finalise(
        personas["alice"], inspection.id, inspection.version, ZONE, settings.media_path, now
    )
    assert (final.state, final.unscored_reason) == (State.FINAL, "")
    assert "inspection.finalised_unscored" not in await actions(inspection.id)


async def test_a_note_alone_does_not_score_a_component(personas, now):
    asset, parts = await footbridge()
    conditions = [
        *[ConditionIn(component_id=parts[k].id, score=80) for k in ("deck", "cable", "abutment")],
        ConditionIn(component_id=parts["lamp"].id, note="灯罩缺失"),
    ]
    inspection, _parts = await recorded(
        personas, now, asset=asset, parts=parts, conditions=conditions
    )
    cover = await inspections.coverage(inspection)
    assert (cover.scored, cover.total, cover.unscored) == (3, 4, ["照明"])


# --- the pages -------------------------------------------------------------------------------


def selected_option(html: str, name: str) -> str | None:
    select = re.search(rf'<select id="{name}" name="{name}".*?</select>', html, re.S)
    assert select, name
    chosen = re.search(r'<option value="([^"]*)" selected', select.group(0))
    return chosen.group(1) if chosen else None


async def test_the_form_starts_with_no_recommendation_chosen(login, personas, now):
    asset, _parts = await footbridge()
    inspection = await plan(personas["alice"], asset, now)
    page = await (await login("bob")).get(f"/inspections/{inspection.id}")
    assert page.status_code == 200
    assert selected_option(page.text, "recommendation") is None
    assert '<option value="">' in page.text.split('id="recommendation"')[1][:400]
    assert 'name="no_restriction_reason"' in page.text


async def test_save_and_submit_without_a_recommendation_is_400_and_saves_nothing(
    login, personas, now
):
    asset, parts = await footbridge()
    inspection = await plan(personas["alice"], asset, now)
    response = await post_form(
        await login("bob"),
        f"/inspections/{inspection.id}/record",
        {
            "version": "1",
            "then": "submit",
            "summary": "未选处置建议",
            **{f"score__{p.id}": "90" for p in parts.values()},
        },
    )
    assert response.status_code == 400
    assert 'id="recommendation-error"' in response.text
    assert "未选处置建议" in response.text  # what was typed is shown again
    after = await fresh(inspection.id)
    assert (after.state, after.version, after.summary) == (State.PLANNED, 1, "")
    assert await inspections.conditions_of(inspection.id) == {}


async def test_a_draft_saves_from_the_page_without_a_recommendation(login, personas, now):
    asset, parts = await footbridge()
    inspection = await plan(personas["alice"], asset, now)
    response = await post_form(
        await login("bob"),
        f"/inspections/{inspection.id}/record",
        {"version": "1", f"score__{parts['deck'].id}": "90"},
    )
    assert response.status_code == 303
    after = await fresh(inspection.id)
    assert (after.state, after.recommendation) == (State.IN_PROGRESS, "")


async def test_grade_d_with_no_restriction_on_the_page(login, personas, now):
    asset, parts = await footbridge()
    inspection = await plan(personas["alice"], asset, now)
    bob = await login("bob")
    form = {
        "version": "1",
        "then": "submit",
        "recommendation": "none",
        **{f"score__{p.id}": "55" for p in parts.values()},
    }
    refused = await post_form(bob, f"/inspections/{inspection.id}/record", form)
    assert refused.status_code == 400
    assert 'id="no_restriction_reason-error"' in refused.text
    assert (await fresh(inspection.id)).version == 1
    done = await post_form(
        bob, f"/inspections/{inspection.id}/record", {**form, "no_restriction_reason": REASON}
    )
    assert done.status_code == 303
    assert (await fresh(inspection.id)).flagged_grade == "D"
    alice = await login("alice")
    page = await alice.get(f"/inspections/{inspection.id}")
    assert 'class="badge tone-danger flag"' in page.text
    assert REASON in page.text
    listed = await alice.get("/inspections")
    row = re.search(
        rf'<tr[^>]*>\s*<td><a href="/inspections/{inspection.id}">.*?</tr>', listed.text, re.S
    )
    assert row and "tone-danger flag" in row.group(0)
    assert len(await flag_mails()) == 2


async def test_finalise_on_the_page_lists_unscored_components_and_takes_a_reason(
    login, personas, now
):
    asset, parts = await footbridge()
    some = [ConditionIn(component_id=parts[k].id, score=90) for k in ("deck", "cable", "abutment")]
    inspection, _parts = await submitted(
        personas, now, asset=asset, parts=parts, conditions=some, recommendation="none"
    )
    alice = await login("alice")
    page = await alice.get(f"/inspections/{inspection.id}")
    form = re.search(r'<form [^>]*action="/inspections/\d+/finalise".*?</form>', page.text, re.S)
    assert form and 'name="finalise_anyway"' in form.group(0)
    assert "照明" in form.group(0) and "主缆" not in form.group(0)
    url = f"/inspections/{inspection.id}/finalise"
    version = str(inspection.version)
    refused = await post_form(alice, url, {"version": version})
    assert refused.status_code == 400
    assert "4 个构件中已评分 3 个" in refused.text
    no_reason = await post_form(alice, url, {"version": version, "finalise_anyway": "true"})
    assert no_reason.status_code == 400
    assert 'id="unscored_reason-error"' in no_reason.text
    assert (await fresh(inspection.id)).state == State.SUBMITTED
    done = await post_form(
        alice,
        url,
        {"version": version, "finalise_anyway": "true", "unscored_reason": "照明由电工另检"},
    )
    assert done.status_code == 303
    shown = await alice.get(f"/inspections/{inspection.id}")
    assert "照明由电工另检" in shown.text and 'class="prose unscored-reason"' in shown.text


async def test_the_inspection_page_shows_the_closure_over_the_asset(login, personas, now):
    asset, _parts = await footbridge()
    closure = await make_closure(personas["alice"], asset, now)
    cancelled = await make_closure(personas["alice"], asset, now, reason_zh="已取消的封闭")
    await closures.cancel(
        personas["alice"], cancelled.id, CancelIn(version=cancelled.version, reason_zh="误建"), now
    )
    inspection = await plan(personas["alice"], asset, now)
    page = await (await login("bob")).get(f"/inspections/{inspection.id}")
    assert page.status_code == 200
    assert f'href="/closures/{closure.id}"' in page.text
    assert "桥面木板腐朽" in page.text  # the closure's reason
    assert f'href="/closures/{cancelled.id}"' not in page.text


# --- the API ---------------------------------------------------------------------------------


async def test_api_recommendation_is_null_until_chosen_and_submit_names_it(api, personas, now):
    asset, parts = await footbridge()
    inspection = await plan(personas["alice"], asset, now)
    bob = await api("bob")
    body = {
        "version": 1,
        "conditions": [{"component_id": p.id, "score": 55} for p in parts.values()],
    }
    draft = await bob.put(f"/api/v1/inspections/{inspection.id}/record", body)
    assert draft.status_code == 200, draft.text
    assert draft.json()["recommendation"] is None
    refused = await bob.post(f"/api/v1/inspections/{inspection.id}/submit", {"version": 2})
    assert refused.status_code == 400 and mentions(refused, "recommendation")
    chosen = await bob.put(
        f"/api/v1/inspections/{inspection.id}/record",
        {**body, "version": 2, "recommendation": "none"},
    )
    assert chosen.json()["recommendation"] == "none"
    no_reason = await bob.post(f"/api/v1/inspections/{inspection.id}/submit", {"version": 3})
    assert no_reason.status_code == 400 and mentions(no_reason, "no_restriction_reason")
    assert (await fresh(inspection.id)).state == State.IN_PROGRESS
    await bob.put(
        f"/api/v1/inspections/{inspection.id}/record",
        {**body, "version": 3, "recommendation": "none", "no_restriction_reason": REASON},
    )
    done = await bob.post(f"/api/v1/inspections/{inspection.id}/submit", {"version": 4})
    assert done.status_code == 200, done.text
    assert (done.json()["flagged_grade"], done.json()["no_restriction_reason"]) == ("D", REASON)
    rows = await bob.get(f"/api/v1/inspections?asset={asset.id}")
    assert [r["flagged_grade"] for r in rows.json()] == ["D"]


async def test_api_finalise_names_unscored_components_then_takes_flag_and_reason(
    api, personas, now
):
    asset, parts = await footbridge()
    some = [ConditionIn(component_id=parts["deck"].id, score=90)]
    inspection, _parts = await submitted(
        personas, now, asset=asset, parts=parts, conditions=some, recommendation="restrict"
    )
    alice = await api("alice")
    url = f"/api/v1/inspections/{inspection.id}/finalise"
    refused = await alice.post(url, {"version": inspection.version})
    assert refused.status_code == 400 and mentions(refused, "finalise_anyway")
    assert "主缆" in refused.text
    no_reason = await alice.post(url, {"version": inspection.version, "finalise_anyway": True})
    assert no_reason.status_code == 400 and mentions(no_reason, "unscored_reason")
    assert (await fresh(inspection.id)).state == State.SUBMITTED
    done = await alice.post(
        url,
        {"version": inspection.version, "finalise_anyway": True, "unscored_reason": "汛期水位高"},
    )
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["unscored_reason"]) == ("final", "汛期水位高")


async def test_api_reasons_too_long_are_400_naming_the_field(api, personas, now):
    asset, _parts = await footbridge()
    inspection = await plan(personas["alice"], asset, now)
    bob = await api("bob")
    refused = await bob.put(
        f"/api/v1/inspections/{inspection.id}/record",
        {"version": 1, "recommendation": "none", "no_restriction_reason": "长" * 2001},
    )
    assert refused.status_code == 400 and mentions(refused, "no_restriction_reason")
    assert (await fresh(inspection.id)).version == 1
    alice = await api("alice")
    too_long = await alice.post(
        f"/api/v1/inspections/{inspection.id}/finalise",
        {"version": 1, "finalise_anyway": True, "unscored_reason": "长" * 2001},
    )
    assert too_long.status_code == 400 and mentions(too_long, "unscored_reason")
