"""Uploaded files: recognise the type by content, strip metadata, make thumbnails, store safely.

The declared content type and file name are never trusted. Images are decoded and re-encoded
with Pillow, which drops EXIF (camera GPS position included) and rejects polyglots and truncated
files; PDFs are accepted by their signature. Files are written to a temporary name and renamed,
so a failure (a full disk) never leaves a partial file under the real name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import secrets
import struct
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_TYPES = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
PDF = ("application/pdf", ".pdf")
THUMBNAIL_SIZE = (320, 320)
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded


class UnsupportedFile(ValueError):
    """The content is not an accepted image or PDF (whatever its name says)."""


@dataclasses.dataclass(frozen=True)
class StoredFile:
    storage_key: str
    thumbnail_key: str
    content_type: str
    size: int
    sha256: str

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


#: Of the decoded image's ``info``, what may be written back: the colour profile (needed to show
#: the colours right, says nothing about the photographer). EXIF (GPS position, camera serial),
#: XMP, JPEG comments and PNG text chunks are all dropped.
KEPT_INFO = frozenset({"icc_profile"})


def _clean_image(data: bytes) -> tuple[bytes, bytes, str, str]:
    """(clean bytes, thumbnail bytes, content type, extension) of an accepted image."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format or ""
            width, height = probe.size
            probe.verify()
        if kind not in IMAGE_TYPES:
            raise UnsupportedFile(kind)
        # Pillow only raises above twice its limit (a warning below): refuse at the limit.
        if width * height > MAX_PIXELS:
            raise UnsupportedFile(f"{width}x{height} pixels")
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image) or image
            if upright.mode not in {"RGB", "RGBA", "L"}:
                upright = upright.convert("RGB")
            # Savers read some metadata from ``info`` (a JPEG comment is written back as is).
            upright.info = {k: v for k, v in upright.info.items() if k in KEPT_INFO}
            content_type, extension = IMAGE_TYPES[kind]
            clean = io.BytesIO()
            save_kind = kind if not (kind == "JPEG" and upright.mode == "RGBA") else "PNG"
            if save_kind != kind:
                content_type, extension = IMAGE_TYPES["PNG"]
            upright.save(clean, format=save_kind)  # no exif= argument: metadata is dropped
            thumb = upright.copy()
            thumb.thumbnail(THUMBNAIL_SIZE)
            if thumb.mode == "RGBA":
                thumb = thumb.convert("RGB")
            small = io.BytesIO()
            thumb.save(small, format="JPEG", quality=80)
    except UnsupportedFile:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UnsupportedFile(str(exc)) from exc
    except (ValueError, TypeError, EOFError, IndexError, KeyError, struct.error) as exc:
        # A crafted file makes Pillow's parsers fail in other ways too (a PNG whose IHDR chunk
        # is too short raises ValueError): still "not an image we accept", never a 500.
        raise UnsupportedFile(f"{type(exc).__name__}: {exc}") from exc
    return clean.getvalue(), small.getvalue(), content_type, extension


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise


def store_upload(data: bytes, root: Path, folder: str) -> StoredFile:
    """Check, clean and store one upload under ``root/folder``; raises UnsupportedFile."""
    if data.startswith(b"%PDF-"):
        clean, thumbnail, (content_type, extension) = data, b"", PDF
    else:
        clean, thumbnail, content_type, extension = _clean_image(data)
    key = f"{folder}/{secrets.token_urlsafe(18)}{extension}"
    thumb_key = f"{key.rsplit('.', 1)[0]}.thumb.jpg" if thumbnail else ""
    _write_atomically(root / key, clean)
    if thumbnail:
        try:
            _write_atomically(root / thumb_key, thumbnail)
        except BaseException:
            (root / key).unlink(missing_ok=True)
            raise
    return StoredFile(key, thumb_key, content_type, len(clean), hashlib.sha256(clean).hexdigest())


def resolve(root: Path, key: str) -> Path:
    """The path of a stored key, refusing anything that would leave ``root``."""
    path = (root / key).resolve()
    if not path.is_relative_to(root.resolve()):
        raise FileNotFoundError(key)
    return path


def remove(root: Path, *keys: str) -> None:
    for key in keys:
        if key:
            with contextlib.suppress(FileNotFoundError):
                resolve(root, key).unlink()


def store_checked(data: bytes, root: Path, folder: str, max_bytes: int) -> StoredFile:
    """``store_upload`` for a staff upload form: each refusal is a ValidationFailed on the
    ``file`` field, worded for the person who sent it."""
    from facilities.errors import ValidationFailed
    from facilities.i18n import gettext as _

    if not data:
        raise ValidationFailed({"file": _("Choose a file to upload.")})
    if len(data) > max_bytes:
        raise ValidationFailed(
            {"file": _("The file is larger than %(mb)s MB.") % {"mb": round(max_bytes / 1e6, 1)}}
        )
    try:
        return store_upload(data, root, folder)
    except UnsupportedFile:
        raise ValidationFailed(
            {"file": _("Only photos (JPEG, PNG, WebP) and PDF documents can be uploaded.")}
        ) from None
    except OSError:
        raise ValidationFailed(
            {"file": _("The file could not be stored (the disk may be full). Nothing was saved.")}
        ) from None
