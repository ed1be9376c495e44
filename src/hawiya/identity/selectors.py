"""Reads of the identity app for the account pages. Each takes the account that asks."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Max
from oauth2_provider.models import AccessToken

from hawiya.core import clock
from hawiya.core.text import mask_mobile
from hawiya.notifications.selectors import SmsStatus, sms_status_for_holder
from hawiya.registry.models import NationalAddress, Person

from . import errors
from .models import (
    AuthenticatorApp,
    Consent,
    Language,
    Method,
    MethodLock,
    OneTimeCode,
    Passkey,
    Purpose,
    RecoveryCode,
    RelyingParty,
    SecurityEvent,
    StaffMembership,
    StaffRole,
    StaffRolePolicy,
    User,
    UserSession,
)

MAX_EVENTS = 200


def security_events_for_user(*, user: User, limit: int = 50) -> list[SecurityEvent]:
    """The holder's security history, newest first (at most `limit`, capped at 200)."""
    limit = max(1, min(limit, MAX_EVENTS))
    return list(SecurityEvent.objects.filter(user=user).order_by("-occurred_at", "-id")[:limit])


def user_sessions_for_user(*, user: User) -> list[UserSession]:
    """The holder's signed-in sessions, most recently used first."""
    return list(UserSession.objects.filter(user=user).order_by("-last_seen_at", "-id"))


@dataclass(frozen=True)
class SignInMethods:
    """What the security page shows about the holder's second factors."""

    masked_mobile: str
    sms_locked: bool
    authenticator_active: bool
    authenticator_pending: bool
    totp_locked: bool
    recovery_codes_left: int


def sign_in_methods_for_user(*, user: User) -> SignInMethods:
    """The holder's sign-in methods and their state."""
    locked = set(MethodLock.objects.filter(user=user).values_list("method", flat=True))
    app = AuthenticatorApp.objects.filter(user=user).only("confirmed_at").first()
    mobile = user.person.mobile if user.person is not None else ""
    return SignInMethods(
        masked_mobile=mask_mobile(mobile) if mobile else "",
        sms_locked=Method.SMS in locked,
        authenticator_active=app is not None and app.confirmed_at is not None,
        authenticator_pending=app is not None and app.confirmed_at is None,
        totp_locked=Method.TOTP in locked,
        recovery_codes_left=RecoveryCode.objects.filter(user=user, used_at__isnull=True).count(),
    )


def one_time_code_delivery_status(*, challenge: str) -> SmsStatus | None:
    """The delivery status of the latest code sent for a sign-in or reauthentication challenge
    ("Sent at 10:42"); None when nothing was sent, the challenge is over, or the journey is an
    activation or password reset (whose pages must not differ between matching and not)."""
    row = (
        OneTimeCode.objects.filter(
            challenge=challenge or "-",
            purpose__in=[Purpose.SIGN_IN, Purpose.REAUTHENTICATION],
            used_at__isnull=True,
            expires_at__gt=clock.now(),
        )
        .select_related("sms")
        .first()
    )
    if row is None or row.sms is None:
        return None
    return sms_status_for_holder(reference=row.sms.reference)


def sign_in_challenge_is_staff(*, challenge: str) -> bool:
    """True when the open sign-in `challenge` is a staff account's (an active account bound to no
    person, with a staff membership). The back-office sign-in refuses any other account with the
    wrong-credentials message, so it never tells a citizen's password was right."""
    return OneTimeCode.objects.filter(
        challenge=challenge or "-",
        purpose=Purpose.SIGN_IN,
        used_at__isnull=True,
        expires_at__gt=clock.now(),
        user__is_active=True,
        user__person__isnull=True,
        user__staff_membership__isnull=False,
    ).exists()


