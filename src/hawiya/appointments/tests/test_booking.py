"""Booking, rescheduling and cancelling: the rules, the timeline, the messages, idempotency."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from hawiya.appointments import errors
from hawiya.appointments.models import Appointment, AppointmentState, OfficeHoliday, Slot, Weekday
from hawiya.appointments.services.citizen import (
    appointment_book,
    appointment_cancel,
    appointment_cancel_for_replacement,
    appointment_reschedule,
)
from hawiya.audit.models import AuditEvent
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.core.idempotency import IDEMPOTENCY_KEY_REUSED
from hawiya.identity.tests.factories import make_citizen
from hawiya.notifications.models import InboxNotification, SmsMessage
from hawiya.notifications.selectors import inbox_text
from hawiya.registry.models import Office, Person
from hawiya.replacements.models import ReceiveMethod, Replacement, ReplacementEvent, ReplacementState

from .factories import at_riyadh, book, make_bookable_office, make_replacement, next_weekday

pytestmark = pytest.mark.django_db

NOW = at_riyadh(dt.date(2030, 3, 4), 9)  # a Monday
TUESDAY = next_weekday(NOW.date(), Weekday.TUESDAY)
SLOT = at_riyadh(TUESDAY, 10)


def _book(
    replacement: Replacement,
    office: Office,
    starts_at: dt.datetime = SLOT,
    *,
    key: str | None = None,
    applicant: Person | None = None,
) -> Appointment:
    return appointment_book(
        replacement_id=replacement.pk,
        applicant=applicant or replacement.applicant,
        office_id=office.pk,
        starts_at=starts_at,
        idempotency_key=key or uuid.uuid4().hex,
        at=NOW,
        actor="person:1",
        ip="192.0.2.1",
    )


def _last_event(replacement: Replacement) -> ReplacementEvent:
    event = replacement.events.order_by("-id").first()
    assert event is not None
    return event


def test_booking_takes_a_place_moves_the_request_and_tells_the_person():
    office = make_bookable_office()
    replacement = make_replacement()
    appointment = _book(replacement, office)
    assert appointment.reference.startswith("AP")
    assert len(appointment.reference) == 10
    assert appointment.state == AppointmentState.BOOKED
    assert appointment.slot.starts_at == SLOT
    assert Slot.objects.get().booked == 1
    replacement.refresh_from_db()
    assert replacement.state == ReplacementState.APPOINTMENT_BOOKED
    event = _last_event(replacement)
    assert (event.action, event.office, event.detail["starts_at"]) == (
        "appointment_booked",
        office,
        SLOT.isoformat(),
    )
    sms = SmsMessage.objects.filter(template="appointment_booked").get()
    assert appointment.reference in sms.body
    assert replacement.reference in sms.body
    assert "5 مارس 2030م (1 ذو القعدة 1451هـ) الساعة 10:00" in sms.body  # Riyadh time, both calendars
    assert InboxNotification.objects.filter(
        person_id=replacement.applicant_id, template="appointment_booked"
    ).exists()
    assert AuditEvent.objects.filter(action="appointment.booked", object_id=str(appointment.pk)).exists()


def test_the_office_reads_in_the_readers_language_in_the_notification_centre():
    office = make_bookable_office(
        name_ar="مكتب الأحوال المدنية بالملز", name_en="Al Malaz Civil Affairs Office"
    )
    replacement = make_replacement()  # an Arabic reader: the text message is in Arabic
    _book(replacement, office)

    sms = SmsMessage.objects.filter(template="appointment_booked").get()
    entry = InboxNotification.objects.get(person_id=replacement.applicant_id, template="appointment_booked")

    assert "\u2068مكتب الأحوال المدنية بالملز\u2069" in sms.body
    assert office.code not in sms.body
    english = inbox_text(entry, "en")
    assert "Al Malaz Civil Affairs Office" in english
    assert "الملز" not in english
    assert office.code not in english


def test_the_same_key_returns_the_first_appointment_and_different_answers_are_refused():
    office = make_bookable_office()
    replacement = make_replacement()
    key = uuid.uuid4().hex
    first = _book(replacement, office, key=key)
    again = _book(replacement, office, key=key)
    assert again.pk == first.pk
    assert Slot.objects.get().booked == 1
    with pytest.raises(ApplicationError) as refused:
        _book(replacement, office, SLOT + dt.timedelta(minutes=20), key=key)
    assert refused.value.code == IDEMPOTENCY_KEY_REUSED


def test_someone_elses_request_is_not_found():
    office = make_bookable_office()
    replacement = make_replacement()
    with pytest.raises(NotFound):
        _book(replacement, office, applicant=make_citizen())
    assert not Slot.objects.exists()


@pytest.mark.parametrize(
    ("method", "paid"),
    [(ReceiveMethod.COLLECTION, False), (ReceiveMethod.DELIVERY, True)],
    ids=["unpaid", "delivery"],
)
def test_only_a_paid_request_for_collection_can_be_booked(method, paid):
    office = make_bookable_office()
    replacement = make_replacement(method=method, paid=paid)
    with pytest.raises(ApplicationError) as refused:
        _book(replacement, office)
    assert refused.value.code == errors.REPLACEMENT_NOT_BOOKABLE


def test_a_request_with_an_appointment_cannot_book_a_second_one():
    office = make_bookable_office()
    replacement = make_replacement()
    _book(replacement, office)
    with pytest.raises(ApplicationError) as refused:
        _book(replacement, office, SLOT + dt.timedelta(minutes=20))
    assert refused.value.code == errors.REPLACEMENT_ALREADY_BOOKED


@pytest.mark.parametrize(
    ("starts_at", "code"),
    [
        (NOW - dt.timedelta(hours=1), errors.SLOT_IN_THE_PAST),
        (NOW + dt.timedelta(hours=2), errors.SLOT_IN_THE_PAST),  # today: tomorrow at the earliest
        (at_riyadh(TUESDAY, 10, 5), errors.SLOT_NOT_ON_SCHEDULE),
        (at_riyadh(TUESDAY, 15), errors.SLOT_NOT_ON_SCHEDULE),  # the office has closed
        (at_riyadh(next_weekday(TUESDAY, Weekday.FRIDAY), 10), errors.SLOT_NOT_ON_SCHEDULE),
        (at_riyadh(TUESDAY + dt.timedelta(days=70), 10), errors.SLOT_TOO_FAR),
    ],
    ids=["past", "today", "off-grid", "after-closing", "closed-day", "too-far"],
)
def test_times_that_are_not_bookable_are_refused(starts_at, code):
    office = make_bookable_office()
    with pytest.raises(ApplicationError) as refused:
        _book(make_replacement(), office, starts_at)
    assert refused.value.code == code
    assert not Slot.objects.exists()


@pytest.mark.parametrize(
    "starts_at",
    [
        dt.datetime.fromisoformat("9999-12-31T23:00-05:00"),
        dt.datetime.fromisoformat("0001-01-01T00:00+05:00"),
    ],
    ids=["after-year-9999", "before-year-1"],
)
def test_a_time_at_the_ends_of_the_calendar_is_refused_not_an_overflow(starts_at):
    office = make_bookable_office()
    replacement = make_replacement()
    with pytest.raises(ApplicationError) as refused:
        _book(replacement, office, starts_at)
    assert refused.value.code == errors.SLOT_NOT_ON_SCHEDULE
    appointment = _book(replacement, office)
    with pytest.raises(ApplicationError) as refused:
        _reschedule(appointment, office, starts_at, at=NOW - dt.timedelta(days=2))
    assert refused.value.code == errors.SLOT_NOT_ON_SCHEDULE


def test_a_holiday_is_refused():
    office = make_bookable_office()
    OfficeHoliday.objects.create(office=None, date=TUESDAY, name_ar="عيد", name_en="Eid")
    with pytest.raises(ApplicationError) as refused:
        _book(make_replacement(), office)
    assert refused.value.code == errors.SLOT_HOLIDAY


def test_an_office_that_does_not_offer_the_service_is_refused():
    from hawiya.registry.tests.factories import make_office

    with pytest.raises(ApplicationError) as refused:
        _book(make_replacement(), make_office())
    assert refused.value.code == errors.OFFICE_SERVICE_NOT_OFFERED


def test_a_full_slot_is_refused_and_nothing_changes():
    office = make_bookable_office()
    for _ in range(3):
        _book(make_replacement(), office)
    late = make_replacement()
    with pytest.raises(ApplicationError) as refused:
        _book(late, office)
    assert refused.value.code == errors.SLOT_FULL
    assert Slot.objects.get().booked == 3
    late.refresh_from_db()
    assert late.state == ReplacementState.PAID


# --- Reschedule and cancel: more than 2 days ahead -------------------------------------------


def _reschedule(
    appointment: Appointment,
    office: Office,
    starts_at: dt.datetime,
    *,
    at: dt.datetime,
    key: str | None = None,
) -> Appointment:
    return appointment_reschedule(
        appointment_id=appointment.pk,
        applicant=appointment.applicant,
        office_id=office.pk,
        starts_at=starts_at,
        idempotency_key=key or uuid.uuid4().hex,
        at=at,
        actor="person:1",
    )


def test_reschedule_keeps_the_booking_moves_the_place_and_logs_the_move():
    office = make_bookable_office()
    other = make_bookable_office()
    replacement = make_replacement()
    appointment = _book(replacement, office)
    new_time = at_riyadh(TUESDAY + dt.timedelta(days=1), 11)
    key = uuid.uuid4().hex
    moved = _reschedule(appointment, other, new_time, at=NOW - dt.timedelta(days=2), key=key)
    assert (moved.pk, moved.reference, moved.slot.starts_at, moved.slot.office) == (
        appointment.pk,
        appointment.reference,
        new_time,
        other,
    )
    assert Slot.objects.get(office=office).booked == 0
    assert Slot.objects.get(office=other).booked == 1
    assert moved.moves.count() == 1
    replacement.refresh_from_db()
    assert replacement.state == ReplacementState.APPOINTMENT_BOOKED
    assert _last_event(replacement).action == "appointment_moved"
    assert SmsMessage.objects.filter(template="appointment_moved").count() == 1
    # The same form sent twice moves once.
    _reschedule(appointment, other, new_time, at=NOW - dt.timedelta(days=2), key=key)
    assert moved.moves.count() == 1
    assert Slot.objects.get(office=other).booked == 1


def test_reschedule_to_a_full_slot_keeps_the_old_place():
    office = make_bookable_office()
    appointment = _book(make_replacement(), office)
    full = at_riyadh(TUESDAY + dt.timedelta(days=1), 8)
    for _ in range(3):
        _book(make_replacement(), office, full)
    with pytest.raises(ApplicationError) as refused:
        _reschedule(appointment, office, full, at=NOW - dt.timedelta(days=3))
    assert refused.value.code == errors.SLOT_FULL
    appointment.refresh_from_db()
    assert appointment.slot.starts_at == SLOT
    assert appointment.slot.booked == 1


@pytest.mark.parametrize(
    ("before", "allowed"),
    [(dt.timedelta(hours=48, minutes=1), True), (dt.timedelta(hours=47, minutes=59), False)],
    ids=["48h01-before", "47h59-before"],
)
def test_reschedule_and_cancel_only_more_than_2_days_before(before, allowed):
    office = make_bookable_office()
    appointment = _book(make_replacement(), office)
    now = SLOT - before
    new_time = at_riyadh(TUESDAY + dt.timedelta(days=2), 9)
    if allowed:
        _reschedule(appointment, office, new_time, at=now)
        appointment.refresh_from_db()
        appointment_cancel(
            appointment_id=appointment.pk, applicant=appointment.applicant, at=new_time - before, actor="p"
        )
        appointment.refresh_from_db()
        assert appointment.state == AppointmentState.CANCELLED
        return
    with pytest.raises(ApplicationError) as refused:
        _reschedule(appointment, office, new_time, at=now)
    assert refused.value.code == errors.APPOINTMENT_TOO_LATE_TO_CHANGE
    with pytest.raises(ApplicationError) as refused:
        appointment_cancel(appointment_id=appointment.pk, applicant=appointment.applicant, at=now, actor="p")
    assert refused.value.code == errors.APPOINTMENT_TOO_LATE_TO_CHANGE
    appointment.refresh_from_db()
    assert (appointment.state, appointment.slot.booked) == (AppointmentState.BOOKED, 1)


def test_cancel_frees_the_place_and_returns_the_request_to_paid_for_a_new_booking():
    office = make_bookable_office()
    replacement = make_replacement()
    appointment = _book(replacement, office)
    appointment_cancel(
        appointment_id=appointment.pk,
        applicant=replacement.applicant,
        at=NOW - dt.timedelta(days=1),
        actor="p",
    )
    appointment.refresh_from_db()
    assert appointment.state == AppointmentState.CANCELLED
    assert Slot.objects.get().booked == 0
    replacement.refresh_from_db()
    assert replacement.state == ReplacementState.PAID
    assert _last_event(replacement).action == "appointment_cancelled"
    assert SmsMessage.objects.filter(template="appointment_cancelled").count() == 1
    again = _book(replacement, office)
    assert again.pk != appointment.pk


def test_someone_else_cannot_reschedule_or_cancel():
    appointment = _book(make_replacement(), make_bookable_office())
    stranger = make_citizen()
    with pytest.raises(NotFound):
        appointment_cancel(appointment_id=appointment.pk, applicant=stranger, at=NOW, actor="p")
    with pytest.raises(NotFound):
        appointment_reschedule(
            appointment_id=appointment.pk,
            applicant=stranger,
            office_id=appointment.slot.office_id,
            starts_at=SLOT + dt.timedelta(days=1),
            idempotency_key=uuid.uuid4().hex,
            at=NOW,
            actor="p",
        )


def test_cancel_for_replacement_frees_the_place_without_the_2_day_rule_and_is_a_no_op_without_one():
    office = make_bookable_office()
    replacement = make_replacement()
    appointment_cancel_for_replacement(replacement_id=replacement.pk, actor="officer:1")  # nothing booked
    appointment = book(replacement, office, SLOT, at=NOW)
    appointment_cancel_for_replacement(replacement_id=replacement.pk, actor="officer:1", actor_role="officer")
    appointment.refresh_from_db()
    assert appointment.state == AppointmentState.CANCELLED
    assert Slot.objects.get().booked == 0
    assert Appointment.objects.filter(state=AppointmentState.BOOKED).count() == 0
