"""The admin's autocomplete fields re-display a refused form whatever was submitted: Django's own
widget looked the value up as an id and answered 500 to a non-number (core/admin_widgets.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("model", "field"), [("familyrecord", "head"), ("nationaladdress", "person"), ("civilfine", "person")]
)
@pytest.mark.parametrize("value", ["x" * 1000, "\u202e12", "9" * 40], ids=["long", "bidi", "overflow"])
def test_a_non_id_in_an_autocomplete_field_is_a_form_error_not_a_500(
    model: str, field: str, value: str
) -> None:
    client = Client()
    client.force_login(
        get_user_model().objects.create_superuser(username="autocomplete-admin", password="x-0123456789")
    )
    response = client.post(f"/en/admin/registry/{model}/add/", {field: value})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
