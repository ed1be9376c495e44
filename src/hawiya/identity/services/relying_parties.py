"""Relying parties (banks and agencies that sign citizens in with Hawiya): registered, changed,
suspended, resumed and given a new secret by administrators (the back-office, the admin) or by
`manage.py relying_party` for automation; and a citizen's connection to one, revoked.

Each write takes the acting `Actor`, checks that it may (a staff member holding
`identity.manage_relying_parties`, or Hawiya itself for the command; anybody else is refused with
StaffForbidden), writes in one transaction and records the audit event in it.

The protocol half of a party is django-oauth-toolkit's `Application` (client id, hashed secret,
redirect URIs); the rules half is `RelyingParty`. A client secret is returned once, by the call
that made it, and stored only hashed (identity/client_secrets.py, a fast keyed hash): nobody can read it back.
Suspending a party deletes its tokens and pending codes at once, so nothing it holds still works.
"""

from __future__ import annotations

import io
import ipaddress
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from jwcrypto import jwk
from oauth2_provider.models import AccessToken, Application, Grant, IDToken, RefreshToken
from PIL import Image

from hawiya.audit.actors import Actor, ActorKind
from hawiya.audit.services import audit_record
from hawiya.core import clock

from .. import errors
from ..backchannel_logout import backchannel_logout_schedule
from ..models import Consent, RelyingParty, SigningAlgorithm, TokenEndpointAuthMethod, User
from ..scope_words import ASSIGNABLE_SCOPES
from ..security_signals import EVENT_TYPES
from ..staff import PERM_MANAGE_RELYING_PARTIES, STAFF_FORBIDDEN, StaffForbidden, staff_actor_for

MAX_REDIRECT_URIS = 10
MAX_URI = 500
MAX_NAME = 120
MAX_LOGO_BYTES = 512 * 1024
MAX_LOGO_SIDE = 1024
CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,55}")
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
SECRET_METHODS = frozenset(
    {TokenEndpointAuthMethod.CLIENT_SECRET_BASIC, TokenEndpointAuthMethod.CLIENT_SECRET_POST}
)
OBJECT_TYPE = "identity.relyingparty"
SECRET_BYTES = 48


def client_secret_generate() -> str:
    """A new client secret: 48 random bytes (384 bits), URL-safe, so a fast keyed hash suffices."""
    return secrets.token_urlsafe(SECRET_BYTES)


@dataclass(frozen=True)
class PartyWithSecret:
    """A party and the secret just made for it: show `client_secret` once, then forget it
    ("" for a party that signs with its own key)."""

    party: RelyingParty
    client_secret: str


# --- Who may -------------------------------------------------------------------------------------


def _require_manager(actor: Actor) -> None:
    """A staff member whose role holds manage_relying_parties, a superuser of the admin site (no
    role), or Hawiya itself (the command)."""
    if actor.kind == ActorKind.SYSTEM:
        return
    if actor.kind == ActorKind.STAFF and actor.user_id is not None:
        user = User.objects.filter(pk=actor.user_id, is_active=True).first()
        if user is not None:
            staff = staff_actor_for(user)
            if staff is not None and staff.has(PERM_MANAGE_RELYING_PARTIES):
                return
            if staff is None and user.person_id is None and user.is_superuser:
                return
    raise StaffForbidden(STAFF_FORBIDDEN, _("Your role does not allow this action."))


# --- Checks of what an administrator typed ------------------------------------------------------


def _names(name_ar: str, name_en: str) -> tuple[str, str]:
    name_ar, name_en = (name_ar or "").strip(), (name_en or "").strip()
    for field, value in (("name_ar", name_ar), ("name_en", name_en)):
        if not value or len(value) > MAX_NAME:
            raise errors.error(errors.PARTY_NAME_MISSING, field=field)
    return name_ar, name_en


def _uri_ok(uri: str) -> bool:
    """An absolute https URI (http only on this machine), no fragment, no user info, no wildcard."""
    if not uri or len(uri) > MAX_URI or any(char.isspace() for char in uri) or "*" in uri:
        return False
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        return False
    if parts.fragment or "#" in uri or parts.username or parts.password or not host:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http":
        return False
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _redirect_uris(uris: Iterable[str]) -> list[str]:
    cleaned = list(dict.fromkeys(uri.strip() for uri in uris if uri and uri.strip()))
    if not cleaned or len(cleaned) > MAX_REDIRECT_URIS or not all(_uri_ok(uri) for uri in cleaned):
        raise errors.error(errors.PARTY_REDIRECT_URI_INVALID, field="redirect_uris")
    return cleaned


