"""Filing a loss report: the rules, the invalidation, idempotency, the audit trail, the notice."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from hawiya.audit.models import AuditEvent
from hawiya.core import clock
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.idempotency import IDEMPOTENCY_KEY_INVALID, IDEMPOTENCY_KEY_REUSED
from hawiya.losses import errors, services
from hawiya.losses.models import LossPlace, LossReport, LossReportItem
from hawiya.losses.services import loss_report_submit
from hawiya.notifications.models import InboxNotification, SmsMessage
from hawiya.registry import services as registry_services
from hawiya.registry.models import Document, DocumentKind, DocumentStatus, Relation
from hawiya.registry.tests.factories import make_document, make_family_record, make_lost_document, make_person

from .factories import answers, make_id_card, make_reporter

pytestmark = pytest.mark.django_db


def status_of(document: Document) -> str:
    document.refresh_from_db()
    return document.status


def submit(reporter, documents, **overrides) -> LossReport:
    return loss_report_submit(
        reporter=reporter, document_ids=[d.pk for d in documents], **answers(**overrides)
    )


def test_a_report_cancels_the_document_at_once_and_gets_a_reference():
    reporter = make_reporter()
    card = make_id_card(reporter)

    report = submit(reporter, [card])

    assert report.reference.startswith("LR")
    assert len(report.reference) == 10
    assert status_of(card) == DocumentStatus.REPORTED_LOST
    card.refresh_from_db()
    assert card.reported_lost_at == report.reported_at
    assert list(LossReportItem.objects.filter(report=report).values_list("document_id", flat=True)) == [
        card.pk
    ]
    assert report.declaration_accepted_at == report.reported_at
    assert report.city == "الرياض"
    assert report.country == ""


def test_several_documents_lost_together_make_one_report():
    head = make_reporter()
    child = make_person(first_name_en="Fahad", date_of_birth=dt.date(2015, 1, 1), mobile="")
    record = make_family_record(head=head, members=[(child, Relation.SON)])
    card = make_id_card(head)
    family = make_document(holder=head, kind=DocumentKind.FAMILY_RECORD, family_record=record)
    birth = make_document(holder=child, kind=DocumentKind.BIRTH_CERTIFICATE, issue_date=dt.date(2015, 2, 1))

    report = submit(head, [card, family, birth])

    assert LossReport.objects.count() == 1
    assert sorted(report.items.values_list("document_id", flat=True)) == sorted(
        [card.pk, family.pk, birth.pk]
    )
    assert {status_of(d) for d in (card, family, birth)} == {DocumentStatus.REPORTED_LOST}
    assert InboxNotification.objects.filter(person_id=head.pk).count() == 1


def test_the_reporter_is_told_in_the_notification_centre_and_by_sms():
    reporter = make_reporter()
    report = submit(reporter, [make_id_card(reporter)])

    entry = InboxNotification.objects.get(person_id=reporter.pk)
    assert entry.template == "lost_document_reported"
    assert entry.context == {"reference": report.reference}
    assert (entry.subject_kind, entry.subject_reference) == ("loss", report.reference)
    sms = SmsMessage.objects.get(to=reporter.mobile)
    assert report.reference in sms.body
    assert sms.subject_ref == f"loss_report:{report.pk}"


def test_the_audit_trail_records_the_report_without_personal_data():
    reporter = make_reporter()
    card = make_id_card(reporter)
    report = submit(reporter, [card], actor="user:7")

    event = AuditEvent.objects.get(action=services.AUDIT_LOSS_REPORT_FILED)
    assert event.actor == "user:7"
    assert event.object_id == str(report.pk)
    assert event.detail == {"reference": report.reference, "document_ids": [card.pk], "is_late": False}
    assert reporter.id_number not in str(event.detail)
    assert AuditEvent.objects.filter(action="document.reported_lost", object_id=str(card.pk)).exists()


@pytest.mark.parametrize(("days", "late"), [(0, False), (15, False), (16, True), (400, True)])
def test_a_report_more_than_15_days_after_the_loss_is_late(days, late):
    reporter = make_reporter()
    card = make_id_card(reporter, issue_date=dt.date(2020, 1, 5))

    report = submit(reporter, [card], lost_on=clock.today() - dt.timedelta(days=days))

    assert report.is_late is late


def test_lateness_counts_riyadh_days():
    # 22:30 UTC on 20 March is 01:30 on 21 March in Riyadh: 16 days after 5 March there.
    at = dt.datetime(2026, 3, 20, 22, 30, tzinfo=dt.UTC)
    assert services.loss_report_is_late(lost_on=dt.date(2026, 3, 5), reported_on=dt.date(2026, 3, 21))
    reporter = make_reporter()
    report = submit(reporter, [make_id_card(reporter)], lost_on=dt.date(2026, 3, 5), at=at)
    assert report.is_late is True


def test_the_same_key_returns_the_first_report():
    reporter = make_reporter()
    card = make_id_card(reporter)
    values = answers()

    first = loss_report_submit(reporter=reporter, document_ids=[card.pk], **values)
    again = loss_report_submit(reporter=reporter, document_ids=[card.pk], **values)

    assert again.pk == first.pk
    assert LossReport.objects.count() == 1
    assert InboxNotification.objects.count() == 1
    assert SmsMessage.objects.count() == 1


def test_the_same_key_with_different_answers_is_refused():
    reporter = make_reporter()
    card = make_id_card(reporter)
    values = answers()
    loss_report_submit(reporter=reporter, document_ids=[card.pk], **values)

    with pytest.raises(ApplicationError) as caught:
        loss_report_submit(
            reporter=reporter,
            document_ids=[card.pk],
            **{**values, "circumstances": "Something else happened."},
        )

    assert caught.value.code == IDEMPOTENCY_KEY_REUSED
    assert LossReport.objects.count() == 1


def test_a_malformed_key_is_refused():
    reporter = make_reporter()
    with pytest.raises(ApplicationError) as caught:
        submit(reporter, [make_id_card(reporter)], idempotency_key="a b")
    assert caught.value.code == IDEMPOTENCY_KEY_INVALID


def test_someone_elses_document_is_not_found_and_stays_valid():
    reporter, other = make_reporter(), make_reporter()
    theirs = make_id_card(other)

    with pytest.raises(NotFound) as caught:
        submit(reporter, [theirs])

    assert caught.value.code == errors.LOSS_DOCUMENT_NOT_FOUND
    assert status_of(theirs) == DocumentStatus.VALID


def test_an_unknown_document_is_not_found():
    reporter = make_reporter()
    with pytest.raises(NotFound):
        loss_report_submit(reporter=reporter, document_ids=[2**40], **answers())


def test_a_document_already_reported_is_refused_by_name():
    reporter = make_reporter()
    lost = make_lost_document(holder=reporter)

    with pytest.raises(ApplicationError) as caught:
        submit(reporter, [lost])

    assert caught.value.code == errors.LOSS_DOCUMENT_NOT_VALID
    assert lost.serial_number in str(caught.value.message)


def test_a_failure_on_the_second_document_leaves_the_first_valid(monkeypatch):
    reporter = make_reporter()
    card = make_id_card(reporter)
    birth = make_document(holder=reporter, kind=DocumentKind.BIRTH_CERTIFICATE)
    real = registry_services.document_mark_reported_lost
    calls = []

    def fail_on_second(**kwargs):
        calls.append(kwargs["document_id"])
        if len(calls) == 2:
            raise ApplicationError("boom", "the register refused")
        return real(**kwargs)

    monkeypatch.setattr(services, "document_mark_reported_lost", fail_on_second)

    with pytest.raises(ApplicationError):
        submit(reporter, [card, birth])

    assert len(calls) == 2
    assert status_of(card) == DocumentStatus.VALID
    assert status_of(birth) == DocumentStatus.VALID
    assert LossReport.objects.count() == 0
    assert InboxNotification.objects.count() == 0
    assert not AuditEvent.objects.filter(action="document.reported_lost").exists()


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"lost_on": clock.today() + dt.timedelta(days=1)}, errors.LOSS_DATE_IN_FUTURE, "lost_on"),
        ({"lost_on": dt.date(2019, 12, 31)}, errors.LOSS_DATE_BEFORE_ISSUE, "lost_on"),
        ({"city": "  "}, errors.LOSS_CITY_REQUIRED, "city"),
        ({"place": LossPlace.ABROAD, "country": ""}, errors.LOSS_COUNTRY_REQUIRED, "country"),
        ({"place": "moon"}, errors.LOSS_PLACE_INVALID, "place"),
        ({"city": "x" * 81}, errors.LOSS_PLACE_TOO_LONG, "city"),
        ({"circumstances": "  too short "}, errors.LOSS_CIRCUMSTANCES_TOO_SHORT, "circumstances"),
        ({"circumstances": "x" * 1001}, errors.LOSS_CIRCUMSTANCES_TOO_LONG, "circumstances"),
        ({"declaration_accepted": False}, errors.LOSS_DECLARATION_REQUIRED, "declaration"),
    ],
)
def test_each_rule_refuses_with_its_code_and_changes_nothing(overrides, code, field):
    reporter = make_reporter()
    card = make_id_card(reporter, issue_date=dt.date(2020, 1, 5))

    with pytest.raises(ApplicationError) as caught:
        submit(reporter, [card], **overrides)

    assert (caught.value.code, caught.value.field) == (code, field)
    assert str(caught.value.message)
    assert status_of(card) == DocumentStatus.VALID
    assert LossReport.objects.count() == 0


def test_no_documents_is_refused():
    with pytest.raises(ApplicationError) as caught:
        loss_report_submit(reporter=make_reporter(), document_ids=[], **answers())
    assert caught.value.code == errors.LOSS_NO_DOCUMENTS


def test_abroad_keeps_the_country_and_drops_the_city():
    reporter = make_reporter()
    report = submit(
        reporter, [make_id_card(reporter)], place=LossPlace.ABROAD, city="Riyadh", country=" Egypt "
    )
    assert (report.city, report.country) == ("", "Egypt")


def test_a_reporter_without_a_mobile_gets_the_notification_centre_entry_only():
    reporter = make_reporter(mobile="")
    submit(reporter, [make_id_card(reporter)])
    assert InboxNotification.objects.filter(person_id=reporter.pk).count() == 1
    assert SmsMessage.objects.count() == 0


def test_keys_are_per_reporter():
    key = uuid.uuid4().hex
    one, two = make_reporter(), make_reporter()
    first = submit(one, [make_id_card(one)], idempotency_key=key)
    second = submit(two, [make_id_card(two)], idempotency_key=key)
    assert first.pk != second.pk


def test_the_head_of_family_cannot_report_an_adult_childs_birth_certificate():
    head = make_reporter(date_of_birth=dt.date(1960, 1, 1))
    adult_son = make_reporter(first_name_en="Khalid", date_of_birth=dt.date(1990, 1, 1))
    make_family_record(head=head, members=[(adult_son, Relation.SON)])
    birth = make_document(holder=adult_son, kind=DocumentKind.BIRTH_CERTIFICATE)

    with pytest.raises(NotFound) as caught:
        submit(head, [birth])

    assert caught.value.code == errors.LOSS_DOCUMENT_NOT_FOUND
    assert status_of(birth) == DocumentStatus.VALID
    assert not InboxNotification.objects.filter(person_id=adult_son.pk).exists()


def test_a_minor_child_with_a_mobile_is_told_the_head_reported_their_document():
    head = make_reporter()
    child = make_reporter(first_name_en="Fahad", date_of_birth=dt.date(2012, 1, 1))
    baby = make_person(first_name_en="Nora", date_of_birth=dt.date(2024, 1, 1), mobile="")
    record = make_family_record(head=head, members=[(child, Relation.SON), (baby, Relation.DAUGHTER)])
    family = make_document(holder=head, kind=DocumentKind.FAMILY_RECORD, family_record=record)
    birth = make_document(holder=child, kind=DocumentKind.BIRTH_CERTIFICATE, issue_date=dt.date(2012, 2, 1))
    baby_birth = make_document(
        holder=baby, kind=DocumentKind.BIRTH_CERTIFICATE, issue_date=dt.date(2024, 2, 1)
    )

    report = submit(head, [family, birth, baby_birth])

    entry = InboxNotification.objects.get(person_id=child.pk)
    assert entry.template == "lost_document_reported_by_family"
    assert entry.context == {"reference": report.reference}
    # The report's page is the head's: the holder gets no link to it.
    assert (entry.subject_kind, entry.subject_reference) == ("", "")
    sms = SmsMessage.objects.get(to=child.mobile)
    assert report.reference in sms.body
    assert "head of your family" in sms.body or "رب أسرتك" in sms.body
    # One notice for the head; none for a holder without a mobile of their own.
    assert InboxNotification.objects.filter(person_id=head.pk).count() == 1
    assert not InboxNotification.objects.filter(person_id=baby.pk).exists()
