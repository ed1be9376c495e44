"""Report a lost document: the question pages, check answers, the report page and its receipt."""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from hawiya.audit.actors import Actor
from hawiya.core import clock
from hawiya.identity.models import User
from hawiya.identity.sessions import RECENT_AUTH_SESSION_KEY, recent_auth_session_value
from hawiya.identity.tests.factories import make_account, person_of
from hawiya.losses.models import LossReport
from hawiya.notifications.models import InboxNotification, SmsMessage
from hawiya.registry.models import Document, DocumentKind, DocumentStatus, Relation
from hawiya.registry.tests.factories import make_document, make_family_record, make_person

from .html import find_all, find_one

pytestmark = pytest.mark.django_db

LANGUAGES = ["ar", "en"]


@pytest.fixture(autouse=True)
def _fast_accounts(settings: Any) -> Iterator[None]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()
    yield
    cache.clear()


def url(name: str, language: str = "en", *args: Any, query: str = "") -> str:
    with translation.override(language):
        return reverse(f"portal:{name}", args=args) + query


def sign_in(client: Client, user: User, *, fresh: bool = True) -> None:
    client.force_login(user)
    session = client.session
    moment = clock.now() if fresh else clock.now() - dt.timedelta(minutes=30)
    session[RECENT_AUTH_SESSION_KEY] = recent_auth_session_value(moment)
    session.save()


def text(response: Any) -> str:
    return " ".join(response.content.decode().split())


def main_text(response: Any) -> str:
    return find_one(response.content, "main").text


def error_summary(response: Any) -> str:
    return find_one(response.content, "div", "hw-error-summary").text


@pytest.fixture
def user() -> User:
    return make_account()


@pytest.fixture
def card(user: User) -> Document:
    return make_document(
        holder=person_of(user), kind=DocumentKind.NATIONAL_ID_CARD, issue_date=dt.date(2020, 1, 5)
    )


@pytest.fixture
def signed_in(client: Client, user: User, card: Document) -> Client:
    sign_in(client, user)
    return client


def lost_on(days_ago: int = 3) -> dt.date:
    return clock.today() - dt.timedelta(days=days_ago)


def answer_all(client: Client, documents: list[Document], *, language: str = "en", days_ago: int = 3) -> None:
    """Answer every question up to the check page."""
    day = lost_on(days_ago)
    steps = [
        ("losses-start", {"documents": [str(d.pk) for d in documents]}),
        ("losses-when", {"day": str(day.day), "month": str(day.month), "year": str(day.year)}),
        ("losses-where", {"place": "in_kingdom", "city": "Jeddah"}),
        ("losses-what", {"circumstances": "Left it in a taxi at the airport."}),
        ("losses-declaration", {"declaration": "on"}),
    ]
    for name, data in steps:
        if name == "losses-start":
            client.get(url(name, language))
        response = client.post(url(name, language), data)
        assert response.status_code == 302, (name, text(response)[:2000])


def confirm(client: Client, language: str = "en") -> Any:
    page = client.get(url("losses-check", language))
    hidden = [el for el in find_all(page.content, "input") if el.attrs.get("name") == "idempotency_key"]
    assert hidden, text(page)[:2000]
    return client.post(url("losses-check", language), {"idempotency_key": hidden[0].attrs["value"]})


# --- Signing in and ownership -----------------------------------------------------------------


def test_every_page_asks_an_anonymous_visitor_to_sign_in(client: Client):
    for name in (
        "losses-start",
        "losses-when",
        "losses-where",
        "losses-what",
        "losses-declaration",
        "losses-check",
    ):
        response = client.get(url(name))
        assert response.status_code == 302
        assert "/sign-in/" in response["Location"]
    assert "/sign-in/" in client.get("/en/lost-documents/LR12345678/")["Location"]


def test_the_service_page_starts_the_journey(client: Client):
    page = client.get("/ar/services/report-lost-document/")
    start = [a for a in find_all(page.content, "a", "hw-button") if "data-start" in a.attrs]
    assert start
    assert start[0].attrs["href"] == "/ar/lost-documents/"


# --- The questions ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_first_page_lists_the_persons_documents(signed_in: Client, user: User, card: Document, language):
    response = signed_in.get(url("losses-start", language))

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert len(find_all(response.content, "h1")) == 1
    body = main_text(response)
    assert card.serial_number in body
    with translation.override(language):
        assert person_of(user).full_name in body
    assert [
        el.attrs["value"] for el in find_all(response.content, "input") if el.attrs.get("type") == "checkbox"
    ] == [str(card.pk)]


