"""The one django-oauth-toolkit validator of Hawiya's OpenID Connect provider.

django-oauth-toolkit and oauthlib speak the protocol; this class adds Hawiya's rules, which live
in `identity` (pairwise subjects and claims: identity/oidc_claims.py; signing keys:
identity/signing_keys.py):

- every client uses PKCE with S256 (plain and a missing challenge are refused);
- a suspended party can neither authenticate nor use its tokens (checked on every request);
- a party asks only for scopes it was allowed (anything else is `invalid_scope`), and `openid`;
- a party allowed a party-only scope (`document_status`) may also use the client credentials
  grant, for those scopes only and without `openid`: the token has no citizen behind it;
- a party authenticates at the token endpoint only the way it registered (client_secret_basic,
  client_secret_post, or private_key_jwt against the JWKS it registered);
- `sub` is pairwise; claims follow the granted scopes; acr/amr/auth_time say how the citizen
  signed in (kept on the authorization code, see `save_authorization_code`);
- ID tokens are signed by the active key in the database of the party's algorithm (RS256 or
  ES256), whose `kid` is in the header;
- a code exchanged twice revokes the tokens the first exchange gave (RFC 6749 §4.1.2).
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.cache import cache
from django.db import transaction
from jwcrypto import jwk, jws, jwt
from jwcrypto.common import JWException, base64url_decode
from oauth2_provider.models import AccessToken, Application, Grant, IDToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request
from oauthlib.oauth2.rfc6749 import errors

from hawiya.identity.models import RelyingParty, TokenEndpointAuthMethod
from hawiya.identity.oidc_claims import (
    CLAIM_SCOPE,
    SCOPES,
    acr_for_method,
    amr_for_method,
    claims_for,
    pairwise_subject,
    party_scopes_of,
)
from hawiya.identity.services.authorization_codes import (
    access_token_by_value,
    application_by_client_id,
    code_claim,
    code_redeemed,
    code_replayed,
    grant_by_code,
    token_event_record,
)
from hawiya.identity.signing_keys import active_signing_key, signing_key_by_kid

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Where the sign-in context rides on the authorization code (the Grant's `claims` column).
CONTEXT_KEY = "_hawiya"


def party_of(application: Application | None) -> RelyingParty | None:
    if application is None:
        return None
    try:
        party: RelyingParty = application.relying_party
    except RelyingParty.DoesNotExist:
        return None
    return party


def _published_key_of(token: str) -> Any:
    """The published signing key named by the token's (unverified) `kid` header, or None."""
    try:
        unverified = jws.JWS()
        unverified.deserialize(token)
        kid = unverified.jose_header.get("kid")
    except (JWException, ValueError, TypeError):
        return None
    return signing_key_by_kid(kid) if isinstance(kid, str) else None


def id_token_claims(token: str, *, verify_expiry: bool = False) -> dict[str, Any] | None:
    """The claims of an ID token Hawiya signed (any published key), or None. An expired token is
    still read unless `verify_expiry` (id_token_hint and logout accept expired tokens)."""
    key = _published_key_of(token)
    if key is None:
        return None
    try:
        checked = jwt.JWT(key=key, jwt=token, check_claims=None if verify_expiry else False)
        claims = json.loads(checked.claims)
    except (JWException, ValueError, TypeError):
        return None
    return claims if isinstance(claims, dict) else None


def _json_object_or_null(text: str) -> bool:
    """Whether `text` is a JSON object, or null (the consent form's hidden field when absent)."""
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return value is None or isinstance(value, dict)


