"""The lost-document alarm: a check answered `reported_lost` alerts the holder once the check has
committed (notification centre and SMS), at most once an hour for a document and a party; and
the holder's misuse report ("this was not me"), opened once per check and audited."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.core import clock
from hawiya.core.errors import NotFound
from hawiya.document_checks.models import DocumentCheck, LostDocumentAlarm, MisuseReport
from hawiya.document_checks.services import (
    ALARM_TEMPLATE,
    StatusQuery,
    document_status_check,
    misuse_report_open,
)
from hawiya.identity.models import RelyingParty
from hawiya.identity.services.relying_parties import party_register
from hawiya.identity.tests.factories import make_citizen
from hawiya.notifications.models import InboxNotification, SmsMessage
from hawiya.notifications.selectors import inbox_text
from hawiya.registry.models import Document
from hawiya.registry.tests.factories import make_document, make_lost_document

pytestmark = pytest.mark.django_db

IMMEDIATE = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}
}


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.HAWIYA_DOCUMENT_STATUS_RATE_LIMIT = 1000
    settings.HAWIYA_SMS_CLIENT = "demo"
    # The worker runs each task as soon as it is enqueued (after the check's commit).
    settings.TASKS = IMMEDIATE
    cache.clear()


def _party(name_en: str = "Example Bank", name_ar: str = "بنك المثال") -> RelyingParty:
    return party_register(
        actor=Actor.system("tests"),
        name_ar=name_ar,
        name_en=name_en,
        redirect_uris=["https://bank.example/callback"],
        allowed_scopes=["openid", "document_status"],
        token_endpoint_auth_method="client_secret_basic",
    ).party


def _check(party: RelyingParty, *documents: Document) -> list[str]:
    queries = [
        StatusQuery(id_number=d.holder.id_number, kind=d.kind, serial_number=d.serial_number)
        for d in documents
    ]
    answers = document_status_check(
        actor=Actor.relying_party(party.application.client_id), party=party, queries=queries
    )
    return [answer.status for answer in answers]


def _alarm_sms(document: Document) -> list[SmsMessage]:
    return list(SmsMessage.objects.filter(to=document.holder.mobile, template=ALARM_TEMPLATE).order_by("id"))


def _alarm_notices(document: Document) -> list[InboxNotification]:
    return list(InboxNotification.objects.filter(person_id=document.holder_id, template=ALARM_TEMPLATE))


def test_a_reported_lost_answer_alerts_the_holder_once_by_sms_and_notification(
    django_capture_on_commit_callbacks: Any,
) -> None:
    holder = make_citizen()
    lost = make_lost_document(holder=holder)
    bank = _party()

    with django_capture_on_commit_callbacks(execute=True):
        assert _check(bank, lost) == ["reported_lost"]

    check = DocumentCheck.objects.get(document=lost)
    messages = _alarm_sms(lost)
    assert len(messages) == 1
    body = messages[0].body
    assert "بنك المثال" in body  # the holder reads Arabic: the party in Arabic
    assert lost.serial_number not in body  # never the serial in full
    assert lost.serial_number[-4:] in body
    assert messages[0].subject_ref == f"document_check:{check.pk}"
    notices = _alarm_notices(lost)
    assert len(notices) == 1
    assert notices[0].subject_kind == "document_check"
    assert notices[0].subject_reference == check.reference
    assert LostDocumentAlarm.objects.get().document_check == check
    english = inbox_text(notices[0], "en")
    assert "Example Bank" in english
    assert "National ID card" in english
    assert lost.serial_number not in english
    assert "بنك المثال" in inbox_text(notices[0], "ar")


@pytest.mark.parametrize("kind", ["valid", "not_found"])
def test_other_answers_alert_nobody(kind: str, django_capture_on_commit_callbacks: Any) -> None:
    holder = make_citizen()
    document = make_document(holder=holder)
    bank = _party()
    if kind == "not_found":
        query = StatusQuery(id_number=holder.id_number, kind=document.kind, serial_number="N000000000")
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            answers = document_status_check(
                actor=Actor.relying_party(bank.application.client_id), party=bank, queries=[query]
            )
        assert [a.status for a in answers] == ["not_found"]
    else:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            assert _check(bank, document) == ["valid"]
    assert callbacks == []
    assert _alarm_sms(document) == []
    assert _alarm_notices(document) == []
    assert not LostDocumentAlarm.objects.exists()


class _Clock:
    """clock.now moved forward by `offset`."""

    def __init__(self, monkeypatch: Any) -> None:
        self.offset = dt.timedelta(0)
        monkeypatch.setattr(clock, "now", lambda: timezone.now() + self.offset)

    def tick(self, delta: dt.timedelta) -> None:
        self.offset += delta


def test_one_alert_an_hour_per_document_and_party_but_every_check_is_kept(
    django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    freezer = _Clock(monkeypatch)
    holder = make_citizen()
    lost = make_lost_document(holder=holder)
    bank, agency = _party(), _party("Housing Agency", "وزارة الإسكان")

    with django_capture_on_commit_callbacks(execute=True):
        _check(bank, lost, lost)  # a batch naming the card twice
    freezer.tick(dt.timedelta(minutes=59))
    with django_capture_on_commit_callbacks(execute=True):
        _check(bank, lost)
    assert len(_alarm_sms(lost)) == 1
    # Another party is another alarm.
    with django_capture_on_commit_callbacks(execute=True):
        _check(agency, lost)
    assert len(_alarm_sms(lost)) == 2
    # More than an hour after the first alarm, the bank's check alerts again.
    freezer.tick(dt.timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        _check(bank, lost)
    assert len(_alarm_sms(lost)) == 3
    assert len(_alarm_notices(lost)) == 3
    assert DocumentCheck.objects.filter(document=lost).count() == 5


def test_no_alert_when_the_checks_transaction_rolls_back(django_capture_on_commit_callbacks: Any) -> None:
    holder = make_citizen()
    lost = make_lost_document(holder=holder)
    bank = _party()

    def check_then_fail() -> None:
        with transaction.atomic():
            _check(bank, lost)
            raise RuntimeError("the caller's transaction fails")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        check_then_fail()
    assert callbacks == []
    assert not DocumentCheck.objects.exists()
    assert _alarm_sms(lost) == []
    assert _alarm_notices(lost) == []


def test_running_the_alarm_again_sends_nothing_more(django_capture_on_commit_callbacks: Any) -> None:
    from hawiya.document_checks.tasks import lost_document_alarm

    holder = make_citizen()
    lost = make_lost_document(holder=holder)
    bank = _party()
    with django_capture_on_commit_callbacks(execute=True):
        _check(bank, lost)
    check = DocumentCheck.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert lost_document_alarm.call([check.pk]) == "0/1"
    assert len(_alarm_sms(lost)) == 1


def test_a_holder_without_a_mobile_still_gets_the_notification(
    django_capture_on_commit_callbacks: Any,
) -> None:
    holder = make_citizen(mobile="")
    lost = make_lost_document(holder=holder)
    with django_capture_on_commit_callbacks(execute=True):
        _check(_party(), lost)
    assert len(_alarm_notices(lost)) == 1
    assert not SmsMessage.objects.filter(template=ALARM_TEMPLATE).exists()


# --- Misuse reports ---------------------------------------------------------------------------------


def _lost_check() -> DocumentCheck:
    holder = make_citizen()
    lost = make_lost_document(holder=holder)
    _check(_party(), lost)
    return DocumentCheck.objects.get(document=lost)


def test_the_holder_opens_one_audited_case_per_check() -> None:
    check = _lost_check()
    holder = check.document.holder  # type: ignore[union-attr]
    actor = Actor.citizen(1)

    report, opened = misuse_report_open(actor=actor, person=holder, check_reference=check.reference)
    again, opened_again = misuse_report_open(actor=actor, person=holder, check_reference=check.reference)

    assert opened
    assert not opened_again
    assert again.pk == report.pk
    assert report.status == "open"
    assert report.holder == holder
    assert report.reference.startswith("MR")
    events = AuditEvent.objects.filter(action="document_check.misuse_reported")
    assert events.count() == 1
    assert events.get().object_id == str(report.pk)


def test_another_person_cannot_report_the_check() -> None:
    check = _lost_check()
    with pytest.raises(NotFound):
        misuse_report_open(actor=Actor.citizen(2), person=make_citizen(), check_reference=check.reference)
    assert not MisuseReport.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_reports_at_once_open_one_case() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL (SQLite serialises all writes)")
    check = _lost_check()
    holder = check.document.holder  # type: ignore[union-attr]
    barrier = threading.Barrier(2)
    results: list[int] = []

    def report() -> None:
        try:
            barrier.wait()
            case, _opened = misuse_report_open(
                actor=Actor.citizen(1), person=holder, check_reference=check.reference
            )
            results.append(case.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=report) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert results[0] == results[1]
    assert MisuseReport.objects.count() == 1


def test_a_party_with_a_very_long_name_still_alerts(django_capture_on_commit_callbacks: Any) -> None:
    lost = make_lost_document(holder=make_citizen())
    party = _party("Bank " + "B" * 115, "بنك " + "ب" * 116)
    with django_capture_on_commit_callbacks(execute=True):
        _check(party, lost)
    [message] = _alarm_sms(lost)
    assert "ب" * 116 not in message.body
    assert "…" in message.body


@pytest.mark.django_db(transaction=True)
def test_two_workers_alerting_the_same_card_at_once_send_one_alarm(settings: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL (SQLite serialises all writes)")
    from hawiya.document_checks.services import document_check_alarm

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}
    }
    lost = make_lost_document(holder=make_citizen())
    bank = _party()
    _check(bank, lost, lost)  # two checks, one transaction; the dummy backend runs nothing
    ids = list(DocumentCheck.objects.values_list("pk", flat=True))
    barrier = threading.Barrier(2)
    sent: list[bool] = []

    def alert(check_id: int) -> None:
        try:
            barrier.wait()
            sent.append(document_check_alarm(actor=Actor.system("tests"), check_id=check_id) is not None)
        finally:
            connection.close()

    threads = [threading.Thread(target=alert, args=(check_id,)) for check_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sent) == [False, True]
    assert LostDocumentAlarm.objects.count() == 1
    assert len(_alarm_sms(lost)) == 1


DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}


def test_an_alarm_whose_hand_over_was_lost_is_sent_by_the_periodic_sweep(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hawiya.core.testing import pin_clock
    from hawiya.document_checks.services import lost_document_alarms_sweep

    settings.TASKS = DUMMY  # the worker never gets the hand-over (the process died after commit)
    pinned = pin_clock(monkeypatch, clock.now())
    lost = make_lost_document(holder=make_citizen())
    bank, agency = _party(), _party("Example Agency", "جهة المثال")
    assert _check(bank, lost, lost) == ["reported_lost", "reported_lost"]  # one alarm is due, not two
    _check(agency, make_document(holder=make_citizen()))  # valid: never an alarm
    assert lost_document_alarms_sweep(now=clock.now()) == 0  # too recent: the worker may be on it

    pinned.advance(minutes=3)
    assert lost_document_alarms_sweep(now=clock.now()) == 1
    assert len(_alarm_sms(lost)) == 1
    assert len(_alarm_notices(lost)) == 1
    # Again, and with the other party's check of the same card a minute later: one more alarm,
    # for that party; the bank's second check stays silent by the hourly rule.
    _check(agency, lost)
    pinned.advance(minutes=3)
    assert lost_document_alarms_sweep(now=clock.now()) == 1
    assert lost_document_alarms_sweep(now=clock.now()) == 0
    assert LostDocumentAlarm.objects.count() == 2
    assert len(_alarm_sms(lost)) == 2


def test_the_sweep_leaves_checks_older_than_a_day(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from hawiya.core.testing import pin_clock
    from hawiya.document_checks.services import lost_document_alarms_sweep

    settings.TASKS = DUMMY
    pinned = pin_clock(monkeypatch, clock.now())
    lost = make_lost_document(holder=make_citizen())
    _check(_party(), lost)
    pinned.advance(days=1, minutes=1)
    assert lost_document_alarms_sweep(now=clock.now()) == 0
    assert _alarm_sms(lost) == []