def test_a_person_with_nothing_to_report_sees_why(client: Client):
    user = make_account()
    sign_in(client, user)
    response = client.get(url("losses-start", "ar"))
    assert response.status_code == 200
    assert "لا توجد لديك وثائق" in find_one(response.content, "h1").text
    assert not [el for el in find_all(response.content, "input") if el.attrs.get("type") == "checkbox"]


def test_the_head_of_family_can_choose_a_childs_birth_certificate(client: Client):
    user = make_account()
    head = person_of(user)
    child = make_person(
        first_name_ar="فهد", first_name_en="Fahad", date_of_birth=dt.date(2015, 1, 1), mobile=""
    )
    make_family_record(head=head, members=[(child, Relation.SON)])
    birth = make_document(holder=child, kind=DocumentKind.BIRTH_CERTIFICATE, issue_date=dt.date(2015, 2, 1))
    sign_in(client, user)

    response = client.get(url("losses-start", "ar"))

    assert "فهد" in main_text(response)
    assert str(birth.pk) in [el.attrs.get("value") for el in find_all(response.content, "input")]


@pytest.mark.parametrize(
    ("language", "message"), [("en", "Select the documents you lost."), ("ar", "اختر الوثائق التي فقدتها.")]
)
def test_choosing_nothing_is_an_error_in_both_languages(signed_in: Client, language, message):
    signed_in.get(url("losses-start", language))
    response = signed_in.post(url("losses-start", language), {})

    assert response.status_code == 400
    assert message in error_summary(response)
    assert find_one(response.content, "title").text.startswith("Error:" if language == "en" else "خطأ:")
    link = find_all(response.content.decode().split('class="hw-error-summary"', 1)[1], "a")[0]
    assert link.attrs["href"] == "#id_documents"
    assert [el for el in find_all(response.content, "input") if el.attrs.get("id") == "id_documents"]


def test_someone_elses_document_cannot_be_chosen(signed_in: Client):
    other = make_document(holder=make_person(), kind=DocumentKind.NATIONAL_ID_CARD)
    signed_in.get(url("losses-start"))
    response = signed_in.post(url("losses-start"), {"documents": [str(other.pk)]})
    assert response.status_code == 400
    assert "Select the documents you lost from the list." in error_summary(response)


def test_later_pages_send_back_to_the_first_unanswered_question(signed_in: Client):
    signed_in.get(url("losses-start"))
    assert signed_in.get(url("losses-where"))["Location"] == url("losses-start")
    assert signed_in.get(url("losses-check"))["Location"] == url("losses-start")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Enter the date you lost it."),
        ({"day": "3", "month": "", "year": "2026"}, "The date must include a day, a month and a year."),
        ({"day": "31", "month": "2", "year": "2026"}, "The date must be a real date."),
        ({"day": "x", "month": "2", "year": "2026"}, "The date must be a real date, written in numbers."),
        ({"day": "1", "month": "1", "year": "26"}, "Enter the year in full, like 2026."),
        ({"day": "1", "month": "1", "year": "2100"}, "The date you lost it must be today or in the past."),
        ({"day": "4", "month": "1", "year": "2020"}, "cannot be before the document was issued"),
    ],
)
def test_the_date_of_loss_is_checked(signed_in: Client, card: Document, data, message):
    signed_in.get(url("losses-start"))
    signed_in.post(url("losses-start"), {"documents": [str(card.pk)]})
    response = signed_in.post(url("losses-when"), data)
    assert response.status_code == 400
    assert message in error_summary(response)


def test_the_date_accepts_eastern_digits_and_an_approximate_month(signed_in: Client, card: Document):
    signed_in.get(url("losses-start"))
    signed_in.post(url("losses-start"), {"documents": [str(card.pk)]})

    response = signed_in.post(url("losses-when", "ar"), {"day": "٥", "month": "٣", "year": "٢٠٢٥"})
    assert response.status_code == 302
    assert signed_in.session["hawiya_losses_journey"]["lost_on"] == "2025-03-05"

    response = signed_in.post(url("losses-when"), {"month": "3", "year": "2025", "approximate": "on"})
    assert response.status_code == 302
    journey = signed_in.session["hawiya_losses_journey"]
    assert (journey["lost_on"], journey["approximate"]) == ("2025-03-31", True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Select whether you lost it in Saudi Arabia or in another country."),
        ({"place": "in_kingdom"}, "Enter the city where you lost it."),
        ({"place": "abroad", "city": "Riyadh"}, "Enter the country where you lost it."),
    ],
)
def test_the_place_is_checked(signed_in: Client, card: Document, data, message):
    answer_all(signed_in, [card])
    response = signed_in.post(url("losses-where"), data)
    assert response.status_code == 400
    assert message in error_summary(response)


