"""The civil register: the source of truth every other part of Hawiya reads.

Models hold fields, constraints, `clean` and small properties only; every write that a person or
officer causes goes through `services.py`.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from hawiya.core.models import TimeStamped

from .addresses import (
    validate_additional_number,
    validate_building_number,
    validate_postal_code,
    validate_postal_code_in_region,
    validate_short_address,
)
from .id_numbers import CITIZEN_PREFIX, validate_id_number
from .phones import validate_mobile
from .regions import Region


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class Calendar(models.TextChoices):
    HIJRI = "hijri", _("Hijri")
    GREGORIAN = "gregorian", _("Gregorian")


class DatePrecision(models.TextChoices):
    """How much of a date of birth the register really knows.

    Many older records hold only a year (stored as a placeholder day, often 1 Rajab); the day
    and month of such a date must never be shown as if they were known.
    """

    DAY = "day", _("Exact date")
    MONTH = "month", _("Month and year only")
    YEAR = "year", _("Year only")


class CivilService(models.Model):
    """A service an office offers (replacement of an ID card, biometrics...). Rows: migration 0002."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name_ar = models.CharField(_("name (Arabic)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)

    class Meta:
        ordering = ["code"]
        verbose_name = _("civil-affairs service")
        verbose_name_plural = _("civil-affairs services")

    def __str__(self) -> str:
        return self.name_ar if get_language() == "ar" else self.name_en


