"""The input guards (hawiya/core/guard.py): a NUL byte anywhere in a request is a 400 before any lookup —
the bilingual error page for pages, `{code, message}` JSON for the API — and the API never answers
HTML. On PostgreSQL each of these requests answered 500 before the guards."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from hawiya.api.tests.test_courier_api import IP, _headers
from hawiya.api.tests.test_courier_api import _settings as _courier_settings  # noqa: F401  (autouse)
from hawiya.casework.tests.factories import signed_in
from hawiya.delivery.models import ShipmentEvent
from hawiya.delivery.tests.factories import make_shipment
from hawiya.identity.models import User
from hawiya.identity.tests.factories import make_account
from hawiya.payments.tests.factories import SECRET as GATEWAY_SECRET
from hawiya.payments.tests.factories import signed

pytestmark = pytest.mark.django_db


def _is_error_page(response: Any, title: str) -> None:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("text/html")
    assert title in response.content.decode()


def test_a_nul_in_the_path_is_the_400_page_in_the_urls_language() -> None:
    _is_error_page(
        Client().get("/en/activate/continue/abc%00def/"), "Sorry, the request could not be processed"
    )
    _is_error_page(Client().get("/ar/activate/continue/abc%00def/"), "عذرًا")


@pytest.mark.parametrize("query", ["?reference=abc%00def", "?a%00b=1"])
def test_a_nul_in_the_query_is_a_400(query: str) -> None:
    _is_error_page(Client().get(f"/en/{query}"), "Sorry, the request could not be processed")


def test_a_nul_in_a_form_field_is_a_400_for_a_signed_in_citizen() -> None:
    client = signed_in(make_account())
    response = client.post("/en/appointments/R1/reschedule/check/", {"slot": "1\x002", "when": "x"})
    _is_error_page(response, "Sorry, the request could not be processed")


def test_a_nul_in_a_header_is_a_400() -> None:
    _is_error_page(Client().get("/en/", HTTP_IDEMPOTENCY_KEY="abc\x00def"), "Sorry")


def test_an_ordinary_page_passes() -> None:
    assert Client().get("/en/?q=%D9%A1%D9%A2").status_code == 200


@pytest.fixture
def courier() -> Client:
    cache.clear()
    return Client(enforce_csrf_checks=True)


def _signed_post(client: Client, path: str, body: bytes, **extra: Any) -> Any:
    return client.post(
        path,
        data=body,
        content_type="application/json",
        REMOTE_ADDR=IP,
        headers=_headers("POST", path, body),
        **extra,
    )


def _json_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    data = response.json()
    assert data["code"] == code, data
    assert data["message"]
    return data


@pytest.mark.parametrize(
    "payload",
    [
        {"event_id": "evt\x00-1", "type": "picked_up", "at": "2026-11-23T10:00:00+03:00"},
        {"event_id": "evt-1", "type": "picked_up", "at": "2026-11-23T10:00:00+03:00", "x\x00": "1"},
        {"event_id": "evt-1", "type": "picked_up", "at": "2026-11-23T10:00:00+03:00", "n": ["\x00"]},
    ],
    ids=["value", "key", "nested"],
)
def test_a_nul_in_a_json_string_of_a_signed_courier_call_is_400_json(courier: Client, payload: Any) -> None:
    shipment = make_shipment()
    body = json.dumps(payload).encode()
    response = _signed_post(courier, f"/api/v1/courier/shipments/{shipment.reference}/events", body)
    _json_error(response, 400, "request_malformed")
    assert not ShipmentEvent.objects.exists()


def test_a_nul_in_the_api_path_and_query_is_400_json(courier: Client) -> None:
    path = "/api/v1/courier/shipments/SH1%00/events"
    body = b'{"event_id": "e", "type": "picked_up", "at": "2026-11-23T10:00:00+03:00"}'
    _json_error(_signed_post(courier, path, body), 400, "request_malformed")
    path = "/api/v1/courier/shipments?state=picked%00up"
    _json_error(
        courier.get(path, REMOTE_ADDR=IP, headers=_headers("GET", path, b"")), 400, "request_malformed"
    )


def test_a_nul_in_an_api_header_is_400_json(courier: Client) -> None:
    body = b"{}"
    response = courier.post(
        "/api/v1/payments/callback", data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="a\x00b"
    )
    _json_error(response, 400, "request_malformed")


def test_a_nul_in_the_payment_callbacks_bill_number_is_400_json(settings: Any, courier: Client) -> None:
    settings.HAWIYA_PAYMENT_GATEWAY = "http"
    settings.HAWIYA_PAYMENT_WEBHOOK_SECRET = GATEWAY_SECRET
    body = json.dumps(
        {"event_id": "e-1", "bill_number": "1\x002", "amount_sar": "135.00", "status": "paid"}
    ).encode()
    response = courier.post(
        "/api/v1/payments/callback",
        data=body,
        content_type="application/json",
        HTTP_X_HAWIYA_SIGNATURE=signed(body),
    )
    _json_error(response, 400, "request_malformed")


def test_a_raw_nul_byte_in_an_api_body_is_400_json(courier: Client) -> None:
    response = courier.post(
        "/api/v1/payments/callback", data=b'{"a": "\x00"}', content_type="application/json"
    )
    _json_error(response, 400, "request_malformed")


def test_an_escaped_backslash_before_u0000_is_not_a_nul(courier: Client) -> None:
    """`"\\\\u0000"` is a backslash and the text u0000: the guard lets it through (the callback
    then refuses it for its own reason, its signature)."""
    body = b'{"event_id": "\\\\u0000"}'
    response = courier.post("/api/v1/payments/callback", data=body, content_type="application/json")
    assert response.json()["code"] != "request_malformed"


def test_the_apis_own_404_and_405_are_json_not_html(courier: Client) -> None:
    _json_error(courier.get("/api/v1/no-such-thing"), 404, "not_found")
    response = courier.get("/api/v1/payments/callback")
    _json_error(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]


def test_a_body_over_the_upload_limit_is_413_json(settings: Any, courier: Client) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = courier.post(
        "/api/v1/payments/callback", data=b"{" + b" " * 2000 + b"}", content_type="application/json"
    )
    _json_error(response, 413, "request_too_large")


def test_a_403_is_a_warning_without_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    client = signed_in(make_account())  # a citizen on a staff page
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/en/staff/day/")
    assert response.status_code == 403
    records = [record for record in caplog.records if record.name == "django.request"]
    assert records, "the 403 is still logged"
    assert all(record.levelno == logging.WARNING for record in records)
    assert all(record.exc_info is None for record in records)


def test_a_500_keeps_its_traceback() -> None:
    from hawiya.core.logs import ClientErrorsWithoutTraceback

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "x", (), sys.exc_info())
    assert ClientErrorsWithoutTraceback().filter(record)
    assert record.exc_info is not None


def test_a_query_string_longer_than_gunicorn_accepts_is_a_400() -> None:
    """The admin's search with a 100 kB term reached SQLite's LIKE, which refuses it (a 500)."""
    client = signed_in(User.objects.create_superuser(username="guard-admin", password="guard-password-0123"))
    response = client.get("/en/admin/audit/auditevent/", {"q": "x" * 100_000})
    _is_error_page(response, "Sorry, the request could not be processed")
    assert client.get("/en/admin/audit/auditevent/", {"q": "x" * 200}).status_code == 200


def test_an_api_query_string_that_long_is_400_json(courier: Client) -> None:
    _json_error(courier.get("/api/v1/courier/shipments", {"state": "x" * 5000}), 400, "request_malformed")


def test_the_openapi_document_names_every_status_and_the_shape_of_identifiers(courier: Client) -> None:
    """Issue 10 §4: the guard's 400 and the size limit's 413 on every operation; lengths and
    patterns on the identifiers (checked against real answers by scripts/api-fuzz)."""
    document = courier.get("/api/v1/openapi.json").json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert {"400", "401", "413", "429"} <= set(operation["responses"]), (method, path)
    events = document["paths"]["/api/v1/courier/shipments/{reference}/events"]["post"]
    parameters = {parameter["name"]: parameter["schema"] for parameter in events["parameters"]}
    assert parameters["reference"]["pattern"] == "^[A-Z]{2}[0-9]{8}$"
    assert parameters["X-Hawiya-Key-Id"]["maxLength"] == 64
    event_in = document["components"]["schemas"]["EventIn"]["properties"]["event_id"]
    assert event_in["maxLength"] == 64
    assert "pattern" in event_in
    callback = document["paths"]["/api/v1/payments/callback"]["post"]
    body = callback["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert body["bill_number"]["pattern"] == "^[0-9]{12}$"
    assert all("pattern" in body[name] for name in ("event_id", "payment_id", "amount_sar"))
