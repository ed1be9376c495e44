"""The admin shows the outbox read-only, with masked numbers and without one-time codes."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from .factories import queue_notice, queue_sms

pytestmark = pytest.mark.django_db


def _url(name: str, *args: object) -> str:
    with translation.override("en"):
        return reverse(f"admin:notifications_smsmessage_{name}", args=args)


def _get(client, url: str):
    # The platform is HTTPS-only outside demo mode, so the test client asks over HTTPS.
    response = client.get(url, secure=True)
    assert response.status_code == 200
    return response


def test_list_masks_numbers(admin_client) -> None:
    message = queue_sms(to="+966512345678")
    page = _get(admin_client, _url("changelist")).content.decode()
    assert str(message.reference) in page
    assert "••••••••78" in page
    assert "+966512345678" not in page
    assert "512345678" not in page
    assert "482913" not in page


def test_secret_body_is_hidden_in_the_detail(admin_client) -> None:
    message = queue_sms(to="+966512345678")
    page = _get(admin_client, _url("change", message.pk)).content.decode()
    assert "482913" not in page
    assert "+966512345678" not in page
    assert "Hidden: this message carries a one-time code." in page


def test_ordinary_body_is_shown(admin_client) -> None:
    message = queue_notice()
    page = _get(admin_client, _url("change", message.pk)).content.decode()
    assert "password was changed" in page


def test_outbox_rows_cannot_be_added_changed_or_deleted(admin_client) -> None:
    message = queue_notice()
    assert admin_client.get(_url("add"), secure=True).status_code == 403
    assert admin_client.post(_url("change", message.pk), {"body": "forged"}, secure=True).status_code == 403
    assert admin_client.post(_url("delete", message.pk), {"post": "yes"}, secure=True).status_code == 403
    message.refresh_from_db()
    assert "forged" not in message.body
