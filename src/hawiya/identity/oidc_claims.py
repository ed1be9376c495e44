"""What a relying party learns about a citizen: the pairwise subject, the claims of each scope,
and how the citizen signed in (acr/amr). The oidc app's validator only calls these.

Pairwise subject (OpenID Connect Core §8.1): `sub` is
    base64url(HMAC-SHA256(party.pairwise_salt, f"{account id}")), no padding.
The salt is the party's own 256-bit random secret, kept in the database and never shown. `sub` is
stable for one party for as long as the party exists (no server-wide key takes part, so rotating
SECRET_KEY or any other key leaves every party's users where they were) and different across
parties, so two parties cannot correlate a citizen by `sub`; nor can a party recover the account
id from it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from hawiya.core import calendars

from .models import Method, RelyingParty, User

# The scopes Hawiya knows, in the order the consent screen lists them.
SCOPES: tuple[str, ...] = ("openid", "profile", "national_id", "birthdate", "phone", "address")

# Scopes of a party's own server, not of a citizen: asked for with the client credentials grant
# (no citizen, no consent, no `openid`), never on the consent screen and never with a sign-in.
DOCUMENT_STATUS_SCOPE = "document_status"
# App approval by number matching (the approvals app).
APPROVALS_SCOPE = "approvals"
PARTY_SCOPES: tuple[str, ...] = (DOCUMENT_STATUS_SCOPE, APPROVALS_SCOPE)

# Which scope releases which claim (the validator's oidc_claim_scope).
CLAIM_SCOPE: dict[str, str] = {
    "sub": "openid",
    "name": "profile",
    "given_name": "profile",
    "family_name": "profile",
    "name#ar": "profile",
    "given_name#ar": "profile",
    "family_name#ar": "profile",
    "name#en": "profile",
    "given_name#en": "profile",
    "family_name#en": "profile",
    "national_id": "national_id",
    "birthdate": "birthdate",
    "birthdate_hijri": "birthdate",
    "phone_number": "phone",
    "phone_number_verified": "phone",
    "address": "address",
}

# Authentication context classes (acr), weakest first. A sign-in satisfies its own class and every
# weaker one. A citizen's sign-in is a password and a second factor (2fa), or a passkey (phr:
# phishing-resistant, NIST SP 800-63B-4 §3.2.5: the key is bound to Hawiya's origin and the device
# verified the person); a session without a recorded second factor counts as a password only (pwd).
ACR_ONE_FACTOR = "urn:hawiya:acr:pwd"
ACR_TWO_FACTOR = "urn:hawiya:acr:2fa"
ACR_PHISHING_RESISTANT = "urn:hawiya:acr:phr"
ACRS: tuple[str, ...] = (ACR_ONE_FACTOR, ACR_TWO_FACTOR, ACR_PHISHING_RESISTANT)
# The strongest class a sign-in on Hawiya's pages can reach (with a passkey).
ACR_SIGN_IN_REACHES = ACR_PHISHING_RESISTANT
# The strongest a sign-in reaches for someone without a passkey.
ACR_WITHOUT_PASSKEY = ACR_TWO_FACTOR
_AMR: dict[str, list[str]] = {
    Method.SMS: ["pwd", "sms"],
    Method.TOTP: ["pwd", "otp"],
    # A recovery code is a one-time password as well (RFC 8176 has no closer value).
    Method.RECOVERY: ["pwd", "otp"],
    # RFC 8176: "hwk", proof of possession of a hardware-secured key (platform authenticators and
    # security keys keep the private key in secure hardware; "swk" would undersell them, and the
    # class, not this value, is what a party should rely on), and "user", the device's user
    # verification (fingerprint, face or PIN). No "pwd": no password was used.
    Method.PASSKEY: ["hwk", "user"],
}


def party_scopes_of(party: RelyingParty) -> list[str]:
    """The party-only scopes `party` was allowed (what a client credentials token may carry)."""
    return [scope for scope in PARTY_SCOPES if scope in party.allowed_scopes]


def pairwise_subject(user: User, party: RelyingParty) -> str:
    """The `sub` of `user` as `party` sees it (see the module's docstring)."""
    digest = hmac.new(party.pairwise_salt.encode(), str(user.pk).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def amr_for_method(method: str) -> list[str]:
    """The `amr` values of a sign-in whose second factor was `method` (sms, totp, recovery)."""
    return list(_AMR.get(method, ["pwd"]))


def acr_for_method(method: str) -> str:
    """The class a sign-in whose second factor was `method` achieved ("" for none recorded)."""
    if method == Method.PASSKEY:
        return ACR_PHISHING_RESISTANT
    return ACR_TWO_FACTOR if method in _AMR else ACR_ONE_FACTOR


@dataclass(frozen=True)
class AcrRequest:
    """What a party asked about the authentication context: `values` in its order of preference
    (unknown ones included), and whether they are essential (only through the claims parameter)."""

    values: tuple[str, ...] = ()
    essential: bool = False


@dataclass(frozen=True)
class AcrVerdict:
    """How to answer an AcrRequest given the session's sign-in.

    `acr` is what the ID token says, or None when the request cannot be met now (an essential
    request not met). `sign_in_again`: a new sign-in would meet a request the session does not.
    """

    acr: str | None
    sign_in_again: bool = False


def acr_request(*, acr_values: str | None, claims: object) -> AcrRequest:
    """The acr request of an authorization request (OpenID Connect Core §3.1.2.1, §5.5.1.1).

    `acr_values` (space-separated) is a voluntary request. The claims parameter's
    `{"id_token": {"acr": {"essential": ..., "value" | "values": ...}}}` is essential when it says
    so; when it names values it is the one followed (Core leaves both at once unspecified), and
    without values it asks for nothing the ID token does not already carry.
    """
    member = _id_token_member(claims).get("acr")
    if isinstance(member, dict):
        values = member.get("values")
        value = member.get("value")
        named = [item for item in values if isinstance(item, str)] if isinstance(values, list) else []
        if isinstance(value, str):
            named.insert(0, value)
        if named:
            return AcrRequest(values=tuple(named), essential=member.get("essential") is True)
    return AcrRequest(values=tuple((acr_values or "").split()))


def requested_subject(claims: object) -> str | None:
    """The `sub` the claims parameter asks the ID token to be about (Core §5.5.1), or None."""
    member = _id_token_member(claims).get("sub")
    value = member.get("value") if isinstance(member, dict) else None
    return value if isinstance(value, str) else None


def _id_token_member(claims: object) -> dict[str, Any]:
    if isinstance(claims, str):
        try:
            claims = json.loads(claims)
        except ValueError:
            return {}
    member = claims.get("id_token") if isinstance(claims, dict) else None
    return member if isinstance(member, dict) else {}


def acr_verdict(asked: AcrRequest, achieved: str, reachable: str = ACR_SIGN_IN_REACHES) -> AcrVerdict:
    """The acr to report for a session whose sign-in achieved `achieved`, or what to do instead.

    Values Hawiya does not know are ignored, unless every value of an essential request is unknown
    (it cannot be met). Of the requested classes the sign-in satisfies, the strongest is reported.
    When it satisfies none: if a new sign-in would reach one (`reachable`: the strongest class a
    new sign-in of this person can reach), ask for it; otherwise a voluntary request gets the
    session's own class and an essential one is not met.
    """
    known = [value for value in asked.values if value in ACRS]
    if not known:
        return AcrVerdict(acr=None if asked.essential and asked.values else achieved)
    rank = ACRS.index(achieved)
    satisfied = [value for value in known if ACRS.index(value) <= rank]
    if satisfied:
        return AcrVerdict(acr=max(satisfied, key=ACRS.index))
    fallback = None if asked.essential else achieved
    again = any(ACRS.index(value) <= ACRS.index(reachable) for value in known)
    return AcrVerdict(acr=fallback, sign_in_again=again)


def _name(first: str, family: str) -> str:
    return " ".join(part for part in (first, family) if part)


def claims_for(user: User, scopes: list[str] | set[str]) -> dict[str, Any]:
    """The claims of `scopes` about `user`'s person in the civil register (no `sub`).

    Staff accounts have no person: they get no claims. A claim the register leaves empty (no
    mobile number, no National Address) is left out rather than sent empty.
    """
    person = user.person
    if person is None:
        return {}
    claims: dict[str, Any] = {}
    if "profile" in scopes:
        full_ar, full_en = person.full_name_ar, person.full_name_en
        claims.update(
            {
                "name": full_ar,
                "given_name": person.first_name_ar,
                "family_name": person.family_name_ar,
                "name#ar": full_ar,
                "given_name#ar": person.first_name_ar,
                "family_name#ar": person.family_name_ar,
                "name#en": full_en or _name(person.first_name_en, person.family_name_en),
                "given_name#en": person.first_name_en,
                "family_name#en": person.family_name_en,
            }
        )
    if "national_id" in scopes:
        claims["national_id"] = person.id_number
    if "birthdate" in scopes:
        claims["birthdate"] = person.date_of_birth.isoformat()
        hijri = calendars.to_hijri(person.date_of_birth)
        if hijri is not None:
            claims["birthdate_hijri"] = f"{hijri.year:04d}-{hijri.month:02d}-{hijri.day:02d}"
    if "phone" in scopes and person.mobile:
        claims["phone_number"] = person.mobile
        claims["phone_number_verified"] = True
    if "address" in scopes:
        address = person.national_addresses.filter(is_primary=True).first()
        if address is not None:
            street = " ".join(part for part in (address.building_number, address.street_ar) if part)
            claims["address"] = {
                "formatted": f"{street}، {address.district_ar}، {address.city_ar} {address.postal_code}",
                "street_address": street,
                "locality": address.city_ar,
                "region": address.region,
                "postal_code": address.postal_code,
                "country": "SA",
                "short_address": address.short_address,
                "additional_number": address.additional_number,
                "district#ar": address.district_ar,
                "district#en": address.district_en,
                "street_address#en": " ".join(
                    part for part in (address.building_number, address.street_en) if part
                ),
                "locality#en": address.city_en,
            }
    return claims