def activation_challenge_masked_mobile(*, challenge: str) -> str | None:
    """The masked mobile of an open activation `challenge` whose code went to a person of the
    register (a counter activation, continued on the person's phone), or None when the challenge
    is unknown, finished, expired or matched nobody — the page then says "start again" alike."""
    row = (
        OneTimeCode.objects.filter(
            challenge=challenge or "-",
            purpose=Purpose.ACTIVATION,
            person__isnull=False,
            verified_at__isnull=True,
            used_at__isnull=True,
            expires_at__gt=clock.now(),
        )
        .select_related("person")
        .first()
    )
    if row is None or row.person is None or not row.person.mobile:
        return None
    return mask_mobile(row.person.mobile)


# --- My account pages ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountProfile:
    """What the "My account" page shows from the register: the person and their primary National
    Address (None when none is registered)."""

    person: Person
    address: NationalAddress | None


def account_profile_for_user(*, user: User) -> AccountProfile | None:
    """The holder's register record and primary National Address; None for a staff account."""
    person = user.person
    if person is None:
        return None
    address = NationalAddress.objects.filter(person=person, is_primary=True).order_by("-id").first()
    return AccountProfile(person=person, address=address)


def parties_of_sign_ins(events: list[SecurityEvent]) -> dict[str, RelyingParty]:
    """The parties named by the party_sign_in events among `events`, by the event's detail."""
    ids = {
        int(event.detail)
        for event in events
        if event.kind == SecurityEvent.Kind.PARTY_SIGN_IN and event.detail.isdigit()
    }
    return {str(party.pk): party for party in RelyingParty.objects.filter(pk__in=ids)}


def security_event_for_user(*, user: User, event_id: int) -> SecurityEvent:
    """One event of the holder's history (for the "this wasn't me" confirmation page). Another
    account's event, a report itself, or none answers NotFound `security_event_not_found`."""
    event = (
        SecurityEvent.objects.filter(pk=event_id, user=user)
        .exclude(kind=SecurityEvent.Kind.REPORT_NOT_ME)
        .first()
    )
    if event is None:
        raise errors.error(errors.SECURITY_EVENT_NOT_FOUND)
    return event


def person_language(*, person: Person) -> str:
    """The language the person reads Hawiya in: their account's choice, Arabic without one."""
    language = User.objects.filter(person=person).values_list("preferred_language", flat=True).first()
    return language or Language.ARABIC.value


def relying_party_for_client(*, client_id: str) -> RelyingParty | None:
    """The party with this OAuth client id, unless it is suspended (None then, or when unknown)."""
    return (
        RelyingParty.objects.select_related("application")
        .filter(application__client_id=client_id, suspended_at__isnull=True)
        .first()
    )


# --- Relying parties and citizens' connections to them -------------------------------------------


def relying_parties_all() -> list[RelyingParty]:
    """Every relying party, for the administrators' list: active ones first, then by name."""
    return list(
        RelyingParty.objects.select_related("application").order_by(
            F("suspended_at").asc(nulls_first=True), "name_en", "id"
        )
    )


def relying_party_get(*, party_id: int) -> RelyingParty:
    """One relying party, or NotFound `party_not_found`."""
    party = RelyingParty.objects.select_related("application").filter(pk=party_id).first()
    if party is None:
        raise errors.error(errors.PARTY_NOT_FOUND)
    return party


def relying_party_logo(*, client_id: str) -> bytes | None:
    """The PNG logo an active party shows on its consent screen, or None (no such party, suspended,
    or no logo). Stored re-encoded as PNG when registered, so it is served as it is."""
    party = relying_party_for_client(client_id=client_id)
    if party is None or not party.logo:
        return None
    try:
        with party.logo.open("rb") as stored:
            return bytes(stored.read())
    except OSError:  # the row names a file the storage no longer has
        return None


def relying_party_by_client_id(*, client_id: str) -> RelyingParty:
    """The relying party of this client id, or NotFound `party_not_found`."""
    party = (
        RelyingParty.objects.select_related("application").filter(application__client_id=client_id).first()
    )
    if party is None:
        raise errors.error(errors.PARTY_NOT_FOUND)
    return party