def test_the_circumstances_and_the_declaration_are_checked(signed_in: Client, card: Document):
    answer_all(signed_in, [card])
    short = signed_in.post(url("losses-what", "ar"), {"circumstances": "ضاعت"})
    assert short.status_code == 400
    assert "10" in error_summary(short)
    refused = signed_in.post(url("losses-declaration"), {})
    assert refused.status_code == 400
    assert "To register the loss, accept the declaration." in error_summary(refused)


def test_back_and_change_links_bring_the_answers_back(signed_in: Client, card: Document):
    answer_all(signed_in, [card])

    when = signed_in.get(url("losses-when", query="?change=1"))
    day = lost_on()
    values = {el.attrs.get("name"): el.attrs.get("value") for el in find_all(when.content, "input")}
    assert (values["day"], values["month"], values["year"]) == (str(day.day), str(day.month), str(day.year))
    assert find_one(when.content, "a", "hw-back-link").attrs["href"] == url("losses-check")

    changed = signed_in.post(url("losses-where", query="?change=1"), {"place": "abroad", "country": "Egypt"})
    assert changed["Location"] == url("losses-check")
    check = signed_in.get(url("losses-check"))
    assert "Outside Saudi Arabia: Egypt" in main_text(check)

    where = signed_in.get(url("losses-where"))
    assert find_one(where.content, "a", "hw-back-link").attrs["href"] == url("losses-when")
    checked = [el for el in find_all(where.content, "input") if "checked" in el.attrs]
    assert [el.attrs["value"] for el in checked] == ["abroad"]


# --- Check answers ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_check_page_shows_the_holder_the_document_and_the_warning(
    signed_in: Client, user: User, card: Document, language
):
    answer_all(signed_in, [card], language=language)

    response = signed_in.get(url("losses-check", language))

    assert response.status_code == 200
    heading = find_one(response.content, "h1").text
    assert heading == (
        "Do you want to register this lost document?"
        if language == "en"
        else "هل تريد تسجيل فقدان هذه الوثيقة؟"
    )
    person = person_of(user)
    id_cell = next(el for el in find_all(response.content, "dd") if "data-id-number" in el.attrs)
    assert id_cell.text == person.id_number
    assert f'<bdi dir="ltr">{person.id_number}</bdi>' in response.content.decode()
    with translation.override(language):
        assert person.full_name in main_text(response)
    assert card.serial_number in main_text(response)
    warning = next(el for el in find_all(response.content, "div") if "data-warning" in el.attrs).text
    assert ("for good" if language == "en" else "نهائي") in warning
    assert not [el for el in find_all(response.content, "div") if "data-late" in el.attrs]


def test_the_check_page_warns_when_the_report_will_be_late(signed_in: Client, card: Document):
    answer_all(signed_in, [card], days_ago=16)
    response = signed_in.get(url("losses-check"))
    assert [el for el in find_all(response.content, "div") if "data-late" in el.attrs]


def test_the_check_page_wants_a_recent_sign_in(client: Client, user: User, card: Document):
    sign_in(client, user)
    answer_all(client, [card])
    sign_in(client, user, fresh=False)
    # force_login replaced the session: answer again under the stale one.
    answer_all(client, [card])

    response = client.get(url("losses-check"))

    assert response.status_code == 302
    assert response["Location"].startswith(url("reauthenticate"))
    assert "next=%2Fen%2Flost-documents%2Fcheck%2F" in response["Location"]


# --- Registering -------------------------------------------------------------------------------


def test_yes_registers_the_loss_and_leads_to_the_report(signed_in: Client, user: User, card: Document):
    answer_all(signed_in, [card])

    response = confirm(signed_in)

    report = LossReport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("losses-report", "en", report.reference)
    card.refresh_from_db()
    assert card.status == DocumentStatus.REPORTED_LOST
    assert report.city == "Jeddah"
    assert report.is_late is False
    assert (
        SmsMessage.objects.filter(to=person_of(user).mobile, template="lost_document_reported").count() == 1
    )
    assert InboxNotification.objects.filter(person_id=person_of(user).pk).count() == 1


def test_a_double_post_creates_one_report(signed_in: Client, card: Document):
    answer_all(signed_in, [card])
    page = signed_in.get(url("losses-check"))
    key = next(
        el for el in find_all(page.content, "input") if el.attrs.get("name") == "idempotency_key"
    ).attrs["value"]

    first = signed_in.post(url("losses-check"), {"idempotency_key": key})
    second = signed_in.post(url("losses-check"), {"idempotency_key": key})

    assert LossReport.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_a_form_from_an_earlier_journey_registers_nothing_new(signed_in: Client, card: Document):
    answer_all(signed_in, [card])
    confirm(signed_in)
    # A new journey for another document; the old page's key is replayed.
    birth = make_document(holder=card.holder, kind=DocumentKind.BIRTH_CERTIFICATE)
    old_key = "0" * 32
    answer_all(signed_in, [birth])

    response = signed_in.post(url("losses-check"), {"idempotency_key": old_key})

    assert response["Location"] == url("losses-check")
    assert LossReport.objects.count() == 1


