"""The outbound layer: the one table of how partners' statuses are classified, and post_json over a
pooled client per partner against a real local server (core.fakepartner)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from hawiya.core import outbound
from hawiya.core.fakepartner import FakePartner, Reply, refused_port
from hawiya.core.outbound import (
    DEFAULT_RULES,
    MAX_RESPONSE_BYTES,
    STATUS_RULES,
    OutboundFailure,
    Outcome,
    Partner,
    classify,
    post_json,
)

TOKEN = "partner-test-token"
ERROR_STATUSES = [*range(300, 309), *range(400, 432), 451, *range(500, 512), 599]


# --- The classification table ---------------------------------------------------------------------
# What each client decided before the table, written out as it was: the table must agree with it
# on every status (a refactor; changing a partner's classification is a decision of its own).


def sms_before(status: int) -> tuple[bool, str]:
    if status in {400, 401, 403, 404, 405, 409, 410, 413, 415, 422}:
        return True, f"operator_rejected_{status}"
    if status in {408, 425, 429}:
        return False, f"operator_throttled_{status}" if status == 429 else f"operator_{status}"
    if status >= 500:
        return False, f"operator_unavailable_{status}"
    return False, f"operator_unexpected_{status}"


def gateway_or_courier_before(prefix: str, status: int) -> tuple[bool, str]:
    if status in {401, 403}:
        return False, f"{prefix}_credentials_{status}"
    if status == 409:
        return False, f"{prefix}_in_flight_{status}"
    if status >= 500 or status in {408, 425, 429}:
        return False, f"{prefix}_unavailable_{status}"
    return True, f"{prefix}_refused_{status}"


@pytest.mark.parametrize("status", ERROR_STATUSES)
def test_the_sms_operators_row_keeps_its_classification(status: int) -> None:
    verdict = classify(Partner.SMS_OPERATOR, status)
    assert (verdict.permanent, verdict.code("operator", status)) == sms_before(status)


@pytest.mark.parametrize("status", ERROR_STATUSES)
@pytest.mark.parametrize(
    ("partner", "prefix"), [(Partner.PAYMENT_GATEWAY, "gateway"), (Partner.COURIER, "courier")]
)
def test_the_gateway_and_the_courier_keep_theirs_the_default(partner: str, prefix: str, status: int) -> None:
    verdict = classify(partner, status)
    assert (verdict.permanent, verdict.code(prefix, status)) == gateway_or_courier_before(prefix, status)


def test_the_differences_are_declared_in_one_place() -> None:
    # Only the SMS operator departs from the default; a partner to come (a relying party's
    # callback) gets the default until a row says otherwise.
    assert set(STATUS_RULES) == {Partner.SMS_OPERATOR}
    assert classify("relying_party", 401).outcome is Outcome.RETRY
    assert classify("relying_party", 422).outcome is Outcome.PERMANENT
    # The departures that look accidental, spelled out: SMS gives up on 401, 403 and 409, which
    # the default retries, and retries a 3xx or an unlisted 4xx, which the default refuses.
    departures = {
        status
        for status in ERROR_STATUSES
        if classify(Partner.SMS_OPERATOR, status).outcome is not classify("relying_party", status).outcome
    }
    sms_listed = {400, 401, 403, 404, 405, 408, 409, 410, 413, 415, 422, 425, 429}
    unlisted_below_500 = {status for status in ERROR_STATUSES if status < 500} - sms_listed
    assert departures == {401, 403, 409} | unlisted_below_500
    assert DEFAULT_RULES.server_error is not None
    assert DEFAULT_RULES.server_error.outcome is Outcome.RETRY


def test_a_code_without_a_kind_word_has_no_empty_part() -> None:
    assert classify(Partner.SMS_OPERATOR, 408).code("operator", 408) == "operator_408"
    assert classify(Partner.COURIER, 409).code("courier", 409) == "courier_in_flight_409"


# --- post_json over the pooled clients ------------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_pool() -> Iterator[None]:
    outbound.close_clients()
    yield
    outbound.close_clients()


@pytest.fixture
def partner() -> Iterator[FakePartner]:
    with FakePartner(keep_alive=True) as running:
        yield running


def call(
    partner: FakePartner, *, path: str = "/v1/things", token: str = TOKEN, timeout: float = 2.0
) -> bytes:
    return post_json(
        Partner.COURIER,
        partner.url + path,
        b'{"a": 1}',
        token=token,
        idempotency_key="key-1",
        timeout=timeout,
    )


def test_each_partner_has_one_client_made_once_with_explicit_bounds() -> None:
    courier = outbound.client(Partner.COURIER)
    assert outbound.client(Partner.COURIER) is courier
    assert outbound.client(Partner.SMS_OPERATOR) is not courier
    assert courier.follow_redirects is False
    assert courier.timeout == outbound.DEFAULT_TIMEOUT
    assert courier.timeout.read == 10.0


def test_calls_reuse_the_partners_connection(partner: FakePartner) -> None:
    assert call(partner) == b'{"id": "op-1"}'
    assert call(partner) == b'{"id": "op-2"}'
    first, second = partner.peers
    assert first == second  # one connection, kept alive: not one per call as before


def test_the_request_carries_the_token_the_key_and_json(partner: FakePartner) -> None:
    call(partner)
    [request] = partner.received
    assert request.path == "/v1/things"
    assert request.payload == {"a": 1}
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Idempotency-Key"] == "key-1"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["Accept"] == "application/json"


def test_without_a_token_no_authorization_header_is_sent(partner: FakePartner) -> None:
    call(partner, token="")
    assert "Authorization" not in partner.received[0].headers


def test_a_redirect_is_a_failure_and_is_not_followed(partner: FakePartner) -> None:
    partner.answer(Reply(status=302, headers={"Location": partner.url + "/elsewhere"}))
    with pytest.raises(OutboundFailure) as caught:
        call(partner)
    assert (caught.value.reason, caught.value.status) == ("status", 302)
    assert [request.path for request in partner.received] == ["/v1/things"]


@pytest.mark.parametrize("status", [400, 401, 409, 429, 500, 503])
def test_an_error_status_is_a_failure_with_that_status(partner: FakePartner, status: int) -> None:
    partner.answer(Reply(status=status, body=b'{"error": "secret detail"}'))
    with pytest.raises(OutboundFailure) as caught:
        call(partner)
    assert (caught.value.reason, caught.value.status) == ("status", status)
    assert "secret" not in str(caught.value)


def test_the_answer_is_cut_at_the_size_cap(partner: FakePartner) -> None:
    partner.answer(Reply(body=b"x" * (MAX_RESPONSE_BYTES * 3)))
    assert call(partner) == b"x" * MAX_RESPONSE_BYTES
    # The connection that was not read to its end is not reused with bytes left in it.
    assert call(partner) == b'{"id": "op-2"}'


def test_a_slow_partner_is_a_timeout(partner: FakePartner) -> None:
    partner.answer(Reply(delay=5))
    with pytest.raises(OutboundFailure) as caught:
        call(partner, timeout=0.3)
    assert (caught.value.reason, caught.value.status) == ("timeout", None)


def test_a_partner_that_hangs_up_is_a_connection_error(partner: FakePartner) -> None:
    partner.answer(Reply(hang_up=True))
    with pytest.raises(OutboundFailure) as caught:
        call(partner)
    assert caught.value.reason == "connection_error"


def test_a_partner_not_listening_is_unreachable() -> None:
    with pytest.raises(OutboundFailure) as caught:
        post_json(
            Partner.COURIER,
            f"http://127.0.0.1:{refused_port()}/x",
            b"{}",
            token="t",
            idempotency_key="k",
            timeout=1,
        )
    assert caught.value.reason == "unreachable"


def test_a_url_that_is_not_http_is_a_configuration_error_not_an_outage() -> None:
    with pytest.raises(ValueError, match="not an http"):
        post_json(Partner.COURIER, "/messages", b"{}", token="t", idempotency_key="k", timeout=1)


def test_closing_the_clients_makes_new_ones() -> None:
    before = outbound.client(Partner.COURIER)
    outbound.close_clients()
    after = outbound.client(Partner.COURIER)
    assert after is not before
    assert isinstance(after, httpx.Client)
