"""Password hashing: Argon2id at OWASP's parameters (or an operator's stronger ones), older hashes
upgraded at the next sign-in, and at most N hashes at once per process — the next one waits, then
gets "try again in a moment" (503 with Retry-After), never a 500."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, make_password
from django.core.cache import cache

from hawiya.identity import services
from hawiya.identity.hashers import Argon2idHasher, PasswordHashingBusy, argon2_parameters_check, hashing_slot
from hawiya.identity.tests.factories import IP, PASSWORD, UA, make_account

HASHERS = [
    "hawiya.identity.hashers.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


@pytest.fixture(autouse=True)
def _argon2(settings: Any) -> None:
    settings.PASSWORD_HASHERS = HASHERS
    settings.HAWIYA_PASSWORD_HASH_CONCURRENCY = 1
    settings.HAWIYA_PASSWORD_HASH_WAIT_SECONDS = 0.05
    cache.clear()


def _parameters(encoded: str) -> str:
    return encoded.split("$")[3]


def test_a_new_hash_is_argon2id_at_owasp_parameters() -> None:
    encoded = make_password("a long passphrase")
    assert encoded.startswith("argon2$argon2id$v=19$")
    assert _parameters(encoded) == "m=19456,t=2,p=1"
    assert check_password("a long passphrase", encoded)
    assert not check_password("another passphrase", encoded)


def test_an_operator_may_set_stronger_parameters(settings: Any) -> None:
    settings.HAWIYA_ARGON2_MEMORY_KIB = 32768
    settings.HAWIYA_ARGON2_TIME_COST = 3
    assert _parameters(make_password("a long passphrase")) == "m=32768,t=3,p=1"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HAWIYA_ARGON2_MEMORY_KIB", 8192),
        ("HAWIYA_ARGON2_TIME_COST", 1),
        ("HAWIYA_ARGON2_PARALLELISM", 0),
        ("HAWIYA_PASSWORD_HASH_CONCURRENCY", 0),
        ("HAWIYA_ARGON2_MEMORY_KIB", "lots"),
        ("HAWIYA_PASSWORD_HASH_NICE", -1),
        ("HAWIYA_PASSWORD_HASH_NICE", 20),
        ("HAWIYA_PASSWORD_HASH_NICE", "low"),
        ("HAWIYA_PASSWORD_HASH_QUEUE", -1),
        ("HAWIYA_PASSWORD_HASH_QUEUE", 3),  # 1 slot (the fixture) + 3 waiting = the 4 threads
    ],
)
def test_weaker_parameters_are_refused_by_the_system_check(settings: Any, name: str, value: object) -> None:
    assert argon2_parameters_check() == []
    setattr(settings, name, value)
    (error,) = argon2_parameters_check()
    assert error.id == "hawiya.E101"
    assert name in error.msg


@pytest.mark.django_db
def test_a_hash_made_with_djangos_parameters_still_verifies_and_is_upgraded_at_sign_in() -> None:
    user = make_account()
    # As an account activated before this change: Django's own Argon2 (100 MiB, 8 lanes).
    user.password = Argon2PasswordHasher().encode(PASSWORD, "oldsaltoldsalt12")
    user.save(update_fields=["password"])
    assert _parameters(user.password) == "m=102400,t=2,p=8"

    services.sign_in_start(login=user.username, password=PASSWORD, ip=IP, user_agent=UA)

    user.refresh_from_db()
    assert _parameters(user.password) == "m=19456,t=2,p=1"
    assert user.check_password(PASSWORD)


def test_with_every_slot_taken_a_hash_waits_then_is_refused_and_runs_once_a_slot_is_free() -> None:
    results: list[object] = []

    def hash_in_another_request() -> None:
        try:
            results.append(make_password("a long passphrase"))
        except PasswordHashingBusy as busy:
            results.append(busy)

    with hashing_slot():  # the process's one slot, held by another request
        other = threading.Thread(target=hash_in_another_request)
        other.start()
        other.join()
    (busy,) = results
    assert isinstance(busy, PasswordHashingBusy)
    assert busy.status_code == 503
    assert busy.headers == {"Retry-After": "2"}

    results.clear()
    hash_in_another_request()
    assert isinstance(results[0], str)


def test_a_slot_is_given_back_when_the_hash_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object, password: str, encoded: str) -> bool:
        raise RuntimeError("argon2 failed")

    monkeypatch.setattr(Argon2PasswordHasher, "verify", broken)
    with pytest.raises(RuntimeError, match="argon2 failed"):
        Argon2idHasher().verify("x", make_password("y"))
    # With one slot and a 50 ms wait, a slot kept by the failed hash would make this one busy.
    assert make_password("the slot is free again").startswith("argon2$")


def _where_hashes_run(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Each Argon2 verify's (native thread id, that thread's nice), recorded as it runs."""
    seen: list[tuple[int, int]] = []
    real_verify = Argon2PasswordHasher.verify

    def recording(self: Argon2PasswordHasher, password: str, encoded: str) -> bool:
        thread = threading.get_native_id()
        seen.append((thread, os.getpriority(os.PRIO_PROCESS, thread)))
        return bool(real_verify(self, password, encoded))

    monkeypatch.setattr(Argon2PasswordHasher, "verify", recording)
    return seen


def test_a_hash_runs_on_a_hashing_thread_at_the_lower_priority_and_gives_back_its_answer(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.HAWIYA_PASSWORD_HASH_NICE = 7
    seen = _where_hashes_run(monkeypatch)
    encoded = make_password("a long passphrase")
    assert check_password("a long passphrase", encoded)
    assert not check_password("another passphrase", encoded)
    assert len(seen) == 2
    for thread, nice in seen:
        assert thread != threading.get_native_id()
        assert nice == min(19, os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) + 7)
    # The request's own thread keeps its priority.
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < seen[0][1]


def test_with_nice_0_a_hash_runs_in_the_requests_own_thread(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.HAWIYA_PASSWORD_HASH_NICE = 0
    seen = _where_hashes_run(monkeypatch)
    assert check_password("a long passphrase", make_password("a long passphrase"))
    assert seen == [(threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))]


def test_past_the_queue_a_hash_is_refused_at_once_while_the_waiting_one_gets_the_slot(settings: Any) -> None:
    from hawiya.identity import hashers

    settings.HAWIYA_PASSWORD_HASH_QUEUE = 1
    settings.HAWIYA_PASSWORD_HASH_WAIT_SECONDS = 30  # the waiting request would wait that long
    results: list[object] = []

    def hash_in_another_request() -> None:
        results.append(make_password("a long passphrase"))

    with hashing_slot():  # the one slot, held by a request hashing
        waiting = threading.Thread(target=hash_in_another_request)
        waiting.start()
        for _ in range(2000):  # bounded: the thread is queued within milliseconds
            if hashers._waiting == 1:
                break
            threading.Event().wait(0.005)
        assert hashers._waiting == 1
        # The queue is full: this request is refused without waiting for the slot.
        with pytest.raises(PasswordHashingBusy):
            make_password("a long passphrase")
    waiting.join()
    assert isinstance(results[0], str)
    assert hashers._waiting == 0
