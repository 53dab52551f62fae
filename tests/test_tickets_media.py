"""Photos and documents on tickets: uploads checked by content and size, cleaned, stored with a
thumbnail, served only to staff, and never a file without its row nor a row without its file."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from facilities import db
from facilities.app import create_app
from facilities.audit.tables import AuditEvent
from facilities.errors import NotFound, PermissionDenied, ValidationFailed
from facilities.i18n import use_locale
from facilities.tickets.choices import PhotoTag
from facilities.tickets.tables import TicketAttachment
from tests.kit.clients import client_for_app, csrf_token, log_in
from tests.kit.media import REFUSED, files_under, jpeg_with_metadata, png_bytes
from tests.kit.tickets import attach, make_ticket

MAX_UPLOAD = 300_000


@pytest.fixture
def settings(settings, tmp_path):
    """The project's test settings with a media folder of this test's own (on PostgreSQL too)
    and a small upload limit."""
    return dataclasses.replace(
        settings, media_dir=str(tmp_path / "media"), max_upload_bytes=MAX_UPLOAD
    )


@pytest.fixture
async def staff(login):
    async def make(username: str = "carol") -> httpx.AsyncClient:
        client = await login(username)
        client.cookies.set("lang", "en")
        return client

    return make


async def upload(
    client: httpx.AsyncClient, ticket_id: int, content: bytes, name: str, **data: str
) -> httpx.Response:
    """The page's upload form, as a browser sends it."""
    return await client.post(
        f"/tickets/{ticket_id}/attachments",
        files={"file": (name, content)},
        data={"tag": "during", "caption": "", **data, "_csrf_token": await csrf_token(client)},
    )


# --- what is accepted -----------------------------------------------------------------------


async def test_a_png_named_pdf_is_accepted_as_a_png(staff, personas, media_root):
    ticket = await make_ticket(personas["alice"])
    client = await staff("carol")
    response = await upload(
        client, ticket.id, png_bytes(), "photo.pdf", tag="before", caption="修前"
    )
    assert response.status_code == 303, response.text[:1000]
    assert response.headers["location"] == f"/tickets/{ticket.id}#photos"
    row = await TicketAttachment.objects().first()
    assert (row.content_type, row.filename, row.tag, row.caption) == (
        "image/png",
        "photo.png",
        "before",
        "修前",
    )
    assert row.uploaded_by == personas["carol"].id
    assert row.storage_key.endswith(".png")
    assert (media_root / row.storage_key).is_file()
    assert (media_root / row.thumbnail_key).is_file()
    event = await AuditEvent.objects().where(AuditEvent.action == "ticket.attached").first()
    assert event.entity_id == ticket.id
    page = await client.get(f"/tickets/{ticket.id}")
    assert f'src="/tickets/attachments/{row.id}/thumbnail"' in page.text


async def test_files_that_are_not_photos_are_refused_and_leave_nothing(staff, personas, media_root):
    ticket = await make_ticket(personas["alice"])
    client = await staff("carol")
    for name, filename in [
        ("text", "notes.jpg"),
        ("html", "page.png"),
        ("zip", "photos.jpg"),
        ("truncated_jpeg", "broken.jpg"),
        ("gif_js_polyglot", "funny.gif"),
        ("svg", "drawing.svg"),
        ("short_ihdr_png", "crafted.png"),
    ]:
        response = await upload(client, ticket.id, REFUSED[name], filename)
        assert response.status_code == 400, name
        page = " ".join(response.text.split())
        assert "Only photos (JPEG, PNG, WebP) and PDF documents can be uploaded." in page, name
        assert await TicketAttachment.count() == 0
        assert files_under(media_root) == [], name


async def test_the_api_refuses_them_with_400_and_extra(login, personas, media_root):
    ticket = await make_ticket(personas["alice"])
    client = await login("carol")
    headers = {"x-csrftoken": await csrf_token(client)}
    for name in ("html", "svg", "truncated_jpeg"):
        response = await client.post(
            f"/api/v1/tickets/{ticket.id}/attachments",
            files={"file": ("x.jpg", REFUSED[name])},
            headers=headers,
        )
        assert response.status_code == 400, name
        assert [e["key"] for e in response.json()["extra"]] == ["file"]
    assert files_under(media_root) == []


async def test_the_size_limit(staff, personas, media_root, settings):
    ticket = await make_ticket(personas["alice"])
    client = await staff("carol")
    too_big = b"%PDF-1.4\n" + b"0" * MAX_UPLOAD
    assert len(too_big) < settings.max_request_bytes
    response = await upload(client, ticket.id, too_big, "plan.pdf")
    assert response.status_code == 400
    assert "The file is larger than 0.3 MB." in response.text
    assert files_under(media_root) == []
    just_fits = b"%PDF-1.4\n" + b"0" * (MAX_UPLOAD - 9)
    assert (await upload(client, ticket.id, just_fits, "plan.pdf")).status_code == 303
    empty = await upload(client, ticket.id, b"", "empty.png")
    assert empty.status_code == 400
    assert await TicketAttachment.count() == 1


