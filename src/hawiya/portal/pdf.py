"""The portal's PDFs: built by `hawiya.core.pdf` (shared with the back-office), re-exported here
so the portal's views and tests keep their names. The per-account limit is read from this module
at call time, so a test may lower it here; past it, the portal's 429 page."""

from __future__ import annotations

from collections.abc import Mapping

from django.http import HttpRequest, HttpResponse

from hawiya.core import pdf as core_pdf
from hawiya.core.pdf import (
    FONTS,
    PDF_WINDOW_SECONDS,
    STATIC,
    _local_fetcher,
    image_data_uri,
    pdf_bytes,
    qr_data_uri,
)

from .views import too_many_requests

PDFS_PER_WINDOW = core_pdf.PDFS_PER_WINDOW

__all__ = [
    "FONTS",
    "PDFS_PER_WINDOW",
    "PDF_WINDOW_SECONDS",
    "STATIC",
    "_local_fetcher",
    "image_data_uri",
    "pdf_bytes",
    "pdf_response",
    "qr_data_uri",
]


def pdf_response(
    request: HttpRequest,
    template: str,
    context: Mapping[str, object],
    *,
    filename: str,
    download: bool = False,
) -> HttpResponse:
    """`hawiya.core.pdf.pdf_response` with the portal's per-account limit and its 429 page."""
    try:
        return core_pdf.pdf_response(
            request, template, context, filename=filename, download=download, limit=PDFS_PER_WINDOW
        )
    except core_pdf.PdfLimitReached:
        return too_many_requests(request, retry_after=core_pdf.PDF_WINDOW_SECONDS)
