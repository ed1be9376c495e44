"""The Django admin for the civil register, in Arabic and English (/ar/admin/, /en/admin/).

Staff only (Django's admin requires `is_staff`). Built for a register of millions: every list
joins what it shows (`list_select_related`), persons are picked by search (`autocomplete_fields`)
never from a dropdown, ID numbers and serials are looked up exactly through their unique index,
and the changelist skips the second, unfiltered count and estimates the first on PostgreSQL
(core.pagination). Persons are found by registry.selectors.person_search_queryset: an ID number
exactly, a name through the normalised `search_name` (its words' GIN index, and the lexicon of name
words for a typo or a part of a word). The autocomplete widgets are
core.admin_widgets', which survive any submitted value (Django's own answered 500 to a non-number).

Document statuses are never edited here: status, version, `replaces` and the loss report are
read-only, a document that is not valid is read-only altogether, and the one status change
offered (reporting a loss) calls the service.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ORDER_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from hawiya.audit.actors import Actor
from hawiya.core.admin_widgets import CheckedAutocompleteMixin
from hawiya.core.calendars import format_dual
from hawiya.core.digits import normalise_number
from hawiya.core.errors import ApplicationError
from hawiya.core.pagination import EstimatedCountPaginator

from .addresses import normalise_address_code
from .id_numbers import CITIZEN_PREFIX, RESIDENT_PREFIX, normalise_id_number
from .models import (
    CivilFine,
    CivilService,
    Document,
    DocumentStatus,
    FamilyMember,
    FamilyRecord,
    NationalAddress,
    Office,
    Person,
)
from .phones import normalise_mobile
from .selectors import document_history, person_search_queryset
from .services import document_mark_reported_lost

_DIGITS_ONLY = re.compile(r"[0-9]+")
_SERIAL = re.compile(r"[A-Z][0-9]{9}")


def _mobile_as_typed(value: str) -> str:
    # Normalise when we can; otherwise keep what was typed so the model's validator explains why.
    try:
        return normalise_mobile(value)
    except ValidationError:
        return value


def _upper(value: str) -> str:
    return value.strip().upper()


class NormalisedCharField(forms.CharField):
    """A text field that turns what was typed (Eastern digits, spaces, hyphens, lower case) into
    the stored form before validation. No length limit in the widget: "105 852 9940" is longer
    than the ten digits it stands for."""

    def __init__(self, *, normalise: Callable[[str], str], **kwargs: Any) -> None:
        self.normalise = normalise
        kwargs.pop("max_length", None)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str | None:
        text = super().to_python(value)
        return self.normalise(text) if text else text


class NormalisingFormMixin:
    """Gives the named model fields a NormalisedCharField in admin forms and inlines."""

    normalised_fields: ClassVar[Mapping[str, Callable[[str], str]]] = {}

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        normalise = self.normalised_fields.get(db_field.name)
        if normalise is not None:
            return NormalisedCharField(
                normalise=normalise,
                required=not db_field.blank,
                label=db_field.verbose_name,
                help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]


ADDRESS_NORMALISERS: dict[str, Callable[[str], str]] = {
    "building_number": normalise_address_code,
    "postal_code": normalise_address_code,
    "additional_number": normalise_address_code,
    "short_address": normalise_address_code,
}


def _admin_link(obj: models.Model, text: object) -> SafeString:
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text)


# --- Persons -------------------------------------------------------------------------------------


class CitizenshipFilter(admin.SimpleListFilter):
    title = _("citizen or resident")
    parameter_name = "citizenship"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, Any]]:
        return [("citizen", _("Citizen")), ("resident", _("Resident"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        prefix = {"citizen": CITIZEN_PREFIX, "resident": RESIDENT_PREFIX}.get(self.value() or "")
        return queryset.filter(id_number__startswith=prefix) if prefix else queryset


class AliveFilter(admin.SimpleListFilter):
    title = _("alive or deceased")
    parameter_name = "alive"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[str, Any]]:
        return [("alive", _("Alive")), ("deceased", _("Deceased"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "alive":
            return queryset.filter(date_of_death__isnull=True)
        if self.value() == "deceased":
            return queryset.filter(date_of_death__isnull=False)
        return queryset


class NationalAddressInlineFormSet(
    forms.BaseInlineFormSet[NationalAddress, Person, forms.ModelForm[NationalAddress]]
):
    """One primary address per person, checked across the forms (the database would refuse a
    second one with an error page, since inline forms skip constraints on the parent key)."""

    instance: Person

    def clean(self) -> None:
        super().clean()
        primaries = [
            form
            for form in self.forms
            if form.cleaned_data.get("is_primary") and not form.cleaned_data.get("DELETE")
        ]
        if len(primaries) > 1:
            raise ValidationError(
                _("Only one national address can be the primary one."), code="two_primaries"
            )

    def save(self, commit: bool = True) -> list[Any]:
        # Demote the old primary before the new one is written, whatever order the forms are in.
        keep = {form.instance.pk for form in self.forms if form.cleaned_data.get("is_primary")}
        if commit and self.instance.pk and any(form.cleaned_data.get("is_primary") for form in self.forms):
            NationalAddress.objects.filter(person=self.instance, is_primary=True).exclude(pk__in=keep).update(
                is_primary=False, updated_at=timezone.now()
            )
        return super().save(commit)


class NationalAddressInline(NormalisingFormMixin, admin.StackedInline[NationalAddress, Person]):
    model = NationalAddress
    formset = NationalAddressInlineFormSet
    normalised_fields: ClassVar[Mapping[str, Callable[[str], str]]] = ADDRESS_NORMALISERS
    extra = 0
    ordering = ("-is_primary", "-created_at")
    fields = (
        "is_primary",
        ("building_number", "street_ar", "street_en"),
        ("district_ar", "district_en"),
        ("city_ar", "city_en", "region"),
        ("postal_code", "additional_number", "unit_number", "short_address"),
    )


class DocumentInline(admin.TabularInline[Document, Person]):
    """The person's documents, every version, read-only; each opens its own page."""

    model = Document
    fk_name = "holder"
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("kind", "-version")
    fields = ("serial_number", "kind", "version", "status", "issue_date", "expiry_date", "issuing_office")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        return super().get_queryset(request).select_related("issuing_office")

    def has_add_permission(self, request: HttpRequest, obj: Person | None = None) -> bool:
        return False

    # The admin passes the parent (the person) here; the union also satisfies BaseModelAdmin.
    def has_change_permission(self, request: HttpRequest, obj: Person | Document | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Person | Document | None = None) -> bool:
        return False


