"""Authorization codes already exchanged: a second exchange revokes what the first gave.

RFC 6749 §4.1.2: if a code is used more than once, the server should revoke all tokens
previously issued from it. django-oauth-toolkit deletes the code when it is exchanged, so the
oidc validator records here which access token each exchanged code gave (only the code's SHA-256
is kept), and a replay revokes that token, its refresh token and the refresh tokens rotated from
it (the refresh-token family).
"""

from __future__ import annotations

import hashlib

from django.db import transaction
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core import clock

from ..models import RedeemedCode, RelyingParty, SecurityEvent


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def application_by_client_id(client_id: str) -> Application | None:
    """The application of `client_id` with its party, in one query (the token endpoint reads both)."""
    return Application.objects.select_related("relying_party").filter(client_id=client_id).first()


def grant_by_code(code: str) -> Grant | None:
    """The unexchanged authorization code `code` with its citizen and their person, in one query:
    the token endpoint reads the code half a dozen times and the person for the ID token's claims.
    The caller checks it belongs to the client that presents it."""
    return (
        Grant.objects.select_related("user__person")
        .only(
            *_GRANT_COLUMNS,
            "user__last_login",
            *(f"user__person__{column}" for column in _PERSON_CLAIM_COLUMNS),
        )
        .filter(code=code)
        .first()
    )


def access_token_by_value(token: str) -> AccessToken | None:
    """The access token whose clear value is `token`, with its party and its citizen's person, in
    one query: userinfo needs nothing else."""
    return (
        AccessToken.objects.select_related("application__relying_party", "user__person")
        .only(*_BEARER_COLUMNS)
        .filter(token_checksum=_sha256(token))
        .first()
    )


# What checking a bearer token and answering userinfo read (the toolkit's checks; the party's
# suspension and salt; the person's claims, oidc_claims.claims_for): a third of the columns of
# the five rows, and a third of the time of reading them all. Any other column is still there,
# at the cost of one more query when read.
_PERSON_CLAIM_COLUMNS = (
    "id_number",
    "first_name_ar",
    "father_name_ar",
    "grandfather_name_ar",
    "family_name_ar",
    "first_name_en",
    "father_name_en",
    "grandfather_name_en",
    "family_name_en",
    "date_of_birth",
    "mobile",
)
# The code's own columns, all of them; of its account only what the toolkit reads (last_login for
# a default auth_time), of the person only the claims.
_GRANT_COLUMNS = tuple(
    field.name for field in Grant._meta.concrete_fields if field.name not in ("id", "created", "updated")
)
_BEARER_COLUMNS = (
    "expires",
    "scope",
    "resource",
    "application__client_id",
    "application__relying_party__suspended_at",
    "application__relying_party__pairwise_salt",
    *(f"user__person__{column}" for column in _PERSON_CLAIM_COLUMNS),
)


def code_claim(*, code: str, application: Application) -> bool:
    """Delete the code as it is exchanged, inside the exchange's transaction; False when another
    exchange deleted it first (its transaction then rolls back, and nothing is issued twice)."""
    deleted, _ = Grant.objects.filter(code=code, application=application).delete()
    return deleted > 0


def code_redeemed(
    *, code: str, application: Application, access_token: AccessToken, party: RelyingParty | None
) -> None:
    """Remember that `code` was exchanged for `access_token`."""
    # The caller deleted the code in this transaction (code_claim), so no other exchange of it
    # can reach here: a plain insert.
    RedeemedCode.objects.create(code_hash=_sha256(code), application=application, access_token=access_token)
    if access_token.user_id is not None and party is not None:
        # A sign-in through the party, in the citizen's security history. The token request
        # comes from the party's server, so its address and browser say nothing about the citizen.
        SecurityEvent.objects.create(
            user_id=access_token.user_id,
            kind=SecurityEvent.Kind.PARTY_SIGN_IN,
            occurred_at=clock.now(),
            detail=str(party.pk),
        )


def code_replayed(*, code: str, application: Application) -> bool:
    """`code` was presented again: revoke what its first exchange gave. False if it never was."""
    redeemed = RedeemedCode.objects.filter(code_hash=_sha256(code), application=application).first()
    if redeemed is None:
        return False
    with transaction.atomic():
        token = redeemed.access_token
        audit_record(
            actor=Actor.relying_party(application.client_id),
            action="oidc.code_replayed",
            object_type="oauth2_provider.application",
            object_id=application.pk,
            detail={"redeemed_code": redeemed.pk, "revoked": token is not None},
        )
        if token is not None:
            refresh = RefreshToken.objects.filter(access_token=token).first()
            if refresh is not None and refresh.token_family:
                RefreshToken.revoke_family(refresh.token_family)
            elif refresh is not None:
                refresh.revoke()
            AccessToken.objects.filter(pk=token.pk).delete()
    return True


def token_event_record(*, client_id: str, action: str, user_id: int | None, detail: dict[str, str]) -> None:
    """Audit a token the provider issued or revoked for a party (`oidc.token_issued`,
    `oidc.token_revoked`, `oidc.code_replayed`); the party is the actor, the account the object."""
    with transaction.atomic():
        audit_record(
            actor=Actor.relying_party(client_id),
            action=action,
            object_type="identity.user",
            object_id=user_id if user_id is not None else "-",
            detail=detail,
        )
