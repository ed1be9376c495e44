"""The answers of a journey survive the idle sign-out: signed out after 15 minutes, signed in
again through the sign-in pages, the person finds the answers where they left them. Submitted,
the draft is gone; a day old, it is swept; another account never sees it."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from hawiya.core.testing import PinnedClock, pin_clock
from hawiya.identity.drafts import journey_draft_get, journey_drafts_sweep
from hawiya.identity.models import JourneyDraft, User
from hawiya.identity.tests.factories import PASSWORD, last_code, make_account, person_of
from hawiya.losses.models import LossReport
from hawiya.registry.models import Document, DocumentKind
from hawiya.registry.tests.factories import make_address, make_document
from hawiya.replacements.models import Replacement
from hawiya.replacements.tests.factories import lost_id_card, photo_bytes, service_office

from .html import find_all, find_one

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> PinnedClock:
    return pin_clock(monkeypatch, START)


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    assert "hawiya.portal.middleware.idle_timeout" in settings.MIDDLEWARE
    cache.clear()


def url(name: str, language: str = "en") -> str:
    with translation.override(language):
        return reverse(f"portal:{name}")


def sign_in(client: Client, user: User, language: str = "en", next_url: str = "") -> Any:
    """Through the pages: password, then the code sent by text message."""
    person = person_of(user)
    data = {"login": person.id_number, "password": PASSWORD, "next": next_url}
    response = client.post(f"/{language}/sign-in/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    response = client.post(response["Location"], {"code": last_code(person.mobile), "method": "sms"})
    assert response.status_code == 302
    return response


def idle_out(client: Client, clock: PinnedClock, page: str) -> str:
    """16 minutes without a request, then the page: signed out, sent to sign in again."""
    clock.advance(minutes=16)
    response = client.get(page)
    assert response.status_code == 302
    location = response["Location"]
    assert "timeout=1" in location
    assert "_auth_user_id" not in client.session
    return location


def values(response: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for element in find_all(response.content, "input"):
        name = element.attrs.get("name")
        if name and element.attrs.get("type") not in ("checkbox", "radio", "hidden"):
            found[name] = element.attrs.get("value", "")
        elif name and "checked" in element.attrs:
            found[name] = element.attrs.get("value", "on")
    for element in find_all(response.content, "textarea"):
        found[element.attrs.get("name", "")] = element.text.strip()
    return found


# --- Report a lost document ---------------------------------------------------------------------


@pytest.fixture
def user() -> User:
    return make_account()


@pytest.fixture
def card(user: User) -> Document:
    return make_document(
        holder=person_of(user), kind=DocumentKind.NATIONAL_ID_CARD, issue_date=dt.date(2020, 1, 5)
    )


def answer_losses(client: Client, card: Document, language: str = "en") -> None:
    day = START.date() - dt.timedelta(days=3)
    client.get(url("losses-start", language))
    steps = [
        ("losses-start", {"documents": [str(card.pk)]}),
        ("losses-when", {"day": str(day.day), "month": str(day.month), "year": str(day.year)}),
        ("losses-where", {"place": "in_kingdom", "city": "Jeddah"}),
        ("losses-what", {"circumstances": "Left it in a taxi at the airport."}),
    ]
    for name, data in steps:
        response = client.post(url(name, language), data)
        assert response.status_code == 302, (name, response.content.decode()[:2000])


@pytest.mark.parametrize("language", ["ar", "en"])
def test_loss_answers_survive_the_idle_sign_out(
    client: Client, clock: PinnedClock, user: User, card: Document, language
):
    sign_in(client, user, language)
    answer_losses(client, card, language)
    key = client.session["hawiya_losses_journey"]["key"]
    declaration = url("losses-declaration", language)
    location = idle_out(client, clock, declaration)
    # Signed in again, the sign-in page sends the person back to the page they were on.
    response = sign_in(client, user, language, next_url=declaration)
    assert response["Location"] == declaration
    assert "next=" in location
    page = client.get(declaration)
    assert page.status_code == 200
    # Earlier answers are there: Back to the circumstances shows them, the journey keeps its key.
    assert (
        values(client.get(url("losses-what", language)))["circumstances"]
        == "Left it in a taxi at the airport."
    )
    assert values(client.get(url("losses-where", language)))["city"] == "Jeddah"
    assert client.session["hawiya_losses_journey"]["key"] == key
    # And the journey goes on to the report.
    assert client.post(declaration, {"declaration": "on"})["Location"] == url("losses-check", language)
    check = client.get(url("losses-check", language))
    assert check.status_code == 200
    assert "Left it in a taxi at the airport." in find_one(check.content, "main").text


def test_a_filed_report_leaves_no_draft(client: Client, user: User, card: Document):
    sign_in(client, user)
    answer_losses(client, card)
    client.post(url("losses-declaration"), {"declaration": "on"})
    assert JourneyDraft.objects.filter(user=user, journey="loss_report").exists()
    check = client.get(url("losses-check"))
    key = next(el for el in find_all(check.content, "input") if el.attrs.get("name") == "idempotency_key")
    response = client.post(url("losses-check"), {"idempotency_key": key.attrs["value"]})
    assert response.status_code == 302
    assert LossReport.objects.count() == 1
    assert not JourneyDraft.objects.filter(user=user).exists()


def test_another_account_never_sees_the_draft(client: Client, clock: PinnedClock, user: User, card: Document):
    sign_in(client, user)
    answer_losses(client, card)
    idle_out(client, clock, url("losses-declaration"))
    other = make_account()
    make_document(holder=person_of(other), kind=DocumentKind.NATIONAL_ID_CARD, issue_date=dt.date(2021, 2, 1))
    sign_in(client, other)
    # Their own journey starts empty: the first page ticks nothing, later pages send back to it.
    first = client.get(url("losses-start"))
    assert first.status_code == 200
    assert not [el for el in find_all(first.content, "input") if "checked" in el.attrs]
    assert client.get(url("losses-what"))["Location"] == url("losses-start")
    assert journey_draft_get(user_id=other.pk, journey="loss_report") is None


def test_a_draft_older_than_a_day_is_not_restored_and_is_swept(
    client: Client, clock: PinnedClock, user: User, card: Document
):
    sign_in(client, user)
    answer_losses(client, card)
    clock.advance(hours=24, minutes=1)
    response = client.get(url("losses-what"))
    assert "timeout=1" in response["Location"]
    sign_in(client, user)
    # Not restored: the first question is unanswered again.
    assert client.get(url("losses-what"))["Location"] == url("losses-start")
    assert journey_drafts_sweep(now=clock.now()) == 1
    assert not JourneyDraft.objects.exists()


def test_run_periodic_sweeps_drafts_a_day_old(client: Client, clock: PinnedClock, user: User, card: Document):
    sign_in(client, user)
    answer_losses(client, card)
    clock.advance(hours=23)
    call_command("run_periodic", verbosity=0)
    assert JourneyDraft.objects.count() == 1
    clock.advance(hours=1, minutes=1)
    call_command("run_periodic", verbosity=0)
    assert not JourneyDraft.objects.exists()


# --- Request a replacement ------------------------------------------------------------------------


def test_replacement_answers_and_photo_survive_the_idle_sign_out(client: Client, clock: PinnedClock):
    user = make_account(biometrics_captured_on=START.date() - dt.timedelta(days=300))
    make_address(person_of(user))
    document = lost_id_card(holder=person_of(user), losses=2, office=service_office())
    sign_in(client, user)
    client.post(url("requests-new"), {"document": document.pk})
    client.post(url("requests-new-contact"), {"address_confirmed": "on", "mobile_confirmed": "on"})
    client.post(url("requests-new-method"), {"method": "delivery"})

    photo = io.BytesIO(photo_bytes())
    photo.name = "me.jpg"
    response = client.post(url("requests-new-photo"), {"photo": photo, "white_background_declared": "on"})
    assert response["Location"] == url("requests-new-check")
    draft = JourneyDraft.objects.get(user=user, journey="replacement")
    # The draft names the stored upload; it never holds its bytes.
    stored = draft.answers["photo"]["name"]
    assert default_storage.exists(stored)
    assert set(draft.answers["photo"]) == {"name", "type", "extension"}

    check = url("requests-new-check")
    idle_out(client, clock, check)
    assert sign_in(client, user, next_url=check)["Location"] == check
    page = client.get(check)
    assert page.status_code == 200
    assert "SAR 100 fine + SAR 35 delivery fee" in " ".join(page.content.decode().split())
    response = client.post(check)
    replacement = Replacement.objects.get()
    assert response["Location"] == reverse("portal:requests-detail", args=[replacement.reference])
    assert replacement.photo.name
    assert not JourneyDraft.objects.filter(user=user).exists()


def test_a_restored_draft_whose_photo_was_swept_asks_for_the_photo_again(client: Client, clock: PinnedClock):
    user = make_account(biometrics_captured_on=START.date() - dt.timedelta(days=300))
    make_address(person_of(user))
    document = lost_id_card(holder=person_of(user), office=service_office())
    sign_in(client, user)
    client.post(url("requests-new"), {"document": document.pk})
    client.post(url("requests-new-contact"), {"address_confirmed": "on", "mobile_confirmed": "on"})
    client.post(url("requests-new-method"), {"method": "delivery"})

    photo = io.BytesIO(photo_bytes())
    photo.name = "me.jpg"
    client.post(url("requests-new-photo"), {"photo": photo, "white_background_declared": "on"})
    default_storage.delete(JourneyDraft.objects.get(user=user).answers["photo"]["name"])
    idle_out(client, clock, url("requests-new-check"))
    sign_in(client, user)
    assert client.get(url("requests-new-check"))["Location"] == url("requests-new-photo")
