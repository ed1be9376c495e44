"""Every error code has a clear message, in Arabic too."""

from __future__ import annotations

import pytest
from django.utils import translation

from hawiya.identity import errors


@pytest.mark.parametrize("code", sorted(errors.MESSAGES))
def test_every_error_has_an_arabic_message(code: str) -> None:
    with translation.override("en"):
        english = str(errors.error(code).message)
    with translation.override("ar"):
        arabic = str(errors.error(code).message)
    assert english
    assert arabic != english


def test_messages_with_numbers_follow_the_language_when_shown() -> None:
    failure = errors.resend_too_soon(5)
    with translation.override("ar"):
        assert str(failure.message) == "يمكن طلب رمز جديد بعد 5 ثوانٍ."
    with translation.override("en"):
        assert str(failure.message) == "You can ask for a new code in 5 seconds."
    assert failure.extra["seconds"] == 5


def test_not_found_errors_are_not_found() -> None:
    assert errors.error(errors.SESSION_NOT_FOUND).status_code == 404
