"""The officer's pages: my day and check-in, the case page and its actions, biometrics, the print
queue and print file, ready and handover; errors, other offices, citizens and anonymous visitors."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from hawiya.appointments.models import Appointment
from hawiya.audit.models import AuditEvent
from hawiya.casework.tests.factories import (
    Visit,
    actor_of,
    advance,
    booked_today,
    handover_code,
    open_office,
    signed_in,
    staff_user,
)
from hawiya.core import clock
from hawiya.core.calendars import to_hijri
from hawiya.core.testing import page_queries
from hawiya.identity.models import StaffRole
from hawiya.identity.tests.factories import make_account
from hawiya.registry.tests.factories import portrait_photo as photo_bytes
from hawiya.replacements.models import Replacement, ReplacementState

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(settings: object) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]
    cache.clear()  # the sign-in throttles count per IP in the cache
    settings.HAWIYA_FINGERPRINT_SCANNER = "demo"  # type: ignore[attr-defined]


@pytest.fixture
def office():
    return open_office()


@pytest.fixture
def officer(office):
    return staff_user(office=office)


@pytest.fixture
def client_officer(officer) -> Client:
    return signed_in(officer)


def state_of(replacement: Replacement) -> str:
    replacement.refresh_from_db()
    return replacement.state


def case_url(replacement: Replacement, suffix: str = "") -> str:
    return f"/en/staff/cases/{replacement.reference}/{suffix}"


# --- My day -----------------------------------------------------------------------------------------


def test_my_day_lists_todays_appointments_of_my_office_with_counts(office, client_officer) -> None:
    mine = booked_today(office, hour=9)
    other = booked_today(open_office(), hour=9)

    response = client_officer.get("/en/staff/day/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert mine.appointment.reference in body
    assert other.appointment.reference not in body
    assert 'data-count="appointment_booked">1<' in body
    assert body.index("data-check-in") < body.index("data-day-table")


def test_my_day_shows_another_date_from_the_url_and_refuses_a_bad_one(office, client_officer) -> None:
    booked_today(office)
    tomorrow = clock.today() + dt.timedelta(days=1)

    other_day = client_officer.get(f"/en/staff/day/?date={tomorrow.isoformat()}")
    bad = client_officer.get("/en/staff/day/?date=31-31-2026")

    assert other_day.status_code == 200
    assert "No appointments at your office on this day." in other_day.content.decode()
    assert bad.status_code == 400
    assert "There is a problem" in bad.content.decode()


def test_the_day_page_costs_the_same_queries_for_many_appointments(office, client_officer) -> None:
    booked_today(office, hour=9)
    client_officer.get("/en/staff/day/")  # the session's first request writes its activity stamp
    with CaptureQueriesContext(connection) as few:
        assert client_officer.get("/en/staff/day/").status_code == 200
    for hour in (10, 11, 12):
        for minute in (0, 20, 40):
            booked_today(office, hour=hour, minute=minute)

    with CaptureQueriesContext(connection) as many:
        response = client_officer.get("/en/staff/day/")

    assert response.content.decode().count("data-appointment=") == 10
    assert len(page_queries(many)) == len(page_queries(few))


@pytest.mark.parametrize("how", ["appointment", "request", "id_number", "qr_with_spaces"])
def test_check_in_by_reference_ticket_qr_or_id_number(office, client_officer, how: str) -> None:
    visit = booked_today(office)
    query = {
        "appointment": visit.appointment.reference,
        "request": visit.replacement.reference.lower(),
        "id_number": visit.replacement.applicant.id_number,
        "qr_with_spaces": f" {visit.appointment.reference[:2]} {visit.appointment.reference[2:]} ",
    }[how]

    response = client_officer.post("/en/staff/check-in/", {"query": query})

    assert response.status_code == 302
    assert response["Location"] == case_url(visit.replacement)
    assert state_of(visit.replacement) == "checked_in"


def test_check_in_errors_are_shown_on_the_day_page(office, client_officer) -> None:
    elsewhere = booked_today(open_office())

    empty = client_officer.post("/en/staff/check-in/", {"query": ""})
    unknown = client_officer.post("/en/staff/check-in/", {"query": elsewhere.appointment.reference})

    assert empty.status_code == 400
    assert "Enter a reference or an ID number" in empty.content.decode()
    assert unknown.status_code == 404
    assert "No appointment at your office matches this" in unknown.content.decode()
    assert state_of(elsewhere.replacement) == "appointment_booked"


def test_a_second_check_in_leads_to_the_case_with_a_message(office, client_officer) -> None:
    visit = booked_today(office)
    client_officer.post("/en/staff/check-in/", {"query": visit.appointment.reference})

    again = client_officer.post("/en/staff/check-in/", {"query": visit.appointment.reference}, follow=True)

    assert again.status_code == 200
    assert again.redirect_chain[-1][0] == case_url(visit.replacement)
    assert Appointment.objects.get(pk=visit.appointment.pk).state == "checked_in"


# --- The case page ----------------------------------------------------------------------------------


def test_the_case_page_shows_the_record_masked_and_audits_the_read(office, officer, client_officer) -> None:
    visit = booked_today(office)
    holder = visit.replacement.document.holder

    response = client_officer.get(case_url(visit.replacement))

    body = response.content.decode()
    assert response.status_code == 200
    assert holder.id_number not in body
    assert holder.id_number[-4:] in body
    assert 'data-primary-action="check_in"' in body
    assert visit.appointment.reference in body
    event = AuditEvent.objects.filter(action="person.record_viewed").latest("id")
    assert event.detail["person_id"] == holder.pk
    assert event.detail["reference"] == visit.replacement.reference
    assert event.actor == f"user:{officer.pk}"
    assert event.actor_office == office.code


@pytest.mark.parametrize("language", ["ar", "en"])
def test_who_did_what_names_the_office_and_dates_in_both_calendars(office, client_officer, language) -> None:
    visit = booked_today(office)
    client_officer.get(case_url(visit.replacement))  # an audited read by this office

    body = client_officer.get(case_url(visit.replacement).replace("/en/", f"/{language}/")).content.decode()
    table = body[body.index("data-audit>") :]
    table = table[: table.index("</table>")]

    name = office.name_ar if language == "ar" else office.name_en
    assert f"<bdi>{name}</bdi>" in table
    assert f">{office.code}<" not in table
    hijri_year = str(to_hijri(clock.today()).year)  # type: ignore[union-attr]
    assert hijri_year in table
    assert ("هـ" if language == "ar" else " AH") in table


def test_the_case_audit_table_is_newest_first(office, client_officer) -> None:
    """Events are ordered by id: they have no sequence number since the Merkle log (format 2)."""
    visit = booked_today(office)
    for _ in range(3):
        client_officer.get(case_url(visit.replacement))  # each read is audited

    body = client_officer.get(case_url(visit.replacement)).content.decode()
    table = body[body.index("data-audit>") : body.index("</table>", body.index("data-audit>"))]

    times = re.findall(r'<time datetime="([^"]+)"', table)
    assert len(times) >= 4
    assert times == sorted(times, reverse=True)
    assert table.index('data-audit-action="person.record_viewed"') < table.index(
        'data-audit-action="appointment.booked"'
    )


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_case_audit_table_names_each_action_in_the_page_language(
    office, client_officer, language
) -> None:
    visit = booked_today(office)
    client_officer.get(case_url(visit.replacement))

    body = client_officer.get(case_url(visit.replacement).replace("/en/", f"/{language}/")).content.decode()
    table = body[body.index("data-audit>") : body.index("</table>", body.index("data-audit>"))]

    with translation.override(language):
        booked = gettext("Appointment booked")
        opened = gettext("Opened the person's record")
        paid = gettext("Status changed to “%(state)s”") % {"state": ReplacementState.PAID.label}
    assert escape(booked) in table
    assert escape(opened) in table
    assert escape(paid) in table
    if language == "ar":
        assert "Appointment booked" not in table


def test_show_reveals_the_full_id_number_once_and_is_audited(office, client_officer) -> None:
    visit = booked_today(office)
    holder = visit.replacement.document.holder

    revealed = client_officer.post(case_url(visit.replacement, "id-number/"), follow=True)
    later = client_officer.get(case_url(visit.replacement))

    assert holder.id_number in revealed.content.decode()
    assert holder.id_number not in later.content.decode()
    assert AuditEvent.objects.filter(action="person.record_viewed", detail__part="id_number").count() == 1


def test_the_photo_is_served_only_after_an_audited_show_and_never_cached(
    office, officer, client_officer
) -> None:
    visit = booked_today(office)
    advance(visit, actor_of(officer), to="biometrics_captured")
    image_url = case_url(visit.replacement, "photo/image/")

    before = client_officer.get(image_url)
    page = client_officer.post(case_url(visit.replacement, "photo/"), follow=True)
    image = client_officer.get(image_url)
    again = client_officer.get(image_url)

    assert before.status_code == 404
    assert "data-photo" in page.content.decode()
    assert image.status_code == 200
    assert image["Content-Type"] == "image/jpeg"
    assert "no-store" in image["Cache-Control"]
    assert image.content[:2] == b"\xff\xd8"
    assert again.status_code == 404
    assert AuditEvent.objects.filter(action="person.photo_viewed").count() == 1


def test_another_offices_case_is_not_found(office, client_officer) -> None:
    elsewhere = booked_today(open_office())

    assert client_officer.get(case_url(elsewhere.replacement)).status_code == 404
    assert (
        client_officer.post(
            case_url(elsewhere.replacement, "check-in/"), {"state_seen": "appointment_booked"}
        ).status_code
        == 404
    )
    assert client_officer.get("/en/staff/cases/RP00000000/").status_code == 404
    assert state_of(elsewhere.replacement) == "appointment_booked"


def test_a_citizen_gets_403_and_an_anonymous_visitor_the_staff_sign_in(office) -> None:
    visit = booked_today(office)
    citizen = signed_in(make_account())

    assert citizen.get("/en/staff/day/").status_code == 403
    assert citizen.get(case_url(visit.replacement)).status_code == 403
    anonymous = Client().get(case_url(visit.replacement))
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/en/staff/sign-in/?next=")


def test_check_in_from_the_case_page_then_a_stale_page_is_refused_with_409(office, client_officer) -> None:
    visit = booked_today(office)
    url = case_url(visit.replacement, "check-in/")

    first = client_officer.post(url, {"state_seen": "appointment_booked"})
    stale = client_officer.post(url, {"state_seen": "appointment_booked"})

    assert first.status_code == 302
    assert stale.status_code == 409
    assert "This request changed while you were looking at it" in stale.content.decode()
    assert 'data-primary-action="biometrics"' in stale.content.decode()
    assert state_of(visit.replacement) == "checked_in"


def test_post_without_csrf_token_is_refused(office, officer) -> None:
    visit = booked_today(office)
    client = Client(enforce_csrf_checks=True)
    client.force_login(officer)

    response = client.post(case_url(visit.replacement, "check-in/"), {"state_seen": "appointment_booked"})

    assert response.status_code == 403
    assert state_of(visit.replacement) == "appointment_booked"


# --- Biometrics -------------------------------------------------------------------------------------


def test_biometrics_page_takes_a_photo_file_and_reads_the_scanner(office, officer, client_officer) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    visit = booked_today(office)
    advance(visit, actor_of(officer), to="checked_in")
    url = case_url(visit.replacement, "biometrics/")
    page = client_officer.get(url)

    response = client_officer.post(
        url,
        {"state_seen": "checked_in", "photo": SimpleUploadedFile("p.jpg", photo_bytes(), "image/jpeg")},
    )

    assert page.status_code == 200
    assert "data-camera" in page.content.decode()
    assert 'type="file"' in page.content.decode()
    assert response.status_code == 302
    assert state_of(visit.replacement) == "biometrics_captured"
    visit.replacement.document.holder.refresh_from_db()
    assert visit.replacement.document.holder.biometrics_captured_on == clock.today()


@pytest.mark.parametrize(
    ("photo", "message"),
    [
        (None, "Take a photo of the applicant"),
        (b"not an image at all", "must be a JPEG or PNG"),
        (photo_bytes(200, 200), "at least 300 pixels wide"),
    ],
)
def test_biometrics_errors_are_summarised(
    office, officer, client_officer, photo: bytes | None, message: str
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    visit = booked_today(office)
    advance(visit, actor_of(officer), to="checked_in")
    data: dict[str, object] = {"state_seen": "checked_in"}
    if photo is not None:
        data["photo"] = SimpleUploadedFile("p.jpg", photo, "image/jpeg")

    response = client_officer.post(case_url(visit.replacement, "biometrics/"), data)

    body = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in body
    assert message in body
    assert state_of(visit.replacement) == "checked_in"


# --- Approve, reject, print ---------------------------------------------------------------------------


def test_approve_issues_the_new_document_and_puts_it_in_the_print_queue(
    office, officer, client_officer
) -> None:
    visit = booked_today(office)
    advance(visit, actor_of(officer), to="biometrics_captured")

    response = client_officer.post(
        case_url(visit.replacement, "approve/"), {"state_seen": "biometrics_captured"}
    )
    queue = client_officer.get("/en/staff/print/")

    assert response.status_code == 302
    visit.replacement.refresh_from_db()
    assert visit.replacement.state == "approved"
    assert visit.replacement.new_document is not None
    assert f'data-queue-row="{visit.replacement.reference}"' in queue.content.decode()
    assert visit.replacement.new_document.serial_number in queue.content.decode()


def test_the_print_file_is_a_private_pdf_of_the_new_card(office, officer, client_officer) -> None:
    visit = booked_today(office)
    advance(visit, actor_of(officer), to="approved")

    response = client_officer.get(case_url(visit.replacement, "print-file.pdf"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="person.record_viewed", detail__part="print_file").count() == 1


def test_print_files_past_the_limit_get_the_429_page(office, officer, client_officer, monkeypatch) -> None:
    from django.core.cache import cache

    from hawiya.core import pdf

    cache.clear()
    visit = booked_today(office)
    advance(visit, actor_of(officer), to="approved")
    monkeypatch.setattr(pdf, "PDFS_PER_WINDOW", 1)  # the rule, not the real figure: PDFs are slow

    answers = [client_officer.get(case_url(visit.replacement, "print-file.pdf")) for _ in range(2)]

    assert [answer.status_code for answer in answers] == [200, 429]
    assert answers[1]["Content-Type"].startswith("text/html")
    assert "Too many documents requested" in answers[1].content.decode()


def test_mark_printed_twice_from_the_queue_gives_a_clear_message(office, officer, client_officer) -> None:
    visit = booked_today(office)
    advance(visit, actor_of(officer), to="approved")
    data = {"state_seen": "approved", "back": "print-queue"}

    first = client_officer.post(case_url(visit.replacement, "printed/"), data, follow=True)
    second = client_officer.post(case_url(visit.replacement, "printed/"), data, follow=True)

    assert first.status_code == 200
    assert "is marked printed" in first.content.decode()
    assert second.status_code == 200
    assert "This request changed while you were looking at it" in second.content.decode()
    assert state_of(visit.replacement) == "printed"


def test_reject_needs_a_reason_then_ends_the_request(office, officer, client_officer) -> None:
    visit = booked_today(office)
    advance(visit, actor_of(officer), to="checked_in")
    url = case_url(visit.replacement, "reject/")

    page = client_officer.get(url)
    missing = client_officer.post(url, {"state_seen": "checked_in"})
    other_without_note = client_officer.post(url, {"state_seen": "checked_in", "reason": "other"})
    done = client_officer.post(
        url, {"state_seen": "checked_in", "reason": "documents_missing", "note": "Bring Form 58."}
    )

    assert page.status_code == 200
    assert "photo_unsuitable" in page.content.decode()
    assert missing.status_code == 400
    assert "Choose the reason" in missing.content.decode()
    assert other_without_note.status_code == 400
    assert done.status_code == 302
    assert state_of(visit.replacement) == "rejected"
    assert client_officer.get(url).status_code == 302  # nothing left to reject
    case_page = client_officer.get(case_url(visit.replacement)).content.decode()
    # The officer's note inside <bdi>: words in either direction cannot reorder the line.
    assert "Required documents are missing: <bdi>Bring Form 58.</bdi>" in case_page


# --- Ready and handover ----------------------------------------------------------------------------


def test_mark_ready_sends_a_code_and_the_handover_takes_it(office, officer, client_officer) -> None:
    visit = booked_today(office)
    advance(visit, actor_of(officer), to="printed")

    ready = client_officer.post(case_url(visit.replacement, "ready/"), {"state_seen": "printed"})
    code = handover_code(visit.replacement)
    wrong = "000000" if code != "000000" else "111111"
    wrong_try = client_officer.post(
        case_url(visit.replacement, "handover/"), {"state_seen": "ready_for_collection", "code": wrong}
    )
    malformed = client_officer.post(
        case_url(visit.replacement, "handover/"), {"state_seen": "ready_for_collection", "code": "12"}
    )
    right = client_officer.post(
        case_url(visit.replacement, "handover/"), {"state_seen": "ready_for_collection", "code": code}
    )

    assert ready.status_code == 302
    assert wrong_try.status_code == 422
    assert "There is a problem" in wrong_try.content.decode()
    assert malformed.status_code == 400
    assert "The handover code is 6 digits." in malformed.content.decode()
    assert right.status_code == 302
    assert state_of(visit.replacement) == "collected"


def test_resend_gives_a_new_code_and_the_old_one_no_longer_works(office, officer, client_officer) -> None:
    visit = booked_today(office)
    advance(visit, actor_of(officer), to="ready_for_collection")
    old = handover_code(visit.replacement)

    resent = client_officer.post(case_url(visit.replacement, "handover/resend/"), follow=True)
    new = handover_code(visit.replacement)
    with_old = client_officer.post(
        case_url(visit.replacement, "handover/"), {"state_seen": "ready_for_collection", "code": old}
    )

    assert "A new handover code has been sent" in resent.content.decode()
    assert old != new
    assert with_old.status_code == 422
    assert state_of(visit.replacement) == "ready_for_collection"


def test_a_delegate_with_an_invalid_id_number_is_refused(office, officer, client_officer) -> None:
    visit = booked_today(office)
    advance(visit, actor_of(officer), to="ready_for_collection")
    code = handover_code(visit.replacement)

    response = client_officer.post(
        case_url(visit.replacement, "handover/"),
        {"state_seen": "ready_for_collection", "code": code, "delegate_id_number": "3000000000"},
    )

    assert response.status_code == 400
    assert "An ID number is 10 digits" in response.content.decode()
    assert state_of(visit.replacement) == "ready_for_collection"


# --- The shell --------------------------------------------------------------------------------------


def test_the_nav_shows_only_what_the_role_may_use(office) -> None:
    officer_page = signed_in(staff_user(office=office)).get("/en/staff/day/").content.decode()
    supervisor_page = (
        signed_in(staff_user(role=StaffRole.SUPERVISOR, office=office)).get("/en/staff/day/").content.decode()
    )

    assert "Print queue" in officer_page
    assert 'href="/en/staff/supervisor/' not in officer_page
    assert "Staff" in officer_page
    assert "Print queue" in supervisor_page


def test_pages_render_in_arabic(office, officer, client_officer) -> None:
    visit: Visit = booked_today(office)
    advance(visit, actor_of(officer), to="approved")

    for url in ("/ar/staff/day/", f"/ar/staff/cases/{visit.replacement.reference}/", "/ar/staff/print/"):
        response = client_officer.get(url)
        assert response.status_code == 200, url
        assert 'lang="ar" dir="rtl"' in response.content.decode()


def test_a_delivery_request_is_approved_and_printed_from_its_case_page(office, client_officer) -> None:
    from hawiya.appointments.tests.factories import make_replacement
    from hawiya.replacements.models import ReceiveMethod
    from hawiya.replacements.services import replacement_office_set

    replacement = make_replacement(method=ReceiveMethod.DELIVERY)
    replacement_office_set(replacement=replacement, office=office)

    page = client_officer.get(case_url(replacement)).content.decode()
    approved = client_officer.post(case_url(replacement, "approve/"), {"state_seen": "paid"})
    printed = client_officer.post(case_url(replacement, "printed/"), {"state_seen": "approved"})
    after = client_officer.get(case_url(replacement)).content.decode()

    assert 'data-primary-action="approve"' in page
    assert "Delivery address" in page
    assert approved.status_code == 302
    assert printed.status_code == 302
    assert state_of(replacement) in ("printed", "dispatched")
    assert 'data-primary-action=""' in after


def test_delivery_requests_wait_in_the_requests_list_and_a_reference_opens_its_case(
    office, client_officer, django_assert_max_num_queries
) -> None:
    from hawiya.appointments.tests.factories import make_replacement
    from hawiya.casework.tests.factories import open_office
    from hawiya.replacements.models import ReceiveMethod
    from hawiya.replacements.services import replacement_office_set

    ours = make_replacement(method=ReceiveMethod.DELIVERY)
    replacement_office_set(replacement=ours, office=office)
    theirs = make_replacement(method=ReceiveMethod.DELIVERY)
    replacement_office_set(replacement=theirs, office=open_office())

    with django_assert_max_num_queries(12):
        page = client_officer.get("/en/staff/requests/?stage=to_approve")
    text = page.content.decode()
    assert page.status_code == 200
    assert f'data-queue-row="{ours.reference}"' in text
    assert theirs.reference not in text
    assert "To approve (delivery) <span" in text
    assert "(1)</span>" in text

    found = client_officer.get("/en/staff/requests/", {"reference": ours.reference.lower()})
    assert found.status_code == 302
    assert found["Location"] == case_url(ours)
    other = client_officer.get("/en/staff/requests/", {"reference": theirs.reference})
    assert other.status_code == 400
    assert "No request of your office has this reference." in other.content.decode()
    bad = client_officer.get("/en/staff/requests/", {"reference": "12"})
    assert bad.status_code == 400
    assert "RP followed by 8 digits" in bad.content.decode()
    assert client_officer.get("/en/staff/requests/?stage=nonsense").status_code == 400


def _flat_frame(shade: int) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (640, 800), (shade, shade, shade)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("language", "shade", "message"),
    [
        ("en", 128, "The photo is almost one flat colour"),
        ("en", 0, "the camera may be covered"),
        ("ar", 128, "الصورة بلون واحد تقريبًا"),
    ],
)
def test_a_blank_camera_frame_is_refused_with_a_clear_message_in_both_languages(
    office, officer, client_officer, language: str, shade: int, message: str
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from hawiya.registry.models import BiometricCapture

    visit = booked_today(office)
    advance(visit, actor_of(officer), to="checked_in")
    url = f"/{language}/staff/cases/{visit.replacement.reference}/biometrics/"

    response = client_officer.post(
        url,
        {
            "state_seen": "checked_in",
            "photo": SimpleUploadedFile("camera.jpg", _flat_frame(shade), "image/jpeg"),
        },
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert 'href="#id_photo"' in body
    assert state_of(visit.replacement) == "checked_in"
    assert not BiometricCapture.objects.exists()


def test_biometrics_are_enrolled_with_the_abis_and_its_failure_is_a_clear_error(
    office, officer, client_officer, settings
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from hawiya.registry.models import BiometricCapture
    from hawiya.registry.tests.abis import running_abis, use_abis

    visit = booked_today(office)
    advance(visit, actor_of(officer), to="checked_in")
    url = case_url(visit.replacement, "biometrics/")

    def post() -> Any:
        return client_officer.post(
            url,
            {"state_seen": "checked_in", "photo": SimpleUploadedFile("p.jpg", photo_bytes(), "image/jpeg")},
        )

    with running_abis() as abis:
        use_abis(settings, abis)
        abis.status = 503
        refused = post()
        assert refused.status_code == 502
        assert "The fingerprint matching system did not answer properly" in refused.content.decode()
        assert state_of(visit.replacement) == "checked_in"
        assert not BiometricCapture.objects.exists()

        abis.status = 200
        saved = post()
    assert saved.status_code == 302
    assert state_of(visit.replacement) == "biometrics_captured"
    capture = BiometricCapture.objects.get()
    assert (capture.matcher, capture.template_reference) == ("http", "abis-ref-0001")
