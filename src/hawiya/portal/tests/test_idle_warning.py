"""The warning before the idle sign-out, and the keep-alive it calls."""

import pytest
from django.test import Client

from hawiya.identity.tests.factories import make_account

pytestmark = pytest.mark.django_db


def test_keep_alive_answers_204_while_signed_in_and_401_after(client: Client) -> None:
    client.force_login(make_account())
    response = client.get("/en/keep-alive/")
    assert response.status_code == 204
    assert "no-store" in response["Cache-Control"]
    client.logout()
    assert client.get("/en/keep-alive/").status_code == 401


def test_keep_alive_refuses_post(client: Client) -> None:
    client.force_login(make_account())
    assert client.post("/en/keep-alive/").status_code == 405


def test_signed_in_pages_carry_the_hidden_warning_and_its_timing(client: Client) -> None:
    client.force_login(make_account())
    html = client.get("/ar/").content.decode()
    assert 'data-idle-warning-after="780"' in html
    assert 'data-keep-alive-url="/ar/keep-alive/"' in html
    assert 'id="hw-idle-warning" role="alert" hidden' in html


def test_anonymous_pages_have_no_idle_warning(client: Client) -> None:
    html = client.get("/ar/").content.decode()
    assert "hw-idle-warning" not in html
    assert "data-idle-warning-after" not in html
