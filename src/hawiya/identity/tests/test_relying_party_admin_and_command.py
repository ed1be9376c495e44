"""The admin for relying parties and `manage.py relying_party`, both through the services."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from oauth2_provider.models import AccessToken, Application

from hawiya.audit.models import AuditEvent
from hawiya.core import clock
from hawiya.identity.models import RelyingParty, User

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("relying_party", *args, stdout=out)
    return out.getvalue()


def test_the_command_creates_lists_suspends_resumes_and_rotates() -> None:
    created = run(
        "create",
        "--name-ar",
        "بنك المثال",
        "--name-en",
        "Example Bank",
        "--redirect-uri",
        "http://127.0.0.1:8001/callback",
        "--scope",
        "openid",
        "--scope",
        "profile",
        "--client-id",
        "example-bank",
    )
    secret = created.split("client_secret: ", 1)[1].strip()
    application = Application.objects.get(client_id="example-bank")
    assert check_password(secret, application.client_secret)
    assert "example-bank\tactive\tclient_secret_basic\topenid,profile" in run("list")

    AccessToken.objects.create(
        application=application, token="t", expires=clock.now(), scope="openid", user=None
    )
    assert "suspended" in run("suspend", "example-bank")
    assert not AccessToken.objects.filter(application=application).exists()
    assert "\tsuspended\t" in run("list")
    run("resume", "example-bank")
    rotated = run("rotate-secret", "example-bank").split("client_secret: ", 1)[1].strip()
    application.refresh_from_db()
    assert check_password(rotated, application.client_secret)
    assert not check_password(secret, application.client_secret)
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor"))
    assert actions == [
        ("relying_party.registered", "system:oidc.command"),
        ("relying_party.suspended", "system:oidc.command"),
        ("relying_party.resumed", "system:oidc.command"),
        ("relying_party.secret_rotated", "system:oidc.command"),
    ]


def test_the_command_reports_a_refusal_without_a_traceback() -> None:
    with pytest.raises(CommandError, match="party_redirect_uri_invalid"):
        run("create", "--name-ar", "ب", "--name-en", "B", "--redirect-uri", "http://bank.example/cb")
    with pytest.raises(CommandError, match="party_not_found"):
        run("suspend", "nobody")


@pytest.fixture
def superuser_client() -> Client:
    user = User.objects.create_superuser(username="root-admin", password="x-long-password-1")
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_registers_through_the_service_and_shows_the_secret_once(superuser_client: Client) -> None:
    response = superuser_client.post(
        reverse("admin:identity_relyingparty_add"),
        {
            "client_id": "agency",
            "name_ar": "جهة",
            "name_en": "Agency",
            "redirect_uris": "https://agency.example/cb",
            "allowed_scopes": ["openid", "phone"],
            "token_endpoint_auth_method": "client_secret_post",
            "jwks": "",
            "backchannel_logout_uri": "",
        },
        follow=True,
    )
    assert response.status_code == 200
    party = RelyingParty.objects.get()
    assert party.application.client_id == "agency"
    shown = [str(message) for message in response.context["messages"]]
    secret = next(text for text in shown if "agency" in text).rsplit(" ", 1)[1]
    assert check_password(secret, party.application.client_secret)
    assert AuditEvent.objects.get(action="relying_party.registered").actor_role == "staff"
    # The change page shows the secret as read-only words, never a value.
    page = superuser_client.get(
        reverse("admin:identity_relyingparty_change", args=[party.pk])
    ).content.decode()
    assert secret not in page
    assert party.application.client_secret not in page


def test_the_admin_shows_a_refused_rule_on_the_form(superuser_client: Client) -> None:
    response = superuser_client.post(
        reverse("admin:identity_relyingparty_add"),
        {
            "name_ar": "جهة",
            "name_en": "Agency",
            "redirect_uris": "http://agency.example/cb",
            "allowed_scopes": ["openid"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["redirect_uris"]
    assert not RelyingParty.objects.exists()


def test_the_admin_list_flags_suspended_parties_and_suspends_with_an_action(superuser_client: Client) -> None:
    run(
        "create",
        "--name-ar",
        "ب",
        "--name-en",
        "Bank",
        "--redirect-uri",
        "https://b.example/cb",
        "--client-id",
        "bank",
    )
    party = RelyingParty.objects.get()
    url = reverse("admin:identity_relyingparty_changelist")
    response = superuser_client.post(url, {"action": "suspend_parties", "_selected_action": [party.pk]})
    assert response.status_code == 302
    party.refresh_from_db()
    assert party.suspended_at is not None
    listing = superuser_client.get(url).content.decode()
    assert "icon-yes" in listing
    assert json.dumps("bank")[1:-1] in listing


def test_parties_are_never_deleted_in_the_admin(superuser_client: Client) -> None:
    run("create", "--name-ar", "ب", "--name-en", "Bank", "--redirect-uri", "https://b.example/cb")
    party = RelyingParty.objects.get()
    response = superuser_client.get(reverse("admin:identity_relyingparty_delete", args=[party.pk]))
    assert response.status_code == 403
    _unused: Any = None
