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
from oauth2_provider.models import AccessToken, Application, RefreshToken

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core import clock

from ..models import RedeemedCode, RelyingParty, SecurityEvent


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def application_by_client_id(client_id: str) -> Application | None:
    return Application.objects.filter(client_id=client_id).first()


def code_redeemed(*, code: str, application: Application, access_token: str) -> None:
    """Remember that `code` was exchanged for `access_token` (the token's clear value)."""
    token = AccessToken.objects.filter(token_checksum=_sha256(access_token)).first()
    _redeemed, created = RedeemedCode.objects.get_or_create(
        code_hash=_sha256(code), defaults={"application": application, "access_token": token}
    )
    party = RelyingParty.objects.filter(application=application).only("pk").first()
    if created and token is not None and token.user_id is not None and party is not None:
        # A sign-in through the party, in the citizen's security history. The token request
        # comes from the party's server, so its address and browser say nothing about the citizen.
        SecurityEvent.objects.create(
            user_id=token.user_id,
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
