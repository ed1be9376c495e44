"""The demo courier pages: demo mode only, any signed-in staff member, the same rules as the
courier API (order, handover code, two failed attempts), bilingual and with the error summary."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from hawiya.casework.tests.factories import open_office, signed_in, staff_user
from hawiya.delivery.models import Shipment, ShipmentEvent, ShipmentState
from hawiya.delivery.tests.factories import delivery_code, make_shipment
from hawiya.identity.models import StaffRole
from hawiya.identity.tests.factories import make_account
from hawiya.replacements.models import HandoverCode, Replacement, ReplacementState

pytestmark = pytest.mark.django_db

BASE = "/en/staff/dev/courier/"
_EVENT_ID = re.compile(r'name="event_id" value="([0-9a-f]{32})"')


@pytest.fixture(autouse=True)
def _demo(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEMO = True
    settings.HAWIYA_SMS_CLIENT = "demo"
    cache.clear()


@pytest.fixture
def staff() -> Client:
    return signed_in(staff_user(office=open_office()))


def event_id_on(page: Any) -> str:
    match = _EVENT_ID.search(page.content.decode())
    assert match is not None, "no event id on the page"
    return match.group(1)


def request_state(shipment: Shipment) -> str:
    return Replacement.objects.get(pk=shipment.replacement_id).state


def step(client: Client, shipment: Shipment, name: str) -> Any:
    listing = client.get(BASE)
    return client.post(f"{BASE}{shipment.reference}/{name}/", {"event_id": event_id_on(listing)}, follow=True)


def test_outside_demo_mode_the_pages_do_not_exist(settings: Any, staff: Client) -> None:
    settings.DEMO = False
    shipment = make_shipment()

    assert staff.get(BASE).status_code == 404
    assert Client().get(BASE).status_code == 404
    assert staff.get(f"{BASE}{shipment.reference}/delivered/").status_code == 404
    assert staff.post(f"{BASE}{shipment.reference}/picked-up/", {"event_id": "a" * 32}).status_code == 404
    assert Shipment.objects.get(pk=shipment.pk).state == ShipmentState.AWAITING_PICKUP


def test_only_signed_in_staff_may_play_the_courier() -> None:
    anonymous = Client().get(BASE)
    citizen = signed_in(make_account()).get(BASE)

    assert anonymous.status_code == 302
    assert "/staff/" in anonymous["Location"]
    assert citizen.status_code == 403


@pytest.mark.parametrize("role", [StaffRole.OFFICER, StaffRole.SUPERVISOR, StaffRole.ADMINISTRATOR])
def test_any_staff_role_sees_the_list(role: str) -> None:
    shipment = make_shipment()
    office = None if role == StaffRole.ADMINISTRATOR else open_office()

    page = signed_in(staff_user(role=role, office=office)).get(BASE)

    assert page.status_code == 200
    assert shipment.reference in page.content.decode()
    assert page["Cache-Control"] == "no-store"


@pytest.mark.parametrize(("language", "words"), [("en", "Demo courier"), ("ar", "المندوب التجريبي")])
def test_the_list_is_bilingual_and_says_it_is_a_demo(staff: Client, language: str, words: str) -> None:
    shipment = make_shipment()
    holder = shipment.replacement.document.holder

    page = staff.get(f"/{language}/staff/dev/courier/")

    text = page.content.decode()
    assert page.status_code == 200
    assert f'lang="{language}"' in text
    assert words in text
    assert "/api/v1/courier/" in text
    assert (holder.full_name_ar if language == "ar" else holder.full_name_en) in text
    assert holder.id_number not in text


def test_the_whole_delivery_through_the_demo_pages(staff: Client) -> None:
    shipment = make_shipment()

    picked = step(staff, shipment, "picked-up")
    assert picked.status_code == 200
    assert "Picked up" in picked.content.decode()
    assert request_state(shipment) == ReplacementState.DISPATCHED
    step(staff, shipment, "out-for-delivery")
    assert request_state(shipment) == ReplacementState.OUT_FOR_DELIVERY
    form = staff.get(f"{BASE}{shipment.reference}/delivered/")
    assert form.status_code == 200

    done = staff.post(
        f"{BASE}{shipment.reference}/delivered/",
        {"event_id": event_id_on(form), "handover_code": delivery_code(shipment.replacement_id)},
        follow=True,
    )

    assert done.status_code == 200
    assert request_state(shipment) == ReplacementState.DELIVERED
    assert 'role="status"' in done.content.decode()


def test_a_wrong_code_shows_the_error_summary_and_is_counted(staff: Client) -> None:
    shipment = make_shipment()
    step(staff, shipment, "picked-up")
    step(staff, shipment, "out-for-delivery")
    code = delivery_code(shipment.replacement_id)
    form = staff.get(f"{BASE}{shipment.reference}/delivered/")

    wrong = staff.post(
        f"{BASE}{shipment.reference}/delivered/",
        {"event_id": event_id_on(form), "handover_code": f"{(int(code) + 1) % 10**6:06d}"},
    )
    empty = staff.post(f"{BASE}{shipment.reference}/delivered/", {"event_id": event_id_on(form)})

    assert wrong.status_code == empty.status_code == 400
    text = wrong.content.decode()
    assert "There is a problem" in text
    assert "<title>Error:" in text
    assert 'href="#id_handover_code"' in text
    assert 'aria-invalid="true"' in text
    assert "6-digit" in empty.content.decode()
    assert HandoverCode.objects.get(replacement_id=shipment.replacement_id).attempts == 1
    assert request_state(shipment) == ReplacementState.OUT_FOR_DELIVERY


def test_two_failed_attempts_through_the_pages_return_the_card(staff: Client) -> None:
    shipment = make_shipment()
    step(staff, shipment, "picked-up")
    step(staff, shipment, "out-for-delivery")
    form = staff.get(f"{BASE}{shipment.reference}/failed/")
    missing = staff.post(f"{BASE}{shipment.reference}/failed/", {"event_id": event_id_on(form)})
    assert missing.status_code == 400
    assert 'href="#id_reason_0"' in missing.content.decode() or "Choose why" in missing.content.decode()

    staff.post(
        f"{BASE}{shipment.reference}/failed/", {"event_id": event_id_on(form), "reason": "nobody_home"}
    )
    step(staff, shipment, "out-for-delivery")
    second_form = staff.get(f"{BASE}{shipment.reference}/failed/")
    assert "second failed attempt" in second_form.content.decode()
    staff.post(
        f"{BASE}{shipment.reference}/failed/",
        {
            "event_id": event_id_on(second_form),
            "reason": "address_not_found",
            "reason_text": "No such building",
        },
    )

    shipment.refresh_from_db()
    assert shipment.state == ShipmentState.RETURNED
    assert request_state(shipment) == ReplacementState.RETURNED_TO_OFFICE
    assert f'data-shipment="{shipment.reference}"' not in staff.get(BASE).content.decode()


def test_a_double_submit_records_the_update_once(staff: Client) -> None:
    shipment = make_shipment()
    listing = staff.get(BASE)
    data = {"event_id": event_id_on(listing)}

    first = staff.post(f"{BASE}{shipment.reference}/picked-up/", data, follow=True)
    again = staff.post(f"{BASE}{shipment.reference}/picked-up/", data, follow=True)

    assert first.status_code == again.status_code == 200
    assert ShipmentEvent.objects.filter(shipment=shipment).count() == 1
    assert [m.level_tag for m in again.context["messages"]] == ["success"]
    assert request_state(shipment) == ReplacementState.DISPATCHED


def test_an_update_out_of_order_or_an_expired_form_is_explained(staff: Client) -> None:
    shipment = make_shipment()

    out_of_order = staff.post(
        f"{BASE}{shipment.reference}/out-for-delivery/", {"event_id": "b" * 32}, follow=True
    )
    expired = staff.post(f"{BASE}{shipment.reference}/picked-up/", {}, follow=True)

    assert 'role="alert"' in out_of_order.content.decode()
    assert "cannot happen now" in out_of_order.content.decode()
    assert "This form has expired" in expired.content.decode()
    assert Shipment.objects.get(pk=shipment.pk).state == ShipmentState.AWAITING_PICKUP


def test_an_unknown_shipment_is_404(staff: Client) -> None:
    assert staff.get(f"{BASE}SH00000000/delivered/").status_code == 404
    assert staff.post(f"{BASE}SH00000000/picked-up/", {"event_id": "c" * 32}).status_code == 404
