"""Activation against the register: three details checked, one answer whatever is wrong."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from hawiya.core.errors import ApplicationError
from hawiya.core.testing import outcome, race
from hawiya.identity import services
from hawiya.identity.models import OneTimeCode, SecurityEvent, User
from hawiya.notifications.models import SmsMessage
from hawiya.registry.models import Person

from .factories import (
    IP,
    PASSWORD,
    activate,
    last_code,
    make_account,
    make_citizen,
    next_id_number,
    next_mobile,
    person_of,
)

pytestmark = pytest.mark.django_db


def _start(person: Person, **overrides: Any) -> services.ActivationStart:
    values: dict[str, Any] = {
        "id_number": person.id_number,
        "date_of_birth": person.date_of_birth,
        "mobile": person.mobile,
        "ip": IP,
    }
    values.update(overrides)
    return services.activation_start(**values)


def _shape(start: services.ActivationStart) -> dict[str, object]:
    values = dataclasses.asdict(start)
    return {name: type(value) for name, value in values.items()} | {
        "masked_mobile": start.masked_mobile,
        "sms_reference": start.sms_reference,
        "timing": (
            start.code_expires_at - start.sent_at,
            start.resend_available_at - start.sent_at,
            start.expires_at - start.sent_at,
        ),
    }


def test_matching_details_send_a_code_to_the_mobile_on_record_and_create_the_account() -> None:
    person = make_citizen()
    start = _start(person, mobile="٠" + person.mobile[4:].replace("5", "٥", 1))  # as typed, Eastern digits
    message = SmsMessage.objects.get(template="one_time_code")
    assert message.to == person.mobile
    assert message.is_secret
    code = last_code(person.mobile)
    row = OneTimeCode.objects.get(challenge=start.challenge)
    assert row.sms == message
    assert code not in row.code_hash
    assert len(row.code_hash) == 64
    verified = services.activation_verify(challenge=start.challenge, code=code, ip=IP)
    user = services.activation_complete(
        challenge=verified.challenge, username="Mohammed.A", password=PASSWORD, accepted_terms=True, ip=IP
    )
    assert user.person == person
    assert user.username == "mohammed.a"
    assert user.check_password(PASSWORD)
    assert list(SecurityEvent.objects.filter(user=user).values_list("kind", flat=True)) == ["activation"]


def _unknown_id(person: Person) -> dict[str, Any]:
    return {"id_number": next_id_number()}


def _wrong_birth_date(person: Person) -> dict[str, Any]:
    return {"date_of_birth": person.date_of_birth - dt.timedelta(days=1)}


def _wrong_mobile(person: Person) -> dict[str, Any]:
    return {"mobile": next_mobile()}


def _nothing(person: Person) -> dict[str, Any]:
    return {}


Change = Callable[[Person], dict[str, Any]]
MISMATCHES: dict[str, Callable[[], tuple[Person, Change]]] = {
    "unknown id": lambda: (make_citizen(), _unknown_id),
    "wrong date of birth": lambda: (make_citizen(), _wrong_birth_date),
    "wrong mobile": lambda: (make_citizen(), _wrong_mobile),
    "deceased": lambda: (make_citizen(date_of_death=dt.date(2024, 1, 1)), _nothing),
    "already activated": lambda: (person_of(make_account()), _nothing),
}


@pytest.mark.parametrize("case", MISMATCHES)
def test_any_mismatch_gets_the_same_answer_and_no_code(case: str) -> None:
    reference = make_citizen()
    good = _start(reference, mobile=reference.mobile)
    person, change = MISMATCHES[case]()
    codes_before = SmsMessage.objects.filter(template="one_time_code").count()
    answer = _start(person, **({"mobile": person.mobile} | change(person)))
    assert SmsMessage.objects.filter(template="one_time_code").count() == codes_before
    # Same fields, same types, same limits; masked_mobile only echoes what was typed.
    shape, expected = _shape(answer), _shape(good)
    shape.pop("masked_mobile"), expected.pop("masked_mobile")
    assert shape == expected
    assert answer.sms_reference is None
    assert good.sms_reference is None
    assert answer.masked_mobile.endswith(person.mobile[-2:]) or case == "wrong mobile"
    # sends_left counts every start for the ID number in the last hour, matching or not.
    assert isinstance(answer.sends_left, int)
    # The decoy challenge behaves like a real one: a wrong code is "wrong", a resend waits 60 s.
    with pytest.raises(ApplicationError) as wrong:
        services.activation_verify(challenge=answer.challenge, code="123456", ip=IP)
    assert wrong.value.code == "code_invalid"
    with pytest.raises(ApplicationError) as soon:
        services.one_time_code_send(challenge=answer.challenge, ip=IP)
    assert soon.value.code == "resend_too_soon"


def test_already_activated_holder_is_told_by_sms_instead() -> None:
    user = make_account()
    person = person_of(user)
    _start(person)
    message = SmsMessage.objects.filter(template="activation_attempt").get()
    assert message.to == person.mobile
    # Someone who only knows the ID number cannot make us text the holder.
    _start(person, date_of_birth=person.date_of_birth - dt.timedelta(days=3))
    assert SmsMessage.objects.filter(template="activation_attempt").count() == 1


def test_a_decoy_challenge_never_verifies_whatever_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    person = make_citizen()
    monkeypatch.setattr("hawiya.identity.codes.new_code", lambda: "111111")
    answer = _start(person, date_of_birth=dt.date(1970, 1, 1))
    with pytest.raises(ApplicationError) as failure:
        services.activation_verify(challenge=answer.challenge, code="111111", ip=IP)
    assert failure.value.code == "code_invalid"


def test_malformed_input_is_a_field_error() -> None:
    person = make_citizen()
    with pytest.raises(ApplicationError) as bad_id:
        _start(person, id_number="1234567890")
    assert (bad_id.value.code, bad_id.value.field) == ("id_number_invalid", "id_number")
    with pytest.raises(ApplicationError) as bad_mobile:
        _start(person, mobile="0112345678")
    assert (bad_mobile.value.code, bad_mobile.value.field) == ("mobile_invalid", "mobile")


def _verified(person: Person) -> str:
    start = _start(person)
    services.activation_verify(challenge=start.challenge, code=last_code(person.mobile), ip=IP)
    return start.challenge


def test_terms_must_be_accepted() -> None:
    challenge = _verified(make_citizen())
    with pytest.raises(ApplicationError) as failure:
        services.activation_complete(
            challenge=challenge, username="sara.h", password=PASSWORD, accepted_terms=False, ip=IP
        )
    assert failure.value.code == "terms_not_accepted"


@pytest.mark.parametrize(
    "username",
    ["abc", "a" * 31, "sara h", "sara!", "سارة", "1234567890", "12345", "..--__"],
)
def test_username_rules(username: str) -> None:
    challenge = _verified(make_citizen())
    with pytest.raises(ApplicationError) as failure:
        services.activation_complete(
            challenge=challenge, username=username, password=PASSWORD, accepted_terms=True, ip=IP
        )
    assert failure.value.code == "username_invalid"


@pytest.mark.parametrize("username", ["abcd", "a" * 30, "sara.h-2_x", "SARA99"])
def test_usernames_that_are_accepted(username: str) -> None:
    user = activate(make_citizen(), username=username)
    assert user.username == username.lower()


def test_usernames_are_unique_whatever_the_case() -> None:
    activate(make_citizen(), username="Sara.H")
    challenge = _verified(make_citizen())
    with pytest.raises(ApplicationError) as failure:
        services.activation_complete(
            challenge=challenge, username="sARA.h", password=PASSWORD, accepted_terms=True, ip=IP
        )
    assert failure.value.code == "username_taken"


def test_a_bad_password_is_refused_with_every_reason() -> None:
    challenge = _verified(make_citizen())
    with pytest.raises(ApplicationError) as failure:
        services.activation_complete(
            challenge=challenge, username="sara.h", password="short", accepted_terms=True, ip=IP
        )
    assert failure.value.code == "password_invalid"
    assert failure.value.field == "password"
    assert failure.value.extra["errors"]
    assert not User.objects.exists()


def test_a_challenge_completes_once() -> None:
    person = make_citizen()
    challenge = _verified(person)
    services.activation_complete(
        challenge=challenge, username="first.one", password=PASSWORD, accepted_terms=True, ip=IP
    )
    with pytest.raises(ApplicationError) as failure:
        services.activation_complete(
            challenge=challenge, username="second.one", password=PASSWORD, accepted_terms=True, ip=IP
        )
    assert failure.value.code == "challenge_expired"


def test_one_account_per_person_even_with_two_verified_challenges() -> None:
    person = make_citizen()
    first = _verified(person)
    with pytest.raises(ApplicationError):  # the 60-second wait is per challenge, not per person
        services.one_time_code_send(challenge=first, ip=IP)
    second_start = _start(person)
    services.activation_verify(challenge=second_start.challenge, code=last_code(person.mobile), ip=IP)
    services.activation_complete(
        challenge=first, username="first.one", password=PASSWORD, accepted_terms=True, ip=IP
    )
    with pytest.raises(ApplicationError) as failure:
        services.activation_complete(
            challenge=second_start.challenge,
            username="second.one",
            password=PASSWORD,
            accepted_terms=True,
            ip=IP,
        )
    assert failure.value.code == "already_activated"
    assert User.objects.filter(person=person).count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_completions_make_one_account() -> None:
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL's row locks")
    person = make_citizen()
    challenges = []
    for _index in range(2):
        start = _start(person)
        services.activation_verify(challenge=start.challenge, code=last_code(person.mobile), ip=IP)
        challenges.append(start.challenge)

    def complete(challenge: str, username: str) -> Callable[[], object]:
        return lambda: services.activation_complete(
            challenge=challenge, username=username, password=PASSWORD, accepted_terms=True, ip=IP
        )

    results = race([complete(challenge, f"racer.{index}") for index, challenge in enumerate(challenges)])
    outcomes = [outcome(result, ok="created") for result in results]
    assert sorted(outcomes) == ["already_activated", "created"]
    assert User.objects.filter(person=person).count() == 1
