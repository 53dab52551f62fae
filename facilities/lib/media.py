"""Uploaded files: recognise the type by content, strip metadata, make thumbnails, store safely.

The declared content type and file name are never trusted. Images are decoded and re-encoded
with Pillow, which drops EXIF (camera GPS position included) and rejects polyglots and truncated
files; PDFs are accepted by their signature. Files are written to a temporary name and renamed,
so a failure (a full disk) never leaves a partial file under the real name.

Image bombs: the pixel count is read from the header and checked against a budget
(``FACILITIES_MAX_IMAGE_PIXELS``) before anything is decoded, so a small file that would decode to
tens of megapixels costs nothing. Accepted images are decoded in a worker thread (``store``,
``store_checked``), one at a time per process (``DECODE_SLOTS``), so the event loop keeps
answering and the memory decoding takes is bounded by one budget's worth of pixels.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hashlib
import io
import os
import secrets
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_TYPES = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
PDF = ("application/pdf", ".pdf")
THUMBNAIL_SIZE = (320, 320)
#: The default pixel budget (width x height), checked from the header before decoding.
MAX_PIXELS = 24_000_000
#: The most any configured budget may allow. A copy of a photo already stored (a report's photo
#: into its ticket, a finding's into its repair ticket) passed the budget in force when it came
#: in, so it is copied under this ceiling rather than refused after a lowered setting.
PIXEL_CEILING = 100_000_000


class UnsupportedFile(ValueError):
    """The content is not an accepted image or PDF (whatever its name says)."""


class TooManyPixels(UnsupportedFile):
    """An image whose header declares more pixels than the budget: refused undecoded."""

    def __init__(self, width: int, height: int, limit: int) -> None:
        super().__init__(f"{width}x{height} pixels, over {limit}")
        self.limit = limit


def megapixels(pixels: int) -> str:
    """A pixel count in megapixels as people write it: 24, 0.5, 1.2."""
    return format(round(pixels / 1_000_000, 1), "g")


class DecodeSlots:
    """At most ``slots`` images decoded at once in this process; an upload beyond them waits
    in its worker thread (never on the event loop). ``waiting`` counts the uploads queued."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.waiting = 0
        self._free = threading.BoundedSemaphore(slots)
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def taken(self) -> Iterator[None]:
        with self._changed:
            self.waiting += 1
            self._changed.notify_all()
        try:
            self._free.acquire()
        finally:
            with self._changed:
                self.waiting -= 1
                self._changed.notify_all()
        try:
            yield
        finally:
            self._free.release()

    def wait_for_waiting(self, count: int = 1, timeout: float | None = None) -> bool:
        """Block until ``count`` uploads wait for a slot (False if ``timeout`` passed first)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.waiting >= count, timeout)


#: One image decoded at a time per process: what decoding takes is one budget's worth of pixels.
DECODE_SLOTS = DecodeSlots(1)


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


def _clean_image(data: bytes, max_pixels: int) -> tuple[bytes, bytes, str, str]:
    """(clean bytes, thumbnail bytes, content type, extension) of an accepted image."""
    # Pillow's own guard at the same budget: it warns above it and refuses above twice it,
    # both on opening, before any pixel is decoded (the check below refuses at the budget).
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format or ""
            width, height = probe.size
            if kind not in IMAGE_TYPES:
                raise UnsupportedFile(kind)
            if width * height > max_pixels:
                raise TooManyPixels(width, height, max_pixels)
            probe.verify()
        with DECODE_SLOTS.taken():
            return _decode_and_encode(data, kind)
    except UnsupportedFile:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooManyPixels(0, 0, max_pixels) from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise UnsupportedFile(str(exc)) from exc
    except (ValueError, TypeError, EOFError, IndexError, KeyError, struct.error) as exc:
        # A crafted file makes Pillow's parsers fail in other ways too (a PNG whose IHDR chunk
        # is too short raises ValueError): still "not an image we accept", never a 500.
        raise UnsupportedFile(f"{type(exc).__name__}: {exc}") from exc


def _decode_and_encode(data: bytes, kind: str) -> tuple[bytes, bytes, str, str]:
    """Decode a checked image once, keep at most one full-size copy alive at a time."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        upright = image if image.mode in {"RGB", "RGBA", "L"} else image.convert("RGB")
        if upright is not image:
            image.close()  # the decoded original goes before the copies below are made
        # Savers read some metadata from ``info`` (a JPEG comment is written back as is).
        upright.info = {k: v for k, v in upright.info.items() if k in KEPT_INFO}
        content_type, extension = IMAGE_TYPES[kind]
        clean = io.BytesIO()
        save_kind = kind if not (kind == "JPEG" and upright.mode == "RGBA") else "PNG"
        if save_kind != kind:
            content_type, extension = IMAGE_TYPES["PNG"]
        upright.save(clean, format=save_kind)  # no exif= argument: metadata is dropped
        # Shrink by a whole factor first (cheap, and the copy is small), keeping at least twice
        # the thumbnail's size for the final resampling; never a full-size copy.
        factor = max(1, max(upright.size) // (2 * max(THUMBNAIL_SIZE)))
        thumb = upright.reduce(factor)
        upright.close()
        thumb.thumbnail(THUMBNAIL_SIZE)
        if thumb.mode == "RGBA":
            thumb = thumb.convert("RGB")
        small = io.BytesIO()
        thumb.save(small, format="JPEG", quality=80)
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


def store_upload(
    data: bytes, root: Path, folder: str, *, max_pixels: int = MAX_PIXELS
) -> StoredFile:
    """Check, clean and store one upload under ``root/folder``; raises UnsupportedFile
    (TooManyPixels for an image over ``max_pixels``). Blocks: async code calls ``store``."""
    if data.startswith(b"%PDF-"):
        clean, thumbnail, (content_type, extension) = data, b"", PDF
    else:
        clean, thumbnail, content_type, extension = _clean_image(data, max_pixels)
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


async def store(
    data: bytes, root: Path, folder: str, *, max_pixels: int = MAX_PIXELS
) -> StoredFile:
    """``store_upload`` in a worker thread, so the event loop keeps answering while an image
    is decoded. A request cancelled meanwhile leaves no file behind: what the thread stored
    is removed when it finishes."""
    work = asyncio.get_running_loop().run_in_executor(
        None, functools.partial(store_upload, data, root, folder, max_pixels=max_pixels)
    )
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        work.add_done_callback(functools.partial(_discard, root))
        raise


def _discard(root: Path, work: asyncio.Future[StoredFile]) -> None:
    if not work.cancelled() and work.exception() is None:
        stored = work.result()
        remove(root, stored.storage_key, stored.thumbnail_key)


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


async def store_checked(
    data: bytes, root: Path, folder: str, max_bytes: int, *, max_pixels: int = MAX_PIXELS
) -> StoredFile:
    """``store`` for a staff upload form: each refusal is a ValidationFailed on the ``file``
    field, worded for the person who sent it."""
    from facilities.errors import ValidationFailed
    from facilities.i18n import gettext as _

    if not data:
        raise ValidationFailed({"file": _("Choose a file to upload.")})
    if len(data) > max_bytes:
        raise ValidationFailed(
            {"file": _("The file is larger than %(mb)s MB.") % {"mb": round(max_bytes / 1e6, 1)}}
        )
    try:
        return await store(data, root, folder, max_pixels=max_pixels)
    except TooManyPixels as exc:
        raise ValidationFailed({"file": too_many_pixels(exc.limit)}) from None
    except UnsupportedFile:
        raise ValidationFailed(
            {"file": _("Only photos (JPEG, PNG, WebP) and PDF documents can be uploaded.")}
        ) from None
    except OSError:
        raise ValidationFailed(
            {"file": _("The file could not be stored (the disk may be full). Nothing was saved.")}
        ) from None


def too_many_pixels(limit: int) -> str:
    """The refusal of an image over the pixel budget, naming the budget."""
    from facilities.i18n import gettext as _

    return _(
        "The picture has more than %(mp)s megapixels. Send a smaller photo "
        "(a lower camera resolution, or a resized copy)."
    ) % {"mp": megapixels(limit)}
