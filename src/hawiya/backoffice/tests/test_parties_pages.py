"""The administrators' relying-party pages: list, register (secret shown once), change, suspend
and resume through a confirmation page, a new secret."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from oauth2_provider.models import Application
from PIL import Image

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.casework.tests.factories import open_office, signed_in, staff_user
from hawiya.identity.models import RelyingParty, StaffRole
from hawiya.identity.services import relying_parties as services

pytestmark = pytest.mark.django_db

FORM = {
    "name_ar": "بنك المثال",
    "name_en": "Example Bank",
    "client_id": "example-bank",
    "redirect_uris": "https://bank.example/callback\r\nhttps://bank.example/other",
    "allowed_scopes": ["openid", "profile", "national_id"],
    "token_endpoint_auth_method": "client_secret_basic",
}


def a_party() -> RelyingParty:
    return services.party_register(
        actor=Actor.system("test.seed"),
        name_ar="جهة",
        name_en="Agency",
        redirect_uris=["https://agency.example/cb"],
        allowed_scopes=["openid"],
        token_endpoint_auth_method="client_secret_post",
    ).party


def test_an_administrator_registers_a_party_and_sees_its_secret_once(admin: Client) -> None:
    response = admin.post(reverse("backoffice:party-register"), FORM)

    party = RelyingParty.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:party-secret", args=[party.pk])
    page = admin.get(response["Location"])
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    html = page.content.decode()
    assert "data-client-secret" in html
    secret = html.split("data-client-secret>", 1)[1].split("</code>", 1)[0]
    secret = secret.replace('<bdi dir="ltr">', "").replace("</bdi>", "")
    assert check_password(secret, Application.objects.get().client_secret)
    # Never again: the page no longer shows it.
    again = admin.get(response["Location"]).content.decode()
    assert "data-client-secret" not in again
    assert "data-secret-gone" in again
    assert secret not in again
    assert party.application.redirect_uris.split() == [
        "https://bank.example/callback",
        "https://bank.example/other",
    ]
    assert AuditEvent.objects.filter(action="relying_party.registered").count() == 1


def test_the_list_shows_each_party_and_whether_it_is_suspended(admin: Client) -> None:
    party = a_party()
    services.party_suspend(actor=Actor.system("test.seed"), party_id=party.pk)
    a_party()
    html = admin.get(reverse("backoffice:parties")).content.decode()
    assert html.count("data-party=") == 2
    assert html.count("data-suspended") == 1
    assert reverse("backoffice:party-resume", args=[party.pk]) in html


def test_a_bad_form_is_shown_again_with_an_error_summary(admin: Client) -> None:
    response = admin.post(
        reverse("backoffice:party-register"), {**FORM, "redirect_uris": "http://bank.example/cb"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "data-error-summary" in html
    assert 'href="#id_redirect_uris"' in html
    assert "bank.example/cb" in html  # the answer is kept
    assert not RelyingParty.objects.exists()


def test_a_signed_jwt_party_without_keys_is_refused(admin: Client) -> None:
    response = admin.post(
        reverse("backoffice:party-register"), {**FORM, "token_endpoint_auth_method": "private_key_jwt"}
    )
    assert response.status_code == 400
    assert 'href="#id_jwks"' in response.content.decode()


def test_an_administrator_changes_a_party(admin: Client) -> None:
    party = a_party()
    page = admin.get(reverse("backoffice:party-edit", args=[party.pk]))
    assert page.status_code == 200
    assert "https://agency.example/cb" in page.content.decode()
    form = {**FORM, "token_endpoint_auth_method": "client_secret_post"}
    form.pop("client_id")
    response = admin.post(reverse("backoffice:party-edit", args=[party.pk]), form)
    assert response.status_code == 302
    party.refresh_from_db()
    assert party.name_en == "Example Bank"
    assert party.application.client_id != "example-bank"  # the client id never changes


def test_suspend_goes_through_a_confirmation_page_then_resume(admin: Client) -> None:
    party = a_party()
    url = reverse("backoffice:party-suspend", args=[party.pk])
    confirm = admin.get(url)
    assert confirm.status_code == 200
    party.refresh_from_db()
    assert party.suspended_at is None  # a GET changes nothing
    assert admin.post(url).status_code == 302
    party.refresh_from_db()
    assert party.suspended_at is not None
    # Suspending twice is refused with a message, not a 500.
    assert admin.post(url).status_code == 400
    assert admin.post(reverse("backoffice:party-resume", args=[party.pk])).status_code == 302
    party.refresh_from_db()
    assert party.suspended_at is None


def test_a_new_secret_is_shown_once_and_the_old_one_stops_working(admin: Client) -> None:
    party = a_party()
    old = Application.objects.get(pk=party.application_id).client_secret
    response = admin.post(reverse("backoffice:party-rotate-secret", args=[party.pk]))
    assert response.status_code == 302
    html = admin.get(response["Location"]).content.decode()
    assert "data-client-secret" in html
    assert Application.objects.get(pk=party.application_id).client_secret != old


@pytest.mark.parametrize("role", [StaffRole.OFFICER, StaffRole.SUPERVISOR])
def test_other_staff_get_403_and_change_nothing(role: str) -> None:
    client = signed_in(staff_user(role=role, office=open_office()))
    party = a_party()
    assert client.get(reverse("backoffice:parties")).status_code == 403
    assert client.post(reverse("backoffice:party-register"), FORM).status_code == 403
    assert client.post(reverse("backoffice:party-suspend", args=[party.pk])).status_code == 403
    assert RelyingParty.objects.count() == 1
    party.refresh_from_db()
    assert party.suspended_at is None


def test_the_navigation_offers_the_page_to_administrators_only(admin: Client) -> None:
    link = reverse("backoffice:parties")
    assert link in admin.get(reverse("backoffice:supervisor-dashboard")).content.decode()
    supervisor = signed_in(staff_user(role=StaffRole.SUPERVISOR, office=open_office()))
    assert link not in supervisor.get(reverse("backoffice:supervisor-dashboard")).content.decode()


def test_a_logo_can_be_uploaded_and_a_non_image_is_refused(
    admin: Client, settings: Any, tmp_path: Any
) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    picture = io.BytesIO()
    Image.new("RGB", (40, 40), "green").save(picture, format="PNG")
    refused = admin.post(
        reverse("backoffice:party-register"),
        {**FORM, "logo": SimpleUploadedFile("logo.png", b"not an image", content_type="image/png")},
    )
    assert refused.status_code == 400
    assert 'href="#id_logo"' in refused.content.decode()
    accepted = admin.post(
        reverse("backoffice:party-register"),
        {**FORM, "logo": SimpleUploadedFile("logo.png", picture.getvalue(), content_type="image/png")},
    )
    assert accepted.status_code == 302
    assert RelyingParty.objects.get().logo.name.endswith(".png")
