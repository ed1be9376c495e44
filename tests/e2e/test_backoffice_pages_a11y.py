"""The back-office pages not walked by test_backoffice_journey.py, in a real browser: staff
sign-in and its code page, the requests list, the reject confirmation, the handover, the
supervisor's dashboard, schedule (and its "check the effect" page) and holidays, the counter
services, the demo courier and its forms, and the citizen's "who accessed my data" page.

For each page, in Arabic and English at 360 and 1280 px (one browser context per language and
width, many pages per test): axe-core, `html[lang][dir]`, no horizontal scroll, exactly one h1,
a title of its own, targets ≥ 44 px (≥ 24 px inside the dense staff tables), and the error
states (the error summary shown, focused, and the title starting with "Error:").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Page, expect

from hawiya.appointments.tests.factories import make_replacement
from hawiya.audit.actors import Actor
from hawiya.casework.tests.factories import (
    STAFF_PASSWORD,
    actor_of,
    advance,
    booked_today,
    handover_code,
    open_office,
    staff_user,
)
from hawiya.core import clock
from hawiya.delivery.tests.factories import make_shipment
from hawiya.identity.models import AuthenticatorApp, StaffRole, User
from hawiya.identity.tests.factories import make_account, make_citizen, person_of
from hawiya.registry.biometrics import DemoFingerprintScanner, biometrics_record
from hawiya.registry.models import Office, Person
from hawiya.registry.tests.factories import portrait_photo as photo_bytes
from hawiya.replacements.models import ReceiveMethod, Replacement
from hawiya.replacements.services import replacement_office_set

from .checklist import (
    BACKOFFICE_VARIANTS,
    SECRET,
    STAFF_TARGETS,
    UA,
    assert_accessible,
    assert_language,
    assert_no_horizontal_scroll,
    assert_targets,
    context_for,
    error_state,
    error_summary_focused,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.HAWIYA_FINGERPRINT_SCANNER = "demo"
    settings.DEMO = True  # the demo courier pages exist only in demo mode


@dataclass
class Checker:
    """Runs the page checklist and remembers each page's title (a title names one page)."""

    language: str
    titles: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def __call__(self, page: Page, name: str) -> None:
        """Every check of the page; a failure is noted and the walk goes on (all are reported)."""
        checks: list[Callable[[], None]] = [
            lambda: assert_language(page, self.language),
            lambda: self._title(page, name),
            lambda: assert_targets(page, STAFF_TARGETS, staff_tables=True, labels=True),
            lambda: assert_no_horizontal_scroll(page),
            lambda: assert_accessible(page),
        ]
        for one in checks:
            try:
                one()
            except AssertionError as failure:
                self.failures.append(f"{name} ({page.url}): {failure}")

    def _title(self, page: Page, name: str) -> None:
        assert page.locator("h1").count() == 1, "not exactly one h1"
        title = page.title()
        assert title.count("Error:") + title.count("خطأ:") <= 1, f"title {title!r}"
        if not title.startswith(("Error:", "خطأ:")):
            others = [other for other, seen in self.titles.items() if seen == title and other != name]
            assert not others, f"the same title as {others}: {title!r}"
            self.titles[name] = title

    def error_state(self, page: Page, name: str) -> None:
        """After a bad submit: the summary is shown and focused, the title says "Error:"."""
        try:
            error_state(page, self.language)
            error_summary_focused(page)
            # Each link of the summary leads to its field (GOV.UK: the link moves focus there).
            dead = page.evaluate(
                """() => Array.from(document.querySelectorAll('.hw-error-summary a'))
                    .map((a) => a.getAttribute('href'))
                    .filter((href) => !href.startsWith('#') || !document.getElementById(href.slice(1)))"""
            )
            assert dead == [], f"error summary links to nothing: {dead}"
        except AssertionError as failure:
            self.failures.append(f"{name} ({page.url}): {failure}")
        self(page, name)


@dataclass
class Data:
    office: Office
    supervisor: User
    signing_in: User
    to_reject: Replacement
    ready: Replacement
    counter_person: Person
    citizen: User
    nobody_looked: User


