"""The key pages under the real Content-Security-Policy in Chromium: nothing blocked.

Each visitor's pages are opened in a browser context that reports every `securitypolicyviolation`
(conftest.watch_policy). The API docs must also still work: Swagger UI, served from our own
static files, draws the operations. The admin's list, add and change pages run their scripts.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from hawiya.casework.tests.factories import actor_of, advance, booked_today, open_office, staff_user
from hawiya.identity.models import StaffRole, User
from hawiya.identity.tests.factories import activate, make_account, person_of
from hawiya.payments.tests.factories import make_bill

from .checklist import context_for
from .conftest import watch_policy

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.HAWIYA_PAYMENT_GATEWAY = "demo"
    settings.HAWIYA_FINGERPRINT_SCANNER = "demo"
    settings.DEMO = True


def visit_all(context: BrowserContext, live_server: Any, paths: list[str]) -> list[str]:
    """Open each path; the violations reported (empty when the policy blocked nothing)."""
    violations = watch_policy(context)
    page = context.new_page()
    for path in paths:
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None
        assert response.status < 500, path
        assert response.headers.get("content-security-policy"), path
        page.wait_for_load_state("load")
    context.close()
    return violations


def test_portal_pages_block_nothing(live_server: Any, browser: Any) -> None:
    office = open_office()
    visit = booked_today(office)
    citizen = activate(visit.replacement.applicant)
    payer = make_account()
    bill = make_bill(applicant=person_of(payer))

    anonymous = [
        "/ar/",
        "/en/",
        "/ar/sign-in/",
        "/ar/activate/",
        "/ar/services/request-replacement/",
        "/ar/contact/",
        "/ar/no-such-page/",
        "/ar/dev/sms/",
    ]
    mine = [
        "/ar/account/",
        "/ar/account/security/",
        "/ar/account/methods/",
        "/ar/requests/",
        f"/ar/requests/{visit.replacement.reference}/",
        f"/ar/appointments/{visit.appointment.reference}/",
        "/ar/notifications/",
        "/ar/lost-documents/",
    ]
    paying = [f"/ar/payments/{bill.bill_number}/", f"/en/payments/demo/{bill.bill_number}/"]

    assert visit_all(context_for(browser, live_server, 1280), live_server, anonymous) == []
    assert visit_all(context_for(browser, live_server, 360, citizen), live_server, mine) == []
    assert visit_all(context_for(browser, live_server, 1280, payer), live_server, paying) == []


def test_back_office_pages_block_nothing(live_server: Any, browser: Any) -> None:
    office = open_office()
    officer = staff_user(office=office)
    supervisor = staff_user(role=StaffRole.SUPERVISOR, office=office)
    visit = booked_today(office)
    advance(visit, actor_of(officer), to="checked_in")
    reference = visit.replacement.reference

    officer_pages = [
        "/ar/staff/day/",
        "/ar/staff/requests/",
        "/ar/staff/print/",
        f"/ar/staff/cases/{reference}/",
        f"/ar/staff/cases/{reference}/biometrics/",
        f"/en/staff/cases/{reference}/reject/",
        "/ar/staff/counter/",
        "/ar/staff/dev/courier/",
    ]
    supervisor_pages = [
        "/ar/staff/supervisor/",
        "/ar/staff/supervisor/schedule/",
        "/ar/staff/supervisor/holidays/",
    ]

    assert visit_all(context_for(browser, live_server, 1280), live_server, ["/ar/staff/sign-in/"]) == []
    assert visit_all(context_for(browser, live_server, 1280, officer), live_server, officer_pages) == []
    assert visit_all(context_for(browser, live_server, 1280, supervisor), live_server, supervisor_pages) == []


def test_the_api_docs_work_from_our_own_files_under_the_policy(live_server: Any, browser: Any) -> None:
    context = context_for(browser, live_server, 1280)
    violations = watch_policy(context)
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url)
            if not request.url.startswith((live_server.url, "data:", "blob:"))
            else None
        ),
    )

    page.goto(f"{live_server.url}/api/v1/docs")
    # Swagger UI ran: it fetched the OpenAPI document and drew the operations.
    page.locator(".opblock").first.wait_for(state="visible")
    assert page.locator(".opblock").count() >= 3
    context.close()

    assert outside == []
    assert violations == []


def test_the_admin_works_under_the_policy(live_server: Any, browser: Any) -> None:
    superuser = User.objects.create_superuser(username="csp-admin", password="not-used-here-0123")
    citizen = make_account()
    paths = [
        "/ar/admin/login/",
        "/en/admin/",
        "/en/admin/registry/person/",
        "/en/admin/registry/person/add/",
        f"/en/admin/registry/person/{person_of(citizen).pk}/change/",
        "/en/admin/identity/user/",
    ]

    assert visit_all(context_for(browser, live_server, 1280, superuser), live_server, paths[1:]) == []
    assert visit_all(context_for(browser, live_server, 1280), live_server, paths[:1]) == []
