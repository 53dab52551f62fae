"""The app starts, serves the public page, and staff can log in and see the register."""

from tests.kit.assets import make_asset
from tests.kit.clients import post_form


async def test_public_home_lists_facilities(anon, personas):
    await make_asset(name_zh="平湖公园景观悬索桥")
    response = await anon.get("/")
    assert response.status_code == 200
    assert "平湖公园景观悬索桥" in response.text


async def test_staff_login_then_asset_list(login):
    await make_asset(code="GX-QL-PH-001")
    alice = await login("alice")
    response = await alice.get("/assets")
    assert response.status_code == 200
    assert "GX-QL-PH-001" in response.text


async def test_wrong_password_is_refused(anon, personas):
    response = await post_form(anon, "/login", {"username": "alice", "password": "nope"})
    assert response.status_code == 400
    assert "facilities_session" not in anon.cookies
