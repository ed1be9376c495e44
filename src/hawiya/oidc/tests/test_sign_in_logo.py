"""The party's logo on Hawiya's sign-in page, when the sign-in is a step of the party's request
("Sign in to <party> with Hawiya"): served by the oidc app, its alt text the party's name."""

from __future__ import annotations

import html
import io
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image

from hawiya.identity.models import RelyingParty
from hawiya.oidc.tests.conftest import make_flow

pytestmark = pytest.mark.django_db


def png() -> bytes:
    picture = io.BytesIO()
    Image.new("RGB", (32, 32), "green").save(picture, format="PNG")
    return picture.getvalue()


def sign_in_page(client: Any, party: RelyingParty, language: str) -> str:
    """The sign-in page the party's authorization request leads an anonymous person to."""
    flow = make_flow(client, party)
    location = flow.get(flow.authorize_url(ui_locales=language))["Location"]
    assert "/sign-in" in location
    page = client.get(location)
    assert page.status_code == 200
    return page.content.decode()


def logo_url(party: RelyingParty) -> str:
    return reverse("oauth2_provider:party-logo", args=[party.application.client_id])


@pytest.mark.parametrize(("language", "name"), [("en", "Example Bank"), ("ar", "بنك المثال")])
def test_the_sign_in_page_shows_the_partys_logo_named_in_the_page_language(client, party, language, name):
    picture = png()
    party.logo.save("bank.png", ContentFile(picture))
    page = sign_in_page(client, party, language)
    assert f'<img src="{logo_url(party)}" alt="{html.escape(name)}"' in page
    served = client.get(logo_url(party))
    assert (served.status_code, served["Content-Type"]) == (200, "image/png")
    assert served.content == picture


def test_a_party_without_a_logo_gets_no_image(client, party):
    page = sign_in_page(client, party, "en")
    assert "Sign in to Example Bank with Hawiya" in page
    assert logo_url(party) not in page
    assert "/oidc/parties/" not in page


def test_the_sign_in_page_outside_a_partys_request_shows_no_logo(client, party):
    party.logo.save("bank.png", ContentFile(png()))
    page = client.get(reverse("portal:sign-in")).content.decode()
    assert "/oidc/parties/" not in page


def test_the_logo_stays_when_the_sign_in_form_is_shown_again_with_an_error(client, party):
    party.logo.save("bank.png", ContentFile(png()))
    flow = make_flow(client, party)
    location = flow.get(flow.authorize_url(ui_locales="en"))["Location"]
    next_url = client.get(location).context["form"].initial["next"]
    answer = client.post(location.split("?")[0], {"next": next_url, "login": "", "password": ""})
    assert answer.status_code in {200, 400}
    assert f'<img src="{logo_url(party)}" alt="Example Bank"' in answer.content.decode()
