"""Managing parties and connections, seen from a real client: a suspension, a new secret and a
citizen's removal of access take effect on the provider at once (the services of
identity/services/relying_parties.py, driven through Authlib as in test_provider.py)."""

from __future__ import annotations

from typing import Any

import pytest
from authlib.integrations.base_client.errors import OAuthError
from django.urls import reverse
from django.utils import translation

from hawiya.audit.actors import Actor
from hawiya.identity.models import RelyingParty, User
from hawiya.identity.services import relying_parties
from hawiya.oidc.tests.conftest import ISSUER, Flow

pytestmark = pytest.mark.django_db

USERINFO = f"{ISSUER}/oidc/userinfo/"
ADMIN = Actor.system("test.oidc")


def userinfo_status(flow: Flow, token: dict[str, Any]) -> int:
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    return int(flow.session.get(USERINFO, withhold_token=True, headers=headers).status_code)


def test_suspending_through_the_service_stops_the_tokens_and_resuming_does_not_revive_them(
    flow: Flow, party: RelyingParty
) -> None:
    token = flow.tokens(flow.code_redirect())
    assert userinfo_status(flow, token) == 200

    relying_parties.party_suspend(actor=ADMIN, party_id=party.pk)
    assert userinfo_status(flow, token) == 401

    relying_parties.party_resume(actor=ADMIN, party_id=party.pk)
    assert userinfo_status(flow, token) == 401  # deleted, not paused
    fresh = flow.tokens(flow.code_redirect())
    assert userinfo_status(flow, fresh) == 200


def test_a_new_secret_locks_out_the_old_one_at_the_token_endpoint(flow: Flow, party: RelyingParty) -> None:
    location = flow.code_redirect()
    result = relying_parties.party_rotate_secret(actor=ADMIN, party_id=party.pk)
    with pytest.raises(OAuthError) as caught:
        flow.tokens(location)
    assert caught.value.error == "invalid_client"
    flow.session.client_secret = result.client_secret
    assert userinfo_status(flow, flow.tokens(flow.code_redirect())) == 200


def test_the_citizen_sees_the_party_after_signing_in_and_removing_it_stops_its_token(
    flow: Flow, party: RelyingParty, citizen: User
) -> None:
    token = flow.tokens(flow.code_redirect())
    with translation.override("en"):
        page_url = reverse("portal:account-connections")
        revoke_url = reverse("portal:account-connection-revoke", kwargs={"party_id": str(party.pk)})
    page = flow.browser.get(page_url).content.decode()
    assert f'data-connection="{party.pk}"' in page
    assert "Not yet" not in page  # the sign-in just made is its last one

    assert flow.browser.post(revoke_url).status_code == 302
    assert userinfo_status(flow, token) == 401
    assert "data-no-connections" in flow.browser.get(page_url).content.decode()
