"""The key pages under the real Content-Security-Policy in Chromium: nothing blocked.

Each visitor's pages are opened in a browser context that reports every `securitypolicyviolation`
(conftest.watch_policy). The API docs must also still work: Swagger UI, served from our own
static files, draws the operations. The admin's list, add and change pages run their scripts.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client
from playwright.sync_api import BrowserContext

from hawiya.casework.tests.factories import actor_of, advance, booked_today, open_office, staff_user
from hawiya.identity.models import StaffRole, User
from hawiya.identity.tests.factories import activate, make_account, person_of
from hawiya.payments.tests.factories import make_bill

from .conftest import watch_policy

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.HAWIYA_PAYMENT_GATEWAY = "demo"
    settings.HAWIYA_FINGERPRINT_SCANNER = "demo"
    settings.DEMO = True
    cache.clear()


def context_for(browser: Any, live_server: Any, user: User | None, width: int = 1280) -> BrowserContext:
    context = browser().new_context(viewport={"width": width, "height": 740})
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies(
            [
                {
                    "name": django_settings.SESSION_COOKIE_NAME,
                    "value": str(client.session.session_key),
                    "url": live_server.url,
                }
            ]
        )
    return context


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

    assert visit_all(context_for(browser, live_server, None), live_server, anonymous) == []
    assert visit_all(context_for(browser, live_server, citizen, 360), live_server, mine) == []
    assert visit_all(context_for(browser, live_server, payer), live_server, paying) == []


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

    assert visit_all(context_for(browser, live_server, None), live_server, ["/ar/staff/sign-in/"]) == []
    assert visit_all(context_for(browser, live_server, officer), live_server, officer_pages) == []
    assert visit_all(context_for(browser, live_server, supervisor), live_server, supervisor_pages) == []


def test_the_api_docs_work_from_our_own_files_under_the_policy(live_server: Any, browser: Any) -> None:
    context = context_for(browser, live_server, None)
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

    assert visit_all(context_for(browser, live_server, superuser), live_server, paths[1:]) == []
    assert visit_all(context_for(browser, live_server, None), live_server, paths[:1]) == []
