"""What the officer's busiest pages cost in SQL: a query budget for the case page and the day page
(a query added per row, or a row read again, goes over it), and the rows they read once.

The budgets are the counts measured when they were set, on SQLite and PostgreSQL alike: the
session's own read included (here it is read from the table, the session having just been
saved), and the statements of the audit event that opening a case writes.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hawiya.audit.models import AuditEvent
from hawiya.casework.tests.factories import (
    actor_of,
    advance,
    booked_today,
    open_office,
    signed_in,
    staff_user,
)
from hawiya.core.testing import page_queries

pytestmark = pytest.mark.django_db

# Measured: the case page 18 queries (23 before its session write and second office read went,
# for a case that another officer checked in and captured, so its audit names two staff members
# and its timeline an office); the day page 5 (6), whatever the number of appointments.
CASE_PAGE_BUDGET = 18
DAY_PAGE_BUDGET = 5


@pytest.fixture(autouse=True)
def _fast(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_FINGERPRINT_SCANNER = "demo"
    cache.clear()


def _worked_case(office: Any) -> Any:
    """A case today at `office`, checked in and with biometrics captured by another officer."""
    visit = booked_today(office, hour=9)
    advance(visit, actor_of(staff_user(office=office)), to="biometrics_captured")
    return visit


def test_the_case_page_stays_within_its_query_budget(django_assert_max_num_queries) -> None:
    office = open_office()
    visit = _worked_case(office)
    client = signed_in(staff_user(office=office))
    url = f"/en/staff/cases/{visit.replacement.reference}/"
    client.get("/en/staff/day/")  # the session's first request writes its activity stamp
    read_before = AuditEvent.objects.filter(action="person.record_viewed").count()

    with django_assert_max_num_queries(CASE_PAGE_BUDGET):
        response = client.get(url)

    assert response.status_code == 200
    assert 'data-primary-action="approve"' in response.content.decode()
    assert AuditEvent.objects.filter(action="person.record_viewed").count() == read_before + 1


def test_the_day_page_stays_within_its_query_budget(django_assert_max_num_queries) -> None:
    office = open_office()
    for hour in (9, 10, 11):
        booked_today(office, hour=hour)
    _worked_case(office)
    client = signed_in(staff_user(office=office))
    client.get("/en/staff/day/")  # the session's first request writes its activity stamp

    with django_assert_max_num_queries(DAY_PAGE_BUDGET):
        response = client.get("/en/staff/day/")

    assert response.status_code == 200
    assert response.content.decode().count("data-appointment=") == 4


def test_opening_a_case_neither_saves_the_session_nor_reads_an_office_twice() -> None:
    """A session save updates its row and drops its cached copy (core/session_store.py), so a
    page that saved it every time would cost the next request a query too. The officer's office
    is read once, with their membership, for the header and the audit table alike."""
    office = open_office()
    visit = _worked_case(office)
    client = signed_in(staff_user(office=office))
    client.get("/en/staff/day/")

    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/en/staff/cases/{visit.replacement.reference}/").status_code == 200

    queries = page_queries(captured)
    assert not [sql for sql in queries if "django_session" in sql]
    assert len([sql for sql in queries if 'FROM "registry_office"' in sql]) == 0
    assert len([sql for sql in queries if "identity_staffmembership" in sql]) == 1


@pytest.mark.parametrize(("language", "name_field"), [("en", "name_en"), ("ar", "name_ar")])
def test_the_header_names_the_officers_office_in_the_page_language(language: str, name_field: str) -> None:
    office = open_office()
    visit = _worked_case(office)
    client = signed_in(staff_user(office=office))

    for path in ("day/", f"cases/{visit.replacement.reference}/"):
        body = client.get(f"/{language}/staff/{path}").content.decode()
        header = body[body.index("hw-header__greeting") :]
        header = header[: header.index("</span>")]
        assert f"· {getattr(office, name_field)}" in header
