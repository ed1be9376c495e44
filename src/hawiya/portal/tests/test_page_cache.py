"""Pages for visitors without a session are rendered once a minute per process (page_cache.py),
and never mixed up with a signed-in citizen's page, another language or another display choice."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import caches
from django.test import Client

from hawiya.identity.tests.factories import make_account
from hawiya.portal import views
from hawiya.portal.display import COOKIE_NAME as DISPLAY_COOKIE
from hawiya.portal.page_cache import PAGE_CACHE

pytestmark = pytest.mark.django_db


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The templates the portal's page views render, in order."""
    rendered: list[str] = []
    original = views.render  # type: ignore[attr-defined]

    def counting(request: Any, template_name: str, *args: Any, **kwargs: Any) -> Any:
        rendered.append(template_name)
        return original(request, template_name, *args, **kwargs)

    monkeypatch.setattr(views, "render", counting)  # the name the views call
    caches[PAGE_CACHE].clear()
    return rendered


@pytest.mark.parametrize(
    "path", ["/ar/", "/en/", "/ar/services/track-requests/", "/en/privacy/", "/ar/contact/"]
)
def test_a_visitor_without_a_session_gets_the_page_rendered_once(renders, path) -> None:
    first = Client().get(path)
    second = Client().get(path)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert len(renders) == 1
    # Both say they vary by cookie, so no shared cache downstream gives them to a signed-in citizen.
    assert "Cookie" in first["Vary"]
    assert "Cookie" in second["Vary"]
    assert second["Content-Security-Policy"]
    assert second["X-Frame-Options"] == "DENY"
    assert second["Content-Type"] == "text/html; charset=utf-8"


def test_each_language_and_display_choice_has_its_own_page(renders) -> None:
    arabic = Client().get("/ar/").content
    english = Client().get("/en/").content
    larger = Client()
    larger.cookies[DISPLAY_COOKIE] = "larger.high"
    large_text = larger.get("/ar/").content
    assert b'lang="ar"' in arabic
    assert b'lang="en"' in english
    assert b"hw-text-larger hw-contrast-high" in large_text
    assert b"hw-text-larger" not in arabic
    assert len(renders) == 3
    # An unknown display value is the defaults' page, from the cache.
    odd = Client()
    odd.cookies[DISPLAY_COOKIE] = "huge.neon"
    assert odd.get("/ar/").content == arabic
    assert len(renders) == 3


def test_a_signed_in_citizen_never_gets_the_visitors_page_nor_leaves_theirs(renders) -> None:
    visitor_page = Client().get("/ar/").content
    citizen = Client()
    citizen.force_login(make_account())
    first = citizen.get("/ar/").content
    second = citizen.get("/ar/").content
    assert b"/sign-out/" in first
    assert b"/sign-out/" in second
    assert b"/sign-out/" not in visitor_page
    assert len(renders) == 3  # the visitor's once, the citizen's each time
    # The next visitor gets the visitor's page, with no trace of the citizen.
    assert Client().get("/ar/").content == visitor_page
    assert len(renders) == 3


def test_a_message_waiting_for_the_visitor_is_shown(renders) -> None:
    Client().get("/ar/")
    with_message = Client()
    with_message.cookies[CookieStorage.cookie_name] = "anything"
    with_message.get("/ar/")
    assert len(renders) == 2


def test_a_query_string_or_a_post_is_rendered_each_time(renders) -> None:
    client = Client()
    client.get("/ar/?from=sms")
    client.get("/ar/?from=sms")
    client.post("/ar/contact/")
    assert len(renders) == 3


def test_a_settings_change_drops_the_kept_pages(renders, settings) -> None:
    settings.DEMO = False
    assert "demonstration" not in Client().get("/en/").content.decode()
    settings.DEMO = True
    assert "demonstration" in Client().get("/en/").content.decode()
    assert len(renders) == 2


def test_the_shells_kept_fragments_follow_the_page_and_the_visitor() -> None:
    """base.html keeps the parts the same for everyone ({% cache %} in the "pages" cache) by
    language, page and signed-in state: rendered one after another, each gets its own."""
    from .html import find_all

    def track_link(content: bytes) -> str:
        return next(
            a.attrs["href"]
            for a in find_all(content, "a", "hw-nav__link")
            if "track" in a.attrs["href"] or "requests" in a.attrs["href"]
        )

    def current(content: bytes) -> list[str]:
        return [
            a.attrs["href"]
            for a in find_all(content, "a", "hw-nav__link")
            if a.attrs.get("aria-current") == "page"
        ]

    visitor = Client().get("/ar/contact/").content
    citizen = Client()
    citizen.force_login(make_account())
    signed_in = citizen.get("/ar/contact/").content
    english = citizen.get("/en/").content
    assert track_link(visitor) == "/ar/services/track-requests/"
    assert track_link(signed_in) == "/ar/requests/"
    assert current(visitor) == current(signed_in) == ["/ar/contact/"]
    assert current(english) == ["/en/"]
    assert b"Track my requests" in english
    assert "متابعة طلباتي".encode() in signed_in
    assert b'id="hw-idle-warning"' in signed_in
    assert b'id="hw-idle-warning"' not in visitor
