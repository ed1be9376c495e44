"""One check of the citizen's document (where the lost-document alarm leads) and "this was not
me": a confirmation page, then one misuse case per check; nobody else's check is found."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.document_checks.models import DocumentCheck, MisuseReport
from hawiya.document_checks.services import StatusQuery, document_status_check
from hawiya.identity.models import User
from hawiya.identity.services.relying_parties import party_register
from hawiya.identity.tests.factories import make_account, person_of
from hawiya.notifications.services import notify
from hawiya.notifications.subjects import DOCUMENT_CHECK, Subject
from hawiya.registry.tests.factories import make_lost_document

from .html import find_all

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "hawiya.identity.client_secrets.ClientSecretHasher",
    ]
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.HAWIYA_DOCUMENT_STATUS_RATE_LIMIT = 1000
    cache.clear()


def _lost_check(user: User) -> DocumentCheck:
    party = party_register(
        actor=Actor.system("tests"),
        name_ar="بنك المثال",
        name_en="Example Bank",
        redirect_uris=["https://bank.example/callback"],
        allowed_scopes=["openid", "document_status"],
        token_endpoint_auth_method="client_secret_basic",
    ).party
    lost = make_lost_document(holder=person_of(user))
    query = StatusQuery(id_number=lost.holder.id_number, kind=lost.kind, serial_number=lost.serial_number)
    document_status_check(
        actor=Actor.relying_party(party.application.client_id), party=party, queries=[query]
    )
    return DocumentCheck.objects.get(document=lost)


def _url(name: str, check: DocumentCheck, language: str = "en") -> str:
    with translation.override(language):
        return reverse(name, kwargs={"reference": check.reference})


@pytest.fixture
def user() -> User:
    return make_account()


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_check_page_shows_the_party_the_time_and_the_report_action(
    client: Client, user: User, language: str
) -> None:
    check = _lost_check(user)
    client.force_login(user)
    response = client.get(_url("portal:account-document-check", check, language))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    text = response.content.decode()
    assert ("Example Bank" if language == "en" else "بنك المثال") in text
    assert check.document.serial_number not in text  # type: ignore[union-attr]
    links = [a.attrs["href"] for a in find_all(response.content, "a") if "data-report-misuse" in a.attrs]
    assert links == [_url("portal:account-document-check-report", check, language)]


def test_the_list_links_each_check_to_its_page(client: Client, user: User) -> None:
    check = _lost_check(user)
    client.force_login(user)
    response = client.get(reverse("portal:account-document-checks"))
    hrefs = [a.attrs.get("href") for a in find_all(response.content, "a")]
    assert _url("portal:account-document-check", check) in hrefs


def test_the_alarm_notification_links_to_the_check(client: Client, user: User) -> None:
    check = _lost_check(user)
    from django.db import transaction

    with transaction.atomic():
        notify(
            person_id=person_of(user).pk,
            mobile="",
            language="ar",
            template="lost_document_reported",
            context={"reference": "LR00000001"},
            subject=Subject(DOCUMENT_CHECK, check.reference),
        )
    client.force_login(user)
    response = client.get("/ar/notifications/")
    hrefs = [a.attrs.get("href") for a in find_all(response.content, "a")]
    assert f"/ar/account/document-checks/{check.reference}/" in hrefs


def test_reporting_asks_for_confirmation_then_opens_one_case(client: Client, user: User) -> None:
    check = _lost_check(user)
    client.force_login(user)
    report_url = _url("portal:account-document-check-report", check)

    confirm = client.get(report_url)
    assert confirm.status_code == 200
    assert not MisuseReport.objects.exists()  # the GET only asks

    done = client.post(report_url)
    assert done.status_code == 302
    assert done["Location"] == _url("portal:account-document-check", check)
    report = MisuseReport.objects.get()
    assert report.document_check == check
    assert report.status == "open"
    page = client.get(done["Location"]).content.decode()
    assert report.reference in page
    assert "data-report-misuse" not in page

    again = client.post(report_url)  # a second click, or the back button
    assert again.status_code == 302
    assert MisuseReport.objects.count() == 1
    assert AuditEvent.objects.filter(action="document_check.misuse_reported").count() == 1


def test_another_citizen_gets_404(client: Client, user: User) -> None:
    check = _lost_check(user)
    client.force_login(make_account())
    assert client.get(_url("portal:account-document-check", check)).status_code == 404
    assert client.get(_url("portal:account-document-check-report", check)).status_code == 404
    assert client.post(_url("portal:account-document-check-report", check)).status_code == 404
    assert not MisuseReport.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, user: User) -> None:
    check = _lost_check(user)
    response = client.post(_url("portal:account-document-check-report", check))
    assert response.status_code == 302
    assert not MisuseReport.objects.exists()
