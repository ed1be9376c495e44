"""Details citizens notice: the DGA accessibility tools (text size, contrast), the favicon, the
password toggle's translated words, and the photo preview on the replacement's check page."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation
from PIL import Image

from hawiya.core import clock
from hawiya.identity.models import User
from hawiya.identity.tests.factories import make_account, person_of
from hawiya.portal.display import COOKIE_NAME
from hawiya.registry.tests.factories import make_address
from hawiya.replacements.tests.factories import lost_id_card, photo_bytes, service_office

from .html import find_all, find_one

pytestmark = pytest.mark.django_db
LANGUAGES = ["ar", "en"]


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()


def buttons(response: Any) -> dict[str, dict[str, str]]:
    """The accessibility tools' buttons by their text."""
    return {
        button.text: button.attrs
        for button in find_all(response.content, "button", "hw-display-tools__button")
    }


def html_class(response: Any) -> str:
    return str(find_one(response.content, "html").attrs.get("class", ""))


# --- Accessibility tools ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "title", "large", "contrast"),
    [
        ("ar", "أدوات سهولة الوصول", "كبير", "تباين عالٍ"),
        ("en", "Accessibility tools", "Large", "High contrast"),
    ],
)
def test_every_page_has_the_tools_in_its_footer(client: Client, language, title, large, contrast):
    response = client.get(f"/{language}/privacy/")
    footer = find_one(response.content, "footer")
    assert title in footer.text
    assert title in find_one(response.content, "section", "hw-display-tools").text
    form = find_one(response.content, "form", "hw-display-tools__form")
    assert form.attrs["method"] == "get"
    assert form.attrs["action"] == f"/{language}/display/"
    hidden = [el.attrs for el in find_all(response.content, "input") if el.attrs.get("name") == "next"]
    assert hidden == [{"type": "hidden", "name": "next", "value": f"/{language}/privacy/"}]
    found = buttons(response)
    assert found[large]["aria-pressed"] == "false"
    assert found[contrast]["aria-pressed"] == "false"
    assert html_class(response) == ""
    # Nothing is remembered until the tools are used.
    assert COOKIE_NAME not in response.cookies


@pytest.mark.parametrize("language", LANGUAGES)
def test_choosing_a_text_size_is_remembered_and_applied_on_the_server(client: Client, language):
    response = client.get(f"/{language}/display/", {"text_size": "large", "next": f"/{language}/terms/"})
    assert response.status_code == 302
    assert response["Location"] == f"/{language}/terms/#display-tools"
    assert response["Cache-Control"] == "no-store"
    cookie = response.cookies[COOKIE_NAME]
    assert cookie.value == "large.normal"
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    page = client.get(f"/{language}/terms/")
    assert html_class(page) == "hw-text-large"
    pressed = [text for text, attrs in buttons(page).items() if attrs["aria-pressed"] == "true"]
    assert pressed == ["كبير" if language == "ar" else "Large"]
    assert "Cookie" in page["Vary"]


def test_high_contrast_toggles_and_keeps_the_text_size(client: Client):
    client.get("/en/display/", {"text_size": "larger", "next": "/en/"})
    client.get("/en/display/", {"contrast": "high", "next": "/en/"})
    page = client.get("/en/")
    assert html_class(page) == "hw-text-larger hw-contrast-high"
    toggle = buttons(page)["High contrast"]
    assert toggle["aria-pressed"] == "true"
    # Pressed again, it switches contrast off.
    assert toggle["value"] == "normal"


def test_back_to_the_defaults_deletes_the_cookie(client: Client):
    client.get("/en/display/", {"contrast": "high", "next": "/en/"})
    response = client.get("/en/display/", {"contrast": "normal", "next": "/en/"})
    assert response.cookies[COOKIE_NAME].value == ""
    assert response.cookies[COOKIE_NAME]["max-age"] == 0
    assert html_class(client.get("/en/")) == ""


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", ""])
def test_the_tools_only_ever_go_back_to_a_page_of_this_site(client: Client, next_url):
    response = client.get("/ar/display/", {"text_size": "large", "next": next_url})
    assert response["Location"] == "/ar/#display-tools"


