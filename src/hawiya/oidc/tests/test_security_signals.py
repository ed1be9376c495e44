"""Security signals (OpenID Shared Signals Framework): a party with a signals stream is pushed, over
real HTTP (RFC 8935), a Security Event Token (RFC 8417) signed with Hawiya's keys when a citizen
connected to it loses a document, gets it replaced, changes their password, has their sessions
ended or their sign-in locked; a party that is down gets it later, once, with the same jti."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django_tasks_db.models import DBTaskResult
from joserfc import jwt
from joserfc.jwk import KeySet

from hawiya.audit.actors import Actor
from hawiya.audit.models import AuditEvent
from hawiya.casework.tests.factories import (
    advance,
    collection_case,
    officer,
    pin_back_office_clock,
)
from hawiya.core import clock
from hawiya.core.errors import ApplicationError
from hawiya.core.fakepartner import FakePartner, Reply, refused_port
from hawiya.core.outbound import close_clients
from hawiya.core.testing import pin_clock, race
from hawiya.identity import errors, services
from hawiya.identity.models import Consent, RelyingParty, SecurityEvent, SecurityEventDelivery, User
from hawiya.identity.oidc_claims import pairwise_subject
from hawiya.identity.security_signals import (
    ACCOUNT_DISABLED,
    CREDENTIAL_CHANGE,
    DOCUMENT_REPLACED,
    DOCUMENT_REPORTED_LOST,
    EVENT_TYPES,
    MEDIA_TYPE,
    POLICY,
    PUSH,
    SESSION_REVOKED,
    security_event_deliver,
    security_event_emit,
)
from hawiya.identity.services import relying_parties
from hawiya.identity.services.relying_parties import connection_revoke
from hawiya.identity.staff import StaffForbidden
from hawiya.identity.tests.factories import PASSWORD, activate, last_code
from hawiya.identity.throttles import FAILURE_LIMIT
from hawiya.losses.tests.factories import make_id_card, make_report, make_reporter
from hawiya.oidc.tests.conftest import ISSUER, Flow, make_party

State = SecurityEventDelivery.State
ADMIN = Actor.system("test.signals")
EVERYTHING = list(EVENT_TYPES)


@pytest.fixture(autouse=True)
def fresh_clients() -> Any:
    yield
    close_clients()


def stream(party: RelyingParty, endpoint: str, events: list[str] | None = None) -> RelyingParty:
    return relying_parties.party_set_signal_stream(
        actor=ADMIN, party_id=party.pk, endpoint=endpoint, events=EVERYTHING if events is None else events
    )


def connect(user: User, party: RelyingParty) -> Consent:
    return Consent.objects.create(user=user, party=party, scopes=["openid"])


def owed() -> list[tuple[int, str, str]]:
    """Every event owed: to which party, of which type, about which subject."""
    return list(SecurityEventDelivery.objects.order_by("pk").values_list("party_id", "event_type", "subject"))


def deliver_all() -> list[str]:
    pks = SecurityEventDelivery.objects.order_by("pk").values_list("pk", flat=True)
    return [security_event_deliver.call(pk) for pk in pks]


def token_of(received: Any) -> str:
    assert received.headers["Content-Type"] == MEDIA_TYPE
    assert received.headers["Accept"] == "application/json"
    assert isinstance(received.payload, bytes)
    return received.payload.decode("ascii")


def verified(flow: Flow, token: str, algorithm: str = "RS256") -> dict[str, Any]:
    """The SET's claims, its signature checked against the published JWKS by another library."""
    keys = KeySet.import_key_set(flow.session.get(f"{ISSUER}/oidc/jwks/", withhold_token=True).json())
    decoded = jwt.decode(token, keys, algorithms=[algorithm])
    assert decoded.header["typ"] == "secevent+jwt"
    assert decoded.header["alg"] == algorithm
    assert decoded.header["kid"]
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER},
        iat={"essential": True},
        jti={"essential": True},
    ).validate(decoded.claims)
    assert "exp" not in decoded.claims
    assert "sub" not in decoded.claims  # the subject is sub_id (SSF), never the account id
    return decoded.claims


