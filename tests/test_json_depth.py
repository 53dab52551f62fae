"""A JSON body nested too deeply is refused with a 400 before it is decoded (it used to raise
RecursionError in the decoder: a 500); a body at the limit is decoded and validated as usual."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from litestar.handlers import HTTPRouteHandler

from facilities.accounts import services as accounts
from facilities.accounts.schemas import TokenCreate
from facilities.assets.tables import Site
from facilities.web.json_depth import MAX_JSON_DEPTH, json_depth, refuse_deep_json, too_deep

DEEP = 100_000


def deep_arrays(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def deep_objects(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


def site_with_extra(levels: int) -> bytes:
    """A site body whose extra field ``x`` nests so that the whole body is ``levels`` deep."""
    return b'{"name_zh": "\xe5\xb9\xb3\xe6\xb9\x96\xe5\x85\xac\xe5\x9b\xad", "x": ' + (
        deep_arrays(levels - 1) + b"}"
    )


def refused_for_depth(response: httpx.Response) -> bool:
    """A 400 in the API's error shape whose message names the depth limit."""
    body = response.json()
    return (
        response.status_code == 400
        and body["status_code"] == 400
        and body["extra"] == [{"message": body["detail"], "key": "body", "source": "body"}]
        and str(MAX_JSON_DEPTH) in body["detail"]
    )


async def token_client(anon: httpx.AsyncClient, personas: Any, now: Any) -> dict[str, str]:
    token = await accounts.create_api_token(
        personas["admin"], TokenCreate(user_id=personas["alice"].id, name="robot"), now
    )
    return {"Authorization": f"Bearer {token}", "content-type": "application/json"}


@pytest.mark.parametrize("body", [deep_arrays(DEEP), deep_objects(DEEP)], ids=["arrays", "objects"])
async def test_a_deep_body_from_a_token_client_is_a_400_not_a_500(anon, personas, now, body):
    headers = await token_client(anon, personas, now)

    created = await anon.post("/api/v1/sites", content=body, headers=headers)
    updated = await anon.put("/api/v1/sites/1", content=body, headers=headers)

    assert refused_for_depth(created)
    assert refused_for_depth(updated)
    assert await Site.count() == 0


@pytest.mark.parametrize("body", [deep_arrays(DEEP), deep_objects(DEEP)], ids=["arrays", "objects"])
async def test_a_deep_body_from_a_browser_session_is_a_400(api, body):
    alice = await api("alice")

    response = await alice.client.post(
        "/api/v1/sites", content=body, headers={**alice.headers, "content-type": "application/json"}
    )

    assert refused_for_depth(response)


async def test_the_content_type_does_not_matter_litestar_decodes_the_body_as_json(
    anon, personas, now
):
    headers = {**await token_client(anon, personas, now), "content-type": "text/plain"}

    response = await anon.post("/api/v1/sites", content=deep_arrays(DEEP), headers=headers)

    assert refused_for_depth(response)


async def test_a_body_at_the_limit_is_decoded_and_validated_as_usual(anon, personas, now):
    headers = await token_client(anon, personas, now)
    at_limit = site_with_extra(MAX_JSON_DEPTH)
    over = site_with_extra(MAX_JSON_DEPTH + 1)
    assert json_depth(at_limit) == MAX_JSON_DEPTH

    validated = await anon.post("/api/v1/sites", content=at_limit, headers=headers)
    refused = await anon.post("/api/v1/sites", content=over, headers=headers)
    created = await anon.post("/api/v1/sites", json={"name_zh": "平湖公园"}, headers=headers)

    assert validated.status_code == 400  # decoded, then refused by the schema: no field x
    assert "`x`" in validated.json()["detail"] + str(validated.json()["extra"])
    assert not refused_for_depth(validated)
    assert refused_for_depth(refused)
    assert created.status_code == 201, created.text


async def test_anonymous_deep_bodies_are_still_a_401(anon):
    response = await anon.post("/api/v1/sites", content=deep_arrays(DEEP))

    assert response.status_code == 401


async def test_a_forged_flash_cookie_nested_too_deeply_is_ignored(anon):
    cookie = base64.urlsafe_b64encode(deep_arrays(5000)).decode()

    response = await anon.get("/", cookies={"flash": cookie})

    assert response.status_code == 200


def test_the_depth_scan_ignores_brackets_in_strings_and_honours_escapes():
    assert json_depth(b"[]") == 1
    assert json_depth(b'{"a": [1, {"b": [2]}]}') == 4
    assert json_depth(b'["[[[[{{{{"]') == 1
    assert json_depth(b'["\\"[[[[", "]]]]"]') == 1
    assert json_depth(b'["\\\\", [[1]]]') == 3
    assert json_depth(b"") == 0
    assert not too_deep(deep_arrays(MAX_JSON_DEPTH))
    assert too_deep(deep_arrays(MAX_JSON_DEPTH + 1))
    assert not too_deep(b'"unterminated' + deep_arrays(MAX_JSON_DEPTH + 1))
    assert too_deep(b"[" * (MAX_JSON_DEPTH + 1) + b'"unterminated \\')


def test_every_route_that_decodes_json_keeps_the_hook(app):
    """A controller that sets its own ``before_request`` would replace the check: none may."""
    json_routes = [
        handler
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if isinstance(handler, HTTPRouteHandler)
        and "data" in handler.parsed_fn_signature.parameters
    ]

    assert len(json_routes) > 10
    for handler in json_routes:
        assert handler.resolve_before_request() is refuse_deep_json, handler
