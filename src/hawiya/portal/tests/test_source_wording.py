"""What the source documents say, on every page and PDF of a request, per kind of document, in
Arabic and English: 4×6 personal photos and Form 58 for every replacement; fingerprints, a photo
and the card after 15 days for an ID card only; no word of paying on a request with nothing to pay;
and the expected date on the request page and its timeline."""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import uuid
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from pypdf import PdfReader

from hawiya.appointments.models import Weekday
from hawiya.appointments.tests.factories import at_riyadh, book, next_weekday
from hawiya.audit.actors import Actor
from hawiya.casework.services import replacement_apply
from hawiya.core import clock
from hawiya.core.templatetags.hawiya import dual_date
from hawiya.identity.tests.factories import applicant_actor, make_account, person_of
from hawiya.registry.models import DocumentKind, Person, Relation
from hawiya.registry.tests.factories import make_address, make_family_record, make_person
from hawiya.replacements.models import Replacement, ReplacementState
from hawiya.replacements.services import replacement_move
from hawiya.replacements.tests.factories import lost_document, lost_id_card, service_office

pytestmark = pytest.mark.django_db
NOW = at_riyadh(dt.date(2030, 3, 4), 9)  # a Monday
NEXT_MONDAY = next_weekday(NOW.date(), Weekday.MONDAY)
S = ReplacementState
KINDS = [
    DocumentKind.NATIONAL_ID_CARD,
    DocumentKind.BIRTH_CERTIFICATE,
    DocumentKind.DEATH_CERTIFICATE,
    DocumentKind.FAMILY_RECORD,
]
# Said for an ID card, never for another kind: the card, the prints and the 15 days.
CARD_WORDS = {"en": ("card", "fingerprint", "15 days"), "ar": ("بطاقة", "بصم", "15 يوم")}
FORM_58 = {"en": "Form 58", "ar": "نموذج 58"}
# Words of paying that a request with nothing to pay never shows.
PAY_WORDS = {
    "en": ("72 hours", "Pay ", "Payment received", "Paid", "payment complete"),
    "ar": ("72 ساعة", "ادفع", "استلمنا المبلغ", "مدفوع", "تم الدفع"),
}


@pytest.fixture(autouse=True)
def _pinned(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()
    monkeypatch.setattr(clock, "now", lambda: NOW)
    monkeypatch.setattr(clock, "today", lambda: NOW.date())


def url(name: str, *args: Any, language: str = "en") -> str:
    with translation.override(language):
        return reverse(f"portal:{name}", args=args)


def main_text(response: Any) -> str:
    """The words of the page's <main>, without tags (header and footer left out)."""
    page = response.content.decode()
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())


def pdf_text(content: bytes) -> str:
    text = "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)
    return " ".join(unicodedata.normalize("NFKC", text).split())


def in_pdf(word: str, text: str) -> bool:
    """Whether `word` is in text extracted from a PDF, where Arabic may come out in visual order."""
    return word in text or word[::-1] in text


def signed_in() -> tuple[Client, Person]:
    user = make_account()
    person = person_of(user)
    make_address(person)
    client = Client()
    client.force_login(user)
    return client, person


def request_of_kind(person: Person, kind: str) -> Replacement:
    """A collection request for `kind`, applied for as the portal does (each costs nothing here)."""
    office = service_office()
    if kind == DocumentKind.NATIONAL_ID_CARD:
        document = lost_id_card(holder=person, office=office)
    elif kind == DocumentKind.BIRTH_CERTIFICATE:
        document = lost_document(holder=person, kind=kind, office=office)
    elif kind == DocumentKind.DEATH_CERTIFICATE:
        late_father = make_person(date_of_death=dt.date(2025, 1, 1))
        make_family_record(head=person, members=[(late_father, Relation.FATHER)])
        document = lost_document(holder=late_father, kind=kind, office=office)
    else:
        record = make_family_record(head=person)
        document = lost_document(holder=person, kind=kind, family_record=record, office=office)
    replacement = replacement_apply(
        applicant=person,
        document_id=document.pk,
        method="collection",
        photo=None,
        white_background_declared=False,
        address_confirmed=True,
        mobile_confirmed=True,
        idempotency_key=uuid.uuid4().hex,
        actor=applicant_actor(person.pk, ip="192.0.2.10"),
    )
    replacement.office = office
    return replacement