ACCEPTED = Reply(status=202, body=b"")


def test_the_transmitter_metadata_names_the_issuer_its_keys_and_push_delivery(flow):
    answer = flow.session.get(f"{ISSUER}/.well-known/ssf-configuration", withhold_token=True)
    assert answer.status_code == 200
    document = answer.json()
    assert document["spec_version"] == "1_0"
    assert document["issuer"] == ISSUER
    assert document["delivery_methods_supported"] == ["urn:ietf:rfc:8935"]
    keys = flow.session.get(document["jwks_uri"], withhold_token=True).json()
    assert {key["alg"] for key in keys["keys"]} >= {"RS256", "ES256"}


# --- The stream: set by administrators, audited -------------------------------------------------


def test_a_stream_is_set_validated_and_audited(party):
    stream(party, "https://bank.example/events", [SESSION_REVOKED, DOCUMENT_REPORTED_LOST])
    party.refresh_from_db()
    assert party.signals_endpoint == "https://bank.example/events"
    # Kept in one order whatever the order given.
    assert party.signals_events == [DOCUMENT_REPORTED_LOST, SESSION_REVOKED]
    audit = AuditEvent.objects.get(action="relying_party.updated")
    assert audit.detail["fields"] == ["signals_endpoint", "signals_events"]
    assert audit.detail["signals_endpoint"] == "https://bank.example/events"
    stream(party, "http://127.0.0.1:9000/events")  # plain http only on this machine
    for endpoint, events, code in (
        ("http://bank.example/events", [SESSION_REVOKED], errors.PARTY_SIGNALS_ENDPOINT_INVALID),
        ("https://bank.example/events", [], errors.PARTY_SIGNALS_ENDPOINT_INVALID),
        ("https://bank.example/events#x", [SESSION_REVOKED], errors.PARTY_SIGNALS_ENDPOINT_INVALID),
        ("", [SESSION_REVOKED], errors.PARTY_SIGNALS_EVENTS_INVALID),
        ("https://bank.example/events", ["https://evil.example/event"], errors.PARTY_SIGNALS_EVENTS_INVALID),
    ):
        with pytest.raises(ApplicationError) as caught:
            stream(party, endpoint, events)
        assert caught.value.code == code, endpoint
    stream(party, "", [])
    party.refresh_from_db()
    assert (party.signals_endpoint, party.signals_events) == ("", [])
    assert AuditEvent.objects.filter(action="relying_party.updated").count() == 3


def test_only_a_manager_sets_a_stream(party, citizen):
    with pytest.raises(StaffForbidden):
        relying_parties.party_set_signal_stream(
            actor=Actor.citizen(citizen.pk),
            party_id=party.pk,
            endpoint="https://x.example/e",
            events=EVERYTHING,
        )


# --- Whom: subscribed parties of connected citizens, by their pairwise sub ------------------------


def test_only_subscribed_parties_the_citizen_is_connected_to_are_told(party, citizen):
    stream(party, "https://bank.example/events", [SESSION_REVOKED])
    agency = stream(make_party("agency"), "https://agency.example/events", [CREDENTIAL_CHANGE])
    stranger = stream(make_party("stranger"), "https://stranger.example/events")  # never connected
    quiet = make_party("quiet")  # connected, no stream
    for connected in (party, agency, quiet):
        connect(citizen, connected)
    assert security_event_emit(citizen, SESSION_REVOKED)
    assert security_event_emit(citizen, CREDENTIAL_CHANGE, {"credential_type": "password"})
    assert security_event_emit(citizen, ACCOUNT_DISABLED) == []  # nobody asked for it
    assert owed() == [
        (party.pk, SESSION_REVOKED, pairwise_subject(citizen, party)),
        (agency.pk, CREDENTIAL_CHANGE, pairwise_subject(citizen, agency)),
    ]
    assert pairwise_subject(citizen, party) != pairwise_subject(citizen, agency)
    assert stranger.pk not in SecurityEventDelivery.objects.values_list("party_id", flat=True)


