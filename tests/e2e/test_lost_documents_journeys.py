"""Issue #4's two journeys in a real browser, in Arabic at 360 px, with axe on every page:

a. A citizen reports the ID card lost, requests its replacement delivered to the National Address
   (second loss: a fine and the delivery fee), uploads a photo, and pays through the demo gateway.
b. A head of family reports a child's birth certificate lost, requests its replacement for
   collection (nothing to pay), books an office appointment, moves it, and downloads Form 58.

Screenshots go to test-artifacts/journey-*.png.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from hawiya.appointments.models import Appointment, AppointmentState
from hawiya.appointments.tests.factories import at_riyadh, id_card_service, make_bookable_office
from hawiya.audit.actors import Actor
from hawiya.core import clock
from hawiya.identity.tests.factories import make_account, person_of
from hawiya.losses.models import LossReport
from hawiya.notifications.models import InboxNotification, SmsMessage
from hawiya.payments.models import Bill, BillState
from hawiya.registry.models import CivilService, DocumentKind, DocumentStatus, Relation
from hawiya.registry.services import document_issue, document_mark_reported_lost, document_reissue
from hawiya.registry.tests.factories import make_address, make_document, make_family_record, make_person
from hawiya.replacements.models import ReceiveMethod, Replacement, ReplacementState

from .checklist import at, form_check, photo_file, signed_in, working_day

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CONTINUE = "متابعة"


@pytest.fixture(autouse=True)
def _journey_settings(settings: Any) -> None:
    settings.HAWIYA_PAYMENT_GATEWAY = "demo"
    settings.HAWIYA_PAYMENT_WEBHOOK_SECRET = "test-webhook-secret"
    settings.DEMO = True  # the demo payment gateway and /dev/sms


class Shots:
    """Numbered full-page screenshots: test-artifacts/journey-<name>-NN-<step>.png."""

    def __init__(self, artifacts: Path, name: str) -> None:
        self.artifacts, self.name, self.number = artifacts, name, 0

    def __call__(self, page: Page, step: str) -> None:
        self.number += 1
        path = self.artifacts / f"journey-{self.name}-{self.number:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)


def h1(page: Page) -> str:
    return page.locator("h1").inner_text().strip()


def inbox_count(page: Page) -> int:
    badge = page.locator("[data-inbox-count]")
    return int(badge.text_content() or "") if badge.count() else 0


def report_the_loss(page: Page, base: str, document_name: str, shot: Shots) -> LossReport:
    """/ar/lost-documents/: choose → when → where → what → declaration → check → "Yes"."""
    page.goto(f"{base}/lost-documents/")
    assert h1(page) == "ما الوثائق التي فقدتها؟"
    form_check(page)
    shot(page, "loss-choose")
    page.get_by_role("checkbox", name=re.compile(re.escape(document_name))).check()
    page.get_by_role("button", name=CONTINUE, exact=True).click()

    assert at(page, "/ar/lost-documents/when/")
    day = clock.today() - dt.timedelta(days=2)
    page.get_by_label("اليوم", exact=True).fill(str(day.day))
    page.get_by_label("الشهر", exact=True).fill(str(day.month))
    page.get_by_label("السنة", exact=True).fill(str(day.year))
    form_check(page)
    shot(page, "loss-when")
    page.get_by_role("button", name=CONTINUE, exact=True).click()

    assert at(page, "/ar/lost-documents/where/")
    page.get_by_label("داخل المملكة العربية السعودية").check()
    page.get_by_label("المدينة", exact=True).fill("الرياض")
    form_check(page)
    shot(page, "loss-where")
    page.get_by_role("button", name=CONTINUE, exact=True).click()

    assert at(page, "/ar/lost-documents/circumstances/")
    page.get_by_label("كيف فقدتها؟").fill("فقدتها في سوق المدينة مساء أمس مع المحفظة.")
    form_check(page)
    shot(page, "loss-what")
    page.get_by_role("button", name=CONTINUE, exact=True).click()

    assert at(page, "/ar/lost-documents/declaration/")
    page.locator("#id_declaration").check()
    form_check(page)
    shot(page, "loss-declaration")
    page.get_by_role("button", name=CONTINUE, exact=True).click()

    assert at(page, "/ar/lost-documents/check/")
    assert h1(page) == "هل تريد تسجيل فقدان هذه الوثيقة؟"
    form_check(page)
    shot(page, "loss-check")
    page.get_by_role("button", name="نعم، سجّل الفقدان").click()

    report = LossReport.objects.get()
    assert at(page, f"/ar/lost-documents/{report.reference}/")
    assert h1(page) == "تم تسجيل بلاغ الفقدان"
    assert report.reference in page.locator("[data-reference]").inner_text()
    form_check(page)
    shot(page, "loss-confirmation")
    return report


def choose_and_confirm(page: Page, document_name: str, shot: Shots) -> None:
    """From "Request a replacement" on the report's page to the way of receiving it."""
    page.get_by_role("link", name="طلب بدل فاقد").click()
    assert "/ar/requests/new/" in page.url
    assert h1(page) == "ما الوثيقة التي تريد إصدار بدل فاقد لها؟"
    # The report's link preselects the document.
    assert page.get_by_role("radio", name=document_name).is_checked()
    form_check(page)
    shot(page, "request-choose")
    page.get_by_role("button", name=CONTINUE, exact=True).click()

    assert at(page, "/ar/requests/new/checks/")
    assert h1(page) == "يمكنك طلب هذا البدل"
    form_check(page)
    shot(page, "request-checks")
    page.get_by_role("link", name=CONTINUE, exact=True).click()

    assert at(page, "/ar/requests/new/contact/")
    assert h1(page) == "أكّد عنوانك الوطني ورقم جوالك"
    assert "RRRD2929" in page.locator("[data-national-address]").inner_text()
    page.get_by_label("هذا عنواني الوطني الحالي").check()
    page.get_by_label("هذا رقم جوالي ويمكنني استقبال الرسائل النصية عليه").check()
    form_check(page)
    shot(page, "request-contact")
    page.get_by_role("button", name=CONTINUE, exact=True).click()

    assert at(page, "/ar/requests/new/how-to-receive/")
    assert h1(page) == "كيف تريد استلام الوثيقة الجديدة؟"


