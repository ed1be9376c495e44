"""/api/v1/openapi.json is built once per process and language, and is the same document."""

from __future__ import annotations

import pytest

from hawiya.api import v1


@pytest.fixture
def fresh_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(v1.api, "schemas", {})
    monkeypatch.setattr(v1.api, "documents", {})


def test_the_document_is_built_once_and_served_again(client, fresh_api, monkeypatch) -> None:
    from ninja.openapi.schema import get_schema

    built = []
    original = get_schema

    def counting(**kwargs):
        built.append(kwargs["path_prefix"])
        return original(**kwargs)

    # NinjaAPI.get_openapi_schema calls the builder by its name in ninja.main.
    monkeypatch.setattr("ninja.main.get_schema", counting)
    first = client.get("/api/v1/openapi.json")
    second = client.get("/api/v1/openapi.json")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert first.json()["info"]["title"] == "Hawiya API"
    assert built == ["/api/v1/"]


def test_each_language_gets_its_own_document(client, fresh_api) -> None:
    english = client.get("/api/v1/openapi.json", HTTP_ACCEPT_LANGUAGE="en")
    arabic = client.get("/api/v1/openapi.json", HTTP_ACCEPT_LANGUAGE="ar")
    assert english.status_code == arabic.status_code == 200
    assert sorted(language for _prefix, language in v1.api.schemas) == ["ar", "en"]


def test_the_document_is_answered_before_sessions_and_authentication(client, fresh_api, monkeypatch) -> None:
    """api.middleware.openapi_document answers it; the view behind the session middleware would
    have read nothing of the session either, but cost three times as much."""
    from ninja.openapi import views

    def not_here(*args, **kwargs):
        raise AssertionError("the document went the long way")

    monkeypatch.setattr(views, "openapi_json", not_here)
    response = client.get("/api/v1/openapi.json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Language"] == "en"
    assert "Accept-Language" in response["Vary"]
    assert "Cookie" in response["Vary"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Request-ID"]
    assert "Set-Cookie" not in response
    assert response.json()["info"]["title"] == "Hawiya API"


def test_the_early_document_is_the_views_document(client, fresh_api) -> None:
    """The same bytes as ninja's own view answers (reached here with a query string, which takes
    the long way), in each language."""
    for language in ("ar", "en"):
        early = client.get("/api/v1/openapi.json", HTTP_ACCEPT_LANGUAGE=language)
        by_view = client.get("/api/v1/openapi.json?v=1", HTTP_ACCEPT_LANGUAGE=language)
        assert early.status_code == by_view.status_code == 200
        assert early.content == by_view.content
        assert early["Content-Language"] == by_view["Content-Language"] == language


def test_the_language_cookie_chooses_the_documents_language(client, fresh_api, settings) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/api/v1/openapi.json", HTTP_ACCEPT_LANGUAGE="ar")
    assert response["Content-Language"] == "en"


def test_an_unknown_host_is_refused_as_on_every_page(client, fresh_api) -> None:
    response = client.get("/api/v1/openapi.json", HTTP_HOST="evil.example")
    assert response.status_code == 400


def test_head_is_answered_early_and_other_methods_go_the_long_way(client, fresh_api) -> None:
    head = client.head("/api/v1/openapi.json")
    assert head.status_code == 200
    assert head["Content-Type"] == "application/json"
    # A POST passes the CSRF, session and API guards as before (ninja's view answers any method).
    posted = client.post("/api/v1/openapi.json", data="{\x00}", content_type="application/json")
    assert posted.status_code == 400
    assert posted.json()["code"] == "request_malformed"
