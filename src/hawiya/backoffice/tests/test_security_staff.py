"""Security review (issue #5): who may use the back-office, and what the handover code leaves
behind. Staff accounts that were switched off, lost their role, or whose credentials are printed
in the README (the demo staff) get nothing; the handover code never reaches the audit trail,
the notification centre or a log line."""

from __future__ import annotations

import logging
import re

import pyotp
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from hawiya.audit.models import AuditEvent
from hawiya.casework.tests.factories import (
    STAFF_PASSWORD,
    actor_of,
    advance,
    booked_today,
    handover_code,
    open_office,
    signed_in,
    staff_user,
)
from hawiya.core import clock
from hawiya.identity.models import AuthenticatorApp, StaffMembership, StaffRole
from hawiya.identity.staff import staff_actor_for, staff_member_create
from hawiya.identity.tests.factories import make_account, make_citizen
from hawiya.notifications.models import InboxNotification
from hawiya.registry.biometrics import DemoFingerprintScanner, fingerprint_verify
from hawiya.registry.selectors import biometric_capture_latest
from hawiya.registry.tests.factories import portrait_photo as photo_bytes
from hawiya.replacements.models import Replacement

pytestmark = pytest.mark.django_db

SIGN_IN = "/en/staff/sign-in/"


@pytest.fixture(autouse=True)
def _fast(settings: object) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]
    settings.HAWIYA_FINGERPRINT_SCANNER = "demo"  # type: ignore[attr-defined]
    cache.clear()


@pytest.mark.parametrize("username", ["officer.riyadh", "admin.hawiya"])
def test_the_published_demo_staff_accounts_get_nothing_outside_demo_mode(
    settings: object, username: str
) -> None:
    # Their password and authenticator secrets are in the README and the code: a database that
    # was once seeded in demo mode must not keep a way into the back-office when demo mode is off.
    office = open_office()
    user = staff_member_create(
        username=username,
        password=STAFF_PASSWORD,
        role=StaffRole.ADMINISTRATOR if username.startswith("admin") else StaffRole.OFFICER,
        office=None if username.startswith("admin") else office,
    )
    client = signed_in(user)

    settings.DEMO = False  # type: ignore[attr-defined]
    assert staff_actor_for(user) is None
    assert client.get("/en/staff/supervisor/?office=" + office.code).status_code == 403
    assert client.get("/en/staff/day/").status_code == 403

    settings.DEMO = True  # type: ignore[attr-defined]
    assert staff_actor_for(user) is not None


def test_a_switched_off_staff_account_is_signed_out_of_the_back_office() -> None:
    user = staff_user(office=open_office())
    client = signed_in(user)
    assert client.get("/en/staff/day/").status_code == 200

    user.is_active = False
    user.save(update_fields=["is_active"])
    response = client.get("/en/staff/day/")

    assert response.status_code == 302
    assert response["Location"].startswith(SIGN_IN)
    assert staff_actor_for(user) is None


def test_an_account_that_lost_its_staff_role_is_refused() -> None:
    user = staff_user(office=open_office())
    client = signed_in(user)
    StaffMembership.objects.filter(user=user).delete()

    assert client.get("/en/staff/day/").status_code == 403
    assert client.get("/en/staff/counter/").status_code == 403