def _scopes(scopes: Iterable[str]) -> list[str]:
    chosen = set(scopes)
    if "openid" not in chosen or not chosen <= set(ASSIGNABLE_SCOPES):
        raise errors.error(errors.PARTY_SCOPES_INVALID, field="allowed_scopes")
    return [scope for scope in ASSIGNABLE_SCOPES if scope in chosen]


def _auth_method(method: str) -> str:
    if method not in TokenEndpointAuthMethod.values:
        raise errors.error(errors.PARTY_AUTH_METHOD_INVALID, field="token_endpoint_auth_method")
    return method


def _id_token_alg(algorithm: str) -> str:
    """RS256 or ES256 (OpenID Connect Registration `id_token_signed_response_alg`)."""
    if algorithm not in SigningAlgorithm.values:
        raise errors.error(errors.PARTY_ID_TOKEN_ALG_INVALID, field="id_token_signed_response_alg")
    return algorithm


def jwks_checked(jwks: str | dict[str, Any] | None) -> dict[str, Any]:
    """The party's JWK Set as a JSON object: at least one RSA or EC public key for signing, and no
    private key (a party must never hand us its private key; if it did, it must make a new one)."""
    invalid = errors.error(errors.PARTY_JWKS_INVALID, field="jwks")
    if jwks is None or jwks == "" or jwks == {}:
        raise invalid
    try:
        text = jwks if isinstance(jwks, str) else json.dumps(jwks)
        data = json.loads(text)
        keyset = jwk.JWKSet.from_json(text)
    except (ValueError, TypeError, jwk.InvalidJWKValue, jwk.InvalidJWKType):
        raise invalid from None
    keys = list(keyset["keys"])
    if not isinstance(data, dict) or not keys:
        raise invalid
    for key in keys:
        if key.has_private or key.get("kty") not in ("RSA", "EC") or key.get("use", "sig") != "sig":
            raise invalid
    return {"keys": [json.loads(key.export_public()) for key in keys]}


def _backchannel_uri(uri: str) -> str:
    uri = (uri or "").strip()
    if uri and not _uri_ok(uri):
        raise errors.error(errors.PARTY_BACKCHANNEL_URI_INVALID, field="backchannel_logout_uri")
    return uri


def _signal_stream(endpoint: str, events: Iterable[str]) -> tuple[str, list[str]]:
    """A signals stream: an endpoint (https, http only on this machine) with at least one event
    type Hawiya sends, or neither (no stream)."""
    endpoint = (endpoint or "").strip()
    chosen = list(dict.fromkeys(event.strip() for event in events if event and event.strip()))
    if any(event not in EVENT_TYPES for event in chosen) or (chosen and not endpoint):
        raise errors.error(errors.PARTY_SIGNALS_EVENTS_INVALID, field="signals_events")
    if endpoint and (not _uri_ok(endpoint) or not chosen):
        raise errors.error(errors.PARTY_SIGNALS_ENDPOINT_INVALID, field="signals_endpoint")
    # Kept in the order of EVENT_TYPES, so an unchanged choice compares equal.
    return endpoint, [event for event in EVENT_TYPES if event in chosen]


def _logo(upload: UploadedFile | bytes | None) -> ContentFile[bytes] | None:
    """The logo re-encoded as PNG from its pixels (no metadata, no hidden payload), or None."""
    if upload is None:
        return None
    content = upload if isinstance(upload, bytes) else upload.read(MAX_LOGO_BYTES + 1)
    invalid = errors.error(errors.PARTY_LOGO_INVALID, field="logo")
    if not content or len(content) > MAX_LOGO_BYTES:
        raise invalid
    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.format not in ("PNG", "JPEG") or max(image.size) > MAX_LOGO_SIDE:
                raise invalid
            image.load()
            output = io.BytesIO()
            image.convert("RGBA").save(output, format="PNG")
    except (OSError, ValueError, Image.DecompressionBombError):
        raise invalid from None
    return ContentFile(output.getvalue(), name="logo.png")


