"""Counter identity services: find a person by ID number (audited, never in the URL), then
re-bind their mobile number or start an activation, each confirmed by fingerprints."""

from __future__ import annotations

from html import escape
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.casework.counter import AUDIT_COUNTER_LOOKUP
from hawiya.casework.tests.factories import signed_in
from hawiya.identity import errors as identity_errors
from hawiya.identity import throttles
from hawiya.identity.models import StaffRole, User
from hawiya.identity.staff import StaffActor
from hawiya.identity.tests.factories import make_account, make_citizen, make_staff
from hawiya.notifications.models import SmsMessage
from hawiya.registry.biometrics import DemoFingerprintScanner, biometrics_record
from hawiya.registry.models import Office, Person
from hawiya.registry.tests.factories import make_office, portrait_photo

pytestmark = pytest.mark.django_db

NEW_MOBILE = "0555 123 987"


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.HAWIYA_FINGERPRINT_SCANNER = "demo"
    settings.DEMO = True


def _url(name: str, language: str = "en") -> str:
    with translation.override(language):
        return reverse(f"backoffice:{name}")


def _with_fingerprints(person: Person, office: Office) -> Person:
    biometrics_record(
        person_id=person.pk,
        office=office,
        photo=portrait_photo(),
        fingerprints=DemoFingerprintScanner().capture(subject_hint=str(person.pk)),
        actor=Actor.system("tests"),
    )
    return person


@pytest.fixture
def office() -> Office:
    return make_office()


@pytest.fixture
def officer(office: Office) -> StaffActor:
    return make_staff(role=StaffRole.OFFICER, office=office)


def _found(client: Client, person: Person) -> None:
    response = client.post(_url("counter"), {"id_number": person.id_number})
    assert response.status_code == 302


@pytest.mark.parametrize("name", ["counter", "counter-rebind", "counter-activate"])
def test_administrators_and_citizens_have_no_counter(client: Client, name: str) -> None:
    assert client.get(_url(name)).status_code == 302  # anonymous: to the staff sign-in
    signed_in(make_staff(role=StaffRole.ADMINISTRATOR, office=None), client)
    assert client.get(_url(name)).status_code == 403
    client.force_login(make_account())
    assert client.get(_url(name)).status_code == 403


def test_finding_a_person_is_audited_and_keeps_the_number_out_of_the_url(
    client: Client, officer: StaffActor
) -> None:
    person = make_citizen()
    staff = signed_in(officer, client)

    response = staff.post(_url("counter"), {"id_number": person.id_number})

    assert response.status_code == 302
    assert person.id_number not in response["Location"]
    page = staff.get(_url("counter")).content.decode()
    assert person.full_name in page
    assert person.id_number not in page  # masked
    event = AuditEvent.objects.get(action=AUDIT_COUNTER_LOOKUP)
    assert event.detail == {"person_id": person.pk}
    assert event.actor_role == "officer"


@pytest.mark.parametrize(
    ("id_number", "status", "message"),
    [
        ("", 400, "Enter the person's ID number."),
        ("1234", 400, ""),
        ("1000000008", 404, "No person with this ID number is in the register."),
    ],
)
def test_bad_or_unknown_id_numbers_are_clear_errors(
    client: Client, officer: StaffActor, id_number: str, status: int, message: str
) -> None:
    response = signed_in(officer, client).post(_url("counter"), {"id_number": id_number})
    assert response.status_code == status
    assert "There is a problem" in response.content.decode()
    assert escape(message) in response.content.decode()
    assert not AuditEvent.objects.filter(action=AUDIT_COUNTER_LOOKUP).exists()


def test_service_pages_without_a_person_go_back_to_the_search(client: Client, officer: StaffActor) -> None:
    staff = signed_in(officer, client)
    assert staff.get(_url("counter-rebind"))["Location"] == _url("counter")
    assert staff.get(_url("counter-done")).status_code == 404


