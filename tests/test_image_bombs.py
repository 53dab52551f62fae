"""Image bombs: a small file that decodes to tens of megapixels is refused from its header,
before a pixel is decoded, on every upload path, naming the limit and keeping nothing; an
accepted image is decoded in a worker thread, so the app keeps answering meanwhile."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from facilities.accounts.permissions import SYSTEM
from facilities.assets.choices import AssetType
from facilities.inspections import services as inspections
from facilities.inspections.choices import InspectionType
from facilities.inspections.schemas import InspectionIn
from facilities.inspections.tables import InspectionPhoto
from facilities.lib import media
from facilities.reports import services as reports
from facilities.reports.schemas import KeyCreate
from facilities.reports.tables import ReportPhoto, ServiceRequest
from facilities.settings import Settings, SettingsError
from facilities.tickets import services as tickets
from facilities.tickets.schemas import TicketIn
from facilities.tickets.tables import TicketAttachment
from tests.kit.assets import make_asset
from tests.kit.clients import csrf_token
from tests.kit.constants import ZONE
from tests.kit.media import (
    DecodingHeld,
    bomb_png,
    files_under,
    peak_since_reset_kb,
    png_size,
    reset_peak,
    resident_kb,
)

# Above the budget Pillow itself warns (its guard is set to the same budget) before we refuse.
pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")

MB_KB = 1024

#: Where each upload path keeps its rows, and the status an accepted upload answers with.
PATHS = {
    "report_form": (ReportPhoto, 303),
    "open311": (ReportPhoto, 201),
    "ticket_form": (TicketAttachment, 303),
    "ticket_api": (TicketAttachment, 201),
    "inspection_form": (InspectionPhoto, 303),
}


@pytest.fixture
async def targets(app, personas, now) -> dict[str, Any]:
    """A boardwalk with an open ticket, an inspection and an Open311 key to upload to."""
    await inspections.ensure_policy()
    boardwalk = await make_asset(
        code="GX-BOMB-001", asset_type=AssetType.BOARDWALK, lat=26.8961, lng=112.5830
    )
    ticket = await tickets.open_ticket(
        personas["alice"], TicketIn(asset_id=boardwalk.id, title="栏杆松动"), now
    )
    inspection = await inspections.create_inspection(
        personas["alice"],
        InspectionIn(
            asset_id=boardwalk.id,
            inspection_type=InspectionType.SPECIAL,
            due_on=now.date(),
            inspector_id=personas["bob"].id,
        ),
        ZONE,
        now,
    )
    return {
        "boardwalk": boardwalk.id,
        "ticket": ticket.id,
        "inspection": inspection.id,
        "api_key": await reports.create_key(SYSTEM, KeyCreate(name="随手拍"), now),
    }


def citizen(app: Any, address: str = "10.9.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    client.cookies.set("lang", "en")
    return client


async def send(
    path: str, app: Any, staff: httpx.AsyncClient, targets: dict[str, Any], data: bytes
) -> httpx.Response:
    """One photo through one upload path, the way its real client sends it."""
    files = {"file": ("photo.png", data, "image/png")}
    if path == "ticket_form":
        return await staff.post(
            f"/tickets/{targets['ticket']}/attachments",
            files=files,
            data={"tag": "during", "caption": "", "_csrf_token": await csrf_token(staff)},
        )
    if path == "ticket_api":
        return await staff.post(
            f"/api/v1/tickets/{targets['ticket']}/attachments",
            files=files,
            data={"tag": "during"},
            headers={"x-csrftoken": await csrf_token(staff), "accept": "application/json"},
        )
    if path == "inspection_form":
        return await staff.post(
            f"/inspections/{targets['inspection']}/photos",
            files=files,
            data={"caption": "", "_csrf_token": await csrf_token(staff)},
        )
    async with citizen(app) as anon:
        if path == "report_form":
            return await send_report(anon, targets, data)
        return await anon.post(
            "/open311/v2/requests.json",
            files={"media": ("photo.png", data, "image/png")},
            data={
                "api_key": targets["api_key"],
                "service_code": "deck_damage",
                "lat": "26.8961",
                "long": "112.5830",
                "description": "木板松动",
            },
        )


async def send_report(anon: httpx.AsyncClient, targets: dict[str, Any], data: bytes) -> Any:
    return await anon.post(
        "/report",
        files={"photos": ("photo.png", data, "image/png")},
        data={
            "asset_id": str(targets["boardwalk"]),
            "category": "deck_damage",
            "description": "一块木板松动",
            "_csrf_token": await csrf_token(anon),
        },
    )


def message(response: httpx.Response) -> str:
    if response.headers.get("content-type", "").startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)
    return response.text


@pytest.fixture
async def staff(login) -> httpx.AsyncClient:
    client = await login("alice")  # a supervisor may upload to tickets and inspections
    client.cookies.set("lang", "en")
    return client


# --- the bomb is refused from its header -----------------------------------------------------


def test_the_bomb_is_a_small_file_of_40_megapixels():
    data = bomb_png()
    assert 80_000 < len(data) < 200_000
    assert png_size(data) == (8000, 5000)


def test_the_budget_is_checked_before_decoding(tmp_path):
    with pytest.raises(media.TooManyPixels) as refused:
        media.store_upload(bomb_png(), tmp_path, "t/1", max_pixels=24_000_000)
    assert refused.value.limit == 24_000_000
    assert files_under(tmp_path) == []
    assert media.megapixels(24_000_000) == "24"
    assert media.megapixels(1_500_000) == "1.5"


@pytest.mark.parametrize("path", sorted(PATHS))
async def test_a_40_megapixel_png_is_a_400_naming_the_limit_and_nothing_is_kept(
    path, app, staff, targets, media_root
):
    table, _ok = PATHS[path]
    response = await send(path, app, staff, targets, bomb_png())
    assert response.status_code == 400, response.text[:1000]
    assert "more than 24 megapixels" in message(response)
    assert await table.count() == 0
    assert await ServiceRequest.count() == 0
    assert files_under(media_root) == []


class TestASmallConfiguredBudget:
    @pytest.fixture
    def settings(self, settings: Settings) -> Iterator[Settings]:
        """A 1-megapixel budget; Pillow's own guard (process-wide, set to the budget of the last
        upload) is put back afterwards for the test files this worker runs next."""
        pillow_guard = Image.MAX_IMAGE_PIXELS
        yield dataclasses.replace(settings, max_image_pixels=1_000_000)
        Image.MAX_IMAGE_PIXELS = pillow_guard

    @pytest.mark.parametrize("path", ["report_form", "ticket_form", "inspection_form"])
    async def test_an_image_just_under_it_is_accepted_and_just_over_it_refused(
        self, path, app, staff, targets, media_root
    ):
        table, ok = PATHS[path]
        refused = await send(path, app, staff, targets, bomb_png(1001, 1000))
        assert refused.status_code == 400
        assert "more than 1 megapixels" in message(refused)
        assert files_under(media_root) == []
        accepted = await send(path, app, staff, targets, bomb_png(1000, 999))
        assert accepted.status_code == ok, accepted.text[:1000]
        assert await table.count() == 1
        assert len(files_under(media_root)) == 2  # the photo and its thumbnail


@pytest.mark.parametrize(
    ("value", "problem"),
    [("lots", "whole number"), ("5000", "from 10000 to 100000000"), ("0", "from 10000")],
)
def test_the_budget_setting_is_parsed_strictly(value, problem):
    assert Settings.from_env({}).max_image_pixels == 24_000_000
    assert Settings.from_env({"FACILITIES_MAX_IMAGE_PIXELS": "12000000"}).max_image_pixels == (
        12_000_000
    )
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"FACILITIES_MAX_IMAGE_PIXELS": value})
    assert "FACILITIES_MAX_IMAGE_PIXELS" in str(caught.value)
    assert problem in str(caught.value)


# --- decoding off the event loop, memory bounded ---------------------------------------------


async def test_the_app_answers_while_an_image_waits_to_be_decoded(app, targets, media_root):
    """Every decode slot is busy, so the upload waits for one in its worker thread; a GET sent
    meanwhile is answered, and the upload completes once a slot is free. Were the image decoded
    on the event loop, the loop itself would wait for the slot and nothing would answer (the
    hang guard then frees the slots, and ``held.fired`` fails the test)."""
    photo = bomb_png(4000, 3000)  # 12 megapixels: within the budget, a real decode
    async with citizen(app, "10.9.0.2") as uploader, citizen(app, "10.9.0.3") as reader:
        token = await csrf_token(uploader)  # before the slots are taken
        with DecodingHeld() as held:
            upload = asyncio.ensure_future(
                uploader.post(
                    "/report",
                    files={"photos": ("photo.png", photo, "image/png")},
                    data={
                        "asset_id": str(targets["boardwalk"]),
                        "category": "deck_damage",
                        "description": "一块木板松动",
                        "_csrf_token": token,
                    },
                )
            )
            queued = asyncio.ensure_future(
                asyncio.to_thread(media.DECODE_SLOTS.wait_for_waiting, 1, 120)
            )
            await asyncio.wait({upload, queued}, return_when=asyncio.FIRST_COMPLETED)
            assert not upload.done(), upload.result().text[:1000]
            assert await queued  # the upload waits for a decode slot
            answer = await reader.get("/")
            assert answer.status_code == 200
            assert not upload.done()
            assert files_under(media_root) == []
            assert not held.fired
        response = await upload
    assert response.status_code == 303, response.text[:1000]
    assert await ReportPhoto.count() == 1
    assert len(files_under(media_root)) == 2


async def test_a_refused_bomb_grows_the_peak_memory_by_less_than_100_mb(app, targets):
    photo = bomb_png()  # built (and cached) before measuring
    async with citizen(app, "10.9.0.4") as anon:
        token = await csrf_token(anon)
        if not reset_peak():
            pytest.skip("this kernel does not let a process reset its peak memory")
        before = resident_kb()
        assert peak_since_reset_kb() - before < 16 * MB_KB  # the peak really starts over
        response = await anon.post(
            "/report",
            files={"photos": ("photo.png", photo, "image/png")},
            data={
                "asset_id": str(targets["boardwalk"]),
                "category": "deck_damage",
                "description": "一块木板松动",
                "_csrf_token": token,
            },
        )
        peak = peak_since_reset_kb()
    assert response.status_code == 400
    assert "more than 24 megapixels" in response.text
    assert peak - before < 100 * MB_KB, f"peak grew by {(peak - before) // MB_KB} MB"