@admin.register(Person)
class PersonAdmin(NormalisingFormMixin, admin.ModelAdmin[Person]):
    list_display = ("id_number", "name_ar", "name_en", "sex", "date_of_birth_shown", "is_alive")
    list_filter = (CitizenshipFilter, AliveFilter, "sex")
    # Searched by get_search_results (person_search_queryset); listed here so the admin shows
    # the search box and the autocomplete widgets may search persons.
    search_fields = ("search_name",)
    search_help_text = _(
        "An ID number (exact), or parts of the name in Arabic or English: spelling variants "
        "and small typos are found."
    )
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    inlines = (NationalAddressInline, DocumentInline)
    normalised_fields: ClassVar[Mapping[str, Callable[[str], str]]] = {
        "id_number": normalise_id_number,
        "mobile": _mobile_as_typed,
        "nationality": _upper,
    }
    readonly_fields = ("date_of_birth_both_calendars", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ["id_number", "nationality", "sex"]}),
        (
            _("Name in Arabic"),
            {"fields": [("first_name_ar", "father_name_ar", "grandfather_name_ar", "family_name_ar")]},
        ),
        (
            _("Name in English"),
            {"fields": [("first_name_en", "father_name_en", "grandfather_name_en", "family_name_en")]},
        ),
        (
            _("Birth and death"),
            {
                "fields": [
                    ("date_of_birth", "date_of_birth_precision", "date_of_birth_calendar"),
                    "date_of_birth_both_calendars",
                    ("place_of_birth_ar", "place_of_birth_en"),
                    "date_of_death",
                ]
            },
        ),
        (_("Contact"), {"fields": ["mobile", "email"]}),
        (_("Photo and biometrics"), {"fields": ["photo_ref", "biometrics_captured_on"]}),
        (_("Record"), {"fields": ["created_at", "updated_at"]}),
    )

    @admin.display(description=_("name (Arabic)"), ordering="family_name_ar")
    def name_ar(self, person: Person) -> str:
        return person.full_name_ar

    @admin.display(description=_("name (English)"), ordering="family_name_en")
    def name_en(self, person: Person) -> str:
        return person.full_name_en

    @admin.display(description=_("date of birth"), ordering="date_of_birth")
    def date_of_birth_shown(self, person: Person) -> str:
        return format_dual(person.date_of_birth, precision=person.date_of_birth_precision)

    @admin.display(description=_("date of birth (Gregorian and Hijri)"))
    def date_of_birth_both_calendars(self, person: Person) -> str:
        return format_dual(person.date_of_birth, precision=person.date_of_birth_precision)

    @admin.display(description=_("alive"), boolean=True, ordering="date_of_death")
    def is_alive(self, person: Person) -> bool:
        return person.is_alive

    def get_readonly_fields(self, request: HttpRequest, obj: Person | None = None) -> list[str]:
        # An ID number is for life: a correction is a new register entry, never an edit.
        fields = list(super().get_readonly_fields(request, obj))
        return ["id_number", *fields] if obj is not None else fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Person], search_term: str
    ) -> tuple[QuerySet[Person], bool]:
        if not search_term.strip():
            return queryset, False
        try:
            found, _by_id_number = person_search_queryset(search_term, within=queryset)
        except ApplicationError:
            # An impossible ID number, punctuation only, a pasted page: nobody matches.
            return queryset.none(), False
        if request.GET.get(ORDER_VAR):
            # The changelist orders before it searches: a column chosen to sort by wins over
            # the best-match order the search sets.
            found = found.order_by(*queryset.query.order_by)
        return found, False

    def has_delete_permission(self, request: HttpRequest, obj: Person | None = None) -> bool:
        # The register keeps everyone; a death is recorded, not deleted.
        return False


