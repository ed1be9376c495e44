"""Bill, demo gateway and return pages: what they show in each state, paying in demo mode,
owner only (404 for anyone else), the demo page only in demo mode."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hawiya.audit.actors import Actor
from hawiya.core import clock
from hawiya.identity.models import User
from hawiya.identity.tests.factories import make_account, person_of
from hawiya.notifications.tests.conftest import Operator, Reply
from hawiya.payments.models import Bill, BillState, PaymentCallback
from hawiya.payments.services import bills_expire_due, payment_callback_apply
from hawiya.payments.tests.factories import SECRET, callback_body, make_bill, signed
from hawiya.replacements.models import ReceiveMethod, Replacement, ReplacementState

from .html import find_all, find_one

pytestmark = pytest.mark.django_db

LANGUAGES = ["ar", "en"]


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.HAWIYA_PAYMENT_GATEWAY = "demo"
    settings.HAWIYA_PAYMENT_WEBHOOK_SECRET = SECRET
    settings.DEMO = True
    cache.clear()


def url(name: str, bill: Bill, language: str = "en") -> str:
    with translation.override(language):
        return reverse(f"portal:{name}", args=[bill.bill_number])


@pytest.fixture
def owner() -> User:
    return make_account()


@pytest.fixture
def client_of(client: Client):
    def signed_in(user: User) -> Client:
        client.force_login(user)
        return client

    return signed_in


def _bill(user: User, **overrides: Any) -> Bill:
    return make_bill(applicant=person_of(user), **overrides)


def _pay(bill: Bill) -> None:
    body = callback_body(bill)
    payment_callback_apply(body=body, signature_header=signed(body))


@pytest.mark.parametrize("language", LANGUAGES)
def test_bill_page_shows_lines_total_number_deadline_and_the_pay_button(owner, client_of, language) -> None:
    bill = _bill(owner)
    response = client_of(owner).get(url("payments-bill", bill, language))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert find_one(html, "h1").text == ("Pay your bill" if language == "en" else "ادفع الفاتورة")
    assert f'<bdi dir="ltr">{bill.bill_number}</bdi>' in html
    lines = [element.text for element in find_all(html, "dd") if "hw-amount" in element.classes]
    if language == "en":
        assert lines == ["SAR 100", "SAR 35", "SAR 135"]
        assert "Pay SAR 135" in html
    else:
        assert lines == ["100 ريال", "35 ريال", "135 ريال"]
        assert "ادفع 135 ريال" in html
    expires = next(element for element in find_all(html, "dd") if "data-expires" in element.attrs).text
    assert str(bill.expires_at.astimezone(clock.RIYADH).year) in expires
    assert "هـ" in expires or "AH" in expires  # the Hijri date beside the Gregorian one
    assert find_one(html, "span", "hw-tag").attrs["data-bill-state"] == "issued"


def test_pay_sends_the_person_to_the_gateway_checkout(owner, client_of) -> None:
    bill = _bill(owner)
    response = client_of(owner).post(url("payments-bill", bill))
    assert response.status_code == 302
    assert response["Location"] == url("payments-demo", bill)


def _http_gateway(settings, gateway: Operator) -> None:
    settings.HAWIYA_PAYMENT_GATEWAY = "http"
    settings.HAWIYA_PAYMENT_GATEWAY_URL = gateway.url
    settings.HAWIYA_PAYMENT_API_KEY = "k"
    settings.HAWIYA_PAYMENT_CHECKOUT_HOST = "pay.example"


def test_pay_with_the_http_gateway_redirects_to_its_page(owner, client_of, settings) -> None:
    bill = _bill(owner)
    with Operator() as gateway:
        gateway.answer(Reply(201, b'{"url": "https://pay.example/c/1"}'))
        _http_gateway(settings, gateway)
        response = client_of(owner).post(url("payments-bill", bill))
        assert response.status_code == 302
        assert response["Location"] == "https://pay.example/c/1"
        assert gateway.received[0].payload["return_url"] == "http://testserver" + url("payments-return", bill)
        gateway.answer(Reply(503))
        failed = client_of(owner).post(url("payments-bill", bill))
    assert failed.status_code == 502
    assert "Location" not in failed
    assert "not answering" in failed.content.decode()


@pytest.mark.parametrize("checkout", ["http://pay.example/c/1", "https://phish.example/c/1"])
def test_a_checkout_off_the_gateway_host_is_a_502_page_not_a_redirect(
    owner, client_of, settings, checkout
) -> None:
    bill = _bill(owner)
    with Operator() as gateway:
        gateway.answer(Reply(201, f'{{"url": "{checkout}"}}'.encode()))
        _http_gateway(settings, gateway)
        response = client_of(owner).post(url("payments-bill", bill))
    assert response.status_code == 502
    assert "Location" not in response
    assert checkout not in response.content.decode()


def test_after_a_declined_card_pay_opens_a_new_checkout(owner, client_of, settings) -> None:
    bill = _bill(owner)
    with Operator() as gateway:
        _http_gateway(settings, gateway)
        client = client_of(owner)
        for _ in range(3):
            gateway.answer(Reply(201, b'{"url": "https://pay.example/c/1"}'))
        client.post(url("payments-bill", bill))
        client.post(url("payments-bill", bill))  # a second click: the same checkout
        body = callback_body(bill, status="failed", payment_id="")
        payment_callback_apply(body=body, signature_header=signed(body))
        client.post(url("payments-bill", bill))
    keys = [request.headers["Idempotency-Key"] for request in gateway.received]
    number = bill.bill_number
    assert keys == [f"checkout-{number}-1", f"checkout-{number}-1", f"checkout-{number}-2"]


@pytest.mark.parametrize(
    "state", [BillState.REFUND_PENDING, BillState.REFUND_FAILED, BillState.REFUND_UNKNOWN]
)
def test_after_a_cancellation_the_bill_says_the_fine_is_being_refunded(owner, client_of, state) -> None:
    from hawiya.casework.services import replacement_cancel

    bill = _bill(owner, method=ReceiveMethod.DELIVERY)
    _pay(bill)
    replacement_cancel(
        replacement_id=bill.replacement_id,
        applicant=bill.replacement.applicant,
        reason="",
        actor=Actor.system("tests"),
    )
    Bill.objects.filter(pk=bill.pk).update(state=state)  # a failed refund is the finance team's
    page = client_of(owner).get(url("payments-bill", bill))
    assert page.status_code == 200
    assert find_one(page.content, "h1").text == "The fine is being refunded"
    assert find_one(page.content, "span", "hw-tag").attrs["data-bill-state"] == "refund_pending"
    [text] = [
        element.text for element in find_all(page.content, "p") if "data-refund-pending" in element.attrs
    ]
    assert "SAR 100 (the fine) is being refunded" in text
    assert "The delivery fee, SAR 35, is not refunded" in text


def test_demo_pay_records_the_payment_through_the_signed_callback(owner, client_of) -> None:
    bill = _bill(owner)
    client = client_of(owner)
    page = client.get(url("payments-demo", bill))
    assert page.status_code == 200
    inputs = find_all(page.content, "input")
    key = next(element for element in inputs if element.attrs.get("name") == "key").attrs["value"]
    assert find_all(page.content, "span", "hw-tag")[0].attrs.get("data-demo") is not None
    response = client.post(url("payments-demo", bill), {"key": key, "outcome": "paid"})
    assert response.status_code == 302
    assert response["Location"] == url("payments-return", bill)
    bill.refresh_from_db()
    assert bill.state == BillState.PAID
    assert Replacement.objects.get(pk=bill.replacement_id).state == ReplacementState.PAID
    # A double click replays the same gateway event: still one payment.
    client.post(url("payments-demo", bill), {"key": key, "outcome": "paid"})
    assert PaymentCallback.objects.count() == 1
    bill.refresh_from_db()
    assert not bill.refund_due


def test_demo_decline_leaves_the_bill_payable_and_the_return_page_offers_a_retry(owner, client_of) -> None:
    bill = _bill(owner)
    client = client_of(owner)
    client.post(url("payments-demo", bill), {"key": "a" * 32, "outcome": "failed"})
    assert Bill.objects.get(pk=bill.pk).state == BillState.ISSUED
    page = client.get(url("payments-return", bill))
    assert find_one(page.content, "h1").text == "Your payment was not completed"
    assert find_all(page.content, "a", "hw-button")[0].attrs["href"] == url("payments-bill", bill)


def test_demo_page_rejects_a_missing_key_or_outcome(owner, client_of) -> None:
    bill = _bill(owner)
    client = client_of(owner)
    assert client.post(url("payments-demo", bill), {"outcome": "paid"}).status_code == 302
    assert client.post(url("payments-demo", bill), {"key": "a" * 32, "outcome": "maybe"}).status_code == 302
    assert Bill.objects.get(pk=bill.pk).state == BillState.ISSUED
    assert not PaymentCallback.objects.exists()


def test_demo_page_is_404_outside_demo_mode(owner, client_of, settings) -> None:
    settings.DEMO = False
    bill = _bill(owner)
    client = client_of(owner)
    assert client.get(url("payments-demo", bill)).status_code == 404
    assert client.post(url("payments-demo", bill), {"key": "a" * 32, "outcome": "paid"}).status_code == 404
    assert Bill.objects.get(pk=bill.pk).state == BillState.ISSUED


@pytest.mark.parametrize("language", LANGUAGES)
def test_return_page_after_payment_confirms_with_the_reference_and_next_step(
    owner, client_of, language
) -> None:
    bill = _bill(owner, method=ReceiveMethod.COLLECTION)
    _pay(bill)
    page = client_of(owner).get(url("payments-return", bill, language))
    html = page.content.decode()
    assert find_one(html, "h1").text == ("Payment received" if language == "en" else "تم استلام المبلغ")
    reference = Replacement.objects.get(pk=bill.replacement_id).reference
    assert f'<strong data-reference><bdi dir="ltr">{reference}</bdi></strong>' in html
    assert [element for element in find_all(html, "a") if "data-next" in element.attrs]


def test_return_page_for_delivery_explains_the_delivery_time(owner, client_of) -> None:
    bill = _bill(owner, method=ReceiveMethod.DELIVERY)
    _pay(bill)
    html = client_of(owner).get(url("payments-return", bill)).content.decode()
    assert "3 to 5 working days" in html


def test_return_page_before_the_gateway_answers_says_we_are_waiting(owner, client_of) -> None:
    bill = _bill(owner)
    page = client_of(owner).get(url("payments-return", bill))
    assert find_one(page.content, "h1").text == "We are waiting for your payment"


def test_an_expired_bill_explains_itself_and_cannot_be_paid(owner, client_of) -> None:
    bill = _bill(owner, at=clock.now() - dt.timedelta(hours=73))
    client = client_of(owner)
    # Past its deadline but not yet swept: shown as expired already.
    page = client.get(url("payments-bill", bill))
    assert find_one(page.content, "h1").text == "This bill can no longer be paid"
    assert not [element for element in find_all(page.content, "button") if "data-pay" in element.attrs]
    refused = client.post(url("payments-bill", bill))
    assert refused.status_code == 302
    assert refused["Location"] == url("payments-bill", bill)
    assert client.get(url("payments-demo", bill))["Location"] == url("payments-return", bill)
    bills_expire_due()
    page = client.get(url("payments-return", bill))
    assert "72 hours" in page.content.decode()


@pytest.mark.parametrize("name", ["payments-bill", "payments-return", "payments-demo"])
def test_someone_elses_bill_is_404(owner, client_of, name) -> None:
    bill = _bill(owner)
    stranger = client_of(make_account())
    assert stranger.get(url(name, bill)).status_code == 404
    assert stranger.post(url(name, bill), {"key": "a" * 32, "outcome": "paid"}).status_code in (404, 405)
    assert Bill.objects.get(pk=bill.pk).state == BillState.ISSUED


def test_unknown_or_malformed_bill_numbers_are_404(owner, client_of) -> None:
    client = client_of(owner)
    assert client.get("/en/payments/000000000000/").status_code == 404
    assert client.get("/en/payments/12345/").status_code == 404
    assert client.get("/en/payments/abcdefghijkl/return/").status_code == 404


def test_pages_need_a_signed_in_citizen(owner) -> None:
    bill = _bill(owner)
    response = Client().get(url("payments-bill", bill))
    assert response.status_code == 302
    assert "/sign-in/" in response["Location"]