def test_rebinding_the_mobile_with_matching_fingerprints(
    client: Client, office: Office, officer: StaffActor
) -> None:
    person = _with_fingerprints(make_citizen(), office)
    staff = signed_in(officer, client)
    _found(staff, person)

    response = staff.post(_url("counter-rebind"), {"new_mobile": NEW_MOBILE, "identity_seen": "on"})

    assert response.status_code == 302
    assert response["Location"] == _url("counter-done")
    person.refresh_from_db()
    assert person.mobile == "+966555123987"
    done = staff.get(_url("counter-done"))
    assert done.status_code == 200
    assert 'data-counter-done="mobile"' in done.content.decode()
    assert SmsMessage.objects.filter(template="mobile_rebound_new").exists()


def test_another_persons_finger_is_refused_and_recorded(
    client: Client, office: Office, officer: StaffActor
) -> None:
    person = _with_fingerprints(make_citizen(), office)
    before = person.mobile
    staff = signed_in(officer, client)
    _found(staff, person)

    response = staff.post(
        _url("counter-rebind"), {"new_mobile": NEW_MOBILE, "identity_seen": "on", "other_finger": "on"}
    )

    assert response.status_code == 403
    assert "The fingerprints do not match" in response.content.decode()
    person.refresh_from_db()
    assert person.mobile == before
    assert AuditEvent.objects.filter(action="counter.identity_check_failed").exists()


def test_without_fingerprints_on_file_the_page_says_so(client: Client, officer: StaffActor) -> None:
    person = make_citizen()
    staff = signed_in(officer, client)
    _found(staff, person)
    assert "take biometrics first" in staff.get(_url("counter-rebind")).content.decode()

    response = staff.post(_url("counter-rebind"), {"new_mobile": NEW_MOBILE, "identity_seen": "on"})

    assert response.status_code == 400
    assert "No fingerprints are on file" in response.content.decode()


def test_a_bad_mobile_number_is_a_field_error(client: Client, office: Office, officer: StaffActor) -> None:
    person = _with_fingerprints(make_citizen(), office)
    staff = signed_in(officer, client)
    _found(staff, person)

    response = staff.post(_url("counter-rebind"), {"new_mobile": "12ab", "identity_seen": "on"})

    assert response.status_code == 400
    assert 'href="#id_new_mobile"' in response.content.decode()


def test_the_identity_document_must_be_seen(client: Client, office: Office, officer: StaffActor) -> None:
    person = _with_fingerprints(make_citizen(), office)
    staff = signed_in(officer, client)
    _found(staff, person)
    response = staff.post(_url("counter-rebind"), {"new_mobile": NEW_MOBILE})
    assert response.status_code == 400
    assert "Confirm that you have seen the person&#x27;s identity document." in response.content.decode()


def test_starting_an_activation_sends_the_code_once(
    client: Client, office: Office, officer: StaffActor
) -> None:
    person = _with_fingerprints(make_citizen(), office)
    staff = signed_in(officer, client)
    _found(staff, person)

    first = staff.post(_url("counter-activate"), {"identity_seen": "on"})
    again = staff.post(_url("counter-activate"), {"identity_seen": "on"})

    assert first.status_code == 302
    assert again.status_code == 302
    assert AuditEvent.objects.filter(action="counter.activation_started").count() == 1
    done = staff.get(_url("counter-done")).content.decode()
    assert 'data-counter-done="activation"' in done
    assert "/activate/" in done