# --- Documents -----------------------------------------------------------------------------------


# The role the audit trail gives a change made in the admin site (no office: the admin is central).
ADMIN_SITE_ROLE = "staff"


def _admin_actor(request: HttpRequest) -> Actor:
    """Who acts in the admin site: the signed-in staff account (the admin requires one)."""
    user_id = request.user.pk
    if user_id is None:
        raise PermissionDenied
    return Actor.staff(int(user_id), role=ADMIN_SITE_ROLE, office_code="", ip=request.META.get("REMOTE_ADDR"))


# Needs the change permission: a staff member who may only view documents cannot report losses.
@admin.action(description=_("Report the selected documents lost"), permissions=["change"])
def report_lost(
    modeladmin: admin.ModelAdmin[Document], request: HttpRequest, queryset: QuerySet[Document]
) -> None:
    reported = 0
    for document_id in queryset.values_list("pk", flat=True):
        try:
            document_mark_reported_lost(
                document_id=document_id,
                at=timezone.now(),
                actor=_admin_actor(request),
            )
        except ApplicationError as exc:
            modeladmin.message_user(request, str(exc.message), messages.WARNING)
        else:
            reported += 1
    if reported:
        modeladmin.message_user(
            request, _("Documents reported lost: %(count)d.") % {"count": reported}, messages.SUCCESS
        )


