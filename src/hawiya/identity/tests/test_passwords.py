"""Password rules: length 8-128, anything goes, but not common and not about the holder."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from hawiya.identity.models import User
from hawiya.identity.passwords import PASSWORD_VALIDATORS, name_parts, validate_new_password

from .factories import make_citizen, person_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def account() -> User:
    person = make_citizen(
        first_name_ar="عبدالرحمن",
        family_name_ar="العتيبي",
        first_name_en="Abdulrahman",
        family_name_en="Alotaibi",
    )
    return User(username="falcon.77", person=person)


def _codes(password: str, user: User | None) -> list[str]:
    try:
        validate_new_password(password, user)
    except ValidationError as exc:
        return [str(error.code) for error in exc.error_list]
    return []


@pytest.mark.parametrize(("length", "accepted"), [(7, False), (8, True), (128, True), (129, False)])
def test_length(length: int, accepted: bool, account: User) -> None:
    password = ("qzvjkw " * 30)[:length]
    assert (_codes(password, account) == []) is accepted


@pytest.mark.parametrize(
    "password",
    [
        "كلمة سر طويلة جدا",
        "مرور٢٠٢٤ ورد وياسمين",
        "tree 🌳 river 🌊 stone",
        "   spaces   count   ",
        "Ünïcödé paßwörd",
    ],
)
def test_any_characters_are_accepted(password: str, account: User) -> None:
    assert _codes(password, account) == []


@pytest.mark.parametrize("password", ["password", "Password1", "12345678", "qwertyuiop", "iloveyou"])
def test_common_passwords_are_refused(password: str, account: User) -> None:
    assert "password_too_common" in _codes(password, account)


@pytest.mark.parametrize("template", ["{}", "my id {}!", "x-{}-y"])
def test_the_id_number_is_refused(template: str, account: User) -> None:
    assert "password_contains_id_number" in _codes(template.format(person_of(account).id_number), account)


def test_the_id_number_in_eastern_digits_is_refused(account: User) -> None:
    eastern = "".join(chr(ord("٠") + int(digit)) for digit in person_of(account).id_number)
    assert "password_contains_id_number" in _codes("رقمي " + eastern, account)


def test_the_username_is_refused(account: User) -> None:
    assert "password_contains_username" in _codes("The FALCON.77 flies", account)


@pytest.mark.parametrize(
    "password",
    [
        "abdulrahman2024!",
        "ALOTAIBI family rocks",
        "otaibi-forever-88",
        "عبدالرحمن١٢٣٤٥",
        "عتيبي للأبد 99",
        "saad and sons",  # the grandfather's name (the register factory's default)
    ],
)
def test_names_are_refused(password: str, account: User) -> None:
    assert "password_contains_name" in _codes(password, account)


def test_arabic_letter_variants_are_folded(account: User) -> None:
    person_of(account).first_name_ar = "أسامة"
    assert "password_contains_name" in _codes("اسامه والقمر 2024", account)


def test_short_name_parts_are_not_refused() -> None:
    assert name_parts("Al Bo", "Li") == set()
    assert name_parts("العتيبي") == {"العتيبي", "عتيبي"}


def test_staff_without_a_person_get_the_username_check_only() -> None:
    staff = User(username="officer.one")
    assert _codes("blue sky over riyadh", staff) == []
    assert "password_contains_username" in _codes("officer.one rules", staff)


def test_every_rule_broken_is_reported(account: User) -> None:
    codes = _codes("falcon.77", account)
    assert "password_contains_username" in codes


def test_the_validators_are_importable_for_settings() -> None:
    from django.contrib.auth.password_validation import get_password_validators

    assert len(get_password_validators(PASSWORD_VALIDATORS)) == 3


def test_messages_are_clear(account: User, english) -> None:
    with pytest.raises(ValidationError) as failure:
        validate_new_password("short", account)
    assert failure.value.messages == ["Your password must be at least 8 characters long."]
