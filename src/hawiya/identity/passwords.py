"""Password rules (NIST SP 800-63B), as Django password validators.

Deliberately no composition rules ("one capital, one symbol") and no expiry: length, any
characters (Unicode, spaces, emoji; each code point counts once), a blocklist of common passwords
(Django's bundled list of about 20,000), and no password built on what an attacker knows about
the holder: their ID number, their username or their names in Arabic or English.

The services always apply `PASSWORD_VALIDATORS`; settings.AUTH_PASSWORD_VALIDATORS should list the
same, so the admin and `manage.py changepassword` agree with the pages.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from hawiya.core.digits import western_digits
from hawiya.registry.models import Person

MIN_LENGTH = 8
MAX_LENGTH = 128
MIN_NAME_PART = 3

PASSWORD_VALIDATORS: list[dict[str, Any]] = [
    {
        "NAME": "hawiya.identity.passwords.LengthValidator",
        "OPTIONS": {"min_length": MIN_LENGTH, "max_length": MAX_LENGTH},
    },
    {"NAME": "hawiya.identity.passwords.CommonPasswordValidator"},
    {"NAME": "hawiya.identity.passwords.PersonalInformationValidator"},
]

# Arabic letters people write interchangeably: hamza forms of alif, taa marbuta, alif maqsura.
_ARABIC_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ؤ": "و", "ئ": "ي"})
_TATWEEL = "\u0640"
_NAME_SPLIT = re.compile(r"[\s\-'’.]+")
_ARTICLES = ("ال", "al")


def fold(text: str) -> str:
    """A form for comparing: NFKC, case-folded, Western digits, no Arabic diacritics or tatweel,
    hamza and taa-marbuta variants folded."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = western_digits(text).replace(_TATWEEL, "")
    text = "".join(char for char in unicodedata.normalize("NFD", text) if unicodedata.category(char) != "Mn")
    return unicodedata.normalize("NFC", text).translate(_ARABIC_FOLD)


def name_parts(*names: str) -> set[str]:
    """Every part of the names that is at least 3 letters, folded; also without a leading
    "al"/"ال" (العتيبي → عتيبي, Alotaibi → otaibi), which people drop when they write them."""
    parts: set[str] = set()
    for name in names:
        for part in _NAME_SPLIT.split(fold(name or "")):
            candidates = {part}
            candidates.update(part[len(article) :] for article in _ARTICLES if part.startswith(article))
            parts.update(candidate for candidate in candidates if len(candidate) >= MIN_NAME_PART)
    return parts


class LengthValidator:
    """At least `min_length` and at most `max_length` characters (code points, after NFC)."""

    def __init__(self, min_length: int = MIN_LENGTH, max_length: int = MAX_LENGTH) -> None:
        self.min_length = min_length
        self.max_length = max_length

    def validate(self, password: str, user: Any = None) -> None:
        length = len(unicodedata.normalize("NFC", password))
        if length < self.min_length:
            raise ValidationError(
                ngettext(
                    "Your password must be at least %(min_length)d character long.",
                    "Your password must be at least %(min_length)d characters long.",
                    self.min_length,
                ),
                code="password_too_short",
                params={"min_length": self.min_length},
            )
        if length > self.max_length:
            raise ValidationError(
                ngettext(
                    "Your password must be %(max_length)d character or fewer.",
                    "Your password must be %(max_length)d characters or fewer.",
                    self.max_length,
                ),
                code="password_too_long",
                params={"max_length": self.max_length},
            )

    def get_help_text(self) -> str:
        return str(
            _(
                "Use at least %(min_length)d characters. Any letters, digits, spaces or symbols work; "
                "a few unrelated words make a strong password."
            )
            % {"min_length": self.min_length}
        )


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    return frozenset(password_validation.CommonPasswordValidator().passwords)


class CommonPasswordValidator:
    """Not one of Django's bundled list of common passwords (compared case-insensitively)."""

    def validate(self, password: str, user: Any = None) -> None:
        candidate = unicodedata.normalize("NFKC", password).strip().lower()
        if candidate in _common_passwords() or western_digits(candidate) in _common_passwords():
            raise ValidationError(
                _("This password is too common and easy to guess. Choose a different one."),
                code="password_too_common",
            )

    def get_help_text(self) -> str:
        return str(_("Do not use a common password that others could guess."))


class PersonalInformationValidator:
    """Not containing the holder's ID number, username, or any part (3+ letters) of their names.

    `user` is the account (saved or not) whose `person` and `username` are read; for staff there
    is no person and only the username is checked.
    """

    def validate(self, password: str, user: Any = None) -> None:
        if user is None:
            return
        folded = fold(password)
        compact = re.sub(r"[\s\-_.]", "", folded)
        person = getattr(user, "person", None)
        id_number = getattr(person, "id_number", "") if person is not None else ""
        if id_number and id_number in compact:
            raise ValidationError(
                _("Your password must not contain your ID number."), code="password_contains_id_number"
            )
        username = fold(getattr(user, "username", "") or "")
        if len(username) >= MIN_NAME_PART and username in folded:
            raise ValidationError(
                _("Your password must not contain your username."), code="password_contains_username"
            )
        if person is not None:
            names = [getattr(person, field, "") for field in Person.NAME_FIELDS]
            if any(part in folded or part in compact for part in name_parts(*names)):
                raise ValidationError(
                    _("Your password must not contain your name or part of it."),
                    code="password_contains_name",
                )

    def get_help_text(self) -> str:
        return str(_("Do not use your name, username or ID number in your password."))


@lru_cache(maxsize=1)
def password_validators() -> list[Any]:
    """The validators Hawiya's services apply (the same as PASSWORD_VALIDATORS)."""
    return password_validation.get_password_validators(PASSWORD_VALIDATORS)


def validate_new_password(password: str, user: Any) -> None:
    """Raise ValidationError listing every rule `password` breaks for `user`."""
    password_validation.validate_password(password, user, password_validators=password_validators())