def test_report_a_lost_id_card_and_request_a_replacement_with_delivery_and_pay(
    live_server, open_page, artifacts, tmp_path
):
    # A citizen whose card was lost once before (so this is the second loss: a 100 SAR fine),
    # with a National Address and fingerprints taken 300 days ago (so delivery is allowed).
    user = make_account(biometrics_captured_on=clock.today() - dt.timedelta(days=300))
    person = person_of(user)
    make_address(person)
    office = make_bookable_office()
    first = document_issue(
        holder=person,
        kind=DocumentKind.NATIONAL_ID_CARD,
        issuing_office=office,
        issue_date=dt.date(2016, 1, 5),
        expiry_date=dt.date(2026, 1, 5),
    )
    document_mark_reported_lost(
        actor=Actor.system("tests"), document_id=first.pk, at=clock.now() - dt.timedelta(days=2000)
    )
    card = document_reissue(
        actor=Actor.system("tests"),
        document_id=first.pk,
        issuing_office=office,
        issue_date=dt.date(2021, 6, 1),
        expiry_date=dt.date(2031, 6, 1),
    )
    card_name = "بطاقة الهوية الوطنية"
    page = signed_in(open_page, live_server, user)
    base = f"{live_server.url}/ar"
    shot = Shots(artifacts, "lost-id-card")

    report_the_loss(page, base, card_name, shot)
    card.refresh_from_db()
    assert card.status == DocumentStatus.REPORTED_LOST

    choose_and_confirm(page, f"{card_name} — {person.full_name_ar}", shot)
    form_check(page)
    shot(page, "request-method")
    page.get_by_label("التوصيل إلى عنواني الوطني").check()
    page.get_by_role("button", name=CONTINUE, exact=True).click()

    assert at(page, "/ar/requests/new/photo/")
    assert h1(page) == "ارفع صورة حديثة"
    page.get_by_label("ارفع صورتك").set_input_files(str(photo_file(tmp_path)))
    page.get_by_label("خلفية الصورة بيضاء سادة والتُقطت خلال الأشهر الستة الماضية").check()
    form_check(page)
    shot(page, "request-photo")
    page.get_by_role("button", name=CONTINUE, exact=True).click()

    assert at(page, "/ar/requests/new/check-answers/")
    assert h1(page) == "راجع إجاباتك والرسوم"
    assert page.locator("[data-method]").inner_text() == "التوصيل إلى عنواني الوطني"
    assert "135" in page.locator("[data-total]").inner_text()
    form_check(page)
    shot(page, "request-check-answers")
    page.get_by_role("button", name="تقديم الطلب").click()

    replacement = Replacement.objects.get(applicant=person)
    assert at(page, f"/ar/requests/{replacement.reference}/")
    assert replacement.method == ReceiveMethod.DELIVERY
    assert replacement.state == ReplacementState.AWAITING_PAYMENT
    assert replacement.total_sar == 135
    bill = Bill.objects.get(replacement=replacement)
    assert page.locator("[data-state]").get_attribute("data-state") == ReplacementState.AWAITING_PAYMENT
    before = inbox_count(page)
    assert before >= 1
    form_check(page)
    shot(page, "request-submitted")

    # The bill was sent by text message too (the demo's SMS inbox shows it).
    sms = SmsMessage.objects.filter(to=person.mobile, template="bill_issued").get()
    assert bill.bill_number in sms.body

    page.get_by_role("link", name="ادفع 135 ريال").click()
    assert at(page, f"/ar/payments/{bill.bill_number}/")
    assert h1(page) == "ادفع الفاتورة"
    form_check(page)
    shot(page, "pay-bill")
    page.get_by_role("button", name="ادفع 135 ريال").click()

    assert at(page, f"/ar/payments/demo/{bill.bill_number}/")
    assert h1(page) == "بوابة دفع تجريبية"
    form_check(page)
    shot(page, "pay-demo-gateway")
    page.locator("[data-demo-pay]").click()

    assert at(page, f"/ar/payments/{bill.bill_number}/return/")
    assert h1(page) == "تم استلام المبلغ"
    form_check(page)
    shot(page, "pay-received")
    assert Bill.objects.get(pk=bill.pk).state == BillState.PAID

    page.get_by_role("link", name="متابعة الطلب").first.click()
    assert at(page, f"/ar/requests/{replacement.reference}/")
    status = page.locator("[data-state]")
    assert status.get_attribute("data-state") == ReplacementState.PAID
    assert status.inner_text() == "مدفوع"
    assert page.locator("[data-timeline] [data-action=paid]").count() == 1
    assert page.locator("[data-tasks]").inner_text().count("مكتمل") == 1
    assert inbox_count(page) > before
    form_check(page)
    shot(page, "request-paid")
    assert InboxNotification.objects.filter(person_id=person.pk, template="replacement_paid").count() == 1

    page.goto(f"{base}/dev/sms/")
    assert bill.bill_number in page.locator("main").inner_text()
    shot(page, "dev-sms")


