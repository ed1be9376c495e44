"""The code page says "delivered at 10:42" once the operator's delivery report arrived, in both
languages; the demo inbox plays that report."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from hawiya.core.signing import signature_header
from hawiya.core.testing import PinnedClock, pin_clock
from hawiya.identity.tests.factories import PASSWORD, activate, make_citizen
from hawiya.notifications import tasks
from hawiya.notifications.models import SmsMessage

from .html import find_one

pytestmark = pytest.mark.django_db

# 07:38 UTC is 10:38 in Riyadh; the report comes 4 minutes later, within the code's 5 minutes.
START = dt.datetime(2026, 11, 23, 7, 38, tzinfo=dt.UTC)
REPORTED = START + dt.timedelta(minutes=4)
SECRET = "operator-delivery-report-secret"


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> PinnedClock:
    return pin_clock(monkeypatch, START)


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.SMS_OPERATOR_WEBHOOK_SECRET = SECRET
    cache.clear()


def _code_page_after_sign_in(client: Client, language: str) -> SmsMessage:
    user = activate(make_citizen())
    assert (
        client.post(f"/{language}/sign-in/", {"login": user.username, "password": PASSWORD}).status_code
        == 302
    )
    assert user.person is not None
    # The sign-in code: the newest (the activation code went out at the same pinned time).
    message = SmsMessage.objects.filter(to=user.person.mobile).order_by("-id").first()
    assert message is not None
    tasks.deliver_sms.call(message.pk)  # the worker hands it to the (demo) operator at 10:38
    return SmsMessage.objects.get(pk=message.pk)


def _notice(client: Client, language: str) -> str:
    page = client.get(f"/{language}/sign-in/code/").content
    return find_one(page, "p", "hw-delivery").text.strip()


def _report_delivered(message: SmsMessage, at: dt.datetime) -> None:
    body = json.dumps(
        {"message_id": message.operator_message_id, "status": "delivered", "occurred_at": at.isoformat()}
    ).encode()
    response = Client().post(
        "/api/v1/sms/delivery-reports",
        data=body,
        content_type="application/json",
        HTTP_X_HAWIYA_SIGNATURE=signature_header(body, SECRET, at=at),
    )
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("language", "sent", "delivered"),
    [("en", "Sent at 10:38", "Delivered at 10:42"), ("ar", "أُرسلت الساعة 10:38", "وصلت الساعة 10:42")],
)
def test_the_code_page_says_delivered_once_the_operator_reported_it(
    client, clock, language, sent, delivered
) -> None:
    message = _code_page_after_sign_in(client, language)
    assert _notice(client, language) == sent

    clock.current = REPORTED
    _report_delivered(message, clock.current)

    assert _notice(client, language) == delivered


def test_the_demo_inbox_plays_the_operators_delivery_report(client, clock, settings) -> None:
    settings.DEMO = True
    settings.SMS_OPERATOR_WEBHOOK_SECRET = ""  # the demo operator's derived secret
    message = _code_page_after_sign_in(client, "en")
    inbox = client.get("/en/dev/sms/").content.decode()
    action = f"/en/dev/sms/{message.reference}/delivered/"
    assert action in inbox
    assert "Report as delivered to the phone" in inbox

    clock.current = REPORTED
    assert client.post(action)["Location"] == "/en/dev/sms/"

    assert SmsMessage.objects.get(pk=message.pk).status == SmsMessage.Status.DELIVERED
    assert _notice(client, "en") == "Delivered at 10:42"
    assert action not in client.get("/en/dev/sms/").content.decode()


def test_the_demo_report_is_404_outside_demo_mode_and_for_unknown_messages(client, settings) -> None:
    message = _code_page_after_sign_in(client, "en")
    settings.DEMO = False
    assert client.post(f"/en/dev/sms/{message.reference}/delivered/").status_code == 404
    settings.DEMO = True
    assert client.post("/en/dev/sms/00000000-0000-4000-8000-000000000000/delivered/").status_code == 404
    assert client.get(f"/en/dev/sms/{message.reference}/delivered/").status_code == 405
    assert SmsMessage.objects.get(pk=message.pk).status == SmsMessage.Status.SENT