def assert_says_what_the_source_says(text: str, kind: str, language: str, *, pdf: bool = False) -> None:

    def has(word: str) -> bool:
        return in_pdf(word, text) if pdf else word in text

    assert has("4×6"), text
    assert has(FORM_58[language]) or (pdf and "58" in text)
    if kind == DocumentKind.NATIONAL_ID_CARD:
        # In a PDF, Arabic around digits may come out in another order: the words without digits.
        wanted = [
            word for word in CARD_WORDS[language][1:] if not (pdf and language == "ar" and "15" in word)
        ]
        assert all(has(word) for word in wanted), text
    else:
        for word in CARD_WORDS[language]:
            assert not has(word), (word, text)


@pytest.mark.parametrize("language", ["en", "ar"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_request_page_lists_the_sources_requirements_for_its_kind_and_never_asks_to_pay(
    kind: str, language: str
) -> None:
    client, person = signed_in()
    replacement = request_of_kind(person, kind)
    assert replacement.total_sar == 0
    response = client.get(url("requests-detail", replacement.reference, language=language))
    assert response.status_code == 200
    text = main_text(response)
    assert_says_what_the_source_says(text, kind, language)
    for word in PAY_WORDS[language]:
        assert word not in text, word
    assert ("Submitted: nothing to pay" if language == "en" else "مُقدَّم: لا رسوم مستحقة") in text
    listed = main_text(client.get(url("requests-list", language=language)))
    assert ("Submitted: nothing to pay" if language == "en" else "مُقدَّم: لا رسوم مستحقة") in listed
    for word in PAY_WORDS[language]:
        assert word not in listed, word


@pytest.mark.parametrize("language", ["en", "ar"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_appointment_page_and_ticket_list_the_requirements_of_the_kind(kind: str, language: str) -> None:
    client, person = signed_in()
    replacement = request_of_kind(person, kind)
    assert replacement.office is not None
    appointment = book(replacement, replacement.office, at_riyadh(NEXT_MONDAY, 9), at=NOW)
    page = client.get(url("appointments-detail", appointment.reference, language=language))
    assert page.status_code == 200
    assert_says_what_the_source_says(main_text(page), kind, language)
    ticket = client.get(url("appointments-ticket", appointment.reference, language=language))
    assert ticket.status_code == 200
    assert_says_what_the_source_says(pdf_text(ticket.content), kind, language, pdf=True)


@pytest.mark.parametrize("kind", KINDS)
def test_form_58_and_the_receipt_list_the_requirements_of_the_kind(kind: str) -> None:
    client, person = signed_in()
    replacement = request_of_kind(person, kind)
    form = client.get(url("requests-form58", replacement.reference, language="en"))
    assert form.status_code == 200
    assert_says_what_the_source_says(pdf_text(form.content), kind, "ar", pdf=True)
    for language in ("en", "ar"):
        receipt = client.get(url("requests-receipt", replacement.reference, language=language))
        assert receipt.status_code == 200
        text = pdf_text(receipt.content)
        assert_says_what_the_source_says(text, kind, language, pdf=True)
        if language == "en":
            assert "Submitted: nothing to pay" in text
            assert "Paid" not in text


def test_the_check_page_of_a_request_with_nothing_to_pay_says_so_not_72_hours() -> None:
    client, person = signed_in()
    document = lost_id_card(holder=person, office=service_office())
    client.post(url("requests-new"), {"document": document.pk})
    client.post(url("requests-new-contact"), {"address_confirmed": "on", "mobile_confirmed": "on"})
    client.post(url("requests-new-method"), {"method": "collection"})
    text = main_text(client.get(url("requests-new-check")))
    assert "There is nothing to pay: once you submit, the request goes ahead." in text
    assert "72 hours" not in text


def test_the_check_page_of_a_request_with_a_fee_asks_to_pay_within_72_hours() -> None:
    client, person = signed_in()
    document = lost_id_card(holder=person, losses=2, office=service_office())
    client.post(url("requests-new"), {"document": document.pk})
    client.post(url("requests-new-contact"), {"address_confirmed": "on", "mobile_confirmed": "on"})
    client.post(url("requests-new-method"), {"method": "collection"})
    text = main_text(client.get(url("requests-new-check")))
    assert "You pay on the next page, within 72 hours." in text


def test_the_appointment_cancel_page_of_a_birth_certificate_speaks_of_no_card_and_no_payment() -> None:
    client, person = signed_in()
    replacement = request_of_kind(person, DocumentKind.BIRTH_CERTIFICATE)
    assert replacement.office is not None
    appointment = book(replacement, replacement.office, at_riyadh(NEXT_MONDAY, 9), at=NOW)
    session = client.session
    from hawiya.identity.sessions import RECENT_AUTH_SESSION_KEY, recent_auth_session_value

    session[RECENT_AUTH_SESSION_KEY] = recent_auth_session_value(NOW)
    session.save()
    text = main_text(client.get(url("appointments-cancel", appointment.reference)))
    assert "Your request stays open, and you need a new appointment at the office." in text
    assert "card" not in text
    assert "paid" not in text


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_start_page_lists_each_kinds_requirements(client: Client, language: str) -> None:
    response = client.get(url("service-start", "request-replacement", language=language))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("data-kind=") == len(KINDS)
    assert "4×6" in page


# --- The expected date --------------------------------------------------------------------------------


def _walk(replacement: Replacement, steps: list[tuple[str, dt.datetime]]) -> None:
    for state, at in steps:
        replacement_move(
            replacement_id=replacement.pk, to=S(state), action=state, at=at, actor=Actor.system("tests")
        )


@pytest.mark.parametrize("language", ["en", "ar"])
def test_an_id_card_shows_its_expected_day_15_days_after_biometrics_in_both_calendars(language: str) -> None:
    client, person = signed_in()
    replacement = request_of_kind(person, DocumentKind.NATIONAL_ID_CARD)
    before = main_text(client.get(url("requests-detail", replacement.reference, language=language)))
    pending = {
        "en": "15 days after your fingerprints and photo are taken at the office",
        "ar": "بعد 15 يومًا من أخذ بصماتك وصورتك في المكتب",
    }
    assert pending[language] in before
    _walk(
        replacement,
        [
            (S.APPOINTMENT_BOOKED, NOW - dt.timedelta(days=2)),
            (S.CHECKED_IN, NOW - dt.timedelta(days=1)),
            (S.BIOMETRICS_CAPTURED, NOW - dt.timedelta(days=1)),
        ],
    )
    response = client.get(url("requests-detail", replacement.reference, language=language))
    expected = NOW.date() - dt.timedelta(days=1) + dt.timedelta(days=15)
    with translation.override(language):
        shown = escape(dual_date(expected))
    assert "AH" in shown or "هـ" in shown  # both calendars
    page = response.content.decode()
    row = page.split("data-expected>", 1)[1].split("</div>", 1)[0]
    assert shown in row
    step = page.split("data-expected-step>", 1)[1].split("</li>", 1)[0]
    assert shown in step
    assert pending[language] not in main_text(response)


def test_a_birth_certificate_shows_no_expected_day() -> None:
    client, person = signed_in()
    replacement = request_of_kind(person, DocumentKind.BIRTH_CERTIFICATE)
    page = client.get(url("requests-detail", replacement.reference)).content.decode()
    assert "data-expected" not in page


def test_a_card_ready_before_its_expected_day_says_it_was_in_time() -> None:
    client, person = signed_in()
    replacement = request_of_kind(person, DocumentKind.NATIONAL_ID_CARD)
    prints = NOW - dt.timedelta(days=10)
    _walk(
        replacement,
        [
            (S.APPOINTMENT_BOOKED, prints),
            (S.CHECKED_IN, prints),
            (S.BIOMETRICS_CAPTURED, prints),
            (S.APPROVED, NOW - dt.timedelta(days=1)),
            (S.PRINTED, NOW - dt.timedelta(days=1)),
            (S.READY_FOR_COLLECTION, NOW),
        ],
    )
    page = client.get(url("requests-detail", replacement.reference)).content.decode()
    row = page.split("data-expected>", 1)[1].split("</div>", 1)[0]
    with translation.override("en"):
        assert escape(dual_date(prints.date() + dt.timedelta(days=15))) in row
        assert f"ready on {escape(dual_date(NOW.date()))}, in time" in row