def test_unknown_choices_and_cookies_are_ignored(client: Client):
    response = client.get("/en/display/", {"text_size": "huge", "contrast": "<script>", "next": "/en/"})
    assert COOKIE_NAME not in response.cookies
    client.cookies[COOKIE_NAME] = 'x" onload="alert(1)'
    assert html_class(client.get("/en/")) == ""
    client.cookies[COOKIE_NAME] = "larger.neon"
    assert html_class(client.get("/en/")) == "hw-text-larger"


def test_the_accessibility_statement_and_cookies_page_describe_the_tools(client: Client):
    statement = find_one(client.get("/en/accessibility/").content, "main").text
    assert "not available yet" not in statement
    assert "make the text larger or switch to high contrast" in statement
    assert COOKIE_NAME in find_one(client.get("/en/cookies/").content, "main").text


# --- Favicon and the password toggle's words ---------------------------------------------------------


def test_favicon_is_linked_and_answered(client: Client):
    links = find_all(client.get("/ar/").content, "link")
    icons = {el.attrs["href"]: el.attrs for el in links if "icon" in el.attrs["rel"]}
    assert "/static/portal/favicon.svg" in icons
    assert icons["/static/portal/favicon.svg"]["type"] == "image/svg+xml"
    assert "/static/portal/favicon.ico" in icons
    for href in icons:
        assert finders.find(href.removeprefix("/static/")), href
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/portal/favicon.ico"
    found = finders.find("portal/favicon.ico")
    assert isinstance(found, str)
    with Image.open(found) as icon:
        assert icon.format == "ICO"


@pytest.mark.parametrize(
    ("language", "show", "label"), [("ar", "إظهار", "إظهار كلمة المرور"), ("en", "Show", "Show password")]
)
def test_the_password_toggle_words_are_translated(client: Client, language, show, label):
    content = client.get(f"/{language}/sign-in/").content
    strings = next(el for el in find_all(content, "div") if el.attrs.get("id") == "hw-password-strings")
    assert strings.attrs["data-show"] == show
    assert strings.attrs["data-show-label"] == label
    assert "hidden" in strings.attrs
    scripts = [el.attrs.get("src") for el in find_all(content, "script")]
    assert "/static/portal/password-toggle.js" in scripts


# --- The photo preview on the check-answers page ---------------------------------------------------


def citizen_at_the_check_page(client: Client, *, language: str = "en") -> User:
    user = make_account(biometrics_captured_on=clock.today() - dt.timedelta(days=300))
    make_address(person_of(user))
    document = lost_id_card(holder=person_of(user), office=service_office())
    client.force_login(user)
    with translation.override(language):
        client.post(reverse("portal:requests-new"), {"document": document.pk})
        client.post(
            reverse("portal:requests-new-contact"), {"address_confirmed": "on", "mobile_confirmed": "on"}
        )
        client.post(reverse("portal:requests-new-method"), {"method": "delivery"})
        photo = io.BytesIO(photo_bytes())
        photo.name = "me.jpg"
        client.post(reverse("portal:requests-new-photo"), {"photo": photo, "white_background_declared": "on"})
    return user


@pytest.mark.parametrize(
    ("language", "alt"), [("ar", "الصورة التي رفعتها"), ("en", "The photo you uploaded")]
)
def test_the_check_page_shows_the_uploaded_photo_from_an_owner_only_view(client: Client, language, alt):
    citizen_at_the_check_page(client, language=language)
    page = client.get(f"/{language}/requests/new/check-answers/")
    assert page.status_code == 200
    image = find_one(page.content, "img", "hw-photo-preview")
    assert image.attrs["alt"] == alt
    assert image.attrs["src"] == f"/{language}/requests/new/photo/preview/"
    assert "/media/" not in page.content.decode()
    response = client.get(image.attrs["src"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "no-store"
    with Image.open(io.BytesIO(response.content)) as shown:
        assert shown.size == (600, 800)


def test_the_photo_preview_is_nobody_elses(client: Client):
    citizen_at_the_check_page(client)
    preview = "/en/requests/new/photo/preview/"
    # Another citizen (own session, no photo in their journey) and an anonymous visitor.
    other = Client()
    other.force_login(make_account())
    assert other.get(preview).status_code == 404
    anonymous = Client().get(preview)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/en/sign-in/")
    assert client.get(preview).status_code == 200


def test_no_preview_without_an_uploaded_photo(client: Client):
    client.force_login(make_account())
    assert client.get("/en/requests/new/photo/preview/").status_code == 404
