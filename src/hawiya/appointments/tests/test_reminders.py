"""The day-before reminder: sent once, only for booked visits tomorrow (Riyadh date)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from hawiya.appointments.models import Weekday
from hawiya.appointments.services import appointment_cancel, appointment_reminders_send_due
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
