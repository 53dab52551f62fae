"""Errors: a friendly page in the reader's language for people, ``{"status_code", "detail",
"extra"}`` for JSON clients, a 4xx (never a 500) for bad input, never a stack trace, and the
security headers on every answer, errors included."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import httpx
import pytest

from facilities.app import create_app
from facilities.assets.tables import Asset, Site
from tests.kit.assets import make_asset, make_site
from tests.kit.clients import client_for_app, csrf_token, log_in

SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options")


def assert_no_stack_trace(response: httpx.Response) -> None:
    for marker in ("Traceback", 'File "', "litestar/", "site-packages"):
        assert marker not in response.text, f"{marker!r} leaked in {response.request.url}"


def assert_security_headers(response: httpx.Response) -> None:
    url = response.request.url
    csp = response.headers.get("content-security-policy", "")
    assert csp, f"no Content-Security-Policy on {url}"
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert response.headers.get("x-content-type-options") == "nosniff", url
    assert response.headers.get("x-frame-options") == "DENY", url
    assert response.headers.get("referrer-policy") in {"same-origin", "no-referrer"}, url


async def api_post(client: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
    headers = {"x-csrftoken": await csrf_token(client), **kwargs.pop("headers", {})}
    return await client.post(url, headers=headers, **kwargs)


# --- not found -------------------------------------------------------------------------------


async def test_unknown_page_is_a_404_page_in_chinese_by_default(anon):
    response = await anon.get("/no/such/page")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in response.text
    assert "页面不存在" in response.text  # "Page not found"
    assert_no_stack_trace(response)


@pytest.mark.parametrize(
    ("cookies", "headers"),
    [
        ({"lang": "en"}, {}),
        ({}, {"accept-language": "en"}),
        ({}, {"accept-language": "en-GB,en;q=0.9,zh-CN;q=0.5"}),
        ({"lang": "en"}, {"accept-language": "zh-CN"}),  # the explicit choice wins
    ],
)
async def test_unknown_page_speaks_english_when_asked(app, cookies, headers):
    async with client_for_app(app) as client:
        client.cookies.update(cookies)
        response = await client.get("/no/such/page", headers=headers)

    assert response.status_code == 404
    assert '<html lang="en">' in response.text
    assert "Page not found" in response.text
    assert "页面不存在" not in response.text


async def test_chinese_accept_language_is_honoured_over_an_english_default(settings, app, clock):
    english_app = create_app(
        dataclasses.replace(settings, language="en"), embed_scheduler=False, clock=clock
    )
    async with client_for_app(english_app) as client:
        default = await client.get("/no/such/page")
        chinese = await client.get("/no/such/page", headers={"accept-language": "zh-CN,zh"})
    assert "Page not found" in default.text
    assert "页面不存在" in chinese.text


async def test_unknown_api_record_is_a_json_404(login):
    alice = await login("alice")

    response = await alice.get("/api/v1/assets/999999")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status_code"] == 404
    assert isinstance(body["detail"], str) and body["detail"]
    assert set(body) <= {"status_code", "detail", "extra"}


async def test_unknown_api_path_is_a_json_404(anon):
    response = await anon.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["status_code"] == 404
    assert_security_headers(response)


async def test_unknown_record_page_is_a_404_page(login):
    alice = await login("alice")
    response = await alice.get("/assets/999999")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "页面不存在" in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/assets/99999999999",
        "/assets/99999999999999999999999999",
        "/assets/0",
        "/assets/99999999999/edit",
        "/sites/99999999999/edit",
        "/assets/components/99999999999/edit",
        "/admin/users/99999999999/edit",
        "/api/v1/assets/99999999999",
        "/api/v1/sites/99999999999",
        "/api/v1/components/99999999999",
    ],
)
async def test_an_id_that_cannot_exist_is_a_404_not_a_400_or_500(login, path):
    admin = await login("admin")

    response = await admin.get(path)

    assert response.status_code == 404
    if path.startswith("/api/"):
        assert response.json()["status_code"] == 404
    else:
        assert "页面不存在" in response.text
    assert_no_stack_trace(response)


async def test_posting_to_an_id_that_cannot_exist_is_a_404(login):
    admin = await login("admin")
    response = await admin.put(
        "/api/v1/sites/99999999999",
        json={"name_zh": "公园", "version": 1},
        headers={"x-csrftoken": await csrf_token(admin)},
    )
    assert response.status_code == 404
    assert await Site.count() == 0


# --- bad input to the JSON API ---------------------------------------------------------------


def asset_json(site: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "GX-ERR-001",
        "name_zh": "测试桥",
        "asset_type": "footbridge",
        "site_id": site,
    }
    body.update(overrides)
    return body


BAD_BODIES: dict[str, Any] = {
    "malformed-json": b'{"code": "GX-1", ',
    "not-json-at-all": b"<xml/>",
    "empty-body": b"",
    "array-not-object": [],
    "unknown-enum": {"asset_type": "castle"},
    "unknown-field": {"owner": "mallory"},
    "wrong-type-str": {"code": 12345},
    "wrong-type-int": {"site_id": "one"},
    "null-required": {"name_zh": None},
    "missing-required": {"code": ...},
    "id-beyond-int32": {"site_id": 99999999999},
    "latitude-out-of-range": {"lat": 91.5},
    "bad-code-pattern": {"code": "lower case"},
    "bad-date": {"condition_graded_on": "2026-13-45"},
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
async def test_invalid_api_bodies_are_400_with_extra(login, case):
    site = await make_site()
    alice = await login("alice")
    bad = BAD_BODIES[case]
    if isinstance(bad, bytes):
        kwargs: dict[str, Any] = {
            "content": bad,
            "headers": {"content-type": "application/json"},
        }
    elif isinstance(bad, dict):
        body = asset_json(site.id, **bad)
        kwargs = {"json": {k: v for k, v in body.items() if v is not ...}}
    else:
        kwargs = {"json": bad}

    response = await api_post(alice, "/api/v1/assets", **kwargs)

    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status_code"] == 400
    assert body["detail"]
    assert isinstance(body["extra"], list) and body["extra"], body
    for item in body["extra"]:
        assert {"message", "key", "source"} <= set(item)
    assert_no_stack_trace(response)
    assert await Asset.count() == 0


async def test_error_keys_name_the_offending_field(login):
    site = await make_site()
    alice = await login("alice")

    response = await api_post(
        alice, "/api/v1/assets", json=asset_json(site.id, asset_type="castle")
    )

    (item,) = response.json()["extra"]
    assert item["key"] == "asset_type"
    assert item["source"] == "body"
    assert "castle" in item["message"]


async def test_a_valid_body_is_accepted(login):
    """The same request with a good body is created: the 400s above come from the bodies."""
    site = await make_site()
    alice = await login("alice")
    response = await api_post(alice, "/api/v1/assets", json=asset_json(site.id))
    assert response.status_code == 201, response.text
    assert response.json()["code"] == "GX-ERR-001"


@pytest.mark.parametrize(
    "path",
    [
        "/assets?page=abc",
        "/assets?page=0",
        "/assets?per_page=100000",
        "/assets?site=99999999999",
        "/assets?type=castle",
        "/api/v1/assets?page=abc",
        "/api/v1/assets?type=castle",
        "/api/v1/assets?q=" + "x" * 500,
    ],
)
async def test_bad_query_parameters_are_400_not_500(login, path):
    alice = await login("alice")
    response = await alice.get(path)
    assert response.status_code == 400, response.text
    if path.startswith("/api/"):
        assert response.json()["extra"]
    assert_no_stack_trace(response)


# --- sizes, methods and crashes --------------------------------------------------------------


@pytest.fixture
async def small_app(settings: Any, app: Any, clock: Any) -> Any:
    """The app with the smallest body limit the settings allow."""
    return create_app(
        dataclasses.replace(settings, max_request_bytes=1024), embed_scheduler=False, clock=clock
    )


async def test_a_body_over_the_limit_is_413(small_app, personas):
    site = await make_site()
    async with client_for_app(small_app) as client:
        await log_in(client, "alice")
        big = asset_json(site.id, description="x" * 2000)

        api = await api_post(client, "/api/v1/assets", content=json.dumps(big).encode())
        form = await client.post(
            "/sites", data={"name_zh": "y" * 2000, "_csrf_token": await csrf_token(client)}
        )
        small = await api_post(client, "/api/v1/assets", json=asset_json(site.id))

    assert api.status_code == 413
    assert api.json()["status_code"] == 413
    assert form.status_code == 413
    assert "text/html" in form.headers["content-type"]
    assert_no_stack_trace(form)
    assert small.status_code == 201  # a body under the limit still passes
    assert await Asset.count() == 1
    assert await Site.count() == 1


async def test_the_default_limit_comes_from_settings(app, settings):
    assert app.request_max_body_size == settings.max_request_bytes


async def test_wrong_method_is_405_without_a_stack_trace(anon, login):
    response = await anon.delete("/login")
    assert response.status_code == 405
    assert_no_stack_trace(response)
    alice = await login("alice")
    api = await alice.patch("/api/v1/assets", headers={"x-csrftoken": await csrf_token(alice)})
    assert api.status_code == 405
    assert api.json()["status_code"] == 405


async def test_an_unexpected_error_is_a_plain_500(login, monkeypatch):
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr("facilities.assets.services.list_assets", broken)
    alice = await login("alice")

    page = await alice.get("/assets")
    api = await alice.get("/api/v1/assets")

    assert page.status_code == 500
    assert "text/html" in page.headers["content-type"]
    assert api.status_code == 500
    assert api.json() == {"status_code": 500, "detail": "Internal Server Error"}
    for response in (page, api):
        assert "hunter2" not in response.text
        assert "RuntimeError" not in response.text
        assert_no_stack_trace(response)
        assert_security_headers(response)


# --- security headers ------------------------------------------------------------------------


async def test_security_headers_on_every_kind_of_answer(anon, login):
    asset = await make_asset()
    alice = await login("alice")
    anonymous = [
        await anon.get("/"),
        await anon.get("/login"),
        await anon.get("/assets"),  # a redirect to the login page
        await anon.get("/api/v1/assets"),  # 401
        await anon.get("/no/such/page"),  # 404 before any route matched
        await anon.delete("/login"),  # 405 before any route matched
        await anon.post("/logout"),  # 403: no CSRF token
    ]
    staff = [
        await alice.get("/assets"),
        await alice.get(f"/assets/{asset.id}"),
        await alice.get(f"/api/v1/assets/{asset.id}"),
        await alice.get("/api/v1/assets/999999"),
        await alice.get("/assets/999999"),
        await alice.get("/admin/users"),  # 403
    ]
    statuses = [r.status_code for r in anonymous + staff]
    assert statuses == [200, 200, 303, 401, 404, 405, 403, 200, 200, 200, 404, 404, 403]
    for response in anonymous + staff:
        assert_security_headers(response)
        assert_no_stack_trace(response)


async def test_pages_load_no_inline_script(anon, login):
    alice = await login("alice")
    for response in [await anon.get("/"), await anon.get("/login"), await alice.get("/assets")]:
        assert "<script>" not in response.text
        assert " onclick=" not in response.text
        assert " style=" not in response.text


async def test_https_answers_carry_hsts_errors_included(app):
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50003))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        for response in [await client.get("/"), await client.get("/no/such/page")]:
            assert response.headers["strict-transport-security"].startswith("max-age=")
    async with client_for_app(app) as plain:
        assert "strict-transport-security" not in (await plain.get("/")).headers


@pytest.mark.parametrize(
    "flash",
    [
        "%%%not-base64",
        "e30=",  # {} : not a list
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not UTF-8
        base64.urlsafe_b64encode(b'[1, "x", null]').decode(),
        base64.urlsafe_b64encode(
            json.dumps([{"level": 'x" onload="y', "message": "<script>alert(1)</script>"}]).encode()
        ).decode(),
    ],
)
async def test_a_forged_flash_cookie_is_harmless(anon, flash):
    anon.cookies.set("flash", flash)
    response = await anon.get("/login")
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    assert '" onload="' not in response.text
    assert_no_stack_trace(response)
