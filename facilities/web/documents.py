"""Printed documents: HTML (a Jinja template rendered as usual) to PDF with WeasyPrint, and QR
codes with segno.

WeasyPrint is CPU-bound and synchronous (a notice takes a fraction of a second, an inspection
report with photos a few seconds), so :func:`render_pdf` runs it in a worker thread: the event
loop keeps serving while a document is laid out. A document's stylesheet names the fonts by
family (``documents.css``); the CJK font that makes Chinese render on any machine is set up by
``make`` (see the README), and the system's fonts are the fallback.

Files a document refers to (its stylesheet, images, photos) are read through ``base_url``: a
``file://`` URL of the project's ``static/`` folder, never over HTTP, so rendering needs no
server and never reaches the network (:func:`_local_only` refuses any other address).
"""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path

import segno
import weasyprint

# WeasyPrint logs every layout step at INFO: a line per page of every document, in the server's
# log. Its warnings (a missing font, an unreadable image) still show.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

#: The project's static files (stylesheets, fonts, images) as documents read them.
STATIC = Path(__file__).resolve().parents[2] / "static"
STATIC_URL = STATIC.as_uri() + "/"


def _local_only() -> weasyprint.urls.URLFetcher:
    """WeasyPrint's URL fetcher, limited to local files and inline data: a document never makes
    a request (a photo's address typed by someone cannot make the server fetch anything). One
    per rendering: a fetcher keeps per-request state, and renderings run in several threads."""
    return weasyprint.urls.URLFetcher(allowed_protocols={"file", "data"})


def _render(html: str, base_url: str) -> bytes:
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=_local_only())
    return bytes(document.write_pdf())


async def render_pdf(html: str, *, base_url: str = STATIC_URL) -> bytes:
    """The PDF of ``html``, laid out off the event loop."""
    return await asyncio.to_thread(_render, html, base_url)


def qr_svg(data: str, *, scale: int = 4, border: int = 4) -> str:
    """An SVG QR code of ``data`` (error correction M: survives a scratched sticker), inline
    markup for a document (no XML declaration)."""
    code = segno.make(data, error="m", micro=False)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=scale, border=border, xmldecl=False, svgns=True, nl=False)
    return out.getvalue().decode()
