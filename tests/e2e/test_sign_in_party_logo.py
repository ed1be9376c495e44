"""A party's authorization request leads to Hawiya's sign-in page, which shows the party's logo
(loaded, not a broken image) named in the page language, and passes the page checklist."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.core.files.base import ContentFile
from PIL import Image

from hawiya.oidc.tests.conftest import REDIRECT_URI, make_party

from .checklist import form_check

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _client_secrets(settings):
    # make_party's client secret is hashed by CLIENT_SECRET_HASHER, which must stay a known hasher.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "hawiya.identity.client_secrets.ClientSecretHasher",
    ]


@pytest.mark.parametrize(("language", "name"), [("ar", "بنك المثال"), ("en", "Example Bank")])
def test_the_sign_in_page_shows_the_partys_logo(live_server, open_page, language, name):
    party = make_party()
    picture = io.BytesIO()
    Image.new("RGB", (48, 48), "green").save(picture, format="PNG")
    party.logo.save("bank.png", ContentFile(picture.getvalue()))
    query = {
        "response_type": "code",
        "client_id": party.application.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile",
        "nonce": "n-1",
        "state": "s-1",
        "code_challenge": create_s256_code_challenge("v" * 64),
        "code_challenge_method": "S256",
        "ui_locales": language,
    }
    page = open_page(360)
    page.goto(f"{live_server.url}/oidc/authorize/?{urlencode(query)}")
    page.wait_for_url(f"{live_server.url}/{language}/sign-in/**")

    logo = page.get_by_role("img", name=name)
    assert logo.is_visible()
    assert logo.evaluate("image => image.complete && image.naturalWidth") == 48
    assert name in page.locator("h1").inner_text()
    form_check(page, language)
