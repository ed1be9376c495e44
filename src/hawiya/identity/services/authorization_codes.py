"""Authorization codes already exchanged: a second exchange revokes what the first gave.

RFC 6749 §4.1.2: if a code is used more than once, the server should revoke all tokens
previously issued from it. django-oauth-toolkit deletes the code when it is exchanged, so the
oidc validator records here which access token each exchanged code gave (only the code's SHA-256
is kept), and a replay revokes that token, its refresh token and the refresh tokens rotated from
it (the refresh-token family).

The retention prune (docs/design.md §9) deletes here what only grows: the exchanged codes once a
replay could do nothing with them (redeemed_codes_prune), and the toolkit's expired codes and
tokens, in bounded batches (oauth_tokens_prune).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from oauth2_provider.models import (
    AccessToken,
    Application,
    Grant,
    IDToken,
    RefreshToken,
    refresh_token_expire_timedelta,
)
from oauth2_provider.settings import oauth2_settings

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core import clock
from hawiya.core.retention import Batches, delete_in_batches

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
    *,
    code: str,
    application: Application,
    access_token: AccessToken,
    party: RelyingParty | None,
    token_family: uuid.UUID | None = None,
) -> None:
    """Remember that `code` was exchanged for `access_token` and the refresh-token family
    `token_family` (None when no refresh token was issued)."""
    # The caller deleted the code in this transaction (code_claim), so no other exchange of it
    # can reach here: a plain insert.
    RedeemedCode.objects.create(
        code_hash=_sha256(code), application=application, access_token=access_token, token_family=token_family
    )
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
        family = redeemed.token_family
        refresh = None
        if family is None and token is not None:
            # A row from before the family was kept: find it through the first access token.
            refresh = RefreshToken.objects.filter(access_token=token).first()
            family = refresh.token_family if refresh is not None else None
        audit_record(
            actor=Actor.relying_party(application.client_id),
            action="oidc.code_replayed",
            object_type="oauth2_provider.application",
            object_id=application.pk,
            detail={"redeemed_code": redeemed.pk, "revoked": token is not None or family is not None},
        )
        if family:
            # Every live refresh token of the family, and their access tokens: also those that
            # rotation gave after the first exchange's access token was replaced.
            RefreshToken.revoke_family(family)
        elif refresh is not None:
            refresh.revoke()
        if token is not None:
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


# --- Retention ----------------------------------------------------------------------------------


def _margin() -> dt.timedelta:
    return dt.timedelta(hours=int(settings.HAWIYA_RETENTION_EXPIRED_HOURS))


def _seconds(name: str) -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(oauth2_settings, name)))


def redeemed_codes_prune(*, now: dt.datetime, batches: Batches | None = None) -> int:
    """Delete the exchanged codes (RedeemedCode) a replay could no longer do anything with;
    returns how many.

    A row serves one thing: a second exchange of its code revokes, through `access_token`, the
    token the first exchange gave, its refresh token and their family (code_replayed). A row is
    deleted only when both hold:

    - it was redeemed longer ago than the code's own lifetime (AUTHORIZATION_CODE_EXPIRE_SECONDS)
      and longer than the access token's plus the refresh token's (ACCESS_TOKEN_EXPIRE_SECONDS,
      REFRESH_TOKEN_EXPIRE_SECONDS: a refresh token dies that long after its access token
      expired), plus HAWIYA_RETENTION_EXPIRED_HOURS: by then the code is long dead and so is every
      token it gave that was not refreshed;
    - its access token is gone (refreshed, revoked, or pruned: the reference is SET_NULL), or it
      expired longer ago than the refresh token's lifetime plus that margin, so its refresh token
      can no longer be used either. A row whose token could still be refreshed is kept, whatever
      its age; with refresh tokens that never expire, until the token is gone.

    A replay after that is an unknown code: invalid_grant, with no row to audit it by.
    """
    margin = _margin()
    refresh_life = refresh_token_expire_timedelta()
    token_life = _seconds("ACCESS_TOKEN_EXPIRE_SECONDS") + (refresh_life or dt.timedelta(0))
    kept = max(_seconds("AUTHORIZATION_CODE_EXPIRE_SECONDS"), token_life) + margin
    harmless = Q(access_token__isnull=True)
    if refresh_life is not None:
        dead = AccessToken.objects.filter(expires__lt=now - refresh_life - margin).values("pk")
        harmless |= Q(access_token_id__in=dead)
    # While a refresh token of the family the code gave is live, a replay still has something to
    # revoke (rotation replaced the access token above long ago): keep the row.
    live_family = Exists(
        RefreshToken.objects.filter(token_family=OuterRef("token_family"), revoked__isnull=True)
    )
    old = RedeemedCode.objects.filter(harmless, ~live_family, redeemed_at__lt=now - kept)
    return delete_in_batches(old, batches=batches)


def oauth_tokens_prune(*, now: dt.datetime, batches: Batches | None = None) -> dict[str, int]:
    """Delete django-oauth-toolkit's codes and tokens that can no longer be used, in bounded
    batches (each rule below its own `batches`); returns how many of each went (refresh, access and
    ID tokens, codes). Every rule's select is answered by an index (migration identity/0016).

    The rules are the toolkit's `clear_expired` (the `cleartokens` command) with a margin of
    HAWIYA_RETENTION_EXPIRED_HOURS; that function itself is not used, since it deletes until
    nothing is left in one go (its batches have no limit per run) and locks nothing first.

    - Refresh tokens: revoked longer ago than their lifetime (REFRESH_TOKEN_EXPIRE_SECONDS) plus
      the margin — a revoked one is what lets a replay of a rotated token revoke its family
      (REFRESH_TOKEN_REUSE_PROTECTION), and it could not be used after its lifetime anyway; live
      ones whose access token expired longer ago than that (the toolkit refuses them from then);
      and orphans, live but without an access token, which the toolkit refuses. With refresh
      tokens that never expire only orphans go.
    - Access tokens: expired longer ago than the margin and without a refresh token (a live
      refresh token needs its access token, expired or not, to be refreshed).
    - ID tokens: without an access token and expired longer ago than HAWIYA_RETENTION_ID_TOKENS_DAYS:
      a party names the citizen by one (id_token_hint) when it signs them out (RP-initiated logout),
      expired or not, and the toolkit refuses a hint whose row is gone.
    - Authorization codes: expired longer ago than the margin (an exchanged one is deleted at once).

    Deleting a token clears what refers to it: RedeemedCode.access_token and the successor's
    `source_refresh_token` are SET_NULL. The connected-services page reads a party's last
    sign-in from the security history too (selectors.connections_for_user), so it survives.
    """
    margin = _margin()
    refresh_life = refresh_token_expire_timedelta()
    # One query per rule, each answered by an index (migration identity/0016): joined by OR, the
    # rule with a sub-select made PostgreSQL read every live refresh token.
    refresh_rules = [Q(revoked__isnull=True, access_token__isnull=True)]
    if refresh_life is not None:
        refresh_rules.append(Q(revoked__lt=now - refresh_life - margin))
        dormant = AccessToken.objects.filter(expires__lt=now - refresh_life - margin).values("pk")
        refresh_rules.append(Q(revoked__isnull=True, access_token_id__in=dormant))
    counts = {
        "oauth_refresh_tokens": sum(
            delete_in_batches(RefreshToken.objects.filter(rule), batches=batches) for rule in refresh_rules
        )
    }
    with_refresh = Exists(RefreshToken.objects.filter(access_token_id=OuterRef("pk")))
    counts["oauth_access_tokens"] = delete_in_batches(
        AccessToken.objects.filter(~with_refresh, expires__lt=now - margin), batches=batches
    )
    id_kept = dt.timedelta(days=int(settings.HAWIYA_RETENTION_ID_TOKENS_DAYS))
    with_access = Exists(AccessToken.objects.filter(id_token_id=OuterRef("pk")))
    counts["oauth_id_tokens"] = delete_in_batches(
        IDToken.objects.filter(~with_access, expires__lt=now - id_kept), batches=batches
    )
    counts["oauth_codes"] = delete_in_batches(Grant.objects.filter(expires__lt=now - margin), batches=batches)
    return counts
