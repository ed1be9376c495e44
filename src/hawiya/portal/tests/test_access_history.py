"""Who accessed my data: staff and courier events about the signed-in person only, by office and
role (never a name), with a translated action, newest first, 25 a page."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hawiya.audit.actors import Actor
from hawiya.audit.selectors import staff_access_for_person
from hawiya.audit.services import audit_record
from hawiya.identity.models import User
from hawiya.identity.tests.factories import make_account, person_of
from hawiya.registry.models import Office
from hawiya.registry.tests.factories import make_office

from .html import find_all

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()


def _event(
    person_id: int, *, role: str = "officer", office: str = "", action: str = "person.record_viewed"
) -> None:
    with transaction.atomic():
        audit_record(
            actor=Actor.staff(7, role=role, office_code=office),
            action=action,
            object_type="registry.person",
            object_id=person_id,
            detail={"person_id": person_id},
        )


def _url(language: str = "en") -> str:
    with translation.override(language):
        return reverse("portal:account-access-history")


@pytest.fixture
def user() -> User:
    return make_account()


@pytest.fixture
def office() -> Office:
    return make_office(name_en="Al Malaz Civil Affairs Office", name_ar="مكتب الأحوال المدنية بالملز")


def test_the_selector_returns_only_staff_events_about_this_person(user: User, office: Office) -> None:
    person = person_of(user)
    other = person_of(make_account())
    _event(person.pk, office=office.code)
    _event(person.pk, role="courier", action="shipment.delivered")
    _event(person.pk, role="citizen", action="replacement.submitted")  # the person themself
    _event(other.pk, office=office.code)

    events = list(staff_access_for_person(person_id=person.pk))

    assert [event.actor_role for event in events] == ["courier", "officer"]
    assert all(event.detail["person_id"] == person.pk for event in events)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_page_lists_office_role_action_and_time(
    client: Client, user: User, office: Office, language: str
) -> None:
    person = person_of(user)
    _event(person.pk, office=office.code)
    _event(person.pk, office=office.code, action="some.future_action")
    _event(person_of(make_account()).pk, office=office.code, action="person.photo_viewed")
    client.force_login(user)

    response = client.get(_url(language))

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    cards = find_all(response.content.decode(), "li", "hw-account-card")
    assert len(cards) == 2
    page = response.content.decode()
    if language == "en":
        assert "Looked at or changed your record" in cards[0].text  # the unknown action, newest
        assert "Looked at your record" in cards[1].text
        assert "Al Malaz Civil Affairs Office" in cards[1].text
        assert "Officer" in cards[1].text
        assert "photo" not in page
    else:
        assert "مكتب الأحوال المدنية بالملز" in cards[1].text
    assert "user:7" not in page


def test_times_are_in_both_calendars_without_a_latin_comma_in_arabic(
    client: Client, user: User, office: Office
) -> None:
    _event(person_of(user).pk, office=office.code)
    client.force_login(user)

    ar = find_all(client.get(_url("ar")).content.decode(), "li", "hw-account-card")[0].text
    en = find_all(client.get(_url("en")).content.decode(), "li", "hw-account-card")[0].text

    assert "هـ" in ar
    assert "الساعة" in ar
    assert "," not in ar
    assert " AH) at " in en


def test_without_events_the_page_says_so(client: Client, user: User) -> None:
    client.force_login(user)
    response = client.get(_url())
    assert response.status_code == 200
    assert "No staff member or courier has accessed your data yet." in response.content.decode()


def test_the_history_is_paginated_by_25(client: Client, user: User) -> None:
    person = person_of(user)
    for _ in range(27):
        _event(person.pk)
    client.force_login(user)

    first = client.get(_url())
    second = client.get(_url(), {"page": "2"})
    nonsense = client.get(_url(), {"page": "x'; drop"})

    assert len(find_all(first.content.decode(), "li", "hw-account-card")) == 25
    assert len(find_all(second.content.decode(), "li", "hw-account-card")) == 2
    assert nonsense.status_code == 200
    assert 'rel="next"' in first.content.decode()


def test_the_account_page_links_to_it(client: Client, user: User) -> None:
    client.force_login(user)
    with translation.override("en"):
        account = reverse("portal:account")
    assert _url() in client.get(account).content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = client.get(_url())
    assert response.status_code == 302


def test_steps_on_a_request_made_for_a_child_are_shown_to_the_parent_who_applied(
    client: Client, user: User, office: Office
) -> None:
    """A child's certificate is recorded against the child (its holder); the parent who applied
    sees the officers' steps on that request too, and nobody else does."""
    from hawiya.appointments.tests.factories import make_replacement

    parent = person_of(user)
    request_for_child = make_replacement(applicant=parent)
    child_id = person_of(make_account()).pk
    with transaction.atomic():
        audit_record(
            actor=Actor.staff(7, role="officer", office_code=office.code),
            action="replacement.moved",
            object_type="replacements.replacement",
            object_id=request_for_child.pk,
            detail={"person_id": child_id, "to": "approved"},
        )
    client.force_login(user)
    cards = find_all(client.get(_url()).content.decode(), "li", "hw-account-card")
    assert len(cards) == 1
    assert "Moved your request to its next step" in cards[0].text

    stranger = make_account()
    client.force_login(stranger)
    assert find_all(client.get(_url()).content.decode(), "li", "hw-account-card") == []
