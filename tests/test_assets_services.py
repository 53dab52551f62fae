"""Asset register services: sites, assets and components, their rules, permissions and audit."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import msgspec
import pytest

from facilities.assets import services as assets
from facilities.assets.choices import AssetType, ComponentGroup, ComponentKind, Lifecycle
from facilities.assets.schemas import AssetFilters, AssetIn, ComponentIn, SiteIn
from facilities.assets.tables import Asset, Component, Site
from facilities.audit.tables import AuditEvent
from facilities.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.kit.assets import make_asset, make_component, make_site

OUT_OF_RANGE_IDS = [0, -1, 2**31, 2**63]


async def audit_events(entity_type: str | None = None) -> list[dict[str, Any]]:
    """Every audit event, oldest first, with ``changes`` decoded."""
    query = AuditEvent.select().order_by(AuditEvent.id)
    if entity_type is not None:
        query = query.where(AuditEvent.entity_type == entity_type)
    rows = await query
    for row in rows:
        if isinstance(row["changes"], str):
            row["changes"] = json.loads(row["changes"])
    return rows


async def row_counts() -> tuple[int, int, int, int]:
    return (
        await Site.count(),
        await Asset.count(),
        await Component.count(),
        await AuditEvent.count(),
    )


def asset_in(site: Site, **fields: Any) -> AssetIn:
    values: dict[str, Any] = {
        "code": "GX-QL-PH-001",
        "name_zh": "平湖公园景观悬索桥",
        "name_en": "Pinghu Park suspension footbridge",
        "asset_type": AssetType.SUSPENSION_FOOTBRIDGE,
        "site_id": site.id,
    }
    values.update(fields)
    return AssetIn(**values)


def replace(struct: Any, **changes: Any) -> Any:
    return msgspec.structs.replace(struct, **changes)


# --- sites ---------------------------------------------------------------------------------


async def test_create_site_records_who_and_what(personas, now):
    alice = personas["alice"]
    site = await assets.create_site(
        alice, SiteIn(name_zh="平湖公园", name_en="Pinghu Park", lat=22.5, lng=113.9), now
    )

    saved = await Site.objects().where(Site.id == site.id).first()
    assert (saved.name_zh, saved.name_en, saved.version) == ("平湖公园", "Pinghu Park", 1)
    [event] = await audit_events("site")
    assert event["action"] == "site.created"
    assert event["entity_id"] == site.id
    assert event["actor"] == alice.id
    assert event["actor_name"] == alice.display_name
    assert event["at"] == now
    assert event["changes"]["name_zh"] == [None, "平湖公园"]
    assert event["changes"]["lat"] == [None, 22.5]
    assert "version" not in event["changes"]


async def test_site_needs_both_coordinates_or_neither(personas, now):
    alice = personas["alice"]
    before = await row_counts()

    with pytest.raises(ValidationFailed) as only_lat:
        await assets.create_site(alice, SiteIn(name_zh="平湖公园", lat=22.5), now)
    with pytest.raises(ValidationFailed) as only_lng:
        await assets.create_site(alice, SiteIn(name_zh="平湖公园", lng=113.9), now)

    assert set(only_lat.value.errors) == {"lng"}
    assert set(only_lng.value.errors) == {"lat"}
    assert await row_counts() == before


async def test_update_site_lists_only_the_changed_fields(personas, now):
    alice = personas["alice"]
    site = await assets.create_site(alice, SiteIn(name_zh="平湖公园", address="平湖路1号"), now)
    later = now + dt.timedelta(hours=1)

    updated = await assets.update_site(
        alice,
        site.id,
        SiteIn(name_zh="平湖公园", name_en="Pinghu Park", address="平湖路1号", version=1),
        later,
    )

    assert updated.version == 2
    assert updated.updated_at == later
    event = (await audit_events("site"))[-1]
    assert event["action"] == "site.updated"
    assert event["changes"] == {"name_en": ["", "Pinghu Park"]}


async def test_site_names_are_unique(personas, now):
    alice = personas["alice"]
    await assets.create_site(alice, SiteIn(name_zh="平湖公园"), now)
    other = await assets.create_site(alice, SiteIn(name_zh="雁鸣溪广场"), now)
    before = await row_counts()

    with pytest.raises(ValidationFailed) as created:
        await assets.create_site(alice, SiteIn(name_zh=" 平湖公园 "), now)
    with pytest.raises(ValidationFailed) as renamed:
        await assets.update_site(alice, other.id, SiteIn(name_zh="平湖公园", version=1), now)

    assert set(created.value.errors) == {"name_zh"}
    assert set(renamed.value.errors) == {"name_zh"}
    assert await row_counts() == before
    # Saving a site under its own name is not a duplicate.
    kept = await assets.update_site(alice, other.id, SiteIn(name_zh="雁鸣溪广场", version=1), now)
    assert kept.version == 2


async def test_update_site_trims_the_name_like_create_does(personas, now):
    alice = personas["alice"]
    site = await assets.create_site(alice, SiteIn(name_zh="平湖公园"), now)

    updated = await assets.update_site(
        alice, site.id, SiteIn(name_zh="  平湖公园  ", version=1), now
    )

    assert updated.name_zh == "平湖公园"


async def test_stale_site_version_is_a_conflict_and_changes_nothing(personas, now):
    alice = personas["alice"]
    site = await assets.create_site(alice, SiteIn(name_zh="平湖公园"), now)
    await assets.update_site(
        alice, site.id, SiteIn(name_zh="平湖公园", address="一号", version=1), now
    )
    events = len(await audit_events())

    with pytest.raises(Conflict):
        await assets.update_site(alice, site.id, SiteIn(name_zh="别的名字", version=1), now)

    saved = await Site.objects().where(Site.id == site.id).first()
    assert (saved.name_zh, saved.address, saved.version) == ("平湖公园", "一号", 2)
    assert len(await audit_events()) == events


async def test_list_sites_counts_assets(personas, now):
    park = await make_site("平湖公园")
    await make_site("雁鸣溪广场")
    await make_asset(park)
    await make_asset(park)

    sites = {s.name_zh: s for s in await assets.list_sites(personas["dave"])}

    assert sites["平湖公园"].asset_count == 2
    assert sites["雁鸣溪广场"].asset_count == 0


# --- assets --------------------------------------------------------------------------------


async def test_create_asset_records_only_the_fields_that_have_values(personas, now):
    alice = personas["alice"]
    site = await make_site()
    events_before = len(await audit_events("asset"))

    asset = await assets.create_asset(alice, asset_in(site, built_year=2019, span_m=120.0), now)

    saved = await Asset.objects().where(Asset.id == asset.id).first()
    assert saved.code == "GX-QL-PH-001"
    assert saved.site == site.id
    assert saved.version == 1
    assert saved.created_at == now
    events = await audit_events("asset")
    assert len(events) == events_before + 1
    event = events[-1]
    assert (event["action"], event["entity_id"], event["actor"]) == (
        "asset.created",
        asset.id,
        alice.id,
    )
    assert event["changes"]["code"] == [None, "GX-QL-PH-001"]
    assert event["changes"]["site_id"] == [None, site.id]
    assert event["changes"]["built_year"] == [None, 2019]
    assert event["changes"]["asset_type"] == [None, "suspension_footbridge"]
    # Fields left empty (None before and after) are not listed.
    assert "lat" not in event["changes"]
    assert "condition_grade" not in event["changes"]


async def test_update_asset_bumps_version_and_audits_the_difference(personas, now):
    alice = personas["alice"]
    site = await make_site()
    asset = await assets.create_asset(alice, asset_in(site, built_year=2019), now)
    later = now + dt.timedelta(days=1)

    updated = await assets.update_asset(
        alice,
        asset.id,
        asset_in(site, built_year=2018, lat=22.5, lng=113.9, crowd_limit=200, version=1),
        later,
    )

    assert (updated.version, updated.built_year, updated.crowd_limit) == (2, 2018, 200)
    assert updated.updated_at == later
    assert updated.created_at == now
    event = (await audit_events("asset"))[-1]
    assert event["action"] == "asset.updated"
    assert event["actor_name"] == alice.display_name
    assert event["changes"] == {
        "built_year": [2019, 2018],
        "crowd_limit": [None, 200],
        "lat": [None, 22.5],
        "lng": [None, 113.9],
    }


@pytest.mark.parametrize("who", ["dave", "carol", "bob"])
async def test_only_editors_may_write_the_register(personas, now, who):
    actor = personas[who]
    site = await make_site()
    asset = await make_asset(site)
    component = await make_component(asset)
    before = await row_counts()

    attempts = [
        assets.create_site(actor, SiteIn(name_zh="新公园"), now),
        assets.update_site(actor, site.id, SiteIn(name_zh="改名", version=1), now),
        assets.create_asset(actor, asset_in(site, code="GX-NEW-001"), now),
        assets.update_asset(actor, asset.id, asset_in(site, code="GX-NEW-002", version=1), now),
        assets.create_component(actor, asset.id, ComponentIn(name_zh="吊杆"), now),
        assets.update_component(actor, component.id, ComponentIn(name_zh="改", version=1), now),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            await attempt

    assert await row_counts() == before
    assert (await Site.objects().where(Site.id == site.id).first()).version == 1
    # Everyone on the staff may read.
    assert (await assets.get_asset(actor, asset.id, now)).asset.code == asset.code


async def test_admin_may_edit(personas, now):
    site = await make_site()
    asset = await assets.create_asset(personas["admin"], asset_in(site), now)
    assert asset.id is not None


async def test_duplicate_asset_code_is_a_field_error(personas, now):
    alice = personas["alice"]
    site = await make_site()
    await assets.create_asset(alice, asset_in(site, code="GX-QL-PH-001"), now)
    second = await assets.create_asset(alice, asset_in(site, code="GX-QL-PH-002"), now)
    before = await row_counts()

    with pytest.raises(ValidationFailed) as created:
        await assets.create_asset(alice, asset_in(site, code="GX-QL-PH-001"), now)
    with pytest.raises(ValidationFailed) as updated:
        await assets.update_asset(
            alice, second.id, asset_in(site, code="GX-QL-PH-001", version=1), now
        )

    assert set(created.value.errors) == {"code"}
    assert set(updated.value.errors) == {"code"}
    assert await row_counts() == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"built_year": 2027}, "built_year"),
        ({"built_year": 2100}, "built_year"),
        ({"condition_graded_on": dt.date(2026, 11, 30)}, "condition_graded_on"),
        ({"lat": 22.5}, "lng"),
        ({"lng": 113.9}, "lat"),
        ({"site_id": 999_999}, "site_id"),
        ({"site_id": 2**31}, "site_id"),
    ],
)
async def test_asset_rules_name_the_wrong_field(personas, now, fields, field):
    site = await make_site()
    before = await row_counts()

    with pytest.raises(ValidationFailed) as caught:
        await assets.create_asset(personas["alice"], asset_in(site, **fields), now)

    assert field in caught.value.errors
    assert caught.value.errors[field]
    assert await row_counts() == before


async def test_this_years_and_todays_values_are_accepted_in_the_bureaus_morning(personas):
    # 07:00 on 28 November in Shanghai is still 27 November in UTC: a grading done this
    # morning must not count as "in the future".
    shanghai_morning = dt.datetime(2026, 11, 27, 23, 0, tzinfo=dt.UTC)
    site = await make_site()

    asset = await assets.create_asset(
        personas["alice"],
        asset_in(
            site, built_year=2026, condition_grade="B", condition_graded_on=dt.date(2026, 11, 28)
        ),
        shanghai_morning,
    )

    assert asset.condition_graded_on == dt.date(2026, 11, 28)


async def test_stale_asset_version_is_a_conflict_and_changes_nothing(personas, now):
    alice = personas["alice"]
    site = await make_site()
    asset = await assets.create_asset(alice, asset_in(site), now)
    await assets.update_asset(alice, asset.id, asset_in(site, built_year=2019, version=1), now)
    before = await row_counts()

    with pytest.raises(Conflict):
        await assets.update_asset(alice, asset.id, asset_in(site, name_zh="旧表单", version=1), now)

    saved = await Asset.objects().where(Asset.id == asset.id).first()
    assert (saved.name_zh, saved.built_year, saved.version) == ("平湖公园景观悬索桥", 2019, 2)
    assert await row_counts() == before


async def test_update_without_version_is_refused(personas, now):
    alice = personas["alice"]
    site = await make_site()
    asset = await assets.create_asset(alice, asset_in(site), now)

    with pytest.raises(ValidationFailed) as caught:
        await assets.update_asset(alice, asset.id, asset_in(site, name_zh="无版本"), now)

    assert "version" in caught.value.errors
    assert (await Asset.objects().where(Asset.id == asset.id).first()).name_zh != "无版本"


@pytest.mark.parametrize("bad_id", OUT_OF_RANGE_IDS)
async def test_ids_out_of_range_are_not_found(personas, now, bad_id):
    alice = personas["alice"]
    site = await make_site()

    for attempt in [
        assets.get_site(alice, bad_id),
        assets.get_asset(alice, bad_id, now),
        assets.get_component(alice, bad_id),
        assets.list_components(alice, bad_id),
        assets.update_site(alice, bad_id, SiteIn(name_zh="某", version=1), now),
        assets.update_asset(alice, bad_id, asset_in(site, version=1), now),
        assets.create_component(alice, bad_id, ComponentIn(name_zh="主缆"), now),
        assets.update_component(alice, bad_id, ComponentIn(name_zh="主缆", version=1), now),
    ]:
        with pytest.raises(NotFound):
            await attempt
    assert await assets.find_site(bad_id) is None


@pytest.mark.parametrize("bad_id", OUT_OF_RANGE_IDS)
async def test_filtering_by_an_impossible_site_finds_nothing(personas, now, bad_id):
    await make_asset()
    page = await assets.list_assets(personas["dave"], AssetFilters(site=bad_id), now)
    assert (page.total, list(page.items)) == (0, [])


async def test_unknown_ids_in_range_are_not_found(personas, now):
    with pytest.raises(NotFound):
        await assets.get_asset(personas["alice"], 123_456, now)


async def test_list_assets_filters_and_pages(personas, now):
    park, plaza = await make_site("平湖公园"), await make_site("雁鸣溪广场")
    for n in range(1, 6):
        await make_asset(park, code=f"GX-PH-{n:03d}")
    await make_asset(plaza, code="GX-YM-001", asset_type=AssetType.PLAYGROUND)
    await make_asset(
        plaza, code="GX-YM-002", asset_type=AssetType.PAVILION, lifecycle=Lifecycle.DECOMMISSIONED
    )
    dave = personas["dave"]

    first = await assets.list_assets(dave, AssetFilters(site=park.id, per_page=2), now)
    third = await assets.list_assets(dave, AssetFilters(site=park.id, per_page=2, page=3), now)
    by_type = await assets.list_assets(dave, AssetFilters(type=AssetType.PLAYGROUND), now)
    by_status = await assets.list_assets(dave, AssetFilters(status=Lifecycle.DECOMMISSIONED), now)

    assert [r.asset.code for r in first.items] == ["GX-PH-001", "GX-PH-002"]
    assert (first.total, first.pages, first.has_next, first.has_previous) == (5, 3, True, False)
    assert [r.asset.code for r in third.items] == ["GX-PH-005"]
    assert (third.has_next, third.has_previous) == (False, True)
    assert [r.asset.code for r in by_type.items] == ["GX-YM-001"]
    assert [r.asset.code for r in by_status.items] == ["GX-YM-002"]
    assert first.items[0].site_name_zh == "平湖公园"


async def test_search_matches_code_and_both_names_case_insensitively(personas, now):
    site = await make_site()
    await make_asset(site, code="GX-QL-PH-001", name_zh="平湖悬索桥", name_en="Pinghu Bridge")
    await make_asset(site, code="GX-TY-002", name_zh="儿童乐园", name_en="Playground")
    dave = personas["dave"]

    async def codes(q: str) -> list[str]:
        page = await assets.list_assets(dave, AssetFilters(q=q), now)
        return [r.asset.code for r in page.items]

    assert await codes("ql-ph") == ["GX-QL-PH-001"]
    assert await codes("悬索") == ["GX-QL-PH-001"]
    assert await codes("PLAYGROUND") == ["GX-TY-002"]
    assert await codes("  乐园 ") == ["GX-TY-002"]
    assert await codes("nothing like this") == []


async def test_search_wildcards_are_matched_literally(personas, now):
    site = await make_site()
    await make_asset(site, code="GX-A-001", name_zh="坡度50%的步道", name_en="Ramp 50% grade")
    await make_asset(site, code="GX-A-002", name_zh="坡度500的步道", name_en="Ramp 500 grade")
    await make_asset(site, code="GX-A-003", name_zh="甲_乙栈道", name_en="A_B boardwalk")
    await make_asset(site, code="GX-A-004", name_zh="甲乙丙栈道", name_en="AxB boardwalk")
    await make_asset(site, code="GX-A-005", name_zh="反斜杠\\栈道", name_en="Back\\slash")
    dave = personas["dave"]

    async def codes(q: str) -> list[str]:
        page = await assets.list_assets(dave, AssetFilters(q=q), now)
        return [r.asset.code for r in page.items]

    assert await codes("50%") == ["GX-A-001"]
    assert await codes("%") == ["GX-A-001"]
    assert await codes("a_b") == ["GX-A-003"]
    assert await codes("甲_") == ["GX-A-003"]
    assert await codes("\\") == ["GX-A-005"]


async def test_iter_assets_yields_every_match_across_batches(personas, now):
    site = await make_site()
    for n in range(7):
        await make_asset(site, code=f"GX-IT-{n:03d}")
    await make_asset(site, code="GX-OTHER-1", asset_type=AssetType.PAVILION)

    codes = [
        row.asset.code
        async for row in assets.iter_assets(
            personas["dave"], AssetFilters(type=AssetType.FOOTBRIDGE), now, batch=3
        )
    ]

    assert codes == [f"GX-IT-{n:03d}" for n in range(7)]


# --- components ----------------------------------------------------------------------------


async def test_create_and_update_component_are_audited_under_the_asset(personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    later = now + dt.timedelta(hours=2)

    cable = await assets.create_component(
        alice,
        asset.id,
        ComponentIn(
            name_zh="主缆",
            kind=ComponentKind.MAIN_CABLE,
            group=ComponentGroup.SUPERSTRUCTURE,
            is_critical=True,
        ),
        now,
    )
    updated = await assets.update_component(
        alice,
        cable.id,
        ComponentIn(
            name_zh="主缆",
            name_en="Main cable",
            kind=ComponentKind.MAIN_CABLE,
            group=ComponentGroup.SUPERSTRUCTURE,
            is_critical=True,
            version=1,
        ),
        later,
    )

    assert (updated.version, updated.name_en, updated.updated_at) == (2, "Main cable", later)
    created_event, updated_event = [
        e for e in await audit_events("asset") if e["action"].startswith("component.")
    ]
    assert created_event["action"] == "component.created"
    assert created_event["entity_id"] == asset.id
    assert created_event["actor"] == alice.id
    assert created_event["changes"]["name_zh"] == [None, "主缆"]
    assert created_event["changes"]["is_critical"] == [None, True]
    assert updated_event["action"] == "component.updated"
    assert updated_event["changes"] == {"name_en": ["", "Main cable"]}


async def test_components_list_in_tree_order_with_depth(personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    other = await make_asset()
    await make_component(other, "别的桥的主缆")
    deck = await make_component(asset, "桥面系", position=2)
    cable = await make_component(asset, "主缆", position=1)
    clamp = await make_component(asset, "索夹", parent_id=cable.id, position=1)
    hanger = await make_component(asset, "吊杆", parent_id=cable.id, position=0)
    bolt = await make_component(asset, "索夹螺栓", parent_id=clamp.id)
    plank = await make_component(asset, "木桥面板", parent_id=deck.id)

    tree = await assets.list_components(personas["dave"], asset.id)

    assert [(c.id, c.depth) for c in tree] == [
        (cable.id, 0),
        (hanger.id, 1),
        (clamp.id, 1),
        (bolt.id, 2),
        (deck.id, 0),
        (plank.id, 1),
    ]
    assert tree[3].parent_id == clamp.id
    assert all(c.asset_id == asset.id for c in tree)
    assert alice  # the tree is readable by a viewer (dave), written by alice


async def test_component_parent_must_belong_to_the_same_asset(personas, now):
    alice = personas["alice"]
    asset, other = await make_asset(), await make_asset()
    foreign = await make_component(other, "别的桥的主缆")
    mine = await make_component(asset, "主缆")
    before = await row_counts()

    with pytest.raises(ValidationFailed) as created:
        await assets.create_component(
            alice, asset.id, ComponentIn(name_zh="吊杆", parent_id=foreign.id), now
        )
    with pytest.raises(ValidationFailed) as moved:
        await assets.update_component(
            alice, mine.id, ComponentIn(name_zh="主缆", parent_id=foreign.id, version=1), now
        )
    with pytest.raises(ValidationFailed) as missing:
        await assets.create_component(
            alice, asset.id, ComponentIn(name_zh="吊杆", parent_id=2**31 - 1), now
        )

    for caught in (created, moved, missing):
        assert set(caught.value.errors) == {"parent_id"}
    assert await row_counts() == before


async def test_a_component_cannot_move_under_itself_or_its_descendants(personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    cable = await make_component(asset, "主缆")
    clamp = await make_component(asset, "索夹", parent_id=cable.id)
    bolt = await make_component(asset, "螺栓", parent_id=clamp.id)
    before = await row_counts()

    for new_parent in (cable.id, clamp.id, bolt.id):
        with pytest.raises(ValidationFailed) as caught:
            await assets.update_component(
                alice, cable.id, ComponentIn(name_zh="主缆", parent_id=new_parent, version=1), now
            )
        assert set(caught.value.errors) == {"parent_id"}

    assert await row_counts() == before
    saved = await Component.objects().where(Component.id == cable.id).first()
    assert (saved.parent, saved.version) == (None, 1)
    # Moving a leaf up to the top, or a branch under a sibling, is fine.
    moved = await assets.update_component(
        alice, bolt.id, ComponentIn(name_zh="螺栓", parent_id=cable.id, version=1), now
    )
    assert moved.parent == cable.id


async def test_stale_component_version_is_a_conflict(personas, now):
    alice = personas["alice"]
    asset = await make_asset()
    cable = await make_component(asset, "主缆")
    await assets.update_component(alice, cable.id, ComponentIn(name_zh="主缆一", version=1), now)
    before = await row_counts()

    with pytest.raises(Conflict):
        await assets.update_component(
            alice, cable.id, ComponentIn(name_zh="主缆二", version=1), now
        )

    saved = await Component.objects().where(Component.id == cable.id).first()
    assert (saved.name_zh, saved.version) == ("主缆一", 2)
    assert await row_counts() == before


async def test_component_depth_of_a_single_component(personas, now):
    asset = await make_asset()
    cable = await make_component(asset, "主缆")
    clamp = await make_component(asset, "索夹", parent_id=cable.id)
    bolt = await make_component(asset, "螺栓", parent_id=clamp.id)

    assert await assets.component_depth(cable) == 0
    assert await assets.component_depth(bolt) == 2


async def test_concurrent_duplicates_get_the_field_error_not_a_database_error(personas, now):
    """Two saves can both pass the "is it taken?" check; the unique index then refuses one of
    them, which must read as the same field error, not a database error."""
    alice = personas["alice"]
    site = await make_site()
    same_code = asset_in(site, code="GX-RACE-001")

    sites = await asyncio.gather(
        *(assets.create_site(alice, SiteIn(name_zh="同名公园"), now) for _ in range(3)),
        return_exceptions=True,
    )
    assets_made = await asyncio.gather(
        *(assets.create_asset(alice, same_code, now) for _ in range(3)),
        return_exceptions=True,
    )

    for results, field in ((sites, "name_zh"), (assets_made, "code")):
        failures = [r for r in results if isinstance(r, BaseException)]
        assert len(failures) == 2, results
        for failure in failures:
            assert isinstance(failure, ValidationFailed), repr(failure)
            assert set(failure.errors) == {field}
    assert await Site.count().where(Site.name_zh == "同名公园") == 1
    assert await Asset.count().where(Asset.code == "GX-RACE-001") == 1
    created = [e for e in await audit_events() if e["action"] in ("site.created", "asset.created")]
    assert len(created) == 3  # the factory's site, one site, one asset
