"""Hostile input, part 2: files crafted to be something else than they claim, and paths that
try to leave the media folder.

Every upload endpoint refuses traversal in file names, polyglots, bombs and empty or truncated
files, or keeps only a clean re-encoded picture; media are served with a safe type, ``nosniff``
and a sane Content-Disposition, only to staff, never from outside the media dir.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import struct
import zlib
from pathlib import Path
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
from facilities.reports import services as reports
from facilities.reports.schemas import KeyCreate
from facilities.reports.tables import ReportPhoto
from facilities.tickets import services as tickets
from facilities.tickets.schemas import TicketIn
from facilities.tickets.tables import TicketAttachment
from tests.kit.assets import make_asset
from tests.kit.clients import csrf_token
from tests.kit.constants import ZONE
from tests.kit.hostile import READ_AT, pin_clocks, plain_image

# --- 2. Uploads and media ------------------------------------------------------------------

#: File names that try to leave the folder, hide an extension or break a header.
HOSTILE_NAMES = [
    "../../etc/passwd",
    "..\\..\\x.jpg",
    "/etc/passwd",
    "C:\\Windows\\win.ini",
    "a\x00b.jpg",
    "x" * 1000 + ".jpg",
    "桥面照片😀.jpg",
    "invoice\u202egpj.png",
    'a"; filename=evil.html',
    "a\r\nX-Injected: 1.jpg",
    "..",
    " ",
]


def _huge_png(width: int, height: int) -> bytes:
    """A tiny valid file declaring width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    packer = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    data = b"".join(packer.compress(row) for _ in range(64)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", data)
        + chunk(b"IEND", b"")
    )


def jpeg_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    return plain_image(size, "JPEG")


REFUSED_FILES: dict[str, bytes] = {
    "gif_js_polyglot": b"GIF89a/*\x0a\x00\x0a\x00\x00\x00\x00*/=alert(document.domain);//;",
    "svg_script": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "html": b"<!doctype html><script>alert(document.cookie)</script>",
    "zero_bytes": b"",
    "truncated_jpeg": jpeg_bytes((400, 300))[:500],
    "bomb": _huge_png(60_000, 60_000),
    "text_named_jpg": b"just words",
}
PDF_WITH_JS = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> "
    b">> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{24}(\.thumb\.jpg|\.jpg|\.png|\.webp|\.pdf)$")
SERVED_TYPES = {"image/jpeg", "image/png", "image/webp", "application/pdf"}


@dataclasses.dataclass
class Endpoint:
    name: str
    table: Any
    accepts_pdf: bool
    has_filename: bool
    media_url: str  # "/tickets/attachments/{id}"


ENDPOINTS = {
    "ticket_form": Endpoint("ticket_form", TicketAttachment, True, True, "/tickets/attachments"),
    "ticket_api": Endpoint("ticket_api", TicketAttachment, True, True, "/tickets/attachments"),
    "inspection_form": Endpoint(
        "inspection_form", InspectionPhoto, True, False, "/inspections/photos"
    ),
    "report_form": Endpoint("report_form", ReportPhoto, False, True, "/triage/photos"),
    "open311": Endpoint("open311", ReportPhoto, False, True, "/triage/photos"),
}


