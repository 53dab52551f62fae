"""Clients of the app in the test's own event loop: ``client_for_app``, the CSRF token and
form posts as a browser sends them, logging in, following a redirect; ``Api`` (a logged-in
session calling the JSON API with its CSRF header) and readers of the API's error bodies."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.kit.personas import PASSWORD


def client_for_app(application: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application, client=("127.0.0.1", 50000)),
        base_url="http://testserver",
        follow_redirects=False,
    )


async def csrf_token(client: httpx.AsyncClient) -> str:
    """The CSRF cookie value (fetched with a GET if the client has none yet)."""
    token = client.cookies.get("csrftoken")
    if token is None:
        await client.get("/login")
        token = client.cookies.get("csrftoken")
    assert token
    return token


async def post_form(client: httpx.AsyncClient, url: str, data: dict[str, Any]) -> httpx.Response:
    """POST a form the way a browser does: with the CSRF token from the cookie."""
    return await client.post(url, data={**data, "_csrf_token": await csrf_token(client)})


async def log_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> None:
    response = await post_form(client, "/login", {"username": username, "password": password})
    assert response.status_code == 303, response.text


async def follow(client: httpx.AsyncClient, response: httpx.Response) -> httpx.Response:
    assert response.status_code == 303, response.text[:2000]
    return await client.get(response.headers["location"])


class Api:
    """A logged-in browser session calling the JSON API with its CSRF header."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.headers = {"x-csrftoken": token, "accept": "application/json"}

    async def get(self, url: str, **params: Any) -> httpx.Response:
        return await self.client.get(url, params=params, headers=self.headers)

    async def post(self, url: str, body: Any) -> httpx.Response:
        return await self.client.post(url, json=body, headers=self.headers)

    async def put(self, url: str, body: Any) -> httpx.Response:
        return await self.client.put(url, json=body, headers=self.headers)

    async def upload(self, url: str, content: bytes, name: str, **data: str) -> httpx.Response:
        return await self.client.post(
            url, files={"file": (name, content)}, data=data, headers=self.headers
        )


def error_keys(response: httpx.Response) -> set[str]:
    body = response.json()
    assert body["status_code"] == response.status_code
    assert body["detail"]
    return {str(item.get("key", "")) for item in body.get("extra") or []}


def mentions(response: httpx.Response, field: str) -> bool:
    """The error body names ``field`` as the key of one of its ``extra`` entries. An unknown or
    a missing field is reported by msgspec at the object itself (key "data"), named in the
    message."""
    extra = response.json().get("extra") or []
    return any(
        item.get("key") == field
        or (
            item.get("key") == "data"
            and re.search(rf"(unknown|missing required) field `{field}`", str(item.get("message")))
        )
        for item in extra
    )
