"""Name parts are checked for the script they are meant to be in."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from hawiya.registry.names import validate_arabic_name, validate_latin_name

pytestmark = pytest.mark.usefixtures("english")


@pytest.mark.parametrize("name", ["محمد", "عبد الله", "آل سعود", "مُحَمَّد", "پرویز", "العتيبي"])
def test_arabic_names_in_arabic_script_pass(name: str) -> None:
    validate_arabic_name(name)


@pytest.mark.parametrize("name", ["", " ", "Mohammed", "محمد2", "محمد!", "-"])
def test_arabic_name_fields_refuse_other_scripts_and_digits(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_arabic_name(name)
    assert caught.value.messages == ["Write this name in Arabic letters."]


@pytest.mark.parametrize("name", ["Mohammed", "Al-Otaibi", "O'Neil", "José", "Jose\u0301", "Abdul Rahman"])
def test_latin_names_pass(name: str) -> None:
    validate_latin_name(name)


@pytest.mark.parametrize("name", ["", "محمد", "John3", "J@ne"])
def test_latin_name_fields_refuse_other_scripts_and_digits(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_latin_name(name)
    assert caught.value.messages == ["Write this name in English (Latin) letters."]
