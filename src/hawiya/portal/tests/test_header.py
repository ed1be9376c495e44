"""The header: its menu for a signed-in citizen (My account, notifications, sign-out) and where
"Track my requests" leads, signed in (the list) and signed out (the start page), in both languages."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from hawiya.identity.tests.factories import make_account

from .html import Element, find_all, find_one

pytestmark = pytest.mark.django_db

TRACK = {"ar": "متابعة طلباتي", "en": "Track my requests"}


@pytest.fixture(autouse=True)
def _fast_accounts(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()


def signed_in() -> Client:
    client = Client()
    client.force_login(make_account())
    return client


def links(content: bytes, text: str) -> list[Element]:
    return [a for a in find_all(content, "a") if a.text == text]


@pytest.mark.parametrize(
    ("language", "menu", "account"), [("ar", "القائمة", "حسابي"), ("en", "Menu", "My account")]
)
def test_a_signed_in_citizen_has_a_menu_with_my_account_and_sign_out(language, menu, account):
    content = signed_in().get(f"/{language}/").content

    details = find_one(content, "details", "hw-menu")
    assert "data-header-menu" in details.attrs
    assert find_one(content, "summary", "hw-menu__summary").text == menu
    # Inside the menu: the main menu (for phones), My account, the notifications, sign-out.
    assert [a.attrs["href"] for a in find_all(content, "a", "hw-menu__link")] == [
        f"/{language}/",
        f"/{language}/requests/",
        f"/{language}/contact/",
        f"/{language}/account/",
        f"/{language}/notifications/",
    ]
    assert [a.text for a in find_all(content, "a", "hw-menu__link")][3] == account
    assert (
        find_one(content, "button", "hw-menu__button").text
        == {"ar": "تسجيل الخروج", "en": "Sign out"}[language]
    )
    assert find_all(content, "nav", "hw-menu__nav")[0].attrs["aria-label"]


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_unread_count_shows_on_the_closed_menu(language):
    from hawiya.identity.tests.factories import person_of
    from hawiya.notifications.services import notify
    from hawiya.notifications.subjects import LOSS, Subject

    user = make_account()
    notify(
        person_id=person_of(user).pk,
        mobile="",
        language=language,
        template="lost_document_reported",
        context={"reference": "LR-TEST"},
        subject=Subject(LOSS, "LR-TEST"),
    )
    client = Client()
    client.force_login(user)

    summary = find_one(client.get(f"/{language}/").content, "summary", "hw-menu__summary")
    assert summary.text == {"ar": "القائمة 1 (إشعار واحد غير مقروء)", "en": "Menu 1 (1 unread)"}[language]


@pytest.mark.parametrize("language", ["ar", "en"])
def test_track_my_requests_goes_to_the_list_when_signed_in(language):
    content = signed_in().get(f"/{language}/").content

    assert {a.attrs["href"] for a in links(content, TRACK[language])} == {f"/{language}/requests/"}
    card = next(
        a for a in find_all(content, "a", "hw-card__cta") if a.attrs["id"] == "service-track-requests-cta"
    )
    assert card.attrs["href"] == f"/{language}/requests/"


@pytest.mark.parametrize("language", ["ar", "en"])
def test_track_my_requests_goes_to_its_start_page_when_signed_out(client, language):
    content = client.get(f"/{language}/").content

    assert {a.attrs["href"] for a in links(content, TRACK[language])} == {
        f"/{language}/services/track-requests/"
    }
    assert not find_all(content, "details", "hw-menu")
    assert find_one(content, "a", "hw-header__button").attrs["href"] == f"/{language}/sign-in/"


def test_my_account_is_marked_as_the_current_page_in_the_menu():
    content = signed_in().get("/en/account/").content

    current = [a for a in find_all(content, "a", "hw-menu__link") if a.attrs.get("aria-current") == "page"]
    assert [a.text for a in current] == ["My account"]
