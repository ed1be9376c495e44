"""Password hashing sized for a nation: Argon2id at OWASP's parameters, and at most a few hashes at
once in each web process.

Django's own Argon2 parameters (100 MiB, 2 passes, 8 lanes) cost about 0.15-0.25 s of CPU and
100 MiB of memory per sign-in: a hundred sign-ins at once need 10 GB, and a flood of wrong
passwords starves every other page. OWASP's Password Storage Cheat Sheet gives Argon2id with
19 MiB, 2 passes and 1 lane as its first choice (about 26 ms here); an operator may set stronger
ones (HAWIYA_ARGON2_MEMORY_KIB, HAWIYA_ARGON2_TIME_COST, HAWIYA_ARGON2_PARALLELISM), never weaker
(a system check refuses them). The algorithm name stays Django's "argon2": every existing hash
still verifies, and one made with other parameters is re-made at the holder's next sign-in
(Django's `must_update`).

Each process lets at most HAWIYA_PASSWORD_HASH_CONCURRENCY hashes run at once and at most
HAWIYA_PASSWORD_HASH_QUEUE requests wait for one; a request that finds the queue full, or
cannot start a hash within HAWIYA_PASSWORD_HASH_WAIT_SECONDS, gets a "try again in a moment" answer
(503 with Retry-After: `PasswordHashingBusy`, answered by portal.middleware.ServiceBusyMiddleware),
so memory stays bounded and the other pages keep their threads.

The hashes themselves run on that many threads of the process kept at a lower CPU priority
(HAWIYA_PASSWORD_HASH_NICE, Linux's per-thread nice), not on the request's thread: Argon2 runs in C
without holding Python's lock, so when a flood of wrong passwords meets the other pages on the same
cores, the kernel gives the pages the CPU first and the hashes what is left; with nothing else to
do, the hashes still get every core. The request's thread waits for its hash, and a thread cannot
raise its own priority again without privileges, hence threads of their own.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.core.checks import CheckMessage, Error, register
from django.utils.translation import gettext_lazy as _

from hawiya.core.errors import ServiceBusy

# OWASP's first choice (Password Storage Cheat Sheet): the floor an operator may raise.
OWASP_MEMORY_KIB = 19_456
OWASP_TIME_COST = 2
OWASP_PARALLELISM = 1
RETRY_AFTER_SECONDS = 2

logger = logging.getLogger(__name__)
T = TypeVar("T")

_slots_lock = threading.Lock()
_slots: tuple[int, threading.BoundedSemaphore] | None = None
_waiting = 0  # requests of this process waiting for a slot (guarded by _slots_lock)
# (process id, threads, nice) -> the executor: made again after a fork (gunicorn's workers) or when
# the settings change (tests change them).
_hashing_threads: tuple[tuple[int, int, int], ThreadPoolExecutor] | None = None


class PasswordHashingBusy(ServiceBusy):
    """Every hashing slot of this process stayed taken for the whole wait."""


def _semaphore() -> threading.BoundedSemaphore:
    """This process's slots, made again if the setting changed (tests change it)."""
    global _slots
    size = max(1, int(settings.HAWIYA_PASSWORD_HASH_CONCURRENCY))
    with _slots_lock:
        if _slots is None or _slots[0] != size:
            _slots = (size, threading.BoundedSemaphore(size))
        return _slots[1]


def _busy() -> PasswordHashingBusy:
    return PasswordHashingBusy(
        "password_hashing_busy",
        _("Many people are signing in right now. Wait a moment and try again."),
        retry_after=RETRY_AFTER_SECONDS,
    )


@contextmanager
def hashing_slot() -> Iterator[None]:
    """Hold one of the process's hashing slots while the block runs, or raise PasswordHashingBusy.

    A request that finds every slot taken waits for one, but at most HAWIYA_PASSWORD_HASH_QUEUE
    requests of the process wait at once; the next is refused at once. A waiting request holds one
    of the web process's few threads (gunicorn's gthread worker): during a flood of wrong passwords,
    unbounded waiting took every thread and the other pages queued behind the flood however low
    the hashes' CPU priority. With the slots and the queue below the threads, some always stay free.
    """
    global _waiting
    semaphore = _semaphore()
    if not semaphore.acquire(blocking=False):
        with _slots_lock:
            if _waiting >= int(settings.HAWIYA_PASSWORD_HASH_QUEUE):
                raise _busy()
            _waiting += 1
        try:
            acquired = semaphore.acquire(timeout=float(settings.HAWIYA_PASSWORD_HASH_WAIT_SECONDS))
        finally:
            with _slots_lock:
                _waiting -= 1
        if not acquired:
            raise _busy()
    try:
        yield
    finally:
        semaphore.release()


def _lower_priority(nice: int) -> None:
    """A hashing thread's start: lower this thread's CPU priority by `nice` (on Linux, nice is per
    thread; relative, so a server already started under nice stays below its pages)."""
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + nice))
    except (AttributeError, OSError) as error:  # not Linux, or a sandbox refuses it: hash anyway
        logger.warning("password hashing runs at normal priority: %s", error)


