"""Paying a bill in a real browser through the demo gateway: bill → demo gateway → confirmation,
in Arabic and English at 360 and 1280 px, with axe on every page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from hawiya.identity.models import User
from hawiya.identity.tests.factories import make_account, person_of
from hawiya.payments.models import Bill, BillState
from hawiya.payments.tests.factories import SECRET, make_bill
from hawiya.replacements.models import ReceiveMethod, Replacement, ReplacementState

from .checklist import check, signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAY = {"ar": "ادفع 135 ريال", "en": "Pay SAR 135"}
H1 = {
    "bill": {"ar": "ادفع الفاتورة", "en": "Pay your bill"},
    "demo": {"ar": "بوابة دفع تجريبية", "en": "Demo payment gateway"},
    "paid": {"ar": "تم استلام المبلغ", "en": "Payment received"},
}


@pytest.fixture(autouse=True)
def _payment_settings(settings: Any) -> None:
    settings.HAWIYA_PAYMENT_GATEWAY = "demo"
    settings.HAWIYA_PAYMENT_WEBHOOK_SECRET = SECRET
    settings.DEMO = True


def signed_in_page(open_page: Callable[[int], Page], live_server: Any, width: int) -> tuple[Page, User]:
    user = make_account()
    return signed_in(open_page, live_server, user, width, recently=False), user


@pytest.mark.parametrize("width", [360, 1280])
@pytest.mark.parametrize("language", ["ar", "en"])
def test_pay_a_bill_through_the_demo_gateway(live_server, open_page, artifacts, language, width) -> None:
    page, user = signed_in_page(open_page, live_server, width)
    bill = make_bill(applicant=person_of(user), method=ReceiveMethod.DELIVERY)
    name = f"payments-{language}-{width}"

    page.goto(f"{live_server.url}/{language}/payments/{bill.bill_number}/")
    assert page.locator("h1").inner_text() == H1["bill"][language]
    assert bill.bill_number in page.locator("[data-bill-number]").inner_text()
    assert page.locator("[data-bill-number] bdi[dir=ltr]").count() == 1
    check(page, language)
    page.screenshot(path=str(artifacts / f"{name}-bill.png"), full_page=True)

    page.get_by_role("button", name=PAY[language]).click()
    assert page.url.endswith(f"/{language}/payments/demo/{bill.bill_number}/")
    assert page.locator("h1").inner_text() == H1["demo"][language]
    check(page, language)
    page.screenshot(path=str(artifacts / f"{name}-demo.png"), full_page=True)

    page.locator("[data-demo-pay]").click()
    assert page.url.endswith(f"/{language}/payments/{bill.bill_number}/return/")
    assert page.locator("h1").inner_text() == H1["paid"][language]
    reference = Replacement.objects.get(pk=bill.replacement_id).reference
    assert reference in page.locator("[data-reference]").inner_text()
    check(page, language)
    page.screenshot(path=str(artifacts / f"{name}-paid.png"), full_page=True)

    assert Bill.objects.get(pk=bill.pk).state == BillState.PAID
    assert Replacement.objects.get(pk=bill.replacement_id).state == ReplacementState.PAID


def test_a_declined_payment_offers_a_retry_in_arabic(live_server, open_page, artifacts) -> None:
    page, user = signed_in_page(open_page, live_server, 360)
    bill = make_bill(applicant=person_of(user))
    page.goto(f"{live_server.url}/ar/payments/demo/{bill.bill_number}/")
    page.locator("[data-demo-decline]").click()
    assert page.locator("h1").inner_text() == "لم تكتمل عملية الدفع"
    check(page, "ar")
    page.screenshot(path=str(artifacts / "payments-ar-declined.png"), full_page=True)
    page.locator("[data-retry]").click()
    assert page.locator("h1").inner_text() == H1["bill"]["ar"]
    assert Bill.objects.get(pk=bill.pk).state == BillState.ISSUED
