"""A staff session ends like a citizen's (15 idle minutes), but signs in again at the staff page."""

from __future__ import annotations

import datetime as dt

import pytest

from hawiya.casework.tests.factories import open_office, signed_in, staff_user

pytestmark = pytest.mark.django_db


def test_an_idle_staff_member_is_sent_to_the_staff_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    moment = [dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)]
    monkeypatch.setattr("hawiya.core.clock.now", lambda: moment[0])
    client = signed_in(staff_user(office=open_office()))
    assert client.get("/en/staff/day/").status_code == 200
    moment[0] += dt.timedelta(minutes=16)
    response = client.get("/en/staff/day/")
    assert response.status_code == 302
    assert response["Location"].startswith("/en/staff/sign-in/?timeout=1")
    assert "_auth_user_id" not in client.session
