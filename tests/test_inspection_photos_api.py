"""Inspection photos through the API (/api/v1/inspections/{id}/photos, issue 19 item 8): the
list the inspection page shows, an upload with the page's checks (type, size, pixels; 413 over
the request limit), one photo for a repeated Idempotency-Key, the download, and the refusals
(role, assignment, a final inspection, a token's scopes, unknown records)."""

from __future__ import annotations

from typing import Any

import pytest

from facilities.accounts import services as accounts
from facilities.accounts.permissions import SYSTEM
from facilities.accounts.schemas import TokenCreate
from facilities.audit.tables import AuditEvent
from facilities.inspections import services as inspections
from facilities.inspections.schemas import FindingIn
from facilities.inspections.tables import InspectionPhoto
from tests.kit.assets import make_asset
from tests.kit.inspections import footbridge, graded, plan, scores_for
from tests.kit.media import bomb_png, png

pytestmark = pytest.mark.usefixtures("seeded_policy")


def upload(name: str = "deck.png", content: bytes | None = None) -> dict[str, Any]:
    return {"file": (name, png() if content is None else content, "image/png")}


async def test_upload_list_and_download(api, personas, now):
    asset = await make_asset()
    inspection = await plan(personas["alice"], asset, now)
    finding = await inspections.add_finding(
        personas["bob"], inspection.id, FindingIn(description="栏杆锈蚀"), now
    )
    bob = await api("bob")
    url = f"/api/v1/inspections/{inspection.id}/photos"

    general = await bob.client.post(
        url, files=upload(), data={"caption": "全景"}, headers=bob.headers
    )
    close_up = await bob.client.post(
        url,
        files=upload("rail.png"),
        data={"caption": "近景", "finding_id": str(finding.id)},
        headers=bob.headers,
    )

    assert general.status_code == 201, general.text
    assert close_up.status_code == 201, close_up.text
    assert (close_up.json()["finding_id"], close_up.json()["caption"]) == (finding.id, "近景")
    assert general.json()["finding_id"] is None
    listed = await bob.get(url)
    assert [p["id"] for p in listed.json()] == [general.json()["id"], close_up.json()["id"]]
    page_rows = await inspections.photos_of(inspection.id)
    assert {p["id"] for p in listed.json()} == {p.id for p in page_rows}
    only_finding = await bob.get(url, finding=finding.id)
    assert [p["id"] for p in only_finding.json()] == [close_up.json()["id"]]
    image = await bob.client.get(general.json()["url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    thumb = await bob.client.get(general.json()["thumbnail_url"])
    assert thumb.status_code == 200
    assert (
        await AuditEvent.count().where(
            (AuditEvent.action == "inspection.photo_added")
            & (AuditEvent.entity_id == inspection.id)
        )
        == 2
    )


async def test_a_repeated_upload_stores_one_photo(api, personas, now):
    inspection = await plan(personas["alice"], await make_asset(), now)
    bob = await api("bob")
    headers = {**bob.headers, "idempotency-key": "photo-1"}
    url = f"/api/v1/inspections/{inspection.id}/photos"

    first = await bob.client.post(url, files=upload(), headers=headers)
    again = await bob.client.post(url, files=upload(), headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert await InspectionPhoto.count() == 1


async def test_uploads_are_checked_as_on_the_page(api, personas, now, settings):
    inspection = await plan(personas["alice"], await make_asset(), now)
    bob = await api("bob")
    url = f"/api/v1/inspections/{inspection.id}/photos"
    english = {**bob.headers, "accept-language": "en"}

    not_a_photo = await bob.client.post(
        url, files={"file": ("notes.txt", b"just text", "text/plain")}, headers=english
    )
    too_many_pixels = await bob.client.post(url, files=upload(content=bomb_png()), headers=english)
    nothing = await bob.client.post(url, data={"caption": "x"}, headers=english)
    other_finding = await bob.client.post(
        url, files=upload(), data={"finding_id": "999999"}, headers=english
    )
    too_big = await bob.client.post(
        url,
        files=upload(content=b"\x89PNG" + b"0" * settings.max_upload_bytes),
        headers=english,
    )
    over_the_limit = await bob.client.post(
        url,
        files=upload(content=b"0" * (settings.max_request_bytes + 1)),
        headers=english,
    )

    for refused, field, words in (
        (not_a_photo, "file", "Only photos"),
        (too_many_pixels, "file", "megapixels"),
        (nothing, "file", "Choose a file"),
        (other_finding, "finding_id", "finding"),
        (too_big, "file", "larger than"),
    ):
        assert refused.status_code == 400, refused.text
        (error,) = refused.json()["extra"]
        assert error["key"] == field and words in error["message"], error
    assert over_the_limit.status_code == 413
    assert await InspectionPhoto.count() == 0


@pytest.mark.parametrize("who", ["carol", "dave"])
async def test_only_recorders_upload(api, personas, now, who):
    inspection = await plan(personas["alice"], await make_asset(), now)
    session = await api(who)
    url = f"/api/v1/inspections/{inspection.id}/photos"
    refused = await session.client.post(url, files=upload(), headers=session.headers)
    assert refused.status_code == 403
    assert (await session.get(url)).status_code == 200  # every member of staff reads
    assert await InspectionPhoto.count() == 0


async def test_another_inspectors_inspection_is_refused(api, personas, now):
    inspection = await plan(personas["alice"], await make_asset(), now, inspector_id=None)
    other = await plan(
        personas["alice"], await make_asset(), now, inspector_id=personas["admin"].id
    )
    bob = await api("bob")
    refused = await bob.client.post(
        f"/api/v1/inspections/{other.id}/photos", files=upload(), headers=bob.headers
    )
    assert refused.status_code == 403
    allowed = await bob.client.post(
        f"/api/v1/inspections/{inspection.id}/photos", files=upload(), headers=bob.headers
    )
    assert allowed.status_code == 201


async def test_a_final_inspection_takes_no_photo(api, personas, now, settings):
    asset, parts = await footbridge()
    final = await graded(personas, asset, now, settings.media_path, scores_for(parts, 90, 90, 90))
    bob = await api("alice")
    refused = await bob.client.post(
        f"/api/v1/inspections/{final.id}/photos", files=upload(), headers=bob.headers
    )
    assert refused.status_code == 409
    assert await InspectionPhoto.count().where(InspectionPhoto.inspection == final.id) == 0


async def test_unknown_inspection_is_404(api):
    bob = await api("bob")
    assert (await bob.get("/api/v1/inspections/999999/photos")).status_code == 404
    missing = await bob.client.post(
        "/api/v1/inspections/999999/photos", files=upload(), headers=bob.headers
    )
    assert missing.status_code == 404


async def test_token_scopes(anon, personas, now):
    inspection = await plan(personas["alice"], await make_asset(), now)
    url = f"/api/v1/inspections/{inspection.id}/photos"

    async def bearer(*scopes: str) -> dict[str, str]:
        data = TokenCreate(name="bot", user_id=personas["bob"].id, scopes=list(scopes))
        return {"authorization": f"Bearer {await accounts.create_api_token(SYSTEM, data, now)}"}

    reader = await bearer("inspections:read")
    assert (await anon.get(url, headers=reader)).status_code == 200
    refused = await anon.post(url, files=upload(), headers=reader)
    assert refused.status_code == 403 and "inspections:write" in refused.json()["detail"]
    outsider = await bearer("tickets:write")
    assert (await anon.get(url, headers=outsider)).status_code == 403
    writer = await bearer("inspections:write")
    assert (await anon.post(url, files=upload(), headers=writer)).status_code == 201
    assert await InspectionPhoto.count() == 1
