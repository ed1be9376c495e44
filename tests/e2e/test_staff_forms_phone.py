"""A back-office page with a textarea on a 360-px phone: nothing wider than the screen.

The back-office's form base was a copy of the portal's that lost the textarea's width class, so
the reject page's textarea (its browser default of 40 columns) overflowed on a phone, by more or
less depending on the fonts installed. Both interfaces now share core.forms.HawiyaForm, whose
textareas are full width whatever the fonts.
"""

from __future__ import annotations

from typing import Any

import pytest

from hawiya.casework.tests.factories import booked_today, open_office, staff_user

from .checklist import assert_no_horizontal_scroll, fonts_ready, signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_reject_page_textarea_fits_a_360px_phone(live_server: Any, open_page: Any, language: str) -> None:
    office = open_office()
    officer = staff_user(office=office)
    visit = booked_today(office)
    page = signed_in(open_page, live_server, officer, recently=False, record=False)

    page.goto(f"{live_server.url}/{language}/staff/cases/{visit.replacement.reference}/reject/")
    fonts_ready(page)
    textarea = page.locator("textarea[name=note]")
    textarea.fill("A long explanation " * 30)

    # Full width of its form group (inline-size: 100%), not a width in columns of some font.
    widths = textarea.evaluate("(el) => [el.getBoundingClientRect().width, el.parentElement.clientWidth]")
    assert abs(widths[0] - widths[1]) <= 1, f"textarea {widths[0]}px in a {widths[1]}px form group"
    box = textarea.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 360
    assert_no_horizontal_scroll(page)
