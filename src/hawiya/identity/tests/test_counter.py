"""Identity services at the counter: re-binding the mobile number of a person whose phone was lost
and starting an activation, each only after their fingerprints match the ones on file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import import_module
from typing import Any

import pytest
from django.conf import settings

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.audit.selectors import audit_chain_verify
from hawiya.core.errors import ApplicationError, NotFound
from hawiya.identity import services
from hawiya.identity.counter import counter_activation_start, counter_mobile_rebind
from hawiya.identity.models import OneTimeCode, SecurityEvent, StaffRole, User, UserSession
from hawiya.identity.staff import StaffActor, StaffForbidden
from hawiya.notifications.models import InboxNotification, SmsMessage
from hawiya.registry.biometrics import DemoFingerprintScanner, FingerprintCapture, biometrics_record
from hawiya.registry.models import Office, Person
from hawiya.registry.tests.abis import Abis, running_abis, use_abis
from hawiya.registry.tests.factories import make_office, portrait_photo

from .factories import (
    IP,
    PASSWORD,
    UA,
    last_code,
    make_account,
    make_citizen,
    make_staff,
    next_mobile,
    person_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo_sms(settings: Any) -> None:
    settings.HAWIYA_SMS_CLIENT = "demo"


@pytest.fixture
def office() -> Office:
    return make_office()


@pytest.fixture
def staff(office: Office) -> StaffActor:
    return make_staff(role=StaffRole.OFFICER, office=office, ip="192.0.2.55")


def finger(hint: object) -> FingerprintCapture:
    return DemoFingerprintScanner().capture(subject_hint=str(hint))


def enrolled(person: Person, office: Office) -> Person:
    """The person's biometrics on file, as an earlier visit left them."""
    biometrics_record(
        person_id=person.pk,
        office=office,
        photo=portrait_photo(),
        fingerprints=finger(person.pk),
        actor=Actor.staff(1, role="officer", office_code=""),
    )
    return person


def session_of(user: User) -> str:
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["marker"] = user.pk
    store.create()
    services.user_session_record(user=user, session_key=store.session_key, ip=IP, user_agent=UA)
    return store.session_key