@dataclass(frozen=True)
class Connection:
    """A party the holder agreed to share data with: what it may receive and when it last
    signed them in (the newest token it was given; None if it never finished a sign-in)."""

    party: RelyingParty
    scopes: tuple[str, ...]
    granted_at: dt.datetime
    last_signed_in_at: dt.datetime | None


def _latest(*moments: dt.datetime | None) -> dt.datetime | None:
    return max((moment for moment in moments if moment is not None), default=None)


def connections_for_user(*, user: User) -> list[Connection]:
    """The holder's live consents, most recently used first."""
    consents = list(
        Consent.objects.filter(user=user, revoked_at__isnull=True).select_related("party__application")
    )
    last = dict(
        AccessToken.objects.filter(
            user=user, application_id__in=[consent.party.application_id for consent in consents]
        )
        .values("application_id")
        .annotate(latest=Max("created"))
        .values_list("application_id", "latest")
    )
    # The tokens are pruned once dead (docs/design.md §9): each code exchange is also in the
    # account's security history (kept), so the date outlives the party's last token.
    signed_in = dict(
        SecurityEvent.objects.filter(
            user=user,
            kind=SecurityEvent.Kind.PARTY_SIGN_IN,
            detail__in=[str(consent.party_id) for consent in consents],
        )
        .values("detail")
        .annotate(latest=Max("occurred_at"))
        .values_list("detail", "latest")
    )
    connections = [
        Connection(
            party=consent.party,
            scopes=tuple(scope for scope in consent.scopes if isinstance(scope, str)),
            granted_at=consent.granted_at,
            last_signed_in_at=_latest(
                last.get(consent.party.application_id), signed_in.get(str(consent.party_id))
            ),
        )
        for consent in consents
    ]
    connections.sort(key=lambda item: item.last_signed_in_at or item.granted_at, reverse=True)
    return connections


def connection_for_user(*, user: User, party_id: int) -> Connection:
    """One of the holder's connections, or NotFound `connection_not_found` (somebody else's too)."""
    for connection in connections_for_user(user=user):
        if connection.party.pk == party_id:
            return connection
    raise errors.error(errors.CONNECTION_NOT_FOUND)


# --- A party's own access tokens (client credentials) ---------------------------------------------


@dataclass(frozen=True)
class PartyToken:
    """What a party's access token allows: its scopes, the party behind it and its client id."""

    party: RelyingParty
    client_id: str
    scopes: frozenset[str]


def party_token_for_bearer(*, token: str) -> PartyToken | None:
    """The party's access token whose value is `token`, or None when it is unknown, expired,
    revoked, or its party is suspended. One query: the token with its application and party.

    A token given for a citizen (the authorization code flow) carries no party-only scope:
    its scopes are answered empty here, whatever it holds."""
    if not token or len(token) > 255:
        return None
    # The checksum is unique: `[:1]` rather than `.first()`, which would add an ORDER BY.
    row = next(
        iter(
            AccessToken.objects.select_related("application__relying_party")
            .only(
                "expires",
                "scope",
                "user_id",
                "application__client_id",
                "application__relying_party__id",
                "application__relying_party__name_ar",
                "application__relying_party__name_en",
                "application__relying_party__allowed_scopes",
                "application__relying_party__suspended_at",
            )
            .filter(token_checksum=hashlib.sha256(token.encode()).hexdigest())[:1]
        ),
        None,
    )
    if row is None or row.application is None or row.is_expired():
        return None
    try:
        party: RelyingParty = row.application.relying_party
    except RelyingParty.DoesNotExist:
        return None
    if party.is_suspended:
        return None
    scopes = frozenset() if row.user_id is not None else frozenset(row.scope.split())
    return PartyToken(party=party, client_id=row.application.client_id, scopes=scopes)


def has_passkey(*, user: User) -> bool:
    """Whether the holder has a passkey (the reauthentication page then offers it)."""
    return Passkey.objects.filter(user=user).exists()