class Uploader:
    """Sends one file to one upload endpoint the way its real client does."""

    def __init__(
        self,
        app: Any,
        endpoint: Endpoint,
        clients: dict[str, httpx.AsyncClient],
        targets: dict[str, Any],
    ) -> None:
        self.app, self.endpoint, self.clients, self.targets = app, endpoint, clients, targets
        self.sent = 0

    async def send(self, filename: str, data: bytes) -> httpx.Response:
        self.sent += 1
        name = self.endpoint.name
        files = {"file": (filename, data, "image/jpeg")}
        if name == "ticket_form":
            client = self.clients["carol"]
            return await client.post(
                f"/tickets/{self.targets['ticket']}/attachments",
                files=files,
                data={"tag": "during", "caption": "", "_csrf_token": await csrf_token(client)},
            )
        if name == "ticket_api":
            client = self.clients["carol"]
            return await client.post(
                f"/api/v1/tickets/{self.targets['ticket']}/attachments",
                files=files,
                data={"tag": "during"},
                headers={"x-csrftoken": await csrf_token(client), "accept": "application/json"},
            )
        if name == "inspection_form":
            client = self.clients["bob"]
            return await client.post(
                f"/inspections/{self.targets['inspection']}/photos",
                files=files,
                data={"caption": "", "_csrf_token": await csrf_token(client)},
            )
        # Citizens: each from an address of its own (the per-address rate limit is not tested
        # here).
        transport = httpx.ASGITransport(app=self.app, client=(f"10.7.0.{self.sent}", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anon:
            anon.cookies.set("lang", "en")
            if name == "report_form":
                return await anon.post(
                    "/report",
                    files={"photos": (filename, data, "image/jpeg")},
                    data={
                        "asset_id": str(self.targets["boardwalk"]),
                        "category": "deck_damage",
                        "description": "一块木板松动",
                        "_csrf_token": await csrf_token(anon),
                    },
                )
            return await anon.post(
                "/open311/v2/requests.json",
                files={"media": (filename, data, "image/jpeg")},
                data={
                    "api_key": self.targets["api_key"],
                    "service_code": "deck_damage",
                    "lat": "26.8961",
                    "long": "112.5830",
                    "description": "木板松动",
                },
            )

    @property
    def ok(self) -> int:
        return {"ticket_api": 201, "open311": 201}.get(self.endpoint.name, 303)


@pytest.fixture
async def upload_targets(app, personas, now, settings) -> dict[str, Any]:
    await inspections.ensure_policy()
    boardwalk = await make_asset(
        code="GX-UP-001", asset_type=AssetType.BOARDWALK, lat=26.8961, lng=112.5830
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
    api_key = await reports.create_key(SYSTEM, KeyCreate(name="随手拍"), now)
    return {
        "boardwalk": boardwalk.id,
        "ticket": ticket.id,
        "inspection": inspection.id,
        "api_key": api_key,
    }


@pytest.fixture
async def uploader(request, app, login, upload_targets, clock) -> Uploader:
    pin_clocks(clock, READ_AT)
    alice = await login("alice")  # a supervisor may upload to tickets and inspections
    alice.cookies.set("lang", "en")
    clients = {"carol": alice, "bob": alice, "alice": alice}
    return Uploader(app, ENDPOINTS[request.param], clients, upload_targets)


def _stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _check_store(root: Path, tmp_path: Path) -> None:
    """Every stored file sits inside the media folder under a generated name, and nothing was
    written beside it."""
    for path in _stored_files(root):
        assert root.resolve() in path.resolve().parents, path
        assert KEY_PATTERN.match(path.name), path.name
    assert not (tmp_path / "etc").exists()
    assert not Path("/etc/passwd.png").exists()
    assert not any(p.name.endswith((".part", "passwd", ".ini")) for p in tmp_path.rglob("*"))


def _clear_message(response: httpx.Response) -> str:
    """The refusal's message, from a JSON body, an Open311 error or an HTML page."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)
    return response.text


ALL_ENDPOINTS = pytest.mark.parametrize("uploader", sorted(ENDPOINTS), indirect=True)


@ALL_ENDPOINTS
async def test_hostile_file_names_store_safely_under_a_generated_name(uploader, settings, tmp_path):
    root = settings.media_path
    for sent in HOSTILE_NAMES:
        response = await uploader.send(sent, plain_image())
        assert response.status_code == uploader.ok, (sent, response.status_code, response.text)
        _check_store(root, tmp_path)
    # A part without a file name is a text field to the multipart parser (a PNG is no text):
    # refused as bad input, or (the citizens' forms) the report arrives without the photo.
    nameless = await uploader.send("", plain_image())
    assert nameless.status_code in (400, uploader.ok), nameless.status_code
    _check_store(root, tmp_path)
    rows = await uploader.endpoint.table.objects()
    assert len(rows) == len(HOSTILE_NAMES)
    for row in rows:
        assert KEY_PATTERN.match(row.storage_key.rsplit("/", 1)[1]), row.storage_key
        assert (root / row.storage_key).is_file()
        if uploader.endpoint.has_filename:
            name = row.filename
            assert name.endswith(".png"), name  # the type found in the content, not the name's
            assert len(name) <= 200
            assert not set(name) & {"/", "\\", "\x00", "\r", "\n", "\u202e"}, repr(name)
            assert not name.startswith("."), name
        served = await uploader.clients["alice"].get(f"{uploader.endpoint.media_url}/{row.id}")
        assert served.status_code == 200
        disposition = served.headers["content-disposition"]
        assert disposition.startswith("inline")
        assert "\r" not in disposition and "\n" not in disposition
        assert "x-injected" not in {k.lower() for k in served.headers}
        assert served.headers["content-type"] == "image/png"


@ALL_ENDPOINTS
async def test_polyglots_are_refused_or_reencoded_and_served_safely(
    uploader, settings, tmp_path, anon
):
    root = settings.media_path
    table = uploader.endpoint.table
    for what, data in REFUSED_FILES.items():
        response = await uploader.send(f"{what}.jpg", data)
        assert response.status_code == 400, (what, response.status_code)
        message = _clear_message(response).lower()
        assert "photo" in message or "file" in message, (what, message[:300])
        assert await table.count() == 0, what
        assert _stored_files(root) == [], what
    # Accepted, but only as the picture: the script after the JPEG is gone.
    response = await uploader.send("polyglot.jpg", jpeg_bytes() + b"<script>alert(1)</script>")
    assert response.status_code == uploader.ok, response.text
    # A PNG that calls itself .jpg is stored and served as what it is.
    response = await uploader.send("really-a-png.jpg", plain_image())
    assert response.status_code == uploader.ok, response.text
    pdf = await uploader.send("report.pdf", PDF_WITH_JS)
    assert pdf.status_code == (uploader.ok if uploader.endpoint.accepts_pdf else 400)
    _check_store(root, tmp_path)
    rows = await table.objects().order_by(table.id)
    assert [r.content_type for r in rows] == ["image/jpeg", "image/png"] + (
        ["application/pdf"] if uploader.endpoint.accepts_pdf else []
    )
    staff = uploader.clients["alice"]
    for row in rows:
        url = f"{uploader.endpoint.media_url}/{row.id}"
        served = await staff.get(url)
        assert served.status_code == 200
        assert served.headers["content-type"] in SERVED_TYPES
        assert served.headers["content-type"] == row.content_type
        assert served.headers["x-content-type-options"] == "nosniff"
        assert served.headers["cache-control"].startswith("private")
        disposition = served.headers["content-disposition"]
        if row.content_type == "application/pdf":
            assert disposition.startswith("attachment"), disposition
        else:
            assert disposition.startswith("inline"), disposition
            assert b"<script" not in served.content
            with Image.open(io.BytesIO(served.content)) as image:
                image.verify()
            thumb = await staff.get(url + "/thumbnail")
            assert thumb.status_code == 200
            assert thumb.headers["content-type"] == "image/jpeg"
        # Staff-only: a citizen is sent to the login page, an API client gets 401.
        refused = await anon.get(url)
        assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
        assert served.content not in refused.content or not served.content
        assert (await anon.get(url, headers={"accept": "application/json"})).status_code == 401


async def raw_get(application: Any, raw_path: bytes) -> tuple[int, bytes]:
    """A GET with the path exactly as sent (httpx would remove dot segments before sending)."""
    from urllib.parse import unquote_to_bytes

    path, _, query = raw_path.partition(b"?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote_to_bytes(path).decode("utf-8", "replace"),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


TRAVERSALS = [
    b"/tickets/attachments/../../settings",
    b"/tickets/attachments/..%2f..%2fsettings",
    b"/tickets/attachments/%2e%2e%2f%2e%2e%2fpyproject.toml",
    b"/tickets/attachments/%252e%252e%252fpyproject.toml",
    b"/inspections/photos/..%2F..%2Fpyproject.toml",
    b"/triage/photos/%2e%2e/%2e%2e/pyproject.toml",
    b"/static/../pyproject.toml",
    b"/static/../../pyproject.toml",
    b"/static/..%2f..%2fpyproject.toml",
    b"/static/%2e%2e/%2e%2e/pyproject.toml",
    b"/static/%2e%2e%2f%2e%2e%2fpyproject.toml",
    b"/static/%252e%252e%252fpyproject.toml",
    b"/static/....//....//pyproject.toml",
    b"/static/..\\..\\pyproject.toml",
    b"/static/%c0%ae%c0%ae/pyproject.toml",
    b"/static//etc/passwd",
    b"/static/%00../pyproject.toml",
    b"/static/css/../../facilities/settings.py",
]


async def test_media_and_static_urls_never_leave_their_folder(app, login, settings):
    alice = await login("alice")
    secret_marker = b"SECRET-OUTSIDE-MEDIA-7Q"
    (settings.media_path.parent / "settings").write_bytes(secret_marker)
    (settings.media_path / "tickets").mkdir(parents=True, exist_ok=True)
    for raw in TRAVERSALS:
        status, body = await raw_get(app, raw)
        assert status in (303, 400, 401, 404), (raw, status)
        assert secret_marker not in body, raw
        assert b"[build-system]" not in body and b"root:x:" not in body, raw
        # the same paths with a staff session, through httpx (dot segments as it sends them)
        response = await alice.get(raw.decode())
        assert response.status_code in (400, 404), (raw, response.status_code)
        assert secret_marker not in response.content, raw
        assert b"[build-system]" not in response.content, raw