def _client_id(client_id: str | None) -> str | None:
    if client_id is None or client_id == "":
        return None
    if not CLIENT_ID.fullmatch(client_id):
        raise errors.error(errors.PARTY_CLIENT_ID_INVALID, field="client_id")
    if Application.objects.filter(client_id=client_id).exists():
        raise errors.error(errors.PARTY_CLIENT_ID_TAKEN, field="client_id")
    return client_id


def _locked(party_id: int) -> RelyingParty:
    party = RelyingParty.objects.select_for_update().select_related("application").filter(pk=party_id).first()
    if party is None:
        raise errors.error(errors.PARTY_NOT_FOUND)
    return party


def _audit(actor: Actor, action: str, party: RelyingParty, **detail: Any) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=party.pk,
        detail={"client_id": party.application.client_id, **detail},
    )


def _revoke_tokens(application: Application, user: User | None = None) -> int:
    """Delete the party's tokens and pending codes (only `user`'s when given): they stop working
    at once, since every use looks the row up. Returns how many tokens went."""
    scope: dict[str, Any] = {"application": application}
    if user is not None:
        scope["user"] = user
    Grant.objects.filter(**scope).delete()
    refresh, _kinds = RefreshToken.objects.filter(**scope).delete()
    access, _kinds = AccessToken.objects.filter(**scope).delete()
    IDToken.objects.filter(**scope).delete()
    return refresh + access


# --- Services ------------------------------------------------------------------------------------


def party_register(
    *,
    actor: Actor,
    name_ar: str,
    name_en: str,
    redirect_uris: Iterable[str],
    allowed_scopes: Iterable[str],
    token_endpoint_auth_method: str,
    jwks: str | dict[str, Any] | None = None,
    logo: UploadedFile | bytes | None = None,
    backchannel_logout_uri: str = "",
    client_id: str | None = None,
    client_secret: str | None = None,
    id_token_signed_response_alg: str | None = None,
    signals_endpoint: str = "",
    signals_events: Iterable[str] = (),
) -> PartyWithSecret:
    """Register a relying party; returns it with its new client secret, to be shown once.

    `client_id` is generated unless given (the command's automation and the demo name theirs);
    `client_secret` likewise (only the demo passes one: its published value). A party using
    private_key_jwt gives its public keys (`jwks`) and gets no secret it could use.
    `id_token_signed_response_alg` (RS256, the default, or ES256) signs its ID tokens and Logout
    Tokens.
    """
    _require_manager(actor)
    name_ar, name_en = _names(name_ar, name_en)
    uris = _redirect_uris(redirect_uris)
    scopes = _scopes(allowed_scopes)
    method = _auth_method(token_endpoint_auth_method)
    id_token_alg = _id_token_alg(id_token_signed_response_alg or SigningAlgorithm.RS256.value)
    keys = jwks_checked(jwks) if method == TokenEndpointAuthMethod.PRIVATE_KEY_JWT else {}
    backchannel = _backchannel_uri(backchannel_logout_uri)
    stream_endpoint, stream_events = _signal_stream(signals_endpoint, signals_events)
    picture = _logo(logo)
    uses_secret = method in SECRET_METHODS
    # A private_key_jwt party still gets a random secret in DOT's column, never shown: the
    # column must not be empty (an empty secret would hash to something guessable).
    secret = client_secret if (uses_secret and client_secret) else client_secret_generate()
    try:
        with transaction.atomic():
            chosen_id = _client_id(client_id)
            application = Application(
                name=name_en[:255],
                client_type=Application.CLIENT_CONFIDENTIAL,
                authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
                redirect_uris=" ".join(uris),
                client_secret=secret,
                hash_client_secret=True,
                algorithm=Application.RS256_ALGORITHM,
                skip_authorization=False,
            )
            if chosen_id:
                application.client_id = chosen_id
            application.save()
            party = RelyingParty(
                application=application,
                name_ar=name_ar,
                name_en=name_en,
                allowed_scopes=scopes,
                token_endpoint_auth_method=method,
                jwks=keys,
                backchannel_logout_uri=backchannel,
                id_token_signed_response_alg=id_token_alg,
                signals_endpoint=stream_endpoint,
                signals_events=stream_events,
            )
            if picture is not None:
                party.logo.save(f"{application.client_id}.png", picture, save=False)
            party.save()
            _audit(
                actor,
                "relying_party.registered",
                party,
                scopes=scopes,
                auth_method=method,
                id_token_alg=id_token_alg,
                signals_endpoint=stream_endpoint,
                signals_events=stream_events,
            )
    except IntegrityError:
        # Two registrations raced for one client id.
        raise errors.error(errors.PARTY_CLIENT_ID_TAKEN, field="client_id") from None
    return PartyWithSecret(party=party, client_secret=secret if uses_secret else "")