def test_a_revoked_consent_or_a_suspended_party_gets_nothing(party, citizen):
    stream(party, "https://bank.example/events")
    connect(citizen, party)
    connection_revoke(actor=Actor.citizen(citizen.pk), user=citizen, party_id=party.pk)
    security_event_emit(citizen, SESSION_REVOKED)
    assert owed() == []
    connect(citizen, party)
    relying_parties.party_suspend(actor=ADMIN, party_id=party.pk)
    security_event_emit(citizen, SESSION_REVOKED)
    assert owed() == []


def test_an_unknown_event_type_is_a_programming_error(citizen):
    with pytest.raises(ValueError, match="not a security event type"):
        security_event_emit(citizen, "https://example.com/other")


def test_events_are_handed_to_the_worker_only_after_commit(
    party, citizen, django_capture_on_commit_callbacks
):
    stream(party, "https://bank.example/events")
    connect(citizen, party)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        (pk,) = security_event_emit(citizen, SESSION_REVOKED)
        assert not DBTaskResult.objects.exists()
    assert len(callbacks) == 1
    (task,) = DBTaskResult.objects.all()
    assert task.task_path.endswith("security_event_deliver")
    assert task.args_kwargs["args"] == [pk]


# --- Each event from its service ----------------------------------------------------------------


def test_signing_out_pushes_a_signed_session_revoked_set(flow, party, citizen):
    flow.tokens(flow.code_redirect())  # the citizen signs in to the bank: a consent
    with FakePartner() as bank:
        bank.answer(ACCEPTED)
        stream(party, f"{bank.url}/events")
        assert flow.browser.post(reverse("portal:sign-out")).status_code == 302
        assert deliver_all() == ["sent"]
    (received,) = bank.received
    assert received.path == "/events"
    claims = verified(flow, token_of(received))
    row = SecurityEventDelivery.objects.get()
    assert claims["aud"] == "bank"
    assert claims["jti"] == row.jti
    assert claims["iat"] == int(row.created_at.timestamp())
    assert claims["sub_id"] == {"format": "iss_sub", "iss": ISSUER, "sub": pairwise_subject(citizen, party)}
    assert list(claims["events"]) == [SESSION_REVOKED]
    event = claims["events"][SESSION_REVOKED]
    assert event["initiating_entity"] == "user"
    assert abs(event["event_timestamp"] - clock.now().timestamp()) < 60
    sent = AuditEvent.objects.get(action="oidc.security_event_sent")
    assert sent.actor == "system:oidc.security_signals"
    assert sent.detail["jti"] == row.jti


def test_an_es256_party_gets_an_es256_set(flow, party, citizen):
    relying_parties.party_set_id_token_alg(actor=ADMIN, party_id=party.pk, algorithm="ES256")
    connect(citizen, party)
    with FakePartner() as bank:
        bank.answer(ACCEPTED)
        stream(party, f"{bank.url}/events")
        security_event_emit(
            citizen, CREDENTIAL_CHANGE, {"credential_type": "password", "change_type": "update"}
        )
        assert deliver_all() == ["sent"]
    claims = verified(flow, token_of(bank.received[0]), "ES256")
    assert claims["events"][CREDENTIAL_CHANGE]["credential_type"] == "password"


def reauthenticated(user: User) -> str:
    assert user.person is not None
    challenge = services.reauthentication_start(
        user=user, password=PASSWORD, ip="192.0.2.1", user_agent="Firefox/130"
    ).challenge
    services.sign_in_send_sms_code(challenge=challenge, ip="192.0.2.1")
    services.reauthentication_verify(
        user=user,
        challenge=challenge,
        code=last_code(user.person.mobile),
        method="sms",
        ip="192.0.2.1",
        user_agent="",
    )
    return challenge


