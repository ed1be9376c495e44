"""Retention (docs/design.md §9): what only grows is pruned after its period, and nothing that must
be kept is ever deleted — whatever its age."""

from __future__ import annotations

import datetime as dt
import secrets
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import models, transaction
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from oauth2_provider.models import AccessToken, Grant, IDToken, RefreshToken

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.audit.services import audit_record
from hawiya.casework.management.commands.run_periodic import periodic_jobs
from hawiya.casework.retention import retention_prune
from hawiya.core import clock
from hawiya.core.retention import Batches, task_results_prune
from hawiya.delivery.models import Shipment
from hawiya.delivery.tests.factories import make_shipment
from hawiya.identity.models import (
    CodeSendQuota,
    Consent,
    OneTimeCode,
    PasskeyChallenge,
    Purpose,
    RedeemedCode,
    RelyingParty,
    SecurityEvent,
    User,
    UserSession,
)
from hawiya.identity.services import relying_parties
from hawiya.identity.services.one_time_codes import one_time_codes_prune
from hawiya.identity.services.passkeys import passkey_challenges_prune
from hawiya.identity.services.sessions import sessions_prune_expired
from hawiya.identity.tests.factories import make_account
from hawiya.losses.models import LossReport
from hawiya.losses.tests.factories import make_id_card, make_report, make_reporter
from hawiya.notifications.models import SmsMessage
from hawiya.notifications.services import sms_prune_finished
from hawiya.notifications.tests.factories import queue_notice
from hawiya.payments.models import Bill
from hawiya.payments.tests.factories import make_bill
from hawiya.registry.models import Document, Person
from hawiya.replacements.models import Replacement

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
# The only models a prune may delete from; every other table keeps every row.
PRUNED = {
    SmsMessage,
    DBTaskResult,
    OneTimeCode,
    PasskeyChallenge,
    CodeSendQuota,
    Session,
    UserSession,
    RedeemedCode,
    AccessToken,
    RefreshToken,
    IDToken,
    Grant,
}


def _sms(status: str, *, queued_at: dt.datetime) -> SmsMessage:
    message = queue_notice()
    SmsMessage.objects.filter(pk=message.pk).update(status=status, queued_at=queued_at)
    return message


def _task(status: str, *, finished_at: dt.datetime | None) -> DBTaskResult[..., Any]:
    return DBTaskResult.objects.create(
        status=status,
        finished_at=finished_at,
        args_kwargs={"args": [], "kwargs": {}},
        task_path="hawiya.notifications.tasks.deliver_sms",
        queue_name="default",
        backend_name="default",
        run_after=clock.now(),
        exception_class_path="",
        traceback="",
    )


def _challenge(*, expires_at: dt.datetime, sms: SmsMessage | None = None) -> OneTimeCode:
    return OneTimeCode.objects.create(
        challenge=secrets.token_urlsafe(32),
        purpose=Purpose.SIGN_IN,
        rate_key="tests",
        expires_at=expires_at,
        sms=sms,
    )


def _passkey_challenge(*, expires_at: dt.datetime) -> PasskeyChallenge:
    return PasskeyChallenge.objects.create(
        challenge_hash=secrets.token_hex(32), purpose=PasskeyChallenge.Purpose.SIGN_IN, expires_at=expires_at
    )


def _session(*, expire_date: dt.datetime) -> str:
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["note"] = "tests"
    store.create()
    key = str(store.session_key)
    Session.objects.filter(session_key=key).update(expire_date=expire_date)
    return key


def _exists(row: models.Model) -> bool:
    return type(row)._base_manager.filter(pk=row.pk).exists()


def test_finished_text_messages_go_after_their_retention_and_unfinished_ones_never() -> None:
    now = clock.now()
    kept = dt.timedelta(days=settings.HAWIYA_RETENTION_SMS_DAYS)
    old_sent = _sms("sent", queued_at=now - kept - DAY)
    old_delivered = _sms("delivered", queued_at=now - kept - DAY)
    old_failed = _sms("failed", queued_at=now - kept - DAY)
    recent_delivered = _sms("delivered", queued_at=now - kept + DAY)
    old_queued = _sms("queued", queued_at=now - kept * 3)
    old_sending = _sms("sending", queued_at=now - kept * 3)
    # A challenge still naming a pruned message keeps going without it (SET_NULL).
    open_challenge = _challenge(expires_at=now + HOUR, sms=old_delivered)

    assert sms_prune_finished(now=now) == 3

    assert not any(_exists(m) for m in (old_sent, old_delivered, old_failed))
    assert all(_exists(m) for m in (recent_delivered, old_queued, old_sending))
    open_challenge.refresh_from_db()
    assert open_challenge.sms_id is None


