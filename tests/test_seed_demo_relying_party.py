"""`manage.py seed_demo_relying_party` (run by `make run`): the example bank's registration."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command
from oauth2_provider.models import Application

from hawiya.audit.models import AuditEvent
from hawiya.identity.models import RelyingParty
from hawiya.identity.security_signals import EVENT_TYPES
from hawiya.oidc.management.commands import seed_demo_relying_party as seed

pytestmark = pytest.mark.django_db


def run() -> str:
    out = io.StringIO()
    call_command(seed.Command(), stdout=out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _default_port(monkeypatch):
    monkeypatch.delenv("EXAMPLE_RP_PORT", raising=False)


def test_registers_the_example_bank_with_the_published_secret(settings, monkeypatch):
    settings.DEMO = True
    monkeypatch.delenv("EXAMPLE_RP_CLIENT_SECRET", raising=False)
    assert "created" in run()
    application = Application.objects.get(client_id="example-bank")
    assert application.client_type == Application.CLIENT_CONFIDENTIAL
    assert application.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE
    assert application.redirect_uris == "http://127.0.0.1:8001/callback"
    assert application.post_logout_redirect_uris == "http://127.0.0.1:8001/"
    # Stored only hashed, with the fast keyed hasher rather than the password hasher.
    assert application.client_secret.startswith("hawiya_hmac_sha256$")
    assert check_password("example-bank-demo-secret-2026", application.client_secret)
    party = RelyingParty.objects.get(application=application)
    assert (party.name_ar, party.name_en) == ("بنك المثال", "Example Bank")
    assert party.allowed_scopes == [
        "openid",
        "profile",
        "national_id",
        "birthdate",
        "phone",
        "address",
        "document_status",
        "approvals",
    ]
    # Its signals stream: every event type Hawiya sends, pushed to the bank's receiver.
    assert party.signals_endpoint == "http://127.0.0.1:8001/security-events"
    assert party.signals_events == list(EVENT_TYPES)
    assert party.token_endpoint_auth_method == "client_secret_basic"
    assert party.suspended_at is None
    assert AuditEvent.objects.filter(action="relying_party.created", object_id=str(party.pk)).count() == 1


def test_a_second_run_changes_nothing_and_a_changed_party_is_put_back(settings, monkeypatch):
    settings.DEMO = True
    monkeypatch.delenv("EXAMPLE_RP_CLIENT_SECRET", raising=False)
    run()
    stored = Application.objects.get(client_id="example-bank").client_secret
    assert "unchanged" in run()
    assert Application.objects.get(client_id="example-bank").client_secret == stored
    assert RelyingParty.objects.count() == 1

    RelyingParty.objects.update(
        allowed_scopes=["openid"], name_en="Renamed", signals_endpoint="", signals_events=[]
    )
    Application.objects.update(redirect_uris="http://127.0.0.1:9999/callback")
    assert "updated" in run()
    party = RelyingParty.objects.get()
    assert party.allowed_scopes[-2:] == ["document_status", "approvals"]
    assert party.signals_endpoint == "http://127.0.0.1:8001/security-events"
    assert party.signals_events == list(EVENT_TYPES)
    assert party.name_en == "Example Bank"
    assert party.application.redirect_uris == "http://127.0.0.1:8001/callback"
    assert AuditEvent.objects.filter(action="relying_party.updated").count() == 1


def test_the_secret_may_come_from_the_environment(settings, monkeypatch):
    settings.DEMO = True
    monkeypatch.setenv("EXAMPLE_RP_CLIENT_SECRET", "another-demo-secret-for-the-bank")
    run()
    stored = Application.objects.get(client_id="example-bank").client_secret
    assert check_password("another-demo-secret-for-the-bank", stored)
    assert not check_password("example-bank-demo-secret-2026", stored)


def test_the_port_of_the_bank_may_come_from_the_environment(settings, monkeypatch):
    settings.DEMO = True
    monkeypatch.setenv("EXAMPLE_RP_PORT", "8002")
    run()
    party = RelyingParty.objects.select_related("application").get()
    assert party.application.redirect_uris == "http://127.0.0.1:8002/callback"
    assert party.application.post_logout_redirect_uris == "http://127.0.0.1:8002/"
    assert party.signals_endpoint == "http://127.0.0.1:8002/security-events"
    assert "unchanged" in run()
    monkeypatch.setenv("EXAMPLE_RP_PORT", "80a")
    with pytest.raises(CommandError, match="not a port number"):
        run()


def test_refused_outside_demo_mode(settings):
    settings.DEMO = False
    with pytest.raises(CommandError, match="demo mode only"):
        run()
    assert not Application.objects.filter(client_id="example-bank").exists()
