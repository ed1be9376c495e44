"""Shared by the approvals tests: a party allowed the scope, its token, a request made through the
service."""

from __future__ import annotations

import base64

from django.test import Client

from hawiya.approvals.models import ApprovalRequest
from hawiya.approvals.services import NewApproval, approval_request_create
from hawiya.audit.actors import Actor
from hawiya.identity.models import RelyingParty
from hawiya.identity.services.relying_parties import party_register

SYSTEM = Actor.system("tests")


def register(
    name: str = "Example Bank", scopes: tuple[str, ...] = ("openid", "approvals"), alg: str = "RS256"
) -> tuple[RelyingParty, str]:
    result = party_register(
        actor=SYSTEM,
        name_ar="بنك المثال",
        name_en=name,
        redirect_uris=["https://bank.example/callback"],
        allowed_scopes=list(scopes),
        token_endpoint_auth_method="client_secret_basic",
    )
    if alg != "RS256":
        RelyingParty.objects.filter(pk=result.party.pk).update(id_token_signed_response_alg=alg)
        result.party.refresh_from_db()
    return result.party, result.client_secret


def token_for(client: Client, party: RelyingParty, secret: str, scope: str = "approvals") -> str:
    basic = base64.b64encode(f"{party.application.client_id}:{secret}".encode()).decode()
    answer = client.post(
        "/oidc/token/",
        {"grant_type": "client_credentials", "scope": scope},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert answer.status_code == 200, answer.content
    return str(answer.json()["access_token"])


def ask(party: RelyingParty, id_number: str, callback_url: str = "") -> ApprovalRequest:
    return approval_request_create(
        actor=Actor.relying_party(party.application.client_id),
        party=party,
        new=NewApproval(
            id_number=id_number, purpose_ar="تسجيل الدخول", purpose_en="Sign in", callback_url=callback_url
        ),
    )
