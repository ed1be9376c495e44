"""Find a person: officers and supervisors search by name or ID number (POSTed, never in a URL),
each search audited without what was typed; a result opens at the counter (audited look-up)."""

from __future__ import annotations

from html import escape
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hawiya.audit.models import AuditEvent
from hawiya.casework.counter import AUDIT_COUNTER_LOOKUP
from hawiya.casework.person_search import AUDIT_PERSON_SEARCHED
from hawiya.casework.tests.factories import signed_in
from hawiya.identity.models import StaffRole
from hawiya.identity.staff import StaffActor
from hawiya.identity.tests.factories import make_account, make_citizen, make_staff
from hawiya.registry.models import Office
from hawiya.registry.tests.factories import make_office

from .. import counter_views

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _url(name: str, language: str = "en") -> str:
    with translation.override(language):
        return reverse(f"backoffice:{name}")


@pytest.fixture
def office() -> Office:
    return make_office()


@pytest.fixture
def officer(office: Office) -> StaffActor:
    return make_staff(role=StaffRole.OFFICER, office=office)


def _searches() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AUDIT_PERSON_SEARCHED).order_by("sequence"))


@pytest.mark.parametrize("name", ["people-search", "people-open"])
def test_anonymous_users_citizens_and_administrators_cannot_search(client: Client, name: str) -> None:
    url = _url(name)
    response = client.post(url, {"query": "محمد", "person": "1"})
    assert response.status_code == 302
    assert response["Location"].startswith(_url("sign-in"))
    client.force_login(make_account())
    assert client.get(url).status_code in {403, 405}
    assert client.post(url, {"query": "محمد", "person": "1"}).status_code == 403
    signed_in(make_staff(role=StaffRole.ADMINISTRATOR, office=None), client)
    assert client.post(url, {"query": "محمد", "person": "1"}).status_code == 403
    assert _searches() == []


@pytest.mark.parametrize(("language", "heading"), [("ar", "البحث عن شخص"), ("en", "Find a person")])
def test_officers_and_supervisors_have_the_page_in_both_languages(
    client: Client, office: Office, language: str, heading: str
) -> None:
    for role in (StaffRole.OFFICER, StaffRole.SUPERVISOR):
        staff = signed_in(make_staff(role=role, office=office), Client())
        response = staff.get(_url("people-search", language))
        assert response.status_code == 200
        page = response.content.decode()
        assert f'lang="{language}"' in page
        assert f'<h1 class="hw-heading-xl">{heading}</h1>' in page
        assert response["Cache-Control"] == "no-store"
    assert _searches() == []


@pytest.mark.parametrize("language", ["ar", "en"])
def test_a_name_search_lists_masked_results_and_is_audited_without_the_query(
    client: Client, officer: StaffActor, language: str
) -> None:
    person = make_citizen(first_name_ar="أحمد", first_name_en="Ahmed")
    make_citizen(first_name_ar="خالد", first_name_en="Khalid")
    staff = signed_in(officer, client)

    response = staff.post(_url("people-search", language), {"query": "احمد العتيبى"})

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("data-person-row") == 1
    assert (person.full_name_ar if language == "ar" else person.full_name_en) in page
    assert person.id_number not in page
    assert person.id_number[-2:] in page
    [event] = _searches()
    assert event.detail == {"by_id_number": False, "results": 1, "more": False, "offset": 0}
    assert event.actor_role == "officer"
    assert "احمد" not in str(event.detail)
    assert "العتيب" not in str(event.detail)


def test_an_id_number_search_finds_exactly_that_person(client: Client, officer: StaffActor) -> None:
    person = make_citizen()
    make_citizen()
    response = signed_in(officer, client).post(_url("people-search"), {"query": person.id_number})
    assert response.content.decode().count("data-person-row") == 1
    [event] = _searches()
    assert event.detail == {"by_id_number": True, "results": 1, "more": False, "offset": 0}
    assert person.id_number not in str(event.detail)


