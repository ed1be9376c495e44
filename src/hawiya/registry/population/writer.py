"""Writing the population: the offices, the generated rows by one prepared INSERT or COPY per table
in one transaction, and `seed_population`, the entry point of the command and the benchmark."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import DateTimeField, Max, Model
from django.utils import timezone

from ..models import (
    CivilFine,
    CivilService,
    Document,
    FamilyMember,
    FamilyRecord,
    NameWord,
    NationalAddress,
    Office,
    Person,
)
from .data import CITIES, OFFICE_WORKING_DAYS, OFFICES, SERVICES_OF_EVERY_OFFICE, SERVICES_OF_MAIN_OFFICES
from .deferred_indexes import indexes_built_after_load
from .demo import DEMO_FINES, DEMO_PERSONS
from .generator import (
    ADDRESS_COLUMNS,
    DOCUMENT_COLUMNS,
    FAMILY_MEMBER_COLUMNS,
    FAMILY_RECORD_COLUMNS,
    PERSON_COLUMNS,
    PopulationBuilder,
    Row,
    _Batch,
    _days,
)
from .parameters import BULK_BATCH_SIZE, LARGE_LOAD_FROM_PERSONS, POPULATION_AS_OF, SQLITE_LOAD_CACHE_KIB
from .pipeline import built_here, built_in_child


class RegisterNotEmpty(Exception):
    """The register already holds persons: seeding would collide with them."""

    def __init__(self, persons: int) -> None:
        super().__init__(f"the register already holds {persons} persons")
        self.persons = persons


@dataclass
class SeedReport:
    """What one seeding wrote, for the command's last line and the benchmark."""

    persons: int = 0
    demo_persons: int = 0
    documents: int = 0
    addresses: int = 0
    family_records: int = 0
    family_members: int = 0
    offices: int = 0
    seconds: float = 0.0
    # Large loads into PostgreSQL: the seconds each index or constraint took to build after it.
    index_seconds: dict[str, float] = field(default_factory=dict)
    vacuum_seconds: float = 0.0  # large loads into PostgreSQL, after the commit
    lexicon_seconds: float = 0.0  # adding the persons' name words to NameWord

    @property
    def persons_per_second(self) -> float:
        return self.persons / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        demo = f" ({self.demo_persons} demo)" if self.demo_persons else ""
        indexes = (
            f", indexes built after the load: {sum(self.index_seconds.values()):.1f} s"
            if self.index_seconds
            else ""
        )
        if self.vacuum_seconds:
            indexes += f", vacuumed after it: {self.vacuum_seconds:.1f} s"
        if self.lexicon_seconds >= 0.1:
            indexes += f", name words listed: {self.lexicon_seconds:.1f} s"
        return (
            f"seeded {self.persons} persons{demo}, {self.documents} documents, {self.addresses} addresses, "
            f"{self.offices} offices{indexes} in {self.seconds:.1f} s "
            f"({self.persons_per_second:.0f} persons/s)"
        )


def _write_demo_fines(as_of: dt.date) -> None:
    """The demo persons' fines, after their rows exist (same transaction; a handful of rows)."""
    id_numbers = {person.key: person.id_number for person in DEMO_PERSONS}
    pks = dict(
        Person.objects.filter(id_number__in=[id_numbers[fine.person_key] for fine in DEMO_FINES]).values_list(
            "id_number", "pk"
        )
    )
    CivilFine.objects.bulk_create(
        [
            CivilFine(
                person_id=pks[id_numbers[fine.person_key]],
                amount_sar=fine.amount_sar,
                reason_ar=fine.reason[0],
                reason_en=fine.reason[1],
                issued_on=as_of - _days(fine.issued_days_ago),
            )
            for fine in DEMO_FINES
        ]
    )


_WRITTEN_MODELS: Final[tuple[type[Model], ...]] = (
    Person,
    FamilyRecord,
    FamilyMember,
    Document,
    NationalAddress,
)


def _office_services(facts_main_office: bool) -> tuple[str, ...]:
    return SERVICES_OF_EVERY_OFFICE + (SERVICES_OF_MAIN_OFFICES if facts_main_office else ())