def _service(code: str, name_ar: str, name_en: str) -> CivilService:
    """A catalogue row of registry migration 0002 (made again after a transactional test's flush)."""
    service, _created = CivilService.objects.get_or_create(
        code=code, defaults={"name_ar": name_ar, "name_en": name_en}
    )
    return service


def pdf_text(content: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_a_head_of_family_replaces_a_childs_birth_certificate_books_moves_and_prints_form_58(
    live_server, open_page, artifacts
):
    user = make_account()
    head = person_of(user)
    make_address(head)
    child = make_person(
        first_name_ar="ريم",
        father_name_ar=head.first_name_ar,
        grandfather_name_ar=head.father_name_ar,
        first_name_en="Reem",
        father_name_en=head.first_name_en,
        grandfather_name_en=head.father_name_en,
        sex="F",
        date_of_birth=clock.today().replace(year=clock.today().year - 8, day=1),
        mobile="",
    )
    make_family_record(head=head, members=[(child, Relation.DAUGHTER)])
    certificate = make_document(
        holder=child,
        kind=DocumentKind.BIRTH_CERTIFICATE,
        issue_date=child.date_of_birth + dt.timedelta(days=9),
    )
    office = make_bookable_office(
        name_ar="مكتب الأحوال المدنية بالملز", name_en="Civil Affairs Office, Al Malaz"
    )
    office.services.add(
        id_card_service(),
        _service(
            "birth_certificate_replacement", "إصدار شهادة ميلاد بدل مفقود", "Birth certificate replacement"
        ),
    )
    certificate_name = f"شهادة الميلاد — {child.full_name_ar}"
    page = signed_in(open_page, live_server, user)
    base = f"{live_server.url}/ar"
    shot = Shots(artifacts, "birth-certificate")

    report_the_loss(page, base, child.full_name_ar, shot)
    choose_and_confirm(page, certificate_name, shot)
    form_check(page)
    shot(page, "request-method")
    page.get_by_label("الاستلام من مكتب الأحوال المدنية").check()
    page.get_by_role("button", name=CONTINUE, exact=True).click()

    assert at(page, "/ar/requests/new/check-answers/")
    assert page.locator("[data-method]").inner_text() == "الاستلام من مكتب الأحوال المدنية"
    assert page.locator("[data-total]").inner_text() == "لا يوجد مبلغ مستحق"
    form_check(page)
    shot(page, "request-check-answers")
    page.get_by_role("button", name="تقديم الطلب").click()

    # Nothing to pay: the request goes straight on (state "paid", shown as "nothing to pay"), with
    # the booking task open.
    replacement = Replacement.objects.get(applicant=head)
    assert replacement.document_id == certificate.pk
    assert replacement.state == ReplacementState.PAID
    assert not Bill.objects.filter(replacement=replacement).exists()
    assert at(page, f"/ar/requests/{replacement.reference}/")
    # Never "paid": nothing was paid (issue 10 item 8).
    assert page.locator("[data-state]").inner_text() == "مُقدَّم: لا رسوم مستحقة"
    form_check(page)
    shot(page, "request-submitted")

    page.get_by_role("link", name="احجز موعدًا في المكتب").click()
    assert at(page, f"/ar/appointments/new/{replacement.reference}/")
    assert h1(page) == "حجز موعد"
    # The region and city come from the National Address (Riyadh).
    assert page.get_by_label("المنطقة").input_value() == "riyadh"
    assert page.get_by_label("المدينة").input_value() == "Riyadh"
    form_check(page)
    shot(page, "appointment-where")
    page.get_by_label("مكتب الأحوال المدنية بالملز").check()
    page.get_by_role("button", name="عرض التواريخ").click()

    # Counted once the dates' page has loaded: the click returns as it starts.
    expect(page.locator("[data-suggested-dates] a")).to_have_count(5)
    form_check(page)
    shot(page, "appointment-dates")
    # At least 3 days ahead, so it can still be changed afterwards (changes close 2 days before).
    day = working_day(4)
    page.locator(f"[data-suggested-dates] a[href*='day={day.isoformat()}']").click()
    page.get_by_role("radio", name=re.compile(r"^10:00")).check()
    form_check(page)
    shot(page, "appointment-time")
    page.get_by_role("button", name=CONTINUE, exact=True).click()

    assert h1(page) == "تحقق من بيانات الموعد"
    form_check(page)
    shot(page, "appointment-check")
    page.get_by_role("button", name="حجز هذا الموعد").click()

    appointment = Appointment.objects.get(replacement=replacement)
    assert at(page, f"/ar/appointments/{appointment.reference}/")
    assert appointment.slot.starts_at == at_riyadh(day, 10)
    assert appointment.reference in page.locator("[data-reference]").inner_text()
    form_check(page)
    shot(page, "appointment-booked")

    # Move it to 11:00 the same day.
    page.get_by_role("link", name="تغيير التاريخ أو الوقت أو المكتب").click()
    assert at(page, f"/ar/appointments/{appointment.reference}/reschedule/")
    assert h1(page) == "تغيير الموعد"
    expect(page.locator("[data-current-appointment]")).to_be_visible()
    form_check(page)
    shot(page, "reschedule-where")
    page.get_by_label("مكتب الأحوال المدنية بالملز").check()
    page.get_by_role("button", name="عرض التواريخ").click()
    page.locator(f"[data-suggested-dates] a[href*='day={day.isoformat()}']").click()
    assert "موعدك الحالي" in page.locator("[data-slot-grid]").inner_text()
    page.get_by_role("radio", name=re.compile(r"^11:00")).check()
    form_check(page)
    shot(page, "reschedule-time")
    page.get_by_role("button", name=CONTINUE, exact=True).click()
    form_check(page)
    shot(page, "reschedule-check")
    page.get_by_role("button", name="تغيير الموعد").click()

    appointment.refresh_from_db()
    assert appointment.state == AppointmentState.BOOKED
    assert appointment.slot.starts_at == at_riyadh(day, 11)
    assert at(page, f"/ar/appointments/{appointment.reference}/")
    assert "11:00" in page.locator("[data-when]").inner_text()
    form_check(page)
    shot(page, "reschedule-done")

    # Back to the request through Track my requests; Form 58 names the child and the request.
    page.goto(f"{base}/requests/")
    form_check(page)
    shot(page, "requests-list")
    page.get_by_role("link", name=certificate_name).click()
    assert at(page, f"/ar/requests/{replacement.reference}/")
    assert page.locator("[data-state]").inner_text() == "تم حجز الموعد"
    assert "11:00" in page.locator("[data-appointment]").inner_text()
    assert page.locator("[data-timeline] [data-action=appointment_moved]").count() == 1
    form_check(page)
    shot(page, "request-with-appointment")

    link = page.get_by_role("link", name="نموذج 58 (PDF، بالعربية)")
    href = link.get_attribute("href")
    assert href == f"/ar/requests/{replacement.reference}/form-58.pdf"
    response = page.request.get(f"{live_server.url}{href}")
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.body())
    assert replacement.reference in text
    assert child.full_name_ar in text
