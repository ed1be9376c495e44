"""/api/v1/openapi.json is built once per process and language, and is the same document."""

from __future__ import annotations

import pytest

from hawiya.api import v1


@pytest.fixture
def fresh_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(v1.api, "schemas", {})


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