def party_update(
    *,
    actor: Actor,
    party_id: int,
    name_ar: str,
    name_en: str,
    redirect_uris: Iterable[str],
    allowed_scopes: Iterable[str],
    token_endpoint_auth_method: str,
    jwks: str | dict[str, Any] | None = None,
    logo: UploadedFile | bytes | None = None,
    remove_logo: bool = False,
    backchannel_logout_uri: str = "",
    id_token_signed_response_alg: str | None = None,
    signals_endpoint: str | None = None,
    signals_events: Iterable[str] | None = None,
) -> PartyWithSecret:
    """Change a party's names, logo, redirect URIs, scopes, authentication, ID-token signing
    algorithm or signals stream (endpoint and event types; None: unchanged).

    Switching from private_key_jwt to a client secret makes a new secret (returned, to be shown
    once); switching to private_key_jwt voids the old secret. The client id never changes.
    """
    _require_manager(actor)
    name_ar, name_en = _names(name_ar, name_en)
    uris = _redirect_uris(redirect_uris)
    scopes = _scopes(allowed_scopes)
    method = _auth_method(token_endpoint_auth_method)
    keys = jwks_checked(jwks) if method == TokenEndpointAuthMethod.PRIVATE_KEY_JWT else {}
    backchannel = _backchannel_uri(backchannel_logout_uri)
    stream = (
        None
        if signals_endpoint is None and signals_events is None
        else _signal_stream(signals_endpoint or "", signals_events or ())
    )
    id_token_alg = (
        None if id_token_signed_response_alg is None else _id_token_alg(id_token_signed_response_alg)
    )
    picture = _logo(logo)
    with transaction.atomic():
        party = _locked(party_id)
        id_token_alg = id_token_alg or party.id_token_signed_response_alg
        application = party.application
        had_secret = party.token_endpoint_auth_method in SECRET_METHODS
        new_secret = ""
        if method in SECRET_METHODS and not had_secret:
            new_secret = client_secret_generate()
            application.client_secret = new_secret
        elif method not in SECRET_METHODS and had_secret:
            application.client_secret = client_secret_generate()  # the old secret stops working
        application.name = name_en[:255]
        application.redirect_uris = " ".join(uris)
        application.save()
        changed = [
            field
            for field, value in (
                ("name_ar", name_ar),
                ("name_en", name_en),
                ("allowed_scopes", scopes),
                ("token_endpoint_auth_method", method),
                ("jwks", keys),
                ("backchannel_logout_uri", backchannel),
                ("id_token_signed_response_alg", id_token_alg),
                ("signals_endpoint", party.signals_endpoint if stream is None else stream[0]),
                ("signals_events", party.signals_events if stream is None else stream[1]),
            )
            if getattr(party, field) != value
        ]
        if stream is not None:
            party.signals_endpoint, party.signals_events = stream
        party.name_ar, party.name_en, party.allowed_scopes = name_ar, name_en, scopes
        party.token_endpoint_auth_method, party.jwks = method, keys
        party.backchannel_logout_uri = backchannel
        party.id_token_signed_response_alg = id_token_alg
        if picture is not None:
            party.logo.save(f"{application.client_id}.png", picture, save=False)
            changed.append("logo")
        elif remove_logo and party.logo:
            party.logo = ""
            changed.append("logo")
        party.save()
        _audit(
            actor,
            "relying_party.updated",
            party,
            fields=sorted(changed),
            redirect_uris=len(uris),
            secret_made=bool(new_secret),
            signals_endpoint=party.signals_endpoint,
            signals_events=party.signals_events,
        )
    return PartyWithSecret(party=party, client_secret=new_secret)


