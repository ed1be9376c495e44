"""The day-before reminder: sent once, only for booked visits tomorrow (Riyadh date)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from hawiya.appointments.models import Weekday
from hawiya.appointments.services.citizen import appointment_cancel
from hawiya.appointments.services.sweeps import appointment_reminders_send_due
from hawiya.notifications.models import SmsMessage

from .factories import at_riyadh, book, make_bookable_office, make_replacement, next_weekday

pytestmark = pytest.mark.django_db

MONDAY = at_riyadh(dt.date(2030, 3, 4), 9)
TUESDAY = next_weekday(MONDAY.date(), Weekday.TUESDAY)


def test_reminders_go_once_to_booked_visits_tomorrow_only():
    office = make_bookable_office()
    booking_time = MONDAY - dt.timedelta(days=7)
    tomorrow_early = book(make_replacement(), office, at_riyadh(TUESDAY, 8), at=booking_time)
    tomorrow_late = book(make_replacement(), office, at_riyadh(TUESDAY, 14, 40), at=booking_time)
    day_after = book(
        make_replacement(), office, at_riyadh(TUESDAY + dt.timedelta(days=1), 8), at=booking_time
    )
    cancelled = book(make_replacement(), office, at_riyadh(TUESDAY, 9), at=booking_time)
    appointment_cancel(appointment_id=cancelled.pk, applicant=cancelled.applicant, at=booking_time, actor="p")

    # 23:59 on Monday in Riyadh is 20:59 UTC: still "tomorrow" is Tuesday.
    assert appointment_reminders_send_due(now=at_riyadh(MONDAY.date(), 23, 59)) == 2
    assert appointment_reminders_send_due(now=at_riyadh(MONDAY.date(), 23, 59)) == 0
    reminders = SmsMessage.objects.filter(template="appointment_reminder")
    bodies = [message.body for message in reminders]
    assert [
        sum(reference in body for body in bodies)
        for reference in (tomorrow_early.reference, tomorrow_late.reference)
    ] == [1, 1]
    assert reminders.count() == 2
    day_after.refresh_from_db()
    assert day_after.reminded_at is None
    tomorrow_early.refresh_from_db()
    assert tomorrow_early.reminded_at is not None


def test_the_command_sends_what_is_due(capsys):
    call_command("appointment_reminders")
    assert "appointment reminders sent: 0" in capsys.readouterr().out


def test_a_reminder_that_fails_is_logged_without_personal_data_and_does_not_block_the_others(
    monkeypatch, caplog
):
    from hawiya.appointments.services import sweeps
    from hawiya.notifications.services import notify as real_notify

    office = make_bookable_office()
    booking_time = MONDAY - dt.timedelta(days=7)
    failing = book(make_replacement(), office, at_riyadh(TUESDAY, 8), at=booking_time)
    others = [book(make_replacement(), office, at_riyadh(TUESDAY, hour), at=booking_time) for hour in (9, 10)]

    def notify(**kwargs):
        if kwargs["person_id"] == failing.applicant_id:
            raise RuntimeError(f"operator down for {kwargs['mobile']}")
        return real_notify(**kwargs)

    monkeypatch.setattr(sweeps, "notify", notify)
    with caplog.at_level("ERROR", logger="hawiya.appointments.services.sweeps"):
        assert appointment_reminders_send_due(now=MONDAY) == 2
    bodies = [message.body for message in SmsMessage.objects.filter(template="appointment_reminder")]
    assert [sum(other.reference in body for body in bodies) for other in others] == [1, 1]
    failing.refresh_from_db()
    assert failing.reminded_at is None  # rolled back: the next run tries it again
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert str(failing.pk) in logged
    assert "RuntimeError" in logged
    applicant = failing.applicant
    for personal in (applicant.mobile, applicant.id_number, failing.reference):
        assert personal not in caplog.text

    monkeypatch.setattr(sweeps, "notify", real_notify)
    assert appointment_reminders_send_due(now=MONDAY) == 1