@admin.register(Document)
class DocumentAdmin(CheckedAutocompleteMixin, admin.ModelAdmin[Document]):
    list_display = (
        "serial_number",
        "kind",
        "holder_id_number",
        "version",
        "status",
        "issuing_office",
        "issue_date",
        "expiry_date",
    )
    list_select_related = ("holder", "issuing_office")
    list_filter = ("kind", "status", "issuing_office")
    search_fields = ("=serial_number", "=holder__id_number")
    search_help_text = _("A serial number or the holder's ID number (exact).")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    actions = (report_lost,)
    autocomplete_fields = ("issuing_office",)
    fields = (
        "serial_number",
        "kind",
        "holder_link",
        "family_record",
        "version",
        "status",
        "reported_lost_at",
        "issue_date",
        "expiry_date",
        "issuing_office",
        "replaces_link",
        "history",
        "created_at",
        "updated_at",
    )
    # Never editable here: what the document is, whose it is, and its place in the chain.
    always_read_only = (
        "serial_number",
        "kind",
        "holder_link",
        "family_record",
        "version",
        "status",
        "reported_lost_at",
        "replaces_link",
        "history",
        "created_at",
        "updated_at",
    )
    readonly_fields = always_read_only

    @admin.display(description=_("holder's ID number"), ordering="holder__id_number")
    def holder_id_number(self, document: Document) -> str:
        return document.holder.id_number

    @admin.display(description=_("holder"))
    def holder_link(self, document: Document) -> SafeString:
        return _admin_link(document.holder, document.holder)

    @admin.display(description=_("replaces"))
    def replaces_link(self, document: Document) -> SafeString | str:
        return _admin_link(document.replaces, document.replaces) if document.replaces else "—"

    @admin.display(description=_("history"))
    def history(self, document: Document) -> SafeString:
        rows = (
            (
                reverse("admin:registry_document_change", args=[version.pk]),
                version.version,
                version.serial_number,
                version.get_status_display(),
                version.issue_date,
                version.issuing_office,
                _("(this version)") if version.pk == document.pk else "",
            )
            for version in document_history(document)
        )
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                '<li><a href="{}">v{} {}</a> — {} — {} — {} {}</li>',
                rows,
            ),
        )

    def has_change_permission(self, request: HttpRequest, obj: Document | None = None) -> bool:
        # Reported lost, replaced, expired or cancelled: the record is closed, and its page is
        # view-only. Only the services change such a document.
        if obj is not None and obj.status != DocumentStatus.VALID:
            return False
        return super().has_change_permission(request, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Document]:
        return super().get_queryset(request).select_related("holder", "issuing_office", "replaces")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Document], search_term: str
    ) -> tuple[QuerySet[Document], bool]:
        term = normalise_number(search_term).upper()
        if not term:
            return queryset, False
        if _SERIAL.fullmatch(term):
            return queryset.filter(serial_number=term), False
        if _DIGITS_ONLY.fullmatch(term):
            return queryset.filter(holder__id_number=term), False
        return queryset.none(), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Documents are issued by the services (new serial, version chain), not typed in.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Document | None = None) -> bool:
        return False


# --- Family records ------------------------------------------------------------------------------


class FamilyMemberInlineFormSet(
    forms.BaseInlineFormSet[FamilyMember, FamilyRecord, forms.ModelForm[FamilyMember]]
):
    instance: FamilyRecord

    def clean(self) -> None:
        super().clean()
        head_id = self.instance.head_id if self.instance.head_id else None
        for form in self.forms:
            person = form.cleaned_data.get("person")
            if (
                head_id
                and person is not None
                and person.pk == head_id
                and not form.cleaned_data.get("DELETE")
            ):
                form.add_error("person", _("The head of the family is not listed again as a member."))


