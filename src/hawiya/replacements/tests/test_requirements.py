"""What the source says, per kind of document (requirements.py), and the promised day (expected.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import translation

from hawiya.audit.actors import Actor
from hawiya.core.clock import RIYADH
from hawiya.registry.models import DocumentKind, Relation
from hawiya.registry.tests.factories import make_family_record, make_person
from hawiya.replacements.expected import (
    DELIVERY_WORKING_DAYS,
    add_working_days,
    expected_for,
    promise_share,
    promised_day,
)
from hawiya.replacements.models import Replacement, ReplacementState
from hawiya.replacements.requirements import (
    ID_CARD_READY_DAYS,
    captured_template,
    checked_in_template,
    requirements_by_kind,
    requirements_for,
)
from hawiya.replacements.selectors import replacement_timeline
from hawiya.replacements.services import replacement_move

from .factories import applicant_with_address, lost_document, lost_id_card, service_office, submit

S = ReplacementState
OTHER_KINDS = [DocumentKind.BIRTH_CERTIFICATE, DocumentKind.DEATH_CERTIFICATE, DocumentKind.FAMILY_RECORD]
# Words about cards, prints and the 15 days, in each language.
CARD_WORDS = {"en": ("card", "fingerprint", "15 days"), "ar": ("بطاقة", "بصم", "15 يوم")}


def _text(kind: str, method: str = "collection", *, ticket: bool = False) -> str:
    found = requirements_for(kind=kind, method=method, ticket=ticket)
    return " ".join((*found.bring, found.at_office, found.delivery_note, found.office_checks))


@pytest.mark.parametrize("language", ["en", "ar"])
def test_an_id_card_asks_for_photos_4x6_form_58_and_says_prints_and_15_days(language: str) -> None:
    with translation.override(language):
        text = _text(DocumentKind.NATIONAL_ID_CARD)
    assert "4×6" in text
    assert "58" in text
    if language == "en":
        assert "Form 58" in text
        assert "fingerprints and a photo are taken for the new card" in text
        assert "You receive the card 15 days later" in text
    else:
        assert "نموذج 58" in text
        assert "تُؤخذ بصماتك وصورتك" in text
        assert "بعد 15 يومًا" in text


@pytest.mark.parametrize("language", ["en", "ar"])
@pytest.mark.parametrize("kind", OTHER_KINDS)
def test_other_kinds_ask_for_photos_and_form_58_and_never_say_card_prints_or_15_days(
    kind: str, language: str
) -> None:
    with translation.override(language):
        text = _text(kind) + " " + _text(kind, ticket=True)
    assert "4×6" in text
    assert ("Form 58" if language == "en" else "نموذج 58") in text
    for word in CARD_WORDS[language]:
        assert word not in text, word


def test_delivery_asks_nothing_to_be_brought() -> None:
    found = requirements_for(kind=DocumentKind.BIRTH_CERTIFICATE, method="delivery")
    assert found.bring == ()
    assert found.at_office == ""
    assert found.delivery_note


def test_the_start_page_list_covers_every_kind_with_its_own_words() -> None:
    with translation.override("en"):
        listed = {item.kind: item.requirements for item in requirements_by_kind()}
    assert set(listed) == set(DocumentKind.values)
    assert "15 days" in listed[DocumentKind.NATIONAL_ID_CARD].at_office
    assert all("15 days" not in listed[kind].at_office for kind in OTHER_KINDS)


def test_the_text_message_of_a_step_depends_on_the_kind() -> None:
    assert checked_in_template(DocumentKind.NATIONAL_ID_CARD) == "replacement_checked_in"
    assert captured_template(DocumentKind.NATIONAL_ID_CARD) == "replacement_biometrics_captured"
    for kind in OTHER_KINDS:
        assert checked_in_template(kind) == "replacement_checked_in_document"
        assert captured_template(kind) == "replacement_identity_confirmed"


# --- The promised day ---------------------------------------------------------------------------------


def test_working_days_skip_friday_and_saturday() -> None:
    thursday = dt.date(2026, 11, 19)
    assert thursday.weekday() == 3
    assert add_working_days(thursday, 1) == dt.date(2026, 11, 22)  # Sunday
    assert add_working_days(thursday, DELIVERY_WORKING_DAYS) == dt.date(2026, 11, 26)
    assert add_working_days(dt.date(2026, 11, 22), 5) == dt.date(2026, 11, 29)  # Sunday → next Sunday


def test_promised_day_is_15_days_after_biometrics_or_5_working_days_after_printing() -> None:
    day = dt.date(2026, 11, 22)  # a Sunday
    assert promised_day(method="collection", anchor_day=day) == day + dt.timedelta(days=ID_CARD_READY_DAYS)
    assert promised_day(method="delivery", anchor_day=day) == dt.date(2026, 11, 29)


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=RIYADH)


def _walk(replacement: Replacement, steps: list[tuple[str, dt.datetime]]) -> None:
    for state, at in steps:
        replacement_move(
            replacement_id=replacement.pk, to=S(state), action=state, at=at, actor=Actor.system("tests")
        )
    replacement.refresh_from_db()


BIOMETRICS_DAY = dt.date(2026, 11, 22)


def _id_card_at_biometrics() -> Replacement:
    person = applicant_with_address()
    replacement = submit(applicant=person, document=lost_id_card(holder=person))
    _walk(
        replacement,
        [
            (S.PAID, _at(BIOMETRICS_DAY - dt.timedelta(days=3))),
            (S.APPOINTMENT_BOOKED, _at(BIOMETRICS_DAY - dt.timedelta(days=3))),
            (S.CHECKED_IN, _at(BIOMETRICS_DAY, 9)),
            (S.BIOMETRICS_CAPTURED, _at(BIOMETRICS_DAY, 9)),
        ],
    )
    return replacement


@pytest.mark.django_db
def test_an_id_card_is_expected_15_days_after_its_biometrics() -> None:
    person = applicant_with_address()
    replacement = submit(applicant=person, document=lost_id_card(holder=person))
    assert expected_for(replacement).on is None  # nothing to count from yet
    replacement = _id_card_at_biometrics()
    expected = expected_for(replacement)
    assert expected.on == BIOMETRICS_DAY + dt.timedelta(days=15)
    assert expected.kept is None


@pytest.mark.django_db
def test_a_birth_certificate_collected_at_an_office_is_promised_nothing() -> None:
    head = applicant_with_address()
    document = lost_document(holder=head, kind=DocumentKind.BIRTH_CERTIFICATE)
    replacement = submit(applicant=head, document=document)
    _walk(replacement, [(S.PAID, _at(BIOMETRICS_DAY)), (S.APPOINTMENT_BOOKED, _at(BIOMETRICS_DAY))])
    assert expected_for(replacement).anchor is None
    assert expected_for(replacement).on is None


@pytest.mark.django_db
def test_the_share_counts_requests_ready_in_time_late_and_overdue() -> None:
    office = service_office()
    in_time = _id_card_at_biometrics()
    late = _id_card_at_biometrics()
    overdue = _id_card_at_biometrics()
    not_due = _id_card_at_biometrics()
    for replacement in (in_time, late, overdue):
        Replacement.objects.filter(pk=replacement.pk).update(office=office)
    Replacement.objects.filter(pk=not_due.pk).update(office=office)
    promised = BIOMETRICS_DAY + dt.timedelta(days=15)
    _walk(in_time, [(S.APPROVED, _at(promised - dt.timedelta(days=2))), (S.PRINTED, _at(promised, 8))])
    _walk(in_time, [(S.READY_FOR_COLLECTION, _at(promised, 12))])
    _walk(late, [(S.APPROVED, _at(promised)), (S.PRINTED, _at(promised, 18))])
    _walk(late, [(S.READY_FOR_COLLECTION, _at(promised + dt.timedelta(days=1)))])
    assert expected_for(in_time).kept is True
    assert expected_for(late).kept is False
    # `not_due` was anchored later: its promised day is after the window's last day.
    Replacement.objects.filter(pk=not_due.pk).update(office=office)
    not_due.events.filter(state=S.BIOMETRICS_CAPTURED).update(at=_at(BIOMETRICS_DAY + dt.timedelta(days=10)))
    share = promise_share(
        replacements=Replacement.objects.filter(office=office),
        first_day=promised - dt.timedelta(days=29),
        last_day=promised + dt.timedelta(days=3),
    )
    assert (share.kept, share.due, share.missed) == (1, 3, 2)
    assert share.percent == 33
    # On the promised day itself, a request not yet ready is not counted as missed yet.
    share = promise_share(
        replacements=Replacement.objects.filter(office=office), first_day=promised, last_day=promised
    )
    assert (share.kept, share.due) == (1, 2)


@pytest.mark.django_db
def test_a_death_certificate_delivered_is_promised_5_working_days_after_printing() -> None:
    head = applicant_with_address()
    late_father = make_person(date_of_death=dt.date(2025, 1, 1))
    make_family_record(head=head, members=[(late_father, Relation.FATHER)])
    document = lost_document(holder=late_father, kind=DocumentKind.DEATH_CERTIFICATE)
    replacement = submit(applicant=head, document=document, method="collection")
    Replacement.objects.filter(pk=replacement.pk).update(
        method="delivery", delivery_address=head.national_addresses.first()
    )
    replacement.refresh_from_db()
    printed = dt.date(2026, 11, 19)  # a Thursday
    _walk(replacement, [(S.PAID, _at(printed)), (S.APPROVED, _at(printed)), (S.PRINTED, _at(printed, 11))])
    assert expected_for(replacement).on == dt.date(2026, 11, 26)


@pytest.mark.django_db
def test_the_share_reads_the_same_number_of_queries_however_many_requests(
    django_assert_num_queries: Any,
) -> None:
    office = service_office()
    window = {"first_day": BIOMETRICS_DAY, "last_day": BIOMETRICS_DAY + dt.timedelta(days=20)}
    replacement = _id_card_at_biometrics()
    Replacement.objects.filter(pk=replacement.pk).update(office=office)
    with django_assert_num_queries(2):
        assert promise_share(replacements=Replacement.objects.filter(office=office), **window).due == 1
    for _number in range(4):
        replacement = _id_card_at_biometrics()
        Replacement.objects.filter(pk=replacement.pk).update(office=office)
    with django_assert_num_queries(2):
        assert promise_share(replacements=Replacement.objects.filter(office=office), **window).due == 5


@pytest.mark.django_db
def test_the_timeline_carries_the_same_promise_without_asking_again(django_assert_num_queries) -> None:
    """The request page takes the promise from the timeline it loads anyway (no second read)."""
    replacement = Replacement.objects.select_related("document").get(pk=_id_card_at_biometrics().pk)
    with django_assert_num_queries(1):  # the timeline's steps, and nothing more for the promise
        timeline = replacement_timeline(replacement=replacement)
    assert timeline.expected == expected_for(replacement)
    assert timeline.expected.on == BIOMETRICS_DAY + dt.timedelta(days=15)
