"""A code send that keeps losing its quota row to the retention prune (throttles.quota_claim) is
Hawiya busy, not a fault: the pages that send a code answer 503 with Retry-After and "try again
in a moment" in the page's language, never a 500 (docs/design.md §9)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from hawiya.core.testing import PinnedClock, pin_clock
from hawiya.identity.models import CodeSendQuota, OneTimeCode
from hawiya.identity.tests.factories import PASSWORD, activate, make_citizen
from hawiya.notifications.models import SmsMessage

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)
MESSAGES = {
    "en": "We could not send a code just now. Wait a moment and try again.",
    "ar": "تعذّر إرسال رمز الآن. انتظر لحظة ثم حاول مرة أخرى.",
}


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> PinnedClock:
    return pin_clock(monkeypatch, START)


@pytest.fixture(autouse=True)
def _identity_settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()


def _pruned_every_time(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each time a send inserts its quota row, the prune deletes it before the send can lock it."""
    manager = CodeSendQuota.objects
    insert = manager.bulk_create
    inserted: list[str] = []

    def insert_then_pruned(objs: list[CodeSendQuota], **kwargs: Any) -> list[CodeSendQuota]:
        created = insert(objs, **kwargs)
        keys = [quota.key for quota in objs]
        inserted.extend(keys)
        CodeSendQuota.objects.filter(key__in=keys).delete()
        return created

    monkeypatch.setattr(manager, "bulk_create", insert_then_pruned)
    return inserted


def _busy(response: Any, language: str) -> None:
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert MESSAGES[language] in response.content.decode()


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_resend_that_keeps_losing_its_quota_row_is_a_503_with_retry_after(
    client: Client, clock: PinnedClock, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    user = activate(make_citizen())
    response = client.post(f"/{language}/sign-in/", {"login": user.username, "password": PASSWORD})
    assert response["Location"] == f"/{language}/sign-in/code/"
    challenge = OneTimeCode.objects.get(user=user, purpose="sign_in")
    sent_at = challenge.sent_at
    clock.advance(seconds=61)
    inserted = _pruned_every_time(monkeypatch)

    _busy(client.post(f"/{language}/sign-in/code/resend/"), language)
    assert inserted  # the send did try (and lost its row each time)
    # Nothing was sent: the challenge keeps its first code.
    challenge.refresh_from_db()
    assert challenge.sent_at == sent_at

    # Once the prune leaves the row alone, the same resend goes through.
    monkeypatch.undo()
    pin_clock(monkeypatch, START + dt.timedelta(seconds=62))
    assert client.post(f"/{language}/sign-in/code/resend/")["Location"] == f"/{language}/sign-in/code/"


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_sign_in_whose_first_code_keeps_losing_its_quota_row_is_a_503(
    client: Client, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    user = activate(make_citizen())
    _pruned_every_time(monkeypatch)
    _busy(client.post(f"/{language}/sign-in/", {"login": user.username, "password": PASSWORD}), language)


def _born(person: Any) -> dict[str, str]:
    born = person.date_of_birth
    return {
        "id_number": person.id_number,
        "dob_day": str(born.day),
        "dob_month": str(born.month),
        "dob_year": str(born.year),
        "dob_calendar": "gregorian",
    }


@pytest.mark.parametrize("language", ["en", "ar"])
def test_an_activation_whose_code_keeps_losing_its_quota_row_is_a_503(
    client: Client, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    """The activation view shows the person's errors on its form (`except ApplicationError`);
    Hawiya busy is not one of them and reaches ServiceBusyMiddleware."""
    person = make_citizen()
    inserted = _pruned_every_time(monkeypatch)
    _busy(client.post(f"/{language}/activate/", {**_born(person), "mobile": person.mobile}), language)
    assert inserted
    assert not SmsMessage.objects.filter(to=person.mobile).exists()  # nothing was sent


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_password_reset_whose_code_keeps_losing_its_quota_row_is_a_503(
    client: Client, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    user = activate(make_citizen())
    inserted = _pruned_every_time(monkeypatch)
    _busy(client.post(f"/{language}/password-reset/", _born(user.person)), language)
    assert inserted
