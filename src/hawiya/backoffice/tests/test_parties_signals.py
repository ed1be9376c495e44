"""A relying party's security signals stream (its push endpoint and the event types it wants) on the
administrators' party form and through `manage.py relying_party signals`: set, changed, ended,
audited, a bad endpoint refused in the page's language."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hawiya.audit.models import AuditEvent
from hawiya.identity.models import RelyingParty
from hawiya.identity.security_signals import (
    ACCOUNT_DISABLED,
    CREDENTIAL_CHANGE,
    DOCUMENT_REPORTED_LOST,
    SESSION_REVOKED,
)

pytestmark = pytest.mark.django_db

FORM = {
    "name_ar": "بنك المثال",
    "name_en": "Example Bank",
    "client_id": "example-bank",
    "redirect_uris": "https://bank.example/callback",
    "allowed_scopes": ["openid", "profile"],
    "token_endpoint_auth_method": "client_secret_basic",
}
EDIT = {key: value for key, value in FORM.items() if key != "client_id"}


def url(name: str, language: str, *args: Any) -> str:
    with translation.override(language):
        return reverse(name, args=args)


def test_the_form_offers_the_events_in_both_languages(admin: Client) -> None:
    arabic = admin.get(url("backoffice:party-register", "ar")).content.decode()
    assert "عنوان استقبال الإشارات الأمنية (اختياري)" in arabic
    assert "الإبلاغ عن فقدان وثيقة" in arabic
    assert f'name="signals_events" value="{SESSION_REVOKED}"' in arabic
    english = admin.get(url("backoffice:party-register", "en")).content.decode()
    assert "Security signals endpoint (optional)" in english
    assert "Sign-in was locked or blocked" in english


def test_an_administrator_registers_a_party_with_a_stream_then_changes_and_ends_it(admin: Client) -> None:
    response = admin.post(
        url("backoffice:party-register", "ar"),
        {
            **FORM,
            "signals_endpoint": "https://bank.example/events",
            "signals_events": [SESSION_REVOKED, DOCUMENT_REPORTED_LOST],
        },
    )
    assert response.status_code == 302
    party = RelyingParty.objects.get()
    assert party.signals_endpoint == "https://bank.example/events"
    assert party.signals_events == [DOCUMENT_REPORTED_LOST, SESSION_REVOKED]
    registered = AuditEvent.objects.get(action="relying_party.registered")
    assert registered.detail["signals_events"] == [DOCUMENT_REPORTED_LOST, SESSION_REVOKED]

    page = admin.get(url("backoffice:party-edit", "en", party.pk)).content.decode()
    assert 'value="https://bank.example/events"' in page
    assert f'value="{SESSION_REVOKED}" id="id_signals_events_' in page
    assert f'value="{SESSION_REVOKED}" id="id_signals_events_3" checked' in page
    assert f'value="{CREDENTIAL_CHANGE}" id="id_signals_events_2">' in page

    changed = {
        **EDIT,
        "signals_endpoint": "https://bank.example/v2/events",
        "signals_events": [ACCOUNT_DISABLED],
    }
    assert admin.post(url("backoffice:party-edit", "ar", party.pk), changed).status_code == 302
    party.refresh_from_db()
    assert (party.signals_endpoint, party.signals_events) == (
        "https://bank.example/v2/events",
        [ACCOUNT_DISABLED],
    )
    updated = AuditEvent.objects.get(action="relying_party.updated")
    assert updated.detail["fields"] == ["signals_endpoint", "signals_events"]

    assert admin.post(url("backoffice:party-edit", "ar", party.pk), EDIT).status_code == 302
    party.refresh_from_db()
    assert (party.signals_endpoint, party.signals_events) == ("", [])
    assert AuditEvent.objects.filter(action="relying_party.updated").count() == 2


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Enter the security signals endpoint in full, starting https://"),
        ("ar", "أدخل عنوان استقبال الإشارات الأمنية كاملًا"),
    ],
)
def test_a_plain_http_endpoint_elsewhere_is_refused_in_the_pages_language(
    admin: Client, language: str, message: str
) -> None:
    response = admin.post(
        url("backoffice:party-register", language),
        {**FORM, "signals_endpoint": "http://bank.example/events", "signals_events": [SESSION_REVOKED]},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'href="#id_signals_endpoint"' in html
    assert message in html
    assert not RelyingParty.objects.exists()


def test_an_unknown_event_type_is_refused(admin: Client) -> None:
    response = admin.post(
        url("backoffice:party-register", "en"),
        {
            **FORM,
            "signals_endpoint": "https://bank.example/events",
            "signals_events": ["https://x.example/e"],
        },
    )
    assert response.status_code == 400
    assert "Choose security events from the list." in response.content.decode()
    assert not RelyingParty.objects.exists()


def run(*args: str) -> str:
    out = StringIO()
    call_command("relying_party", *args, stdout=out)
    return out.getvalue()


def test_the_command_sets_and_ends_a_stream(admin: Client) -> None:
    admin.post(url("backoffice:party-register", "en"), FORM)
    output = run(
        "signals",
        "example-bank",
        "--endpoint",
        "http://127.0.0.1:8001/events",
        "--event",
        SESSION_REVOKED,
        "--event",
        CREDENTIAL_CHANGE,
    )
    assert output.splitlines() == [
        "example-bank: signals to http://127.0.0.1:8001/events",
        f"  {CREDENTIAL_CHANGE}",
        f"  {SESSION_REVOKED}",
    ]
    updated = AuditEvent.objects.get(action="relying_party.updated")
    assert updated.actor == "system:oidc.command"
    with pytest.raises(CommandError, match="party_signals_endpoint_invalid"):
        run("signals", "example-bank", "--endpoint", "ftp://bank.example/events", "--event", SESSION_REVOKED)
    assert run("signals", "example-bank") == "example-bank: no signals stream\n"
    party = RelyingParty.objects.get()
    assert (party.signals_endpoint, party.signals_events) == ("", [])