def build() -> Data:
    """The data every page needs, made through the services and factories."""
    office = open_office(name_ar="مكتب الأحوال المدنية بالملز", name_en="Civil Affairs Office, Al Malaz")
    supervisor = staff_user(role=StaffRole.SUPERVISOR, office=office)
    signing_in = staff_user(office=office)
    AuthenticatorApp.objects.create(user=signing_in, secret=SECRET, confirmed_at=clock.now())

    # The requests list and the reject page: a paid delivery request of the office.
    citizen = make_account()
    to_reject = make_replacement(applicant=person_of(citizen), method=ReceiveMethod.DELIVERY)
    replacement_office_set(replacement=to_reject, office=office)

    # The handover page: a request ready for collection (its code sent by SMS).
    visit = booked_today(office)
    ready = advance(visit, actor_of(supervisor), to="ready_for_collection")

    # The counter: a person without an account whose fingerprints are on file.
    counter_person = make_citizen()
    biometrics_record(
        person_id=counter_person.pk,
        office=office,
        photo=photo_bytes(480, 640),
        fingerprints=DemoFingerprintScanner().capture(subject_hint=str(counter_person.pk)),
        actor=Actor.system("tests"),
    )

    # The demo courier: a shipment waiting to be picked up (its forms are drawn for any state).
    make_shipment()
    return Data(
        office=office,
        supervisor=supervisor,
        signing_in=signing_in,
        to_reject=to_reject,
        ready=ready,
        counter_person=counter_person,
        citizen=citizen,
        nobody_looked=make_account(),
    )


def submit(page: Page, form: str = "main form[method=post]") -> None:
    page.locator(form).first.locator("button[type=submit]").first.click()
    page.wait_for_load_state()


