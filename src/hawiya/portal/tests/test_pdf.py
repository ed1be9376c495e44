"""PDFs read only Hawiya's own static files and inline data, never the network or other files."""

from __future__ import annotations

import pytest
from django.utils import translation

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

    # Decompressed once per process (core/pdf.py), not at every PDF: plain TrueType, not WOFF2.
    assert font.read()[:4] == b"\x00\x01\x00\x00"
    assert inline.read() == b"hawiya"


def test_a_pdf_embeds_the_vendored_arabic_font() -> None:
    from io import BytesIO

    from pypdf import PdfReader

    from hawiya.core.pdf import pdf_bytes

    with translation.override("ar"):
        document = pdf_bytes("portal/pdf/base.html", {})
    fonts = {
        str(font["/BaseFont"]).split("+")[-1]  # "/ABCDEF+Plex-Arabic": a subset of the face
        for page in PdfReader(BytesIO(document)).pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[index]
    }
    # pdf.css's faces, from the decompressed vendored files (WeasyPrint skips a font it cannot read).
    assert {"Plex-Arabic", "Plex-Arabic-Bold"} <= fonts, fonts


@pytest.mark.django_db
def test_one_account_may_build_only_so_many_pdfs_in_ten_minutes(client, settings, monkeypatch) -> None:
    from django.core.cache import cache

    from hawiya.identity.tests.factories import make_account, person_of
    from hawiya.portal import pdf
    from hawiya.registry.tests.factories import make_address
    from hawiya.replacements.tests.factories import lost_id_card, submit

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    user = make_account()
    person = person_of(user)
    make_address(person)
    replacement = submit(applicant=person, document=lost_id_card(holder=person))
    client.force_login(user)
    monkeypatch.setattr(pdf, "PDFS_PER_WINDOW", 3)  # the rule, not the real figure: PDFs are slow
    url = f"/ar/requests/{replacement.reference}/receipt.pdf"

    answers = [client.get(url) for _ in range(pdf.PDFS_PER_WINDOW + 1)]

    assert [answer.status_code for answer in answers[:-1]] == [200] * pdf.PDFS_PER_WINDOW
    assert answers[-1].status_code == 429
    assert "طلبت مستندات كثيرة" in answers[-1].content.decode()  # the 429 page, in Arabic
    assert answers[-1]["Retry-After"] == "600"  # the window the count restarts after
