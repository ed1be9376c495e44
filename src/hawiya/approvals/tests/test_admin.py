"""Approval requests and callbacks in the admin: listed, read only, without the numbers."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from hawiya.identity.tests.factories import make_account, person_of

from .helpers import ask, register

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client: Client, django_user_model: Any, settings: Any) -> Client:
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()
    user = django_user_model.objects.create_superuser("officer", "officer@example.sa", "a long passphrase 1")
    client.force_login(user)
    return client


def test_requests_are_listed_and_cannot_be_changed(staff: Client) -> None:
    party, _secret = register()
    row = ask(party, person_of(make_account()).id_number)
    listed = staff.get(reverse("admin:approvals_approvalrequest_changelist"), secure=True)
    assert listed.status_code == 200
    assert list(listed.context["cl"].result_list) == [row]
    page = staff.get(reverse("admin:approvals_approvalrequest_change", args=[row.pk]), secure=True)
    assert page.status_code == 200
    shown = [name for _title, options in page.context["adminform"].fieldsets for name in options["fields"]]
    assert "status" in shown
    assert not {"number", "choices", "subject_key"} & set(shown)
    assert staff.get(reverse("admin:approvals_approvalrequest_add"), secure=True).status_code == 403
    assert staff.get(reverse("admin:approvals_approvalcallback_changelist"), secure=True).status_code == 200
