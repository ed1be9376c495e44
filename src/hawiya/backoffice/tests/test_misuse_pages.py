"""Misuse reports in the back office: officers who work cases see the open ones, newest first,
and close one with a note (audited); a citizen, or staff without the permission, are refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.casework.tests.factories import actor_of, open_office, signed_in, staff_user
from hawiya.core.errors import ApplicationError
from hawiya.document_checks.models import DocumentCheck, MisuseReport
from hawiya.document_checks.services import (
    StatusQuery,
    document_status_check,
    misuse_report_close,
    misuse_report_open,
)
from hawiya.identity.models import StaffRole
from hawiya.identity.services.relying_parties import party_register
from hawiya.identity.staff import StaffForbidden
from hawiya.identity.tests.factories import make_account, make_citizen
from hawiya.registry.tests.factories import make_lost_document

pytestmark = pytest.mark.django_db
LIST = "/en/staff/misuse-reports/"


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.HAWIYA_DOCUMENT_STATUS_RATE_LIMIT = 1000


def _report(name_en: str = "Example Bank") -> MisuseReport:
    party = party_register(
        actor=Actor.system("tests"),
        name_ar="بنك المثال",
        name_en=name_en,
        redirect_uris=["https://bank.example/callback"],
        allowed_scopes=["openid", "document_status"],
        token_endpoint_auth_method="client_secret_basic",
    ).party
    holder = make_citizen()
    lost = make_lost_document(holder=holder)
    query = StatusQuery(id_number=holder.id_number, kind=lost.kind, serial_number=lost.serial_number)
    document_status_check(
        actor=Actor.relying_party(party.application.client_id), party=party, queries=[query]
    )
    check = DocumentCheck.objects.get(document=lost)
    report, _opened = misuse_report_open(
        actor=Actor.citizen(1), person=holder, check_reference=check.reference
    )
    return report


def _rows(client: Client) -> list[str]:
    response = client.get(LIST)
    assert response.status_code == 200
    return re.findall(r'data-misuse-row="([^"]+)"', response.content.decode())


def test_officers_see_open_reports_newest_first_with_party_and_document() -> None:
    older, newer = _report("Old Bank"), _report("New Bank")
    client = signed_in(staff_user(office=open_office()))
    assert _rows(client) == [newer.reference, older.reference]
    page = client.get(LIST).content.decode()
    assert "New Bank" in page
    assert "National ID card" in page
    assert newer.document_check.document.serial_number not in page  # type: ignore[union-attr]
    arabic = client.get("/ar/staff/misuse-reports/")
    assert arabic.status_code == 200
    assert "بنك المثال" in arabic.content.decode()


def test_closing_needs_a_note_then_is_audited_and_leaves_the_list() -> None:
    report = _report()
    officer = staff_user(office=open_office())
    client = signed_in(officer)
    url = f"/en/staff/misuse-reports/{report.reference}/close/"

    assert client.get(url).status_code == 200
    refused = client.post(url, {"note": "  "})
    assert refused.status_code == 400
    report.refresh_from_db()
    assert report.status == "open"

    done = client.post(url, {"note": "The bank's branch confirmed a forged card; police informed."})
    assert done.status_code == 302
    report.refresh_from_db()
    assert report.status == "closed"
    assert report.closed_by_id == officer.pk
    assert report.officer_notes.startswith("The bank's branch")
    event = AuditEvent.objects.get(action="document_check.misuse_closed")
    assert event.object_id == str(report.pk)
    assert _rows(client) == []
    assert client.post(url, {"note": "again"}).status_code == 404


@pytest.mark.parametrize("who", ["citizen", "administrator"])
def test_a_citizen_or_staff_without_the_permission_is_refused(who: str) -> None:
    report = _report()
    user = make_account() if who == "citizen" else staff_user(role=StaffRole.ADMINISTRATOR, office=None)
    client = signed_in(user)
    assert client.get(LIST).status_code == 403
    url = f"/en/staff/misuse-reports/{report.reference}/close/"
    assert client.post(url, {"note": "closing"}).status_code == 403
    report.refresh_from_db()
    assert report.status == "open"


def test_the_service_refuses_staff_without_the_permission() -> None:
    report = _report()
    administrator = actor_of(staff_user(role=StaffRole.ADMINISTRATOR, office=None))
    with pytest.raises(StaffForbidden):
        misuse_report_close(
            actor=administrator.actor, staff=administrator, reference=report.reference, note="x"
        )
    officer = actor_of(staff_user(office=open_office()))
    misuse_report_close(actor=officer.actor, staff=officer, reference=report.reference, note="done")
    with pytest.raises(ApplicationError) as caught:
        misuse_report_close(actor=officer.actor, staff=officer, reference=report.reference, note="again")
    assert caught.value.code == "misuse_report_closed"
