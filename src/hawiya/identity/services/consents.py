"""What a citizen agreed to share with a relying party (the consent screen's memory).

`consent_covers` decides whether the screen can be skipped; `consent_record` keeps what was
allowed (one live row per account and party, widened when new scopes are allowed) and audits it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from oauth2_provider.models import AccessToken, RefreshToken

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record
from hawiya.core import clock

from ..models import Consent, RelyingParty, User


def consent_covers(*, user: User, party: RelyingParty, scopes: Iterable[str]) -> bool:
    """True when the citizen's live consent to `party` includes every scope asked for."""
    live = Consent.objects.filter(user=user, party=party, revoked_at__isnull=True).first()
    return live is not None and set(scopes) <= set(live.scopes)


def consent_record(
    *, user: User, party: RelyingParty, scopes: Iterable[str], ip: str | None = None
) -> Consent:
    """Remember that the citizen allowed `scopes` for `party` (added to what they allowed before)."""
    with transaction.atomic():
        live = (
            Consent.objects.select_for_update()
            .filter(user=user, party=party, revoked_at__isnull=True)
            .first()
        )
        wanted = sorted(set(scopes) | set(live.scopes if live else []))
        if live is None:
            live = Consent.objects.create(user=user, party=party, scopes=wanted)
        elif wanted != sorted(live.scopes):
            live.scopes, live.granted_at = wanted, clock.now()
            live.save(update_fields=["scopes", "granted_at"])
        audit_record(
            actor=Actor.citizen(user.pk, ip=ip),
            action="oidc.consent_granted",
            object_type="identity.consent",
            object_id=live.pk,
            detail={"party": party.pk, "scopes": wanted},
        )
    return live


def consent_revoke(*, user: User, party: RelyingParty, ip: str | None = None) -> bool:
    """End the citizen's live consent to `party` and every token the party holds for them (its
    refresh tokens revoked, access tokens deleted: userinfo refuses them at once); False when
    there was no live consent."""
    with transaction.atomic():
        for refresh in RefreshToken.objects.filter(
            user=user, application=party.application, revoked__isnull=True
        ):
            refresh.revoke()
        AccessToken.objects.filter(user=user, application=party.application).delete()
        live = (
            Consent.objects.select_for_update()
            .filter(user=user, party=party, revoked_at__isnull=True)
            .first()
        )
        if live is None:
            return False
        live.revoked_at = clock.now()
        live.save(update_fields=["revoked_at"])
        audit_record(
            actor=Actor.citizen(user.pk, ip=ip),
            action="oidc.consent_revoked",
            object_type="identity.consent",
            object_id=live.pk,
            detail={"party": party.pk},
        )
    return True