def _executor() -> ThreadPoolExecutor:
    global _hashing_threads
    key = (
        os.getpid(),
        max(1, int(settings.HAWIYA_PASSWORD_HASH_CONCURRENCY)),
        int(settings.HAWIYA_PASSWORD_HASH_NICE),
    )
    with _slots_lock:
        if _hashing_threads is None or _hashing_threads[0] != key:
            old = _hashing_threads
            _hashing_threads = (
                key,
                ThreadPoolExecutor(
                    max_workers=key[1],
                    thread_name_prefix="password-hashing",
                    initializer=_lower_priority,
                    initargs=(key[2],),
                ),
            )
            if old is not None and old[0][0] == key[0]:
                old[1].shutdown(wait=False)  # its running hashes finish; no new ones start there
        return _hashing_threads[1]


def run_hash(function: Callable[[], T]) -> T:
    """Run one hash in a hashing slot, on a lower-priority hashing thread (or in this thread when
    HAWIYA_PASSWORD_HASH_NICE is 0), and give back its result or its exception."""
    with hashing_slot():
        if int(settings.HAWIYA_PASSWORD_HASH_NICE) == 0:
            return function()
        # The slot bounds the hashes submitted to as many threads: each starts at once.
        return _executor().submit(function).result()


class Argon2idHasher(Argon2PasswordHasher):
    """Django's Argon2 hasher (Argon2id) with the parameters from settings, in a hashing slot."""

    algorithm = "argon2"  # Django's: the existing hashes verify, and are upgraded on sign-in

    def params(self) -> Any:
        """Django's Argon2id parameters with the cost from settings (read at each hash, so a
        changed setting applies at once)."""
        # params() is not in django-stubs.
        params = super().params()  # type: ignore[misc]
        params.time_cost = int(settings.HAWIYA_ARGON2_TIME_COST)
        params.memory_cost = int(settings.HAWIYA_ARGON2_MEMORY_KIB)
        params.parallelism = int(settings.HAWIYA_ARGON2_PARALLELISM)
        return params

    def encode(self, password: str, salt: str) -> str:
        return str(run_hash(lambda: super(Argon2idHasher, self).encode(password, salt)))

    def verify(self, password: str, encoded: str) -> bool:
        return bool(run_hash(lambda: super(Argon2idHasher, self).verify(password, encoded)))


@register()
def argon2_parameters_check(**kwargs: Any) -> list[CheckMessage]:
    """Refuse parameters weaker than OWASP's, a hashing limit below one, and a nice Linux lacks."""
    errors: list[CheckMessage] = []
    floors = {
        "HAWIYA_ARGON2_MEMORY_KIB": OWASP_MEMORY_KIB,
        "HAWIYA_ARGON2_TIME_COST": OWASP_TIME_COST,
        "HAWIYA_ARGON2_PARALLELISM": OWASP_PARALLELISM,
        "HAWIYA_PASSWORD_HASH_CONCURRENCY": 1,
    }
    for name, floor in floors.items():
        value = getattr(settings, name, None)
        if not isinstance(value, int) or value < floor:
            errors.append(
                Error(
                    f"{name} is {value!r}; it must be a whole number of at least {floor}.",
                    hint="Argon2id below OWASP's parameters (19 MiB, 2 passes, 1 lane) is too weak.",
                    id="hawiya.E101",
                )
            )
    queue = getattr(settings, "HAWIYA_PASSWORD_HASH_QUEUE", None)
    slots = getattr(settings, "HAWIYA_PASSWORD_HASH_CONCURRENCY", None)
    threads = getattr(settings, "HAWIYA_WEB_THREADS", None)
    if not isinstance(queue, int) or queue < 0:
        errors.append(
            Error(
                f"HAWIYA_PASSWORD_HASH_QUEUE is {queue!r}; it must be a whole number of at least 0.",
                id="hawiya.E101",
            )
        )
    elif isinstance(slots, int) and isinstance(threads, int) and slots + queue >= threads:
        errors.append(
            Error(
                f"HAWIYA_PASSWORD_HASH_CONCURRENCY ({slots}) plus HAWIYA_PASSWORD_HASH_QUEUE ({queue}) "
                f"must stay below WEB_THREADS ({threads}).",
                hint="Otherwise a flood of sign-ins can hold every thread of a web process and the "
                "other pages wait behind it.",
                id="hawiya.E101",
            )
        )
    nice = getattr(settings, "HAWIYA_PASSWORD_HASH_NICE", None)
    if not isinstance(nice, int) or not 0 <= nice <= 19:
        errors.append(
            Error(
                f"HAWIYA_PASSWORD_HASH_NICE is {nice!r}; it must be a whole number from 0 to 19.",
                hint="Linux's nice values: 0 hashes at the request's priority, 19 at the lowest.",
                id="hawiya.E101",
            )
        )
    return errors