def ensure_offices() -> dict[str, int]:
    """The offices of data.OFFICES, created if missing (with the services they offer).

    Returns their primary keys by code. Offices already present keep their data: an officer may
    have corrected an address since.
    """
    city_by_code = {city.code: city for city in CITIES}
    existing = dict(
        Office.objects.filter(code__in=[facts.code for facts in OFFICES]).values_list("code", "pk")
    )
    missing = [facts for facts in OFFICES if facts.code not in existing]
    new_offices = [
        Office(
            code=facts.code,
            name_ar=facts.name_ar,
            name_en=facts.name_en,
            region=city_by_code[facts.city_code].region,
            city_ar=city_by_code[facts.city_code].name_ar,
            city_en=city_by_code[facts.city_code].name_en,
            address_ar=facts.address_ar,
            address_en=facts.address_en,
            latitude=Decimal(facts.latitude),
            longitude=Decimal(facts.longitude),
            working_days=OFFICE_WORKING_DAYS,
            opens_at=dt.time.fromisoformat(facts.opens_at),
            closes_at=dt.time.fromisoformat(facts.closes_at),
        )
        for facts in missing
    ]
    Office.objects.bulk_create(new_offices)
    service_pks = dict(CivilService.objects.values_list("code", "pk"))
    offers = Office.services.through
    offers.objects.bulk_create(
        [
            offers(office_id=office.pk, civilservice_id=service_pks[code])
            for facts, office in zip(missing, new_offices, strict=True)
            for code in _office_services(facts.main_office)
            if code in service_pks
        ]
    )
    existing.update({office.code: office.pk for office in new_offices})
    return existing


class _TableWriter:
    """Inserts rows given as tuples straight through the database cursor.

    `bulk_create` spends most of a load preparing every field of every model instance
    (`pre_save`, `get_db_prep_save`, SQL per batch). The generator's rows are already in
    database form, so one prepared INSERT run with `executemany` (SQLite) or a COPY (PostgreSQL)
    does the same work several times faster. Columns the generator leaves out get what
    `bulk_create` would give them: the field's default, and for `created_at`/`updated_at` the
    moment the load started. A field the generator names but the model lacks fails at once.
    """

    def __init__(self, model: type[Model], columns: Sequence[str], *, now: dt.datetime) -> None:
        fields = {model_field.attname: model_field for model_field in model._meta.concrete_fields}
        unknown = [column for column in columns if column not in fields]
        if unknown:
            raise ValueError(
                f"{model.__name__} has no field {unknown}: population/generator.py must follow the model"
            )
        constants: list[object] = []
        constant_columns: list[str] = []
        for model_field in model._meta.concrete_fields:
            if model_field.attname in columns:
                continue
            if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
                value: object = now
            else:
                # What bulk_create would store: the default, "" for text, else NULL.
                value = model_field.get_default()
                if value is None and not model_field.null:
                    raise ValueError(
                        f"{model.__name__}.{model_field.name} has no default: "
                        "population/generator.py must fill it"
                    )
            constants.append(model_field.get_db_prep_save(value, connection))
            constant_columns.append(model_field.column)
        self.table = model._meta.db_table
        self.columns = [fields[column].column for column in columns] + constant_columns
        self.constants = tuple(constants)
        # Aware datetimes need the backend's adaptation (SQLite stores them as naive UTC text);
        # dates, strings, numbers and None go to the driver as they are.
        self.datetime_positions = [
            position for position, column in enumerate(columns) if isinstance(fields[column], DateTimeField)
        ]

    def _complete(self, row: Row) -> Row:
        if self.datetime_positions:
            values = list(row)
            for position in self.datetime_positions:
                if values[position] is not None:
                    values[position] = connection.ops.adapt_datetimefield_value(values[position])
            row = tuple(values)
        return row + self.constants

    def write(self, rows: list[Row]) -> None:
        if not rows:
            return
        quote = connection.ops.quote_name
        columns = ", ".join(quote(column) for column in self.columns)
        complete = [self._complete(row) for row in rows]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # psycopg 3's COPY: the fastest way into PostgreSQL, constraints still checked.
                with cursor.cursor.copy(f"COPY {quote(self.table)} ({columns}) FROM STDIN") as copy:
                    for row in complete:
                        copy.write_row(row)
            else:
                placeholders = ", ".join(["%s"] * len(self.columns))
                # Names come from the model's _meta, quoted; values are always bound parameters.
                sql = f"INSERT INTO {quote(self.table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
                for start in range(0, len(complete), BULK_BATCH_SIZE):
                    cursor.executemany(sql, complete[start : start + BULK_BATCH_SIZE])


class _RegisterWriter:
    """One writer per table, in an order that satisfies every foreign key as rows arrive (the
    keys are also DEFERRABLE INITIALLY DEFERRED on both engines, so they are checked at commit)."""

    def __init__(self, now: dt.datetime) -> None:
        self.persons = _TableWriter(Person, PERSON_COLUMNS, now=now)
        self.family_records = _TableWriter(FamilyRecord, FAMILY_RECORD_COLUMNS, now=now)
        self.family_members = _TableWriter(FamilyMember, FAMILY_MEMBER_COLUMNS, now=now)
        self.documents = _TableWriter(Document, DOCUMENT_COLUMNS, now=now)
        self.addresses = _TableWriter(NationalAddress, ADDRESS_COLUMNS, now=now)

    def write(self, batch: _Batch, report: SeedReport) -> None:
        self.persons.write(batch.persons)
        self.family_records.write(batch.family_records)
        self.family_members.write(batch.family_members)
        self.documents.write(batch.documents)
        self.addresses.write(batch.addresses)
        report.persons += len(batch.persons)
        report.family_records += len(batch.family_records)
        report.family_members += len(batch.family_members)
        report.documents += len(batch.documents)
        report.addresses += len(batch.addresses)


