"""Every glyph on the page is drawn with the vendored IBM Plex Sans Arabic, whatever fonts the
machine has (CI installs Debian's fonts-dejavu and fonts-noto-core so that an installed font
cannot hide or cause an overflow): Chromium says which platform font drew each element's text."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .checklist import demo_citizen_page, fonts_ready
from .test_requests_pages import citizen_with_a_lost_card, open_at, submit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PLEX = "IBM Plex Sans Arabic"


def fonts_used(page: Page) -> dict[str, list[str]]:
    """Platform font → up to 5 elements (tag.class: text) whose own text it drew."""
    fonts_ready(page)
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]
    used: dict[str, list[str]] = {}

    def walk(node: dict[str, Any]) -> None:
        own_text = "".join(
            child.get("nodeValue", "") for child in node.get("children", []) if child.get("nodeType") == 3
        ).strip()
        if own_text and node.get("nodeName") not in ("SCRIPT", "STYLE", "TITLE", "NOSCRIPT"):
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
            for font in fonts:
                where = used.setdefault(font["familyName"], [])
                if len(where) < 5:
                    where.append(f"{node['nodeName'].lower()}: {own_text[:30]}")
        for child in node.get("children", []):
            walk(child)
        for child in node.get("contentDocument", {}).get("children", []):
            walk(child)

    walk(root)
    cdp.detach()
    return used


def assert_only_plex(page: Page) -> None:
    used = fonts_used(page)
    # Chromium names the face: "IBM Plex Sans Arabic", "… SemiBold", "… Bold".
    others = {family: where for family, where in used.items() if not family.startswith(PLEX)}
    assert any(family.startswith(PLEX) for family in used), f"IBM Plex Sans Arabic drew nothing: {used}"
    assert others == {}, f"text drawn with other fonts: {others}"


@pytest.mark.parametrize("language", ["ar", "en"])
def test_portal_pages_draw_every_glyph_in_plex(live_server, open_page, language):
    page, _user, _card = demo_citizen_page(open_page, live_server, 360)
    for path in ["", "services/report-lost-document/", "contact/", "lost-documents/", "account/"]:
        page.goto(f"{live_server.url}/{language}/{path}")
        page.locator("header details.hw-menu summary").click()  # the menu's text too
        assert_only_plex(page)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_form_controls_and_errors_draw_in_plex(live_server, open_page, language):
    user, _card = citizen_with_a_lost_card()
    page = open_at(open_page, live_server, user, 360)
    page.goto(f"{live_server.url}/{language}/requests/new/")
    submit(page)
    expect(page.locator(".hw-error-summary")).to_be_visible()
    assert_only_plex(page)
    families = page.evaluate(
        """() => Array.from(document.querySelectorAll('input, button, select, textarea, summary'))
            .map((el) => getComputedStyle(el).fontFamily.split(',')[0].replaceAll('"', '').trim())"""
    )
    assert set(families) == {PLEX}
