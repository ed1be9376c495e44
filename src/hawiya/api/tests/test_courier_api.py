"""/api/v1/courier/: the courier lists what to pick up and reports updates, signed with its key;
the whole delivery path, two failures, resends, wrong codes and every way a signature fails."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from hawiya.audit.models import AuditEvent
from hawiya.core import clock
from hawiya.core.signing import request_message, signature_header
from hawiya.delivery.models import Shipment, ShipmentEvent, ShipmentState
from hawiya.delivery.tests.factories import delivery_code, make_shipment
from hawiya.replacements.models import HandoverCode, Replacement, ReplacementState

pytestmark = pytest.mark.django_db

KEY_ID = "acme-courier-1"
SECRET = "courier-secret-0123456789abcdef0123456789abcdef"
PREVIOUS = "courier-secret-previous-0123456789abcdef012345"
LIST_URL = "/api/v1/courier/shipments"
IP = "198.51.100.20"


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.HAWIYA_COURIER = "http"
    settings.HAWIYA_COURIER_URL = "https://courier.example/api"
    settings.HAWIYA_COURIER_API_TOKEN = "token"
    settings.HAWIYA_COURIER_KEY_ID = KEY_ID
    settings.HAWIYA_COURIER_SECRET = SECRET
    settings.HAWIYA_COURIER_SECRET_PREVIOUS = ""
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()


@pytest.fixture
def courier() -> Client:
    # No cookie, no CSRF token: the signature is the courier's authentication.
    return Client(enforce_csrf_checks=True)


def _headers(
    method: str,
    path: str,
    body: bytes,
    *,
    secret: str = SECRET,
    key_id: str = KEY_ID,
    at: dt.datetime | None = None,
) -> dict[str, str]:
    headers = {"X-Hawiya-Signature": signature_header(request_message(method, path, body), secret, at=at)}
    if key_id:
        headers["X-Hawiya-Key-Id"] = key_id
    return headers


def get(client: Client, path: str = LIST_URL, **sign: Any) -> Any:
    return client.get(path, REMOTE_ADDR=IP, headers=_headers("GET", path, b"", **sign))


def post_event(client: Client, reference: str, payload: dict[str, Any], **sign: Any) -> Any:
    path = f"/api/v1/courier/shipments/{reference}/events"
    body = json.dumps(payload).encode()
    return client.post(
        path,
        data=body,
        content_type="application/json",
        REMOTE_ADDR=IP,
        headers=_headers("POST", path, body, **sign),
    )


def event(event_id: str, kind: str, **extra: Any) -> dict[str, Any]:
    at = (clock.now() - dt.timedelta(minutes=1)).isoformat()
    return {"event_id": event_id, "type": kind, "at": at, **extra}


def _replacement(shipment: Shipment) -> Replacement:
    return Replacement.objects.get(pk=shipment.replacement_id)


# --- listing ------------------------------------------------------------------------------------------


def test_the_courier_lists_what_to_pick_up_with_nothing_personal_beyond_the_need(courier) -> None:
    shipment = make_shipment()
    holder = shipment.replacement.document.holder

    response = get(courier, LIST_URL + "?state=awaiting_pickup")

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["count"] == 1
    [listed] = data["shipments"]
    assert listed["reference"] == shipment.reference
    assert listed["state"] == "awaiting_pickup"
    assert listed["recipient"] == {
        "name_ar": holder.full_name_ar,
        "name_en": holder.full_name_en,
        "mobile": shipment.replacement.applicant.mobile,
    }
    assert listed["address"]["short_address"] == shipment.short_address
    assert listed["office"]["code"] == shipment.office.code if shipment.office else listed["office"] is None
    text = response.content.decode()
    assert holder.id_number not in text
    assert holder.date_of_birth.isoformat() not in text


def test_the_list_filters_by_state(courier) -> None:
    make_shipment()
    assert get(courier, LIST_URL + "?state=picked_up").json()["count"] == 0
    assert get(courier, LIST_URL).json()["count"] == 1
    bad = get(courier, LIST_URL + "?state=delivered")
    assert bad.status_code == 422
    assert bad.json()["code"] == "request_invalid"


# --- the delivery path --------------------------------------------------------------------------------


def test_the_whole_delivery_path_through_the_api(courier) -> None:
    shipment = make_shipment()
    ref = shipment.reference

    assert post_event(courier, ref, event("e1", "picked_up")).json()["state"] == "picked_up"
    assert _replacement(shipment).state == ReplacementState.DISPATCHED
    assert post_event(courier, ref, event("e2", "out_for_delivery")).json()["state"] == "out_for_delivery"
    code = delivery_code(shipment.replacement_id)

    response = post_event(courier, ref, event("e3", "delivered", handover_code=code))

    assert response.status_code == 200, response.content
    assert response.json() == {"reference": ref, "event_id": "e3", "state": "delivered"}
    assert _replacement(shipment).state == ReplacementState.DELIVERED
    audits = AuditEvent.objects.filter(action="shipment.updated")
    assert {a.actor for a in audits} == {f"courier:{KEY_ID}"}
    assert {a.actor_role for a in audits} == {"courier"}
    moved = AuditEvent.objects.filter(action="replacement.moved", actor=f"courier:{KEY_ID}")
    assert moved.count() == 3
    assert all(a.detail.get("person_id") == shipment.replacement.document.holder_id for a in moved)


def test_two_failed_attempts_return_the_card(courier) -> None:
    shipment = make_shipment()
    ref = shipment.reference
    post_event(courier, ref, event("e1", "picked_up"))
    post_event(courier, ref, event("e2", "out_for_delivery"))

    first = post_event(courier, ref, event("f1", "failed_attempt", reason="nobody_home"))
    post_event(courier, ref, event("e3", "out_for_delivery"))
    second = post_event(
        courier, ref, event("f2", "failed_attempt", reason="refused", reason_text="Not at home")
    )

    assert first.json()["state"] == "failed_attempt"
    assert second.json()["state"] == "returned"
    assert _replacement(shipment).state == ReplacementState.RETURNED_TO_OFFICE


def test_a_resend_answers_the_first_answer_and_another_body_is_409(courier) -> None:
    shipment = make_shipment()
    payload = event("e1", "picked_up")

    first = post_event(courier, shipment.reference, payload)
    again = post_event(courier, shipment.reference, payload)
    other = post_event(courier, shipment.reference, {**payload, "type": "out_for_delivery"})

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert other.status_code == 409
    assert other.json()["code"] == "shipment_event_conflict"
    assert ShipmentEvent.objects.count() == 1


def test_an_impossible_update_is_409_with_a_clear_message(courier) -> None:
    shipment = make_shipment()

    response = post_event(courier, shipment.reference, event("e1", "delivered", handover_code="123456"))

    assert response.status_code == 409
    assert response.json()["code"] == "shipment_event_out_of_order"
    assert "Awaiting pickup" in response.json()["message"] or "بانتظار" in response.json()["message"]


def test_a_wrong_handover_code_is_422_and_counted(courier) -> None:
    shipment = make_shipment()
    post_event(courier, shipment.reference, event("e1", "picked_up"))
    post_event(courier, shipment.reference, event("e2", "out_for_delivery"))
    code = delivery_code(shipment.replacement_id)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    response = post_event(courier, shipment.reference, event("e3", "delivered", handover_code=wrong))

    assert response.status_code == 422
    assert set(response.json()) == {"code", "message"}
    assert response.json()["code"] == "handover_code_invalid"
    assert HandoverCode.objects.get(replacement_id=shipment.replacement_id).attempts == 1
    assert Shipment.objects.get(pk=shipment.pk).state == ShipmentState.OUT_FOR_DELIVERY


def test_an_unknown_shipment_is_404(courier) -> None:
    response = post_event(courier, "SH00000000", event("e1", "picked_up"))
    assert response.status_code == 404
    assert response.json()["code"] == "shipment_not_found"


def test_a_malformed_body_is_422_in_the_error_shape(courier) -> None:
    shipment = make_shipment()
    response = post_event(
        courier, shipment.reference, {"event_id": "e1", "type": "teleported", "at": "yesterday"}
    )
    assert response.status_code == 422
    data = response.json()
    assert data["code"] == "request_invalid"
    assert data["message"]
    assert "yesterday" not in json.dumps(data)


# --- authentication ------------------------------------------------------------------------------------


def test_a_missing_signature_is_401(courier) -> None:
    response = courier.get(LIST_URL, REMOTE_ADDR=IP, headers={"X-Hawiya-Key-Id": KEY_ID})
    assert response.status_code == 401
    assert response.json()["code"] == "courier_signature_invalid"


@pytest.mark.parametrize(
    ("sign", "reason"),
    [
        ({"secret": "forged-secret-0123456789abcdef0123456789"}, "mismatch"),
        ({"key_id": "someone-else"}, "unknown_key"),
        ({"key_id": ""}, "unknown_key"),
        # Minutes from now, taken when the test runs (not when the module is collected).
        ({"at": -6}, "stale"),
        ({"at": +6}, "stale"),
    ],
)
def test_a_bad_signature_is_401_logged_and_writes_nothing(courier, caplog, sign, reason) -> None:
    if "at" in sign:
        sign = {"at": clock.now() + dt.timedelta(minutes=sign["at"])}
    shipment = make_shipment()
    audited = AuditEvent.objects.count()

    with caplog.at_level(logging.WARNING, logger="hawiya.api.courier"):
        listed = get(courier, **sign)
        posted = post_event(courier, shipment.reference, event("e1", "picked_up"), **sign)

    assert listed.status_code == posted.status_code == 401
    assert posted.json()["code"] == "courier_signature_invalid"
    assert AuditEvent.objects.count() == audited
    assert not ShipmentEvent.objects.exists()
    assert any(IP in record.getMessage() and reason in record.getMessage() for record in caplog.records)


def test_a_signature_for_another_path_or_body_is_refused(courier) -> None:
    shipment = make_shipment()
    path = f"/api/v1/courier/shipments/{shipment.reference}/events"
    body = json.dumps(event("e1", "picked_up")).encode()
    signed_for_list = _headers("GET", LIST_URL, b"")
    signed_other_body = _headers("POST", path, body + b" ")

    for headers in (signed_for_list, signed_other_body):
        response = courier.post(
            path, data=body, content_type="application/json", REMOTE_ADDR=IP, headers=headers
        )
        assert response.status_code == 401


def test_the_previous_secret_is_accepted_during_a_rotation(courier, settings) -> None:
    make_shipment()
    assert get(courier, secret=PREVIOUS).status_code == 401

    settings.HAWIYA_COURIER_SECRET_PREVIOUS = PREVIOUS

    assert get(courier, secret=PREVIOUS).status_code == 200
    assert get(courier, secret=SECRET).status_code == 200


def test_without_a_configured_secret_nothing_is_accepted(courier, settings) -> None:
    settings.HAWIYA_COURIER_SECRET = ""
    assert get(courier).status_code == 401


def test_too_many_bad_signatures_from_one_address_are_throttled(courier, settings) -> None:
    settings.HAWIYA_COURIER_FAILURE_LIMIT = 2
    statuses = [get(courier, secret="wrong").status_code for _ in range(3)]

    assert statuses == [401, 401, 429]
    assert get(courier, secret="wrong").json()["code"] == "courier_throttled"
    # A validly signed call is never held back.
    assert get(courier).status_code == 200


def test_the_openapi_document_describes_the_courier_api(courier) -> None:
    schema = courier.get("/api/v1/openapi.json").json()

    listing = schema["paths"]["/api/v1/courier/shipments"]["get"]
    posting = schema["paths"]["/api/v1/courier/shipments/{reference}/events"]["post"]
    assert listing["summary"] == "Shipments to act on"
    assert posting["summary"] == "Report a status update of a shipment"
    assert {"200", "401", "404", "409", "422", "429"} <= set(posting["responses"])
    assert any(p["name"] == "X-Hawiya-Key-Id" for p in posting["parameters"])
    assert "CourierSignature" in schema["components"]["securitySchemes"]


def test_bidi_controls_in_the_free_text_are_removed_before_it_is_stored(courier) -> None:
    """A right-to-left override in the reason would reorder what the officer reads (issue 10 §2)."""
    shipment = make_shipment()
    ref = shipment.reference
    post_event(courier, ref, event("e1", "picked_up"))
    post_event(courier, ref, event("e2", "out_for_delivery"))

    answer = post_event(
        courier,
        ref,
        event("f1", "failed_attempt", reason="other", reason_text="Gate \u202elocked\u202c \u2066x\u2069"),
    )

    assert answer.status_code == 200
    stored = ShipmentEvent.objects.get(shipment=shipment, event_id="f1")
    assert stored.reason_text == "Gate locked x"
