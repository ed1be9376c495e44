"""The bearer check of the APIs a relying party calls with its own access token (client
credentials: document status, app approvals), one for all of them.

RFC 6750 answers: no token → 401 `token_missing` with a bare `WWW-Authenticate: Bearer`
challenge; an unknown, expired or revoked token, or one whose party is suspended → 401
`token_invalid` (`error="invalid_token"`); a valid token without the endpoint's scope, or whose
party is no longer allowed it → 403 `scope_missing` (`error="insufficient_scope"`). `request.auth`
is then the identity selector's PartyToken.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja.security import HttpBearer

from hawiya.core.errors import ApplicationError
from hawiya.identity.selectors import PartyToken, party_token_for_bearer

TOKEN_MISSING = "token_missing"  # noqa: S105 (an error code)
TOKEN_INVALID = "token_invalid"  # noqa: S105
SCOPE_MISSING = "scope_missing"


class TokenRefused(ApplicationError):
    """401 with the RFC 6750 §3 challenge."""

    status_code = 401

    @property
    def headers(self) -> dict[str, str]:
        if self.code == TOKEN_MISSING:
            return {"WWW-Authenticate": 'Bearer realm="hawiya"'}
        return {"WWW-Authenticate": 'Bearer realm="hawiya", error="invalid_token"'}


class ScopeMissing(ApplicationError):
    """403 naming the scope the endpoint needs (RFC 6750 §3.1)."""

    status_code = 403

    @property
    def headers(self) -> dict[str, str]:
        scope = str(self.extra.get("scope", ""))
        return {"WWW-Authenticate": f'Bearer realm="hawiya", error="insufficient_scope", scope="{scope}"'}


def token_missing() -> TokenRefused:
    return TokenRefused(TOKEN_MISSING, _("Send an access token: Authorization: Bearer <token>."))


def token_invalid() -> TokenRefused:
    return TokenRefused(
        TOKEN_INVALID, _("The access token is not valid: it is unknown, expired or revoked. Get a new one.")
    )


class PartyBearer(HttpBearer):
    """A party's access token carrying `scope`, for a party still allowed it. `refused` is the
    403's message, which names what the scope allows."""

    # One security scheme in the OpenAPI document for every such API (ninja names it by class).
    openapi_description = (
        "A relying party's access token from /oidc/token/ (grant_type=client_credentials) with the "
        "scope the operation needs (`document_status` or `approvals`), sent as "
        "`Authorization: Bearer <token>`."
    )

    def __init__(self, scope: str, *, refused: Any) -> None:
        super().__init__()
        self.scope = scope
        self.refused = refused

    def __call__(self, request: HttpRequest) -> PartyToken:
        value = request.headers.get(self.header, "")
        scheme, _space, token = value.partition(" ")
        if not value:
            raise token_missing()
        if scheme.lower() != "bearer" or not token.strip():
            raise token_invalid()
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> PartyToken:
        found = party_token_for_bearer(token=token)
        if found is None:
            raise token_invalid()
        if self.scope not in found.scopes or self.scope not in found.party.allowed_scopes:
            raise ScopeMissing(SCOPE_MISSING, self.refused, scope=self.scope)
        return found