class Office(TimeStamped):
    """A civil-affairs office (مكتب الأحوال المدنية)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_ar = models.CharField(_("name (Arabic)"), max_length=160)
    name_en = models.CharField(_("name (English)"), max_length=160)
    region = models.CharField(_("region"), max_length=20, choices=Region.choices, db_index=True)
    city_ar = models.CharField(_("city (Arabic)"), max_length=80)
    city_en = models.CharField(_("city (English)"), max_length=80)
    address_ar = models.CharField(_("address (Arabic)"), max_length=240)
    address_en = models.CharField(_("address (English)"), max_length=240)
    latitude = models.DecimalField(_("latitude"), max_digits=8, decimal_places=5)
    longitude = models.DecimalField(_("longitude"), max_digits=8, decimal_places=5)
    # Working days as ISO weekday numbers (Sunday = 7): the Saudi week runs Sunday to Thursday.
    working_days = models.CharField(_("working days"), max_length=20, default="7,1,2,3,4")
    opens_at = models.TimeField(_("opens at"), default=dt.time(8, 0))
    closes_at = models.TimeField(_("closes at"), default=dt.time(15, 0))
    services = models.ManyToManyField(CivilService, verbose_name=_("services offered"), blank=True)

    class Meta:
        ordering = ["region", "code"]
        verbose_name = _("civil-affairs office")
        verbose_name_plural = _("civil-affairs offices")
        constraints = [
            models.CheckConstraint(condition=Q(opens_at__lt=models.F("closes_at")), name="office_opens_before_closing"),
            models.CheckConstraint(
                condition=Q(latitude__gte=16) & Q(latitude__lte=33) & Q(longitude__gte=34) & Q(longitude__lte=56),
                name="office_inside_the_kingdom",
            ),
        ]

    def __str__(self) -> str:
        return self.name_ar if get_language() == "ar" else self.name_en

    def clean(self) -> None:
        days = self.working_days.split(",") if self.working_days else []
        if not days or any(day not in {"1", "2", "3", "4", "5", "6", "7"} for day in days):
            raise ValidationError(
                {"working_days": _("List working days as weekday numbers 1-7 separated by commas (Sunday is 7).")}
            )


class Person(TimeStamped):
    """Someone in the civil register, citizen or resident (فرد)."""

    id_number = models.CharField(
        _("ID number"), max_length=10, unique=True, validators=[validate_id_number]
    )
    first_name_ar = models.CharField(_("first name (Arabic)"), max_length=60)
    father_name_ar = models.CharField(_("father's name (Arabic)"), max_length=60)
    grandfather_name_ar = models.CharField(_("grandfather's name (Arabic)"), max_length=60)
    family_name_ar = models.CharField(_("family name (Arabic)"), max_length=60, db_index=True)
    first_name_en = models.CharField(_("first name (English)"), max_length=60)
    father_name_en = models.CharField(_("father's name (English)"), max_length=60)
    grandfather_name_en = models.CharField(_("grandfather's name (English)"), max_length=60)
    family_name_en = models.CharField(_("family name (English)"), max_length=60, db_index=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField(_("date of birth"))
    date_of_birth_precision = models.CharField(
        _("date of birth precision"), max_length=5, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    date_of_birth_calendar = models.CharField(
        _("calendar of record"), max_length=9, choices=Calendar.choices, default=Calendar.HIJRI
    )
    place_of_birth_ar = models.CharField(_("place of birth (Arabic)"), max_length=80)
    place_of_birth_en = models.CharField(_("place of birth (English)"), max_length=80)
    nationality = models.CharField(_("nationality (ISO 3166 alpha-2)"), max_length=2, default="SA")
    date_of_death = models.DateField(_("date of death"), null=True, blank=True)
    mobile = models.CharField(
        _("mobile number on record"), max_length=16, blank=True, validators=[validate_mobile]
    )
    email = models.EmailField(_("e-mail"), blank=True)
    photo_ref = models.CharField(_("photo reference"), max_length=120, blank=True)
    biometrics_captured_on = models.DateField(_("biometrics captured on"), null=True, blank=True)

    class Meta:
        ordering = ["id_number"]
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        constraints = [
            models.CheckConstraint(
                condition=Q(date_of_death__isnull=True) | Q(date_of_death__gte=models.F("date_of_birth")),
                name="person_dies_after_birth",
            ),
            models.CheckConstraint(
                condition=Q(id_number__regex=r"^[12][0-9]{9}$"), name="person_id_number_shape"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id_number} {self.full_name}"

    @property
    def is_citizen(self) -> bool:
        return self.id_number.startswith(CITIZEN_PREFIX)

    @property
    def is_alive(self) -> bool:
        return self.date_of_death is None

    @property
    def full_name_ar(self) -> str:
        return " ".join((self.first_name_ar, self.father_name_ar, self.grandfather_name_ar, self.family_name_ar))

    @property
    def full_name_en(self) -> str:
        return " ".join((self.first_name_en, self.father_name_en, self.grandfather_name_en, self.family_name_en))

    @property
    def full_name(self) -> str:
        """The four-part name in the language being shown (never transliterated automatically)."""
        return self.full_name_ar if get_language() == "ar" else self.full_name_en

    @property
    def first_name(self) -> str:
        return self.first_name_ar if get_language() == "ar" else self.first_name_en

    def clean(self) -> None:
        if self.date_of_death and self.date_of_birth and self.date_of_death < self.date_of_birth:
            raise ValidationError({"date_of_death": _("The date of death cannot be before the date of birth.")})


class FamilyRecord(TimeStamped):
    """سجل الأسرة: held by the head of the family; lists its members."""

    number = models.CharField(_("family record number"), max_length=10, unique=True)
    head = models.OneToOneField(
        Person, on_delete=models.PROTECT, related_name="headed_family_record", verbose_name=_("head of family")
    )

    class Meta:
        ordering = ["number"]
        verbose_name = _("family record")
        verbose_name_plural = _("family records")
        constraints = [
            models.CheckConstraint(condition=Q(number__regex=r"^[0-9]{10}$"), name="family_record_number_shape"),
        ]

    def __str__(self) -> str:
        return self.number


class Relation(models.TextChoices):
    SPOUSE = "spouse", _("Spouse")
    SON = "son", _("Son")
    DAUGHTER = "daughter", _("Daughter")
    FATHER = "father", _("Father")
    MOTHER = "mother", _("Mother")
    BROTHER = "brother", _("Brother")
    SISTER = "sister", _("Sister")


class FamilyMember(models.Model):
    """A member of a family record other than its head, with their relation to the head."""

    family_record = models.ForeignKey(
        FamilyRecord, on_delete=models.CASCADE, related_name="members", verbose_name=_("family record")
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="family_memberships", verbose_name=_("person")
    )
    relation = models.CharField(_("relation to the head"), max_length=10, choices=Relation.choices)

    class Meta:
        verbose_name = _("family member")
        verbose_name_plural = _("family members")
        constraints = [
            models.UniqueConstraint(fields=["family_record", "person"], name="family_member_once_per_record"),
        ]

    def __str__(self) -> str:
        return f"{self.family_record_id}: {self.person_id} ({self.relation})"


class DocumentKind(models.TextChoices):
    NATIONAL_ID_CARD = "national_id_card", _("National ID card")
    BIRTH_CERTIFICATE = "birth_certificate", _("Birth certificate")
    DEATH_CERTIFICATE = "death_certificate", _("Death certificate")
    FAMILY_RECORD = "family_record", _("Family record")


class DocumentStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    REPORTED_LOST = "reported_lost", _("Reported lost")
    REPLACED = "replaced", _("Replaced")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")


class Document(TimeStamped):
    """One version of an official document. A reissue is a new row (new serial, version + 1)
    linked to the one it replaces; the register keeps every version."""

    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices, db_index=True)
    holder = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="documents", verbose_name=_("holder")
    )
    family_record = models.ForeignKey(
        FamilyRecord,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
        verbose_name=_("family record"),
    )
    serial_number = models.CharField(_("serial number"), max_length=12, unique=True)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    issue_date = models.DateField(_("issue date"))
    expiry_date = models.DateField(_("expiry date"), null=True, blank=True)
    issuing_office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="issued_documents", verbose_name=_("issuing office")
    )
    status = models.CharField(
        _("status"), max_length=14, choices=DocumentStatus.choices, default=DocumentStatus.VALID, db_index=True
    )
    # Set once, when the loss is reported; the database then refuses `valid` for ever.
    reported_lost_at = models.DateTimeField(_("reported lost at"), null=True, blank=True)
    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        verbose_name=_("replaces"),
    )

    class Meta:
        ordering = ["holder_id", "kind", "-version"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        constraints = [
            models.CheckConstraint(
                condition=Q(reported_lost_at__isnull=True) | ~Q(status="valid"),
                name="document_lost_never_valid_again",
            ),
            models.CheckConstraint(
                condition=Q(expiry_date__isnull=True) | Q(expiry_date__gt=models.F("issue_date")),
                name="document_expires_after_issue",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="document_version_positive"),
            models.CheckConstraint(
                condition=~Q(kind="family_record") | Q(family_record__isnull=False),
                name="document_family_record_names_its_record",
            ),
            # One valid document of a kind per holder (a family record's holder is its head).
            models.UniqueConstraint(
                fields=["holder", "kind"], condition=Q(status="valid"), name="document_one_valid_per_kind"
            ),
            models.UniqueConstraint(fields=["holder", "kind", "version"], name="document_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.serial_number} v{self.version}"

    @property
    def is_valid(self) -> bool:
        return self.status == DocumentStatus.VALID


class NationalAddress(TimeStamped):
    """العنوان الوطني: where a person lives and where documents are delivered."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="national_addresses", verbose_name=_("person")
    )
    is_primary = models.BooleanField(_("primary address"), default=True)
    building_number = models.CharField(_("building number"), max_length=4, validators=[validate_building_number])
    street_ar = models.CharField(_("street (Arabic)"), max_length=120)
    street_en = models.CharField(_("street (English)"), max_length=120)
    district_ar = models.CharField(_("district (Arabic)"), max_length=80)
    district_en = models.CharField(_("district (English)"), max_length=80)
    city_ar = models.CharField(_("city (Arabic)"), max_length=80)
    city_en = models.CharField(_("city (English)"), max_length=80)
    region = models.CharField(_("region"), max_length=20, choices=Region.choices)
    postal_code = models.CharField(_("postal code"), max_length=5, validators=[validate_postal_code])
    additional_number = models.CharField(
        _("additional number"), max_length=4, validators=[validate_additional_number]
    )
    unit_number = models.CharField(_("unit number"), max_length=10, blank=True)
    short_address = models.CharField(_("short address"), max_length=8, validators=[validate_short_address])

    class Meta:
        verbose_name = _("national address")
        verbose_name_plural = _("national addresses")
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(is_primary=True), name="national_address_one_primary"
            ),
            models.CheckConstraint(condition=Q(building_number__regex=r"^[0-9]{4}$"), name="address_building_shape"),
            models.CheckConstraint(condition=Q(postal_code__regex=r"^[1-9][0-9]{4}$"), name="address_postal_shape"),
            models.CheckConstraint(
                condition=Q(additional_number__regex=r"^[0-9]{4}$"), name="address_additional_shape"
            ),
            models.CheckConstraint(
                condition=Q(short_address__regex=r"^[A-Z]{4}[0-9]{4}$"), name="address_short_shape"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.short_address} {self.postal_code}-{self.additional_number}"

    def clean(self) -> None:
        if self.postal_code and self.region:
            try:
                validate_postal_code_in_region(self.postal_code, self.region)
            except ValidationError as exc:
                raise ValidationError({"postal_code": exc.messages}) from exc