class FamilyMemberInline(CheckedAutocompleteMixin, admin.TabularInline[FamilyMember, FamilyRecord]):
    model = FamilyMember
    formset = FamilyMemberInlineFormSet
    extra = 0
    autocomplete_fields = ("person",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[FamilyMember]:
        return super().get_queryset(request).select_related("person")


@admin.register(FamilyRecord)
class FamilyRecordAdmin(CheckedAutocompleteMixin, NormalisingFormMixin, admin.ModelAdmin[FamilyRecord]):
    list_display = ("number", "head_id_number", "head", "member_count")
    list_select_related = ("head",)
    search_fields = ("=number", "=head__id_number")
    search_help_text = _("A family record number or the head's ID number (exact).")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    autocomplete_fields = ("head",)
    inlines = (FamilyMemberInline,)
    normalised_fields: ClassVar[Mapping[str, Callable[[str], str]]] = {"number": normalise_number}

    @admin.display(description=_("head's ID number"), ordering="head__id_number")
    def head_id_number(self, record: FamilyRecord) -> str:
        return record.head.id_number

    @admin.display(description=_("members"))
    def member_count(self, record: FamilyRecord) -> int:
        return getattr(record, "member_count", 0)

    def get_queryset(self, request: HttpRequest) -> QuerySet[FamilyRecord]:
        return super().get_queryset(request).annotate(member_count=Count("members"))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[FamilyRecord], search_term: str
    ) -> tuple[QuerySet[FamilyRecord], bool]:
        term = normalise_number(search_term)
        if not term:
            return queryset, False
        if _DIGITS_ONLY.fullmatch(term):
            return queryset.filter(models.Q(number=term) | models.Q(head__id_number=term)), False
        return queryset.none(), False


# --- National addresses, offices, services -------------------------------------------------------


@admin.register(NationalAddress)
class NationalAddressAdmin(CheckedAutocompleteMixin, NormalisingFormMixin, admin.ModelAdmin[NationalAddress]):
    list_display = (
        "short_address",
        "person_id_number",
        "city_ar",
        "city_en",
        "region",
        "postal_code",
        "is_primary",
    )
    list_select_related = ("person",)
    list_filter = ("region", "is_primary")
    search_fields = ("=short_address", "=postal_code", "=person__id_number")
    search_help_text = _("A short address, postal code or the person's ID number (exact).")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    autocomplete_fields = ("person",)
    normalised_fields: ClassVar[Mapping[str, Callable[[str], str]]] = ADDRESS_NORMALISERS

    @admin.display(description=_("ID number"), ordering="person__id_number")
    def person_id_number(self, address: NationalAddress) -> str:
        return address.person.id_number

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[NationalAddress], search_term: str
    ) -> tuple[QuerySet[NationalAddress], bool]:
        term = normalise_address_code(search_term)
        if not term:
            return queryset, False
        if len(term) == 10 and _DIGITS_ONLY.fullmatch(term):
            return queryset.filter(person__id_number=term), False
        if len(term) == 5 and _DIGITS_ONLY.fullmatch(term):
            return queryset.filter(postal_code=term), False
        return queryset.filter(short_address=term), False


@admin.register(Office)
class OfficeAdmin(admin.ModelAdmin[Office]):
    list_display = ("code", "name_ar", "name_en", "region", "city_ar", "city_en", "opens_at", "closes_at")
    list_filter = ("region", "services")
    search_fields = ("code", "name_ar", "name_en", "city_ar", "city_en")
    filter_horizontal = ("services",)


@admin.register(CivilService)
class CivilServiceAdmin(admin.ModelAdmin[CivilService]):
    list_display = ("code", "name_ar", "name_en")
    search_fields = ("code", "name_ar", "name_en")


@admin.register(CivilFine)
class CivilFineAdmin(CheckedAutocompleteMixin, admin.ModelAdmin[CivilFine]):
    """Fines are recorded by the office that issues them; an unpaid fine blocks a replacement."""

    list_display = ("person_id_number", "amount_sar", "reason_ar", "reason_en", "issued_on", "paid_at")
    list_filter = (("paid_at", admin.EmptyFieldListFilter),)
    list_select_related = ("person",)
    autocomplete_fields = ("person",)
    search_fields = ("=person__id_number",)
    search_help_text = _("The person's ID number (exact).")
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    @admin.display(description=_("ID number"), ordering="person__id_number")
    def person_id_number(self, fine: CivilFine) -> str:
        return fine.person.id_number

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[CivilFine], search_term: str
    ) -> tuple[QuerySet[CivilFine], bool]:
        term = normalise_id_number(search_term)
        if not term:
            return queryset, False
        return queryset.filter(person__id_number=term), False
