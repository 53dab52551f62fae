"""The asset register JSON API under /api/v1 and its OpenAPI description."""

from __future__ import annotations

from typing import Any

import pytest

from facilities.assets.choices import AssetType, Lifecycle
from facilities.assets.tables import Asset, Component, Site
from facilities.audit.tables import AuditEvent
from tests.kit.assets import make_asset, make_component, make_site
from tests.kit.clients import error_keys, mentions


def asset_body(site: int, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "GX-QL-PH-001",
        "name_zh": "平湖公园景观悬索桥",
        "name_en": "Pinghu Park suspension footbridge",
        "asset_type": "suspension_footbridge",
        "site_id": site,
        "lat": 22.55,
        "lng": 113.94,
        "built_year": 2012,
        "span_m": 96.0,
        "is_tension_critical": True,
    }
    body.update(fields)
    return body


# --- sites ---------------------------------------------------------------------------------


async def test_sites_list_and_show_count_their_assets(api):
    park = await make_site("平湖公园", name_en="Pinghu Park")
    await make_site("雁鸣溪广场")
    await make_asset(park)
    await make_asset(park)
    alice = await api()

    listing = await alice.get("/api/v1/sites")
    shown = await alice.get(f"/api/v1/sites/{park.id}")

    assert listing.status_code == 200
    assert {s["name_zh"]: s["asset_count"] for s in listing.json()} == {
        "平湖公园": 2,
        "雁鸣溪广场": 0,
    }
    assert shown.status_code == 200
    assert shown.json()["name_en"] == "Pinghu Park"
    assert shown.json()["asset_count"] == 2


async def test_create_and_update_a_site(api):
    alice = await api()

    created = await alice.post(
        "/api/v1/sites", {"name_zh": "平湖公园", "kind": "park", "lat": 22.5, "lng": 113.9}
    )
    assert created.status_code == 201
    site = created.json()
    assert (site["name_zh"], site["version"], site["asset_count"]) == ("平湖公园", 1, 0)

    body = {"name_zh": "平湖公园", "address": "平湖路1号", "version": 1}
    updated = await alice.put(f"/api/v1/sites/{site['id']}", body)
    stale = await alice.put(f"/api/v1/sites/{site['id']}", {**body, "address": "旧"})
    unversioned = await alice.put(f"/api/v1/sites/{site['id']}", {"name_zh": "平湖公园"})
    duplicate = await alice.post("/api/v1/sites", {"name_zh": "平湖公园"})

    assert updated.status_code == 200
    assert (updated.json()["address"], updated.json()["version"]) == ("平湖路1号", 2)
    assert stale.status_code == 409
    assert unversioned.status_code == 400
    assert error_keys(unversioned) == {"version"}
    assert duplicate.status_code == 400
    assert error_keys(duplicate) == {"name_zh"}
    saved = await Site.objects().where(Site.id == site["id"]).first()
    assert (saved.address, saved.version) == ("平湖路1号", 2)


# --- assets --------------------------------------------------------------------------------


async def test_asset_list_filters_and_pages(api):
    park, plaza = await make_site("平湖公园"), await make_site("雁鸣溪广场")
    for n in range(1, 6):
        await make_asset(park, code=f"GX-PH-{n:03d}")
    await make_asset(plaza, code="GX-YM-001", asset_type=AssetType.PLAYGROUND, name_en="Kids 50%")
    await make_asset(plaza, code="GX-YM-002", lifecycle=Lifecycle.DECOMMISSIONED)
    alice = await api("dave")

    everything = await alice.get("/api/v1/assets")
    page_two = await alice.get("/api/v1/assets", site=park.id, per_page=2, page=2)
    by_type = await alice.get("/api/v1/assets", type="playground")
    by_status = await alice.get("/api/v1/assets", status="decommissioned")
    by_text = await alice.get("/api/v1/assets", q="50%")

    assert everything.status_code == 200
    body = everything.json()
    assert (body["page"], body["per_page"], body["total"]) == (1, 25, 7)
    assert len(body["items"]) == 7
    body = page_two.json()
    assert [a["code"] for a in body["items"]] == ["GX-PH-003", "GX-PH-004"]
    assert (body["page"], body["per_page"], body["total"]) == (2, 2, 5)
    assert [a["code"] for a in by_type.json()["items"]] == ["GX-YM-001"]
    assert [a["code"] for a in by_status.json()["items"]] == ["GX-YM-002"]
    assert [a["code"] for a in by_text.json()["items"]] == ["GX-YM-001"]
    item = by_type.json()["items"][0]
    assert (item["site_name_zh"], item["operational_status"]) == ("雁鸣溪广场", "in_service")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "castle"}, "type"),
        ({"status": "open"}, "status"),
        ({"site": "abc"}, "site"),
        ({"site": 0}, "site"),
        ({"page": 0}, "page"),
        ({"per_page": 1000}, "per_page"),
        ({"q": "x" * 101}, "q"),
    ],
)
async def test_bad_list_filters_are_400_naming_the_parameter(api, params, field):
    alice = await api()
    response = await alice.get("/api/v1/assets", **params)
    assert response.status_code == 400
    assert field in error_keys(response)


