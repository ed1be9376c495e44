"""Booking under contention: many concurrent clients against a few small slots, on PostgreSQL.

Each client is a thread with its own database connection and its own paid replacement request;
all start together and call `appointment_book` for a random slot among a few, moving on to
another slot when one is full, until they hold a place or every slot is full. Afterwards the
database is asked how many appointments each slot holds: an overbooking is any appointment
beyond a slot's capacity, or a slot whose counter disagrees with its appointments (must be 0).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hawiya_bench .venv/bin/python bench/booking.py
    ... bench/booking.py --clients 60 --slots 4 --capacity 5   (clients < max_connections)

The database named in DATABASE_URL (its name must contain "bench") is dropped and created afresh.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _prepare_environment() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("bench/booking.py measures row-level contention: set DATABASE_URL to a PostgreSQL database")
    name = url.rsplit("/", 1)[-1]
    if "bench" not in name:
        sys.exit(f"refusing to drop {name!r}: the benchmark database's name must contain 'bench'")
    base = url.rsplit("/", 1)[0]
    for statement in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", f"{base}/postgres", "-q", "-c", statement], check=True)
    os.environ["HAWIYA_DEMO"] = "1"
    os.environ.setdefault("HAWIYA_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hawiya.config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    sys.path.insert(0, str(ROOT / "src"))


def _make_world(clients: int, slots: int, capacity: int) -> tuple[Any, list[dt.datetime], list[Any]]:
    """An office open one morning with `slots` slots of `capacity` places, and `clients` paid
    replacement requests to be collected, each of its own citizen (through the services)."""
    from decimal import Decimal

    from django.utils import timezone

    from hawiya.appointments.models import OfficeSchedule
    from hawiya.audit.actors import Actor
    from hawiya.core.clock import RIYADH
    from hawiya.core.references import insert_with_reference
    from hawiya.registry.id_numbers import check_digit
    from hawiya.registry.models import CivilService, Office
    from hawiya.registry.services import document_issue, document_mark_reported_lost, person_create
    from hawiya.replacements.models import Replacement, ReplacementState
    from hawiya.replacements.services import replacement_move

    office = Office.objects.create(
        code="bench-office",
        name_ar="مكتب الأحوال المدنية التجريبي",
        name_en="Benchmark Civil Affairs Office",
        region="riyadh",
        city_ar="الرياض",
        city_en="Riyadh",
        address_ar="طريق الملك فهد",
        address_en="King Fahd Road",
        latitude=Decimal("24.7"),
        longitude=Decimal("46.7"),
    )
    office.services.add(CivilService.objects.get(code="national_id_card_replacement"))
    day = timezone.now().astimezone(RIYADH).date() + dt.timedelta(days=7)
    OfficeSchedule.objects.create(
        office=office,
        weekday=day.isoweekday(),
        opens_at=dt.time(9),
        closes_at=(dt.datetime(2000, 1, 1, 9, tzinfo=RIYADH) + dt.timedelta(minutes=20 * slots)).time(),
        slot_minutes=20,
        capacity=capacity,
    )
    times = [
        dt.datetime.combine(day, dt.time(9), tzinfo=RIYADH) + dt.timedelta(minutes=20 * i)
        for i in range(slots)
    ]
    requests = []
    for index in range(clients):
        first_nine = f"18{index:07d}"
        person = person_create(
            id_number=first_nine + check_digit(first_nine),
            first_name_ar="سعد",
            father_name_ar="محمد",
            grandfather_name_ar="علي",
            family_name_ar="القحطاني",
            first_name_en="Saad",
            father_name_en="Mohammed",
            grandfather_name_en="Ali",
            family_name_en="Al-Qahtani",
            sex="M",
            date_of_birth=dt.date(1980, 1, 1) + dt.timedelta(days=index),
            place_of_birth_ar="الرياض",
            place_of_birth_en="Riyadh",
            mobile=f"+96656{index:07d}",
            actor=Actor.system("bench.booking"),
        )
        card = document_issue(
            holder=person,
            kind="national_id_card",
            issuing_office=office,
            issue_date=dt.date(2020, 1, 5),
            expiry_date=dt.date(2030, 1, 5),
        )
        document_mark_reported_lost(
            document_id=card.pk, at=timezone.now(), actor=Actor.system("bench.booking")
        )
        replacement = insert_with_reference(
            Replacement(
                applicant=person,
                document=card,
                method="collection",
                idempotency_key=uuid.uuid4().hex,
                request_fingerprint="0" * 64,
            ),
            prefix="RP",
        )
        replacement_move(
            replacement_id=replacement.pk,
            to=ReplacementState.PAID,
            action="paid",
            actor=Actor.system("bench.booking"),
        )
        requests.append(replacement)
    return office, times, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=60)  # PostgreSQL allows 100 connections by default
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--capacity", type=int, default=5)
    options = parser.parse_args()
    _prepare_environment()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count, Q

    from hawiya.appointments import errors
    from hawiya.appointments.models import Appointment, Slot
    from hawiya.appointments.services import appointment_book
    from hawiya.audit.actors import Actor
    from hawiya.core.errors import ApplicationError

    call_command("migrate", verbosity=0)
    office, times, requests = _make_world(options.clients, options.slots, options.capacity)
    connection.close()

    start = threading.Barrier(options.clients + 1)
    lock = threading.Lock()
    tally = {"attempts": 0, "booked": 0, "full": 0, "errors": 0}
    latencies: list[float] = []

    def client(replacement: Any, seed: int) -> None:
        order = list(times)
        random.Random(seed).shuffle(order)
        start.wait(timeout=60)
        try:
            for starts_at in order:
                began = time.perf_counter()
                try:
                    appointment_book(
                        replacement_id=replacement.pk,
                        applicant=replacement.applicant,
                        office_id=office.pk,
                        starts_at=starts_at,
                        idempotency_key=uuid.uuid4().hex,
                        actor=Actor.system("bench.booking"),
                    )
                    outcome = "booked"
                except ApplicationError as exc:
                    outcome = "full" if exc.code == errors.SLOT_FULL else "errors"
                except Exception:  # a deadlock or constraint error would be a bug: count it
                    outcome = "errors"
                with lock:
                    tally["attempts"] += 1
                    tally[outcome] += 1
                    latencies.append(time.perf_counter() - began)
                if outcome != "full":
                    break
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(r, i)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    start.wait(timeout=60)
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began

    # Overbookings, from the database alone: appointments beyond a slot's capacity, and slots
    # whose counter disagrees with the appointments that hold them.
    counted = Slot.objects.filter(office=office).annotate(
        held=Count("appointments", filter=Q(appointments__state__in=["booked", "checked_in"]))
    )
    overbooked = sum(max(slot.held - slot.capacity, 0) for slot in counted)
    mismatched = sum(1 for slot in counted if slot.held != slot.booked)
    places = options.slots * options.capacity
    total = Appointment.objects.filter(slot__office=office).count()
    ordered = sorted(latencies)

    def ms(q: float) -> str:
        return f"{1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.1f}"

    print(f"booking benchmark — {connection.vendor}, {os.cpu_count()} cores")
    print(
        f"  {options.clients} concurrent clients (threads, one connection each), "
        f"{options.slots} slots × {options.capacity} places = {places} places"
    )
    print(f"  wall time           {elapsed:.2f} s")
    print(f"  attempts            {tally['attempts']}  ({tally['attempts'] / elapsed:.1f}/s)")
    print(f"  bookings            {tally['booked']}  ({tally['booked'] / elapsed:.1f} bookings/s)")
    print(f"  refusals (full)     {tally['full']}")
    print(f"  other errors        {tally['errors']}")
    print(f"  latency per attempt median {ms(0.5)} ms   p90 {ms(0.9)} ms   max {ms(1.0)} ms")
    print(f"  appointments in db  {total}")
    print(f"  overbookings        {overbooked + mismatched}")
    if overbooked or mismatched or total != min(places, options.clients) or tally["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