def party_set_id_token_alg(*, actor: Actor, party_id: int, algorithm: str) -> RelyingParty:
    """Choose how the party's ID tokens and Logout Tokens are signed from now on (RS256 or ES256).
    Tokens already issued keep verifying: the keys of both algorithms are published."""
    _require_manager(actor)
    chosen = _id_token_alg(algorithm)
    with transaction.atomic():
        party = _locked(party_id)
        before = party.id_token_signed_response_alg
        if before != chosen:
            party.id_token_signed_response_alg = chosen
            party.save(update_fields=["id_token_signed_response_alg"])
            _audit(
                actor,
                "relying_party.updated",
                party,
                fields=["id_token_signed_response_alg"],
                id_token_alg=chosen,
            )
    return party


def party_set_signal_stream(
    *, actor: Actor, party_id: int, endpoint: str, events: Iterable[str]
) -> RelyingParty:
    """Set the party's signals stream: the push endpoint of its Security Event Tokens and the
    event types it wants (identity/security_signals.py); an empty endpoint and no events end it.
    Events already owed keep their rows (sent to the endpoint of the moment)."""
    _require_manager(actor)
    endpoint, chosen = _signal_stream(endpoint, events)
    with transaction.atomic():
        party = _locked(party_id)
        if (party.signals_endpoint, party.signals_events) != (endpoint, chosen):
            party.signals_endpoint, party.signals_events = endpoint, chosen
            party.save(update_fields=["signals_endpoint", "signals_events"])
            _audit(
                actor,
                "relying_party.updated",
                party,
                fields=["signals_endpoint", "signals_events"],
                signals_endpoint=endpoint,
                signals_events=chosen,
            )
    return party


def party_suspend(*, actor: Actor, party_id: int) -> RelyingParty:
    """Suspend a party: it can sign nobody in, and its tokens and codes are deleted now."""
    _require_manager(actor)
    with transaction.atomic():
        party = _locked(party_id)
        if party.suspended_at is not None:
            raise errors.error(errors.PARTY_ALREADY_SUSPENDED)
        party.suspended_at = clock.now()
        party.save(update_fields=["suspended_at"])
        revoked = _revoke_tokens(party.application)
        _audit(actor, "relying_party.suspended", party, tokens_revoked=revoked)
    return party


def party_resume(*, actor: Actor, party_id: int) -> RelyingParty:
    """Lift a suspension: the party may sign citizens in again (their old tokens stay gone)."""
    _require_manager(actor)
    with transaction.atomic():
        party = _locked(party_id)
        if party.suspended_at is None:
            raise errors.error(errors.PARTY_NOT_SUSPENDED)
        party.suspended_at = None
        party.save(update_fields=["suspended_at"])
        _audit(actor, "relying_party.resumed", party)
    return party


def party_rotate_secret(*, actor: Actor, party_id: int) -> PartyWithSecret:
    """A new client secret for the party (returned once); the old one stops working at once.
    Tokens already issued stay valid: a rotation is routine, a suspension is for a breach."""
    _require_manager(actor)
    with transaction.atomic():
        party = _locked(party_id)
        if party.token_endpoint_auth_method not in SECRET_METHODS:
            raise errors.error(errors.PARTY_NO_SECRET)
        secret = client_secret_generate()
        party.application.client_secret = secret
        party.application.save(update_fields=["client_secret", "updated"])
        _audit(actor, "relying_party.secret_rotated", party)
    return PartyWithSecret(party=party, client_secret=secret)


def connection_revoke(*, actor: Actor, user: User, party_id: int) -> int:
    """A citizen withdraws a party's access: their consent ends and the party's tokens for them
    are deleted. Another's connection, or none, answers NotFound alike. Returns tokens deleted."""
    if actor.kind != ActorKind.CITIZEN or actor.user_id != user.pk:
        raise StaffForbidden(STAFF_FORBIDDEN, _("Your role does not allow this action."))
    with transaction.atomic():
        consent = (
            Consent.objects.select_for_update()
            .select_related("party__application")
            .filter(user=user, party_id=party_id, revoked_at__isnull=True)
            .first()
        )
        if consent is None:
            raise errors.error(errors.CONNECTION_NOT_FOUND)
        consent.revoked_at = clock.now()
        consent.save(update_fields=["revoked_at"])
        # The party is told after commit (back-channel logout), by a worker.
        backchannel_logout_schedule(user, [consent.party])
        revoked = _revoke_tokens(consent.party.application, user)
        audit_record(
            actor=actor,
            action="relying_party.connection_revoked",
            object_type="identity.consent",
            object_id=consent.pk,
            detail={"client_id": consent.party.application.client_id, "tokens_revoked": revoked},
        )
    return revoked
