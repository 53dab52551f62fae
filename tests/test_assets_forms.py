"""Asset register forms: creating an asset (every typed value kept and each field explained on
an error, in either language), editing it (a stale edit is a 409 that keeps the typed values and
saves on retry), its components, and the sites."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from facilities.assets import services as assets
from facilities.assets.choices import AssetType
from facilities.assets.schemas import AssetIn, ComponentIn, SiteIn
from facilities.assets.tables import Asset, Component, Site
from facilities.audit.tables import AuditEvent
from tests.kit.assets import make_asset, make_component, make_site
from tests.kit.clients import follow, post_form
from tests.kit.pages import Page, english


def asset_form(site: Site, **fields: Any) -> dict[str, Any]:
    """A complete, valid asset form as a browser sends it (checkboxes left out when off)."""
    form = {
        "code": "GX-QL-PH-001",
        "asset_type": "suspension_footbridge",
        "name_zh": "平湖公园景观悬索桥",
        "name_en": "Pinghu Park suspension footbridge",
        "site_id": str(site.id),
        "lifecycle": "in_use",
        "lat": "22.55",
        "lng": "113.94",
        "location_note": "湖心岛东侧",
        "built_year": "2012",
        "length_m": "120.5",
        "width_m": "2.4",
        "span_m": "96",
        "structure_type": "suspension",
        "deck_material": "timber",
        "main_material": "steel",
        "crowd_limit": "200",
        "is_tension_critical": "true",
        "maintenance_class": "II",
        "maintenance_grade": "I",
        "condition_grade": "B",
        "condition_graded_on": "2020-05-01",
        "description": "湖面上的景观悬索桥。",
    }
    form.update(fields)
    return {k: v for k, v in form.items() if v is not None}


# --- create ----------------------------------------------------------------------------------


async def test_create_redirects_to_the_new_asset_with_a_message_shown_once(login):
    site = await make_site("平湖公园")
    alice = await login("alice")

    form = await alice.get("/assets/new", params={"site": site.id})
    assert form.status_code == 200
    assert Page(form.text).values["site_id"] == str(site.id)

    response = await post_form(alice, "/assets", asset_form(site))

    assert response.status_code == 303
    asset = await Asset.objects().where(Asset.code == "GX-QL-PH-001").first()
    assert response.headers["location"] == f"/assets/{asset.id}"
    assert (asset.built_year, asset.crowd_limit, asset.span_m) == (2012, 200, 96.0)
    assert (asset.is_tension_critical, asset.is_special_structure) == (True, False)
    assert asset.condition_graded_on == dt.date(2020, 5, 1)
    shown = await alice.get(response.headers["location"])
    assert "资产 GX-QL-PH-001 已创建。" in shown.text
    again = await alice.get(response.headers["location"])
    assert "已创建" not in again.text
    event = (
        await AuditEvent.objects()
        .where((AuditEvent.entity_type == "asset") & (AuditEvent.entity_id == asset.id))
        .first()
    )
    assert (event.action, event.actor_name) == ("asset.created", "Alice")


async def test_invalid_create_keeps_every_typed_value_and_explains_each_field(login):
    site = await make_site("平湖公园")
    alice = await login("alice")
    typed = asset_form(
        site,
        code="bad code",
        lat="200",
        built_year="abc",
        crowd_limit="0",
        asset_type="castle",
        name_zh="",
        description="<b>不要</b>当作 HTML",
    )

    response = await post_form(alice, "/assets", typed)

    assert response.status_code == 400
    page = Page(response.text)
    for name, value in typed.items():
        if name == "is_tension_critical":
            assert name in page.checked
        elif name != "asset_type":  # "castle" is not an option to select
            assert page.values[name] == value, name
    assert page.errors == {
        "code": "该值格式不正确。",
        "lat": "请输入 -90 至 90 之间的数字。",
        "built_year": "请输入整数。",
        "crowd_limit": "请输入 1 至 1000000 之间的数字。",
        "asset_type": "请从列出的选项中选择。",
        "name_zh": "此项为必填项。",
    }
    assert "请修改标出的字段。" in page.text
    assert "<b>不要</b>" not in response.text
    assert await Asset.count() == 0


async def test_invalid_create_speaks_english_with_the_language_cookie(login):
    site = await make_site()
    alice = english(await login("alice"))

    response = await post_form(
        alice, "/assets", asset_form(site, code="bad code", lat="200", built_year="abc")
    )

    assert response.status_code == 400
    page = Page(response.text)
    assert page.errors == {
        "code": "This value is not in the expected format.",
        "lat": "Enter a number from -90 to 90.",
        "built_year": "Enter a whole number.",
    }
    assert "Please correct the highlighted fields." in page.text


async def test_rules_checked_by_the_service_show_next_to_their_fields(login):
    site = await make_site()
    await make_asset(site, code="GX-QL-PH-001")
    alice = await login("alice")

    response = await post_form(
        alice,
        "/assets",
        asset_form(site, built_year="2099", lng="", site_id="999999", code="GX-QL-PH-001"),
    )

    assert response.status_code == 400
    page = Page(response.text)
    assert page.errors == {
        "code": "已存在相同编号的资产。",
        "built_year": "建成年份不能晚于今年。",
        "lng": "纬度和经度须同时填写或同时留空。",
        "site_id": "请选择已有的场所。",
    }
    assert page.values["built_year"] == "2099"
    assert await Asset.count() == 1


@pytest.mark.parametrize("who", ["dave", "carol", "bob"])
async def test_only_editors_get_the_forms(login, who):
    site = await make_site()
    asset = await make_asset(site)
    component = await make_component(asset)
    client = await login(who)

    for path in (
        "/assets/new",
        f"/assets/{asset.id}/edit",
        f"/assets/{asset.id}/components/new",
        f"/assets/components/{component.id}/edit",
        "/sites/new",
        f"/sites/{site.id}/edit",
    ):
        response = await client.get(path)
        assert response.status_code == 403, path
    posted = await post_form(client, "/assets", asset_form(site, code="GX-NEW-001"))
    assert posted.status_code == 403
    assert await Asset.count() == 1


# --- edit and conflicts ----------------------------------------------------------------------


async def test_edit_form_shows_the_saved_values_and_saves(login):
    site = await make_site()
    alice = await login("alice")
    created = await post_form(alice, "/assets", asset_form(site))
    asset_id = int(created.headers["location"].rsplit("/", 1)[1])

    form = await alice.get(f"/assets/{asset_id}/edit")
    page = Page(form.text)
    assert page.values["code"] == "GX-QL-PH-001"
    assert page.values["lat"] == "22.55"
    assert page.values["deck_material"] == "timber"
    assert page.values["version"] == "1"
    assert "is_tension_critical" in page.checked
    assert "is_special_structure" not in page.checked

    values = {**page.values, "built_year": "2013"}
    values.pop("_csrf_token")
    values.pop("q", None)
    saved = await post_form(alice, f"/assets/{asset_id}", values)

    shown = await follow(alice, saved)
    assert "修改已保存。" in shown.text
    asset = await Asset.objects().where(Asset.id == asset_id).first()
    assert (asset.built_year, asset.version, asset.is_tension_critical) == (2013, 2, False)


async def test_stale_edit_is_a_409_that_keeps_the_typed_values_and_saves_on_retry(
    login, personas, now
):
    site = await make_site()
    alice = await login("alice")
    created = await post_form(alice, "/assets", asset_form(site))
    asset_id = int(created.headers["location"].rsplit("/", 1)[1])
    # Someone else saves first.
    current = await Asset.objects().where(Asset.id == asset_id).first()
    await assets.update_asset(
        personas["admin"],
        asset_id,
        AssetIn(
            code=current.code,
            name_zh="平湖桥（管理员改）",
            asset_type=AssetType.BRIDGE,
            site_id=site.id,
            version=1,
        ),
        now,
    )

    mine = asset_form(site, name_zh="平湖桥（我改的）", built_year="2010", version="1")
    response = await post_form(alice, f"/assets/{asset_id}", mine)

    assert response.status_code == 409
    assert "在您编辑期间，他人已保存了该记录" in response.text
    page = Page(response.text)
    assert page.values["name_zh"] == "平湖桥（我改的）"
    assert page.values["built_year"] == "2010"
    assert page.values["version"] == "2"  # saving again replaces the other person's version
    # What the other person saved is shown beside, field by field, in the reader's words.
    theirs = dict(re.findall(r'<dd data-field="(\w+)">([^<]*)</dd>', response.text))
    assert theirs["name_zh"] == "平湖桥（管理员改）"
    assert theirs["asset_type"] == "车行桥"
    assert theirs["is_tension_critical"] == "否"
    assert theirs["built_year"] == "—"
    assert "名称（中文）" in page.text
    assert "is_special_structure" not in theirs  # unticked on both sides: not a difference
    assert "site_id" not in theirs
    saved = await Asset.objects().where(Asset.id == asset_id).first()
    assert (saved.name_zh, saved.version) == ("平湖桥（管理员改）", 2)

    retry = {**mine, "version": page.values["version"]}
    again = await post_form(alice, f"/assets/{asset_id}", retry)

    assert again.status_code == 303
    saved = await Asset.objects().where(Asset.id == asset_id).first()
    assert (saved.name_zh, saved.built_year, saved.version) == ("平湖桥（我改的）", 2010, 3)


async def test_edit_without_a_version_is_refused(login):
    site = await make_site()
    asset = await make_asset(site, code="GX-QL-PH-001")
    alice = await login("alice")

    response = await post_form(alice, f"/assets/{asset.id}", asset_form(site))

    assert response.status_code == 400
    assert (await Asset.objects().where(Asset.id == asset.id).first()).version == 1


# --- components ------------------------------------------------------------------------------


async def test_add_and_edit_components(login):
    asset = await make_asset(code="GX-QL-PH-001")
    cable = await make_component(asset, "主缆")
    alice = await login("alice")

    form = await alice.get(f"/assets/{asset.id}/components/new")
    assert form.status_code == 200
    assert "主缆" in form.text  # offered as a parent
    added = await post_form(
        alice,
        f"/assets/{asset.id}/components",
        {
            "name_zh": "索夹",
            "name_en": "Cable clamp",
            "kind": "cable_clamp",
            "group": "superstructure",
            "parent_id": str(cable.id),
            "position": "2",
            "is_critical": "true",
            "notes": "",
        },
    )
    assert added.status_code == 303
    assert added.headers["location"] == f"/assets/{asset.id}#components"
    clamp = await Component.objects().where(Component.name_zh == "索夹").first()
    assert (clamp.parent, clamp.position, clamp.is_critical) == (cable.id, 2, True)
    shown = await alice.get(f"/assets/{asset.id}")
    assert "构件已添加。" in shown.text

    edit = await alice.get(f"/assets/components/{clamp.id}/edit")
    page = Page(edit.text)
    assert (page.values["name_zh"], page.values["parent_id"], page.values["version"]) == (
        "索夹",
        str(cable.id),
        "1",
    )
    assert f'<option value="{clamp.id}"' not in edit.text  # not its own parent
    values = {k: v for k, v in page.values.items() if k != "_csrf_token"}
    values.update(name_zh="索夹（东）", parent_id="")
    saved = await post_form(alice, f"/assets/components/{clamp.id}", values)
    assert saved.status_code == 303
    clamp = await Component.objects().where(Component.id == clamp.id).first()
    assert (clamp.name_zh, clamp.parent, clamp.version, clamp.is_critical) == (
        "索夹（东）",
        None,
        2,
        False,
    )


async def test_the_parent_list_offers_only_possible_parents(login):
    asset = await make_asset()
    cable = await make_component(asset, "主缆")
    clamp = await make_component(asset, "索夹", parent_id=cable.id)
    bolt = await make_component(asset, "螺栓", parent_id=clamp.id)
    deck = await make_component(asset, "桥面")
    await make_component(await make_asset(), "别的桥的构件")
    alice = await login("alice")

    def parents(html: str) -> list[str]:
        select = html.split('name="parent_id"')[1].split("</select>")[0]
        return re.findall(r'<option value="(\d+)"', select)

    for_cable = await alice.get(f"/assets/components/{cable.id}/edit")
    for_clamp = await alice.get(f"/assets/components/{clamp.id}/edit")
    for_new = await alice.get(f"/assets/{asset.id}/components/new")

    assert parents(for_cable.text) == [str(deck.id)]
    assert parents(for_clamp.text) == [str(cable.id), str(deck.id)]
    assert parents(for_new.text) == [str(c.id) for c in (cable, clamp, bolt, deck)]


async def test_invalid_component_forms_are_400_with_field_messages(login):
    asset = await make_asset()
    cable = await make_component(asset, "主缆")
    clamp = await make_component(asset, "索夹", parent_id=cable.id)
    alice = await login("alice")

    empty = await post_form(
        alice, f"/assets/{asset.id}/components", {"name_zh": "", "kind": "rope", "position": "-1"}
    )
    cycle = await post_form(
        alice,
        f"/assets/components/{cable.id}",
        {
            "name_zh": "主缆",
            "kind": "main_cable",
            "group": "superstructure",
            "parent_id": str(clamp.id),
            "version": "1",
        },
    )

    assert empty.status_code == 400
    assert set(Page(empty.text).errors) == {"name_zh", "kind", "position"}
    assert cycle.status_code == 400
    assert set(Page(cycle.text).errors) == {"parent_id"}
    assert await Component.count() == 2


async def test_stale_component_edit_is_a_409_and_a_retry_saves(login, personas, now):
    asset = await make_asset()
    cable = await make_component(asset, "主缆")
    await assets.update_component(
        personas["admin"], cable.id, ComponentIn(name_zh="主缆（管理员）", version=1), now
    )
    alice = await login("alice")
    mine = {
        "name_zh": "主缆（我）",
        "kind": "main_cable",
        "group": "superstructure",
        "version": "1",
    }

    response = await post_form(alice, f"/assets/components/{cable.id}", mine)

    assert response.status_code == 409
    page = Page(response.text)
    assert page.values["name_zh"] == "主缆（我）"
    assert page.values["version"] == "2"
    retry = await post_form(alice, f"/assets/components/{cable.id}", {**mine, "version": "2"})
    assert retry.status_code == 303
    saved = await Component.objects().where(Component.id == cable.id).first()
    assert (saved.name_zh, saved.version) == ("主缆（我）", 3)


async def test_a_form_fixed_after_an_error_still_detects_a_conflict(login, personas, now):
    """The version a form carries is the one the person started from: re-rendering a form for a
    typo must not quietly adopt a newer version someone else saved meanwhile."""
    asset = await make_asset()
    cable = await make_component(asset, "主缆")
    site = await make_site("平湖公园")
    alice = await login("alice")
    # alice opened both forms at version 1; then the admin saves both records.
    await assets.update_component(
        personas["admin"], cable.id, ComponentIn(name_zh="主缆（管理员）", version=1), now
    )
    await assets.update_site(
        personas["admin"], site.id, SiteIn(name_zh="平湖公园", address="管理员填的", version=1), now
    )

    typo_component = await post_form(
        alice, f"/assets/components/{cable.id}", {"name_zh": "", "version": "1"}
    )
    typo_site = await post_form(alice, f"/sites/{site.id}", {"name_zh": "", "version": "1"})

    assert typo_component.status_code == 400
    assert typo_site.status_code == 400
    component_form = Page(typo_component.text).values
    site_form = Page(typo_site.text).values
    assert component_form["version"] == "1"
    assert site_form["version"] == "1"
    fixed_component = await post_form(
        alice,
        f"/assets/components/{cable.id}",
        {**component_form, "name_zh": "主缆（我）", "_csrf_token": None},
    )
    fixed_site = await post_form(
        alice, f"/sites/{site.id}", {**site_form, "name_zh": "平湖公园", "_csrf_token": None}
    )
    assert fixed_component.status_code == 409
    assert fixed_site.status_code == 409
    saved = await Component.objects().where(Component.id == cable.id).first()
    assert saved.name_zh == "主缆（管理员）"
    assert (await Site.objects().where(Site.id == site.id).first()).address == "管理员填的"


# --- sites -----------------------------------------------------------------------------------


async def test_sites_list_create_and_edit(login):
    park = await make_site("平湖公园", address="平湖路1号")
    await make_asset(park)
    alice = await login("alice")

    listing = await alice.get("/sites")
    assert listing.status_code == 200
    assert "平湖公园" in listing.text
    assert f'href="/assets?site={park.id}">1</a>' in listing.text
    assert "/sites/new" in listing.text

    duplicate = await post_form(alice, "/sites", {"name_zh": "平湖公园", "kind": "park"})
    assert duplicate.status_code == 400
    assert set(Page(duplicate.text).errors) == {"name_zh"}
    bad = await post_form(alice, "/sites", {"name_zh": "雁鸣溪广场", "kind": "zoo", "lat": "91"})
    assert bad.status_code == 400
    assert set(Page(bad.text).errors) == {"kind", "lat"}
    assert Page(bad.text).values["name_zh"] == "雁鸣溪广场"

    created = await post_form(
        alice,
        "/sites",
        {
            "name_zh": "雁鸣溪广场",
            "name_en": "Yanming Plaza",
            "kind": "plaza",
            "lat": "22.5",
            "lng": "113.9",
        },
    )
    assert created.status_code == 303
    shown = await follow(alice, created)
    assert "场所已创建。" in shown.text
    assert "雁鸣溪广场" in shown.text
    plaza = await Site.objects().where(Site.name_zh == "雁鸣溪广场").first()
    assert (plaza.kind, plaza.lat) == ("plaza", 22.5)

    edit = await alice.get(f"/sites/{plaza.id}/edit")
    page = Page(edit.text)
    assert (page.values["name_en"], page.values["kind"], page.values["version"]) == (
        "Yanming Plaza",
        "plaza",
        "1",
    )
    values = {k: v for k, v in page.values.items() if k != "_csrf_token"}
    saved = await post_form(alice, f"/sites/{plaza.id}", {**values, "address": "雁鸣路"})
    assert saved.status_code == 303
    stale = await post_form(alice, f"/sites/{plaza.id}", {**values, "address": "旧表单"})
    assert stale.status_code == 409
    assert Page(stale.text).values["address"] == "旧表单"
    plaza = await Site.objects().where(Site.id == plaza.id).first()
    assert (plaza.address, plaza.version) == ("雁鸣路", 2)


async def test_viewers_see_sites_without_edit_links(login):
    site = await make_site("平湖公园")
    dave = await login("dave")
    response = await dave.get("/sites")
    assert response.status_code == 200
    assert "平湖公园" in response.text
    assert f"/sites/{site.id}/edit" not in response.text
    assert "/sites/new" not in response.text
