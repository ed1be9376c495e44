"""The notification centre page and the header link with the unread count."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from hawiya.core import clock
from hawiya.identity.sessions import RECENT_AUTH_SESSION_KEY, recent_auth_session_value
from hawiya.identity.tests.factories import make_account, person_of
from hawiya.notifications.models import InboxNotification
from hawiya.notifications.services import notify
from hawiya.notifications.subjects import APPOINTMENT, LOSS, REPLACEMENT, Subject

from .html import find_all, find_one

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_accounts(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()


def signed_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[RECENT_AUTH_SESSION_KEY] = recent_auth_session_value(clock.now())
    session.save()
    return client


def tell(
    person_id: int,
    reference: str,
    *,
    subject: Subject | None = None,
    no_subject: bool = False,
    minutes_ago: int = 0,
) -> InboxNotification:
    """A notice about the lost-document report `reference`, or about `subject`, or (no_subject) none."""
    entry = notify(
        person_id=person_id,
        mobile="",
        language="ar",
        template="lost_document_reported",
        context={"reference": reference},
        subject=None if no_subject else (subject or Subject(LOSS, reference)),
    )
    if minutes_ago:
        entry.created_at = clock.now() - dt.timedelta(minutes=minutes_ago)
        entry.save(update_fields=["created_at"])
    return entry


def shown_ids(client: Client) -> list[str]:
    """The ids the list page posts back with "Mark all as read" (its hidden fields)."""
    page = client.get("/en/notifications/")
    return [
        el.attrs["value"] for el in find_all(page.content, "input") if el.attrs.get("name") == "notification"
    ]


def header_link(content: bytes):
    return next(a for a in find_all(content, "a") if "data-inbox-link" in a.attrs)


def test_anonymous_visitors_are_asked_to_sign_in_and_see_no_header_link(client):
    assert "/sign-in/" in client.get("/en/notifications/")["Location"]
    assert "/sign-in/" in client.post("/en/notifications/mark-read/")["Location"]
    assert not [a for a in find_all(client.get("/en/").content, "a") if "data-inbox-link" in a.attrs]


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_list_shows_the_persons_entries_newest_first_in_the_pages_language(language):
    user = make_account()
    person_id = person_of(user).pk
    tell(person_id, "LR00000001", minutes_ago=10)
    tell(person_id, "LR00000002")
    tell(person_of(make_account()).pk, "LR00000003")
    client = signed_in_client(user)

    response = client.get(f"/{language}/notifications/")

    assert response.status_code == 200
    items = find_all(response.content, "li", "hw-inbox__item")
    assert ["LR00000002" in items[0].text, "LR00000001" in items[1].text] == [True, True]
    assert len(items) == 2
    assert ("سُجّل بلاغ الفقدان" if language == "ar" else "lost-document report") in items[0].text
    assert len([el for el in find_all(response.content, "span") if "data-unread" in el.attrs]) == 2
    links = [a.attrs["href"] for a in find_all(response.content, "a") if a.attrs.get("aria-describedby")]
    assert links == [f"/{language}/lost-documents/LR00000002/", f"/{language}/lost-documents/LR00000001/"]


def test_an_entry_without_a_subject_or_with_a_reference_no_page_takes_has_no_link():
    user = make_account()
    tell(person_of(user).pk, "LR00000001", no_subject=True)
    tell(person_of(user).pk, "LR00000002", subject=Subject(LOSS, "../../evil"))
    response = signed_in_client(user).get("/en/notifications/")
    assert not [a for a in find_all(response.content, "a") if a.attrs.get("aria-describedby")]


@pytest.mark.parametrize(
    ("kind", "reference", "page"),
    [
        (LOSS, "LR00000001", "/ar/lost-documents/LR00000001/"),
        (REPLACEMENT, "RP00000001", "/ar/requests/RP00000001/"),
        (APPOINTMENT, "AP00000001", "/ar/appointments/AP00000001/"),
    ],
)
def test_each_kind_of_subject_links_to_its_page(kind, reference, page):
    user = make_account()
    tell(person_of(user).pk, "LR00000001", subject=Subject(kind, reference))
    response = signed_in_client(user).get("/ar/notifications/")
    assert [a.attrs["href"] for a in find_all(response.content, "a") if a.attrs.get("aria-describedby")] == [
        page
    ]


def test_the_header_shows_the_unread_count_with_words_for_screen_readers():
    user = make_account()
    for number in range(3):
        tell(person_of(user).pk, f"LR0000000{number}")
    client = signed_in_client(user)

    english = header_link(client.get("/en/").content)
    arabic = header_link(client.get("/ar/").content)

    assert english.attrs["href"] == "/en/notifications/"
    assert english.text == "Notifications 3 (3 unread)"
    assert "الإشعارات" in arabic.text
    assert "(3 إشعارات غير مقروءة)" in arabic.text


def test_one_unread_entry_is_announced_in_the_singular():
    user = make_account()
    tell(person_of(user).pk, "LR00000001")
    client = signed_in_client(user)
    assert "(1 unread)" in header_link(client.get("/en/").content).text
    assert "(إشعار واحد غير مقروء)" in header_link(client.get("/ar/").content).text


def test_marking_all_as_read_clears_the_count_post_redirect_get():
    user = make_account()
    tell(person_of(user).pk, "LR00000001")
    other = make_account()
    theirs = tell(person_of(other).pk, "LR00000002")
    client = signed_in_client(user)

    response = client.post("/en/notifications/mark-read/", {"notification": shown_ids(client)})

    assert response.status_code == 302
    assert response["Location"] == "/en/notifications/"
    page = client.get(response["Location"])
    assert "All notifications are marked as read." in find_one(page.content, "main").text
    assert header_link(page.content).text == "Notifications"
    assert not [el for el in find_all(page.content, "span") if "data-unread" in el.attrs]
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_wants_a_post():
    client = signed_in_client(make_account())
    assert client.get("/en/notifications/mark-read/").status_code == 405


def test_an_empty_centre_says_so():
    response = signed_in_client(make_account()).get("/ar/notifications/")
    assert "لا توجد لديك إشعارات بعد" in find_one(response.content, "main").text


def test_marking_read_touches_only_the_entries_the_page_showed():
    user = make_account()
    seen = tell(person_of(user).pk, "LR00000001")
    theirs = tell(person_of(make_account()).pk, "LR00000002")
    client = signed_in_client(user)
    ids = shown_ids(client)
    assert ids == [str(seen.pk)]
    # Arrives after the page was shown: the person has not read it.
    arrived = tell(person_of(user).pk, "LR00000003")

    client.post("/en/notifications/mark-read/", {"notification": [*ids, str(theirs.pk), "x", "1e9"]})

    seen.refresh_from_db()
    arrived.refresh_from_db()
    theirs.refresh_from_db()
    assert seen.read_at is not None
    assert arrived.read_at is None
    assert theirs.read_at is None
    assert "(1 unread)" in header_link(client.get("/en/").content).text


def test_marking_read_without_ids_marks_nothing():
    user = make_account()
    entry = tell(person_of(user).pk, "LR00000001")

    response = signed_in_client(user).post("/en/notifications/mark-read/")

    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.read_at is None