def test_a_password_change_emits_credential_change(party, citizen):
    stream(party, "https://bank.example/events", [CREDENTIAL_CHANGE])
    connect(citizen, party)
    services.password_change(
        user=citizen,
        challenge=reauthenticated(citizen),
        new_password="a brand new passphrase",
        ip="192.0.2.1",
        user_agent="",
        keep_session_key=None,
    )
    row = SecurityEventDelivery.objects.get()
    assert (row.event_type, row.subject) == (CREDENTIAL_CHANGE, pairwise_subject(citizen, party))
    assert row.event["credential_type"] == "password"
    assert row.event["change_type"] == "update"
    assert row.event["initiating_entity"] == "user"


def test_a_password_change_refused_emits_nothing(party, citizen):
    stream(party, "https://bank.example/events")
    connect(citizen, party)
    with pytest.raises(ApplicationError) as caught:
        services.password_change(
            user=citizen,
            challenge="nope",
            new_password="a brand new passphrase",
            ip="",
            user_agent="",
            keep_session_key=None,
        )
    assert caught.value.code == errors.REAUTHENTICATION_REQUIRED
    assert owed() == []


def test_a_password_reset_emits_credential_change_and_session_revoked(party, citizen):
    stream(party, "https://bank.example/events", [CREDENTIAL_CHANGE, SESSION_REVOKED])
    connect(citizen, party)
    services.user_session_record(user=citizen, session_key="k" * 32, ip="192.0.2.1", user_agent="")
    person = citizen.person
    start = services.password_reset_start(
        id_number=person.id_number, date_of_birth=person.date_of_birth, ip="192.0.2.1"
    )
    services.password_reset_verify(challenge=start.challenge, code=last_code(person.mobile), ip="192.0.2.1")
    services.password_reset_complete(
        challenge=start.challenge, password="a brand new passphrase", ip="192.0.2.1"
    )
    assert sorted(event for _p, event, _s in owed()) == sorted([CREDENTIAL_CHANGE, SESSION_REVOKED])


def test_the_idle_timeout_emits_session_revoked_by_policy(flow, party, citizen, monkeypatch):
    flow.tokens(flow.code_redirect())
    stream(party, "https://bank.example/events", [SESSION_REVOKED])
    key = flow.browser.session.session_key
    assert key
    services.user_session_record(user=citizen, session_key=key, ip="192.0.2.1", user_agent="Firefox/130")
    pinned = pin_clock(monkeypatch, clock.now())
    flow.browser.get("/en/account/")
    pinned.advance(minutes=16)
    flow.browser.get("/en/account/")
    row = SecurityEventDelivery.objects.get()
    assert row.event_type == SESSION_REVOKED
    assert row.event["initiating_entity"] == "policy"


def test_the_lock_after_failed_sign_ins_emits_account_disabled(party, citizen):
    stream(party, "https://bank.example/events", [ACCOUNT_DISABLED])
    connect(citizen, party)
    for attempt in range(FAILURE_LIMIT + 2):
        with pytest.raises(ApplicationError):  # invalid_credentials, then account_locked
            services.sign_in_start(
                login=citizen.username, password="wrong password", ip=f"198.51.100.{attempt}", user_agent=""
            )
    assert SecurityEvent.objects.filter(user=citizen, kind=SecurityEvent.Kind.ACCOUNT_LOCKED).count() == 1
    row = SecurityEventDelivery.objects.get()  # once, when it locked
    assert (row.event_type, row.subject) == (ACCOUNT_DISABLED, pairwise_subject(citizen, party))
    assert "reason" not in row.event


def test_this_was_not_me_emits_account_disabled_for_hijacking(party, citizen):
    stream(party, "https://bank.example/events", [ACCOUNT_DISABLED])
    connect(citizen, party)
    event = SecurityEvent.objects.create(user=citizen, kind=SecurityEvent.Kind.SIGN_IN, ip="192.0.2.9")
    services.security_event_report(user=citizen, event_id=event.pk)
    services.security_event_report(user=citizen, event_id=event.pk)  # again: already blocked
    row = SecurityEventDelivery.objects.get()
    assert row.event["reason"] == "hijacking"


