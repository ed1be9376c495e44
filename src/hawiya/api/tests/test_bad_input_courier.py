"""Bad input to the courier API, correctly signed (the signature is not what is wrong): every
answer is a 4xx in the error shape `{"code", "message"}`, never a 500, and nothing is written."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from hawiya.delivery.models import ShipmentEvent
from hawiya.delivery.tests.factories import make_shipment

from .test_courier_api import IP, LIST_URL, _headers, event
from .test_courier_api import _settings as _courier_settings  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def courier() -> Client:
    return Client(enforce_csrf_checks=True)


def _post_raw(client: Client, reference: str, body: bytes, content_type: str = "application/json") -> Any:
    path = f"/api/v1/courier/shipments/{reference}/events"
    return client.post(
        path, data=body, content_type=content_type, REMOTE_ADDR=IP, headers=_headers("POST", path, body)
    )


def _get(client: Client, query: str) -> Any:
    path = f"{LIST_URL}?{query}"
    return client.get(path, REMOTE_ADDR=IP, headers=_headers("GET", path, b""))


def _error(response: Any, status: int | tuple[int, ...]) -> dict[str, Any]:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    data = response.json()
    assert set(data) >= {"code", "message"}, data
    assert data["message"]
    return data


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"not json at all",
        b"[]",
        b"null",
        b"42",
        b'"picked_up"',
        b'{"event_id": "e1"}',
        b'{"event_id": "", "type": "picked_up", "at": "2026-11-23T10:00:00+03:00"}',
        b'{"event_id": ["e1"], "type": "picked_up", "at": "2026-11-23T10:00:00+03:00"}',
        b'{"event_id": "e1", "type": "picked_up", "at": "99999-01-01T00:00:00+03:00"}',
        b'{"event_id": "e1", "type": "picked_up", "at": "0001-01-01T00:00:00+14:00"}',
        b'{"event_id": "e1", "type": "picked_up", "at": "9999-12-31T23:59:59-12:00"}',
        # the year in Eastern Arabic digits
        '{"event_id": "e1", "type": "picked_up", "at": "٢٠٢٦-11-23T10:00:00+03:00"}'.encode(),
        b'{"event_id": "\xff\xfe", "type": "picked_up", "at": "2026-11-23T10:00:00+03:00"}',
        b'{"event_id": "e1", "type": "picked_up", "at": "2026-11-23T10:00:00+03:00", "handover_code": 1e999}',
    ],
    ids=lambda body: body[:40].decode("utf-8", "replace"),
)
def test_a_malformed_event_body_is_a_4xx_in_the_error_shape(courier: Client, body: bytes) -> None:
    shipment = make_shipment()
    response = _post_raw(courier, shipment.reference, body)
    _error(response, (400, 409, 422))
    assert not ShipmentEvent.objects.filter(shipment=shipment).exists()


def test_a_naive_time_is_refused_with_a_clear_message(courier: Client) -> None:
    shipment = make_shipment()
    body = json.dumps({"event_id": "e1", "type": "picked_up", "at": "2026-11-23T10:00:00"}).encode()
    data = _error(_post_raw(courier, shipment.reference, body), 422)
    assert data["code"] == "shipment_event_invalid"


def test_a_time_in_the_far_future_is_refused(courier: Client) -> None:
    shipment = make_shipment()
    body = json.dumps({"event_id": "e1", "type": "picked_up", "at": "9999-12-31T00:00:00+03:00"}).encode()
    data = _error(_post_raw(courier, shipment.reference, body), 422)
    assert data["code"] == "shipment_event_invalid"


def test_the_wrong_content_type_is_a_4xx(courier: Client) -> None:
    shipment = make_shipment()
    body = b"event_id=e1&type=picked_up&at=2026-11-23T10:00:00%2B03:00"
    for content_type in (
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
    ):
        response = _post_raw(courier, shipment.reference, body, content_type)
        assert _error(response, 400)["code"] == "request_malformed"
    assert not ShipmentEvent.objects.filter(shipment=shipment).exists()


def test_a_huge_body_is_413_in_the_error_shape(courier: Client) -> None:
    shipment = make_shipment()
    payload = event("e1", "failed_attempt", reason="other", reason_text="x" * 3_000_000)
    response = _post_raw(courier, shipment.reference, json.dumps(payload).encode())
    assert _error(response, 413)["code"] == "request_too_large"
    assert not ShipmentEvent.objects.filter(shipment=shipment).exists()


@pytest.mark.parametrize(
    "reference",
    ["x" * 500, "SH%00", "%D9%A1%D9%A2", "SH" + "9" * 30],
)
def test_a_strange_shipment_reference_is_refused(courier: Client, reference: str) -> None:
    response = _post_raw(courier, reference, json.dumps(event("e1", "picked_up")).encode())
    _error(response, (400, 404, 422))


@pytest.mark.parametrize(
    "query",
    [
        "limit=-5",
        "limit=0",
        "limit=99999999999999999999999",
        "limit=abc",
        "limit=%D9%A5",
        "state=teleported",
        "state=",
        "limit=1&limit=2",
    ],
)
def test_strange_list_parameters_are_a_clear_answer(courier: Client, query: str) -> None:
    response = _get(courier, query)
    if response.status_code == 200:
        assert "shipments" in response.json()
    else:
        _error(response, (400, 422))


def test_a_delivery_code_far_too_long_is_a_4xx(courier: Client) -> None:
    shipment = make_shipment()
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()
    body = json.dumps({"event_id": "e1", "type": "delivered", "at": at, "handover_code": "1" * 5000})
    _error(_post_raw(courier, shipment.reference, body.encode()), (409, 422))
