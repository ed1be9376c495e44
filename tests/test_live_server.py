"""The live server the browser tests run against answers requests that arrive together.

On SQLite the test database lives in memory, in one connection the server's request threads
share (root conftest: OneRequestAtATimeServer). A page's script fetching passkey options while its
form posts once made the server answer 500 ("cannot release savepoint - SQL statements in
progress"). These requests arrive together on purpose; each writes a passkey challenge in a
transaction.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.core.cache import cache

from hawiya.identity.models import PasskeyChallenge

CLIENTS = 6
REQUESTS_EACH = 8


def _options_statuses(base: str) -> list[int]:
    """One visitor: open the sign-in page (its CSRF cookie), then ask for passkey options again
    and again."""
    with requests.Session() as visitor:
        page = visitor.get(f"{base}/en/sign-in/", timeout=30)
        assert page.status_code == 200
        token = visitor.cookies["csrftoken"]
        return [
            visitor.post(
                f"{base}/en/sign-in/passkey/options/",
                headers={"X-CSRFToken": token, "Referer": f"{base}/en/sign-in/"},
                timeout=30,
            ).status_code
            for _ in range(REQUESTS_EACH)
        ]


@pytest.mark.django_db(transaction=True)
def test_requests_arriving_together_are_all_answered(live_server, settings):
    settings.HAWIYA_IP_START_LIMIT = CLIENTS * REQUESTS_EACH  # all from 127.0.0.1
    settings.CSRF_COOKIE_SECURE = settings.SESSION_COOKIE_SECURE = False  # plain HTTP here
    cache.clear()
    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = [
            status for each in pool.map(_options_statuses, [live_server.url] * CLIENTS) for status in each
        ]
    assert statuses == [200] * (CLIENTS * REQUESTS_EACH)
    assert PasskeyChallenge.objects.count() == CLIENTS * REQUESTS_EACH