def test_a_person_with_an_account_is_not_activated_again(
    client: Client, office: Office, officer: StaffActor
) -> None:
    user = make_account()
    assert user.person is not None
    person = _with_fingerprints(user.person, office)
    staff = signed_in(officer, client)
    _found(staff, person)

    response = staff.post(_url("counter-activate"), {"identity_seen": "on"})

    assert response.status_code == 409
    assert "already has an account" in response.content.decode()


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("ar", "تعذّر إرسال رمز الآن. انتظر لحظة ثم حاول مرة أخرى."),
        ("en", "We could not send a code just now. Wait a moment and try again."),
    ],
)
def test_a_code_that_cannot_be_sent_just_now_is_the_page_again_as_a_503(
    client: Client,
    office: Office,
    officer: StaffActor,
    monkeypatch: pytest.MonkeyPatch,
    language: str,
    message: str,
) -> None:
    """Hawiya busy (the code's send quota row lost to the prune) is not the person's refusal: the
    officer gets the same page with Retry-After, and nothing was sent or recorded as started."""

    def lost_every_time(**kwargs: Any) -> int:
        raise identity_errors.code_send_busy()

    person = _with_fingerprints(make_citizen(), office)
    staff = signed_in(officer, client)
    _found(staff, person)
    monkeypatch.setattr(throttles, "quota_claim", lost_every_time)

    response = staff.post(_url("counter-activate", language), {"identity_seen": "on"})

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert message in response.content.decode()
    assert not AuditEvent.objects.filter(action="counter.activation_started").exists()
    assert not SmsMessage.objects.filter(to=person.mobile).exists()


def test_an_activation_started_at_the_counter_is_finished_on_the_persons_phone(
    client: Client, office: Office, officer: StaffActor
) -> None:
    """The officer's screen shows a QR code of the continuation link; the phone that opens it is
    on the code step, and the code itself came by SMS to the mobile on record."""
    import re

    from hawiya.identity.models import OneTimeCode
    from hawiya.identity.tests.factories import last_code

    person = _with_fingerprints(make_citizen(), office)
    staff = signed_in(officer, client)
    _found(staff, person)
    assert staff.post(_url("counter-activate"), {"identity_seen": "on"}).status_code == 302
    done = staff.get(_url("counter-done")).content.decode()
    assert re.search(r'<img[^>]+src="data:image/svg\+xml[^"]+"[^>]+data-activation-qr', done)
    challenge = OneTimeCode.objects.get(person=person, purpose="activation").challenge

    phone = Client()
    assert phone.get(f"/en/activate/continue/{'x' * 20}/")["Location"] == "/en/activate/"
    opened = phone.get(f"/en/activate/continue/{challenge}/")
    assert opened.status_code == 302
    assert opened["Location"] == "/en/activate/code/"
    assert phone.post("/en/activate/code/", {"code": last_code(person.mobile)})["Location"] == (
        "/en/activate/create/"
    )
    created = phone.post(
        "/en/activate/create/",
        {"username": "counter.person", "password": "a long and unusual passphrase", "accepted_terms": "on"},
    )
    assert created.status_code == 302
    assert User.objects.get(username="counter.person").person_id == person.pk
    # Finished: the link cannot be used again.
    assert Client().get(f"/en/activate/continue/{challenge}/")["Location"] == "/en/activate/"


@pytest.mark.parametrize(
    ("score", "status", "message"),
    [
        (40, 403, "The fingerprints do not match"),
        (None, 502, "The fingerprint matching system did not answer properly"),
    ],
)
def test_with_the_abis_a_low_score_is_refused_and_a_silent_abis_is_a_clear_error(
    client: Client,
    office: Office,
    officer: StaffActor,
    settings: Any,
    score: int | None,
    status: int,
    message: str,
) -> None:
    from hawiya.registry.tests.abis import running_abis, use_abis

    staff = signed_in(officer, client)
    with running_abis() as abis:
        use_abis(settings, abis)
        person = _with_fingerprints(make_citizen(), office)  # enrolled with the ABIS
        before = person.mobile
        _found(staff, person)
        if score is None:
            abis.status = 500
        else:
            abis.scores(score)

        response = staff.post(_url("counter-rebind"), {"new_mobile": NEW_MOBILE, "identity_seen": "on"})

    assert response.status_code == status
    assert message in response.content.decode()
    person.refresh_from_db()
    assert person.mobile == before
    recorded = AuditEvent.objects.filter(action="counter.identity_check_failed")
    assert recorded.count() == (1 if score is not None else 0)
