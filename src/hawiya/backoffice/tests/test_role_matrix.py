"""Every URL of the `backoffice` namespace × every role: the status of GET (and POST where the URL
takes it) against the table below (issue #5 §1: an officer of office A sees nothing of office B).

The URLs are found by walking the resolver, so a new URL is tested automatically; a URL without
a row in EXPECTED fails `test_every_backoffice_url_has_an_expectation`. To add one: a row
`"url-name": {"GET": (...), "POST": (...)}` with one status per role in ROLES order (leave out
"POST" for a URL that answers POST with 405 — say so with POST_NOT_ALLOWED — or give it).
URL arguments are filled by name from `sample_kwargs` (add a name there if yours is new).

The POSTs carry no form data: they show that the guard answers (sign-in redirect, 403, 404 for
another office) before any service runs, and that an officer's empty or stale form is refused
without a 500. The case is office A's, booked today and not yet checked in.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from hawiya.casework.tests.factories import booked_today, open_office, signed_in, staff_user
from hawiya.identity.models import StaffRole
from hawiya.identity.tests.factories import make_account

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "citizen", "officer_a", "officer_b", "supervisor_a", "administrator")
# Shorthands, in ROLES order.
SIGN_IN_NEEDED = 302  # anonymous → the staff sign-in page
NOT_ALLOWED = (405, 405, 405, 405, 405, 405)
POST_NOT_ALLOWED = NOT_ALLOWED
GET_NOT_ALLOWED = NOT_ALLOWED
# A page of the officer's work: officers and supervisors, not administrators (no PERM_WORK_CASES).
WORK_PAGE = (302, 403, 200, 200, 200, 403)
# The same about office A's case: officer B does not see it (404, as for a missing one).
CASE_PAGE = (302, 403, 200, 404, 200, 403)


def case_action(officer_a_status: int) -> tuple[int, ...]:
    return (302, 403, officer_a_status, 404, officer_a_status, 403)


# A supervisor's page (H4): supervisors and administrators, not officers.
SUPERVISOR_PAGE = (302, 403, 403, 403, 200, 200)


def administrator_only(administrator_status: int) -> tuple[int, ...]:
    """A page for administrators alone (manage_relying_parties, manage_staff_security): everybody
    else is refused."""
    return (302, 403, 403, 403, 403, administrator_status)


EXPECTED: dict[str, dict[str, tuple[int, ...]]] = {
    # Sign-in (signed-in staff go to the home page; a citizen is shown the staff form).
    "sign-in": {"GET": (200, 200, 302, 302, 302, 302), "POST": (400, 400, 302, 302, 302, 302)},
    "sign-in-code": {"GET": (302,) * 6, "POST": (302,) * 6},
    "sign-out": {"GET": GET_NOT_ALLOWED, "POST": (302,) * 6},
    # A passkey instead of the app's code: without a password step first, back to the sign-in.
    "sign-in-passkey": {"GET": GET_NOT_ALLOWED, "POST": (302,) * 6},
    "sign-in-passkey-options": {"GET": GET_NOT_ALLOWED, "POST": (400,) * 6},
    # Every staff member's own passkeys; changes need a sign-in in the last five minutes (these
    # clients' sign-ins are not recent: the form is not offered and the POSTs are turned away).
    "passkeys": {"GET": (302, 403, 200, 200, 200, 200), "POST": (302, 403, 302, 302, 302, 302)},
    "passkey-options": {"GET": GET_NOT_ALLOWED, "POST": (302, 403, 403, 403, 403, 403)},
    "passkey-remove": {"GET": GET_NOT_ALLOWED, "POST": (302, 403, 302, 302, 302, 302)},
    "home": {"GET": (302, 403, 302, 302, 302, 302), "POST": POST_NOT_ALLOWED},
    # The officer's work.
    "day": {"GET": WORK_PAGE, "POST": POST_NOT_ALLOWED},
    # GET (the language switch of a refused check-in) goes back to the day page.
    "check-in": {"GET": (302, 403, 302, 302, 302, 403), "POST": (302, 403, 400, 400, 400, 403)},
    "print-queue": {"GET": WORK_PAGE, "POST": POST_NOT_ALLOWED},
    "queue": {"GET": WORK_PAGE, "POST": POST_NOT_ALLOWED},
    "case": {"GET": CASE_PAGE, "POST": POST_NOT_ALLOWED},
    "case-id-number": {"GET": GET_NOT_ALLOWED, "POST": case_action(302)},
    "case-photo": {"GET": GET_NOT_ALLOWED, "POST": case_action(302)},
    # No "show photo" click before: not found for everyone.
    "case-photo-image": {"GET": case_action(404), "POST": POST_NOT_ALLOWED},
    # An empty form has no `state_seen`: the request "changed" (409), nothing is done.
    "case-check-in": {"GET": GET_NOT_ALLOWED, "POST": case_action(409)},
    "case-biometrics": {"GET": CASE_PAGE, "POST": case_action(400)},
    "case-approve": {"GET": GET_NOT_ALLOWED, "POST": case_action(409)},
    "case-reject": {"GET": CASE_PAGE, "POST": case_action(400)},
    # No new document yet: nothing to print.
    "case-print-file": {"GET": case_action(404), "POST": POST_NOT_ALLOWED},
    "case-mark-printed": {"GET": GET_NOT_ALLOWED, "POST": case_action(409)},
    "case-mark-ready": {"GET": GET_NOT_ALLOWED, "POST": case_action(409)},
    "case-handover": {"GET": CASE_PAGE, "POST": case_action(400)},
    "case-handover-resend": {"GET": GET_NOT_ALLOWED, "POST": case_action(302)},
    # Misuse reports about document checks: anyone who works cases, of any office. The sample
    # reference is no misuse report: not found.
    "misuse-reports": {"GET": WORK_PAGE, "POST": POST_NOT_ALLOWED},
    "misuse-report-close": {"GET": (302, 403, 404, 404, 404, 403), "POST": (302, 403, 404, 404, 404, 403)},
    # Supervisor (H4; statuses as observed when the matrix was written — H4 owns these rows).
    "supervisor-dashboard": {"GET": SUPERVISOR_PAGE, "POST": (302, 403, 403, 403, 405, 405)},
    # An administrator names the office (?office=<code>); without it: not found.
    "supervisor-dashboard-csv": {
        "GET": (302, 403, 403, 403, 200, 404),
        "POST": (302, 403, 403, 403, 405, 405),
    },
    # An empty form closes every day, which is refused (400); an administrator is asked to choose.
    "supervisor-schedule": {"GET": SUPERVISOR_PAGE, "POST": (302, 403, 403, 403, 400, 200)},
    "supervisor-holidays": {"GET": SUPERVISOR_PAGE, "POST": (302, 403, 403, 403, 400, 200)},
    "supervisor-holiday-remove": {
        "GET": (302, 403, 403, 403, 404, 404),
        "POST": (302, 403, 403, 403, 404, 404),
    },
    # Counter services (H4): officers and supervisors of any office, not administrators.
    "counter": {"GET": WORK_PAGE, "POST": (302, 403, 400, 400, 400, 403)},
    "counter-activate": {"GET": (302, 403, 302, 302, 302, 403), "POST": (302, 403, 302, 302, 302, 403)},
    "counter-done": {"GET": (302, 403, 404, 404, 404, 403), "POST": (302, 403, 405, 405, 405, 403)},
    "counter-rebind": {"GET": (302, 403, 302, 302, 302, 403), "POST": (302, 403, 302, 302, 302, 403)},
    # Find a person: the counter's roles; searching is a POST (an empty one is a form error),
    # opening a result without one is "no such person".
    "people-search": {"GET": WORK_PAGE, "POST": (302, 403, 400, 400, 400, 403)},
    "people-open": {"GET": (302, 403, 405, 405, 405, 403), "POST": (302, 403, 404, 404, 404, 403)},
    # Relying parties: administrators only. The sample party does not exist (404); an empty
    # registration form is refused (400).
    "parties": {"GET": administrator_only(200), "POST": administrator_only(405)},
    "party-register": {"GET": administrator_only(200), "POST": administrator_only(400)},
    "party-edit": {"GET": administrator_only(404), "POST": administrator_only(404)},
    "party-secret": {"GET": administrator_only(404), "POST": administrator_only(405)},
    "party-suspend": {"GET": administrator_only(404), "POST": administrator_only(404)},
    "party-resume": {"GET": administrator_only(404), "POST": administrator_only(404)},
    "party-rotate-secret": {"GET": administrator_only(404), "POST": administrator_only(404)},
    # Staff roles' sign-in rule: administrators only. A POST without a choice is refused (400).
    "staff-security-roles": {"GET": administrator_only(200), "POST": administrator_only(405)},
    "staff-security-role": {"GET": administrator_only(200), "POST": administrator_only(400)},
    # The demo courier (H2): outside demo mode (the suite's setting) the pages do not exist for
    # anyone; in demo mode any staff role may use them (test_courier_pages.py).
    "courier": {"GET": (404,) * 6, "POST": (404,) * 6},
    "courier-picked-up": {"GET": (404,) * 6, "POST": (404,) * 6},
    "courier-out-for-delivery": {"GET": (404,) * 6, "POST": (404,) * 6},
    "courier-delivered": {"GET": (404,) * 6, "POST": (404,) * 6},
    "courier-failed": {"GET": (404,) * 6, "POST": (404,) * 6},
}


def backoffice_urls() -> dict[str, list[str]]:
    """Every named URL under the `backoffice` namespace with its parameters, found by walking the
    resolver."""
    found: dict[str, list[str]] = {}

    def walk(patterns: list[Any], inside: bool) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, inside or entry.namespace == "backoffice")
            elif inside and isinstance(entry, URLPattern) and entry.name:
                found[entry.name] = sorted(getattr(entry.pattern, "converters", {}) or {})

    walk(get_resolver().url_patterns, False)
    return found


def backoffice_url_names() -> list[str]:
    return sorted(backoffice_urls())


def sample_kwargs(name: str, samples: dict[str, Any]) -> dict[str, Any]:
    return {param: samples[param] for param in backoffice_urls()[name]}


def test_every_backoffice_url_has_an_expectation() -> None:
    names = backoffice_url_names()

    assert "day" in names
    missing = [name for name in names if name not in EXPECTED]
    assert missing == [], f"add a row to EXPECTED for: {missing}"
    for name, row in EXPECTED.items():
        for method, statuses in row.items():
            assert len(statuses) == len(ROLES), (name, method)


def _clients() -> tuple[dict[str, Client], dict[str, Any]]:
    office_a, office_b = open_office(), open_office()
    visit = booked_today(office_a)
    clients = {
        "anonymous": Client(),
        "citizen": signed_in(make_account()),
        "officer_a": signed_in(staff_user(office=office_a)),
        "officer_b": signed_in(staff_user(office=office_b)),
        "supervisor_a": signed_in(staff_user(role=StaffRole.SUPERVISOR, office=office_a)),
        "administrator": signed_in(staff_user(role=StaffRole.ADMINISTRATOR, office=None)),
    }
    samples = {
        "reference": visit.replacement.reference,
        "holiday_id": 2**31 - 1,
        "party_id": 2**31 - 1,
        "office_code": office_a.code,
        "passkey_id": 2**31 - 1,
        "role": "officer",
    }
    return clients, samples


@pytest.mark.parametrize("name", backoffice_url_names())
def test_role_matrix(name: str) -> None:
    row = EXPECTED.get(name)
    if row is None:
        pytest.fail(f"no expectation for backoffice:{name} (add it to EXPECTED)")
    clients, samples = _clients()
    url = reverse(f"backoffice:{name}", kwargs=sample_kwargs(name, samples))
    answers: dict[str, dict[str, int]] = {}
    for method in ("GET", "POST"):
        expected = row.get(method, POST_NOT_ALLOWED if method == "POST" else None)
        if expected is None:
            continue
        got = {}
        for role in ROLES:
            client = clients[role]
            response = client.get(url) if method == "GET" else client.post(url, {})
            got[role] = response.status_code
        answers[method] = got
        assert tuple(got[role] for role in ROLES) == expected, f"{method} {url}: {got}"
    assert answers
