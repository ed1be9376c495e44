"""PDFs read only Hawiya's own static files and inline data, never the network or other files."""

from __future__ import annotations

import pytest

from hawiya.portal.pdf import STATIC, _local_fetcher


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/tracker.png",
        "https://example.com/x.css",
        "file:///etc/passwd",
        (STATIC.parent / "templates").as_uri() + "/x.html",
        "ftp://example.com/x",
        STATIC.as_uri() + "/../templates/portal/base.html",
    ],
)
def test_a_pdf_may_not_fetch_anything_but_our_static_files(url: str) -> None:
    with pytest.raises(ValueError, match="only"):
        _local_fetcher().fetch(url)


def test_a_pdf_reads_the_vendored_font_and_inline_data() -> None:
    fetcher = _local_fetcher()
    font = fetcher.fetch((STATIC / "fonts" / "ibm-plex-sans-arabic-arabic-400-normal.woff2").as_uri())
    inline = fetcher.fetch("data:text/plain;base64,aGF3aXlh")

    assert len(font.read()) > 10_000
    assert inline.read() == b"hawiya"
