"""Relying parties as administrators manage them, and a citizen's connection to one, revoked."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from jwcrypto import jwk
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken
from PIL import Image

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.identity import errors, selectors
from hawiya.identity.models import Consent, RelyingParty, StaffRole, User
from hawiya.identity.services import relying_parties as services
from hawiya.identity.staff import StaffForbidden
from hawiya.identity.tests.factories import make_account, make_staff
from hawiya.registry.tests.factories import make_office

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("oidc.command")


def administrator() -> Actor:
    return make_staff(role=StaffRole.ADMINISTRATOR, office=None).actor


def public_jwks(*, private: bool = False) -> dict[str, Any]:
    key = jwk.JWK.generate(kty="RSA", size=2048, kid="k1", use="sig")
    return {"keys": [json.loads(key.export(private_key=private))]}


def register(actor: Actor = SYSTEM, **overrides: Any) -> services.PartyWithSecret:
    arguments: dict[str, Any] = {
        "name_ar": "بنك المثال",
        "name_en": "Example Bank",
        "redirect_uris": ["https://bank.example/callback"],
        "allowed_scopes": ["openid", "profile"],
        "token_endpoint_auth_method": "client_secret_basic",
    }
    arguments.update(overrides)
    return services.party_register(actor=actor, **arguments)


def tokens_for(party: RelyingParty, user: User, tag: str) -> None:
    application = party.application
    expires = clock.now() + dt.timedelta(hours=1)
    access = AccessToken.objects.create(
        user=user, application=application, token=f"access-{tag}", expires=expires, scope="openid"
    )
    RefreshToken.objects.create(
        user=user, application=application, token=f"refresh-{tag}", access_token=access
    )
    Grant.objects.create(
        user=user,
        application=application,
        code=f"code-{tag}",
        expires=expires,
        redirect_uri="https://bank.example/callback",
        scope="openid",
        code_challenge="x" * 43,
        code_challenge_method="S256",
    )


# --- Register ------------------------------------------------------------------------------------


def test_an_administrator_registers_a_party_and_sees_the_secret_once_stored_hashed() -> None:
    result = register(administrator(), client_id="example-bank")

    party = result.party
    stored = Application.objects.get(pk=party.application_id).client_secret
    assert len(result.client_secret) >= 60
    assert result.client_secret not in stored
    assert stored.startswith("hawiya_hmac_sha256$")
    assert check_password(result.client_secret, stored)
    assert not check_password("wrong", stored)
    assert party.application.client_id == "example-bank"
    assert party.application.redirect_uris == "https://bank.example/callback"
    assert party.allowed_scopes == ["openid", "profile"]
    event = AuditEvent.objects.get(action="relying_party.registered")
    assert event.actor_role == "administrator"
    assert event.detail["client_id"] == "example-bank"
    assert result.client_secret not in json.dumps(event.detail)


def test_a_party_may_be_allowed_the_party_only_document_status_scope() -> None:
    party = register(allowed_scopes=["document_status", "profile", "openid"]).party
    # Kept in the order of the vocabulary: the citizen's scopes, then the party-only ones.
    assert party.allowed_scopes == ["openid", "profile", "document_status"]


def test_two_parties_get_different_random_secrets_and_client_ids() -> None:
    first, second = register(), register()
    assert first.client_secret != second.client_secret
    assert first.party.application.client_id != second.party.application.client_id


def test_a_private_key_jwt_party_gives_public_keys_and_gets_no_secret() -> None:
    result = register(token_endpoint_auth_method="private_key_jwt", jwks=json.dumps(public_jwks()))
    assert result.client_secret == ""
    assert result.party.jwks["keys"][0]["kty"] == "RSA"
    assert "d" not in result.party.jwks["keys"][0]


@pytest.mark.parametrize(
    "jwks",
    [None, "", "not json", {"keys": []}, {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, "PRIVATE"],
)
def test_bad_keys_are_refused(jwks: Any) -> None:
    if jwks == "PRIVATE":
        jwks = public_jwks(private=True)
    with pytest.raises(ApplicationError) as caught:
        register(token_endpoint_auth_method="private_key_jwt", jwks=jwks)
    assert caught.value.code == errors.PARTY_JWKS_INVALID


@pytest.mark.parametrize(
    "uris",
    [
        [],
        ["http://bank.example/callback"],
        ["https://bank.example/callback#fragment"],
        ["https://*.bank.example/callback"],
        ["bank.example/callback"],
        ["https://user:pw@bank.example/callback"],
        ["javascript:alert(1)"],
        [f"https://bank.example/{n}" for n in range(11)],
    ],
)
def test_redirect_uris_must_be_exact_https(uris: list[str]) -> None:
    with pytest.raises(ApplicationError) as caught:
        register(redirect_uris=uris)
    assert caught.value.code == errors.PARTY_REDIRECT_URI_INVALID


def test_http_is_allowed_for_this_machine_only() -> None:
    party = register(redirect_uris=["http://127.0.0.1:8001/callback", "http://localhost/cb"]).party
    assert party.application.redirect_uris.split() == [
        "http://127.0.0.1:8001/callback",
        "http://localhost/cb",
    ]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"name_ar": ""}, errors.PARTY_NAME_MISSING),
        ({"name_en": "x" * 121}, errors.PARTY_NAME_MISSING),
        ({"allowed_scopes": ["profile"]}, errors.PARTY_SCOPES_INVALID),
        ({"allowed_scopes": ["openid", "email"]}, errors.PARTY_SCOPES_INVALID),
        ({"token_endpoint_auth_method": "none"}, errors.PARTY_AUTH_METHOD_INVALID),
        ({"client_id": "a b"}, errors.PARTY_CLIENT_ID_INVALID),
        ({"backchannel_logout_uri": "http://bank.example/logout"}, errors.PARTY_BACKCHANNEL_URI_INVALID),
        ({"logo": b"not an image"}, errors.PARTY_LOGO_INVALID),
    ],
)
def test_each_bad_answer_is_refused_with_its_code(overrides: dict[str, Any], code: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        register(**overrides)
    assert caught.value.code == code
    assert str(caught.value.message)
    assert not RelyingParty.objects.exists()


def test_a_client_id_is_used_once() -> None:
    register(client_id="example-bank")
    with pytest.raises(ApplicationError) as caught:
        register(client_id="example-bank")
    assert caught.value.code == errors.PARTY_CLIENT_ID_TAKEN


def test_a_logo_is_stored_as_png(tmp_path: Any, settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    picture = io.BytesIO()
    Image.new("RGB", (32, 32), "green").save(picture, format="JPEG")
    party = register(logo=picture.getvalue()).party
    with party.logo.open("rb") as stored:
        assert Image.open(stored).format == "PNG"


# --- Who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [StaffRole.OFFICER, StaffRole.SUPERVISOR])
def test_staff_who_are_not_administrators_may_not_manage_parties(role: str) -> None:
    staff = make_staff(role=role, office=make_office())
    with pytest.raises(StaffForbidden):
        register(staff.actor)
    party = register().party
    for call in (services.party_suspend, services.party_resume, services.party_rotate_secret):
        with pytest.raises(StaffForbidden):
            call(actor=staff.actor, party_id=party.pk)


def test_a_citizen_or_a_party_may_not_manage_parties() -> None:
    citizen = make_account()
    for actor in (Actor.citizen(citizen.pk), Actor.relying_party("example-bank")):
        with pytest.raises(StaffForbidden):
            register(actor)


# --- Update, suspend, resume, rotate -------------------------------------------------------------


def test_an_update_changes_the_party_and_records_what_changed() -> None:
    party = register().party
    result = services.party_update(
        actor=administrator(),
        party_id=party.pk,
        name_ar="بنك المثال الجديد",
        name_en="Example Bank",
        redirect_uris=["https://bank.example/new"],
        allowed_scopes=["openid", "national_id"],
        token_endpoint_auth_method="client_secret_post",
    )
    party.refresh_from_db()
    assert result.client_secret == ""
    assert party.name_ar == "بنك المثال الجديد"
    assert party.application.redirect_uris == "https://bank.example/new"
    assert party.allowed_scopes == ["openid", "national_id"]
    event = AuditEvent.objects.get(action="relying_party.updated")
    assert event.detail["fields"] == ["allowed_scopes", "name_ar", "token_endpoint_auth_method"]


def test_switching_to_a_signed_jwt_voids_the_secret_and_back_makes_a_new_one() -> None:
    first = register()
    common: dict[str, Any] = {
        "name_ar": "بنك",
        "name_en": "Bank",
        "redirect_uris": ["https://bank.example/callback"],
        "allowed_scopes": ["openid"],
    }
    services.party_update(
        actor=SYSTEM,
        party_id=first.party.pk,
        token_endpoint_auth_method="private_key_jwt",
        jwks=public_jwks(),
        **common,
    )
    stored = Application.objects.get(pk=first.party.application_id).client_secret
    assert not check_password(first.client_secret, stored)
    back = services.party_update(
        actor=SYSTEM, party_id=first.party.pk, token_endpoint_auth_method="client_secret_basic", **common
    )
    assert back.client_secret
    assert check_password(
        back.client_secret, Application.objects.get(pk=first.party.application_id).client_secret
    )


def test_suspending_deletes_the_party_tokens_at_once_and_only_its_own() -> None:
    party, other = register().party, register().party
    citizen = make_account()
    tokens_for(party, citizen, "a")
    tokens_for(other, citizen, "b")

    services.party_suspend(actor=administrator(), party_id=party.pk)

    party.refresh_from_db()
    assert party.suspended_at is not None
    assert not AccessToken.objects.filter(application=party.application).exists()
    assert not RefreshToken.objects.filter(application=party.application).exists()
    assert not Grant.objects.filter(application=party.application).exists()
    assert AccessToken.objects.filter(application=other.application).count() == 1
    event = AuditEvent.objects.get(action="relying_party.suspended")
    assert event.detail["tokens_revoked"] >= 2
    with pytest.raises(ApplicationError) as caught:
        services.party_suspend(actor=SYSTEM, party_id=party.pk)
    assert caught.value.code == errors.PARTY_ALREADY_SUSPENDED


def test_resuming_lifts_the_suspension_once() -> None:
    party = register().party
    with pytest.raises(ApplicationError) as caught:
        services.party_resume(actor=SYSTEM, party_id=party.pk)
    assert caught.value.code == errors.PARTY_NOT_SUSPENDED
    services.party_suspend(actor=SYSTEM, party_id=party.pk)
    services.party_resume(actor=SYSTEM, party_id=party.pk)
    party.refresh_from_db()
    assert party.suspended_at is None
    assert AuditEvent.objects.filter(action="relying_party.resumed").count() == 1


def test_a_new_secret_replaces_the_old_one() -> None:
    first = register()
    rotated = services.party_rotate_secret(actor=administrator(), party_id=first.party.pk)
    stored = Application.objects.get(pk=first.party.application_id).client_secret
    assert rotated.client_secret != first.client_secret
    assert check_password(rotated.client_secret, stored)
    assert not check_password(first.client_secret, stored)
    assert AuditEvent.objects.filter(action="relying_party.secret_rotated").count() == 1


def test_a_signed_jwt_party_has_no_secret_to_rotate() -> None:
    party = register(token_endpoint_auth_method="private_key_jwt", jwks=public_jwks()).party
    with pytest.raises(ApplicationError) as caught:
        services.party_rotate_secret(actor=SYSTEM, party_id=party.pk)
    assert caught.value.code == errors.PARTY_NO_SECRET


def test_a_missing_party_is_not_found() -> None:
    for call in (services.party_suspend, services.party_resume, services.party_rotate_secret):
        with pytest.raises(NotFound):
            call(actor=SYSTEM, party_id=2**31 - 1)


# --- A citizen's connections ---------------------------------------------------------------------


def test_a_citizen_sees_their_connections_and_revokes_one() -> None:
    party = register().party
    citizen, other = make_account(), make_account()
    Consent.objects.create(user=citizen, party=party, scopes=["openid", "profile"])
    Consent.objects.create(user=other, party=party, scopes=["openid"])
    tokens_for(party, citizen, "mine")
    tokens_for(party, other, "theirs")

    connections = selectors.connections_for_user(user=citizen)
    assert [c.party.pk for c in connections] == [party.pk]
    assert connections[0].scopes == ("openid", "profile")
    assert connections[0].last_signed_in_at is not None

    services.connection_revoke(actor=Actor.citizen(citizen.pk), user=citizen, party_id=party.pk)

    assert selectors.connections_for_user(user=citizen) == []
    assert not AccessToken.objects.filter(user=citizen).exists()
    assert not RefreshToken.objects.filter(user=citizen).exists()
    assert AccessToken.objects.filter(user=other).count() == 1
    assert len(selectors.connections_for_user(user=other)) == 1
    event = AuditEvent.objects.get(action="relying_party.connection_revoked")
    assert event.actor == f"user:{citizen.pk}"


def test_a_citizen_cannot_revoke_or_see_another_persons_connection() -> None:
    party = register().party
    citizen, other = make_account(), make_account()
    Consent.objects.create(user=other, party=party, scopes=["openid"])
    with pytest.raises(NotFound):
        services.connection_revoke(actor=Actor.citizen(citizen.pk), user=citizen, party_id=party.pk)
    with pytest.raises(NotFound):
        selectors.connection_for_user(user=citizen, party_id=party.pk)
    # Acting as one account on another's behalf is refused outright.
    with pytest.raises(StaffForbidden):
        services.connection_revoke(actor=Actor.citizen(citizen.pk), user=other, party_id=party.pk)
    assert Consent.objects.get(user=other).revoked_at is None