async def test_create_read_and_update_an_asset(api):
    site = await make_site("平湖公园")
    alice = await api()

    created = await alice.post("/api/v1/assets", asset_body(site.id))

    assert created.status_code == 201
    asset = created.json()
    assert asset["code"] == "GX-QL-PH-001"
    assert asset["site_id"] == site.id
    assert asset["site_name_zh"] == "平湖公园"
    assert asset["version"] == 1
    assert asset["is_tension_critical"] is True
    assert asset["operational_status"] == "in_service"

    shown = await alice.get(f"/api/v1/assets/{asset['id']}")
    assert shown.status_code == 200
    assert shown.json() == asset

    updated = await alice.put(
        f"/api/v1/assets/{asset['id']}", asset_body(site.id, built_year=2011, version=1)
    )
    assert updated.status_code == 200
    assert (updated.json()["built_year"], updated.json()["version"]) == (2011, 2)
    actions = await AuditEvent.select(AuditEvent.action).where(AuditEvent.entity_type == "asset")
    asset_actions = [a["action"] for a in actions if a["action"].startswith("asset.")]
    assert asset_actions == ["asset.created", "asset.updated"]
    # A new asset gets the policy's default inspection schedules, filed in its history too.
    assert "schedule.created" in [a["action"] for a in actions]


async def test_stale_or_unversioned_updates_change_nothing(api):
    site = await make_site()
    asset = await make_asset(site, code="GX-QL-PH-001")
    alice = await api()
    url = f"/api/v1/assets/{asset.id}"
    first = await alice.put(url, asset_body(site.id, version=1))
    assert first.status_code == 200

    stale = await alice.put(url, asset_body(site.id, name_zh="旧表单", version=1))
    unversioned = await alice.put(url, asset_body(site.id, name_zh="无版本"))

    assert stale.status_code == 409
    assert stale.json()["detail"]
    assert unversioned.status_code == 400
    assert error_keys(unversioned) == {"version"}
    saved = await Asset.objects().where(Asset.id == asset.id).first()
    assert (saved.name_zh, saved.version) == ("平湖公园景观悬索桥", 2)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"asset_type": "castle"}, "asset_type"),
        ({"lat": 200}, "lat"),
        ({"lng": -181.5}, "lng"),
        ({"code": "bad code"}, "code"),
        ({"code": "gx-lower-001"}, "code"),
        ({"colour": "red"}, "colour"),
        ({"built_year": 1700}, "built_year"),
        ({"built_year": 2012.5}, "built_year"),
        ({"site_id": 0}, "site_id"),
        ({"crowd_limit": 0}, "crowd_limit"),
        ({"condition_graded_on": "yesterday"}, "condition_graded_on"),
    ],
)
async def test_invalid_asset_bodies_are_400_naming_the_field(api, changes, field):
    site = await make_site()
    alice = await api()

    response = await alice.post("/api/v1/assets", asset_body(site.id, **changes))

    assert response.status_code == 400
    assert mentions(response, field), response.json()
    assert await Asset.count() == 0


async def test_missing_required_field_is_400(api):
    site = await make_site()
    alice = await api()
    body = asset_body(site.id)
    del body["name_zh"]

    response = await alice.post("/api/v1/assets", body)

    assert response.status_code == 400
    assert mentions(response, "name_zh")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"built_year": 2099}, "built_year"),
        ({"lng": None}, "lng"),
        ({"site_id": 999_999}, "site_id"),
        ({"code": "GX-TAKEN-001"}, "code"),
    ],
)
async def test_service_rules_are_400_naming_the_field(api, changes, field):
    site = await make_site()
    await make_asset(site, code="GX-TAKEN-001")
    alice = await api()

    response = await alice.post("/api/v1/assets", asset_body(site.id, **changes))

    assert response.status_code == 400
    assert field in error_keys(response)
    assert await Asset.count() == 1


async def test_unknown_ids_are_404(api):
    site = await make_site()
    alice = await api()

    for url in (
        "/api/v1/sites/999999",
        "/api/v1/assets/999999",
        "/api/v1/assets/999999/components",
        "/api/v1/components/999999",
    ):
        response = await alice.get(url)
        assert response.status_code == 404, url
        assert response.json()["status_code"] == 404
    put = await alice.put("/api/v1/assets/999999", asset_body(site.id, version=1))
    assert put.status_code == 404


@pytest.mark.parametrize("bad_id", ["0", "-1", str(2**31), str(2**70)])
async def test_impossible_ids_are_client_errors(api, bad_id):
    alice = await api()
    response = await alice.get(f"/api/v1/assets/{bad_id}")
    assert response.status_code in {400, 404}
    assert response.json()["status_code"] == response.status_code


# --- components ----------------------------------------------------------------------------


