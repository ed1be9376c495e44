"""Every message of the register reaches the person in Arabic as well as in English."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hawiya.audit.actors import Actor
from hawiya.core.errors import ApplicationError
from hawiya.registry.addresses import (
    validate_additional_number,
    validate_building_number,
    validate_postal_code,
    validate_postal_code_in_region,
    validate_short_address,
    validate_short_address_matches_building,
)
from hawiya.registry.id_numbers import validate_family_record_number, validate_id_number
from hawiya.registry.models import DocumentKind, DocumentStatus, Person
from hawiya.registry.names import validate_arabic_name, validate_latin_name
from hawiya.registry.phones import normalise_mobile, validate_mobile
from hawiya.registry.regions import Region
from hawiya.registry.services import document_mark_reported_lost

from .factories import make_lost_document, make_person

ARABIC_LETTERS = re.compile(r"[\u0621-\u064A]")
LATIN_WORD = re.compile(r"\b[a-z]{4,}\b")  # an untranslated English word left in the message


def _messages(call: Callable[[], Any], language: str) -> list[str]:
    # Messages are lazy: they are rendered (and so translated) when read, inside the override.
    with translation.override(language):
        with pytest.raises(ValidationError) as caught:
            call()
        return caught.value.messages


def test_a_validation_message_comes_out_in_arabic() -> None:
    with translation.override("ar"):
        with pytest.raises(ValidationError) as caught:
            validate_id_number("1058529941")
        assert caught.value.messages == ["رقم الهوية غير صحيح: تحقق من الأرقام وحاول مرة أخرى."]


def test_arabic_messages_keep_their_numbers_and_region_names() -> None:
    assert _messages(lambda: validate_id_number("12345"), "ar") == [
        "يجب أن يتكون رقم الهوية من 10 أرقام، وعدد ما أدخلته 5."
    ]
    assert _messages(lambda: validate_postal_code_in_region("21234", Region.EASTERN), "ar") == [
        "تبدأ الرموز البريدية في المنطقة الشرقية بالرقم 3؛ تحقق من الرمز البريدي."
    ]


BAD_INPUTS: list[tuple[str, Callable[[], Any]]] = [
    ("id required", lambda: validate_id_number("")),
    ("id digits", lambda: validate_id_number("12ab")),
    ("id length", lambda: validate_id_number("123")),
    ("id prefix", lambda: validate_id_number("3058529940")),
    ("id checksum", lambda: validate_id_number("1058529941")),
    ("family record number", lambda: validate_family_record_number("12")),
    ("mobile required", lambda: normalise_mobile("")),
    ("mobile invalid", lambda: normalise_mobile("05012")),
    ("mobile foreign", lambda: normalise_mobile("+447911123456")),
    ("mobile landline", lambda: normalise_mobile("0112345678")),
    ("mobile not e164", lambda: validate_mobile("0501234567")),
    ("building", lambda: validate_building_number("12")),
    ("additional", lambda: validate_additional_number("12")),
    ("postal", lambda: validate_postal_code("12")),
    ("postal zero", lambda: validate_postal_code("01234")),
    ("postal region", lambda: validate_postal_code_in_region("21234", Region.RIYADH)),
    ("region unknown", lambda: validate_postal_code_in_region("12345", "atlantis")),
    ("short address", lambda: validate_short_address("x")),
    ("short address building", lambda: validate_short_address_matches_building("RRRD2929", "1234")),
    ("arabic name", lambda: validate_arabic_name("Ali")),
    ("latin name", lambda: validate_latin_name("علي")),
]


@pytest.mark.parametrize(("case", "call"), BAD_INPUTS, ids=[case for case, _ in BAD_INPUTS])
def test_every_validator_message_is_bilingual(case: str, call: Callable[[], Any]) -> None:
    english, arabic = _messages(call, "en"), _messages(call, "ar")
    assert english != arabic, case
    assert all(ARABIC_LETTERS.search(message) for message in arabic), arabic
    assert not any(LATIN_WORD.search(message) for message in arabic), arabic


def test_choices_are_translated() -> None:
    with translation.override("ar"):
        assert str(DocumentStatus.REPORTED_LOST.label) == "مُبلَّغ عن فقدانها"
        assert str(DocumentKind.NATIONAL_ID_CARD.label) == "بطاقة الهوية الوطنية"
        assert str(Person._meta.get_field("id_number").verbose_name) == "رقم الهوية الوطنية / رقم الإقامة"
    with translation.override("en"):
        assert str(DocumentStatus.REPORTED_LOST.label) == "Reported lost"


@pytest.mark.django_db
def test_service_errors_come_out_in_the_active_language() -> None:
    lost = make_lost_document()
    for language, expected in [
        ("ar", "لا يُبلَّغ عن فقدان وثيقة إلا إذا كانت سارية، وحالة هذه الوثيقة: مُبلَّغ عن فقدانها."),
        ("en", "Only a valid document can be reported lost; this one is Reported lost."),
    ]:
        with translation.override(language), pytest.raises(ApplicationError) as caught:
            document_mark_reported_lost(
                actor=Actor.system("tests"),
                document_id=lost.pk,
                at=lost.reported_lost_at,  # type: ignore[arg-type]
            )
        assert str(caught.value) == expected


@pytest.mark.django_db
def test_model_field_errors_come_out_in_arabic() -> None:
    with translation.override("ar"), pytest.raises(ApplicationError) as caught:
        make_person(first_name_ar="Mohammed")
    # The service renders field messages when it raises, in the language active then.
    assert caught.value.extra["errors"]["first_name_ar"] == ["اكتب هذا الاسم بالحروف العربية."]


@pytest.mark.django_db
def test_the_admin_speaks_each_language(client: Client, django_user_model: Any) -> None:
    client.force_login(
        django_user_model.objects.create_superuser("officer", "o@example.sa", "a long passphrase 1")
    )
    make_person()
    for language, title, status in [
        ("ar", "الأفراد", "على قيد الحياة"),
        ("en", "Persons", "alive or deceased"),
    ]:
        with translation.override(language):
            url = reverse("admin:registry_person_changelist")
        content = client.get(url, secure=True).content.decode()
        assert title in content, language
        assert status in content, language
