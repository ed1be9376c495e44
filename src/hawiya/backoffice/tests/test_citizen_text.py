"""What citizens wrote reaches officers isolated (issue 10 §2): a right-to-left override or an
unbalanced direction in a loss report's place or circumstances, or in a name, cannot reorder the
rest of the officer's page. The controls themselves are removed at input (core/bidi.py); what was
stored before, or came another way, is still shown inside `<bdi>` or an element with dir="auto"."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from hawiya.casework.tests.factories import booked_today, open_office, signed_in, staff_user
from hawiya.losses.models import LossReport
from hawiya.replacements.models import Replacement
from hawiya.replacements.tests.factories import loss_report_for

pytestmark = pytest.mark.django_db

CITY = "Riyadh \u202eTSAE\u202c"
CIRCUMSTANCES = "Lost near the gate \u2067شارع\u2069 then 1234 ريال"


def isolated(html: str, text: str) -> bool:
    """`text` is the whole content of a <bdi> or of an element with dir="auto"."""
    escaped = re.escape(text)
    return bool(
        re.search(rf"<bdi[^>]*>{escaped}</bdi>", html)
        or re.search(rf'<(\w+)[^>]*dir="auto"[^>]*>{escaped}</\1>', html)
    )


def test_the_case_page_isolates_the_citizens_words_and_the_holders_name() -> None:
    office = open_office()
    visit = booked_today(office)
    report = loss_report_for(visit.replacement.document)
    LossReport.objects.filter(pk=report.pk).update(city=CITY, circumstances=CIRCUMSTANCES)
    Replacement.objects.filter(pk=visit.replacement.pk).update(loss_report=report)
    client = signed_in(staff_user(office=office))

    html = client.get(reverse("backoffice:case", args=[visit.replacement.reference])).content.decode()

    assert isolated(html, CITY)
    assert isolated(html, CIRCUMSTANCES)
    assert isolated(html, visit.replacement.document.holder.full_name)


def test_the_day_list_isolates_the_holders_name() -> None:
    office = open_office()
    visit = booked_today(office)
    client = signed_in(staff_user(office=office))
    name = visit.replacement.document.holder.full_name

    day = client.get(reverse("backoffice:day")).content.decode()

    assert isolated(day, name)