class HawiyaOAuth2Validator(OAuth2Validator):
    oidc_claim_scope = CLAIM_SCOPE

    # --- The party: exists, not suspended ---------------------------------------------------------

    def _load_application(self, client_id: str, request: Request) -> Application | None:
        # As the toolkit's, but the party comes in the same query (every check below reads it).
        application = request.client
        if not (isinstance(application, Application) and application.client_id == client_id):
            application = application_by_client_id(client_id)
        party = party_of(application)
        if application is None or party is None or party.is_suspended or not application.is_usable(request):
            request.client = None
            return None
        request.client = application
        return application

    def authenticate_client(self, request: Request, *args: Any, **kwargs: Any) -> bool:
        if getattr(request, "client_assertion_type", None) == JWT_BEARER:
            return self._authenticate_private_key_jwt(request)
        used_basic = bool(self._extract_basic_auth(request))
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        party = party_of(request.client)
        if party is None:
            return False
        method = party.token_endpoint_auth_method
        if method == TokenEndpointAuthMethod.CLIENT_SECRET_BASIC:
            return used_basic
        if method == TokenEndpointAuthMethod.CLIENT_SECRET_POST:
            return not used_basic
        return False  # a private_key_jwt party must sign an assertion

    def _authenticate_private_key_jwt(self, request: Request) -> bool:
        """private_key_jwt (OpenID Connect Core §9, RFC 7523): a JWT signed with one of the keys
        the party registered (`RelyingParty.jwks`), iss = sub = its client id, aud = the token
        endpoint (or the issuer), unexpired, and its jti never seen before (kept until it expires)."""
        assertion = str(getattr(request, "client_assertion", "") or "")
        try:
            # Unverified, only to find whose registered keys verify it below.
            client_id = json.loads(base64url_decode(assertion.split(".")[1])).get("iss")
        except (JWException, ValueError, TypeError, KeyError, AttributeError, IndexError):
            return False
        if not isinstance(client_id, str) or self._load_application(client_id, request) is None:
            return False
        party = party_of(request.client)
        if party is None or party.token_endpoint_auth_method != TokenEndpointAuthMethod.PRIVATE_KEY_JWT:
            return False
        issuer = oauth2_settings.OIDC_ISS_ENDPOINT
        try:
            keys = jwk.JWKSet.from_json(json.dumps(party.jwks))
            checked = jwt.JWT(
                key=keys,
                jwt=assertion,
                algs=["RS256", "ES256", "PS256"],
                check_claims={"iss": client_id, "sub": client_id, "exp": None, "jti": None},
            )
            claims = json.loads(checked.claims)
        except (JWException, ValueError, TypeError):
            return False
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not {issuer, f"{issuer}/oidc/token/"} & set(audiences):
            return False
        lifetime = max(1, int(claims["exp"]) - int(time.time()))
        if not cache.add(f"hawiya:oidc:jti:{client_id}:{claims['jti']}", 1, timeout=lifetime):
            return False  # a replayed assertion
        request.client_id = client_id
        return True

    def _load_access_token(self, token: str) -> AccessToken | None:
        return access_token_by_value(token)

    def validate_bearer_token(self, token: str, scopes: list[str], request: Request) -> bool:
        if not super().validate_bearer_token(token, scopes, request):
            return False
        party = party_of(request.client)
        return party is not None and not party.is_suspended

    # --- The authorization request ---------------------------------------------------------------

    def validate_response_type(
        self,
        client_id: str,
        response_type: str,
        client: Application,
        request: Request,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        if response_type != "code":
            return False
        # PKCE with S256 for every client: oauthlib would also take "plain" (its default).
        if not request.code_challenge or request.code_challenge_method != "S256":
            raise errors.InvalidRequestError(
                description="PKCE is required: code_challenge with code_challenge_method=S256.",
                request=request,
            )
        # The claims parameter must be a JSON object. Refused here, where the refusal knows the
        # redirect URI; oauthlib's own check comes later and names none (no answer to the party).
        if isinstance(request.claims, str) and not _json_object_or_null(request.claims):
            raise errors.InvalidRequestError(
                description="The claims parameter must be a JSON object.", request=request
            )
        return bool(
            super().validate_response_type(client_id, response_type, client, request, *args, **kwargs)
        )

    def is_pkce_required(self, client_id: str, request: Request) -> bool:
        return True

    def validate_grant_type(
        self,
        client_id: str,
        grant_type: str,
        client: Application,
        request: Request,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        """The toolkit keeps one grant type per Application (authorization code for every party);
        client credentials is allowed besides it to a party given a party-only scope."""
        if grant_type == "client_credentials":
            party = party_of(client)
            return party is not None and not party.is_suspended and bool(party_scopes_of(party))
        return bool(super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs))

    def validate_scopes(
        self,
        client_id: str,
        scopes: list[str],
        client: Application,
        request: Request,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        party = party_of(client)
        if party is None:
            return False
        if request.grant_type == "client_credentials":
            # The party's own server: its party-only scopes, never a citizen's (nor openid).
            return bool(scopes) and set(scopes) <= set(party_scopes_of(party))
        if "openid" not in scopes:
            return False
        allowed = set(party.allowed_scopes) & set(SCOPES)
        return set(scopes) <= (allowed | {"openid"})

    def get_default_scopes(self, client_id: str, request: Request, *args: Any, **kwargs: Any) -> list[str]:
        if request.grant_type == "client_credentials":
            party = party_of(request.client)
            return party_scopes_of(party) if party is not None else []
        return ["openid"]

    def validate_user_match(
        self, id_token_hint: str | None, scopes: list[str], claims: Any, request: Request
    ) -> bool:
        """An id_token_hint must be one of ours, issued to this party (it may have expired); the
        page then checks it names the signed-in citizen (oidc/views.py)."""
        if not id_token_hint:
            return True
        hint = id_token_claims(id_token_hint)
        if hint is None:
            return False
        audience = hint.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        return request.client_id in audiences

    # prompt=none: the page answers login_required / consent_required itself, knowing the
    # session and the consents (oidc/views.py); oauthlib's request has no Django user.
    def validate_silent_login(self, request: Request) -> bool:
        return True

    def validate_silent_authorization(self, request: Request) -> bool:
        return True

    def save_authorization_code(
        self, client_id: str, code: dict[str, str], request: Request, *args: Any, **kwargs: Any
    ) -> None:
        # How the citizen signed in rides on the code to the token endpoint (the view passes it
        # as credentials, which oauthlib sets on the request).
        context = {
            "method": getattr(request, "hawiya_sign_in_method", "") or "",
            "auth_time": getattr(request, "hawiya_auth_time", None),
            # The class the page chose for the party's acr request (identity.oidc_claims.acr_verdict).
            "acr": getattr(request, "hawiya_acr", None),
        }
        claims = request.claims if isinstance(request.claims, dict) else {}
        request.claims = {**claims, CONTEXT_KEY: context}
        super().save_authorization_code(client_id, code, request, *args, **kwargs)

    # --- The token request -----------------------------------------------------------------------
    # oauthlib asks for the code's scopes, challenge, method, redirect URI and nonce one at a time;
    # the toolkit would read the code from the database for each. It is read once per request.

    def _grant(self, code: str, request: Request) -> Grant | None:
        """The code being exchanged, read once per request (before the client is authenticated,
        oauthlib already asks for its scopes, so it is found by code alone; every use below
        checks the client)."""
        grant: Grant | None = getattr(request, "hawiya_grant", None)
        if grant is None or grant.code != code:
            grant = grant_by_code(code)
            request.hawiya_grant = grant
        return grant

    def _client_grant(self, code: str, request: Request, client: Application | None = None) -> Grant | None:
        grant = self._grant(code, request)
        client = client if client is not None else request.client
        if grant is None or client is None or grant.application_id != client.pk:
            return None
        return grant

    def get_authorization_code_scopes(
        self, client_id: str, code: str, redirect_uri: str, request: Request
    ) -> list[str]:
        grant = self._grant(code, request)
        return grant.scope.split() if grant is not None and grant.scope else []

    def get_authorization_code_nonce(
        self, client_id: str, code: str, redirect_uri: str, request: Request
    ) -> str | None:
        grant = self._grant(code, request)
        return grant.nonce or None if grant is not None else None

    def get_code_challenge(self, code: str, request: Request) -> str | None:
        grant = self._client_grant(code, request)
        return grant.code_challenge or None if grant is not None else None

    def get_code_challenge_method(self, code: str, request: Request) -> str | None:
        grant = self._client_grant(code, request)
        return grant.code_challenge_method or None if grant is not None else None

    def confirm_redirect_uri(
        self,
        client_id: str,
        code: str,
        redirect_uri: str,
        client: Application,
        request: Request | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        grant = self._client_grant(code, request, client) if request is not None else None
        return grant is not None and bool(grant.redirect_uri_allowed(redirect_uri))

    def validate_code(
        self, client_id: str, code: str, client: Application, request: Request, *args: Any, **kwargs: Any
    ) -> bool:
        grant = self._client_grant(code, request, client)
        if grant is not None and not grant.is_expired():
            request.scopes = grant.scope.split(" ")
            request.user = grant.user
            if grant.nonce:
                request.nonce = grant.nonce
            if grant.claims:
                request.claims = json.loads(grant.claims)
            return True
        if grant is None:
            # A replayed code: whoever holds it may have stolen it, so its tokens all go.
            code_replayed(code=code, application=client)
        return False

    def _check_and_set_request_resource(self, request: Request) -> None:
        # The toolkit reads the code again to inherit its resource indicators (RFC 8707); a code
        # with none, exchanged without any, has none to check.
        grant = getattr(request, "hawiya_grant", None)
        if (
            request.grant_type == "authorization_code"
            and grant is not None
            and not grant.resource
            and not getattr(request, "resource", None)
        ):
            request.resource = []
            return
        super()._check_and_set_request_resource(request)

    def _create_access_token(
        self, expires: Any, request: Request, token: dict[str, Any], source_refresh_token: Any = None
    ) -> AccessToken:
        """As the toolkit's, with the ID token this request signed (finalize_id_token) rather than
        one read back from its JWT, which verifies the signature again and queries for it."""
        access_token = AccessToken(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            id_token=getattr(request, "hawiya_id_token", None),
            application=request.client,
            source_refresh_token=source_refresh_token,
            resource=getattr(request, "resource", []),
        )
        self._set_token_value(access_token, token["access_token"])
        access_token.save()
        request.hawiya_access_token = access_token
        return access_token

    def _create_refresh_token(
        self, request: Request, refresh_token_code: str, access_token: Any, previous_refresh_token: Any
    ) -> Any:
        refresh_token = super()._create_refresh_token(
            request, refresh_token_code, access_token, previous_refresh_token
        )
        # The exchange of a code remembers its family (code_redeemed), without reading it back.
        request.hawiya_refresh_token = refresh_token
        return refresh_token

    def save_bearer_token(self, token: dict[str, Any], request: Request, *args: Any, **kwargs: Any) -> Any:
        """Everything an exchange writes, in one transaction: the code is deleted first, so of two
        exchanges of one code only one issues tokens; the other finds it gone and, as a replay,
        revokes what the first was given."""
        exchanging_code = request.grant_type == "authorization_code" and bool(request.code)
        with transaction.atomic():
            claimed = not exchanging_code or code_claim(code=request.code, application=request.client)
            if claimed:
                id_token: IDToken | None = getattr(request, "hawiya_id_token", None)
                if id_token is not None:
                    id_token.save()
                result = super().save_bearer_token(token, request, *args, **kwargs)
                if exchanging_code:
                    refresh_token = getattr(request, "hawiya_refresh_token", None)
                    code_redeemed(
                        code=request.code,
                        application=request.client,
                        access_token=request.hawiya_access_token,
                        token_family=refresh_token.token_family if refresh_token is not None else None,
                        party=party_of(request.client),
                    )
                token_event_record(
                    client_id=request.client.client_id,
                    action="oidc.token_issued",
                    user_id=getattr(request.user, "pk", None),
                    detail={"grant_type": str(request.grant_type)},
                )
        if not claimed:
            code_replayed(code=request.code, application=request.client)
            raise errors.InvalidGrantError(request=request)
        request.hawiya_code_claimed = exchanging_code
        return result

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Request, *args: Any, **kwargs: Any
    ) -> None:
        # save_bearer_token deleted it in the exchange's own transaction.
        if not getattr(request, "hawiya_code_claimed", False):
            super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)

    def revoke_token(
        self, token: str, token_type_hint: str | None, request: Request, *args: Any, **kwargs: Any
    ) -> None:
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        if request.client is not None:
            token_event_record(
                client_id=request.client.client_id,
                action="oidc.token_revoked",
                user_id=None,
                detail={"token_type_hint": str(token_type_hint or "")},
            )

    # --- Claims and the ID token -------------------------------------------------------------------

    def get_claim_dict(self, request: Request) -> dict[str, Any]:
        party = party_of(request.client)
        if party is None:
            return {}
        return {"sub": pairwise_subject(request.user, party), **claims_for(request.user, request.scopes)}

    def get_discovery_claims(self, request: Any) -> list[str]:
        return sorted(CLAIM_SCOPE)

    def get_id_token_dictionary(
        self, token: dict[str, Any], token_handler: Any, request: Request
    ) -> tuple[dict[str, Any], Any]:
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        context = request.claims.get(CONTEXT_KEY) if isinstance(request.claims, dict) else None
        if isinstance(context, dict):
            method = str(context.get("method") or "")
            claims["amr"] = amr_for_method(method)
            acr = context.get("acr")
            claims["acr"] = acr if isinstance(acr, str) and acr else acr_for_method(method)
            if isinstance(context.get("auth_time"), int | float):
                claims["auth_time"] = int(context["auth_time"])
        return claims, expiration_time

    def finalize_id_token(
        self, id_token: dict[str, Any], token: dict[str, Any], token_handler: Any, request: Request
    ) -> str:
        """Sign with the database's active key of the party's algorithm (RS256 or ES256, its
        `id_token_signed_response_alg`; not OIDC_RSA_PRIVATE_KEY nor Application.algorithm)."""
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        party = party_of(request.client)
        alg = party.id_token_signed_response_alg if party is not None else "RS256"
        kid, key = active_signing_key(alg)
        signed = jwt.JWT(
            header=json.dumps({"typ": "JWT", "alg": alg, "kid": kid}),
            claims=json.dumps(id_token, default=str),
        )
        signed.make_signed_token(key)
        # Saved with the access token, in save_bearer_token's transaction.
        request.hawiya_id_token = IDToken(
            user=request.user,
            scope=request.scope or " ".join(request.scopes),
            expires=expiration_time,
            jti=id_token["jti"],
            application=request.client,
        )
        return str(signed.serialize())

    def _get_key_for_token(self, token: str) -> Any:
        return _published_key_of(token)
