"""Image and file bytes for uploads: small real PNG and JPEG pictures made by Pillow, a JPEG
carrying GPS EXIF, comments and XMP (``jpeg_with_metadata``), the files an upload must refuse
(``REFUSED``), an image bomb (``bomb_png``), the files a media folder holds, every decode slot
held (``DecodingHeld``) and the process's memory (``resident_kb``, ``peak_since_reset_kb``)."""

from __future__ import annotations

import contextlib
import functools
import io
import re
import struct
import threading
import zipfile
import zlib
from pathlib import Path
from types import TracebackType

from PIL import Image, TiffImagePlugin

from facilities.lib import media

GPS = 0x8825  # the GPSInfo IFD
ORIENTATION = 0x0112


def png_bytes(size: tuple[int, int] = (64, 48), colour: str = "teal") -> bytes:
    """A real, small PNG made by Pillow."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def png(colour: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (32, 24)) -> bytes:
    """A real PNG made with Pillow (the upload path decodes and re-encodes it)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(size: tuple[int, int] = (64, 48), colour: str = "sienna") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "teal" if mode != "L" else 100).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def gps_exif(orientation: int | None = None) -> Image.Exif:
    """EXIF with a camera, a serial number and a GPS position (Pinghu Park, Hengyang)."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0xA431] = "SN-123456"  # BodySerialNumber (in the Exif IFD, kept here at the top)
    if orientation:
        exif[ORIENTATION] = orientation
    exif[GPS] = {
        1: "N",
        2: (
            TiffImagePlugin.IFDRational(26, 1),
            TiffImagePlugin.IFDRational(53, 1),
            TiffImagePlugin.IFDRational(4, 1),
        ),
        3: "E",
        4: (
            TiffImagePlugin.IFDRational(112, 1),
            TiffImagePlugin.IFDRational(36, 1),
            TiffImagePlugin.IFDRational(7, 1),
        ),
    }
    return exif


def jpeg_with_metadata(size: tuple[int, int] = (60, 40), orientation: int | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "orange").save(
        buffer,
        format="JPEG",
        exif=gps_exif(orientation),
        comment=b"taken at 26.8842N 112.6019E",
        xmp=b"<x:xmpmeta><exif:GPSLatitude>26,53.07N</exif:GPSLatitude></x:xmpmeta>",
    )
    data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as check:  # the fixture really carries it all
        assert check.getexif().get_ifd(GPS)
        assert check.info.get("comment")
        assert check.info.get("xmp")
    return data


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return buffer.getvalue()


def _short_ihdr_png() -> bytes:
    """A PNG whose IHDR chunk says it is 7 bytes long: Pillow raises ValueError for it."""
    data = bytearray(image_bytes("PNG"))
    assert data[8:16] == b"\x00\x00\x00\x0dIHDR"
    data[11] = 0x07
    return bytes(data)


REFUSED = {
    "text": b"just some words, named photo.jpg",
    "html": b"<!doctype html><html><script>alert(document.cookie)</script></html>",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>',
    "zip": _zip(),
    "gif": image_bytes("GIF"),
    "bmp": image_bytes("BMP"),
    "tiff": image_bytes("TIFF"),
    "gif_js_polyglot": b"GIF89a/*\x0a\x00\x0a\x00\x00\x00\x00*/=alert(document.domain);//;",
    "truncated_jpeg": image_bytes("JPEG", (400, 300))[:600],
    "truncated_png": image_bytes("PNG", (400, 300))[:90],
    "short_ihdr_png": _short_ihdr_png(),
    "empty": b"",
    "jpeg_header_only": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
}


# --- image bombs -----------------------------------------------------------------------------


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


@functools.cache
def bomb_png(
    width: int = 8000, height: int = 5000, colour: tuple[int, int, int] = (200, 40, 40)
) -> bytes:
    """A valid RGB PNG of one colour: about 150 kB that decodes to width x height pixels (40
    megapixels, 120 MB of pixels, by default). Compressed row by row, so building it never
    holds the pixels (Pillow would need 160 MB to make it)."""
    packer = zlib.compressobj(9)
    row = b"\x00" + bytes(colour) * width  # filter type 0, then the pixels
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) a PNG's header declares, read without Pillow."""
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


class DecodingHeld:
    """Every decode slot of this process taken, as if other uploads were being decoded: an
    upload now waits for one in its worker thread. A hang guard gives the slots back after
    ``guard_seconds`` and records that it did (``fired``): were an image decoded on the event
    loop, the loop itself would wait for the slot, and the test fails instead of hanging."""

    def __init__(self, guard_seconds: float = 60.0) -> None:
        self.fired = False
        self._guard_seconds = guard_seconds
        self._lock = threading.Lock()
        self._held = contextlib.ExitStack()
        self._timer: threading.Timer | None = None

    def __enter__(self) -> DecodingHeld:
        for _ in range(media.DECODE_SLOTS.slots):
            self._held.enter_context(media.DECODE_SLOTS.taken())
        self._timer = threading.Timer(self._guard_seconds, self._guard)
        self._timer.daemon = True
        self._timer.start()
        return self

    def release(self) -> None:
        with self._lock:
            self._held.close()

    def _guard(self) -> None:
        self.fired = True
        self.release()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.release()


def _status_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        match = re.search(rf"^{field}:\s+(\d+) kB", handle.read(), re.MULTILINE)
    assert match, field
    return int(match.group(1))


def resident_kb() -> int:
    """This process's resident set now (VmRSS), in kB."""
    return _status_kb("VmRSS")


def reset_peak() -> bool:
    """Start the peak resident set (VmHWM) over from now; False where Linux does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def peak_since_reset_kb() -> int:
    """The highest resident set since ``reset_peak`` (VmHWM), in kB."""
    return _status_kb("VmHWM")
