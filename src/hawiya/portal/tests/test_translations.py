"""Every user-facing string is in Arabic on Arabic pages (docs/ui.md §7), and the catalogue is complete."""

import re
from pathlib import Path

import pytest

from .html import find_one

CATALOGUE = Path(__file__).resolve().parents[1] / "locale" / "ar" / "LC_MESSAGES" / "django.po"
ARABIC_PAGES = [
    "/ar/",
    "/ar/services/report-lost-document/",
    "/ar/services/request-replacement/",
    "/ar/services/appointments/",
    "/ar/services/track-requests/",
    "/ar/privacy/",
    "/ar/cookies/",
    "/ar/accessibility/",
    "/ar/terms/",
    "/ar/contact/",
    "/ar/no-such-page/",
]
# Latin words that belong on an Arabic page: the toggle, standards, cookie names, the mailbox.
ALLOWED_LATIN = {
    "English",
    "WCAG",
    "axe",
    "core",
    "sessionid",
    "csrftoken",
    "hawiya_language",
    "hawiya_display",
    "help",
    "hawiya",
    "example",
}


def _entries(po: str) -> list[tuple[list[str], str, str]]:
    entries = []
    for block in po.split("\n\n"):
        lines = block.strip().splitlines()
        flags = [line for line in lines if line.startswith("#,")]
        text = "\n".join(line for line in lines if not line.startswith("#"))
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', text, re.M)
        msgstr = re.search(r'^msgstr ((?:".*"\n?)+)', text, re.M)
        if msgid and msgstr:
            joined = ["".join(re.findall(r'"(.*)"', part.group(1))) for part in (msgid, msgstr)]
            entries.append((flags, joined[0], joined[1]))
    return entries


def test_catalogue_is_complete_and_has_no_fuzzy_entry():
    entries = [entry for entry in _entries(CATALOGUE.read_text()) if entry[1]]  # skip the header

    assert len(entries) > 100
    assert [msgid for flags, msgid, _ in entries if any("fuzzy" in flag for flag in flags)] == []
    assert [msgid for _, msgid, msgstr in entries if not msgstr] == []


def test_placeholders_survive_translation():
    for _, msgid, msgstr in _entries(CATALOGUE.read_text()):
        if msgid:
            assert sorted(re.findall(r"%\(\w+\)s", msgid)) == sorted(re.findall(r"%\(\w+\)s", msgstr)), msgid


@pytest.mark.parametrize("demo", [True, False])
@pytest.mark.parametrize("url", ARABIC_PAGES)
def test_arabic_pages_have_no_untranslated_english(client, settings, url, demo):
    settings.DEMO = demo  # both wordings of the stamp strip
    body = find_one(client.get(url).content, "body").text
    latin = set(re.findall(r"[A-Za-z_]{2,}", body)) - ALLOWED_LATIN - {"AA", "gov", "sa", "HTTPS"}

    assert latin == set()