def test_a_loss_report_emits_document_reported_lost_without_the_serial(party, citizen):
    stream(party, "https://bank.example/events", [DOCUMENT_REPORTED_LOST])
    connect(citizen, party)
    person = citizen.person
    card = make_id_card(person)
    make_report(person, [card])
    row = SecurityEventDelivery.objects.get()
    assert (row.event_type, row.subject) == (DOCUMENT_REPORTED_LOST, pairwise_subject(citizen, party))
    assert row.event["document_kind"] == "national_id_card"
    assert card.serial_number not in json.dumps(row.event)


def test_a_loss_report_of_a_person_without_an_account_emits_nothing(party, citizen):
    stream(party, "https://bank.example/events")
    reporter = make_reporter()
    make_report(reporter, [make_id_card(reporter)])
    assert owed() == []


def test_a_replacement_issued_emits_document_replaced(party, monkeypatch, settings):
    pinned = pin_back_office_clock(monkeypatch, settings)
    case = collection_case(pinned)
    holder = case.replacement.document.holder
    user = activate(holder)
    stream(party, "https://bank.example/events", [DOCUMENT_REPLACED, DOCUMENT_REPORTED_LOST])
    connect(user, party)
    assert owed() == []  # the loss was reported before the holder used the bank
    advance(case, officer(case.office), to="approved")
    row = SecurityEventDelivery.objects.get()
    assert (row.event_type, row.subject) == (DOCUMENT_REPLACED, pairwise_subject(user, party))
    assert row.event["document_kind"] == case.replacement.document.kind


# --- Delivery: retries, refusals, none lost, none twice -----------------------------------------


def test_a_party_answering_500s_is_retried_then_gets_the_same_set_once(flow, party, citizen):
    connect(citizen, party)
    with FakePartner() as bank:
        bank.answer(Reply(status=500), Reply(status=503), ACCEPTED)
        stream(party, f"{bank.url}/events")
        (pk,) = security_event_emit(citizen, SESSION_REVOKED)
        states = []
        for _ in range(3):
            states.append(security_event_deliver.call(pk))
            SecurityEventDelivery.objects.filter(pk=pk, state=State.PENDING).update(
                next_attempt_at=clock.now()
            )
        assert security_event_deliver.call(pk) == "skipped"  # delivered: nothing more is sent
    assert states == ["pending", "pending", "sent"]
    assert len(bank.received) == 3
    tokens = [token_of(r) for r in bank.received]
    assert len(set(tokens)) == 1  # the same token each time
    assert verified(flow, tokens[0])["jti"] == SecurityEventDelivery.objects.get().jti
    row = SecurityEventDelivery.objects.get()
    assert (row.state, row.attempts) == (State.SENT, 3)
    assert AuditEvent.objects.filter(action="oidc.security_event_sent").count() == 1


def test_a_party_that_stays_down_is_backed_off_then_given_up(party, citizen):
    connect(citizen, party)
    stream(party, f"http://127.0.0.1:{refused_port()}/events")
    (pk,) = security_event_emit(citizen, SESSION_REVOKED)
    waits = []
    for _ in range(POLICY.max_attempts):
        before = clock.now()
        security_event_deliver.call(pk)
        row = SecurityEventDelivery.objects.get(pk=pk)
        if row.state == State.PENDING:
            assert row.next_attempt_at is not None
            waits.append(row.next_attempt_at - before)
            SecurityEventDelivery.objects.filter(pk=pk).update(next_attempt_at=clock.now())
    assert (row.state, row.attempts, row.last_error_code) == (
        State.FAILED,
        POLICY.max_attempts,
        "unreachable",
    )
    assert len(waits) == POLICY.max_attempts - 1
    assert all(later > earlier * 2 for earlier, later in itertools.pairwise(waits))
    given_up = AuditEvent.objects.get(action="oidc.security_event_given_up")
    assert given_up.detail["refused"] is False


