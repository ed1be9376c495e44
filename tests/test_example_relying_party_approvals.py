"""The example bank's "approve with Hawiya app" against a live Hawiya: the bank asks the approvals
API with its own token (scope `approvals`), shows the number, and its status endpoint (which the
page's script polls) follows the citizen's answer in Hawiya: approved, rejected, expired; only the
browser that asked may watch; Hawiya's refusals are said in plain words; Hawiya's signed callback is
verified with its JWKS, a replay changing nothing, and is seen by the poll."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from jwcrypto import jwt
from oauth2_provider.models import AccessToken
from werkzeug.serving import make_server

from hawiya.approvals.callbacks import approval_callback_deliver
from hawiya.approvals.models import ApprovalCallback, ApprovalRequest
from hawiya.approvals.services import approval_answer
from hawiya.audit.actors import Actor
from hawiya.identity.models import User
from hawiya.identity.signing_keys import active_signing_key
from hawiya.identity.tests.factories import make_account

from .test_example_relying_party import FORM_TOKEN, hawiya  # noqa: F401 (a fixture)

from relying_party.app import create_app  # isort: skip (examples/ is put on the path above)

pytestmark = pytest.mark.django_db(transaction=True)

APPROVAL_PATH = re.compile(r"/approve/([A-Za-z0-9_-]{16,64})$")


@pytest.fixture(autouse=True)
def _approvals(settings):
    settings.HAWIYA_APPROVALS_RATE_LIMIT = 1000
    settings.HAWIYA_APPROVALS_LOOPBACK_CALLBACKS = True


def make_bank(url: str, **config: Any) -> Any:
    return create_app({"TESTING": True, "SECRET_KEY": "test", "HAWIYA_URL": url, **config})


@pytest.fixture
def bank_app(hawiya):  # noqa: F811 (the fixture imported above)
    return make_bank(hawiya.url)


@pytest.fixture
def bank(bank_app):
    return bank_app.test_client()


def ask(bank: Any, lang: str = "en", **fields: str) -> Any:
    page = bank.get(f"/approve?lang={lang}").get_data(as_text=True)
    token = FORM_TOKEN.search(page)
    assert token is not None
    return bank.post("/approve", data={"form_token": token.group(1), "amount": "5000", **fields})


def asked(bank: Any, user: User, lang: str = "en") -> tuple[str, ApprovalRequest]:
    """Ask for `user`'s approval at the bank: the approval's id and Hawiya's row of it."""
    answer = ask(bank, lang, id_number=user.person.id_number)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    found = APPROVAL_PATH.search(answer.headers["Location"])
    assert found is not None
    return found.group(1), ApprovalRequest.objects.get(public_id=found.group(1))


def status(bank: Any, approval_id: str) -> dict[str, Any]:
    answer = bank.get(f"/approve/{approval_id}/status")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    return dict(answer.get_json())


def tap(user: User, row: ApprovalRequest, number: int) -> None:
    approval_answer(actor=Actor.citizen(user.pk), user=user, approval_id=row.public_id, number=number)


def test_the_bank_shows_the_number_and_its_poll_follows_the_citizens_approval(bank):
    user = make_account()
    approval_id, row = asked(bank, user)
    # Hawiya was asked in both languages, for what the bank's customer typed.
    assert row.purpose_en == "Approve a transfer of 5,000 SAR from your Example Bank account"
    assert row.purpose_ar == "الموافقة على تحويل 5,000 ريال من حسابك في بنك المثال"
    assert AccessToken.objects.get(application__client_id="example-bank").scope == "approvals"

    page = bank.get(f"/approve/{approval_id}").get_data(as_text=True)
    assert "Open Hawiya and tap this number" in page
    assert f'<p class="bank-number__value" dir="ltr">{row.number}</p>' in page
    assert 'data-approval-status="WAITING"' in page
    assert f'data-poll-url="/approve/{approval_id}/status"' in page
    assert '<script src="/static/approval.js" defer></script>' in page
    expires = timezone.localtime(row.expires_at, dt.timezone(dt.timedelta(hours=3)))
    assert f"<bdi>{expires:%Y-%m-%d %H:%M:%S} (Riyadh time)</bdi>" in page
    assert status(bank, approval_id) == {
        "status": "WAITING",
        "message": "Waiting for your approval in Hawiya…",
        "done": False,
    }

    tap(user, row, row.number)
    assert status(bank, approval_id) == {
        "status": "COMPLETED",
        "message": "Approved in Hawiya.",
        "done": True,
    }
    # In Arabic too, on the page as on the poll.
    arabic = bank.get(f"/approve/{approval_id}?lang=ar").get_data(as_text=True)
    assert 'data-approval-status="COMPLETED"' in arabic
    assert "تمّت الموافقة في هوية." in arabic
    assert "افتح تطبيق هوية واضغط هذا الرقم" in arabic
    assert status(bank, approval_id)["message"] == "تمّت الموافقة في هوية."