async def test_exif_and_gps_are_gone_from_the_stored_and_served_photo(staff, personas, media_root):
    ticket = await make_ticket(personas["alice"])
    client = await staff("carol")
    response = await upload(client, ticket.id, jpeg_with_metadata((640, 480)), "IMG_0001.JPG")
    assert response.status_code == 303
    row = await TicketAttachment.objects().first()
    stored = (media_root / row.storage_key).read_bytes()
    served = await client.get(f"/tickets/attachments/{row.id}")
    assert served.status_code == 200
    assert served.content == stored
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["cache-control"].startswith("private")
    for data in (stored, served.content):
        with Image.open(io.BytesIO(data)) as image:
            assert not image.getexif()
            assert "comment" not in image.info
        assert b"Exif" not in data
    thumb = await client.get(f"/tickets/attachments/{row.id}/thumbnail")
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert image.size == (320, 240)
        assert not image.getexif()


async def test_a_pdf_is_served_as_a_download_without_a_thumbnail(staff, personas):
    ticket = await make_ticket(personas["alice"])
    client = await staff("carol")
    await upload(client, ticket.id, b"%PDF-1.4\n%%EOF\n", "验收报告.pdf", tag="document")
    row = await TicketAttachment.objects().first()
    assert (row.content_type, row.thumbnail_key) == ("application/pdf", "")
    served = await client.get(f"/tickets/attachments/{row.id}")
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith("attachment")
    assert (await client.get(f"/tickets/attachments/{row.id}/thumbnail")).status_code == 404


# --- who may see and send files ---------------------------------------------------------------


async def test_files_are_served_only_to_logged_in_staff(staff, anon, personas, media_root):
    ticket = await make_ticket(personas["alice"])
    row = await attach(personas["carol"], ticket.id, media_root)
    secret = (media_root / row.storage_key).read_bytes()
    for url in (f"/tickets/attachments/{row.id}", f"/tickets/attachments/{row.id}/thumbnail"):
        response = await anon.get(url)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
        assert secret not in response.content
        as_json = await anon.get(url, headers={"accept": "application/json"})
        assert as_json.status_code == 401
    listed = await anon.get(f"/api/v1/tickets/{ticket.id}/attachments")
    assert listed.status_code == 401
    bad_token = await anon.get(
        f"/tickets/attachments/{row.id}", headers={"authorization": "Bearer fac_nope"}
    )
    assert bad_token.status_code == 401
    viewer = await staff("dave")
    assert (await viewer.get(f"/tickets/attachments/{row.id}")).content == secret


async def test_a_viewer_cannot_upload_and_unknown_tickets_are_404(staff, personas, media_root):
    ticket = await make_ticket(personas["alice"])
    viewer = await staff("dave")
    assert (await upload(viewer, ticket.id, png_bytes(), "a.png")).status_code == 403
    crew = await staff("carol")
    assert (await upload(crew, 424242, png_bytes(), "a.png")).status_code == 404
    assert (await crew.get("/tickets/attachments/424242")).status_code == 404
    assert files_under(media_root) == []
    with pytest.raises(PermissionDenied):
        await attach(personas["dave"], ticket.id, media_root)
    with pytest.raises(NotFound):
        await attach(personas["carol"], 424242, media_root)
    assert files_under(media_root) == []


async def test_a_stored_key_leading_outside_the_media_folder_is_never_served(
    staff, personas, media_root, tmp_path
):
    ticket = await make_ticket(personas["alice"])
    row = await attach(personas["carol"], ticket.id, media_root)
    secret = tmp_path / "secret.txt"
    secret.write_text("database password")
    await TicketAttachment.update({TicketAttachment.storage_key: "../secret.txt"}).where(
        TicketAttachment.id == row.id
    )
    client = await staff("carol")
    response = await client.get(f"/tickets/attachments/{row.id}")
    assert response.status_code == 404
    assert b"database password" not in response.content


# --- failures never leave a file without its row (or the reverse) -----------------------------


