"""The delivery journey in a real browser. A citizen's delivery request is built through the
services up to `paid`; then the officer (staff sign-in with the authenticator app's code)
approves it on the case page and marks it printed in the print queue; the demo courier page marks
it picked up, out for delivery and delivered with the code read from the SMS outbox; the citizen,
signed in on the portal, sees "Delivered" with the courier's steps on their request's timeline.
A second run: two failed attempts, and the citizen sees "Returned to the office".

Screenshots in both languages go to test-artifacts/ (delivery-*.png).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyotp
import pytest
from django.utils import translation
from playwright.sync_api import Page, expect

from hawiya.casework import backoffice as casework
from hawiya.casework.tests.factories import STAFF_PASSWORD, actor_of, apply, open_office, staff_user
from hawiya.core import clock
from hawiya.delivery.models import Shipment, ShipmentState
from hawiya.delivery.tests.factories import delivery_code
from hawiya.identity.models import AuthenticatorApp, User
from hawiya.identity.tests.factories import PASSWORD, last_code, make_account, person_of
from hawiya.registry.models import Office
from hawiya.registry.tests.factories import make_address
from hawiya.replacements.models import Replacement, ReplacementState
from hawiya.replacements.services import replacement_office_set

from .checklist import SECRET, assert_accessible, context_for, signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

COURIER_STEPS = ["dispatched", "out_for_delivery", "delivered"]


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.HAWIYA_PAYMENT_GATEWAY = "demo"
    settings.HAWIYA_PAYMENT_WEBHOOK_SECRET = "test-webhook-secret"
    settings.HAWIYA_FINGERPRINT_SCANNER = "demo"
    settings.DEMO = True  # the demo courier pages


def paid_delivery_request(office: Office) -> tuple[User, Replacement]:
    """A citizen with an account, a National Address and recent fingerprints whose ID card is
    lost; their delivery request, applied and paid through the services, belongs to `office`."""
    user = make_account(biometrics_captured_on=clock.today() - dt.timedelta(days=300))
    make_address(person_of(user))
    replacement = apply(person_of(user), method="delivery", office=office)
    if replacement.office_id != office.pk:
        replacement_office_set(replacement=replacement, office=office)
    replacement.refresh_from_db()
    assert replacement.state == ReplacementState.PAID
    return user, replacement


def staff_sign_in(page: Page, base: str, user: User) -> None:
    page.goto(f"{base}/sign-in/")
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(STAFF_PASSWORD)
    page.locator("main form button[type=submit]").click()
    assert page.url == f"{base}/sign-in/code/"
    page.locator("#id_code").fill(pyotp.TOTP(SECRET).now())
    page.locator("main form button[type=submit]").click()
    assert page.url == f"{base}/day/", page.url


def portal_sign_in(page: Page, root: str, user: User) -> None:
    """The citizen's own sign-in: username and password, then the code sent by SMS."""
    page.goto(f"{root}/ar/sign-in/")
    page.locator("#id_login").fill(user.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    assert page.url.endswith("/ar/sign-in/code/"), page.url
    page.locator("#id_code").fill(last_code(person_of(user).mobile))
    page.locator("main form button[type=submit]").first.click()
    assert page.url.endswith("/ar/account/"), page.url


def label(state: ReplacementState, language: str) -> str:
    """The state's word as the citizen reads it in `language`."""
    with translation.override(language):
        return str(state.label)


def courier_row(page: Page, reference: str) -> Any:
    return page.locator(f'[data-shipment="{reference}"]')


def state_of(replacement: Replacement) -> str:
    replacement.refresh_from_db()
    return replacement.state


def timeline(page: Page) -> list[str]:
    actions = page.locator("[data-timeline] [data-action]").evaluate_all(
        "(items) => items.map((item) => item.dataset.action)"
    )
    return list(reversed(actions))  # the page lists the newest first


def test_officer_approves_and_prints_the_courier_delivers_and_the_citizen_sees_delivered(
    live_server: Any, browser: Callable[..., Any], open_page: Callable[[int], Page], artifacts: Path
) -> None:
    office = open_office(name_ar="مكتب الأحوال المدنية بالملز", name_en="Civil Affairs Office, Al Malaz")
    officer = staff_user(office=office)
    AuthenticatorApp.objects.create(user=officer, secret=SECRET, confirmed_at=clock.now())
    citizen, replacement = paid_delivery_request(office)
    reference = replacement.reference
    staff = browser().new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page = staff.new_page()
    base = f"{live_server.url}/en/staff"

    # The officer signs in with the authenticator app's code, approves on the case page…
    staff_sign_in(page, base, officer)
    page.goto(f"{base}/cases/{reference}/")
    assert page.locator("[data-primary-action]").get_attribute("data-primary-action") == "approve"
    page.get_by_role("button", name="Approve and issue the new document").click()
    page.wait_for_url(f"{base}/cases/{reference}/")
    expect(page.locator("[data-new-document]")).to_be_visible()
    assert state_of(replacement) == ReplacementState.APPROVED
    page.screenshot(path=str(artifacts / "delivery-01-approved-en.png"), full_page=True)

    # …and marks it printed in the print queue: the shipment waits for the courier.
    page.goto(f"{base}/print/")
    page.locator(f'[data-queue-row="{reference}"]').get_by_role("button", name="Mark printed").click()
    assert "is marked printed" in page.locator("main").inner_text()
    shipment = Shipment.objects.get(replacement=replacement)
    assert shipment.state == ShipmentState.AWAITING_PICKUP
    assert state_of(replacement) == ReplacementState.PRINTED

    # The demo courier, in Arabic: picked up, out for delivery, delivered with the holder's code.
    courier = f"{live_server.url}/ar/staff/dev/courier/"
    page.goto(courier)
    assert courier_row(page, shipment.reference).is_visible()
    page.screenshot(path=str(artifacts / "delivery-02-courier-list-ar.png"), full_page=True)
    courier_row(page, shipment.reference).locator("button[type=submit]").click()
    assert state_of(replacement) == ReplacementState.DISPATCHED
    courier_row(page, shipment.reference).locator("button[type=submit]").click()
    assert state_of(replacement) == ReplacementState.OUT_FOR_DELIVERY
    assert_accessible(page)
    page.screenshot(path=str(artifacts / "delivery-03-courier-out-for-delivery-ar.png"), full_page=True)
    courier_row(page, shipment.reference).locator(f'a[href$="/{shipment.reference}/delivered/"]').click()
    page.locator("input[name=handover_code]").fill(delivery_code(replacement.pk))
    page.screenshot(path=str(artifacts / "delivery-04-courier-delivered-form-ar.png"), full_page=True)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(courier)
    assert state_of(replacement) == ReplacementState.DELIVERED
    assert courier_row(page, shipment.reference).count() == 0  # nothing left to do for it
    staff.close()

    # The citizen signs in on the portal and sees "Delivered", with the courier's steps.
    phone = open_page(360)
    portal_sign_in(phone, live_server.url, citizen)
    for language in ("ar", "en"):
        phone.goto(f"{live_server.url}/{language}/requests/{reference}/")
        tag = phone.locator("[data-state]").first
        assert tag.get_attribute("data-state") == "delivered"
        assert tag.inner_text().strip() == label(ReplacementState.DELIVERED, language)
        steps = timeline(phone)
        assert [step for step in steps if step in COURIER_STEPS] == COURIER_STEPS, steps
        assert steps.index("printed") < steps.index("dispatched")
        assert_accessible(phone)
        phone.screenshot(
            path=str(artifacts / f"delivery-05-citizen-delivered-{language}.png"), full_page=True
        )


def test_two_failed_attempts_return_the_card_and_the_citizen_is_told(
    live_server: Any, browser: Callable[..., Any], open_page: Callable[[int], Page], artifacts: Path
) -> None:
    office = open_office()
    officer = staff_user(office=office)
    citizen, replacement = paid_delivery_request(office)
    # Approved and printed by the office through the services (the first test does it in the browser).
    staff_actor = actor_of(officer)
    casework.replacement_approve(staff=staff_actor, replacement_id=replacement.pk)
    casework.replacement_mark_printed(staff=staff_actor, replacement_id=replacement.pk)
    shipment = Shipment.objects.get(replacement=replacement)

    staff = context_for(browser, live_server, 360, officer)
    page = staff.new_page()
    courier = f"{live_server.url}/en/staff/dev/courier/"
    page.goto(courier)
    courier_row(page, shipment.reference).locator("button[type=submit]").click()  # picked up
    for attempt in (1, 2):
        courier_row(page, shipment.reference).locator("button[type=submit]").click()  # out for delivery
        assert state_of(replacement) == ReplacementState.OUT_FOR_DELIVERY
        courier_row(page, shipment.reference).locator(f'a[href$="/{shipment.reference}/failed/"]').click()
        page.locator("input[name=reason][value=nobody_home]").check()
        if attempt == 2:
            page.screenshot(path=str(artifacts / "delivery-06-courier-second-failure-en.png"), full_page=True)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(courier)
    assert state_of(replacement) == ReplacementState.RETURNED_TO_OFFICE
    shipment.refresh_from_db()
    assert shipment.state == ShipmentState.RETURNED
    staff.close()

    phone = signed_in(open_page, live_server, citizen)
    assert label(ReplacementState.RETURNED_TO_OFFICE, "en") == "Returned to the office"
    for language in ("ar", "en"):
        phone.goto(f"{live_server.url}/{language}/requests/{replacement.reference}/")
        tag = phone.locator("[data-state]").first
        assert tag.get_attribute("data-state") == "returned_to_office"
        assert tag.inner_text().strip() == label(ReplacementState.RETURNED_TO_OFFICE, language)
        steps = timeline(phone)
        assert steps.count("delivery_failed") == 2, steps
        assert steps[-1] == "returned_to_office", steps
        assert_accessible(phone)
        phone.screenshot(path=str(artifacts / f"delivery-07-citizen-returned-{language}.png"), full_page=True)
