"""Two minutes before the idle sign-out the page warns, and "Stay signed in" keeps the session."""

import pytest

from hawiya.identity.tests.factories import make_account

from .checklist import signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_idle_warning_appears_and_stay_signed_in_hides_it(live_server, open_page, artifacts):
    page = signed_in(open_page, live_server, make_account(), recently=False, record=False)
    page.clock.install()
    page.goto(f"{live_server.url}/ar/account/")
    warning = page.locator("#hw-idle-warning")
    assert warning.is_hidden()
    page.clock.run_for(12 * 60 * 1000)
    assert warning.is_hidden(), "not before 13 minutes"
    page.clock.run_for(61 * 1000)
    assert warning.is_visible()
    page.screenshot(path=str(artifacts / "identity-idle-warning-ar.png"))
    with page.expect_response(lambda response: "/keep-alive/" in response.url) as answer:
        warning.get_by_role("button", name="البقاء متصلًا").click()
    assert answer.value.status == 204
    page.wait_for_function("() => document.getElementById('hw-idle-warning').hidden")
