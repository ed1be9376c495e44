"""Setting up a staff member's authenticator app from the command line."""

from __future__ import annotations

from io import StringIO

import pyotp
import pytest
from django.core.management import CommandError, call_command

from hawiya.core import clock
from hawiya.identity.models import AuthenticatorApp, StaffRole
from hawiya.identity.staff import staff_member_create
from hawiya.identity.tests.factories import make_account
from hawiya.registry.tests.factories import make_office

pytestmark = pytest.mark.django_db


def test_the_app_is_active_only_after_a_right_code(monkeypatch: pytest.MonkeyPatch) -> None:
    user = staff_member_create(
        username="new.officer", password="x" * 12, role=StaffRole.OFFICER, office=make_office()
    )
    answers = iter(["000000"])

    def answer(_prompt: str) -> str:
        try:
            return next(answers)
        except StopIteration:
            app = AuthenticatorApp.objects.get(user=user)
            return pyotp.TOTP(app.secret).at(clock.now())  # the suite's pinned clock

    monkeypatch.setattr("builtins.input", answer)
    out, err = StringIO(), StringIO()
    call_command("staff_authenticator", "New.Officer", stdout=out, stderr=err)
    app = AuthenticatorApp.objects.get(user=user)
    assert app.confirmed_at is not None
    assert app.secret in out.getvalue()
    assert "is active" in out.getvalue()
    assert err.getvalue()  # the wrong first code was said to be wrong
    with pytest.raises(CommandError):  # active already: remove it first
        call_command("staff_authenticator", "new.officer", stdout=StringIO())


def test_citizens_and_unknown_accounts_are_refused() -> None:
    with pytest.raises(CommandError):
        call_command("staff_authenticator", make_account().username, stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("staff_authenticator", "nobody", stdout=StringIO())