def test_nobody_found_is_a_clear_empty_state(client: Client, officer: StaffActor) -> None:
    make_citizen()
    response = signed_in(officer, client).post(_url("people-search"), {"query": "Zzyzx Qwerty"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "data-people-empty" in page
    assert "No person in the register matches this search." in page
    assert _searches()[0].detail["results"] == 0


def test_more_results_come_page_by_page(client: Client, officer: StaffActor, monkeypatch: Any) -> None:
    from hawiya.registry import selectors

    monkeypatch.setattr(selectors, "SEARCH_PAGE_SIZE", 2)
    for _ in range(3):
        make_citizen()
    staff = signed_in(officer, client)
    first = staff.post(_url("people-search"), {"query": "Alotaibi"}).content.decode()
    assert first.count("data-person-row") == 2
    assert 'name="offset" value="2"' in first
    second = staff.post(_url("people-search"), {"query": "Alotaibi", "offset": "2"}).content.decode()
    assert second.count("data-person-row") == 1
    assert [event.detail["offset"] for event in _searches()] == [0, 2]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Enter a name or an ID number."),
        ("   ", "Enter a name or an ID number."),
        ("x" * 10_000, "Enter at most 200 characters."),
        ("ـ", "Enter an ID number, or at least two letters of a name."),
        ("!!!", "Enter an ID number, or at least two letters of a name."),
        ("١٢٣", "The ID number must be 10 digits; you entered 3."),
        ("1058529941", "This is not a valid ID number"),
    ],
)
def test_bad_input_is_a_clear_error_never_a_500(
    client: Client, officer: StaffActor, query: str, message: str
) -> None:
    response = signed_in(officer, client).post(_url("people-search"), {"query": query})
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page
    assert escape(message) in page


def test_a_nul_byte_is_refused_before_the_page(client: Client, officer: StaffActor) -> None:
    # core.guard refuses NUL bytes in any form with its own 400 page.
    response = signed_in(officer, client).post(_url("people-search"), {"query": "محمد\x00"})
    assert response.status_code == 400
    assert _searches() == []


@pytest.mark.parametrize("offset", ["-1", "x", "100000", "1e9"])
def test_a_tampered_page_offset_is_a_clear_error(client: Client, officer: StaffActor, offset: str) -> None:
    response = signed_in(officer, client).post(_url("people-search"), {"query": "محمد", "offset": offset})
    assert response.status_code == 400
    assert _searches() == []


def test_a_refused_search_is_audited_with_its_reason_only(client: Client, officer: StaffActor) -> None:
    signed_in(officer, client).post(_url("people-search"), {"query": "1058529941"})
    [event] = _searches()
    assert event.detail == {"refused": "id_number_invalid", "results": 0}


def test_the_query_never_goes_into_a_url(client: Client, officer: StaffActor) -> None:
    person = make_citizen()
    staff = signed_in(officer, client)
    page = staff.get(_url("people-search"), {"query": person.id_number}).content.decode()
    assert "data-person-row" not in page  # a GET shows the empty form: searching is a POST
    assert _searches() == []


def test_a_result_opens_at_the_counter_with_an_audited_look_up(client: Client, officer: StaffActor) -> None:
    person = make_citizen()
    staff = signed_in(officer, client)

    response = staff.post(_url("people-open"), {"person": str(person.pk)})

    assert response.status_code == 302
    assert response["Location"] == _url("counter")
    assert staff.session[counter_views.COUNTER_SESSION_KEY] == person.pk
    event = AuditEvent.objects.get(action=AUDIT_COUNTER_LOOKUP)
    assert event.detail == {"person_id": person.pk}
    assert person.full_name_ar in staff.get(_url("counter", "ar")).content.decode()


@pytest.mark.parametrize("person", ["", "0", "x", "99999999", "-5", "1" * 40])
def test_opening_a_missing_person_is_not_found(client: Client, officer: StaffActor, person: str) -> None:
    response = signed_in(officer, client).post(_url("people-open"), {"person": person})
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action=AUDIT_COUNTER_LOOKUP).exists()


def test_the_navigation_offers_the_page_to_officers_only(client: Client, officer: StaffActor) -> None:
    assert _url("people-search") in signed_in(officer, client).get(_url("counter")).content.decode()
    administrator = signed_in(make_staff(role=StaffRole.ADMINISTRATOR, office=None), Client())
    assert _url("people-search") not in administrator.get(_url("parties")).content.decode()
