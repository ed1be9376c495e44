"""Error-summary links in Chromium at 360 × 640: a radio group's link focuses its first radio (not
the fieldset) and scrolls so that the question (legend) and the error message are both in view."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .checklist import sign_in
from .test_requests_pages import citizen_with_a_lost_card, open_at, submit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def in_view(page: Page, selector: str) -> bool:
    return bool(
        page.evaluate(
            """(selector) => {
                const box = document.querySelector(selector).getBoundingClientRect();
                return box.top >= -1 && box.bottom <= window.innerHeight + 1;  // sub-pixel rounding
            }""",
            selector,
        )
    )


@pytest.mark.parametrize("language", ["ar", "en"])
def test_a_radio_groups_summary_link_focuses_its_first_radio_with_the_question_in_view(
    live_server, open_page, artifacts, language
):
    user, card = citizen_with_a_lost_card()
    page = open_at(open_page, live_server, user, 360)
    page.set_viewport_size({"width": 360, "height": 640})
    page.goto(f"{live_server.url}/{language}/requests/new/")
    submit(page)  # nothing chosen
    expect(page.locator(".hw-error-summary")).to_be_visible()
    page.locator(".hw-error-summary a").first.click()

    focused = page.evaluate("() => [document.activeElement.tagName, document.activeElement.type]")
    assert focused == ["INPUT", "radio"]
    assert page.evaluate("() => document.activeElement.value") == str(card.pk)
    assert in_view(page, "main fieldset legend"), "the question is scrolled out of view"
    assert in_view(page, "main .hw-error-message"), "the error message is scrolled out of view"
    assert in_view(page, "main fieldset input[type=radio]")
    page.screenshot(path=str(artifacts / f"error-summary-link-{language}-360.png"))


def test_without_javascript_the_link_lands_on_the_first_radio(live_server, browser, artifacts):
    user, _card = citizen_with_a_lost_card()
    context = browser().new_context(
        viewport={"width": 360, "height": 640}, java_script_enabled=False, locale="ar-SA"
    )
    try:
        sign_in(context, live_server, user)
        page = context.new_page()
        page.goto(f"{live_server.url}/ar/requests/new/")
        submit(page)
        page.locator(".hw-error-summary a").first.click()
        # The anchor's target is the first radio itself, and the browser scrolls it into view.
        target = page.evaluate("() => document.querySelector(':target')")
        assert target is not None
        assert page.evaluate(
            "() => [document.querySelector(':target').tagName, document.querySelector(':target').type]"
        ) == [
            "INPUT",
            "radio",
        ]
        box = page.evaluate(
            "() => { const b = document.querySelector(':target').getBoundingClientRect();"
            " return [b.top, b.bottom, window.innerHeight]; }"
        )
        assert in_view(page, ":target"), box
    finally:
        context.close()
