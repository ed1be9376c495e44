"""A relying party's ID-token signing algorithm (`id_token_signed_response_alg`, RS256 or ES256)
through the services, `manage.py relying_party` and the admin; a bad value refused in both
languages."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.core.errors import ApplicationError
from hawiya.identity.models import RelyingParty, User
from hawiya.identity.services import relying_parties as services

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("test.seed")
ENGLISH = "Choose how Hawiya signs the service's ID tokens: RS256 (the default) or ES256."
ARABIC = "اختر كيف توقّع هوية رموز الهوية للخدمة: RS256 (الافتراضي) أو ES256."


def run(*args: str) -> str:
    out = StringIO()
    call_command("relying_party", *args, stdout=out)
    return out.getvalue()


def create(*extra: str) -> str:
    return run(
        "create",
        "--name-ar",
        "بنك المثال",
        "--name-en",
        "Example Bank",
        "--redirect-uri",
        "https://bank.example/cb",
        "--client-id",
        "example-bank",
        *extra,
    )


def test_the_command_creates_an_es256_party_and_lists_it() -> None:
    create("--id-token-alg", "ES256")
    assert RelyingParty.objects.get().id_token_signed_response_alg == "ES256"
    assert run("list").rstrip("\n").endswith("\tExample Bank\tES256")


def test_the_command_creates_an_rs256_party_by_default_and_switches_it() -> None:
    create()
    party = RelyingParty.objects.get()
    assert party.id_token_signed_response_alg == "RS256"
    assert "ID tokens signed with ES256" in run("id-token-alg", "example-bank", "ES256")
    party.refresh_from_db()
    assert party.id_token_signed_response_alg == "ES256"
    event = AuditEvent.objects.get(action="relying_party.updated")
    assert (event.actor, event.detail["id_token_alg"]) == ("system:oidc.command", "ES256")
    # The same choice again changes nothing and records nothing.
    run("id-token-alg", "example-bank", "ES256")
    assert AuditEvent.objects.filter(action="relying_party.updated").count() == 1


@pytest.mark.parametrize(("language", "message"), [("ar", ARABIC), ("en", ENGLISH)])
def test_the_command_refuses_a_bad_algorithm_in_the_active_language(language: str, message: str) -> None:
    with translation.override(language):
        with pytest.raises(CommandError) as refused:
            create("--id-token-alg", "HS256")
        assert str(refused.value) == f"party_id_token_alg_invalid: {message}"
        assert not RelyingParty.objects.exists()
        create()
        with pytest.raises(CommandError, match="party_id_token_alg_invalid"):
            run("id-token-alg", "example-bank", "none")
    assert RelyingParty.objects.get().id_token_signed_response_alg == "RS256"


def test_the_services_refuse_a_bad_algorithm_on_the_field() -> None:
    with pytest.raises(ApplicationError) as refused:
        services.party_register(
            actor=ACTOR,
            name_ar="جهة",
            name_en="Agency",
            redirect_uris=["https://agency.example/cb"],
            allowed_scopes=["openid"],
            token_endpoint_auth_method="client_secret_basic",
            id_token_signed_response_alg="rs256",
        )
    assert (refused.value.code, refused.value.field) == (
        "party_id_token_alg_invalid",
        "id_token_signed_response_alg",
    )
    party = services.party_register(
        actor=ACTOR,
        name_ar="جهة",
        name_en="Agency",
        redirect_uris=["https://agency.example/cb"],
        allowed_scopes=["openid"],
        token_endpoint_auth_method="client_secret_basic",
    ).party
    with pytest.raises(ApplicationError, match="ES256"):
        services.party_update(
            actor=ACTOR,
            party_id=party.pk,
            name_ar="جهة",
            name_en="Agency",
            redirect_uris=["https://agency.example/cb"],
            allowed_scopes=["openid"],
            token_endpoint_auth_method="client_secret_basic",
            id_token_signed_response_alg="HS256",
        )
    party.refresh_from_db()
    assert party.id_token_signed_response_alg == "RS256"


def test_the_admin_sets_the_algorithm_through_the_service() -> None:
    user = User.objects.create_superuser(username="root-admin", password="x-long-password-1")
    client = Client()
    client.force_login(user)
    form = {
        "client_id": "agency",
        "name_ar": "جهة",
        "name_en": "Agency",
        "redirect_uris": "https://agency.example/cb",
        "allowed_scopes": ["openid"],
        "token_endpoint_auth_method": "client_secret_post",
        "id_token_signed_response_alg": "ES256",
    }
    assert client.post(reverse("admin:identity_relyingparty_add"), form).status_code == 302
    party = RelyingParty.objects.get()
    assert party.id_token_signed_response_alg == "ES256"
    assert AuditEvent.objects.get(action="relying_party.registered").detail["id_token_alg"] == "ES256"
    form.pop("client_id")
    refused = client.post(
        reverse("admin:identity_relyingparty_change", args=[party.pk]),
        {**form, "id_token_signed_response_alg": "HS256"},
    )
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["id_token_signed_response_alg"]
    party.refresh_from_db()
    assert party.id_token_signed_response_alg == "ES256"
