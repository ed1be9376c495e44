"""Passkeys (WebAuthn Level 3, with py_webauthn): add, rename and remove them; sign in with one
alone; confirm it is you with one before a sensitive change.

What is verified, and why (docs/design.md, "Passkeys"):
- the challenge: made here, single use (one conditional UPDATE consumes it) and short-lived
  (CHALLENGE_LIFETIME), bound to its purpose and, except at sign-in, to the account;
- the origin in clientDataJSON (settings.HAWIYA_WEBAUTHN_ORIGINS) and the RP ID hash in the
  authenticator data (settings.HAWIYA_WEBAUTHN_RP_ID): what makes a passkey unphishable;
- user presence and user verification (UV): the device checked the fingerprint, face or PIN, so
  the passkey is two factors in one (something you have, something you are or know);
- the signature over authenticatorData || SHA-256(clientDataJSON) with the stored public key;
- the signature counter: one that does not go up (when either value is non-zero) means the key
  may have been copied: refused, written to the activity history and the holder told.
Attestation is "none": Hawiya does not restrict which authenticators citizens use.

Failed sign-ins count against the IP and the account like wrong passwords and codes (throttles).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.errors import ApplicationError
from hawiya.core.retention import Batches, delete_in_batches
from hawiya.notifications.services import notify

from .. import errors, throttles
from ..models import Method, OneTimeCode, Passkey, PasskeyChallenge, Purpose, User
from ._common import (
    Event,
    _check_account_open,
    _event,
    _language,
    _mobile_of,
    _record_failure,
    sign_in_counted,
    sms_subject_ref,
)
from .sign_in import _available_methods

ChallengePurpose = PasskeyChallenge.Purpose
# Long enough to find the phone and touch the sensor; the browser's own timeout is the same.
CHALLENGE_LIFETIME = dt.timedelta(minutes=5)
NAME_MAX = 60
# A credential JSON larger than this is not an authenticator's (attestation "none" is small).
CREDENTIAL_MAX = 64 * 1024
# ES256 and RS256 (COSE -7, -257): what platform authenticators and security keys make.
_ALGORITHMS = [-7, -257]
_TRANSPORTS = {item.value for item in AuthenticatorTransport}


@dataclass(frozen=True)
class PasskeyOptions:
    """What the page hands the browser: `options_json` for navigator.credentials.create() or
    .get(), and `challenge` (base64url) for the page's session, to be passed back."""

    options_json: str
    challenge: str


def rp_id() -> str:
    return str(settings.HAWIYA_WEBAUTHN_RP_ID)


def expected_origins() -> list[str]:
    return [str(origin).rstrip("/") for origin in settings.HAWIYA_WEBAUTHN_ORIGINS]


def _hash(challenge: str) -> str:
    return hashlib.sha256(challenge.encode()).hexdigest()


def passkey_challenges_prune(
    *, now: dt.datetime, kept_for: dt.timedelta | None = None, batches: Batches | None = None
) -> int:
    """Delete passkey challenges that expired more than `kept_for` ago (HAWIYA_RETENTION_EXPIRED_HOURS);
    returns how many. New challenges sweep the old ones too (_new_challenge); this catches the rows
    left when none come."""
    kept = (
        kept_for if kept_for is not None else dt.timedelta(hours=int(settings.HAWIYA_RETENTION_EXPIRED_HOURS))
    )
    return delete_in_batches(PasskeyChallenge.objects.filter(expires_at__lt=now - kept), batches=batches)


def _new_challenge(purpose: str, user: User | None, now: dt.datetime) -> bytes:
    value = secrets.token_bytes(32)
    with transaction.atomic():
        # Old rows are swept as new ones come (at most a few minutes' worth stay).
        PasskeyChallenge.objects.filter(expires_at__lt=now - dt.timedelta(hours=1)).delete()
        PasskeyChallenge.objects.create(
            challenge_hash=_hash(bytes_to_base64url(value)),
            purpose=purpose,
            user=user,
            created_at=now,
            expires_at=now + CHALLENGE_LIFETIME,
        )
    return value