def sign_in_challenge_has_passkey(*, challenge: str) -> bool:
    """Whether the account of an open sign-in challenge has a passkey (the back-office code page
    then offers it instead of the authenticator app's code)."""
    return Passkey.objects.filter(
        user__one_time_codes__challenge=challenge or "-",
        user__one_time_codes__purpose=Purpose.SIGN_IN,
        user__one_time_codes__used_at__isnull=True,
    ).exists()


def roles_requiring_passkey() -> frozenset[str]:
    """The staff roles whose members, once they have a passkey, must sign in with it: those an
    administrator chose in the back-office (StaffRolePolicy), and those of the server's
    HAWIYA_STAFF_PASSKEY_ROLES, a floor the back-office cannot lift."""
    chosen = StaffRolePolicy.objects.filter(passkey_required=True).values_list("role", flat=True)
    return frozenset(chosen) | roles_requiring_passkey_by_settings()


def roles_requiring_passkey_by_settings() -> frozenset[str]:
    """The roles the server's configuration (HAWIYA_STAFF_PASSKEY_ROLES) requires a passkey of."""
    configured = getattr(settings, "HAWIYA_STAFF_PASSKEY_ROLES", ()) or ()
    return frozenset(str(role).strip() for role in configured if str(role).strip() in StaffRole.values)


def user_must_sign_in_with_passkey(*, user: User) -> bool:
    """Whether this account's staff role requires a passkey and it has one (one without a
    passkey still signs in with its code, so that it can add one)."""
    if user.person_id is not None:  # a citizen's account: never a staff member (staff.py)
        return False
    roles = roles_requiring_passkey()
    if not roles:
        return False
    return (
        StaffMembership.objects.filter(user=user, role__in=list(roles)).exists()
        and Passkey.objects.filter(user=user).exists()
    )


def sign_in_challenge_needs_passkey(
    *, challenge: str, roles: list[str] | tuple[str, ...] | None = None
) -> bool:
    """Whether a staff sign-in must finish with a passkey: the account's role is one of `roles`
    (by default roles_requiring_passkey()) and it has a passkey (one without a passkey still uses
    the app's code, so that it can sign in to add one)."""
    if roles is None:
        roles = tuple(roles_requiring_passkey())
    if not roles:
        return False
    return Passkey.objects.filter(
        user__one_time_codes__challenge=challenge or "-",
        user__one_time_codes__purpose=Purpose.SIGN_IN,
        user__one_time_codes__used_at__isnull=True,
        user__staff_membership__role__in=list(roles),
    ).exists()


@dataclass(frozen=True)
class StaffRolePolicyRow:
    """One staff role as the administrators' policy page shows it."""

    role: str
    label: str
    required_by_policy: bool
    required_by_settings: bool
    with_passkey: int
    without_passkey: int
    updated_at: dt.datetime | None

    @property
    def required(self) -> bool:
        return self.required_by_policy or self.required_by_settings


def staff_role_policies() -> list[StaffRolePolicyRow]:
    """Every staff role: whether it must sign in with a passkey (and why), and how many of its
    active members have a passkey or none."""
    policies = {policy.role: policy for policy in StaffRolePolicy.objects.all()}
    floor = roles_requiring_passkey_by_settings()
    rows = []
    for role in StaffRole:
        members = StaffMembership.objects.filter(role=role.value, user__is_active=True)
        with_passkey = members.filter(user__passkeys__isnull=False).values("user_id").distinct().count()
        policy = policies.get(role.value)
        rows.append(
            StaffRolePolicyRow(
                role=role.value,
                label=str(role.label),
                required_by_policy=bool(policy and policy.passkey_required),
                required_by_settings=role.value in floor,
                with_passkey=with_passkey,
                without_passkey=members.count() - with_passkey,
                updated_at=policy.updated_at if policy else None,
            )
        )
    return rows
