"""The scopes a relying party may be allowed, and what each one shares, in plain words.

One vocabulary for every page that names them: the administrators' party pages and the
citizen's Connected services (docs/design.md §5: a vocabulary both interfaces show lives in its
domain app). The claims behind each scope are the oidc app's.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .oidc_claims import PARTY_SCOPES, SCOPES

__all__ = ["ASSIGNABLE_SCOPES", "SCOPES", "SCOPE_WORDS", "scope_words"]

# What an administrator may allow a party: the citizen's scopes, then the party-only ones.
ASSIGNABLE_SCOPES: tuple[str, ...] = SCOPES + PARTY_SCOPES

SCOPE_WORDS: dict[str, Promise] = {
    "openid": _("That you signed in with Hawiya (an identifier for you that only this service sees)"),
    "profile": _("Your name in Arabic and in English"),
    "national_id": _("Your national ID or Iqama number"),
    "birthdate": _("Your date of birth (Gregorian and Hijri)"),
    "phone": _("Your mobile number"),
    "address": _("Your National Address"),
    # Party-only: shown to administrators, never to a citizen asked for consent.
    "document_status": _("Check whether a document is valid, lost, replaced, expired or cancelled"),
    "approvals": _("Ask a person to approve a sign-in or a transaction in Hawiya by matching a number"),
}


def scope_words(scopes: tuple[str, ...] | list[str]) -> list[str]:
    """What these scopes share, in the active language, in the order of ASSIGNABLE_SCOPES."""
    return [str(SCOPE_WORDS[scope]) for scope in ASSIGNABLE_SCOPES if scope in scopes]
