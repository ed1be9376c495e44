"""Request a replacement and track my requests in a real browser: axe-core, the page's language
and direction, no horizontal scroll and 44 px targets on every page of the journey, in Arabic
and English at 360 and 1280 px, error states included (each form sent empty), the blocked
pre-check page, the request's page, the list (empty and with items) and the cancel page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from hawiya.core import clock
from hawiya.identity.models import User
from hawiya.identity.tests.factories import make_account, person_of
from hawiya.losses.tests.factories import make_id_card, make_report
from hawiya.registry.models import CivilFine, Document
from hawiya.registry.tests.factories import make_address
from hawiya.replacements.models import Replacement, ReplacementState

from .checklist import LANGUAGES, PORTAL_VARIANTS, at, error_state, form_check, photo_file, signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def citizen_with_a_lost_card() -> tuple[User, Document]:
    """A citizen with a National Address and recent fingerprints whose ID card is reported lost
    (through the losses service), so the replacement can be delivered."""
    user = make_account(biometrics_captured_on=clock.today() - dt.timedelta(days=300))
    person = person_of(user)
    make_address(person)
    card = make_id_card(person, issue_date=dt.date(2021, 6, 1))
    make_report(person, [card])
    card.refresh_from_db()
    return user, card


def open_at(open_page: Any, live_server: Any, user: User, width: int) -> Page:
    page = signed_in(open_page, live_server, user)
    page.set_viewport_size({"width": width, "height": 740})
    return page


def submit(page: Page) -> None:
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


@pytest.mark.parametrize(("language", "width"), PORTAL_VARIANTS)
def test_the_replacement_journey_pages_pass_axe(live_server, open_page, artifacts, tmp_path, language, width):
    user, card = citizen_with_a_lost_card()
    page = open_at(open_page, live_server, user, width)
    base = f"/{language}/requests/"
    url = f"{live_server.url}{base}"
    name = f"requests-{language}-{width}"

    # Track my requests, empty; then the first step, sent empty, then answered.
    page.goto(url)
    expect(page.locator("[data-empty]")).to_be_visible()
    form_check(page, language)
    page.goto(f"{url}new/")
    form_check(page, language)
    submit(page)
    error_state(page, language)
    form_check(page, language)
    page.locator("input[name=document]").first.check()
    submit(page)

    assert at(page, f"{base}new/checks/")
    assert page.locator("[data-blockers]").count() == 0
    form_check(page, language)
    page.locator("main a.hw-button").click()

    assert at(page, f"{base}new/contact/")
    form_check(page, language)
    submit(page)
    error_state(page, language)
    form_check(page, language)
    page.locator("#id_address_confirmed").check()
    page.locator("#id_mobile_confirmed").check()
    submit(page)

    assert at(page, f"{base}new/how-to-receive/")
    form_check(page, language)
    submit(page)  # the method page sent empty
    error_state(page, language)
    form_check(page, language)
    if width == 360:
        page.screenshot(path=str(artifacts / f"{name}-method-error.png"), full_page=True)
    page.locator("#method-delivery").check()
    submit(page)

    assert at(page, f"{base}new/photo/")
    form_check(page, language)
    submit(page)
    error_state(page, language)
    form_check(page, language)
    page.locator("input[type=file]").set_input_files(str(photo_file(tmp_path)))
    page.locator("#id_white_background_declared").check()
    submit(page)

    assert at(page, f"{base}new/check-answers/")
    form_check(page, language)
    if width == 360:
        page.screenshot(path=str(artifacts / f"{name}-check-answers.png"), full_page=True)
    submit(page)

    replacement = Replacement.objects.get(document=card)
    assert replacement.state == ReplacementState.AWAITING_PAYMENT
    assert at(page, f"{base}{replacement.reference}/")
    form_check(page, language)
    if width == 360:
        page.screenshot(path=str(artifacts / f"{name}-detail.png"), full_page=True)

    # The list with a request and a loss report in it.
    page.goto(url)
    assert page.locator("[data-requests] li").count() == 1
    assert page.locator("[data-reports] li").count() == 1
    form_check(page, language)
    if width == 360:
        page.screenshot(path=str(artifacts / f"{name}-list.png"), full_page=True)
    # The first step again: nothing left to replace, the request under way listed.
    page.goto(f"{url}new/")
    form_check(page, language)

    # Cancelling: the confirmation page, sent without a reason, then with one.
    page.goto(f"{url}{replacement.reference}/cancel/")
    form_check(page, language)
    submit(page)
    error_state(page, language)
    form_check(page, language)
    page.locator("#id_reason").select_option("applied_by_mistake")
    submit(page)
    assert at(page, f"{base}{replacement.reference}/")
    replacement.refresh_from_db()
    assert replacement.state == ReplacementState.CANCELLED
    form_check(page, language)


@pytest.mark.parametrize(("language", "width"), PORTAL_VARIANTS)
def test_the_blocked_pre_check_page_passes_axe(live_server, open_page, artifacts, language, width):
    user, card = citizen_with_a_lost_card()
    # No service writes civil fines (they come from the register's feed): the row, as the admin.
    CivilFine.objects.create(
        person=person_of(user),
        amount_sar=Decimal(100),
        reason_ar="تأخير تجديد",
        reason_en="Late renewal",
        issued_on=clock.today(),
    )
    page = open_at(open_page, live_server, user, width)
    page.goto(f"{live_server.url}/{language}/requests/new/?document={card.pk}")
    submit(page)

    assert at(page, f"/{language}/requests/new/checks/")
    expect(page.locator("[data-blocker=unpaid_fines]")).to_be_visible()
    form_check(page, language)
    if width == 360:
        page.screenshot(path=str(artifacts / f"requests-{language}-{width}-blocked.png"), full_page=True)
    # The journey does not go on past a blocker.
    page.goto(f"{live_server.url}/{language}/requests/new/contact/")
    assert at(page, f"/{language}/requests/new/checks/")


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_lost_document_to_replace_passes_axe(live_server, open_page, language):
    user = make_account()
    make_id_card(person_of(user))
    page = open_at(open_page, live_server, user, 360)
    page.goto(f"{live_server.url}/{language}/requests/new/")
    expect(page.locator("[data-empty]")).to_be_visible()
    form_check(page, language)