def test_a_document_reported_meanwhile_sends_the_person_back_to_choose(signed_in: Client, card: Document):
    from hawiya.registry.services import document_mark_reported_lost

    answer_all(signed_in, [card])
    document_mark_reported_lost(actor=Actor.system("tests"), document_id=card.pk, at=clock.now())

    response = signed_in.get(url("losses-check"))

    assert response["Location"] == url("losses-start")


def test_after_registering_the_journey_pages_lead_to_the_report(signed_in: Client, card: Document):
    answer_all(signed_in, [card])
    confirm(signed_in)
    report = LossReport.objects.get()
    assert signed_in.get(url("losses-check"))["Location"] == url("losses-report", "en", report.reference)
    # The first page starts a new journey (with a new key).
    assert signed_in.get(url("losses-start")).status_code == 200
    assert signed_in.session["hawiya_losses_journey"]["key"] != report.idempotency_key


# --- The report and its receipt ----------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_report_page_shows_the_reference_and_the_cancelled_document(
    signed_in: Client, card: Document, language
):
    answer_all(signed_in, [card], language=language)
    confirm(signed_in, language)
    report = LossReport.objects.get()

    response = signed_in.get(url("losses-report", language, report.reference))

    assert response.status_code == 200
    panel = find_one(response.content, "div", "hw-panel")
    assert report.reference in panel.text
    assert f'<bdi dir="ltr">{report.reference}</bdi>' in response.content.decode()
    status = next(el for el in find_all(response.content, "span") if "data-status" in el.attrs)
    assert status.attrs["data-status"] == "reported_lost"
    receipt = next(el for el in find_all(response.content, "a") if "data-receipt" in el.attrs)
    assert receipt.attrs["href"] == url("losses-receipt", language, report.reference)


def test_the_report_page_links_to_a_replacement_once_that_page_exists(
    signed_in: Client, card: Document, monkeypatch
):
    from hawiya.portal import losses_views

    answer_all(signed_in, [card])
    confirm(signed_in)
    report = LossReport.objects.get()
    monkeypatch.setattr(losses_views, "REQUESTS_NEW", "portal:home")

    response = signed_in.get(url("losses-report", "en", report.reference))

    links = [el for el in find_all(response.content, "a") if "data-replacement" in el.attrs]
    assert [el.attrs["href"] for el in links] == [f"/en/?document={card.pk}"]


def test_a_bookmarked_report_still_loads(client: Client, user: User, card: Document):
    sign_in(client, user)
    answer_all(client, [card])
    confirm(client)
    report = LossReport.objects.get()
    client.logout()
    sign_in(client, user, fresh=False)

    response = client.get(url("losses-report", "ar", report.reference))

    assert response.status_code == 200
    assert report.reference in main_text(response)


def test_someone_elses_report_and_receipt_are_not_found(signed_in: Client, card: Document):
    answer_all(signed_in, [card])
    confirm(signed_in)
    report = LossReport.objects.get()
    other = Client()
    sign_in(other, make_account())

    for name in ("losses-report", "losses-receipt"):
        assert other.get(url(name, "en", report.reference)).status_code == 404
        assert signed_in.get(url(name, "en", "LR00000000")).status_code == 404
    assert signed_in.get("/en/lost-documents/nonsense/").status_code == 404


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    raw = "".join(page.extract_text() or "" for page in reader.pages)
    return unicodedata.normalize("NFKC", raw)


def test_the_receipt_names_the_holder_in_arabic_and_the_reference(
    signed_in: Client, user: User, card: Document
):
    answer_all(signed_in, [card], language="ar")
    confirm(signed_in, "ar")
    report = LossReport.objects.get()

    response = signed_in.get(url("losses-receipt", "ar", report.reference))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    content = pdf_text(response.content)
    assert report.reference in content
    assert card.serial_number in content
    squashed = re.sub(r"\s", "", content)
    person = person_of(user)
    # Extracted right-to-left text may come out in visual order: accept either.
    assert any(candidate in squashed for candidate in (person.family_name_ar, person.family_name_ar[::-1])), (
        content
    )


def test_the_english_receipt_names_the_holder_in_english(signed_in: Client, user: User, card: Document):
    answer_all(signed_in, [card])
    confirm(signed_in)
    report = LossReport.objects.get()
    content = pdf_text(signed_in.get(url("losses-receipt", "en", report.reference)).content)
    assert person_of(user).full_name_en in content
    assert "Receipt of a lost-document report" in content
