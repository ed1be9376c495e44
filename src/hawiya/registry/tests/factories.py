"""Simple factory functions for the register's tests: data goes in through the services.

Each function takes keyword overrides for anything a test cares about and fills the rest with
plausible values; numbers (ID numbers, office codes) come from one counter, so they never clash.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
from decimal import Decimal
from typing import Any

from django.utils import timezone
from PIL import Image, ImageDraw

from hawiya.audit.actors import Actor
from hawiya.registry.id_numbers import CITIZEN_PREFIX, RESIDENT_PREFIX, check_digit
from hawiya.registry.models import (
    Document,
    DocumentKind,
    FamilyMember,
    FamilyRecord,
    NationalAddress,
    Office,
    Person,
    Relation,
)
from hawiya.registry.regions import Region
from hawiya.registry.services import (
    document_issue,
    document_mark_reported_lost,
    national_address_set,
    person_create,
)

_counter = itertools.count(1)


def portrait_photo(width: int = 480, height: int = 640, image_format: str = "JPEG") -> bytes:
    """A photo the biometrics quality check accepts, as a camera would give it: a light background,
    a face and shoulders (not one flat colour, neither too dark nor too bright)."""
    image = Image.new("RGB", (width, height), (236, 236, 232))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.3, height * 0.15, width * 0.7, height * 0.6), fill=(190, 150, 120))
    draw.rectangle((width * 0.15, height * 0.68, width * 0.85, height), fill=(70, 70, 80))
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def next_id_number(*, resident: bool = False) -> str:
    """A valid, never-before-used ID number (citizen by default)."""
    first_nine = (RESIDENT_PREFIX if resident else CITIZEN_PREFIX) + f"{next(_counter):08d}"
    return first_nine + check_digit(first_nine)


def make_office(**overrides: Any) -> Office:
    """A Riyadh office open Sunday to Thursday. Offices are reference data: no service writes them."""
    number = next(_counter)
    values: dict[str, Any] = {
        "code": f"office-{number}",
        "name_ar": f"مكتب الأحوال المدنية {number}",
        "name_en": f"Civil Affairs Office {number}",
        "region": Region.RIYADH,
        "city_ar": "الرياض",
        "city_en": "Riyadh",
        "address_ar": "طريق الملك فهد",
        "address_en": "King Fahd Road",
        "latitude": Decimal("24.71355"),
        "longitude": Decimal("46.67530"),
    }
    values.update(overrides)
    office = Office(**values)
    office.full_clean()
    office.save()
    return office


def make_person(**overrides: Any) -> Person:
    """A living citizen with a four-part name in both languages, through `person_create`."""
    values: dict[str, Any] = {
        "id_number": next_id_number(),
        "first_name_ar": "محمد",
        "father_name_ar": "عبدالله",
        "grandfather_name_ar": "سعد",
        "family_name_ar": "العتيبي",
        "first_name_en": "Mohammed",
        "father_name_en": "Abdullah",
        "grandfather_name_en": "Saad",
        "family_name_en": "Alotaibi",
        "sex": "M",
        "date_of_birth": dt.date(1990, 5, 1),
        "place_of_birth_ar": "الرياض",
        "place_of_birth_en": "Riyadh",
        "mobile": "0501234567",
        "actor": Actor.system("tests"),
    }
    values.update(overrides)
    return person_create(**values)


def make_resident(**overrides: Any) -> Person:
    """A living resident (ID number starting with 2) of Egyptian nationality."""
    values: dict[str, Any] = {
        "id_number": next_id_number(resident=True),
        "first_name_ar": "أحمد",
        "father_name_ar": "",
        "grandfather_name_ar": "",
        "family_name_ar": "حسن",
        "first_name_en": "Ahmed",
        "father_name_en": "",
        "grandfather_name_en": "",
        "family_name_en": "Hassan",
        "nationality": "EG",
        "place_of_birth_ar": "القاهرة",
        "place_of_birth_en": "Cairo",
        "date_of_birth": dt.date(1985, 3, 15),
    }
    values.update(overrides)
    return make_person(**values)


_UNSET: Any = object()


def make_document(
    *,
    holder: Person | None = None,
    kind: str = DocumentKind.NATIONAL_ID_CARD,
    office: Office | None = None,
    issue_date: dt.date = dt.date(2020, 1, 5),
    expiry_date: dt.date | None = _UNSET,
    family_record: FamilyRecord | None = None,
) -> Document:
    """A valid version-1 document through `document_issue` (a new holder and office by default).
    ID cards expire ten years after issue unless told otherwise; certificates do not expire."""
    if expiry_date is _UNSET:
        expiry_date = (
            issue_date.replace(year=issue_date.year + 10) if kind == DocumentKind.NATIONAL_ID_CARD else None
        )
    return document_issue(
        holder=holder or make_person(),
        kind=kind,
        issuing_office=office or make_office(),
        issue_date=issue_date,
        expiry_date=expiry_date,
        family_record=family_record,
    )


def make_lost_document(**overrides: Any) -> Document:
    """A document that was valid and has been reported lost."""
    document = make_document(**overrides)
    return document_mark_reported_lost(
        actor=Actor.system("tests"), document_id=document.pk, at=timezone.now()
    )


def make_address(person: Person | None = None, **overrides: Any) -> NationalAddress:
    """A Riyadh national address (postal code 1…, short address digits = building number)."""
    values: dict[str, Any] = {
        "building_number": "2929",
        "street_ar": "شارع التخصصي",
        "street_en": "Al Takhassusi Street",
        "district_ar": "المعذر",
        "district_en": "Al Maather",
        "city_ar": "الرياض",
        "city_en": "Riyadh",
        "region": Region.RIYADH,
        "postal_code": "12345",
        "additional_number": "8538",
        "short_address": "RRRD2929",
        "actor": Actor.system("tests"),
    }
    values.update(overrides)
    return national_address_set(person=person or make_person(), **values)


def make_family_record(
    *, head: Person | None = None, members: list[tuple[Person, str]] | None = None, number: str | None = None
) -> FamilyRecord:
    """A family record headed by `head` with (person, relation) members. No service writes family
    records yet, so this validates each row with `full_clean` as a service would."""
    record = FamilyRecord(number=number or f"{next(_counter):010d}", head=head or make_person())
    record.full_clean()
    record.save()
    for person, relation in members or [
        (make_person(sex="F", first_name_en="Sara", first_name_ar="سارة"), Relation.SPOUSE)
    ]:
        member = FamilyMember(family_record=record, person=person, relation=relation)
        member.full_clean()
        member.save()
    return record
