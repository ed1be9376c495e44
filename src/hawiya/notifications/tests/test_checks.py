"""The system check refuses a worker that could not send."""

from __future__ import annotations

import pytest
from django.core import checks

from hawiya.notifications.checks import sms_client_configured, sms_demo_client_only_in_demo_mode


def _ids(settings) -> list[str | None]:
    return [message.id for message in sms_client_configured(None)]


@pytest.fixture(autouse=True)
def public_code_domain(settings) -> None:
    settings.HAWIYA_SMS_DOMAIN = "hawiya.example"
    settings.SMS_OPERATOR_WEBHOOK_SECRET = "delivery-report-secret"


def test_http_client_without_a_delivery_report_secret_is_a_warning(settings) -> None:
    settings.HAWIYA_SMS_CLIENT = "http"
    settings.SMS_OPERATOR_URL = "https://sms.operator.example/api"
    settings.SMS_OPERATOR_TOKEN = "t"
    settings.SMS_OPERATOR_WEBHOOK_SECRET = ""
    assert _ids(settings) == ["notifications.W004"]
    settings.HAWIYA_SMS_CLIENT = "demo"  # the demo derives one
    assert _ids(settings) == []


def test_demo_client_needs_nothing(settings) -> None:
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.SMS_OPERATOR_URL = ""
    assert _ids(settings) == []


def test_http_client_without_url_or_token_is_an_error(settings) -> None:
    settings.HAWIYA_SMS_CLIENT = "http"
    settings.SMS_OPERATOR_URL = ""
    settings.SMS_OPERATOR_TOKEN = ""
    assert _ids(settings) == ["notifications.E002", "notifications.E004"]


def test_http_is_the_default_outside_demo_mode(settings) -> None:
    settings.DEMO = False
    del settings.HAWIYA_SMS_CLIENT
    del settings.SMS_OPERATOR_URL
    del settings.SMS_OPERATOR_TOKEN
    assert _ids(settings) == ["notifications.E002", "notifications.E004"]
    settings.DEMO = True
    assert _ids(settings) == []


def test_http_client_with_https_url_and_token_passes(settings) -> None:
    settings.HAWIYA_SMS_CLIENT = "http"
    settings.SMS_OPERATOR_URL = "https://sms.operator.example/api"
    settings.SMS_OPERATOR_TOKEN = "t"
    assert _ids(settings) == []


def test_plain_http_to_a_remote_operator_is_a_warning(settings) -> None:
    settings.HAWIYA_SMS_CLIENT = "http"
    settings.SMS_OPERATOR_URL = "http://sms.operator.example/api"
    settings.SMS_OPERATOR_TOKEN = "t"
    assert _ids(settings) == ["notifications.W001"]


def test_malformed_url_and_unknown_client_are_errors(settings) -> None:
    settings.HAWIYA_SMS_CLIENT = "http"
    settings.SMS_OPERATOR_URL = "sms.operator.example"
    settings.SMS_OPERATOR_TOKEN = "t"
    assert _ids(settings) == ["notifications.E003"]
    settings.HAWIYA_SMS_CLIENT = "smoke-signals"
    assert _ids(settings) == ["notifications.E001"]


def test_check_is_registered(settings) -> None:
    settings.HAWIYA_SMS_CLIENT = "http"
    settings.SMS_OPERATOR_URL = ""
    settings.SMS_OPERATOR_TOKEN = ""
    found = {message.id for message in checks.run_checks()}
    assert {"notifications.E002", "notifications.E004"} <= found


def test_codes_bound_to_localhost_while_sending_to_real_phones_is_a_warning(settings) -> None:
    settings.HAWIYA_SMS_CLIENT = "http"
    settings.SMS_OPERATOR_URL = "https://sms.operator.example/api"
    settings.SMS_OPERATOR_TOKEN = "t"
    del settings.HAWIYA_SMS_DOMAIN
    assert _ids(settings) == ["notifications.W002"]
    settings.HAWIYA_SMS_CLIENT = "demo"
    assert _ids(settings) == []


@pytest.mark.parametrize("domain", ["", "Hawiya.Example", "evil.example #1", "a/b", "-x.example"])
def test_code_domain_must_be_a_host_name(settings, domain: str) -> None:
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.HAWIYA_SMS_DOMAIN = domain
    assert _ids(settings) == ["notifications.E005"]


def test_demo_client_outside_demo_mode_is_a_deployment_warning(settings) -> None:
    settings.HAWIYA_SMS_CLIENT = "demo"
    settings.DEMO = False
    assert [message.id for message in sms_demo_client_only_in_demo_mode(None)] == ["notifications.W003"]
    deployment = {message.id for message in checks.run_checks(include_deployment_checks=True)}
    assert "notifications.W003" in deployment
    assert "notifications.W003" not in {message.id for message in checks.run_checks()}
    settings.DEMO = True
    assert sms_demo_client_only_in_demo_mode(None) == []


def test_a_sending_lease_shorter_than_twice_the_operator_timeout_is_an_error(settings) -> None:
    settings.HAWIYA_SMS_CLIENT = "http"
    settings.SMS_OPERATOR_URL = "https://sms.operator.example/api"
    settings.SMS_OPERATOR_TOKEN = "t"
    settings.SMS_OPERATOR_TIMEOUT = 10
    settings.HAWIYA_SMS_LEASE_SECONDS = 20
    assert _ids(settings) == ["notifications.E006"]
    settings.HAWIYA_SMS_LEASE_SECONDS = 21
    assert _ids(settings) == []
