"""Asset register pages: list, search, filters, pagination, detail, forms, conflicts, sites."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from facilities.assets import services as assets
from facilities.assets.choices import AssetType, Lifecycle
from facilities.assets.schemas import AssetIn, ComponentIn, SiteIn
from facilities.assets.tables import Asset, Component, Site
from facilities.audit.tables import AuditEvent
from tests.conftest import post_form
from tests.factories import make_asset, make_component, make_site


class Page(HTMLParser):
    """What a person sees of a form page: field values, field errors, links, visible text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.checked: set[str] = set()
        self.errors: dict[str, str] = {}
        self.links: list[str] = []
        self.text_parts: list[str] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._error: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "input" and "name" in a:
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.checked.add(a["name"])
            else:
                self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
            self.values.setdefault(self._select or "", "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.values[self._textarea or ""] = ""
        elif tag == "p" and "field-error" in a.get("class", ""):
            self._error = a.get("id", "").removesuffix("-error")
            self.errors[self._error] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "p":
            self._error = None

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)
        if self._textarea:
            self.values[self._textarea] += data
        if self._error is not None:
            self.errors[self._error] += data.strip()

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())


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


def codes_on(response: httpx.Response) -> list[str]:
    return re.findall(r'<a href="/assets/\d+">([^<]+)</a>', response.text)


async def follow(client: httpx.AsyncClient, response: httpx.Response) -> httpx.Response:
    assert response.status_code == 303, response.text[:2000]
    return await client.get(response.headers["location"])


def english(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.cookies.set("lang", "en")
    return client


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
    assert re.search(r"<td>built_year</td><td>2012</td><td>2011</td>", history)


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
