"""The one middleware and the one response hook every request passes through
(:mod:`facilities.web.envelope`): each security header and the request id exactly once on every
kind of response, a handler's own value kept, the CSRF cookie a browser already holds used as
its token without a new cookie, and the reader's language from one read of the headers."""

from __future__ import annotations

import re

import httpx
import pytest

from facilities.web.envelope import finish_headers
from facilities.web.headers import SCHEMA_CSP

SECURITY = [
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
    "content-security-policy",
]
TOKEN_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _count(response: httpx.Response, name: str) -> int:
    return len(response.headers.get_list(name))


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/", 200),  # a cached public page (an ASGI response built by hand)
        ("GET", "/login", 200),  # a template page
        ("GET", "/feeds/notices.atom", 200),
        ("GET", "/static/css/app.css", 200),
        ("GET", "/healthz", 200),
        ("GET", "/no-such-page", 404),  # answered before any route (and middleware) ran
        ("DELETE", "/healthz", 405),  # likewise
        ("GET", "/notices/999999", 404),  # a route's own 404
        ("POST", "/login", 403),  # refused by the CSRF middleware, before the handler
    ],
)
async def test_every_response_carries_each_security_header_and_a_request_id_once(
    anon, method, url, status
):
    response = await anon.request(method, url)
    assert response.status_code == status
    for name in [*SECURITY, "x-request-id"]:
        assert _count(response, name) == 1, (url, name, response.headers.get_list(name))
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert re.fullmatch(r"[0-9a-f]{16}", response.headers["x-request-id"])
    assert _count(response, "strict-transport-security") == 0  # plain HTTP


async def test_https_adds_hsts_and_the_schema_viewer_gets_its_own_policy(app):
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        page = await client.get("/")
        schema = await client.get("/schema")
    assert page.headers.get_list("strict-transport-security") == ["max-age=31536000"]
    assert schema.headers.get_list("content-security-policy") == [SCHEMA_CSP]
    assert _count(schema, "strict-transport-security") == 1


async def test_a_header_the_response_set_itself_stands():
    """A reporter's private file sets its own Referrer-Policy: the hook adds the others only."""
    headers = [(b"content-type", b"image/jpeg"), (b"referrer-policy", b"no-referrer")]
    message = {"type": "http.response.start", "status": 200, "headers": headers}
    scope = {"type": "http", "path": "/reports/x/photo", "scheme": "http", "state": {}}
    await finish_headers(message, scope)  # type: ignore[arg-type]
    names = [name for name, _ in headers]
    assert headers[1] == (b"referrer-policy", b"no-referrer")
    assert names.count(b"referrer-policy") == 1
    for name in ("x-content-type-options", "x-frame-options", "content-security-policy"):
        assert names.count(name.encode()) == 1
    assert names.count(b"x-request-id") == 1


async def test_a_browser_keeps_its_csrf_cookie_as_the_forms_token(anon):
    first = await anon.get("/login")
    cookie = anon.cookies["csrftoken"]
    assert TOKEN_FIELD.findall(first.text) == [cookie]
    again = await anon.get("/login")
    assert "csrftoken" not in again.headers.get("set-cookie", "")  # no new cookie
    assert TOKEN_FIELD.findall(again.text) == [cookie]
    # A tampered cookie is still refused on a write (the GET fast path checks nothing).
    anon.cookies.set("csrftoken", "0" * 128)
    refused = await anon.post("/login", data={"username": "x", "password": "y"})
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("cookies", "accept", "lang"),
    [
        ({}, "", "zh-CN"),
        ({}, "en-GB,en;q=0.8", "en"),
        ({"lang": "en"}, "zh-CN", "en"),
        ({"lang": "zh_CN"}, "en", "zh-CN"),
        ({"lang": "klingon"}, "en", "en"),
    ],
)
async def test_the_language_comes_from_the_cookie_then_accept_language(anon, cookies, accept, lang):
    headers = {"Accept-Language": accept} if accept else {}
    response = await anon.get("/login", cookies=cookies, headers=headers)
    assert response.status_code == 200
    assert f'<html lang="{lang}"' in response.text
