"""The language toggle, the remembered language and the bare "/" redirect."""

import pytest

from .html import find_one


@pytest.mark.parametrize(
    ("url", "toggle_href", "toggle_lang", "toggle_text"),
    [
        ("/ar/", "/en/", "en", "English"),
        ("/en/", "/ar/", "ar", "العربية"),
        ("/ar/services/appointments/", "/en/services/appointments/", "en", "English"),
        ("/en/privacy/", "/ar/privacy/", "ar", "العربية"),
    ],
)
def test_toggle_is_a_direct_link_to_the_same_page_in_the_other_language(
    client, url, toggle_href, toggle_lang, toggle_text
):
    response = client.get(url)
    toggle = find_one(response.content, "a", "hw-language-toggle")

    assert toggle.attrs["href"] == toggle_href
    assert toggle.attrs["lang"] == toggle.attrs["hreflang"] == toggle_lang
    assert toggle.text == toggle_text


def test_toggle_keeps_the_query_string(client):
    response = client.get("/ar/services/track-requests/?page=2&sort=new")
    toggle = find_one(response.content, "a", "hw-language-toggle")

    assert toggle.attrs["href"] == "/en/services/track-requests/?page=2&sort=new"


def test_the_display_tools_come_back_to_this_page_with_its_query(client):
    response = client.get("/ar/services/track-requests/?page=2&sort=new")
    assert 'name="next" value="/ar/services/track-requests/?page=2&amp;sort=new"' in response.content.decode()


@pytest.mark.parametrize(
    ("path", "query"), [("/ar/services/track-requests/", "q=" + "x" * 5000), ("/ar/" + "x" * 5000 + "/", "")]
)
def test_an_address_too_long_for_a_request_line_is_not_repeated_in_the_pages_links(client, path, query):
    response = client.get(f"{path}?{query}")

    assert response.status_code == 400  # refused by the page guard (core/guard.py)
    assert find_one(response.content, "a", "hw-language-toggle").attrs["href"] == "/en/"
    assert 'name="next" value="/ar/"' in response.content.decode()
    assert "x" * 5000 not in response.content.decode()
    assert len(response.content) < 60_000


def test_toggle_target_really_is_the_same_page(client):
    ar = client.get("/ar/services/request-replacement/")
    en = client.get(find_one(ar.content, "a", "hw-language-toggle").attrs["href"])

    assert en.status_code == 200
    assert find_one(en.content, "h1").text == "Request a replacement"
    assert find_one(ar.content, "h1").text == "طلب بدل فاقد"


def test_reading_a_language_remembers_it_in_the_cookie(client, settings):
    response = client.get("/en/")

    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en"
    assert cookie["max-age"] == settings.LANGUAGE_COOKIE_AGE
    assert cookie["samesite"] == settings.LANGUAGE_COOKIE_SAMESITE
    assert cookie["path"] == settings.LANGUAGE_COOKIE_PATH


def test_cookie_is_written_only_when_the_language_changes(client, settings):
    client.get("/en/")
    again = client.get("/en/privacy/")
    switched = client.get("/ar/privacy/")

    assert settings.LANGUAGE_COOKIE_NAME not in again.cookies
    assert switched.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ar"


def test_probes_and_root_do_not_touch_the_cookie(client, settings):
    assert settings.LANGUAGE_COOKIE_NAME not in client.get("/healthz").cookies
    assert settings.LANGUAGE_COOKIE_NAME not in client.get("/").cookies


def test_root_redirects_to_arabic_when_nothing_is_remembered(client):
    response = client.get("/", headers={"accept-language": "en-GB,en;q=0.9"})

    assert response.status_code == 302
    assert response["Location"] == "/ar/"
    assert "Cookie" in response["Vary"]


def test_root_redirects_to_the_remembered_language(client):
    client.get("/en/")
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/en/"

    client.get("/ar/services/appointments/")
    assert client.get("/")["Location"] == "/ar/"


@pytest.mark.parametrize("value", ["//evil.example/", "https://evil.example", "fr", "en/../..", ""])
def test_root_never_redirects_anywhere_else(client, settings, value):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = value
    response = client.get("/")

    assert response["Location"] == "/ar/"
