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

from ..models import RedeemedCode


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def application_by_client_id(client_id: str) -> Application | None:
    return Application.objects.filter(client_id=client_id).first()


def code_redeemed(*, code: str, application: Application, access_token: str) -> None:
    """Remember that `code` was exchanged for `access_token` (the token's clear value)."""
    token = AccessToken.objects.filter(token_checksum=_sha256(access_token)).first()
    RedeemedCode.objects.get_or_create(
        code_hash=_sha256(code), defaults={"application": application, "access_token": token}
    )


def code_replayed(*, code: str, application: Application) -> bool:
    """`code` was presented again: revoke what its first exchange gave. False if it never was."""
    redeemed = RedeemedCode.objects.filter(code_hash=_sha256(code), application=application).first()
    if redeemed is None:
        return False
    with transaction.atomic():
        token = redeemed.access_token
        if token is not None:
            refresh = RefreshToken.objects.filter(access_token=token).first()
            if refresh is not None and refresh.token_family:
                RefreshToken.revoke_family(refresh.token_family)
            elif refresh is not None:
                refresh.revoke()
            AccessToken.objects.filter(pk=token.pk).delete()
    return True
