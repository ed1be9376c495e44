"""The in-app notification centre: `notify`, the inbox selectors and `inbox_mark_read`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.db.transaction import TransactionManagementError

from hawiya.core import clock
from hawiya.notifications.errors import SmsTemplateError
from hawiya.notifications.models import InboxNotification, SmsMessage
from hawiya.notifications.selectors import inbox_for_person, inbox_text, inbox_unread_count
from hawiya.notifications.services import inbox_mark_read, notify
from hawiya.notifications.subjects import LOSS, Subject

pytestmark = pytest.mark.django_db

MOBILE = "+966551234567"


def tell(
    person_id: int = 1, *, mobile: str = MOBILE, reference: str = "LR12345678", **extra
) -> InboxNotification:
    return notify(
        person_id=person_id,
        mobile=mobile,
        language=extra.pop("language", "ar"),
        template=extra.pop("template", "lost_document_reported"),
        context=extra.pop("context", {"reference": reference}),
        subject=extra.pop("subject", Subject(LOSS, reference)),
        **extra,
    )


def test_notify_writes_an_inbox_entry_and_an_sms():
    entry = tell(subject_ref="loss_report:1")

    assert entry.person_id == 1
    assert entry.read_at is None
    assert entry.context == {"reference": "LR12345678"}
    sms = SmsMessage.objects.get()
    assert sms.to == MOBILE
    assert sms.language == "ar"
    assert "LR12345678" in sms.body
    assert sms.subject_ref == "loss_report:1"


def test_a_person_without_a_mobile_gets_the_inbox_entry_only():
    tell(mobile="")
    assert InboxNotification.objects.count() == 1
    assert SmsMessage.objects.count() == 0


def test_the_sms_goes_in_the_holders_language_and_the_inbox_follows_the_reader():
    entry = tell(language="en")

    assert SmsMessage.objects.get().language == "en"
    assert "lost-document report LR12345678" in inbox_text(entry, "en")
    # In Arabic the reference is isolated left to right (U+2066…U+2069).
    assert "سُجّل بلاغ الفقدان رقم \u2066LR12345678\u2069" in inbox_text(entry, "ar")
    # Anything but English reads Arabic.
    assert inbox_text(entry, "fr") == inbox_text(entry, "ar")


def test_a_change_that_rolls_back_tells_nobody():
    def change_that_fails() -> None:
        with transaction.atomic():
            tell()
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert InboxNotification.objects.count() == 0
    assert SmsMessage.objects.count() == 0


def test_a_bad_template_or_value_writes_nothing():
    with pytest.raises(SmsTemplateError):
        tell(template="no_such_template")
    with pytest.raises(SmsTemplateError):
        tell(context={"reference": "LR1\nforged line"})
    with pytest.raises(SmsTemplateError):
        tell(mobile="", context={})
    assert InboxNotification.objects.count() == 0


def test_a_datetime_value_survives_the_round_trip_through_json():
    moment = dt.datetime(2026, 3, 1, 9, 5, tzinfo=dt.UTC)
    entry = tell(template="account_locked", context={"until": moment}, subject=None)
    entry.refresh_from_db()

    assert entry.context == {"until": {"datetime": moment.isoformat()}}
    # Riyadh time (UTC+3) in both calendars, as the SMS showed it.
    assert "1 March 2026 (12 Ramadan 1447 AH) at 12:05" in inbox_text(entry, "en")
    assert "1 مارس 2026م (12 رمضان 1447هـ) الساعة 12:05" in inbox_text(entry, "ar")


def test_an_office_name_follows_the_reader_not_the_language_of_the_sms():
    office = {"ar": "مكتب الأحوال المدنية بحي الملز", "en": "Civil Affairs Office, Al Malaz"}
    entry = tell(
        language="ar",
        template="replacement_ready_for_collection",
        context={"reference": "RP1", "office": office},
    )
    entry.refresh_from_db()

    sms = SmsMessage.objects.get()
    assert "\u2068مكتب الأحوال المدنية بحي الملز\u2069" in sms.body
    assert "Civil Affairs Office, Al Malaz" in inbox_text(entry, "en")
    assert "الملز" not in inbox_text(entry, "en")
    assert "\u2068مكتب الأحوال المدنية بحي الملز\u2069" in inbox_text(entry, "ar")


def test_the_inbox_lists_one_persons_entries_newest_first():
    old = tell(1, reference="LR00000001")
    old.created_at = clock.now() - dt.timedelta(hours=1)
    old.save(update_fields=["created_at"])
    new = tell(1, reference="LR00000002")
    tell(2, reference="LR00000003")

    entries = inbox_for_person(person_id=1, language="en")

    assert [entry.id for entry in entries] == [new.pk, old.pk]
    assert entries[0].is_unread
    assert entries[0].subject == Subject(LOSS, "LR00000002")
    assert "LR00000002" in entries[0].text
    assert len(inbox_for_person(person_id=1, language="en", limit=1)) == 1


def test_marking_read_counts_and_touches_only_the_persons_own_entries():
    mine = [tell(1, reference=f"LR0000000{n}") for n in range(3)]
    theirs = tell(2)

    assert inbox_unread_count(person_id=1) == 3
    assert inbox_mark_read(person_id=1, notification_ids=[mine[0].pk, theirs.pk]) == 1
    assert inbox_unread_count(person_id=1) == 2
    assert inbox_unread_count(person_id=2) == 1
    assert inbox_mark_read(person_id=1) == 2
    assert inbox_mark_read(person_id=1) == 0
    assert inbox_unread_count(person_id=1) == 0
    assert [entry.is_unread for entry in inbox_for_person(person_id=1, language="ar")] == [False] * 3


@pytest.mark.parametrize(
    ("template", "context"),
    [("a_template_since_removed", {"reference": "LR12345678"}), ("account_locked", {"reference": "LR1"})],
    ids=["removed", "placeholders-changed"],
)
def test_an_entry_whose_template_no_longer_renders_reads_as_a_generic_line(template, context):
    entry = tell(1, mobile="")
    InboxNotification.objects.filter(pk=entry.pk).update(template=template, context=context)
    entry.refresh_from_db()

    assert inbox_text(entry, "en") == "Hawiya notification"
    assert inbox_text(entry, "ar") == "إشعار من هوية"
    assert [shown.text for shown in inbox_for_person(person_id=1, language="en")] == ["Hawiya notification"]


@pytest.mark.django_db(transaction=True)
def test_notify_outside_a_transaction_is_refused_and_writes_nothing():
    with pytest.raises(TransactionManagementError):
        tell()
    assert InboxNotification.objects.count() == 0
    assert SmsMessage.objects.count() == 0


@pytest.mark.parametrize(("kind", "reference"), [("page", "LR00000001"), (LOSS, ""), (LOSS, "R" * 21)])
def test_a_subject_is_a_known_kind_with_a_short_reference(kind, reference):
    with pytest.raises(ValueError, match="subject"):
        Subject(kind, reference)
