"""The error pages of the staff area keep the staff shell (the "Staff" marker, the role's
navigation, a way back to the staff home), in Arabic and English; the citizens' keep theirs."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from hawiya.casework.tests.factories import open_office, signed_in, staff_user
from hawiya.identity.models import StaffRole
from hawiya.identity.tests.factories import make_account

pytestmark = pytest.mark.django_db

STAFF_HOME = {"en": "staff home page", "ar": "الصفحة الرئيسية لبيئة الموظفين"}
CITIZEN_HOME = {"en": "Hawiya home page", "ar": "الصفحة الرئيسية لمنصة هوية"}


def _page(response: Any) -> str:
    return " ".join(response.content.decode().split())


def _staff_shell(html: str, language: str) -> None:
    assert "hw-staff-marker" in html
    assert f'href="/{language}/staff/"' in html
    assert STAFF_HOME[language] in html
    assert CITIZEN_HOME[language] not in html


@pytest.mark.parametrize("language", ["ar", "en"])
def test_a_case_not_found_keeps_the_officers_shell_and_menu(language: str) -> None:
    officer = signed_in(staff_user(role=StaffRole.OFFICER, office=open_office()))
    response = officer.get(f"/{language}/staff/cases/RP00000000/")
    assert response.status_code == 404
    html = _page(response)
    _staff_shell(html, language)
    assert f'href="/{language}/staff/day/"' in html  # the officer's own navigation


@pytest.mark.parametrize("language", ["ar", "en"])
def test_an_unknown_staff_address_keeps_the_staff_shell(client: Client, language: str) -> None:
    response = client.get(f"/{language}/staff/no-such-page/")
    assert response.status_code == 404
    _staff_shell(_page(response), language)


def test_a_page_the_role_may_not_open_is_a_403_in_the_staff_shell() -> None:
    officer = signed_in(staff_user(role=StaffRole.OFFICER, office=open_office()))
    response = officer.get("/en/staff/parties/")
    assert response.status_code == 403
    html = _page(response)
    _staff_shell(html, "en")
    assert "You cannot view this page" in html


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_citizens_error_pages_keep_the_portal(client: Client, language: str) -> None:
    client.force_login(make_account())
    response = client.get(f"/{language}/no-such-page/")
    assert response.status_code == 404
    html = _page(response)
    assert "hw-staff-marker" not in html
    assert CITIZEN_HOME[language] in html
    assert STAFF_HOME[language] not in html
