"""Writes of appointments: book, reschedule, cancel, reminders.

Overbooking is impossible whatever the concurrency: a place is taken with ONE conditional
UPDATE (`booked = booked + 1 WHERE booked < capacity`), which the database evaluates on the
row's latest version after any concurrent writer commits; the CHECK constraint `booked <=
capacity` backs it up. Lock order everywhere: the replacement request, then the appointment,
then slot rows by id (so two moves in opposite directions cannot deadlock).

The rules live in one module per audience: `citizen` (book, reschedule, cancel), `schedule` (the
supervisor's weekly schedule and holidays), `counter` (check-in and completion at the office) and
`sweeps` (the periodic reminders and no-shows); `_common` holds what they share. This package
re-exports their public names, so `services.appointment_book` keeps working.
"""

from ._common import AUDIT_CANCELLED, OBJECT_TYPE
from .citizen import (
    AUDIT_BOOKED,
    AUDIT_MOVED,
    CHANGE_NOTICE,
    appointment_book,
    appointment_cancel,
    appointment_cancel_for_replacement,
    appointment_reschedule,
    appointment_subject,
    can_change,
    too_close_to_change,
)
from .counter import (
    AUDIT_CHECKED_IN,
    AUDIT_COMPLETED,
    appointment_check_in,
    appointment_complete_for_replacement,
)
from .schedule import (
    AUDIT_HOLIDAY_ADDED,
    AUDIT_HOLIDAY_REMOVED,
    AUDIT_SCHEDULE_CHANGED,
    MAX_BLOCKS_PER_DAY,
    OFFICE_OBJECT_TYPE,
    office_holiday_add,
    office_holiday_preview,
    office_holiday_remove,
    office_schedule_preview,
    office_schedule_save,
)
from .sweeps import (
    AUDIT_NO_SHOW,
    AUDIT_REMINDED,
    NO_SHOW_AFTER,
    appointment_no_shows_mark_due,
    appointment_reminders_send_due,
)

__all__ = [
    "AUDIT_BOOKED",
    "AUDIT_CANCELLED",
    "AUDIT_CHECKED_IN",
    "AUDIT_COMPLETED",
    "AUDIT_HOLIDAY_ADDED",
    "AUDIT_HOLIDAY_REMOVED",
    "AUDIT_MOVED",
    "AUDIT_NO_SHOW",
    "AUDIT_REMINDED",
    "AUDIT_SCHEDULE_CHANGED",
    "CHANGE_NOTICE",
    "MAX_BLOCKS_PER_DAY",
    "NO_SHOW_AFTER",
    "OBJECT_TYPE",
    "OFFICE_OBJECT_TYPE",
    "appointment_book",
    "appointment_cancel",
    "appointment_cancel_for_replacement",
    "appointment_check_in",
    "appointment_complete_for_replacement",
    "appointment_no_shows_mark_due",
    "appointment_reminders_send_due",
    "appointment_reschedule",
    "appointment_subject",
    "can_change",
    "office_holiday_add",
    "office_holiday_preview",
    "office_holiday_remove",
    "office_schedule_preview",
    "office_schedule_save",
    "too_close_to_change",
]