def _lock_register() -> None:
    """On PostgreSQL, two seeders (two `make run`) queue here instead of both finding the register
    empty. SQLite needs nothing: Hawiya opens its transactions IMMEDIATE, which takes the write lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(Person._meta.db_table)
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")


def _reset_sequences() -> None:
    """Primary keys were given explicitly; move PostgreSQL's sequences past them (as loaddata does)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(_WRITTEN_MODELS))
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


@contextmanager
def _bulk_load_settings() -> Iterator[None]:
    """A larger SQLite page cache for the load, restored afterwards. Durability settings
    (journal mode, synchronous) are left alone: one transaction already makes the load fast."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {previous}")


def _index_upkeep(large: bool, report: SeedReport) -> AbstractContextManager[None]:
    """A large load into PostgreSQL builds the indexes and foreign keys once at the end."""
    if large and connection.vendor == "postgresql":
        return indexes_built_after_load(_WRITTEN_MODELS, report.index_seconds)
    return nullcontext()


def _fill_name_words(report: SeedReport) -> None:
    """Add the words of every person's `search_name` to the lexicon (NameWord), once the rows are
    in (same transaction). PostgreSQL does it in one statement (the lexicon's own indexes stay:
    it is small, and the person indexes are not needed for a sequential read); SQLite, whose
    loads are small, through the words split here. Words already there are left alone."""
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        lexicon, persons = quote(NameWord._meta.db_table), quote(Person._meta.db_table)
        with connection.cursor() as cursor:
            # Table names from _meta, quoted; no value is spliced in.
            cursor.execute(
                f"INSERT INTO {lexicon} (word) "  # noqa: S608
                f"SELECT DISTINCT unnest(string_to_array(search_name, ' ')) FROM {persons} "
                "ON CONFLICT DO NOTHING"
            )
    else:
        words: set[str] = set()
        for search_name in Person.objects.values_list("search_name", flat=True).iterator(chunk_size=10_000):
            words.update(search_name.split())
        NameWord.add_words(words)
    report.lexicon_seconds = time.perf_counter() - started


def _vacuum_after_load(report: SeedReport) -> None:
    """On PostgreSQL, after a large load has committed: VACUUM (FREEZE, ANALYZE) the tables.

    Rows written by one huge transaction are all unfrozen and marked visible nowhere: left alone,
    the first reads set their hint bits (writing pages that were only read), index-only scans
    visit the heap, and months later an anti-wraparound vacuum rewrites the whole register at a
    moment nobody chose. Done here, once, when nobody is using it. VACUUM cannot run inside a
    transaction, so a load inside one (a test's) leaves it to autovacuum."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    started = time.perf_counter()
    quote = connection.ops.quote_name
    vacuumed: tuple[type[Model], ...] = (*_WRITTEN_MODELS, NameWord)
    tables = ", ".join(quote(model._meta.db_table) for model in vacuumed)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (FREEZE, ANALYZE) {tables}")
    report.vacuum_seconds = time.perf_counter() - started


def seed_population(
    *, persons: int, seed: int, demo: bool = False, as_of: dt.date = POPULATION_AS_OF
) -> SeedReport:
    """Fill an empty register with `persons` generated persons (and the demo persons if `demo`).

    All in one transaction: a failure leaves the register as it was. Raises RegisterNotEmpty if
    any person exists already, since generated ID numbers could collide with real ones.
    """
    if persons < 0:
        raise ValueError("the number of persons cannot be negative")
    started = time.perf_counter()
    report = SeedReport()
    large = persons >= LARGE_LOAD_FROM_PERSONS
    with _bulk_load_settings(), transaction.atomic():
        _lock_register()
        existing = Person.objects.count()
        if existing:
            raise RegisterNotEmpty(existing)
        offices_by_code = ensure_offices()
        first_pks = {
            model: (model._default_manager.aggregate(last=Max("pk"))["last"] or 0) + 1
            for model in _WRITTEN_MODELS
        }
        builder = PopulationBuilder(
            seed=seed, as_of=as_of, offices_by_code=offices_by_code, first_pks=first_pks
        )
        writer = _RegisterWriter(now=timezone.now())
        with _index_upkeep(large, report):
            for kind, batch in (built_in_child if large else built_here)(builder, persons, demo):
                before = report.persons
                writer.write(batch, report)
                if kind == "demo":
                    report.demo_persons = report.persons - before
        _fill_name_words(report)
        if demo:
            _write_demo_fines(as_of)
        _reset_sequences()
        report.offices = Office.objects.count()
    if large:
        _vacuum_after_load(report)
    report.seconds = time.perf_counter() - started
    return report