async def test_a_storage_failure_is_a_400_and_writes_no_row(
    app, personas, settings, tmp_path, clock
):
    area = tmp_path / "storage"
    area.mkdir()
    blocker = area / "blocker"
    blocker.write_text("a file where a folder should be")
    broken = dataclasses.replace(settings, media_dir=str(blocker / "media"))
    ticket = await make_ticket(personas["alice"])
    with use_locale("en"), pytest.raises(ValidationFailed) as refused:
        await attach(personas["carol"], ticket.id, broken.media_path)
    assert "could not be stored" in refused.value.errors["file"]

    application = create_app(broken, embed_scheduler=False, clock=clock)
    async with client_for_app(application) as client:
        client.cookies.set("lang", "en")
        await log_in(client, "carol")
        response = await upload(client, ticket.id, png_bytes(), "a.png")
        assert response.status_code == 400
        assert "could not be stored" in response.text
        api = await client.post(
            f"/api/v1/tickets/{ticket.id}/attachments",
            files={"file": ("a.png", png_bytes())},
            headers={"x-csrftoken": await csrf_token(client)},
        )
        assert api.status_code == 400
        assert "could not be stored" in api.json()["extra"][0]["message"]
    assert await TicketAttachment.count() == 0
    assert await AuditEvent.count().where(AuditEvent.action == "ticket.attached") == 0
    assert files_under(area) == [blocker]


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real file system with no space left: a 256 kB tmpfs filled to the last byte (needs
    root, as on the CI machine; skipped where mounting is not allowed)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        (mount_point / "media").mkdir()
        with open(mount_point / "filler", "wb", buffering=0) as filler:
            with contextlib.suppress(OSError):  # ENOSPC: the disk is full
                while True:
                    filler.write(b"\0" * 4096)
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


async def test_a_full_disk_is_a_clear_400_and_leaves_no_partial_file(
    app, personas, settings, full_disk, clock
):
    ticket = await make_ticket(personas["alice"])
    full = dataclasses.replace(settings, media_dir=str(full_disk / "media"))
    application = create_app(full, embed_scheduler=False, clock=clock)
    async with client_for_app(application) as client:
        client.cookies.set("lang", "en")
        await log_in(client, "carol")
        response = await upload(client, ticket.id, png_bytes(), "a.png")
    assert response.status_code == 400
    assert "the disk may be full" in response.text
    assert files_under(full_disk / "media") == []  # no partial file, no temporary name left
    assert await TicketAttachment.count() == 0


REFUSE_SQLITE = """
CREATE TRIGGER refuse_attachments BEFORE INSERT ON ticket_attachment
BEGIN SELECT RAISE(ABORT, 'simulated database failure'); END
"""
REFUSE_POSTGRES = [
    """CREATE OR REPLACE FUNCTION refuse_attachments() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'simulated database failure'; END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER refuse_attachments BEFORE INSERT ON ticket_attachment
    FOR EACH ROW EXECUTE FUNCTION refuse_attachments()""",
]
ALLOW_POSTGRES = [
    "DROP TRIGGER IF EXISTS refuse_attachments ON ticket_attachment",
    "DROP FUNCTION IF EXISTS refuse_attachments()",
]


async def _run(statements: list[str]) -> None:
    for statement in statements:
        await db.engine().run_ddl(statement)


async def test_a_database_failure_after_storing_removes_the_stored_files(app, personas, media_root):
    """The database itself refuses the row (a trigger): the photo and its thumbnail, already
    written, are removed again; no row, no audit event."""
    ticket = await make_ticket(personas["alice"])
    if db.is_sqlite():
        await _run([REFUSE_SQLITE])
    else:
        await _run(REFUSE_POSTGRES)
    try:
        with pytest.raises(Exception, match="simulated database failure"):
            await attach(personas["carol"], ticket.id, media_root, tag=PhotoTag.AFTER)
    finally:
        await _run(
            ["DROP TRIGGER IF EXISTS refuse_attachments"] if db.is_sqlite() else ALLOW_POSTGRES
        )
    assert files_under(media_root) == []
    assert await TicketAttachment.count() == 0
    assert await AuditEvent.count().where(AuditEvent.action == "ticket.attached") == 0
    # and once the database accepts rows again, the same upload works
    row = await attach(personas["carol"], ticket.id, media_root, tag=PhotoTag.AFTER)
    assert len(files_under(media_root)) == 2
    assert (media_root / row.storage_key).is_file()


async def test_file_names_are_cleaned(personas, media_root):
    ticket = await make_ticket(personas["alice"])
    cases: dict[str, Any] = {
        "../../etc/passwd.png": "passwd.png",
        "C:\\Users\\me\\IMG_1.PNG": "IMG_1.png",
        "": "upload.png",
        "..": "upload.png",
        "x" * 300 + ".png": "x" * 196 + ".png",
    }
    for sent, expected in cases.items():
        row = await attach(personas["carol"], ticket.id, media_root, filename=sent)
        assert row.filename == expected, sent
    assert all(
        media_root in (media_root / r.storage_key).resolve().parents
        for r in await TicketAttachment.objects()
    )
