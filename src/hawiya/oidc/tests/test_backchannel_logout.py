"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): the parties a citizen signed in to
are told, over real HTTP, when the citizen signs out or withdraws a party; a party that is down is
retried with back-off and then given up, and never holds up the sign-out."""

from __future__ import annotations

import datetime as dt
import itertools
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult
from joserfc import jwt
from joserfc.jwk import KeySet
from oauth2_provider.models import AccessToken, IDToken

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.core import clock
from hawiya.core.fakepartner import FakePartner, Reply, refused_port
from hawiya.core.outbound import close_clients
from hawiya.core.testing import pin_clock
from hawiya.identity import services
from hawiya.identity.backchannel_logout import EVENT, POLICY, backchannel_logout_deliver
from hawiya.identity.counter import counter_mobile_rebind
from hawiya.identity.models import (
    BackchannelLogout,
    RelyingParty,
    SecurityEvent,
    StaffRole,
    User,
    UserSession,
)
from hawiya.identity.oidc_claims import pairwise_subject
from hawiya.identity.services.authorization_codes import oauth_tokens_prune
from hawiya.identity.services.relying_parties import connection_revoke
from hawiya.identity.services.sessions import SessionEnd, citizen_session_ended
from hawiya.identity.tests.factories import PASSWORD, last_code, make_account, make_staff, next_mobile
from hawiya.identity.tests.test_counter import enrolled, finger
from hawiya.oidc.tests.conftest import HOST, ISSUER, Flow, make_flow, make_party
from hawiya.registry.tests.factories import make_office

State = BackchannelLogout.State


@pytest.fixture(autouse=True)
def fresh_clients() -> Any:
    yield
    close_clients()


def with_backchannel(party: RelyingParty, uri: str) -> RelyingParty:
    party.backchannel_logout_uri = uri
    party.save(update_fields=["backchannel_logout_uri"])
    return party


def logout_token_of(received: Any) -> str:
    assert received.headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = parse_qs(received.payload.decode())
    assert list(fields) == ["logout_token"]
    return fields["logout_token"][0]


def verified(flow: Flow, token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(flow.session.get(f"{ISSUER}/oidc/jwks/", withhold_token=True).json())
    decoded = jwt.decode(token, keys, algorithms=["RS256"])
    assert decoded.header["typ"] == "logout+jwt"
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": ISSUER}, exp={"essential": True}).validate(
        decoded.claims
    )
    return decoded.claims


def deliver_all() -> list[str]:
    return [
        backchannel_logout_deliver.call(pk) for pk in BackchannelLogout.objects.values_list("pk", flat=True)
    ]


def test_discovery_advertises_backchannel_logout(flow):
    document = flow.session.get(f"{ISSUER}/.well-known/openid-configuration", withhold_token=True).json()
    assert document["backchannel_logout_supported"] is True
    assert document["backchannel_logout_session_supported"] is False


def test_sign_out_sends_a_signed_logout_token_with_the_pairwise_sub(flow, party, citizen):
    flow.tokens(flow.code_redirect())
    with FakePartner() as bank:
        with_backchannel(party, f"{bank.url}/backchannel")
        answer = flow.browser.post(reverse("portal:sign-out"))
        assert answer.status_code == 302
        assert "_auth_user_id" not in flow.browser.session
        assert deliver_all() == ["sent"]
    assert [r.path for r in bank.received] == ["/backchannel"]
    claims = verified(flow, logout_token_of(bank.received[0]))
    assert claims["aud"] == "bank"
    assert claims["sub"] == pairwise_subject(citizen, party)
    assert claims["sub"] != str(citizen.pk)
    assert claims["events"] == {EVENT: {}}
    assert "nonce" not in claims
    assert claims["jti"] == BackchannelLogout.objects.get().jti
    assert 0 < claims["exp"] - claims["iat"] <= 300
    sent = AuditEvent.objects.filter(action="oidc.backchannel_logout_sent").get()
    assert sent.actor == "system:oidc.backchannel_logout"


def test_a_party_without_a_backchannel_uri_gets_nothing(flow, party):
    flow.tokens(flow.code_redirect())
    flow.browser.post(reverse("portal:sign-out"))
    assert not BackchannelLogout.objects.exists()


def test_a_party_the_citizen_never_signed_in_to_gets_nothing(flow, party, citizen):
    flow.tokens(flow.code_redirect())
    other = with_backchannel(make_party("agency"), "https://agency.example/bc")
    with_backchannel(party, "https://bank.example/bc")
    flow.browser.post(reverse("portal:sign-out"))
    assert list(BackchannelLogout.objects.values_list("party_id", flat=True)) == [party.pk]
    assert other.pk != party.pk


def test_sign_out_succeeds_while_the_party_is_down_then_retries_and_gives_up(flow, party):
    flow.tokens(flow.code_redirect())
    with_backchannel(party, f"http://127.0.0.1:{refused_port()}/bc")
    answer = flow.browser.post(reverse("portal:sign-out"))
    assert answer.status_code == 302
    assert "_auth_user_id" not in flow.browser.session
    row = BackchannelLogout.objects.get()
    waits = []
    for _attempt in range(POLICY.max_attempts):
        before = clock.now()
        assert backchannel_logout_deliver.call(row.pk) in {"pending", "failed"}
        row.refresh_from_db()
        if row.state == State.PENDING:
            assert row.next_attempt_at is not None
            waits.append(row.next_attempt_at - before)
            # The scheduled time comes.
            BackchannelLogout.objects.filter(pk=row.pk).update(next_attempt_at=clock.now())
    assert row.state == State.FAILED
    assert row.attempts == POLICY.max_attempts
    assert row.last_error_code == "unreachable"
    # Backed off: each wait about three times the one before.
    assert len(waits) == POLICY.max_attempts - 1
    assert all(later > earlier * 2 for earlier, later in itertools.pairwise(waits))
    assert waits[0] >= dt.timedelta(seconds=9)
    assert AuditEvent.objects.filter(action="oidc.backchannel_logout_given_up").count() == 1


def test_a_party_that_answers_500_then_200_is_retried_once(flow, party):
    flow.tokens(flow.code_redirect())
    with FakePartner() as bank:
        bank.answer(Reply(status=503))
        with_backchannel(party, f"{bank.url}/bc")
        flow.browser.post(reverse("portal:sign-out"))
        row = BackchannelLogout.objects.get()
        assert backchannel_logout_deliver.call(row.pk) == "pending"
        BackchannelLogout.objects.filter(pk=row.pk).update(next_attempt_at=clock.now())
        assert backchannel_logout_deliver.call(row.pk) == "sent"
    first, second = (logout_token_of(r) for r in bank.received)
    assert verified(flow, first)["jti"] == verified(flow, second)["jti"]  # the same logout, repeated


def test_a_party_refusing_the_token_is_given_up_at_once(flow, party):
    flow.tokens(flow.code_redirect())
    with FakePartner() as bank:
        bank.answer(Reply(status=400))
        with_backchannel(party, f"{bank.url}/bc")
        flow.browser.post(reverse("portal:sign-out"))
        assert deliver_all() == ["failed"]
    assert BackchannelLogout.objects.get().last_error_code == "party_refused_400"


def test_revoking_a_connection_tells_that_party(flow, party, citizen):
    flow.tokens(flow.code_redirect())
    with FakePartner() as bank:
        with_backchannel(party, f"{bank.url}/bc")
        connection_revoke(actor=Actor.citizen(citizen.pk), user=citizen, party_id=party.pk)
        assert deliver_all() == ["sent"]
    assert verified(flow, logout_token_of(bank.received[0]))["sub"] == pairwise_subject(citizen, party)


def test_rp_initiated_logout_tells_the_parties(flow, party, citizen):
    party.application.post_logout_redirect_uris = "https://bank.example/signed-out"
    party.application.save()
    with_backchannel(party, "https://bank.example/bc")
    id_token = flow.tokens(flow.code_redirect())["id_token"]
    page = flow.get(f"{ISSUER}/oidc/logout/?id_token_hint={id_token}")
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    flow.browser.post(
        "/oidc/logout/?" + page.request["QUERY_STRING"], {**data, "allow": "Logout"}, headers={"host": HOST}
    )
    assert "_auth_user_id" not in flow.browser.session
    row = BackchannelLogout.objects.get()
    assert row.party == party
    assert row.subject == pairwise_subject(citizen, party)


def test_rp_initiated_logout_with_an_old_hint_works_after_the_retention_prune(flow, party, citizen):
    # Days after the sign-in, its ID token has expired and its access token was refreshed away;
    # the prune keeps the ID token (HAWIYA_RETENTION_ID_TOKENS_DAYS), so the party can still name
    # the citizen with it when it signs them out (docs/design.md §9).
    party.application.post_logout_redirect_uris = "https://bank.example/signed-out"
    party.application.save()
    with_backchannel(party, "https://bank.example/bc")
    first = flow.tokens(flow.code_redirect())
    flow.session.refresh_token(f"{ISSUER}/oidc/token/", refresh_token=first["refresh_token"])
    IDToken.objects.update(expires=clock.now() - dt.timedelta(days=3))

    ids = set(IDToken.objects.values_list("pk", flat=True))

    # The tokens' prune only: the browser's own session would have ended by then.
    pruned = oauth_tokens_prune(now=clock.now() + dt.timedelta(days=3))
    assert pruned["oauth_id_tokens"] == 0
    assert set(IDToken.objects.values_list("pk", flat=True)) == ids

    page = flow.get(f"{ISSUER}/oidc/logout/?id_token_hint={first['id_token']}")
    assert page.status_code == 200
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    flow.browser.post(
        "/oidc/logout/?" + page.request["QUERY_STRING"], {**data, "allow": "Logout"}, headers={"host": HOST}
    )
    assert "_auth_user_id" not in flow.browser.session
    assert BackchannelLogout.objects.get().party == party


def test_a_sign_in_through_a_party_is_in_the_security_history(flow, party, citizen):
    flow.tokens(flow.code_redirect())
    event = SecurityEvent.objects.get(user=citizen, kind=SecurityEvent.Kind.PARTY_SIGN_IN)
    assert event.detail == str(party.pk)
    english = flow.browser.get("/en/account/security/").content.decode()
    assert "Signed in to a connected service<span" in english
    assert "– Example Bank</span>" in english
    arabic = flow.browser.get("/ar/account/security/").content.decode()
    assert "تسجيل الدخول إلى خدمة مرتبطة<span" in arabic
    assert "– بنك المثال</span>" in arabic


def test_a_replayed_code_adds_no_second_sign_in(flow, citizen):
    location = flow.code_redirect()
    flow.tokens(location)
    with pytest.raises(Exception, match="invalid_grant"):
        flow.tokens(location)
    assert SecurityEvent.objects.filter(user=citizen, kind=SecurityEvent.Kind.PARTY_SIGN_IN).count() == 1


def test_a_lost_hand_over_is_swept_to_a_worker_again(flow, party):
    flow.tokens(flow.code_redirect())
    with_backchannel(party, "https://bank.example/bc")
    flow.browser.post(reverse("portal:sign-out"))
    row = BackchannelLogout.objects.get()
    DBTaskResult.objects.all().delete()  # as if the process died between commit and enqueue
    call_command("oidc_backchannel_requeue", verbosity=0)
    assert not DBTaskResult.objects.exists()  # not overdue yet
    BackchannelLogout.objects.filter(pk=row.pk).update(next_attempt_at=clock.now() - dt.timedelta(minutes=5))
    call_command("oidc_backchannel_requeue", verbosity=0)
    (task,) = DBTaskResult.objects.all()
    assert task.task_path.endswith("backchannel_logout_deliver")
    assert task.args_kwargs["args"] == [row.pk]


def test_sign_out_only_enqueues_after_commit_and_never_calls_the_party(
    flow, party, django_capture_on_commit_callbacks
):
    flow.tokens(flow.code_redirect())
    with FakePartner() as bank:
        with_backchannel(party, f"{bank.url}/bc")
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            flow.browser.post(reverse("portal:sign-out"))
            assert not DBTaskResult.objects.exists()
        assert len(callbacks) == 1
        assert bank.received == []  # the request did not wait for the party
    (task,) = DBTaskResult.objects.all()
    assert task.args_kwargs["args"] == [BackchannelLogout.objects.get().pk]


# --- Every way a citizen's session ends tells the parties (identity.services.sessions) -------------
# Two connected parties: the bank registered a back-channel logout URI, the agency did not.


@pytest.fixture
def connected(flow: Flow, party: RelyingParty, citizen: User) -> tuple[RelyingParty, RelyingParty]:
    flow.tokens(flow.code_redirect())
    agency = make_party("agency", name_en="Example Agency", name_ar="جهة المثال")
    agency_flow = make_flow(flow.browser, agency)
    agency_flow.tokens(agency_flow.code_redirect())
    with_backchannel(party, "https://bank.example/bc")
    # The browser's session as the sign-in pages record it (force_login does not).
    key = flow.browser.session.session_key
    assert key
    services.user_session_record(user=citizen, session_key=key, ip="192.0.2.1", user_agent="Firefox/130")
    return party, agency


def told() -> list[tuple[int, str]]:
    """Every Logout Token owed: to which party, about which subject."""
    return list(BackchannelLogout.objects.order_by("pk").values_list("party_id", "subject"))


def other_session(user: User) -> UserSession:
    """A second signed-in browser of `user`."""
    store = import_module(django_settings.SESSION_ENGINE).SessionStore()
    store["_auth_user_id"] = str(user.pk)
    store.create()
    return services.user_session_record(
        user=user, session_key=store.session_key, ip="198.51.100.7", user_agent="Safari/604.1"
    )


def test_the_idle_timeout_tells_the_connected_parties(flow, connected, citizen, monkeypatch):
    bank, _agency = connected
    pinned = pin_clock(monkeypatch, clock.now())
    assert flow.browser.get("/en/account/").status_code == 200
    pinned.advance(minutes=16)
    answer = flow.browser.get("/en/account/")
    assert answer["Location"].startswith("/en/sign-in/?timeout=1")
    assert "_auth_user_id" not in flow.browser.session
    assert told() == [(bank.pk, pairwise_subject(citizen, bank))]
    assert not UserSession.objects.filter(user=citizen).exists()


def test_the_12_hour_limit_tells_the_connected_parties(flow, connected, citizen, monkeypatch):
    bank, _agency = connected
    pinned = pin_clock(monkeypatch, clock.now())
    assert flow.browser.get("/en/account/").status_code == 200
    for _ in range(12 * 60 // 14):  # a request every 14 minutes: never idle
        pinned.advance(minutes=14)
        assert flow.browser.get("/en/account/").status_code == 200
    assert not BackchannelLogout.objects.exists()
    pinned.advance(minutes=14)
    answer = flow.browser.get("/en/account/")
    assert answer["Location"].startswith("/en/sign-in/?timeout=session")
    assert told() == [(bank.pk, pairwise_subject(citizen, bank))]


def test_a_staff_timeout_tells_no_one(client, party, monkeypatch):
    # A token held for the bank (staff never sign in to a party): only the rule can keep it quiet.
    staff = User.objects.create_user(username="staff-bcl", password="x" * 20, is_staff=True)
    AccessToken.objects.create(
        user=staff, application=party.application, token="t" * 30, expires=clock.now() + dt.timedelta(hours=1)
    )
    with_backchannel(party, "https://bank.example/bc")
    client.force_login(staff)
    pinned = pin_clock(monkeypatch, clock.now())
    client.get("/en/")
    pinned.advance(minutes=16)
    answer = client.get("/en/")
    assert answer.status_code == 302
    assert "_auth_user_id" not in client.session
    assert not BackchannelLogout.objects.exists()
    assert citizen_session_ended(user=staff, reason=SessionEnd.SIGNED_OUT) == []


def test_signing_out_another_device_tells_the_connected_parties(flow, connected, citizen):
    bank, _agency = connected
    other = other_session(citizen)
    answer = flow.browser.post(f"/en/account/security/sessions/{other.pk}/sign-out/")
    assert answer["Location"] == "/en/account/security/"
    assert told() == [(bank.pk, pairwise_subject(citizen, bank))]
    assert "_auth_user_id" in flow.browser.session  # this browser stays signed in


def test_an_unknown_session_tells_no_one(flow, connected, citizen):
    stranger = other_session(make_account())
    assert flow.browser.post(f"/en/account/security/sessions/{stranger.pk}/sign-out/").status_code == 404
    assert not BackchannelLogout.objects.exists()


def test_signing_out_everywhere_else_tells_the_connected_parties(flow, connected, citizen):
    bank, _agency = connected
    other_session(citizen)
    other_session(citizen)
    answer = flow.browser.post("/en/account/security/sessions/sign-out-others/")
    assert answer["Location"] == "/en/account/security/"
    # Once, however many sessions ended: the token names the citizen, not a session.
    assert told() == [(bank.pk, pairwise_subject(citizen, bank))]


def test_signing_out_everywhere_else_with_no_other_device_tells_no_one(flow, connected, citizen):
    flow.browser.post("/en/account/security/sessions/sign-out-others/")
    assert not BackchannelLogout.objects.exists()


def test_this_was_not_me_tells_the_connected_parties(flow, connected, citizen):
    bank, _agency = connected
    event = SecurityEvent.objects.filter(user=citizen, kind=SecurityEvent.Kind.PARTY_SIGN_IN).first()
    assert event is not None
    answer = flow.browser.post(f"/en/account/security/activity/{event.pk}/not-me/")
    assert answer["Location"] == "/en/account/security/reported/"
    assert told() == [(bank.pk, pairwise_subject(citizen, bank))]


def test_a_password_reset_elsewhere_tells_the_connected_parties(flow, connected, citizen):
    bank, _agency = connected
    person = citizen.person
    assert person is not None
    born = person.date_of_birth
    elsewhere = Client()
    dates = {"dob_day": str(born.day), "dob_month": str(born.month), "dob_year": str(born.year)}
    data = {"id_number": person.id_number, "dob_calendar": "gregorian", **dates}
    assert elsewhere.post("/en/password-reset/", data)["Location"] == "/en/password-reset/code/"
    elsewhere.post("/en/password-reset/code/", {"code": last_code(person.mobile)})
    answer = elsewhere.post("/en/password-reset/new/", {"password": "a brand new passphrase"})
    assert answer["Location"] == "/en/password-reset/done/"
    assert told() == [(bank.pk, pairwise_subject(citizen, bank))]
    assert not UserSession.objects.filter(user=citizen).exists()


def test_rp_initiated_logout_forgets_the_recorded_session(flow, connected, citizen):
    bank, _agency = connected
    bank.application.post_logout_redirect_uris = "https://bank.example/signed-out"
    bank.application.save()
    id_token = flow.tokens(flow.code_redirect())["id_token"]
    page = flow.get(f"{ISSUER}/oidc/logout/?id_token_hint={id_token}")
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    flow.browser.post(
        "/oidc/logout/?" + page.request["QUERY_STRING"], {**data, "allow": "Logout"}, headers={"host": HOST}
    )
    assert told() == [(bank.pk, pairwise_subject(citizen, bank))]
    assert not UserSession.objects.filter(user=citizen).exists()


def test_a_password_change_tells_the_connected_parties(flow, connected, citizen):
    bank, _agency = connected
    other_session(citizen)
    mobile = citizen.person.mobile
    challenge = services.reauthentication_start(
        user=citizen, password=PASSWORD, ip="192.0.2.1", user_agent="Firefox/130"
    ).challenge
    services.sign_in_send_sms_code(challenge=challenge, ip="192.0.2.1")
    services.reauthentication_verify(
        user=citizen, challenge=challenge, code=last_code(mobile), method="sms", ip="192.0.2.1", user_agent=""
    )
    keep = flow.browser.session.session_key
    services.password_change(
        user=citizen,
        challenge=challenge,
        new_password="a brand new passphrase",
        ip="192.0.2.1",
        user_agent="",
        keep_session_key=keep,
    )
    assert told() == [(bank.pk, pairwise_subject(citizen, bank))]
    assert list(UserSession.objects.filter(user=citizen).values_list("session_key", flat=True)) == [keep]


def test_a_new_mobile_at_the_counter_tells_the_connected_parties(flow, connected, citizen):
    bank, _agency = connected
    office = make_office()
    staff = make_staff(role=StaffRole.OFFICER, office=office)
    person = enrolled(citizen.person, office)
    counter_mobile_rebind(
        staff=staff, person_id=person.pk, new_mobile=next_mobile(), fingerprints=finger(person.pk)
    )
    assert told() == [(bank.pk, pairwise_subject(citizen, bank))]
    assert not UserSession.objects.filter(user=citizen).exists()


def test_a_party_asking_for_a_fresh_sign_in_forgets_the_session_and_tells_no_one(flow, connected, citizen):
    """prompt=login signs the citizen in again: the old session leaves the security page, and no
    party is told (a party could otherwise sign a citizen out of every other party)."""
    answer = flow.get(flow.authorize_url(prompt="login"))
    assert answer.status_code == 302
    assert "/sign-in/" in answer["Location"]
    assert "_auth_user_id" not in flow.browser.session
    assert not UserSession.objects.filter(user=citizen).exists()
    assert told() == []


def test_the_minute_jobs_sweep_overdue_logouts_to_a_worker(flow, party):
    flow.tokens(flow.code_redirect())
    with_backchannel(party, "https://bank.example/bc")
    flow.browser.post(reverse("portal:sign-out"))
    row = BackchannelLogout.objects.get()
    DBTaskResult.objects.all().delete()  # as if the process died between commit and enqueue
    BackchannelLogout.objects.filter(pk=row.pk).update(next_attempt_at=clock.now() - dt.timedelta(minutes=5))
    call_command("run_periodic", verbosity=0)
    assert [
        task.args_kwargs["args"] for task in DBTaskResult.objects.all() if "backchannel" in task.task_path
    ] == [[row.pk]]
