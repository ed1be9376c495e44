"""The ID-token signing algorithm of a relying party (RS256 or ES256) on the administrators' party
form: chosen at registration, changed later, a bad value refused in the page's language."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.identity.models import RelyingParty
from hawiya.identity.services import relying_parties as services

pytestmark = pytest.mark.django_db

FORM = {
    "name_ar": "بنك المثال",
    "name_en": "Example Bank",
    "client_id": "example-bank",
    "redirect_uris": "https://bank.example/callback",
    "allowed_scopes": ["openid", "profile"],
    "token_endpoint_auth_method": "client_secret_basic",
}
ENGLISH = "Choose how Hawiya signs the service&#x27;s ID tokens: RS256 (the default) or ES256."
ARABIC = "اختر كيف توقّع هوية رموز الهوية للخدمة: RS256 (الافتراضي) أو ES256."


def url(name: str, language: str, *args: Any) -> str:
    with translation.override(language):
        return reverse(name, args=args)


def test_the_form_offers_both_algorithms_rs256_chosen(admin: Client) -> None:
    html = admin.get(url("backoffice:party-register", "ar")).content.decode()
    assert (
        'name="id_token_signed_response_alg" value="RS256" id="id_id_token_signed_response_alg" checked'
        in html
    )
    assert 'name="id_token_signed_response_alg" value="ES256"' in html
    assert "كيف توقّع هوية رموز الهوية (ID tokens) للخدمة" in html
    english = admin.get(url("backoffice:party-register", "en")).content.decode()
    assert "How Hawiya signs the service&#x27;s ID tokens" in english
    assert "ES256 (elliptic curve P-256)" in english


def test_an_administrator_registers_an_es256_party(admin: Client) -> None:
    response = admin.post(
        url("backoffice:party-register", "ar"), {**FORM, "id_token_signed_response_alg": "ES256"}
    )
    assert response.status_code == 302
    party = RelyingParty.objects.get()
    assert party.id_token_signed_response_alg == "ES256"
    registered = AuditEvent.objects.get(action="relying_party.registered")
    assert registered.detail["id_token_alg"] == "ES256"


def test_left_out_it_is_rs256_for_a_new_party_and_unchanged_for_an_existing_one(admin: Client) -> None:
    assert admin.post(url("backoffice:party-register", "ar"), FORM).status_code == 302
    party = RelyingParty.objects.get()
    assert party.id_token_signed_response_alg == "RS256"
    services.party_set_id_token_alg(actor=Actor.system("test.seed"), party_id=party.pk, algorithm="ES256")
    form = {key: value for key, value in FORM.items() if key != "client_id"}
    assert admin.post(url("backoffice:party-edit", "ar", party.pk), form).status_code == 302
    party.refresh_from_db()
    assert party.id_token_signed_response_alg == "ES256"


def test_an_administrator_switches_a_party_to_es256_and_back(admin: Client) -> None:
    admin.post(url("backoffice:party-register", "ar"), FORM)
    party = RelyingParty.objects.get()
    page = admin.get(url("backoffice:party-edit", "ar", party.pk)).content.decode()
    assert 'value="RS256" id="id_id_token_signed_response_alg" checked' in page
    form = {key: value for key, value in FORM.items() if key != "client_id"}
    response = admin.post(
        url("backoffice:party-edit", "ar", party.pk), {**form, "id_token_signed_response_alg": "ES256"}
    )
    assert response.status_code == 302
    party.refresh_from_db()
    assert party.id_token_signed_response_alg == "ES256"
    updated = AuditEvent.objects.get(action="relying_party.updated")
    assert updated.detail["fields"] == ["id_token_signed_response_alg"]
    page = admin.get(url("backoffice:party-edit", "ar", party.pk)).content.decode()
    assert 'value="ES256" id="id_id_token_signed_response_alg_1" checked' in page
    admin.post(
        url("backoffice:party-edit", "ar", party.pk), {**form, "id_token_signed_response_alg": "RS256"}
    )
    party.refresh_from_db()
    assert party.id_token_signed_response_alg == "RS256"


@pytest.mark.parametrize(("language", "message"), [("ar", ARABIC), ("en", ENGLISH)])
def test_a_bad_algorithm_is_refused_in_the_pages_language(admin: Client, language: str, message: str) -> None:
    response = admin.post(
        url("backoffice:party-register", language), {**FORM, "id_token_signed_response_alg": "HS256"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'href="#id_id_token_signed_response_alg"' in html
    assert message in html
    assert not RelyingParty.objects.exists()