def test_the_handover_code_is_never_in_the_audit_trail_the_notification_centre_or_the_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    office = open_office()
    officer = staff_user(office=office)
    visit = booked_today(office)
    caplog.set_level(logging.DEBUG)
    advance(visit, actor_of(officer), to="ready_for_collection")
    code = handover_code(visit.replacement)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    client: Client = signed_in(officer)
    url = f"/en/staff/cases/{visit.replacement.reference}/handover/"

    refused = client.post(url, {"state_seen": "ready_for_collection", "code": wrong})
    taken = client.post(url, {"state_seen": "ready_for_collection", "code": code})

    assert refused.status_code == 422
    assert taken.status_code == 302
    visit.replacement.refresh_from_db()
    assert visit.replacement.state == "collected"
    for event in AuditEvent.objects.all():
        assert code not in str(event.detail), event.action
        assert wrong not in str(event.detail), event.action
    for note in InboxNotification.objects.all():
        assert code not in f"{note.template} {note.context} {note.subject_reference}"
    assert code not in caplog.text
    assert wrong not in caplog.text
    # Every handover event names the holder, so the holder sees it on "who accessed my data".
    handover_events = AuditEvent.objects.filter(action__startswith="handover_code.")
    assert {event.action for event in handover_events} == {
        "handover_code.issued",
        "handover_code.rejected",
        "handover_code.used",
    }
    assert {event.detail["person_id"] for event in handover_events} == {visit.replacement.document.holder_id}


def test_the_biometrics_page_files_the_fingerprints_of_the_person_at_the_counter() -> None:
    # The capture is filed under the applicant (the person standing at the counter); the counter's
    # identity check later compares a new capture with it. The demo scanner must therefore be
    # asked for the applicant's finger, not the document holder's (a parent asking for a child's
    # certificate is not the child).
    office = open_office()
    officer = staff_user(office=office)
    visit = booked_today(office)
    parent = make_citizen()
    Replacement.objects.filter(pk=visit.replacement.pk).update(applicant=parent)
    advance(visit, actor_of(officer), to="checked_in")
    holder_id = visit.replacement.document.holder_id
    assert holder_id != parent.pk

    response = signed_in(officer).post(
        f"/en/staff/cases/{visit.replacement.reference}/biometrics/",
        {"state_seen": "checked_in", "photo": SimpleUploadedFile("p.jpg", photo_bytes(), "image/jpeg")},
    )

    assert response.status_code == 302
    scanner = DemoFingerprintScanner()
    on_file = biometric_capture_latest(person_id=parent.pk)
    assert on_file is not None
    assert fingerprint_verify(
        capture=on_file, fingerprints=scanner.capture(subject_hint=str(parent.pk))
    ).matched
    assert not fingerprint_verify(
        capture=on_file, fingerprints=scanner.capture(subject_hint=str(holder_id))
    ).matched


def test_staff_sign_in_rotates_the_session_and_a_code_works_only_once() -> None:
    secret = pyotp.random_base32()
    user = staff_user(office=open_office())
    AuthenticatorApp.objects.create(user=user, secret=secret, confirmed_at=clock.now())
    code = pyotp.TOTP(secret).now()
    first = Client()
    first.get(SIGN_IN)
    first.post(SIGN_IN, {"username": user.username, "password": STAFF_PASSWORD})
    before = first.session.session_key

    done = first.post(SIGN_IN + "code/", {"code": code})

    assert done.status_code == 302
    assert first.session.session_key != before  # no session fixation
    # The same code again, from another browser with the right password: refused (no replay).
    second = Client()
    second.post(SIGN_IN, {"username": user.username, "password": STAFF_PASSWORD})
    replay = second.post(SIGN_IN + "code/", {"code": code})
    assert replay.status_code == 400
    assert second.get("/en/staff/day/").status_code == 302


def test_a_citizen_session_never_reaches_a_staff_page_and_the_next_link_stays_home() -> None:
    citizen = signed_in(make_account())
    assert citizen.get("/en/staff/day/").status_code == 403
    assert citizen.get("/en/staff/counter/").status_code == 403

    page = Client().get(SIGN_IN, {"next": "https://evil.example/en/staff/day/"}).content.decode()
    # The sign-in form's own `next` (the footer's display tools carry this page's path back).
    (form,) = re.findall(r'<form[^>]*method="post".*?</form>', page, flags=re.S)
    (hidden,) = re.findall(r'<input[^>]*name="next"[^>]*>', form)
    assert "evil.example" not in hidden