def _consume_challenge(challenge: str, purpose: str, user: User | None, now: dt.datetime) -> bytes:
    """Use the challenge once: True for exactly one caller, whatever runs in parallel."""
    if not isinstance(challenge, str) or not challenge or len(challenge) > 100:
        raise errors.error(errors.CHALLENGE_EXPIRED)
    used = PasskeyChallenge.objects.filter(
        challenge_hash=_hash(challenge),
        purpose=purpose,
        user=user,
        used_at__isnull=True,
        expires_at__gt=now,
    ).update(used_at=now)
    if used != 1:
        raise errors.error(errors.CHALLENGE_EXPIRED)
    try:
        return base64url_to_bytes(challenge)
    except ValueError as exc:  # cannot happen for a stored challenge; fail closed all the same
        raise errors.error(errors.CHALLENGE_EXPIRED) from exc


def _credential_dict(credential: object) -> dict[str, Any]:
    """The browser's PublicKeyCredential JSON as a dict, or `passkey_invalid` (never a 500)."""
    if isinstance(credential, str):
        if len(credential) > CREDENTIAL_MAX:
            raise errors.error(errors.PASSKEY_INVALID)
        try:
            credential = json.loads(credential)
        except ValueError as exc:
            raise errors.error(errors.PASSKEY_INVALID) from exc
    if not isinstance(credential, dict) or not isinstance(credential.get("id"), str):
        raise errors.error(errors.PASSKEY_INVALID)
    return credential


def passkey_name_clean(name: object) -> str:
    """The name the holder gave ("my phone"), trimmed; `passkey_name_invalid` if empty or long."""
    value = " ".join(name.split()) if isinstance(name, str) else ""
    if not value or len(value) > NAME_MAX or any(ord(char) < 32 for char in value):
        raise errors.error(errors.PASSKEY_NAME_INVALID, field="name")
    return value


def _user_handle(user: User) -> str:
    """The account's WebAuthn user id: the one its passkeys already carry, else a keyed hash of
    the account id (opaque, and the same between the options and the answer)."""
    existing = Passkey.objects.filter(user=user).values_list("user_handle", flat=True).first()
    if existing:
        return existing
    key = hmac.new(settings.SECRET_KEY.encode(), f"webauthn-user:{user.pk}".encode(), hashlib.sha256)
    return bytes_to_base64url(key.digest())


def _descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(item.credential_id),
            transports=[AuthenticatorTransport(value) for value in item.transports if value in _TRANSPORTS],
        )
        for item in passkeys
    ]


# --- Add, rename, remove -------------------------------------------------------------------------


def passkey_registration_options(*, user: User) -> PasskeyOptions:
    """Options for navigator.credentials.create(): user verification required, a discoverable
    credential preferred, attestation "none", the account's passkeys excluded (no duplicate).
    The page must require a recent authentication."""
    now = clock.now()
    challenge = _new_challenge(ChallengePurpose.REGISTRATION, user, now)
    options = generate_registration_options(
        rp_id=rp_id(),
        rp_name="Hawiya هوية",
        user_id=base64url_to_bytes(_user_handle(user)),
        # What the device shows in its passkey list: the username the holder chose, never a name
        # or an ID number.
        user_name=user.username,
        user_display_name=user.username,
        challenge=challenge,
        timeout=int(CHALLENGE_LIFETIME.total_seconds() * 1000),
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(list(Passkey.objects.filter(user=user))),
        supported_pub_key_algs=_ALGORITHMS,  # type: ignore[arg-type]
    )
    return PasskeyOptions(options_json=options_to_json(options), challenge=bytes_to_base64url(challenge))


