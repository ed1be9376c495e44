"""Office calendars and bookings (المواعيد): weekly schedules, holidays, slots with a capacity,
and the appointments people book in them.

A slot row exists only once someone books it (the schedule says which slots could exist); its
`booked` counter is taken with one conditional UPDATE and never passes `capacity` (a CHECK
constraint says so too). Writes happen only in services.py.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from hawiya.core import clock
from hawiya.core.models import TimeStamped

# Offices without schedule rows open on their own working days and hours with these.
DEFAULT_SLOT_MINUTES = 20
DEFAULT_CAPACITY = 3


class Weekday(models.IntegerChoices):
    """ISO weekday numbers, as Office.working_days writes them (Sunday = 7)."""

    SUNDAY = 7, _("Sunday")
    MONDAY = 1, _("Monday")
    TUESDAY = 2, _("Tuesday")
    WEDNESDAY = 3, _("Wednesday")
    THURSDAY = 4, _("Thursday")
    FRIDAY = 5, _("Friday")
    SATURDAY = 6, _("Saturday")


class OfficeSchedule(models.Model):
    """One opening block of an office on a weekday for one service (or every service it offers).

    An office with any schedule row opens only in its rows; an office with none opens on its
    working days and hours with 20-minute slots of 3 places.
    """

    office = models.ForeignKey(
        "registry.Office", on_delete=models.CASCADE, related_name="schedules", verbose_name=_("office")
    )
    # Empty: every service the office offers that has no rows of its own that day.
    service = models.ForeignKey(
        "registry.CivilService",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("service"),
        help_text=_("Leave empty for every service the office offers."),
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens_at = models.TimeField(_("opens at"))
    closes_at = models.TimeField(_("closes at"))
    slot_minutes = models.PositiveSmallIntegerField(
        _("slot length (minutes)"),
        default=DEFAULT_SLOT_MINUTES,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
    )
    capacity = models.PositiveSmallIntegerField(
        _("places per slot"),
        default=DEFAULT_CAPACITY,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )

    class Meta:
        verbose_name = _("office schedule")
        verbose_name_plural = _("office schedules")
        ordering = ("office", "weekday", "opens_at")
        indexes = (models.Index(fields=["office", "weekday"], name="schedule_office_weekday_idx"),)
        constraints = (
            models.CheckConstraint(
                condition=Q(opens_at__lt=F("closes_at")),
                name="schedule_opens_before_closing",
                violation_error_message=_("The office must open before it closes."),
            ),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5) & Q(slot_minutes__lte=240),
                name="schedule_slot_length",
                violation_error_message=_("A slot lasts between 5 and 240 minutes."),
            ),
            models.CheckConstraint(
                condition=Q(capacity__gte=1) & Q(capacity__lte=100),
                name="schedule_capacity",
                violation_error_message=_("A slot has between 1 and 100 places."),
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=1) & Q(weekday__lte=7), name="schedule_weekday_iso"
            ),
        )

    def __str__(self) -> str:
        return f"{self.office} {self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"

    def clean(self) -> None:
        if self.opens_at and self.closes_at and self.opens_at >= self.closes_at:
            raise ValidationError({"closes_at": _("The office must open before it closes.")})


class OfficeHoliday(models.Model):
    """A day an office (or every office) is closed."""

    # Empty: every office.
    office = models.ForeignKey(
        "registry.Office",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="holidays",
        verbose_name=_("office"),
        help_text=_("Leave empty for a holiday of every office."),
    )
    date = models.DateField(_("date"))
    name_ar = models.CharField(_("name (Arabic)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ("date",)
        constraints = (
            models.UniqueConstraint(
                fields=["office", "date"],
                condition=Q(office__isnull=False),
                name="holiday_one_per_office_day",
                violation_error_message=_("This office already has a holiday on that day."),
            ),
            models.UniqueConstraint(
                fields=["date"],
                condition=Q(office__isnull=True),
                name="holiday_one_national_per_day",
                violation_error_message=_("There is already a holiday of every office on that day."),
            ),
        )

    def __str__(self) -> str:
        return self.name_ar if get_language() == "ar" else self.name_en


class Slot(models.Model):
    """A bookable time at an office for a service, created when its first place is taken."""

    office = models.ForeignKey(
        "registry.Office", on_delete=models.PROTECT, related_name="slots", verbose_name=_("office")
    )
    service = models.ForeignKey(
        "registry.CivilService", on_delete=models.PROTECT, related_name="+", verbose_name=_("service")
    )
    starts_at = models.DateTimeField(_("starts at"))
    minutes = models.PositiveSmallIntegerField(_("length (minutes)"), default=DEFAULT_SLOT_MINUTES)
    capacity = models.PositiveSmallIntegerField(_("places"), default=DEFAULT_CAPACITY)
    booked = models.PositiveSmallIntegerField(_("places taken"), default=0)

    class Meta:
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        ordering = ("starts_at", "office")
        constraints = (
            models.UniqueConstraint(fields=["office", "service", "starts_at"], name="slot_unique_time"),
            # The last line of defence against overbooking, whoever writes.
            models.CheckConstraint(
                condition=Q(booked__lte=F("capacity")) & Q(booked__gte=0),
                name="slot_never_overbooked",
                violation_error_message=_("A slot cannot hold more bookings than its places."),
            ),
        )
        indexes = (models.Index(fields=["office", "service", "starts_at"], name="slot_lookup_idx"),)

    def __str__(self) -> str:
        return f"{self.office} {self.starts_at:%Y-%m-%d %H:%M} ({self.booked}/{self.capacity})"

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.minutes)


class AppointmentState(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CHECKED_IN = "checked_in", _("Checked in")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("Did not attend")


# An appointment in one of these holds a place; one per replacement request at a time.
ACTIVE_STATES = frozenset({AppointmentState.BOOKED, AppointmentState.CHECKED_IN})


class Appointment(TimeStamped):
    """A person's booked visit to an office about a replacement request (موعد)."""

    reference = models.CharField(_("reference"), max_length=12, unique=True)
    replacement = models.ForeignKey(
        "replacements.Replacement",
        on_delete=models.PROTECT,
        related_name="appointments",
        verbose_name=_("replacement request"),
    )
    # Who booked: the request's applicant. Every page checks ownership against this person.
    applicant = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="appointments", verbose_name=_("applicant")
    )
    slot = models.ForeignKey(
        Slot, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("slot")
    )
    state = models.CharField(
        _("status"), max_length=12, choices=AppointmentState.choices, default=AppointmentState.BOOKED
    )
    booked_at = models.DateTimeField(_("booked at"), default=clock.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)
    request_fingerprint = models.CharField(_("request fingerprint"), max_length=64)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ("-booked_at", "-id")
        indexes = (
            models.Index(fields=["applicant", "-booked_at"], name="appointment_applicant_idx"),
            models.Index(fields=["state", "reminded_at"], name="appointment_reminder_idx"),
        )
        constraints = (
            models.UniqueConstraint(
                fields=["replacement"],
                condition=Q(state__in=sorted(state.value for state in ACTIVE_STATES)),
                name="appointment_one_active_per_replacement",
                violation_error_message=_("This request already has an appointment."),
            ),
            models.UniqueConstraint(
                fields=["applicant", "idempotency_key"], name="appointment_idempotency_key_unique"
            ),
        )

    def __str__(self) -> str:
        return self.reference

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES


class AppointmentMove(models.Model):
    """A reschedule: the booking stays, its slot changes; each move is kept."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="moves", verbose_name=_("appointment")
    )
    from_slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="+", verbose_name=_("from"))
    to_slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="+", verbose_name=_("to"))
    at = models.DateTimeField(_("at"), default=clock.now)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)
    request_fingerprint = models.CharField(_("request fingerprint"), max_length=64)

    class Meta:
        verbose_name = _("appointment move")
        verbose_name_plural = _("appointment moves")
        ordering = ("at", "id")
        constraints = (
            models.UniqueConstraint(
                fields=["appointment", "idempotency_key"], name="appointment_move_key_unique"
            ),
        )

    def __str__(self) -> str:
        return f"{self.appointment_id}: {self.from_slot_id} → {self.to_slot_id}"
