"""The civil register: the source of truth every other part of Hawiya reads.

Models hold fields, constraints, `clean` and small properties only; every write that a person or
officer causes goes through `services.py`. The rules that must hold whoever writes (the
generator's bulk inserts, a hand-written SQL fix) are CHECK and UNIQUE constraints, each with a
translated message so that `full_clean()` reports them clearly instead of failing at save.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from hawiya.core.clock import today
from hawiya.core.models import TimeStamped

from .addresses import (
    validate_additional_number,
    validate_building_number,
    validate_postal_code,
    validate_postal_code_in_region,
    validate_short_address,
    validate_short_address_matches_building,
)
from .id_numbers import (
    CITIZEN_PREFIX,
    RESIDENT_PREFIX,
    is_valid_id_number,
    validate_family_record_number,
    validate_id_number,
)
from .name_search import search_name_of
from .names import validate_arabic_name, validate_latin_name
from .phones import validate_mobile
from .regions import Region

SAUDI_NATIONALITY = "SA"


def validate_nationality(value: str) -> None:
    if not re.fullmatch(r"[A-Z]{2}", value or ""):
        raise ValidationError(
            _("Enter the nationality as a two-letter country code, like SA or EG."), code="nationality"
        )


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
        ordering = ("code",)
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
    # The Kingdom's bounding box; the same bounds are a CHECK constraint below.
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=8,
        decimal_places=5,
        validators=[MinValueValidator(Decimal(16)), MaxValueValidator(Decimal(33))],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=8,
        decimal_places=5,
        validators=[MinValueValidator(Decimal(34)), MaxValueValidator(Decimal(56))],
    )
    # Working days as ISO weekday numbers (Sunday = 7): the Saudi week runs Sunday to Thursday.
    working_days = models.CharField(_("working days"), max_length=20, default="7,1,2,3,4")
    opens_at = models.TimeField(_("opens at"), default=dt.time(8, 0))
    closes_at = models.TimeField(_("closes at"), default=dt.time(15, 0))
    services = models.ManyToManyField(CivilService, verbose_name=_("services offered"), blank=True)

    class Meta:
        ordering = ("region", "code")
        verbose_name = _("civil-affairs office")
        verbose_name_plural = _("civil-affairs offices")
        constraints = (
            models.CheckConstraint(
                condition=Q(opens_at__lt=F("closes_at")),
                name="office_opens_before_closing",
                violation_error_message=_("The office must open before it closes."),
            ),
            models.CheckConstraint(
                condition=Q(latitude__gte=16)
                & Q(latitude__lte=33)
                & Q(longitude__gte=34)
                & Q(longitude__lte=56),
                name="office_inside_the_kingdom",
                violation_error_message=_("The office's location must be inside the Kingdom."),
            ),
        )

    def __str__(self) -> str:
        return self.name_ar if get_language() == "ar" else self.name_en

    @property
    def working_weekdays(self) -> list[int]:
        """ISO weekday numbers the office opens on (Sunday = 7)."""
        return [int(day) for day in self.working_days.split(",") if day]

    def clean(self) -> None:
        days = self.working_days.split(",") if self.working_days else []
        if (
            not days
            or any(day not in {"1", "2", "3", "4", "5", "6", "7"} for day in days)
            or len(set(days)) != len(days)
        ):
            raise ValidationError(
                {
                    "working_days": _(
                        "List working days as weekday numbers 1-7 separated by commas, each once "
                        "(Sunday is 7)."
                    )
                }
            )


class NameWord(models.Model):
    """One word of some person's `search_name`: the lexicon of name words (docs/design.md,
    "Finding a person"). Name search looks a mistyped or partial word up here, through a trigram
    index on PostgreSQL (migration 0012), and then finds persons by whole words only.

    Kept complete by `Person.save`, the population seeder and migration 0011; never pruned (a
    word nobody bears any more only finds nobody)."""

    word = models.TextField(_("word"), primary_key=True)

    class Meta:
        verbose_name = _("name word")
        verbose_name_plural = _("name words")

    def __str__(self) -> str:
        return self.word

    @staticmethod
    def add_words(words: Iterable[str], *, using: str | None = None) -> None:
        """Add these words, those already present left alone (ON CONFLICT DO NOTHING / INSERT OR
        IGNORE). Inserted in sorted order, so that two transactions adding the same new words
        wait for each other instead of deadlocking."""
        unique = sorted(set(words))
        if unique:
            NameWord.objects.using(using).bulk_create(
                [NameWord(word=word) for word in unique], ignore_conflicts=True
            )


class Person(TimeStamped):
    """Someone in the civil register, citizen or resident (فرد).

    Citizens carry four-part names; many residents' passports have fewer parts, so the father's
    and grandfather's names may be blank for them only.
    """

    # The four-part name in both scripts: what the admin searches and what a password must avoid.
    NAME_FIELDS: tuple[str, ...] = (
        "first_name_ar",
        "father_name_ar",
        "grandfather_name_ar",
        "family_name_ar",
        "first_name_en",
        "father_name_en",
        "grandfather_name_en",
        "family_name_en",
    )

    id_number = models.CharField(_("ID number"), max_length=10, unique=True, validators=[validate_id_number])
    first_name_ar = models.CharField(
        _("first name (Arabic)"), max_length=60, validators=[validate_arabic_name]
    )
    father_name_ar = models.CharField(
        _("father's name (Arabic)"), max_length=60, blank=True, validators=[validate_arabic_name]
    )
    grandfather_name_ar = models.CharField(
        _("grandfather's name (Arabic)"), max_length=60, blank=True, validators=[validate_arabic_name]
    )
    family_name_ar = models.CharField(
        _("family name (Arabic)"), max_length=60, db_index=True, validators=[validate_arabic_name]
    )
    first_name_en = models.CharField(
        _("first name (English)"), max_length=60, validators=[validate_latin_name]
    )
    father_name_en = models.CharField(
        _("father's name (English)"), max_length=60, blank=True, validators=[validate_latin_name]
    )
    grandfather_name_en = models.CharField(
        _("grandfather's name (English)"), max_length=60, blank=True, validators=[validate_latin_name]
    )
    family_name_en = models.CharField(
        _("family name (English)"), max_length=60, db_index=True, validators=[validate_latin_name]
    )
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
    nationality = models.CharField(
        _("nationality"),
        max_length=2,
        default=SAUDI_NATIONALITY,
        validators=[validate_nationality],
        help_text=_("Two-letter country code (ISO 3166), like SA or EG."),
    )
    date_of_death = models.DateField(_("date of death"), null=True, blank=True)
    mobile = models.CharField(
        _("mobile number on record"), max_length=16, blank=True, validators=[validate_mobile]
    )
    email = models.EmailField(_("e-mail"), blank=True)
    photo_ref = models.CharField(_("photo reference"), max_length=120, blank=True)
    biometrics_captured_on = models.DateField(_("biometrics captured on"), null=True, blank=True)
    # Every word of the name in both scripts, normalised (name_search.py): what name search reads,
    # through a GIN index on its words on PostgreSQL (migration 0009). Written by `save` and the
    # seeder, which also add its words to the lexicon (NameWord).
    search_name = models.TextField(_("name for search"), blank=True, default="", editable=False)

    class Meta:
        ordering = ("id_number",)
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        constraints = (
            models.CheckConstraint(
                condition=Q(date_of_death__isnull=True) | Q(date_of_death__gte=F("date_of_birth")),
                name="person_dies_after_birth",
                violation_error_message=_("The date of death cannot be before the date of birth."),
            ),
            models.CheckConstraint(
                condition=Q(id_number__regex=r"^[12][0-9]{9}$"),
                name="person_id_number_shape",
                violation_error_message=_("The ID number must be 10 digits starting with 1 or 2."),
            ),
            models.CheckConstraint(
                condition=Q(nationality__regex=r"^[A-Z]{2}$"),
                name="person_nationality_shape",
                violation_error_message=_(
                    "Enter the nationality as a two-letter country code, like SA or EG."
                ),
            ),
            # The first digit says citizen or resident; nationality must not contradict it.
            models.CheckConstraint(
                condition=(Q(id_number__startswith=CITIZEN_PREFIX) & Q(nationality=SAUDI_NATIONALITY))
                | (Q(id_number__startswith=RESIDENT_PREFIX) & ~Q(nationality=SAUDI_NATIONALITY)),
                name="person_nationality_matches_id_number",
                violation_error_message=_(
                    "Citizens (ID numbers starting with 1) are Saudi; residents (starting with 2) are not."
                ),
            ),
            models.CheckConstraint(
                condition=Q(mobile="") | Q(mobile__regex=r"^\+9665[0-9]{8}$"),
                name="person_mobile_shape",
                violation_error_message=_(
                    "Store the mobile number in international form, like +9665XXXXXXXX."
                ),
            ),
            models.CheckConstraint(
                condition=Q(biometrics_captured_on__isnull=True)
                | Q(biometrics_captured_on__gte=F("date_of_birth")),
                name="person_biometrics_after_birth",
                violation_error_message=_("Biometrics cannot be captured before the date of birth."),
            ),
        )

    def __str__(self) -> str:
        return f"{self.id_number} {self.full_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every save through the ORM (services, admin, shell) keeps the search column in step;
        # a save limited to other fields (a new mobile) leaves it alone.
        self.search_name = self.computed_search_name()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and set(update_fields) & set(self.NAME_FIELDS):
            kwargs["update_fields"] = {*update_fields, "search_name"}
        super().save(*args, **kwargs)
        if update_fields is None or "search_name" in kwargs["update_fields"]:
            # In the same transaction as the row: the lexicon stays complete (NameWord).
            NameWord.add_words(self.search_name.split(), using=self._state.db)

    def computed_search_name(self) -> str:
        return search_name_of(getattr(self, field) for field in self.NAME_FIELDS)

    @property
    def is_citizen(self) -> bool:
        return self.id_number.startswith(CITIZEN_PREFIX)

    @property
    def is_alive(self) -> bool:
        return self.date_of_death is None

    @property
    def full_name_ar(self) -> str:
        parts = (self.first_name_ar, self.father_name_ar, self.grandfather_name_ar, self.family_name_ar)
        return " ".join(part for part in parts if part)

    @property
    def full_name_en(self) -> str:
        parts = (self.first_name_en, self.father_name_en, self.grandfather_name_en, self.family_name_en)
        return " ".join(part for part in parts if part)

    @property
    def full_name(self) -> str:
        """The four-part name in the language being shown (never transliterated automatically)."""
        return self.full_name_ar if get_language() == "ar" else self.full_name_en

    @property
    def first_name(self) -> str:
        return self.first_name_ar if get_language() == "ar" else self.first_name_en

    def clean(self) -> None:
        errors: dict[str, ValidationError] = {}
        civil_today = today()
        born = self.date_of_birth if isinstance(self.date_of_birth, dt.date) else None
        died = self.date_of_death if isinstance(self.date_of_death, dt.date) else None
        if born and born > civil_today:
            errors["date_of_birth"] = ValidationError(
                _("The date of birth cannot be in the future."), code="date_of_birth_future"
            )
        if died and died > civil_today:
            errors["date_of_death"] = ValidationError(
                _("The date of death cannot be in the future."), code="date_of_death_future"
            )
        elif died and born and died < born:
            errors["date_of_death"] = ValidationError(
                _("The date of death cannot be before the date of birth."), code="date_of_death_before_birth"
            )
        if is_valid_id_number(self.id_number or ""):
            if self.is_citizen and self.nationality != SAUDI_NATIONALITY:
                errors["nationality"] = ValidationError(
                    _("A citizen's nationality is Saudi (SA): the ID number starts with 1."),
                    code="citizen_not_saudi",
                )
            elif not self.is_citizen and self.nationality == SAUDI_NATIONALITY:
                errors["nationality"] = ValidationError(
                    _("A resident (ID number starting with 2) cannot have Saudi nationality."),
                    code="resident_saudi",
                )
            if self.is_citizen:
                for field in (
                    "father_name_ar",
                    "grandfather_name_ar",
                    "father_name_en",
                    "grandfather_name_en",
                ):
                    if not getattr(self, field):
                        errors[field] = ValidationError(
                            _("A citizen's name has four parts; enter this one."), code="name_part_required"
                        )
        if errors:
            raise ValidationError(errors)


class FamilyRecord(TimeStamped):
    """سجل الأسرة: held by the head of the family; lists its members."""

    number = models.CharField(
        _("family record number"), max_length=10, unique=True, validators=[validate_family_record_number]
    )
    head = models.OneToOneField(
        Person,
        on_delete=models.PROTECT,
        related_name="headed_family_record",
        verbose_name=_("head of family"),
    )

    class Meta:
        ordering = ("number",)
        verbose_name = _("family record")
        verbose_name_plural = _("family records")
        constraints = (
            models.CheckConstraint(
                condition=Q(number__regex=r"^[0-9]{10}$"),
                name="family_record_number_shape",
                violation_error_message=_("The family record number must be 10 digits."),
            ),
        )

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
        constraints = (
            models.UniqueConstraint(
                fields=["family_record", "person"],
                name="family_member_once_per_record",
                violation_error_message=_("This person is already a member of this family record."),
            ),
        )

    def __str__(self) -> str:
        return f"{self.family_record_id}: {self.person_id} ({self.get_relation_display()})"

    def clean(self) -> None:
        if self.family_record_id and self.person_id and self.family_record.head_id == self.person_id:
            raise ValidationError(
                {"person": _("The head of the family is not listed again as a member.")},
                code="member_is_head",
            )


class DocumentKind(models.TextChoices):
    NATIONAL_ID_CARD = "national_id_card", _("National ID card")
    BIRTH_CERTIFICATE = "birth_certificate", _("Birth certificate")
    DEATH_CERTIFICATE = "death_certificate", _("Death certificate")
    FAMILY_RECORD = "family_record", _("Family record")


# The serial number's first letter names the kind, so a serial read over the phone is
# recognisable at once; nine random digits follow (services.serial_number_new).
SERIAL_PREFIXES: dict[str, str] = {
    DocumentKind.NATIONAL_ID_CARD: "N",
    DocumentKind.BIRTH_CERTIFICATE: "B",
    DocumentKind.DEATH_CERTIFICATE: "D",
    DocumentKind.FAMILY_RECORD: "F",
}
SERIAL_NUMBER_LENGTH = 10


class DocumentStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    REPORTED_LOST = "reported_lost", _("Reported lost")
    REPLACED = "replaced", _("Replaced")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")


class Document(TimeStamped):
    """One version of an official document. A reissue is a new row (new serial, version + 1)
    linked to the one it replaces; the register keeps every version.

    Status changes only through `services.py`: the database refuses `valid` once a loss was
    reported, and `replaces` is one-to-one, so a document is replaced at most once.
    """

    # No single-column indexes on kind or status: few distinct values, and every insert of the
    # seeded register pays for them; (status, expiry_date) and the partial indexes serve the reads.
    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices)
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
    serial_number = models.CharField(_("serial number"), max_length=SERIAL_NUMBER_LENGTH, unique=True)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    issue_date = models.DateField(_("issue date"))
    expiry_date = models.DateField(_("expiry date"), null=True, blank=True)
    issuing_office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="issued_documents", verbose_name=_("issuing office")
    )
    status = models.CharField(
        _("status"),
        max_length=14,
        choices=DocumentStatus.choices,
        default=DocumentStatus.VALID,
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
        ordering = ("holder_id", "kind", "-version")
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        indexes = (
            # document_expire_due: valid documents whose expiry date has passed.
            models.Index(fields=["status", "expiry_date"], name="document_status_expiry_idx"),
        )
        constraints = (
            models.CheckConstraint(
                condition=Q(reported_lost_at__isnull=True) | ~Q(status=DocumentStatus.VALID),
                name="document_lost_never_valid_again",
                violation_error_message=_("A document reported lost can never become valid again."),
            ),
            models.CheckConstraint(
                condition=~Q(status=DocumentStatus.REPORTED_LOST) | Q(reported_lost_at__isnull=False),
                name="document_lost_has_report_time",
                violation_error_message=_("A document reported lost must record when the loss was reported."),
            ),
            models.CheckConstraint(
                condition=Q(expiry_date__isnull=True) | Q(expiry_date__gt=F("issue_date")),
                name="document_expires_after_issue",
                violation_error_message=_("The expiry date must be after the issue date."),
            ),
            models.CheckConstraint(
                condition=~Q(kind=DocumentKind.NATIONAL_ID_CARD) | Q(expiry_date__isnull=False),
                name="document_id_card_has_expiry",
                violation_error_message=_("A national ID card must have an expiry date."),
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1),
                name="document_version_positive",
                violation_error_message=_("The version starts at 1."),
            ),
            models.CheckConstraint(
                condition=Q(replaces__isnull=True) | Q(version__gte=2),
                name="document_replacement_is_later_version",
                violation_error_message=_("A document that replaces another has a version above 1."),
            ),
            # A family-record document names its record; no other kind does.
            models.CheckConstraint(
                condition=(Q(kind=DocumentKind.FAMILY_RECORD) & Q(family_record__isnull=False))
                | (~Q(kind=DocumentKind.FAMILY_RECORD) & Q(family_record__isnull=True)),
                name="document_family_record_names_its_record",
                violation_error_message=_(
                    "Only a family record document names a family record, and it must."
                ),
            ),
            models.CheckConstraint(
                condition=Q(serial_number__regex=r"^[A-Z][0-9]{9}$"),
                name="document_serial_number_shape",
                violation_error_message=_("The serial number must be a letter followed by 9 digits."),
            ),
            # One valid document of a kind per holder (a family record's holder is its head).
            models.UniqueConstraint(
                fields=["holder", "kind"],
                condition=Q(status=DocumentStatus.VALID),
                name="document_one_valid_per_kind",
                violation_error_message=_("This person already holds a valid document of this kind."),
            ),
            models.UniqueConstraint(
                fields=["holder", "kind", "version"],
                name="document_version_unique",
                violation_error_message=_("This version of the document already exists."),
            ),
        )

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.serial_number} v{self.version}"

    @property
    def is_valid(self) -> bool:
        return self.status == DocumentStatus.VALID

    def clean(self) -> None:
        errors: dict[str, ValidationError] = {}
        if self.issue_date and self.expiry_date and self.expiry_date <= self.issue_date:
            errors["expiry_date"] = ValidationError(
                _("The expiry date must be after the issue date."), code="expiry_before_issue"
            )
        if self.kind == DocumentKind.NATIONAL_ID_CARD and not self.expiry_date:
            errors["expiry_date"] = ValidationError(
                _("A national ID card must have an expiry date."), code="expiry_required"
            )
        if self.kind == DocumentKind.FAMILY_RECORD:
            if not self.family_record_id:
                errors["family_record"] = ValidationError(
                    _("Choose the family record this document is issued for."), code="family_record_required"
                )
            elif self.holder_id and self.family_record and self.family_record.head_id != self.holder_id:
                errors["holder"] = ValidationError(
                    _("A family record document is held by the head of the family."), code="holder_not_head"
                )
        elif self.family_record_id:
            errors["family_record"] = ValidationError(
                _("Only a family record document names a family record."), code="family_record_not_allowed"
            )
        if self.kind == DocumentKind.DEATH_CERTIFICATE and self.holder_id and self.holder.is_alive:
            errors["holder"] = ValidationError(
                _("A death certificate can only be issued for a person recorded as deceased."),
                code="holder_alive",
            )
        if self.replaces_id:
            old = self.replaces
            if old is not None and (
                old.holder_id != self.holder_id or old.kind != self.kind or self.version != old.version + 1
            ):
                errors["replaces"] = ValidationError(
                    _(
                        "A reissue replaces the previous version of the same person's document "
                        "of the same kind."
                    ),
                    code="replaces_mismatch",
                )
        if errors:
            raise ValidationError(errors)


class NationalAddress(TimeStamped):
    """العنوان الوطني: where a person lives and where documents are delivered."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="national_addresses", verbose_name=_("person")
    )
    is_primary = models.BooleanField(_("primary address"), default=True)
    building_number = models.CharField(
        _("building number"), max_length=4, validators=[validate_building_number]
    )
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
        constraints = (
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(is_primary=True),
                name="national_address_one_primary",
                violation_error_message=_("This person already has a primary national address."),
            ),
            models.CheckConstraint(
                condition=Q(building_number__regex=r"^[0-9]{4}$"),
                name="address_building_shape",
                violation_error_message=_("The building number must be 4 digits, like 2929."),
            ),
            models.CheckConstraint(
                condition=Q(postal_code__regex=r"^[1-9][0-9]{4}$"),
                name="address_postal_shape",
                violation_error_message=_("The postal code must be 5 digits, like 12345."),
            ),
            models.CheckConstraint(
                condition=Q(additional_number__regex=r"^[0-9]{4}$"),
                name="address_additional_shape",
                violation_error_message=_("The additional number must be 4 digits, like 8538."),
            ),
            models.CheckConstraint(
                condition=Q(short_address__regex=r"^[A-Z]{4}[0-9]{4}$"),
                name="address_short_shape",
                violation_error_message=_(
                    "The short address must be 4 letters then 4 digits, like RRRD2929."
                ),
            ),
        )

    def __str__(self) -> str:
        return f"{self.short_address} {self.postal_code}-{self.additional_number}"

    def clean(self) -> None:
        # Only cross-check parts that are well formed on their own; the field validators have
        # already said what is wrong with the others, and one message per mistake is enough.
        errors: dict[str, ValidationError] = {}
        if self.region and _is_valid(validate_postal_code, self.postal_code):
            try:
                validate_postal_code_in_region(self.postal_code, self.region)
            except ValidationError as exc:
                errors["postal_code"] = exc
        if _is_valid(validate_short_address, self.short_address) and _is_valid(
            validate_building_number, self.building_number
        ):
            try:
                validate_short_address_matches_building(self.short_address, self.building_number)
            except ValidationError as exc:
                errors["short_address"] = exc
        if errors:
            raise ValidationError(errors)