def test_finished_task_rows_go_after_their_retention_and_ready_or_running_ones_never() -> None:
    now = clock.now()
    kept = dt.timedelta(days=settings.HAWIYA_RETENTION_TASKS_DAYS)
    old_done = _task(TaskResultStatus.SUCCESSFUL, finished_at=now - kept - HOUR)
    old_failed = _task(TaskResultStatus.FAILED, finished_at=now - kept - HOUR)
    recent_done = _task(TaskResultStatus.SUCCESSFUL, finished_at=now - kept + HOUR)
    ready = _task(TaskResultStatus.READY, finished_at=None)
    running = _task(TaskResultStatus.RUNNING, finished_at=None)

    # Even a year on, the ready and running tasks stay.
    assert task_results_prune(now=now) == 2
    assert task_results_prune(now=now + 365 * DAY) == 1

    assert not any(_exists(t) for t in (old_done, old_failed, recent_done))
    assert _exists(ready)
    assert _exists(running)


def test_challenges_go_once_expired_past_their_retention_and_open_ones_stay() -> None:
    now = clock.now()
    kept = dt.timedelta(hours=settings.HAWIYA_RETENTION_EXPIRED_HOURS)
    long_expired = _challenge(expires_at=now - kept - HOUR)
    just_expired = _challenge(expires_at=now - HOUR)
    open_challenge = _challenge(expires_at=now + HOUR)
    long_expired_passkey = _passkey_challenge(expires_at=now - kept - HOUR)
    just_expired_passkey = _passkey_challenge(expires_at=now - HOUR)
    open_passkey = _passkey_challenge(expires_at=now + HOUR)

    assert one_time_codes_prune(now=now) == 1
    assert passkey_challenges_prune(now=now) == 1

    assert not _exists(long_expired)
    assert not _exists(long_expired_passkey)
    assert all(_exists(c) for c in (just_expired, open_challenge, just_expired_passkey, open_passkey))


def test_expired_sessions_go_and_live_ones_stay() -> None:
    now = clock.now()
    kept = dt.timedelta(hours=settings.HAWIYA_RETENTION_EXPIRED_HOURS)
    lifetime = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    long_expired = _session(expire_date=now - kept - HOUR)
    just_expired = _session(expire_date=now - HOUR)
    live = _session(expire_date=now + HOUR)
    user = User.objects.create_user(username=f"retention.{secrets.token_hex(4)}", password=None)
    stale = UserSession.objects.create(
        user=user, session_key="stale" + "0" * 35, created_at=now - lifetime - kept - HOUR
    )
    signed_in_today = UserSession.objects.create(
        user=user, session_key=live, created_at=now - lifetime + HOUR
    )

    assert sessions_prune_expired(now=now) == 2

    assert set(Session.objects.values_list("session_key", flat=True)) >= {just_expired, live}
    assert not Session.objects.filter(session_key=long_expired).exists()
    assert not _exists(stale)
    assert _exists(signed_in_today)


def test_another_session_engine_clears_its_own_and_the_sessions_list_is_still_pruned(settings: Any) -> None:
    now = clock.now()
    kept = dt.timedelta(hours=settings.HAWIYA_RETENTION_EXPIRED_HOURS)
    lifetime = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    left_in_the_database = _session(expire_date=now - kept - HOUR)
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    user = User.objects.create_user(username=f"retention.{secrets.token_hex(4)}", password=None)
    stale = UserSession.objects.create(
        user=user, session_key="s" * 40, created_at=now - lifetime - kept - HOUR
    )

    assert sessions_prune_expired(now=now) == 1

    assert not _exists(stale)
    assert Session.objects.filter(session_key=left_in_the_database).exists()


