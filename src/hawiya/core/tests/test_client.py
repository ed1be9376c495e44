"""The client's IP address behind trusted proxies (per-IP throttles depend on it)."""

import pytest
from django.test import RequestFactory

from hawiya.core.client import client_ip


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.2"),  # no proxy trusted: the header is the client's to forge
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the left entry was written by the client
        (2, "198.51.100.1, 203.0.113.9, 10.0.0.7", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.2"),  # fewer entries than proxies: not what our proxies write
        (1, "not-an-address", "10.0.0.2"),
        (1, "", "10.0.0.2"),
    ],
)
def test_client_ip_counts_trusted_proxies_from_the_right(settings, proxies, forwarded, expected):
    settings.HAWIYA_TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_user_agent_loses_control_characters():
    from hawiya.core.client import client_user_agent

    request = RequestFactory().get("/", HTTP_USER_AGENT="Mozilla/5.0\x00 (X11)\r\n")
    assert client_user_agent(request) == "Mozilla/5.0 (X11)"