def error(call: Any, **kwargs: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call(**kwargs)
    return caught.value


# --- Re-binding the mobile number ----------------------------------------------------------------


def test_a_matching_finger_rebinds_the_mobile_ends_sessions_and_tells_both_numbers(
    office: Office, staff: StaffActor
) -> None:
    user = make_account()
    person = enrolled(person_of(user), office)
    old = person.mobile
    key = session_of(user)
    new = next_mobile()

    counter_mobile_rebind(
        staff=staff, person_id=person.pk, new_mobile=new.replace("+966", "0"), fingerprints=finger(person.pk)
    )

    person.refresh_from_db()
    assert person.mobile == new
    assert not UserSession.objects.filter(user=user).exists()
    assert not import_module(settings.SESSION_ENGINE).SessionStore().exists(key)
    event = SecurityEvent.objects.get(user=user, kind="mobile_changed")
    assert event.detail == "counter"
    assert SmsMessage.objects.get(to=new).template == "mobile_rebound_new"
    told_old = SmsMessage.objects.get(to=old, template__startswith="mobile_rebound")
    assert told_old.template == "mobile_rebound_old"
    assert new[-2:] in told_old.body
    assert InboxNotification.objects.filter(person_id=person.pk, template="mobile_rebound_new").exists()
    audited = AuditEvent.objects.get(action="counter.mobile_rebound")
    assert audited.detail == {
        "person_id": person.pk,
        "had_mobile": True,
        "account": True,
        "sessions_ended": 1,
        "matcher": "demo",
        "score": "100.00",
        "threshold": "60.00",
        "decision": "match",
    }
    assert (audited.actor, audited.actor_role, audited.actor_office) == (
        staff.actor.id,
        "officer",
        office.code,
    )
    assert new not in json.dumps(audited.detail)
    assert old not in json.dumps(audited.detail)
    assert AuditEvent.objects.get(action="person.mobile_changed").actor == staff.actor.id
    assert audit_chain_verify().ok


def test_codes_go_to_the_new_number_afterwards_and_open_changes_end(
    office: Office, staff: StaffActor
) -> None:
    user = make_account()
    person = enrolled(person_of(user), office)
    started = services.mobile_change_start(user=user, new_mobile=next_mobile(), ip=IP, user_agent=UA)
    new = next_mobile()
    counter_mobile_rebind(staff=staff, person_id=person.pk, new_mobile=new, fingerprints=finger(person.pk))
    assert OneTimeCode.objects.get(challenge=started.challenge).used_at is not None

    signing_in = services.sign_in_start(login=user.username, password=PASSWORD, ip=IP, user_agent=UA)
    services.sign_in_send_sms_code(challenge=signing_in.challenge, ip=IP)
    signed_in = services.sign_in_verify(
        challenge=signing_in.challenge, code=last_code(new), method="sms", ip=IP, user_agent=UA
    )
    assert signed_in.pk == user.pk


def test_a_person_without_an_account_or_a_mobile_gets_one_on_record(
    office: Office, staff: StaffActor
) -> None:
    person = enrolled(make_citizen(mobile=""), office)
    new = next_mobile()
    counter_mobile_rebind(staff=staff, person_id=person.pk, new_mobile=new, fingerprints=finger(person.pk))
    person.refresh_from_db()
    assert person.mobile == new
    assert list(SmsMessage.objects.values_list("template", flat=True)) == ["mobile_rebound_new"]
    assert AuditEvent.objects.get(action="counter.mobile_rebound").detail["account"] is False


def test_another_finger_is_refused_and_the_failed_check_is_recorded(
    office: Office, staff: StaffActor
) -> None:
    user = make_account()
    person = enrolled(person_of(user), office)
    old = person.mobile
    failure = error(
        counter_mobile_rebind,
        staff=staff,
        person_id=person.pk,
        new_mobile=next_mobile(),
        fingerprints=finger("x"),
    )
    assert failure.code == "fingerprint_mismatch"
    person.refresh_from_db()
    assert person.mobile == old
    assert not SmsMessage.objects.filter(template__startswith="mobile_rebound").exists()
    check = AuditEvent.objects.get(action="counter.identity_check_failed")
    assert check.detail == {
        "person_id": person.pk,
        "step": "mobile_rebind",
        "problem": "fingerprint_mismatch",
        "matcher": "demo",
        "score": "0.00",
        "threshold": "60.00",
        "decision": "no_match",
    }


def test_without_biometrics_on_file_nothing_can_be_matched(staff: StaffActor) -> None:
    person = make_citizen()
    failure = error(
        counter_mobile_rebind,
        staff=staff,
        person_id=person.pk,
        new_mobile=next_mobile(),
        fingerprints=finger(person.pk),
    )
    assert failure.code == "no_biometrics_on_file"


@pytest.mark.parametrize(
    ("typed", "code"),
    [("0112345678", "mobile_invalid"), ("12", "mobile_invalid"), ("same", "mobile_unchanged")],
)
def test_the_new_number_must_be_a_new_saudi_mobile(
    office: Office, staff: StaffActor, typed: str, code: str
) -> None:
    person = enrolled(make_citizen(), office)
    failure = error(
        counter_mobile_rebind,
        staff=staff,
        person_id=person.pk,
        new_mobile=person.mobile if typed == "same" else typed,
        fingerprints=finger(person.pk),
    )
    assert failure.code == code
    assert failure.field == "new_mobile"


def test_the_counter_needs_its_permission_and_a_known_person(office: Office, staff: StaffActor) -> None:
    person = enrolled(make_citizen(), office)
    administrator = make_staff(role=StaffRole.ADMINISTRATOR, office=None)
    with pytest.raises(StaffForbidden):
        counter_mobile_rebind(
            staff=administrator, person_id=person.pk, new_mobile=next_mobile(), fingerprints=finger(person.pk)
        )
    with pytest.raises(StaffForbidden):
        counter_activation_start(staff=administrator, person_id=person.pk, fingerprints=finger(person.pk))
    with pytest.raises(NotFound):
        counter_mobile_rebind(staff=staff, person_id=10**9, new_mobile=next_mobile(), fingerprints=finger(1))
    assert not AuditEvent.objects.filter(action__startswith="counter.").exists()


# --- Activation at the counter -------------------------------------------------------------------


def test_activation_starts_with_a_code_to_the_mobile_on_record(office: Office, staff: StaffActor) -> None:
    person = enrolled(make_citizen(), office)
    challenge = counter_activation_start(staff=staff, person_id=person.pk, fingerprints=finger(person.pk))

    # The portal's activation journey continues with this challenge and the code sent.
    services.activation_verify(challenge=challenge, code=last_code(person.mobile), ip=IP)
    user = services.activation_complete(
        challenge=challenge,
        username="counter.user",
        password="correct horse battery staple",
        accepted_terms=True,
        ip=IP,
    )
    assert user.person_id == person.pk
    audited = AuditEvent.objects.get(action="counter.activation_started")
    assert audited.detail == {
        "person_id": person.pk,
        "matcher": "demo",
        "score": "100.00",
        "threshold": "60.00",
        "decision": "match",
    }
    assert audited.actor_office == office.code


def test_activation_is_refused_for_an_account_holder_a_person_without_mobile_or_another_finger(
    office: Office, staff: StaffActor
) -> None:
    holder = enrolled(person_of(make_account()), office)
    assert error(
        counter_activation_start, staff=staff, person_id=holder.pk, fingerprints=finger(holder.pk)
    ).code == ("already_activated")
    no_mobile = enrolled(make_citizen(mobile=""), office)
    assert error(
        counter_activation_start, staff=staff, person_id=no_mobile.pk, fingerprints=finger(no_mobile.pk)
    ).code == ("no_mobile")
    person = enrolled(make_citizen(), office)
    assert error(
        counter_activation_start, staff=staff, person_id=person.pk, fingerprints=finger("x")
    ).code == ("fingerprint_mismatch")
    # Only the account holder's own activation, long ago: no challenge was started here.
    assert OneTimeCode.objects.filter(purpose="activation").count() == 1
    assert AuditEvent.objects.get(action="counter.identity_check_failed").detail["step"] == "activation"


def test_after_five_failed_checks_in_a_day_even_the_right_finger_is_refused(
    office: Office, staff: StaffActor
) -> None:
    from hawiya.identity.counter import MAX_FAILED_CHECKS

    person = enrolled(person_of(make_account()), office)
    for _ in range(MAX_FAILED_CHECKS):
        wrong = error(
            counter_mobile_rebind,
            staff=staff,
            person_id=person.pk,
            new_mobile=next_mobile(),
            fingerprints=finger("x"),
        )
        assert wrong.code == "fingerprint_mismatch"
    refused = error(
        counter_mobile_rebind,
        staff=staff,
        person_id=person.pk,
        new_mobile=next_mobile(),
        fingerprints=finger(person.pk),
    )
    assert refused.code == "identity_checks_exhausted"
    assert AuditEvent.objects.filter(action="counter.identity_check_failed").count() == MAX_FAILED_CHECKS


# --- With the ABIS as the matcher ------------------------------------------------------------------


@pytest.fixture
def abis(settings: Any) -> Iterator[Abis]:
    with running_abis() as server:
        yield use_abis(settings, server)


def test_with_the_abis_the_score_decides_and_is_recorded(
    office: Office, staff: StaffActor, abis: Abis
) -> None:
    user = make_account()
    person = enrolled(person_of(user), office)
    old = person.mobile
    # A real scanner never gives the same template twice: the ABIS compares them as prints.
    abis.scores(59.5)
    refused = error(
        counter_mobile_rebind,
        staff=staff,
        person_id=person.pk,
        new_mobile=next_mobile(),
        fingerprints=finger("the same finger, another capture"),
    )
    assert refused.code == "fingerprint_mismatch"
    person.refresh_from_db()
    assert person.mobile == old
    check = AuditEvent.objects.get(action="counter.identity_check_failed")
    assert check.detail == {
        "person_id": person.pk,
        "step": "mobile_rebind",
        "problem": "fingerprint_mismatch",
        "matcher": "http",
        "score": "59.50",
        "threshold": "60.00",
        "decision": "no_match",
    }
    verify_calls = [body for path, _, body in abis.received if path == "/verify"]
    assert verify_calls[-1]["reference"] == "abis-ref-0001"

    abis.scores(60)
    new = next_mobile()
    counter_mobile_rebind(
        staff=staff, person_id=person.pk, new_mobile=new, fingerprints=finger("yet another capture")
    )
    person.refresh_from_db()
    assert person.mobile == new
    rebound = AuditEvent.objects.get(action="counter.mobile_rebound")
    assert (rebound.detail["score"], rebound.detail["decision"]) == ("60.00", "match")
    # Neither the templates nor the reference are in the trail.
    trail = json.dumps(list(AuditEvent.objects.values_list("detail", flat=True)))
    assert "abis-ref-0001" not in trail
    assert audit_chain_verify().ok


def test_an_abis_that_refuses_everyone_exhausts_the_tries_for_the_day(
    office: Office, staff: StaffActor, abis: Abis
) -> None:
    from hawiya.identity.counter import MAX_FAILED_CHECKS

    person = enrolled(make_citizen(), office)
    abis.scores(12)

    def attempt() -> str:
        return error(
            counter_activation_start, staff=staff, person_id=person.pk, fingerprints=finger(person.pk)
        ).code

    for _ in range(MAX_FAILED_CHECKS):
        assert attempt() == "fingerprint_mismatch"
    calls = len(abis.received)
    abis.scores(99)
    assert attempt() == "identity_checks_exhausted"
    # Refused before the ABIS is asked again.
    assert len(abis.received) == calls
    assert not OneTimeCode.objects.filter(purpose="activation").exists()


@pytest.mark.parametrize("trouble", ["status", "malformed", "timeout"])
def test_an_abis_that_does_not_answer_is_an_error_that_is_not_counted(
    office: Office, staff: StaffActor, abis: Abis, settings: Any, trouble: str
) -> None:
    person = enrolled(make_citizen(), office)
    old = person.mobile
    if trouble == "status":
        abis.status = 503
    elif trouble == "malformed":
        abis.verify_answer = b"<html>gateway error</html>"
    else:
        settings.HAWIYA_BIOMETRIC_MATCHER_TIMEOUT = 0.3
        abis.stall = True
    failure = error(
        counter_mobile_rebind,
        staff=staff,
        person_id=person.pk,
        new_mobile=next_mobile(),
        fingerprints=finger(1),
    )
    assert failure.code == "biometric_matcher_unavailable"
    assert failure.status_code == 502
    person.refresh_from_db()
    assert person.mobile == old
    assert not AuditEvent.objects.filter(action__startswith="counter.").exists()


def test_fingerprints_enrolled_by_the_demo_matcher_cannot_be_compared_by_the_abis(
    office: Office, staff: StaffActor, settings: Any
) -> None:
    person = enrolled(make_citizen(), office)
    with running_abis() as server:
        use_abis(settings, server)
        failure = error(
            counter_activation_start, staff=staff, person_id=person.pk, fingerprints=finger(person.pk)
        )
        assert server.received == []
    assert failure.code == "biometrics_enrolled_elsewhere"
    assert not AuditEvent.objects.filter(action__startswith="counter.").exists()