def test_batches_are_bounded_and_the_next_run_goes_on() -> None:
    now = clock.now()
    old = now - dt.timedelta(days=settings.HAWIYA_RETENTION_SMS_DAYS) - DAY
    for _ in range(5):
        _sms("delivered", queued_at=old)
    limits = Batches(size=2, max_batches=2)

    assert sms_prune_finished(now=now, batches=limits) == 4
    assert SmsMessage.objects.count() == 1
    assert sms_prune_finished(now=now, batches=limits) == 1
    assert sms_prune_finished(now=now, batches=limits) == 0


def _counts() -> dict[str, int]:
    return {
        model._meta.label: model._base_manager.count()
        for model in apps.get_models()
        if model not in PRUNED and model._meta.managed and not model._meta.proxy
    }


def test_retention_never_deletes_what_it_must_keep() -> None:
    # A citizen with an account (its activation challenge and texts), a loss report, replacement
    # requests with a bill and a shipment, an audit trail; then a prune ten years on, when every
    # row is long past any retention.
    citizen = make_account()
    # A citizen signed in to a relying party they consented to: the party, the consent and the
    # sign-in in their security history stay; its codes and tokens die and go.
    party = relying_parties.party_register(
        actor=Actor.system("tests"),
        name_ar="بنك المثال",
        name_en="Example Bank",
        redirect_uris=["https://bank.example/callback"],
        allowed_scopes=["openid"],
        token_endpoint_auth_method="client_secret_basic",
    ).party
    Consent.objects.create(user=citizen, party=party, scopes=["openid"])
    SecurityEvent.objects.create(user=citizen, kind=SecurityEvent.Kind.PARTY_SIGN_IN, detail=str(party.pk))
    id_token = IDToken.objects.create(user=citizen, application=party.application, expires=clock.now())
    access = AccessToken.objects.create(
        user=citizen, application=party.application, token="a", expires=clock.now(), id_token=id_token
    )
    RefreshToken.objects.create(user=citizen, application=party.application, token="r", access_token=access)
    RedeemedCode.objects.create(code_hash="0" * 64, application=party.application, access_token=access)
    Grant.objects.create(
        user=citizen,
        application=party.application,
        code="c",
        expires=clock.now(),
        redirect_uri="https://bank.example/callback",
        code_challenge="x" * 43,
        code_challenge_method="S256",
    )
    make_bill()
    reporter = make_reporter()
    make_report(reporter, [make_id_card(reporter)])
    make_shipment()
    with transaction.atomic():
        audit_record(
            actor=Actor.system("tests"), action="tests.retention", object_type="tests.none", object_id=1
        )
    # The worker delivered the texts the services queued; one more is still on its way.
    assert SmsMessage.objects.update(status="delivered") > 0
    in_flight = _sms("queued", queued_at=clock.now() - 365 * DAY)
    ready = _task(TaskResultStatus.READY, finished_at=None)
    before = _counts()
    for model in (Person, Document, AuditEvent, LossReport, Replacement, Bill, Shipment, User):
        assert before[model._meta.label] > 0, model
    assert OneTimeCode.objects.exists()
    assert CodeSendQuota.objects.exists()
    for kept in (Consent, SecurityEvent, RelyingParty):
        assert before[kept._meta.label] > 0, kept

    later = clock.now() + 3650 * DAY
    for _run in range(5):
        if not any(retention_prune(now=later).values()):
            break

    assert _counts() == before
    assert list(SmsMessage.objects.values_list("pk", flat=True)) == [in_flight.pk]
    assert list(DBTaskResult.objects.values_list("pk", flat=True)) == [ready.pk]
    assert not OneTimeCode.objects.exists()
    for pruned in (CodeSendQuota, RedeemedCode, AccessToken, RefreshToken, IDToken, Grant):
        assert not pruned._base_manager.exists(), pruned


def test_the_minute_jobs_run_the_prune() -> None:
    old = clock.now() - dt.timedelta(days=settings.HAWIYA_RETENTION_SMS_DAYS) - DAY
    _sms("failed", queued_at=old)
    _task(TaskResultStatus.SUCCESSFUL, finished_at=old)

    assert periodic_jobs()["retention_prune"]() == 2
    assert periodic_jobs()["retention_prune"]() == 0


def test_the_retention_period_is_the_settings(settings: Any) -> None:
    settings.HAWIYA_RETENTION_SMS_DAYS = 1
    recent = _sms("delivered", queued_at=clock.now() - 2 * DAY)

    assert sms_prune_finished(now=clock.now()) == 1
    assert not _exists(recent)
