"""The citizen's approval requests: the page (party, purpose, three numbers) in Arabic and English,
the poll, tapping the right or a wrong number, deny, another person's request, the account banner,
and the poll not counting as activity."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hawiya.approvals.models import ApprovalRequest, ApprovalStatus
from hawiya.approvals.tests.helpers import ask, register
from hawiya.audit.models import AuditEvent
from hawiya.core import clock
from hawiya.core.testing import pin_clock
from hawiya.identity.models import User
from hawiya.identity.tests.factories import make_account, person_of
from hawiya.portal import session_keys

from .html import find_all

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "hawiya.identity.client_secrets.ClientSecretHasher",
    ]
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.HAWIYA_APPROVALS_RATE_LIMIT = 1000
    cache.clear()


@pytest.fixture
def user() -> User:
    return make_account()


def _url(name: str, language: str = "en", *args: str) -> str:
    with translation.override(language):
        return reverse(f"portal:{name}", args=args)


def _answer(client: Client, row: ApprovalRequest, **data: Any) -> Any:
    return client.post(_url("account-approval-answer", "en", row.public_id), data)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_page_shows_who_asks_for_what_and_three_numbers(
    client: Client, user: User, language: str
) -> None:
    party, _secret = register()
    row = ask(party, person_of(user).id_number)
    client.force_login(user)
    response = client.get(_url("account-approvals", language))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    cards = find_all(page, "li", "hw-approval")
    assert len(cards) == 1
    buttons = find_all(page, "button", "hw-approval__number")
    assert [int(button.attrs["value"]) for button in buttons] == row.choices
    if language == "ar":
        assert "بنك المثال" in cards[0].text
        assert "تسجيل الدخول" in cards[0].text
        assert 'dir="rtl"' in page
    else:
        assert "Example Bank" in cards[0].text
        assert "Sign in" in cards[0].text
    assert "approvals.js" in page
    # No inline script: the page's only scripts are files.
    assert "<script>" not in page


def test_the_order_of_the_numbers_is_stable(client: Client, user: User) -> None:
    party, _secret = register()
    ask(party, person_of(user).id_number)
    client.force_login(user)
    orders = {
        tuple(
            button.attrs["value"]
            for button in find_all(
                client.get(_url("account-approvals")).content.decode(), "button", "hw-approval__number"
            )
        )
        for _ in range(5)
    }
    assert len(orders) == 1


def test_the_poll_answers_the_waiting_requests_as_html(client: Client, user: User) -> None:
    client.force_login(user)
    empty = client.get(_url("account-approvals-pending"))
    assert empty.status_code == 200
    assert empty.json()["ids"] == []
    party, _secret = register()
    row = ask(party, person_of(user).id_number)
    answer = client.get(_url("account-approvals-pending")).json()
    assert answer["ids"] == [row.public_id]
    assert "Example Bank" in answer["html"]
    assert f'value="{row.number}"' in answer["html"]
    assert "csrfmiddlewaretoken" in answer["html"]


def test_the_right_number_approves(client: Client, user: User) -> None:
    party, _secret = register()
    row = ask(party, person_of(user).id_number)
    client.force_login(user)
    response = _answer(client, row, number=str(row.number))
    assert response.status_code == 302
    assert ApprovalRequest.objects.get(pk=row.pk).status == ApprovalStatus.COMPLETED
    follow = client.get(response["Location"])
    assert "You approved the request of Example Bank." in follow.content.decode()
    assert AuditEvent.objects.filter(action="approvals.completed", actor=f"user:{user.pk}").exists()


def test_a_wrong_number_rejects(client: Client, user: User) -> None:
    party, _secret = register()
    row = ask(party, person_of(user).id_number)
    client.force_login(user)
    wrong = next(number for number in row.choices if number != row.number)
    _answer(client, row, number=str(wrong))
    assert ApprovalRequest.objects.get(pk=row.pk).status == ApprovalStatus.REJECTED
    # Final: the right number afterwards changes nothing.
    later = _answer(client, row, number=str(row.number))
    assert later.status_code == 302
    assert ApprovalRequest.objects.get(pk=row.pk).status == ApprovalStatus.REJECTED


def test_deny_rejects(client: Client, user: User) -> None:
    party, _secret = register()
    row = ask(party, person_of(user).id_number)
    client.force_login(user)
    _answer(client, row, deny="1")
    assert ApprovalRequest.objects.get(pk=row.pk).status == ApprovalStatus.REJECTED


def test_a_malformed_number_changes_nothing(client: Client, user: User) -> None:
    party, _secret = register()
    row = ask(party, person_of(user).id_number)
    client.force_login(user)
    for bad in ("", "5", "١٢", "abc", "100"):
        assert _answer(client, row, number=bad).status_code == 302
    assert ApprovalRequest.objects.get(pk=row.pk).status == ApprovalStatus.WAITING


def test_another_persons_request_is_404(client: Client, user: User) -> None:
    party, _secret = register()
    theirs = ask(party, person_of(make_account()).id_number)
    client.force_login(user)
    assert _answer(client, theirs, number=str(theirs.number)).status_code == 404
    assert _answer(client, theirs, deny="1").status_code == 404
    assert ApprovalRequest.objects.get(pk=theirs.pk).status == ApprovalStatus.WAITING
    assert theirs.public_id not in client.get(_url("account-approvals-pending")).json()["ids"]


def test_the_account_page_links_and_says_when_one_waits(client: Client, user: User) -> None:
    client.force_login(user)
    page = client.get(_url("account")).content.decode()
    assert _url("account-approvals") in page
    assert "data-approvals-banner" not in page
    party, _secret = register()
    ask(party, person_of(user).id_number)
    page = client.get(_url("account")).content.decode()
    banner = [one for one in find_all(page, "div", "hw-banner") if "data-approvals-banner" in one.attrs]
    assert len(banner) == 1
    assert "waiting for your approval" in banner[0].text


def test_the_poll_is_not_activity(client: Client, user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    pinned = pin_clock(monkeypatch, clock.now())
    client.force_login(user)
    client.get(_url("account-approvals"))
    stamped = client.session[session_keys.LAST_ACTIVITY]
    pinned.advance(minutes=5)
    client.get(_url("account-approvals-pending"), HTTP_X_HAWIYA_BACKGROUND="1")
    assert client.session[session_keys.LAST_ACTIVITY] == stamped
    pinned.advance(minutes=11)
    # Idle for 16 minutes despite the polls: signed out.
    signed_out = client.get(_url("account-approvals-pending"), HTTP_X_HAWIYA_BACKGROUND="1")
    assert signed_out.status_code == 302
    assert "timeout=1" in signed_out["Location"]


def test_the_partys_logo_is_an_image_that_loads(client: Client, user: User) -> None:
    """The logo comes from the provider's logo view (MEDIA_URL is not served)."""
    import io

    from django.core.files.base import ContentFile
    from PIL import Image

    party, _secret = register()
    picture = io.BytesIO()
    Image.new("RGB", (32, 32), "green").save(picture, format="PNG")
    party.logo.save("bank.png", ContentFile(picture.getvalue()))
    ask(party, person_of(user).id_number)
    client.force_login(user)
    page = client.get(_url("account-approvals", "en")).content.decode()
    (logo,) = find_all(page, "img", "hw-approval__logo")
    served = client.get(logo.attrs["src"])
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