def passkey_register(
    *, actor: Actor, user: User, challenge: str, credential: object, name: object, ip: str, user_agent: str
) -> Passkey:
    """Check the browser's answer to passkey_registration_options and keep the passkey.

    Raises `passkey_name_invalid`, `challenge_expired` (unknown, used, expired or another
    account's challenge), `passkey_invalid` (wrong origin or RP ID, user not verified, malformed),
    `passkey_already_added`.
    """
    clean_name = passkey_name_clean(name)
    now = clock.now()
    data = _credential_dict(credential)
    with transaction.atomic():
        expected = _consume_challenge(challenge, ChallengePurpose.REGISTRATION, user, now)
    try:
        verified = verify_registration_response(
            credential=data,
            expected_challenge=expected,
            expected_rp_id=rp_id(),
            expected_origin=expected_origins(),
            require_user_verification=True,
            supported_pub_key_algs=_ALGORITHMS,  # type: ignore[arg-type]
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise errors.error(errors.PASSKEY_INVALID) from exc
    response = data.get("response")
    transports = response.get("transports") if isinstance(response, dict) else None
    try:
        with transaction.atomic():
            passkey = Passkey.objects.create(
                user=user,
                credential_id=bytes_to_base64url(verified.credential_id),
                user_handle=_user_handle(user),
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=[item for item in transports or [] if item in _TRANSPORTS][:8],
                name=clean_name,
                aaguid=str(verified.aaguid)[:36],
                backup_eligible=verified.credential_device_type == "multi_device",
                backed_up=verified.credential_backed_up,
                created_at=now,
            )
            _event(user, Event.FACTOR_ADDED, ip=ip, user_agent=user_agent, now=now, detail=Method.PASSKEY)
            audit_record(
                actor=actor, action="passkey.added", object_type="identity.passkey", object_id=passkey.pk
            )
    except IntegrityError as exc:
        raise errors.error(errors.PASSKEY_ALREADY_ADDED) from exc
    return passkey


def _own_passkey_for_update(user: User, passkey_id: int) -> Passkey:
    passkey = Passkey.objects.select_for_update().filter(pk=passkey_id, user=user).first()
    if passkey is None:
        raise errors.error(errors.PASSKEY_NOT_FOUND)
    return passkey


def passkey_rename(*, actor: Actor, user: User, passkey_id: int, name: object) -> Passkey:
    """Rename one of the holder's passkeys. Raises `passkey_not_found` (another's, or none),
    `passkey_name_invalid`."""
    clean_name = passkey_name_clean(name)
    with transaction.atomic():
        passkey = _own_passkey_for_update(user, passkey_id)
        passkey.name = clean_name
        passkey.save(update_fields=["name"])
        audit_record(
            actor=actor, action="passkey.renamed", object_type="identity.passkey", object_id=passkey.pk
        )
    return passkey


def passkey_remove(*, actor: Actor, user: User, passkey_id: int, ip: str, user_agent: str) -> None:
    """Remove one of the holder's passkeys; never the last way left to sign in (no other passkey
    and no second factor usable after the password). Raises `passkey_not_found`,
    `passkey_last_factor`. The page must require a recent authentication."""
    now = clock.now()
    with transaction.atomic():
        # The account row is locked so that two removals cannot each see the other passkey left.
        User.objects.select_for_update().filter(pk=user.pk).first()
        passkey = _own_passkey_for_update(user, passkey_id)
        others = Passkey.objects.filter(user=user).exclude(pk=passkey.pk).exists()
        if not others and not _available_methods(user):
            raise errors.error(errors.PASSKEY_LAST_FACTOR)
        audit_record(
            actor=actor, action="passkey.removed", object_type="identity.passkey", object_id=passkey.pk
        )
        passkey.delete()
        _event(user, Event.FACTOR_REMOVED, ip=ip, user_agent=user_agent, now=now, detail=Method.PASSKEY)


# --- Sign in, confirm it is you ------------------------------------------------------------------


def passkey_authentication_options(*, user: User | None, ip: str) -> PasskeyOptions:
    """Options for navigator.credentials.get(). At sign-in (`user` None) no credential is named:
    the browser offers the passkeys it holds for this site (discoverable credentials, also in the
    username field's autofill). To confirm it is you, the account's passkeys are named. Counted as
    a start for the IP (`ip_throttled`)."""
    throttles.ip_check(ip)
    throttles.ip_check(ip, throttles.IP_STARTS)
    if user is None:
        # Only an anonymous sign-in start costs a place: a signed-in holder is already known.
        throttles.ip_record(ip, throttles.IP_STARTS)
    now = clock.now()
    purpose = ChallengePurpose.SIGN_IN if user is None else ChallengePurpose.REAUTHENTICATION
    challenge = _new_challenge(purpose, user, now)
    allow = _descriptors(list(Passkey.objects.filter(user=user))) if user is not None else []
    options = generate_authentication_options(
        rp_id=rp_id(),
        challenge=challenge,
        timeout=int(CHALLENGE_LIFETIME.total_seconds() * 1000),
        allow_credentials=allow,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return PasskeyOptions(options_json=options_to_json(options), challenge=bytes_to_base64url(challenge))


def _refuse_counter(passkey: Passkey, *, received: int, ip: str, user_agent: str, now: dt.datetime) -> None:
    """Flag a counter that went backwards: the activity history, and the holder told (notification
    centre, and a text message when they have a number)."""
    user = passkey.user
    _event(user, Event.PASSKEY_COUNTER, ip=ip, user_agent=user_agent, now=now, detail=Method.PASSKEY)
    if user.person_id is not None:
        notify(
            person_id=user.person_id,
            mobile=_mobile_of(user),
            language=_language(user),
            template="passkey_counter",
            context={"name": passkey.name},
            subject_ref=sms_subject_ref(user, None),
        )


def _authenticate(
    *, challenge: str, credential: object, purpose: str, user: User | None, ip: str, user_agent: str
) -> tuple[User, dt.datetime]:
    throttles.ip_check(ip)
    data = _credential_dict(credential)
    now = clock.now()
    with transaction.atomic():
        expected = _consume_challenge(challenge, purpose, user, now)
    failure: ApplicationError
    with transaction.atomic():
        passkey = (
            Passkey.objects.select_for_update(of=("self",))
            .select_related("user", "user__person")
            .filter(credential_id=data["id"][:1400])
            .first()
        )
        if passkey is None or (user is not None and passkey.user_id != user.pk):
            # A removed passkey, another account's, or made up: counted for the IP only.
            _record_failure(user=None, ip=ip, user_agent=user_agent, now=now, detail=Method.PASSKEY)
            failure = errors.error(errors.PASSKEY_NOT_RECOGNISED)
        else:
            account = passkey.user
            if not account.is_active:
                raise errors.error(errors.PASSKEY_NOT_RECOGNISED)
            _check_account_open(account, now)
            problem = _check_assertion(data, passkey, expected)
            if problem is None:
                received = _received_count(data)
                if (received or passkey.sign_count) and received <= passkey.sign_count:
                    _record_failure(
                        user=account, ip=ip, user_agent=user_agent, now=now, detail=Method.PASSKEY
                    )
                    _refuse_counter(passkey, received=received, ip=ip, user_agent=user_agent, now=now)
                    failure = errors.error(errors.PASSKEY_COUNTER)
                else:
                    passkey.sign_count = received
                    passkey.last_used_at = now
                    passkey.backed_up = _backed_up(data)
                    passkey.save(update_fields=["sign_count", "last_used_at", "backed_up"])
                    throttles.guard_reset(user_id=account.pk)
                    if purpose == ChallengePurpose.SIGN_IN:
                        _event(
                            account,
                            Event.SIGN_IN,
                            ip=ip,
                            user_agent=user_agent,
                            now=now,
                            detail=Method.PASSKEY,
                        )
                    return account, now
            else:
                count = _record_failure(
                    user=account, ip=ip, user_agent=user_agent, now=now, detail=Method.PASSKEY
                )
                failure = (
                    errors.account_locked(count.locked_until)
                    if count is not None and count.locked_until is not None and count.is_locked(now)
                    else errors.error(problem)
                )
    # Raised after the transaction committed: the failure stays counted.
    raise failure


def _check_assertion(data: dict[str, Any], passkey: Passkey, expected: bytes) -> str | None:
    """None when the assertion is good (origin, RP ID, UV, signature), else an error code. The
    counter is checked by the caller (the library's own check cannot tell a copy from junk)."""
    response = data.get("response")
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if handle and handle != passkey.user_handle:
        return errors.PASSKEY_INVALID
    try:
        verify_authentication_response(
            credential=data,
            expected_challenge=expected,
            expected_rp_id=rp_id(),
            expected_origin=expected_origins(),
            credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError):
        return errors.PASSKEY_INVALID
    return None


def _authenticator_data(data: dict[str, Any]) -> bytes:
    response = data["response"]
    return base64url_to_bytes(response["authenticatorData"])


def _received_count(data: dict[str, Any]) -> int:
    # Bytes 33-36 of the authenticator data (already parsed and verified by the library).
    return int.from_bytes(_authenticator_data(data)[33:37], "big")


def _backed_up(data: dict[str, Any]) -> bool:
    return bool(_authenticator_data(data)[32] & 0x10)


def passkey_sign_in(*, challenge: str, credential: object, ip: str, user_agent: str) -> User:
    """Sign in with a passkey alone (no password, no code: it is two factors in one). Returns the
    account; the page then calls identity.signin.session_sign_in with method "passkey".

    Raises `challenge_expired` (unknown, used or expired), `passkey_invalid` (wrong origin or RP
    ID, user not verified, bad signature, malformed), `passkey_not_recognised` (removed or
    unknown), `passkey_counter`, `account_locked`, `account_blocked`, `ip_throttled`. Failures
    are counted like wrong passwords; success resets the account's count."""
    with sign_in_counted(final=True):
        account, _now = _authenticate(
            challenge=challenge,
            credential=credential,
            purpose=ChallengePurpose.SIGN_IN,
            user=None,
            ip=ip,
            user_agent=user_agent,
        )
    return account


def passkey_reauthenticate(
    *, user: User, challenge: str, credential: object, ip: str, user_agent: str
) -> dt.datetime:
    """Confirm it is you with one of your own passkeys, instead of password and code, before a
    sensitive change; returns the time to store as the last authentication. Errors as
    passkey_sign_in (another account's passkey is `passkey_not_recognised`)."""
    _account, now = _authenticate(
        challenge=challenge,
        credential=credential,
        purpose=ChallengePurpose.REAUTHENTICATION,
        user=user,
        ip=ip,
        user_agent=user_agent,
    )
    return now


# --- A passkey as the second factor after a password (staff) ---------------------------------------


def _password_step_account(challenge: str, now: dt.datetime) -> User:
    """The account whose password opened this sign-in challenge (OneTimeCode, purpose sign_in)."""
    row = (
        OneTimeCode.objects.filter(challenge=challenge or "-", purpose=Purpose.SIGN_IN, used_at__isnull=True)
        .select_related("user")
        .first()
    )
    if row is None or row.user is None or row.expires_at <= now or not row.user.is_active:
        raise errors.error(errors.CHALLENGE_EXPIRED)
    return row.user


def passkey_second_factor_options(*, challenge: str, ip: str) -> PasskeyOptions:
    """After a right password: options naming that account's passkeys, for the passkey to stand
    in for the authenticator app's code (the back-office offers it to staff)."""
    account = _password_step_account(challenge, clock.now())
    return passkey_authentication_options(user=account, ip=ip)


def passkey_second_factor(
    *, challenge: str, passkey_challenge: str, credential: object, ip: str, user_agent: str
) -> User:
    """The second step of a password sign-in with a passkey: the sign-in challenge is used up and
    the account returned, as `sign_in_verify` does for a code. Errors as passkey_sign_in."""
    with sign_in_counted(final=True):
        now = clock.now()
        account = _password_step_account(challenge, now)
        _authenticate(
            challenge=passkey_challenge,
            credential=credential,
            purpose=ChallengePurpose.REAUTHENTICATION,
            user=account,
            ip=ip,
            user_agent=user_agent,
        )
        with transaction.atomic():
            used = OneTimeCode.objects.filter(
                challenge=challenge, purpose=Purpose.SIGN_IN, used_at__isnull=True, expires_at__gt=now
            ).update(verified_at=now, used_at=now)
            if used != 1:
                raise errors.error(errors.CHALLENGE_EXPIRED)
            _event(account, Event.SIGN_IN, ip=ip, user_agent=user_agent, now=now, detail=Method.PASSKEY)
    return account


def passkeys_of(*, user: User) -> list[Passkey]:
    """The holder's passkeys, oldest first (a read, here beside the writes for the pages)."""
    return list(Passkey.objects.filter(user=user))