def test_a_4xx_refusal_with_an_error_body_is_given_up_at_once_and_audited(party, citizen):
    connect(citizen, party)
    with FakePartner() as bank:
        bank.answer(Reply.json({"err": "invalid_audience", "description": "not for us"}, status=400))
        stream(party, f"{bank.url}/events")
        assert security_event_emit(citizen, SESSION_REVOKED)
        assert deliver_all() == ["failed"]
        assert len(bank.received) == 1
    row = SecurityEventDelivery.objects.get()
    assert row.last_error_code == "party_refused_400_invalid_audience"
    given_up = AuditEvent.objects.get(action="oidc.security_event_given_up")
    assert given_up.detail["refused"] is True
    assert given_up.detail["reason"] == "party_refused_400_invalid_audience"


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_is_requeued_and_delivers_once_with_the_same_jti(
    party, citizen, monkeypatch, flow
):
    connect(citizen, party)
    with FakePartner() as bank:
        stream(party, f"{bank.url}/events")
        (pk,) = security_event_emit(citizen, SESSION_REVOKED)
        jti = SecurityEventDelivery.objects.get(pk=pk).jti
        DBTaskResult.objects.all().delete()
        # A worker claims the row, then its process dies before the party is called.
        assert PUSH.outbox.claim(pk) is not None
        pinned = pin_clock(monkeypatch, clock.now())
        # Another run of the task while the lease holds does nothing.
        assert security_event_deliver.call(pk) == "skipped"
        call_command("oidc_security_events_requeue", verbosity=0)
        assert not DBTaskResult.objects.exists()  # the lease is not over yet
        pinned.advance(minutes=4)  # lease (1 minute) and the sweep's grace (2 minutes) over
        call_command("oidc_security_events_requeue", verbosity=0)
        (task,) = DBTaskResult.objects.all()
        assert task.args_kwargs["args"] == [pk]
        bank.answer(ACCEPTED)
        assert security_event_deliver.call(pk) == "sent"
        assert security_event_deliver.call(pk) == "skipped"
        call_command("oidc_security_events_requeue", verbosity=0)
        assert DBTaskResult.objects.count() == 1  # a delivered row is never handed over again
    (received,) = bank.received
    assert verified(flow, token_of(received))["jti"] == jti
    row = SecurityEventDelivery.objects.get(pk=pk)
    assert (row.state, row.attempts) == (State.SENT, 2)


@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_one_row_post_it_once(party, citizen):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; racing workers need PostgreSQL")
    connect(citizen, party)
    with FakePartner() as bank:
        bank.answer(Reply(status=202, body=b"", delay=0.5))  # a slow party: the others run meanwhile
        stream(party, f"{bank.url}/events")
        (pk,) = security_event_emit(citizen, SESSION_REVOKED)
        results = race([lambda: security_event_deliver.call(pk)] * 6)
    assert sorted(str(result) for result in results) == ["sent"] + ["skipped"] * 5
    assert len(bank.received) == 1
    row = SecurityEventDelivery.objects.get(pk=pk)
    assert (row.state, row.attempts) == (State.SENT, 1)
    assert AuditEvent.objects.filter(action="oidc.security_event_sent").count() == 1


def test_operators_see_the_deliveries_in_the_admin_read_only(party, citizen, admin_client):
    stream(party, "https://bank.example/events")
    connect(citizen, party)
    (pk,) = security_event_emit(citizen, SESSION_REVOKED)
    jti = SecurityEventDelivery.objects.get(pk=pk).jti
    listing = admin_client.get("/en/admin/identity/securityeventdelivery/?q=" + jti)
    assert listing.status_code == 200
    assert SESSION_REVOKED in listing.content.decode()
    assert admin_client.get(f"/en/admin/identity/securityeventdelivery/{pk}/delete/").status_code == 403


def test_the_periodic_jobs_sweep_stalled_security_events(party, citizen):
    connect(citizen, party)
    stream(party, "https://bank.example/events")
    (pk,) = security_event_emit(citizen, SESSION_REVOKED)
    DBTaskResult.objects.all().delete()  # as if the process died between commit and enqueue
    SecurityEventDelivery.objects.filter(pk=pk).update(next_attempt_at=clock.now() - dt.timedelta(minutes=5))
    call_command("run_periodic", verbosity=0)
    (task,) = DBTaskResult.objects.filter(task_path__endswith="security_event_deliver")
    assert task.args_kwargs["args"] == [pk]
