"""The courier's HTTP client against a real local server, the demo courier, the announce task
(bounded retries, failures marked, the sweeper) and the system checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command
from django.db import connection

from hawiya.audit.models import AuditEvent
from hawiya.core import clock
from hawiya.core.fakepartner import FakePartner, Reply
from hawiya.delivery import errors, tasks
from hawiya.delivery.checks import courier_configured, courier_demo_only_in_demo_mode
from hawiya.delivery.couriers import (
    CourierError,
    CourierReceipt,
    DemoCourier,
    HttpCourier,
    courier,
    courier_key_id,
    courier_secrets,
)
from hawiya.delivery.models import AnnounceState, Shipment
from hawiya.delivery.services import shipments_announce_due

from .factories import make_shipment

pytestmark = pytest.mark.django_db

TOKEN = "courier-token-123"


@pytest.fixture
def courier_server():
    with FakePartner() as running:
        yield running


@pytest.fixture
def http_courier(settings, courier_server):
    settings.HAWIYA_COURIER = "http"
    settings.HAWIYA_COURIER_URL = courier_server.url + "/v2"
    settings.HAWIYA_COURIER_API_TOKEN = TOKEN
    settings.HAWIYA_COURIER_TIMEOUT = 0.5
    return courier_server


def _client(server: FakePartner, timeout: float = 0.5) -> HttpCourier:
    return HttpCourier(base_url=server.url + "/v2/", api_token=TOKEN, timeout=timeout)


# --- the HTTP client -------------------------------------------------------------------------------


def test_announce_posts_the_shipment_with_the_token_and_its_reference_as_key(courier_server) -> None:
    shipment = make_shipment()
    holder = shipment.replacement.document.holder
    courier_server.answer(Reply(201, b'{"tracking_id": "TRK-1"}'))

    receipt = _client(courier_server).announce(shipment)

    assert receipt == CourierReceipt(tracking_id="TRK-1")
    [request] = courier_server.received
    assert request.path == "/v2/shipments"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Idempotency-Key"] == shipment.reference
    assert request.payload["reference"] == shipment.reference
    assert request.payload["recipient"]["name_en"] == holder.full_name_en
    assert request.payload["address"]["postal_code"] == shipment.postal_code
    assert holder.id_number not in str(request.payload)
    assert str(holder.date_of_birth) not in str(request.payload)


@pytest.mark.parametrize(
    ("reply", "code", "reason"),
    [
        (Reply(400, b'{"error": "bad"}'), errors.COURIER_REFUSED, "courier_refused_400"),
        (Reply(422), errors.COURIER_REFUSED, "courier_refused_422"),
        (Reply(401), errors.COURIER_UNAVAILABLE, "courier_credentials_401"),
        (Reply(409), errors.COURIER_UNAVAILABLE, "courier_in_flight_409"),
        (Reply(429), errors.COURIER_UNAVAILABLE, "courier_unavailable_429"),
        (Reply(503), errors.COURIER_UNAVAILABLE, "courier_unavailable_503"),
        (Reply(200, b"not json"), errors.COURIER_UNAVAILABLE, "courier_bad_response"),
        (Reply(200, b'{"tracking_id": ""}'), errors.COURIER_UNAVAILABLE, "courier_bad_response"),
        (Reply(200, b"[1, 2]"), errors.COURIER_UNAVAILABLE, "courier_bad_response"),
        # A redirect is never followed (the token would go with it).
        (Reply(302, b"{}", headers={"Location": "https://elsewhere.example/"}), errors.COURIER_REFUSED, None),
    ],
)
def test_courier_errors_are_short_stable_codes(courier_server, reply, code, reason) -> None:
    shipment = make_shipment()
    courier_server.answer(reply)

    with pytest.raises(CourierError) as caught:
        _client(courier_server).announce(shipment)

    assert caught.value.code == code
    if reason:
        assert caught.value.extra["reason"] == reason
    assert TOKEN not in str(caught.value)
    assert len(courier_server.received) == 1


def test_a_slow_courier_times_out(courier_server) -> None:
    shipment = make_shipment()
    courier_server.answer(Reply(200, b'{"tracking_id": "late"}', delay=2))

    with pytest.raises(CourierError) as caught:
        _client(courier_server, timeout=0.2).announce(shipment)

    assert caught.value.extra["reason"] == "courier_timeout"


def test_nothing_listening_is_unavailable() -> None:
    shipment = make_shipment()
    with pytest.raises(CourierError) as caught:
        HttpCourier(base_url="http://127.0.0.1:9", api_token=TOKEN, timeout=0.5).announce(shipment)
    assert caught.value.code == errors.COURIER_UNAVAILABLE
    assert not caught.value.permanent


def test_the_token_never_appears_in_the_repr() -> None:
    assert TOKEN not in repr(HttpCourier(base_url="https://c.example", api_token=TOKEN))


def test_settings_choose_the_courier(settings) -> None:
    settings.HAWIYA_COURIER = "demo"
    assert isinstance(courier(), DemoCourier)
    settings.HAWIYA_COURIER = "http"
    settings.HAWIYA_COURIER_URL = "https://c.example"
    assert isinstance(courier(), HttpCourier)
    settings.HAWIYA_COURIER = "pigeon"
    with pytest.raises(ValueError, match="pigeon"):
        courier()


def test_the_demo_courier_derives_its_key_the_real_one_never_does(settings) -> None:
    settings.HAWIYA_COURIER = "demo"
    settings.HAWIYA_COURIER_KEY_ID = ""
    settings.HAWIYA_COURIER_SECRET = ""
    settings.HAWIYA_COURIER_SECRET_PREVIOUS = ""
    assert courier_key_id() == "demo-courier"
    [derived] = courier_secrets()
    assert len(derived) == 64
    settings.HAWIYA_COURIER = "http"
    assert courier_key_id() == ""
    assert courier_secrets() == ()
    settings.HAWIYA_COURIER_SECRET = "now"
    settings.HAWIYA_COURIER_SECRET_PREVIOUS = "before"
    assert courier_secrets() == ("now", "before")


# --- the announce task -------------------------------------------------------------------------------


def test_the_task_announces_once_and_records_the_tracking_number(http_courier) -> None:
    shipment = make_shipment()
    http_courier.answer(Reply(200, b'{"tracking_id": "TRK-9"}'))

    assert tasks.shipment_announce.call(shipment.pk) == "announced"

    shipment.refresh_from_db()
    assert shipment.announce_state == AnnounceState.ANNOUNCED
    assert shipment.courier_reference == "TRK-9"
    assert shipment.announced_at is not None
    audit = AuditEvent.objects.get(action="shipment.announced")
    assert audit.detail["person_id"] == shipment.replacement.document.holder_id
    # Running it again asks the courier nothing.
    assert tasks.shipment_announce.call(shipment.pk) == "skipped"
    assert len(http_courier.received) == 1


def test_the_demo_courier_accepts_at_once(settings) -> None:
    settings.HAWIYA_COURIER = "demo"
    shipment = make_shipment()

    assert tasks.shipment_announce.call(shipment.pk) == "announced"

    shipment.refresh_from_db()
    assert shipment.courier_reference == f"DEMO-{shipment.reference}"


def test_the_courier_is_called_outside_any_transaction(monkeypatch) -> None:
    shipment = make_shipment()
    seen: list[bool] = []
    outside = len(connection.atomic_blocks)

    class Recording:
        def announce(self, shipment: Shipment) -> CourierReceipt:
            seen.append(len(connection.atomic_blocks) == outside)
            return CourierReceipt(tracking_id="T")

    monkeypatch.setattr(tasks, "courier", Recording)
    assert tasks.shipment_announce.call(shipment.pk) == "announced"
    assert seen == [True]


def test_an_outage_is_retried_with_backoff_then_marked_failed(
    http_courier, django_capture_on_commit_callbacks
) -> None:
    from django_tasks_db.models import DBTaskResult

    shipment = make_shipment()
    for attempt in range(1, tasks.MAX_ATTEMPTS):
        http_courier.answer(Reply(503))
        before = clock.now()
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.shipment_announce.call(shipment.pk) == "pending"
        shipment.refresh_from_db()
        assert shipment.announce_attempts == attempt
        assert shipment.announce_error == "courier_unavailable_503"
        assert shipment.announce_next_attempt_at is not None
        assert shipment.announce_next_attempt_at >= before + tasks.backoff(attempt)
        # A duplicate task ahead of the backoff does nothing.
        assert tasks.shipment_announce.call(shipment.pk) == "skipped"
        Shipment.objects.filter(pk=shipment.pk).update(
            announce_next_attempt_at=clock.now() - dt.timedelta(seconds=1)
        )
    assert (
        DBTaskResult.objects.filter(task_path="hawiya.delivery.tasks.shipment_announce").count()
        == tasks.MAX_ATTEMPTS - 1
    )
    http_courier.answer(Reply(503))

    assert tasks.shipment_announce.call(shipment.pk) == "failed"

    shipment.refresh_from_db()
    assert shipment.announce_state == AnnounceState.FAILED
    assert AuditEvent.objects.get(action="shipment.announce_failed").detail["attempts"] == tasks.MAX_ATTEMPTS
    assert {r.headers["Idempotency-Key"] for r in http_courier.received} == {shipment.reference}


def test_a_refusal_is_marked_failed_at_once(http_courier) -> None:
    shipment = make_shipment()
    http_courier.answer(Reply(422))

    assert tasks.shipment_announce.call(shipment.pk) == "failed"

    shipment.refresh_from_db()
    assert shipment.announce_error == "courier_refused_422"
    assert shipment.announce_attempts == 1


def test_a_client_bug_is_retried_like_an_outage(monkeypatch) -> None:
    shipment = make_shipment()

    class Broken:
        def announce(self, shipment: Shipment) -> CourierReceipt:
            raise KeyError("bug")

    monkeypatch.setattr(tasks, "courier", Broken)
    assert tasks.shipment_announce.call(shipment.pk) == "pending"
    shipment.refresh_from_db()
    assert shipment.announce_error == "client_error"


def test_the_sweeper_hands_over_shipments_whose_hand_over_was_lost() -> None:
    from django_tasks_db.models import DBTaskResult

    due = make_shipment()
    later = make_shipment()
    Shipment.objects.filter(pk=later.pk).update(
        announce_next_attempt_at=clock.now() + dt.timedelta(minutes=5)
    )

    assert shipments_announce_due() == 1

    [queued] = DBTaskResult.objects.filter(task_path="hawiya.delivery.tasks.shipment_announce")
    assert queued.args_kwargs["args"] == [due.pk]


def test_run_periodic_runs_the_sweeper() -> None:
    from django_tasks_db.models import DBTaskResult

    make_shipment()

    call_command("run_periodic", verbosity=0)

    assert DBTaskResult.objects.filter(task_path="hawiya.delivery.tasks.shipment_announce").count() == 1


# --- system checks ---------------------------------------------------------------------------------


@pytest.fixture
def configured(settings) -> Any:
    settings.HAWIYA_COURIER = "http"
    settings.HAWIYA_COURIER_URL = "https://courier.example/api"
    settings.HAWIYA_COURIER_API_TOKEN = "t"
    settings.HAWIYA_COURIER_KEY_ID = "acme-1"
    settings.HAWIYA_COURIER_SECRET = "s" * 40
    return settings


def _ids() -> list[str | None]:
    return [message.id for message in courier_configured(None)]


def test_a_configured_http_courier_passes(configured) -> None:
    assert _ids() == []


def test_the_demo_courier_needs_nothing(settings) -> None:
    settings.HAWIYA_COURIER = "demo"
    assert _ids() == []


def test_an_http_courier_missing_anything_is_refused(configured) -> None:
    configured.HAWIYA_COURIER_URL = ""
    configured.HAWIYA_COURIER_API_TOKEN = ""
    configured.HAWIYA_COURIER_SECRET = ""
    assert _ids() == ["delivery.E002", "delivery.E004", "delivery.E005"]
    assert {"delivery.E002", "delivery.E004", "delivery.E005"} <= {m.id for m in checks.run_checks()}


def test_bad_url_plain_http_short_secret_or_odd_key_id(configured) -> None:
    configured.HAWIYA_COURIER_URL = "courier.example"
    assert _ids() == ["delivery.E003"]
    configured.HAWIYA_COURIER_URL = "http://courier.example/api"
    assert _ids() == ["delivery.W001"]
    configured.HAWIYA_COURIER_URL = "http://127.0.0.1:9000"
    configured.HAWIYA_COURIER_SECRET = "short"
    assert _ids() == ["delivery.E006"]
    configured.HAWIYA_COURIER_SECRET = "s" * 40
    configured.HAWIYA_COURIER_KEY_ID = "has spaces"
    assert _ids() == ["delivery.E008"]


def test_an_unknown_courier_is_refused(settings) -> None:
    settings.HAWIYA_COURIER = "pigeon"
    assert _ids() == ["delivery.E001"]


def test_the_demo_courier_outside_demo_mode_is_refused_at_deployment(settings) -> None:
    settings.HAWIYA_COURIER = "demo"
    settings.DEMO = False
    assert [m.id for m in courier_demo_only_in_demo_mode(None)] == ["delivery.E007"]
    settings.DEMO = True
    assert courier_demo_only_in_demo_mode(None) == []