@pytest.mark.parametrize(("language", "width"), BACKOFFICE_VARIANTS)
def test_the_back_office_pages_pass_the_checklist(
    live_server: Any, browser: Any, artifacts: Path, language: str, width: int
) -> None:
    data = build()
    check = Checker(language)
    root = f"{live_server.url}/{language}"
    staff_root = f"{root}/staff"
    shots = width == 1280

    def shot(page: Page, name: str) -> None:
        if shots:
            page.screenshot(path=str(artifacts / f"backoffice-a11y-{name}-{language}.png"), full_page=True)

    # --- Staff sign-in, its error state, the code page and its error state ---------------------
    anonymous = context_for(browser, live_server, width, user_agent=UA)
    page = anonymous.new_page()
    page.goto(f"{staff_root}/sign-in/")
    check(page, "sign-in")
    submit(page)
    check.error_state(page, "sign-in-error")
    page.locator("#id_username").fill(data.signing_in.username)
    page.locator("#id_password").fill(STAFF_PASSWORD)
    submit(page)
    assert page.url == f"{staff_root}/sign-in/code/"
    check(page, "sign-in-code")
    page.locator("#id_code").fill("12")
    submit(page)
    check.error_state(page, "sign-in-code-error")
    shot(page, "sign-in-code-error")
    page.locator("#id_code").fill(pyotp.TOTP(SECRET).now())
    submit(page)
    assert page.url == f"{staff_root}/day/"
    anonymous.close()

    # --- The supervisor's working pages ----------------------------------------------------------
    context = context_for(browser, live_server, width, data.supervisor, user_agent=UA)
    page = context.new_page()

    page.goto(f"{staff_root}/requests/?stage=to_approve")
    assert page.locator(f'[data-queue-row="{data.to_reject.reference}"]').count() == 1
    check(page, "requests")
    shot(page, "requests")
    page.goto(f"{staff_root}/requests/?reference=12")
    check.error_state(page, "requests-error")

    page.goto(f"{staff_root}/cases/{data.to_reject.reference}/reject/")
    check(page, "reject")
    submit(page)
    check.error_state(page, "reject-error")
    shot(page, "reject-error")

    page.goto(f"{staff_root}/cases/{data.ready.reference}/handover/")
    check(page, "handover")
    code = handover_code(data.ready)
    page.locator("#id_code").fill(f"{(int(code) + 1) % 10**6:06d}")
    submit(page)
    check.error_state(page, "handover-wrong-code")
    shot(page, "handover-wrong-code")

    page.goto(f"{staff_root}/supervisor/")
    check(page, "dashboard")
    shot(page, "dashboard")
    page.goto(f"{staff_root}/supervisor/schedule/")
    check(page, "schedule")
    submit(page)
    assert page.locator("[data-schedule-save]").count() == 1
    check(page, "schedule-check")
    shot(page, "schedule-check")
    page.goto(f"{staff_root}/supervisor/schedule/")
    page.locator("#id_d2_opens_at").fill("16:00")
    submit(page)
    check.error_state(page, "schedule-error")

    page.goto(f"{staff_root}/supervisor/holidays/")
    check(page, "holidays")
    submit(page)
    check.error_state(page, "holidays-error")
    page.locator("#id_day").fill((clock.today() + dt.timedelta(days=9)).isoformat())
    page.locator("#id_name_ar").fill("إجازة المكتب")
    page.locator("#id_name_en").fill("Office closed")
    submit(page)
    assert page.locator("[data-holiday-save]").count() == 1
    check(page, "holiday-check")
    submit(page, "[data-holiday-save]")
    check(page, "holidays")
    page.locator("[data-holidays] a").first.click()
    page.wait_for_load_state()
    check(page, "holiday-remove")

    # --- Counter services ------------------------------------------------------------------------
    page.goto(f"{staff_root}/counter/?new=1")
    check(page, "counter-find")
    submit(page)
    check.error_state(page, "counter-find-error")
    page.locator("#id_id_number").fill(data.counter_person.id_number)
    submit(page)
    check(page, "counter-person")
    shot(page, "counter-person")
    page.goto(f"{staff_root}/counter/mobile/")
    check(page, "counter-rebind")
    submit(page)
    check.error_state(page, "counter-rebind-error")
    page.goto(f"{staff_root}/counter/activation/")
    check(page, "counter-activate")
    submit(page)
    check.error_state(page, "counter-activate-error")
    page.locator("#id_identity_seen").check()
    submit(page)
    assert page.url == f"{staff_root}/counter/done/"
    check(page, "counter-done")
    shot(page, "counter-done")

    # --- The demo courier ------------------------------------------------------------------------
    page.goto(f"{staff_root}/dev/courier/")
    check(page, "courier")
    shot(page, "courier")
    reference = page.locator("[data-shipment]").first.get_attribute("data-shipment")
    assert reference
    page.goto(f"{staff_root}/dev/courier/{reference}/delivered/")
    check(page, "courier-delivered")
    submit(page)
    check.error_state(page, "courier-delivered-error")
    page.goto(f"{staff_root}/dev/courier/{reference}/failed/")
    check(page, "courier-failed")
    submit(page)
    check.error_state(page, "courier-failed-error")
    shot(page, "courier-failed-error")

    # The officer opens the citizen's case: an audited read for "who accessed my data".
    page.goto(f"{staff_root}/cases/{data.to_reject.reference}/")
    assert page.locator("h1").count() == 1
    context.close()

    # --- The citizen's "who accessed my data", with events and empty ------------------------------
    citizen = context_for(browser, live_server, width, data.citizen, user_agent=UA)
    page = citizen.new_page()
    page.goto(f"{root}/account/access-history/")
    assert page.locator("[data-access-event]").count() >= 1
    check(page, "access-history")
    shot(page, "access-history")
    citizen.close()
    nobody = context_for(browser, live_server, width, data.nobody_looked, user_agent=UA)
    page = nobody.new_page()
    page.goto(f"{root}/account/access-history/")
    expect(page.locator("[data-empty]")).to_be_visible()
    check(page, "access-history")  # the same page, empty
    nobody.close()

    assert check.failures == [], "\n\n".join(check.failures)
