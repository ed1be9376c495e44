"""The lost-document alarm on a 360-px phone, in Arabic: a bank checks a card the citizen reported
lost, the alert in the notification centre leads to the check, and "this was not me" (after its
confirmation page) opens a misuse case, which an officer then closes with a note; axe and the
page checklist on every page."""

from __future__ import annotations

from typing import Any

import pytest

from hawiya.audit.actors import Actor
from hawiya.casework.tests.factories import open_office, staff_user
from hawiya.document_checks.models import DocumentCheck, MisuseReport
from hawiya.document_checks.services import StatusQuery, document_status_check
from hawiya.identity.services.relying_parties import party_register
from hawiya.identity.tests.factories import person_of

from .checklist import at, check, citizen_page, error_state, sign_in, staff_check

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_report_misuse_after_the_alarm_in_arabic(
    live_server: Any, open_page: Any, artifacts: Any, settings: Any
) -> None:
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}
    }
    settings.HAWIYA_DOCUMENT_STATUS_RATE_LIMIT = 1000
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "hawiya.identity.client_secrets.ClientSecretHasher",
    ]
    page, user = citizen_page(open_page, live_server, 360, with_documents=True)
    lost = person_of(user).documents.get(status="reported_lost")
    bank = party_register(
        actor=Actor.system("tests"),
        name_ar="بنك المثال",
        name_en="Example Bank",
        redirect_uris=["https://bank.example/callback"],
        allowed_scopes=["openid", "document_status"],
        token_endpoint_auth_method="client_secret_basic",
    ).party
    query = StatusQuery(id_number=lost.holder.id_number, kind=lost.kind, serial_number=lost.serial_number)
    document_status_check(actor=Actor.relying_party(bank.application.client_id), party=bank, queries=[query])
    reference = DocumentCheck.objects.get(document=lost).reference
    check_path = f"/ar/account/document-checks/{reference}/"

    page.goto(f"{live_server.url}/ar/notifications/")
    assert "بنك المثال" in page.locator("main").inner_text()
    page.locator(f'main a[href="{check_path}"]').first.click()
    assert at(page, check_path)
    check(page)
    page.screenshot(path=str(artifacts / "document-alarm-check-ar.png"), full_page=True)

    page.locator("[data-report-misuse]").click()
    assert at(page, f"{check_path}report/")
    check(page)
    assert not MisuseReport.objects.exists()

    page.get_by_role("button", name="نعم، أبلغ عن إساءة الاستخدام").click()
    assert at(page, check_path)
    report = MisuseReport.objects.get()
    assert report.reference in page.locator("[data-misuse-report]").inner_text()
    check(page)
    page.screenshot(path=str(artifacts / "document-alarm-reported-ar.png"), full_page=True)

    # The office's side: the open case on the officers' list, closed with a note.
    staff = open_page(1280)
    sign_in(staff.context, live_server, staff_user(office=open_office()))
    staff.goto(f"{live_server.url}/ar/staff/misuse-reports/")
    assert "بنك المثال" in staff.locator(f'[data-misuse-row="{report.reference}"]').inner_text()
    staff_check(staff, "ar")
    staff.locator(f'[data-misuse-row="{report.reference}"] a').click()
    staff.get_by_role("button", name="إغلاق البلاغ").click()
    error_state(staff, "ar")
    staff_check(staff, "ar")
    staff.locator("#id_note").fill("تواصل المكتب مع البنك وتبيّن استخدام بطاقة مزوّرة.")
    staff.get_by_role("button", name="إغلاق البلاغ").click()
    assert at(staff, "/ar/staff/misuse-reports/")
    report.refresh_from_db()
    assert report.status == "closed"
    assert staff.locator("[data-misuse-row]").count() == 0
