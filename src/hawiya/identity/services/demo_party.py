"""The demo relying party "بنك المثال / Example Bank" (demo mode only): the example party in
examples/relying_party/ signs in as it. Its client secret is published (like the demo staff
password), which is why only `manage.py seed_demo_relying_party` in demo mode makes it. Seeding
again brings the party back to these values and changes nothing when they already hold.

The bank may ask for app approvals (`approvals`) and has a signals stream: every security event
Hawiya sends is pushed to its receiver (`/security-events`), on the bank's port.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import check_password
from django.db import transaction
from oauth2_provider.models import Application

from hawiya.audit.actors import Actor
from hawiya.audit.services import audit_record

from ..models import RelyingParty, TokenEndpointAuthMethod
from ..security_signals import EVENT_TYPES

CLIENT_ID = "example-bank"
# Published in examples/relying_party (its default) and the README: demo mode only.
DEMO_CLIENT_SECRET = "example-bank-demo-secret-2026"  # noqa: S105
NAME_AR = "بنك المثال"
NAME_EN = "Example Bank"
DEFAULT_PORT = 8001  # where `make example-rp` serves the bank (EXAMPLE_RP_PORT)
# `document_status` and `approvals`: the bank's "check a card" and "approve with Hawiya app" pages
# call those APIs with a token of its own (client credentials).
ALLOWED_SCOPES = [
    "openid",
    "profile",
    "national_id",
    "birthdate",
    "phone",
    "address",
    "document_status",
    "approvals",
]


def bank_url(port: int = DEFAULT_PORT) -> str:
    """The example bank's base URL: always this machine's loopback (plain http, demo only)."""
    return f"http://127.0.0.1:{port}"


def demo_party_seed(*, actor: Actor, secret: str, port: int = DEFAULT_PORT) -> str:
    """Create or reset the demo party, its URIs on the bank's `port`; "created", "updated" or
    "unchanged" (audited unless unchanged)."""
    base = bank_url(port)
    with transaction.atomic():
        application = Application.objects.select_for_update().filter(client_id=CLIENT_ID).first()
        created = application is None
        if application is None:
            application = Application(client_id=CLIENT_ID)
        wanted: dict[str, Any] = {
            "name": NAME_EN,
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
            "redirect_uris": f"{base}/callback",
            "post_logout_redirect_uris": f"{base}/",
            "algorithm": Application.RS256_ALGORITHM,
            "skip_authorization": False,
            "hash_client_secret": True,
        }
        changed = created or any(getattr(application, key) != value for key, value in wanted.items())
        for key, value in wanted.items():
            setattr(application, key, value)
        # Stored hashed (CLIENT_SECRET_HASHER): set again only when it no longer matches, so
        # a second run changes nothing.
        if created or not check_password(secret, application.client_secret):
            application.client_secret = secret
            changed = True
        application.save()

        party = RelyingParty.objects.filter(application=application).first() or RelyingParty(
            application=application
        )
        party_wanted: dict[str, Any] = {
            "name_ar": NAME_AR,
            "name_en": NAME_EN,
            "allowed_scopes": ALLOWED_SCOPES,
            "token_endpoint_auth_method": TokenEndpointAuthMethod.CLIENT_SECRET_BASIC,
            "suspended_at": None,
            # Every event type, in EVENT_TYPES' order (how a stream keeps them): re-seeding
            # compares equal and changes nothing.
            "signals_endpoint": f"{base}/security-events",
            "signals_events": list(EVENT_TYPES),
        }
        changed = changed or party.pk is None
        changed = changed or any(getattr(party, key) != value for key, value in party_wanted.items())
        for key, value in party_wanted.items():
            setattr(party, key, value)
        party.save()
        if changed:
            audit_record(
                actor=actor,
                action="relying_party.created" if created else "relying_party.updated",
                object_type="identity.relyingparty",
                object_id=party.pk,
                detail={"client_id": CLIENT_ID, "demo": True},
            )
    return "created" if created else ("updated" if changed else "unchanged")