def _is_valid(validator: Callable[[str], None], value: str) -> bool:
    try:
        validator(value)
    except ValidationError:
        return False
    return True


class CivilFine(TimeStamped):
    """A civil-affairs fine (e.g. renewing an ID card late). Unpaid fines block a replacement
    request until they are paid; the fine is paid through its own channel, not on Hawiya."""

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="fines", verbose_name=_("person")
    )
    amount_sar = models.DecimalField(
        _("amount (SAR)"), max_digits=8, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    reason_ar = models.CharField(_("reason (Arabic)"), max_length=200)
    reason_en = models.CharField(_("reason (English)"), max_length=200)
    issued_on = models.DateField(_("issued on"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("civil-affairs fine")
        verbose_name_plural = _("civil-affairs fines")
        ordering = ("person_id", "issued_on", "id")
        indexes = (
            models.Index(fields=["person"], condition=Q(paid_at__isnull=True), name="civil_fine_unpaid_idx"),
        )
        constraints = (
            models.CheckConstraint(
                condition=Q(amount_sar__gt=0),
                name="civil_fine_amount_positive",
                violation_error_message=_("A fine's amount must be more than zero."),
            ),
        )

    def __str__(self) -> str:
        return f"{self.person_id}: {self.amount_sar} SAR ({self.issued_on})"

    @property
    def reason(self) -> str:
        return self.reason_ar if get_language() == "ar" else self.reason_en


class BiometricCapture(models.Model):
    """Fingerprints and a photo taken at a civil-affairs office (services: registry.biometrics).

    Never the prints themselves, nor the scanner's template: only what the fingerprint matcher
    (registry.matchers) needs to compare a later capture with this one — the ABIS's reference of
    the enrolled template, or for the demo matcher a keyed hash — with what the scanner said about
    the capture. The photo is re-encoded from its pixels (no EXIF). Rows are never changed; the
    latest one is the person's biometrics on file.
    """

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="biometric_captures", verbose_name=_("person")
    )
    captured_at = models.DateTimeField(_("captured at"))
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="+", verbose_name=_("office"))
    # Who took it, as an opaque id ("user:42"): the audit trail has the rest.
    actor = models.CharField(_("taken by"), max_length=64)
    photo = models.ImageField(_("photo"), upload_to="biometric-photos/%Y/%m/")
    # Which matcher enrolled the template ("demo" or "http"), and its reference there.
    matcher = models.CharField(_("fingerprint matcher"), max_length=16)
    template_reference = models.CharField(_("fingerprint template reference"), max_length=128)
    finger_count = models.PositiveSmallIntegerField(
        _("fingers captured"), validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    quality = models.PositiveSmallIntegerField(
        _("capture quality"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    device_id = models.CharField(_("scanner id"), max_length=64)
    device_model = models.CharField(_("scanner model"), max_length=120)
    # What the capture was for, e.g. a replacement request's reference or "counter".
    context_ref = models.CharField(_("taken for"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("biometric capture")
        verbose_name_plural = _("biometric captures")
        ordering = ("-captured_at", "-id")
        indexes = (models.Index(fields=["person", "-captured_at"], name="biometric_capture_person_idx"),)
        constraints = (
            models.CheckConstraint(
                condition=(Q(matcher="demo") & Q(template_reference__regex=r"^[0-9a-f]{64}$"))
                | (Q(matcher="http") & Q(template_reference__regex=r"^[A-Za-z0-9._:-]{1,128}$")),
                name="biometric_capture_reference_shape",
                violation_error_message=_(
                    "The fingerprint matcher is demo (a 64-digit hexadecimal hash) or http (the "
                    "reference the matching system gave)."
                ),
            ),
            models.CheckConstraint(
                condition=Q(finger_count__gte=1) & Q(finger_count__lte=10),
                name="biometric_capture_finger_count",
                violation_error_message=_("Between 1 and 10 fingers are captured."),
            ),
            models.CheckConstraint(
                condition=Q(quality__lte=100),
                name="biometric_capture_quality_range",
                violation_error_message=_("The capture quality is between 0 and 100."),
            ),
        )

    def __str__(self) -> str:
        return f"{self.person_id} {self.captured_at:%Y-%m-%d %H:%M}"
