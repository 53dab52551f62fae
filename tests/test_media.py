"""facilities.lib.media: uploads recognised by content, cleaned of metadata, stored under a
random key with a thumbnail, and never outside the media folder."""

from __future__ import annotations

import hashlib
import struct
import zlib

import pytest
from PIL import Image

from facilities.lib import media
from tests.kit.media import REFUSED, files_under, image_bytes, jpeg_with_metadata

# --- accepted -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"),
    [("PNG", "image/png", ".png"), ("JPEG", "image/jpeg", ".jpg"), ("WEBP", "image/webp", ".webp")],
)
def test_images_are_stored_with_a_thumbnail(fmt, content_type, extension, tmp_path):
    data = image_bytes(fmt, (800, 600))
    stored = media.store_upload(data, tmp_path, "tickets/7")
    assert stored.content_type == content_type
    assert stored.is_image
    assert stored.storage_key.startswith("tickets/7/")
    assert stored.storage_key.endswith(extension)
    assert stored.thumbnail_key == stored.storage_key.rsplit(".", 1)[0] + ".thumb.jpg"
    saved = (tmp_path / stored.storage_key).read_bytes()
    assert stored.size == len(saved)
    assert stored.sha256 == hashlib.sha256(saved).hexdigest()
    with Image.open(tmp_path / stored.storage_key) as image:
        assert (image.format, image.size) == (fmt, (800, 600))
    with Image.open(tmp_path / stored.thumbnail_key) as thumb:
        assert thumb.format == "JPEG"
        assert max(thumb.size) == 320
    # only the two files, no temporary leftovers
    assert len(files_under(tmp_path)) == 2


def test_every_upload_gets_its_own_random_key(tmp_path):
    data = image_bytes("PNG")
    first = media.store_upload(data, tmp_path, "tickets/1")
    second = media.store_upload(data, tmp_path, "tickets/1")
    assert first.storage_key != second.storage_key
    assert first.sha256 == second.sha256
    assert len(first.storage_key.rsplit("/", 1)[1]) >= 24


def test_a_pdf_is_stored_as_sent_without_a_thumbnail(tmp_path):
    data = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    stored = media.store_upload(data, tmp_path, "tickets/1")
    assert (stored.content_type, stored.thumbnail_key, stored.is_image) == (
        "application/pdf",
        "",
        False,
    )
    assert stored.storage_key.endswith(".pdf")
    assert (tmp_path / stored.storage_key).read_bytes() == data


def test_gps_exif_comments_and_xmp_are_stripped_from_a_jpeg(tmp_path):
    stored = media.store_upload(jpeg_with_metadata(), tmp_path, "tickets/1")
    for key in (stored.storage_key, stored.thumbnail_key):
        raw = (tmp_path / key).read_bytes()
        assert b"Exif" not in raw
        assert b"PhoneMaker" not in raw and b"SN-123456" not in raw
        assert b"26.8842N" not in raw
        assert b"xmpmeta" not in raw
        with Image.open(tmp_path / key) as image:
            assert not image.getexif()
            assert "exif" not in image.info
            assert "comment" not in image.info
            assert "xmp" not in image.info


def test_the_orientation_is_applied_before_exif_is_dropped(tmp_path):
    """A phone photo taken upright stays upright once its orientation tag is gone."""
    stored = media.store_upload(jpeg_with_metadata((60, 40), orientation=6), tmp_path, "t/1")
    with Image.open(tmp_path / stored.storage_key) as image:
        assert image.size == (40, 60)
        assert not image.getexif()


def test_png_text_chunks_are_stripped(tmp_path):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "GPS 26.8842N 112.6019E")
    stored = media.store_upload(image_bytes("PNG", pnginfo=info), tmp_path, "t/1")
    assert b"26.8842N" not in (tmp_path / stored.storage_key).read_bytes()


def test_other_colour_modes_are_converted(tmp_path):
    for mode in ("P", "LA", "CMYK", "I;16"):
        fmt = "JPEG" if mode == "CMYK" else "PNG"
        stored = media.store_upload(image_bytes(fmt, mode=mode), tmp_path, "t/1")
        with Image.open(tmp_path / stored.storage_key) as image:
            assert image.mode in {"RGB", "RGBA", "L"}, mode


# --- refused --------------------------------------------------------------------------------


def _huge_png(width: int, height: int) -> bytes:
    """A valid, tiny file that decodes to width x height grey pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    packer = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    compressed = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", compressed)
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_files_that_are_not_accepted_images_are_refused_and_leave_nothing(name, tmp_path):
    with pytest.raises(media.UnsupportedFile):
        media.store_upload(REFUSED[name], tmp_path, "tickets/1")
    assert files_under(tmp_path) == []


def test_an_image_over_the_pixel_limit_is_refused_before_decoding(tmp_path):
    width = 8000
    height = media.MAX_PIXELS // width + 1  # just over the limit, under Pillow's own error
    data = _huge_png(width, height)
    assert len(data) < 200_000
    with pytest.raises(media.UnsupportedFile):
        media.store_upload(data, tmp_path, "tickets/1")
    assert files_under(tmp_path) == []


def test_a_polyglot_jpeg_keeps_only_the_picture(tmp_path):
    data = image_bytes("JPEG") + b"<script>alert(1)</script>"
    stored = media.store_upload(data, tmp_path, "t/1")
    assert b"<script>" not in (tmp_path / stored.storage_key).read_bytes()


def test_a_storage_failure_raises_oserror_and_leaves_nothing(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a regular file where the media folder's parent should be")
    root = blocker / "media"
    with pytest.raises(OSError):
        media.store_upload(image_bytes("PNG"), root, "tickets/1")
    assert files_under(tmp_path) == [blocker]


# --- resolving and removing keys --------------------------------------------------------------


def test_resolve_stays_inside_the_root(tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    assert media.resolve(root, "tickets/1/a.png") == (root / "tickets/1/a.png").resolve()
    for key in ("../secret.txt", "tickets/../../secret.txt", "/etc/passwd", "tickets/1/../../../x"):
        with pytest.raises(FileNotFoundError):
            media.resolve(root, key)


def test_resolve_refuses_a_symlink_that_points_outside(tmp_path):
    root = tmp_path / "media"
    (root / "tickets").mkdir(parents=True)
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (root / "tickets" / "link.png").symlink_to(outside)
    with pytest.raises(FileNotFoundError):
        media.resolve(root, "tickets/link.png")


def test_remove_deletes_stored_keys_and_nothing_outside(tmp_path):
    root = tmp_path / "media"
    stored = media.store_upload(image_bytes("PNG"), root, "tickets/1")
    outside = tmp_path / "keep.txt"
    outside.write_text("keep me")
    media.remove(root, stored.storage_key, stored.thumbnail_key, "", "tickets/1/missing.png")
    media.remove(root, "../keep.txt")
    assert files_under(root) == []
    assert outside.read_text() == "keep me"
