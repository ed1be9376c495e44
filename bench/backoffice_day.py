"""The officer's day page with 500 appointments: SQL queries per render and server time.

Builds one office open today with enough places, N citizens each with a lost ID card, a paid
replacement request and an appointment today, then signs in an officer of that office (the
test client's `force_login`) and GETs `backoffice:day` repeatedly through Django's test client
(in-process: no network, no browser). Prints the number of SQL queries of each render (it must
not grow with the number of appointments) and the median / p95 / max time of a render.

    .venv/bin/python bench/backoffice_day.py [--appointments 500] [--renders 30]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hawiya_bench .venv/bin/python bench/backoffice_day.py

How the data is made: through the services, as a citizen's journey makes it — `person_create`,
`document_issue`, `document_mark_reported_lost`, a `Replacement` row (as bench/booking.py),
`replacement_move` to `paid`, and `appointment_book` called with `at` = yesterday so that today's
slots are bookable (bookings open from the next day). The schedule row opens the office today
08:00-16:20 in 20-minute slots of 20 places (25 × 20 = 500 places; more appointments widen the
hours). Setting up 500 takes a while (every step is audited); the renders are what is measured.

SQLite runs in a temporary directory. With DATABASE_URL (its name must contain "bench") the
database is dropped and created afresh. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from _server import prepare_environment  # the run's database and demo settings, shared by the benches

ROOT = Path(__file__).resolve().parents[1]
SLOT_MINUTES = 20
PLACES_PER_SLOT = 20


def _make_day(
    count: int, *, office_code: str = "bench-day-office", id_prefix: str = "17"
) -> tuple[Any, dt.date]:
    """An office open today with room for `count` appointments, and `count` of them booked.

    The applicants' ID numbers are `id_prefix` and 7 digits (and a check digit): bench/scale.py
    adds them to a generated register, whose citizens' numbers start 10 or 11 (population/generator.py).
    """
    from decimal import Decimal

    from django.utils import timezone

    from hawiya.appointments.models import OfficeSchedule
    from hawiya.appointments.services import appointment_book
    from hawiya.audit.actors import Actor
    from hawiya.core.clock import RIYADH
    from hawiya.core.references import insert_with_reference
    from hawiya.registry.id_numbers import check_digit
    from hawiya.registry.models import CivilService, Office
    from hawiya.registry.services import document_issue, document_mark_reported_lost, person_create
    from hawiya.replacements.models import Replacement, ReplacementState
    from hawiya.replacements.services import replacement_move

    now = timezone.now()
    today = now.astimezone(RIYADH).date()
    yesterday = now - dt.timedelta(days=1)
    office = Office.objects.create(
        code=office_code,
        name_ar="مكتب الأحوال المدنية التجريبي",
        name_en="Benchmark Civil Affairs Office",
        region="riyadh",
        city_ar="الرياض",
        city_en="Riyadh",
        address_ar="طريق الملك فهد",
        address_en="King Fahd Road",
        latitude=Decimal("24.7"),
        longitude=Decimal("46.7"),
        working_days="1,2,3,4,5,6,7",
    )
    office.services.add(CivilService.objects.get(code="national_id_card_replacement"))
    slots = math.ceil(count / PLACES_PER_SLOT)
    opens = dt.datetime.combine(today, dt.time(8), tzinfo=RIYADH)
    closes = opens + dt.timedelta(minutes=SLOT_MINUTES * slots)
    if closes.date() != today:
        sys.exit(f"{count} appointments do not fit in one day at {PLACES_PER_SLOT} places per slot")
    OfficeSchedule.objects.create(
        office=office,
        weekday=today.isoweekday(),
        opens_at=opens.time(),
        closes_at=closes.time(),
        slot_minutes=SLOT_MINUTES,
        capacity=PLACES_PER_SLOT,
    )
    for index in range(count):
        first_nine = f"{id_prefix}{index:07d}"
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
            date_of_birth=dt.date(1970, 1, 1) + dt.timedelta(days=index),
            place_of_birth_ar="الرياض",
            place_of_birth_en="Riyadh",
            mobile=f"+96657{index:07d}",
            actor=Actor.system("bench.backoffice_day"),
        )
        card = document_issue(
            holder=person,
            kind="national_id_card",
            issuing_office=office,
            issue_date=dt.date(2020, 1, 5),
            expiry_date=dt.date(2030, 1, 5),
        )
        document_mark_reported_lost(
            document_id=card.pk,
            at=yesterday - dt.timedelta(hours=1),
            actor=Actor.system("bench.backoffice_day"),
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
            at=yesterday,
            actor=Actor.system("bench.backoffice_day"),
        )
        appointment_book(
            replacement_id=replacement.pk,
            applicant=person,
            office_id=office.pk,
            starts_at=opens + dt.timedelta(minutes=SLOT_MINUTES * (index // PLACES_PER_SLOT)),
            idempotency_key=uuid.uuid4().hex,
            at=yesterday,
            actor=Actor.system("bench.backoffice_day"),
        )
    return office, today


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--appointments", type=int, default=500)
    parser.add_argument("--renders", type=int, default=30)
    options = parser.parse_args()
    prepare_environment()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import translation

    from hawiya.identity.models import StaffRole
    from hawiya.identity.staff import staff_member_create

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # pages render as in production
    began = time.perf_counter()
    office, _today = _make_day(options.appointments)
    setup_seconds = time.perf_counter() - began
    officer = staff_member_create(
        username="bench-officer", password=uuid.uuid4().hex, role=StaffRole.OFFICER, office=office
    )
    client = Client(HTTP_HOST="localhost", REMOTE_ADDR="127.0.0.1")
    client.force_login(officer)
    with translation.override("ar"):
        url = reverse("backoffice:day")

    queries: list[int] = []
    seconds: list[float] = []
    rows = 0
    for render in range(options.renders + 1):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - started
        if response.status_code != 200:
            sys.exit(f"GET {url} answered {response.status_code}")
        if render == 0:  # the first render warms caches (templates, translations, permissions)
            rows = response.content.decode().count("data-appointment=")
            continue
        queries.append(len(captured.captured_queries))
        seconds.append(elapsed)

    ordered = sorted(seconds)

    def ms(value: float) -> str:
        return f"{1000 * value:.1f}"

    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    print(f"officer's day page benchmark — {connection.vendor}, {os.cpu_count()} cores")
    print(f"  appointments today  {options.appointments} (rows on the page: {rows})")
    print(f"  set-up              {setup_seconds:.1f} s (through the services, every step audited)")
    print(f"  renders measured    {len(seconds)} (after one warm-up), GET {url}")
    print(
        f"  SQL queries/render  {min(queries)}" + ("" if min(queries) == max(queries) else f"–{max(queries)}")
    )
    print(
        f"  time per render     median {ms(statistics.median(seconds))} ms   p95 {ms(p95)} ms   "
        f"max {ms(ordered[-1])} ms"
    )
    if rows != options.appointments:
        sys.exit(f"the page shows {rows} appointments, expected {options.appointments}")


if __name__ == "__main__":
    main()
