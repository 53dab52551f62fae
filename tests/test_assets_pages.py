"""Asset register pages: list, search, filters, pagination, detail. The forms (create, edit,
conflicts, components, sites) are test_assets_forms.py."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from facilities.assets import services as assets
from facilities.assets.choices import AssetType, Lifecycle
from facilities.assets.schemas import AssetIn, ComponentIn
from tests.kit.assets import make_asset, make_component, make_site
from tests.kit.pages import Page, english


def codes_on(response: httpx.Response) -> list[str]:
    return re.findall(r'<a href="/assets/\d+">([^<]+)</a>', response.text)


# --- list, search, filters, pagination -------------------------------------------------------


async def test_anonymous_visitors_are_sent_to_the_login_page(anon):
    response = await anon.get("/assets?site=1")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


async def test_search_matches_code_and_names(login):
    site = await make_site("平湖公园")
    await make_asset(site, code="GX-QL-PH-001", name_zh="平湖悬索桥", name_en="Pinghu Bridge")
    await make_asset(site, code="GX-TY-PH-002", name_zh="儿童乐园", name_en="Kids Playground")
    alice = await login("alice")

    async def search(q: str) -> list[str]:
        response = await alice.get("/assets", params={"q": q})
        assert response.status_code == 200
        return codes_on(response)

    assert await search("QL-PH") == ["GX-QL-PH-001"]
    assert await search("ph-00") == ["GX-QL-PH-001", "GX-TY-PH-002"]
    assert await search("乐园") == ["GX-TY-PH-002"]
    assert await search("pinghu") == ["GX-QL-PH-001"]
    assert await search("无此设施") == []
    # What was searched for stays in the search box.
    response = await alice.get("/assets", params={"q": "乐园"})
    assert Page(response.text).values["q"] == "乐园"


async def test_search_matches_percent_and_underscore_literally(login):
    site = await make_site()
    await make_asset(site, code="GX-A-001", name_zh="坡度50%步道", name_en="Ramp 50%")
    await make_asset(site, code="GX-A-002", name_zh="坡度500步道", name_en="Ramp 500")
    await make_asset(site, code="GX-A-003", name_zh="甲_乙栈道", name_en="A_B walk")
    await make_asset(site, code="GX-A-004", name_zh="甲乙丙栈道", name_en="AxB walk")
    alice = await login("alice")

    percent = await alice.get("/assets", params={"q": "50%"})
    underscore = await alice.get("/assets", params={"q": "A_B"})
    only_percent = await alice.get("/assets", params={"q": "%"})

    assert codes_on(percent) == ["GX-A-001"]
    assert codes_on(underscore) == ["GX-A-003"]
    assert codes_on(only_percent) == ["GX-A-001"]


async def test_filters_by_site_type_and_status(login):
    park, plaza = await make_site("平湖公园"), await make_site("雁鸣溪广场")
    await make_asset(park, code="GX-PH-001")
    await make_asset(park, code="GX-PH-002", asset_type=AssetType.PLAYGROUND)
    await make_asset(plaza, code="GX-YM-001")
    await make_asset(plaza, code="GX-YM-002", lifecycle=Lifecycle.DECOMMISSIONED)
    alice = await login("alice")

    by_site = await alice.get("/assets", params={"site": park.id})
    by_type = await alice.get("/assets", params={"type": "playground"})
    by_status = await alice.get("/assets", params={"status": "decommissioned"})
    combined = await alice.get(
        "/assets", params={"site": plaza.id, "type": "footbridge", "status": "in_use"}
    )
    blank = await alice.get("/assets", params={"q": "", "site": "", "type": "", "status": ""})

    assert codes_on(by_site) == ["GX-PH-001", "GX-PH-002"]
    assert codes_on(by_type) == ["GX-PH-002"]
    assert codes_on(by_status) == ["GX-YM-002"]
    assert codes_on(combined) == ["GX-YM-001"]
    assert codes_on(blank) == ["GX-PH-001", "GX-PH-002", "GX-YM-001", "GX-YM-002"]
    # The chosen filters stay selected.
    page = Page(combined.text)
    assert (page.values["site"], page.values["type"], page.values["status"]) == (
        str(plaza.id),
        "footbridge",
        "in_use",
    )


async def test_pagination_shows_the_rest_on_page_two_and_keeps_the_filters(login):
    park, plaza = await make_site("平湖公园"), await make_site("雁鸣溪广场")
    for n in range(1, 31):
        await make_asset(park, code=f"GX-PH-{n:03d}", name_zh=f"平湖栈道{n}")
    await make_asset(park, code="GX-PH-900", asset_type=AssetType.PAVILION)
    await make_asset(plaza, code="GX-YM-001")
    alice = await login("alice")

    first = await alice.get("/assets", params={"q": "GX-PH", "site": park.id, "type": "footbridge"})

    assert first.status_code == 200
    assert codes_on(first) == [f"GX-PH-{n:03d}" for n in range(1, 26)]
    next_links = [link for link in Page(first.text).links if "page=2" in link]
    assert len(next_links) == 1
    query = parse_qs(urlsplit(next_links[0]).query)
    assert query == {"q": ["GX-PH"], "site": [str(park.id)], "type": ["footbridge"], "page": ["2"]}

    second = await alice.get("/assets" + next_links[0])
    assert codes_on(second) == [f"GX-PH-{n:03d}" for n in range(26, 31)]
    previous = [link for link in Page(second.text).links if "page=1" in link]
    assert len(previous) == 1
    assert parse_qs(urlsplit(previous[0]).query)["site"] == [str(park.id)]


async def test_pagination_links_keep_a_chosen_page_size_and_awkward_queries(login):
    site = await make_site()
    for n in range(1, 8):
        await make_asset(site, code=f"GX-B-{n:03d}", name_zh=f"桥 & 栈道 {n}")
    alice = await login("alice")

    first = await alice.get("/assets", params={"q": "桥 & 栈道", "per_page": 3})

    assert codes_on(first) == ["GX-B-001", "GX-B-002", "GX-B-003"]
    [next_link] = [link for link in Page(first.text).links if "page=2" in link]
    assert parse_qs(urlsplit(next_link).query) == {
        "q": ["桥 & 栈道"],
        "per_page": ["3"],
        "page": ["2"],
    }
    second = await alice.get("/assets" + next_link)
    assert codes_on(second) == ["GX-B-004", "GX-B-005", "GX-B-006"]


@pytest.mark.parametrize(
    "query",
    [
        {"type": "castle"},
        {"site": "abc"},
        {"site": "0"},
        {"site": str(2**31)},
        {"status": "open"},
        {"page": "0"},
        {"page": "x"},
        {"per_page": "100000"},
        {"q": "x" * 101},
    ],
)
async def test_an_invalid_filter_is_a_400_page_not_an_error(login, query):
    alice = await login("alice")

    response = await alice.get("/assets", params=query)

    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]
    assert "无法识别该请求" in response.text
    assert next(iter(query)) in response.text  # the page names the filter that is wrong


async def test_a_page_past_the_end_is_empty_not_an_error(login):
    await make_asset(code="GX-ONLY-001")
    alice = await login("alice")
    response = await alice.get("/assets", params={"page": 7})
    assert response.status_code == 200
    assert codes_on(response) == []


# --- detail ----------------------------------------------------------------------------------


async def test_detail_page_shows_facts_components_and_history(login, personas, now):
    alice_actor = personas["alice"]
    site = await make_site("平湖公园", name_en="Pinghu Park")
    asset = await assets.create_asset(
        alice_actor,
        AssetIn(
            code="GX-QL-PH-001",
            name_zh="平湖公园景观悬索桥",
            name_en="Pinghu suspension footbridge",
            asset_type=AssetType.SUSPENSION_FOOTBRIDGE,
            site_id=site.id,
            built_year=2012,
            crowd_limit=200,
            lat=22.55,
            lng=113.94,
        ),
        now,
    )
    cable = await assets.create_component(alice_actor, asset.id, ComponentIn(name_zh="主缆"), now)
    await assets.create_component(
        alice_actor, asset.id, ComponentIn(name_zh="索夹", parent_id=cable.id), now
    )
    await assets.create_component(
        alice_actor, asset.id, ComponentIn(name_zh="桥面板", position=5), now
    )
    await assets.update_asset(
        alice_actor,
        asset.id,
        AssetIn(
            code="GX-QL-PH-001",
            name_zh="平湖公园景观悬索桥",
            name_en="Pinghu suspension footbridge",
            asset_type=AssetType.SUSPENSION_FOOTBRIDGE,
            site_id=site.id,
            built_year=2011,
            crowd_limit=200,
            lat=22.55,
            lng=113.94,
            version=1,
        ),
        now + dt.timedelta(hours=1),
    )
    client = await login("alice")

    response = await client.get(f"/assets/{asset.id}")

    assert response.status_code == 200
    page = Page(response.text)
    text = page.text
    for fact in ("GX-QL-PH-001", "平湖公园景观悬索桥", "平湖公园", "2011", "200", "22.550000"):
        assert fact in text
    assert f"/assets/{asset.id}/edit" in page.links
    # The component tree, in tree order, each at its depth.
    tree = re.findall(
        r'class="depth-(\d)">\s*<a href="/assets/components/\d+/edit">([^<]+)<', response.text
    )
    assert tree == [("0", "主缆"), ("1", "索夹"), ("0", "桥面板")]
    # The history, newest first, with who did it and what changed.
    history = response.text.split('id="history"')[1]
    assert "变更记录" in history
    assert re.findall(r'data-action="([^"]+)"', history) == [
        "asset.updated",
        "component.created",
        "component.created",
        "component.created",
        "asset.created",
    ]
    assert "Alice" in history
    # the field by its form label, never the column's name
    assert '<th scope="row">建成年份</th><td>2012</td><td>2011</td>' in history
    assert "built_year</" not in history


async def test_detail_page_in_english_and_without_edit_links_for_a_viewer(login):
    site = await make_site("平湖公园", name_en="Pinghu Park")
    asset = await make_asset(site, code="GX-QL-PH-001", name_en="Pinghu footbridge")
    await make_component(asset, "主缆", name_en="Main cable")
    dave = english(await login("dave"))

    response = await dave.get(f"/assets/{asset.id}")

    assert response.status_code == 200
    text = Page(response.text).text
    assert "Pinghu footbridge" in text
    assert "Pinghu Park" in text
    assert "Main cable" in text
    assert "History" in text
    assert f"/assets/{asset.id}/edit" not in response.text
    assert "/components/new" not in response.text


@pytest.mark.parametrize("path", ["/assets/999999", "/assets/999999/edit", "/sites/999999/edit"])
async def test_unknown_records_are_404_pages(login, path):
    alice = await login("alice")
    response = await alice.get(path)
    assert response.status_code == 404
    assert "页面不存在" in response.text


@pytest.mark.parametrize("path", ["/assets/0", "/assets/-1", f"/assets/{2**31}", "/assets/abc"])
async def test_impossible_ids_are_client_errors(login, path):
    alice = await login("alice")
    response = await alice.get(path)
    assert response.status_code in {400, 404}
