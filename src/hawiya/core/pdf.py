"""PDF documents (Form 58, receipts, appointment tickets, print files of new cards): an HTML
template rendered by WeasyPrint, which shapes Arabic correctly with the vendored IBM Plex Sans
Arabic.

Every PDF extends `portal/pdf/base.html` (fonts, page size, the header). A PDF is built on
request from the register and the request; none is stored. Both interface apps (portal and
back-office) build PDFs, so this lives in core; the fonts and the PDF stylesheet stay with the
portal's static files (a path on disk, not an import). Past the per-account limit `pdf_response`
raises `PdfLimitReached` (429): the interface that called it renders its own page.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import segno
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from hawiya.core.errors import ApplicationError
from hawiya.core.ratelimit import RateLimit

# The portal app ships the fonts and pdf.css (found by path: core imports no interface app).
STATIC = Path(__file__).resolve().parents[1] / "portal" / "static" / "portal"
FONTS = STATIC / "fonts"


def qr_data_uri(text: str) -> str:
    """A QR code of `text` as an SVG data URI, for an <img> in a PDF or a printable page."""
    svg = segno.make(text, error="m").svg_data_uri(scale=4, border=2, dark="black", light="white")
    return str(svg)


def pdf_bytes(template: str, context: Mapping[str, object], *, request: HttpRequest | None = None) -> bytes:
    """The PDF of `template` rendered with `context` (in the active language)."""
    from weasyprint import HTML  # imported late: loading Pango costs ~0.3 s at startup

    html = render_to_string(
        template,
        {"pdf_stylesheet_url": (STATIC / "pdf.css").as_uri(), "pdf_language": get_language(), **context},
        request=request,
    )
    # base_url lets the stylesheet load the fonts from the package directory, never the network.
    document: bytes = HTML(
        string=html, base_url=STATIC.as_uri() + "/", url_fetcher=_local_fetcher()
    ).write_pdf()
    return document


def _is_static_file(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return False
    # Resolved, so "static/../templates/…" does not pass for a static file.
    return Path(url2pathname(parts.path)).resolve().is_relative_to(STATIC.resolve())


@functools.lru_cache(maxsize=16)
def _font_file(path: Path) -> bytes:
    """The font at `path` as plain TrueType/OpenType, a WOFF2 file decompressed once per process:
    WeasyPrint would decompress it at every PDF, in Python (fontTools), about 0.2 s a face and
    most of a PDF's cost (pdf.css loads four faces)."""
    from fontTools.ttLib import woff2  # type: ignore[import-untyped]

    data = path.read_bytes()
    if data[:4] != b"wOF2":
        return data
    out = BytesIO()
    woff2.decompress(BytesIO(data), out)
    return out.getvalue()


def _local_fetcher() -> Any:
    """A fetcher that reads only our own static files and inline data: a PDF holding personal
    data never makes a network request, and a value that slipped into a URL reads nothing else.
    Fonts come decompressed from the process's cache (_font_file)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LocalFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if not (url.startswith("data:") or _is_static_file(url)):
                raise ValueError("PDFs load only Hawiya's static files and inline data")
            if url.endswith(".woff2"):
                path = Path(url2pathname(urlsplit(url).path)).resolve()
                return URLFetcherResponse(url, body=_font_file(path), headers={"Content-Type": "font/ttf"})
            return super().fetch(url, headers)

    return LocalFetcher(allowed_protocols=("file", "data"), allow_redirects=False)


# Each PDF costs a tenth of a second of CPU or more (WeasyPrint): a person may build this many per window,
# more than any real visit needs, so one account cannot keep the web workers busy.
PDFS_PER_WINDOW = 30
PDF_WINDOW_SECONDS = 600


PDF_LIMIT_REACHED = "pdf_limit_reached"


class PdfLimitReached(ApplicationError):
    """The account has built its PDFs for this window; the interface answers with its 429 page."""

    status_code = 429


def pdf_claim(request: HttpRequest, limit: int) -> None:
    """Count one PDF for the signed-in account; raise PdfLimitReached past `limit` in the window."""
    if not RateLimit("pdf", limit, PDF_WINDOW_SECONDS).hit(str(request.user.pk)).allowed:
        raise PdfLimitReached(PDF_LIMIT_REACHED, _("Too many documents requested"))


def pdf_response(
    request: HttpRequest,
    template: str,
    context: Mapping[str, object],
    *,
    filename: str,
    download: bool = False,
    limit: int | None = None,
) -> HttpResponse:
    """An HTTP answer carrying the PDF; private and never cached (it holds personal data).
    Past `limit` (default PDFS_PER_WINDOW) documents in the window, raises PdfLimitReached."""
    pdf_claim(request, PDFS_PER_WINDOW if limit is None else limit)
    response = HttpResponse(pdf_bytes(template, context, request=request), content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def image_data_uri(content: bytes, content_type: str) -> str:
    """Embed an image (e.g. the uploaded photo) in a PDF without a URL."""
    return f"data:{content_type};base64,{base64.b64encode(content).decode()}"