async def test_component_tree_create_read_update(api):
    asset = await make_asset()
    alice = await api()
    base = f"/api/v1/assets/{asset.id}/components"

    cable = await alice.post(
        base, {"name_zh": "主缆", "kind": "main_cable", "group": "superstructure"}
    )
    assert cable.status_code == 201
    cable_id = cable.json()["id"]
    clamp = await alice.post(
        base, {"name_zh": "索夹", "kind": "cable_clamp", "parent_id": cable_id, "is_critical": True}
    )
    assert clamp.status_code == 201
    clamp_id = clamp.json()["id"]
    bolt = await alice.post(base, {"name_zh": "螺栓", "parent_id": clamp_id})
    assert (bolt.json()["parent_id"], bolt.json()["depth"]) == (clamp_id, 2)

    tree = await alice.get(base)
    assert tree.status_code == 200
    assert [(c["name_zh"], c["depth"]) for c in tree.json()] == [
        ("主缆", 0),
        ("索夹", 1),
        ("螺栓", 2),
    ]
    one = await alice.get(f"/api/v1/components/{clamp_id}")
    assert one.status_code == 200
    assert one.json() == tree.json()[1]

    updated = await alice.put(
        f"/api/v1/components/{clamp_id}",
        {"name_zh": "索夹", "name_en": "Clamp", "parent_id": cable_id, "version": 1},
    )
    assert updated.status_code == 200
    assert (updated.json()["name_en"], updated.json()["version"], updated.json()["depth"]) == (
        "Clamp",
        2,
        1,
    )


async def test_component_errors(api):
    asset, other = await make_asset(), await make_asset()
    cable = await make_component(asset, "主缆")
    clamp = await make_component(asset, "索夹", parent_id=cable.id)
    foreign = await make_component(other, "别的主缆")
    alice = await api()
    url = f"/api/v1/components/{cable.id}"

    cycle = await alice.put(url, {"name_zh": "主缆", "parent_id": clamp.id, "version": 1})
    elsewhere = await alice.put(url, {"name_zh": "主缆", "parent_id": foreign.id, "version": 1})
    unversioned = await alice.put(url, {"name_zh": "主缆"})
    bad_kind = await alice.post(
        f"/api/v1/assets/{asset.id}/components", {"name_zh": "吊杆", "kind": "rope"}
    )
    ok = await alice.put(url, {"name_zh": "主缆一", "version": 1})
    stale = await alice.put(url, {"name_zh": "主缆二", "version": 1})

    assert cycle.status_code == 400
    assert error_keys(cycle) == {"parent_id"}
    assert elsewhere.status_code == 400
    assert error_keys(elsewhere) == {"parent_id"}
    assert unversioned.status_code == 400
    assert error_keys(unversioned) == {"version"}
    assert bad_kind.status_code == 400
    assert mentions(bad_kind, "kind")
    assert ok.status_code == 200
    assert stale.status_code == 409
    saved = await Component.objects().where(Component.id == cable.id).first()
    assert (saved.name_zh, saved.parent, saved.version) == ("主缆一", None, 2)
    assert await Component.count() == 3


# --- access ----------------------------------------------------------------------------------


async def test_viewers_read_but_cannot_write(api):
    site = await make_site()
    asset = await make_asset(site)
    dave = await api("dave")

    read = await dave.get(f"/api/v1/assets/{asset.id}")
    created = await dave.post("/api/v1/assets", asset_body(site.id))
    updated = await dave.put(f"/api/v1/assets/{asset.id}", asset_body(site.id, version=1))
    component = await dave.post(f"/api/v1/assets/{asset.id}/components", {"name_zh": "主缆"})

    assert read.status_code == 200
    assert [created.status_code, updated.status_code, component.status_code] == [403, 403, 403]
    assert await Asset.count() == 1
    assert await Component.count() == 0


async def test_writes_without_the_csrf_header_are_refused(login):
    site = await make_site()
    alice = await login("alice")

    response = await alice.post("/api/v1/assets", json=asset_body(site.id))

    assert response.status_code == 403
    assert await Asset.count() == 0


async def test_anonymous_callers_get_401_json(anon):
    response = await anon.get("/api/v1/assets")
    assert response.status_code == 401
    assert response.json()["status_code"] == 401


async def test_openapi_lists_the_register_paths(anon):
    response = await anon.get("/schema/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, methods in {
        "/api/v1/sites": {"get", "post"},
        "/api/v1/sites/{site_id}": {"get", "put"},
        "/api/v1/assets": {"get", "post"},
        "/api/v1/assets/{asset_id}": {"get", "put"},
        "/api/v1/assets/{asset_id}/components": {"get", "post"},
        "/api/v1/components/{component_id}": {"get", "put"},
    }.items():
        assert path in paths, sorted(paths)
        assert methods <= set(paths[path]), path
    # HTML pages are not part of the API description.
    assert not any(p.startswith(("/assets", "/sites")) for p in paths)
