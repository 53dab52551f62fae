"""Image and file bytes for uploads: small real PNG and JPEG pictures made by Pillow, a JPEG
carrying GPS EXIF, comments and XMP (``jpeg_with_metadata``), the files an upload must refuse
(``REFUSED``), and the files a media folder holds."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from PIL import Image, TiffImagePlugin

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