def test_a_wrong_number_is_rejected_and_an_unanswered_request_expires(bank):
    user = make_account()
    approval_id, row = asked(bank, user)
    tap(user, row, next(number for number in row.choices if number != row.number))
    assert status(bank, approval_id)["status"] == "REJECTED"

    approval_id, row = asked(bank, user)  # the first one has ended: a new one may be asked
    ApprovalRequest.objects.filter(pk=row.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    answer = status(bank, approval_id)
    assert answer == {
        "status": "EXPIRED",
        "message": "The request expired unanswered. Ask for a new approval.",
        "done": True,
    }


def test_only_the_browser_that_asked_may_watch_the_approval(bank, bank_app):
    approval_id, _row = asked(bank, make_account())
    other = bank_app.test_client()
    assert other.get(f"/approve/{approval_id}/status").status_code == 404
    assert other.get(f"/approve/{approval_id}").status_code == 404
    assert bank.get("/approve/not-an-approval-id-of-ours/status").status_code == 404


def test_a_second_request_while_one_waits_is_refused_in_hawiyas_words(bank):
    user = make_account()
    asked(bank, user)
    again = ask(bank, "ar", id_number=user.person.id_number)
    assert again.status_code == 409
    assert "ما زال" in again.get_data(as_text=True)  # Hawiya's Arabic message, as the page is Arabic
    assert ApprovalRequest.objects.count() == 1


def test_a_malformed_request_is_refused_before_asking_hawiya(bank):
    for fields in ({"id_number": "12345"}, {"id_number": "1012345678", "amount": "0"}):
        answer = ask(bank, **fields)
        assert answer.status_code == 400
        assert "Check the ID number (ten digits) and the amount" in answer.get_data(as_text=True)
    assert ask(bank, id_number="1012345678", amount="1000001").status_code == 400
    assert not ApprovalRequest.objects.exists()
    forged = bank.post("/approve", data={"form_token": "guess", "id_number": "1012345678", "amount": "5"})
    assert forged.status_code == 400


def test_the_approve_page_is_arabic_first_and_linked_from_home():
    bank = make_bank("http://127.0.0.1:9").test_client()
    page = bank.get("/approve").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert "الموافقة عبر تطبيق هوية" in page
    assert 'href="/approve"' in bank.get("/").get_data(as_text=True)
    # Hawiya unreachable: said, not shown as an approval.
    answer = ask(bank, "ar", id_number="1012345678")
    assert answer.status_code == 502
    assert "تعذّر طلب الموافقة الآن" in answer.get_data(as_text=True)


def test_the_pages_script_comes_from_the_bank_only(bank):
    policy = bank.get("/approve").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert bank.get("/static/approval.js").status_code == 200


# --- Hawiya's signed callback ---------------------------------------------------------------------


def callback_token(live_url: str, approval_id: str, status: str, **changes: Any) -> str:
    claims = {
        "iss": live_url,
        "aud": "example-bank",
        "iat": int(time.time()),
        "exp": int(time.time()) + 120,
        "jti": secrets.token_urlsafe(16),
        "approval_id": approval_id,
        "status": status,
        **changes,
    }
    kid, key = active_signing_key("RS256")
    token = jwt.JWT(header={"typ": "approval+jwt", "alg": "RS256", "kid": kid}, claims=claims)
    token.make_signed_token(key)
    return str(token.serialize())


def test_a_signed_callback_is_seen_by_the_poll_and_a_replay_changes_nothing(bank, hawiya):  # noqa: F811
    approval_id, _row = asked(bank, make_account())
    # Hawiya says it was rejected (its row still waits: the bank believes the callback, not a poll).
    token = callback_token(hawiya.url, approval_id, "REJECTED")
    assert bank.post("/approvals/callback", json={"token": token}).status_code == 204
    assert status(bank, approval_id)["status"] == "REJECTED"
    # The same callback again (Hawiya retrying) is taken, and an ended approval stays ended.
    assert bank.post("/approvals/callback", json={"token": token}).status_code == 204
    completed = callback_token(hawiya.url, approval_id, "COMPLETED")
    assert bank.post("/approvals/callback", json={"token": completed}).status_code == 204
    assert status(bank, approval_id)["status"] == "REJECTED"


def test_a_callback_not_from_hawiya_for_this_bank_is_refused(bank, hawiya):  # noqa: F811
    approval_id, _row = asked(bank, make_account())
    for token, err in (
        (callback_token(hawiya.url, approval_id, "COMPLETED", aud="another-bank"), "invalid_audience"),
        (callback_token("https://elsewhere.example", approval_id, "COMPLETED"), "invalid_issuer"),
        (
            callback_token(hawiya.url, approval_id, "COMPLETED", exp=int(time.time()) - 3600),
            "invalid_request",
        ),
        (callback_token(hawiya.url, "unknownApprovalId0001", "COMPLETED"), "invalid_request"),
        (callback_token(hawiya.url, approval_id, "MAYBE"), "invalid_request"),
    ):
        answer = bank.post("/approvals/callback", json={"token": token})
        assert answer.status_code == 400
        assert answer.get_json()["err"] == err
    assert bank.post("/approvals/callback", data="token=x").status_code == 400
    assert status(bank, approval_id)["status"] == "WAITING"


@pytest.fixture
def served_bank(hawiya) -> Iterator[tuple[Any, Any]]:  # noqa: F811
    app = make_bank(hawiya.url)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, app.test_client()
    server.shutdown()
    thread.join(timeout=10)


def test_hawiyas_worker_calls_the_bank_back_when_the_citizen_approves(served_bank):
    app, bank = served_bank
    user = make_account()
    approval_id, row = asked(bank, user)
    assert row.callback_url == f"{app.config['BASE_URL']}/approvals/callback"
    tap(user, row, row.number)
    callback = ApprovalCallback.objects.get(request=row)
    assert approval_callback_deliver.call(callback.pk) == "sent"
    assert app.extensions["approvals"].get(approval_id).status == "COMPLETED"
