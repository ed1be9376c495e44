"""Hawiya at its own limit (every password-hashing slot of the process taken): the sign-in form
comes back as a 503 with Retry-After and what was typed, and any other view's ServiceBusy becomes
the "try again in a moment" page or the API's JSON error — never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import resolve, reverse
from django.utils import translation

from hawiya.core.errors import ApplicationError, ServiceBusy
from hawiya.identity.hashers import PasswordHashingBusy, hashing_slot
from hawiya.identity.models import User
from hawiya.identity.tests.factories import PASSWORD, make_account
from hawiya.portal.middleware import ServiceBusyMiddleware


@pytest.fixture(autouse=True)
def _one_slot(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["hawiya.identity.hashers.Argon2idHasher"]
    settings.HAWIYA_PASSWORD_HASH_CONCURRENCY = 1
    settings.HAWIYA_PASSWORD_HASH_WAIT_SECONDS = 0.05
    cache.clear()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("ar", "يسجّل كثيرون الدخول الآن. انتظر لحظة ثم حاول مرة أخرى."),
        ("en", "Many people are signing in right now. Wait a moment and try again."),
    ],
)
def test_sign_in_while_every_slot_is_taken_is_a_503_form_that_keeps_the_login(
    client: Client, language: str, message: str
) -> None:
    user: User = make_account()
    with translation.override(language):
        url = reverse("portal:sign-in")
    with hashing_slot():
        response = client.post(url, {"login": user.username, "password": PASSWORD})
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    html = response.content.decode()
    assert message in html
    assert f'value="{user.username}"' in html
    # Once a slot is free the same form goes through to the code step.
    assert client.post(url, {"login": user.username, "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "content_type"), [("/en/account/", "text/html"), ("/api/v1/x", "application/json")]
)
def test_the_middleware_answers_busy_views_with_503_and_retry_after(path: str, content_type: str) -> None:
    def busy_view(request: HttpRequest) -> HttpResponse:
        raise AssertionError("not called")

    request = RequestFactory().post(path)
    request.user = User()  # anonymous enough for the page's header
    request.session = {}  # type: ignore[assignment]
    middleware = ServiceBusyMiddleware(busy_view)
    with translation.override("en"):
        error = PasswordHashingBusy("password_hashing_busy", "Wait a moment.", retry_after=2)
        response = middleware.process_exception(request, error)
    assert response is not None
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response["Content-Type"].startswith(content_type)
    assert "Wait a moment." in response.content.decode()
    assert middleware.process_exception(request, ValueError("other")) is None


def test_service_busy_is_not_an_application_error_yet_answers_like_one() -> None:
    """A view's `except ApplicationError` (the person's error, shown on the form) lets Hawiya busy
    through to the middleware; the middleware and the API read the same code, message, status
    and Retry-After."""
    error = PasswordHashingBusy("password_hashing_busy", "Wait a moment.", retry_after=7)
    assert isinstance(error, ServiceBusy)
    assert not isinstance(error, ApplicationError)
    assert (error.code, str(error), error.status_code, error.headers) == (
        "password_hashing_busy",
        "Wait a moment.",
        503,
        {"Retry-After": "7"},
    )
    # What every page that tells of it does to its answer (the sign-in forms, the middleware).
    page = HttpResponse("the form again", status=200)
    assert error.answer(page) is page
    assert (page.status_code, page["Retry-After"]) == (503, "7")


@pytest.mark.django_db
def test_a_busy_503_is_logged_as_a_warning_not_an_error(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Django logs every 5xx at ERROR; Hawiya's own "try again in a moment" is expected under a
    sign-in flood (core.logs.BusyAnswersAsWarnings), and a real 500 stays an error."""
    import logging

    user: User = make_account()
    with translation.override("en"):
        url = reverse("portal:sign-in")
    with caplog.at_level(logging.INFO), hashing_slot():
        response = client.post(url, {"login": user.username, "password": PASSWORD})
    assert response.status_code == 503
    records = [record for record in caplog.records if record.name == "django.request"]
    assert [record.levelname for record in records] == ["WARNING"]

    failing = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "x", (), None)
    failing.status_code = 500
    logging.getLogger("django.request").handle(failing)
    assert caplog.records[-1].levelname == "ERROR"


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "staff_area"), [("/en/staff/counter/", True), ("/en/account/", False)])
def test_busy_in_the_staff_area_says_nothing_of_an_account(path: str, staff_area: bool) -> None:
    def busy_view(request: HttpRequest) -> HttpResponse:
        raise AssertionError("not called")

    request = RequestFactory().post(path)
    request.user = AnonymousUser()
    request.session = {}  # type: ignore[assignment]
    request.resolver_match = resolve(path)
    with translation.override("en"):
        error = PasswordHashingBusy("password_hashing_busy", "Wait a moment.", retry_after=2)
        response = ServiceBusyMiddleware(busy_view).process_exception(request, error)
    assert response is not None
    assert response.status_code == 503
    html = " ".join(response.content.decode().split())
    assert "Wait a moment." in html
    assert ("hw-staff-marker" in html) is staff_area
    assert ("Nothing has changed in your account" in html) is not staff_area
