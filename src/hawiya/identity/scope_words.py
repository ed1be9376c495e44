"""The scopes a relying party may be allowed, and what each one shares, in plain words.

One vocabulary for every page that names them: the administrators' party pages and the
citizen's Connected services (docs/design.md §5: a vocabulary both interfaces show lives in its
domain app). The claims behind each scope are the oidc app's.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .oidc_claims import SCOPES

__all__ = ["SCOPES", "SCOPE_WORDS", "scope_words"]

SCOPE_WORDS: dict[str, Promise] = {
    "openid": _("That you signed in with Hawiya (an identifier for you that only this service sees)"),
    "profile": _("Your name in Arabic and in English"),
    "national_id": _("Your national ID or Iqama number"),
    "birthdate": _("Your date of birth (Gregorian and Hijri)"),
    "phone": _("Your mobile number"),
    "address": _("Your National Address"),
}


def scope_words(scopes: tuple[str, ...] | list[str]) -> list[str]:
    """What these scopes share, in the active language, in the order of SCOPES."""
    return [str(SCOPE_WORDS[scope]) for scope in SCOPES if scope in scopes]
