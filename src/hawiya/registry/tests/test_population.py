"""The synthetic register: deterministic, valid by the register's own validators, consistent."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import re
from collections import Counter, defaultdict
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from hawiya.core.calendars import add_years, from_hijri, to_hijri
from hawiya.registry.addresses import (
    validate_additional_number,
    validate_building_number,
    validate_postal_code_in_region,
    validate_short_address,
    validate_short_address_matches_building,
)
from hawiya.registry.id_numbers import is_valid_id_number, validate_id_number
from hawiya.registry.models import (
    SERIAL_PREFIXES,
    Calendar,
    DatePrecision,
    Document,
    DocumentKind,
    DocumentStatus,
    FamilyMember,
    FamilyRecord,
    NameWord,
    NationalAddress,
    Office,
    Person,
    Relation,
    Sex,
)
from hawiya.registry.names import validate_arabic_name, validate_latin_name
from hawiya.registry.phones import validate_mobile
from hawiya.registry.population import writer
from hawiya.registry.population.data import (
    CITIES,
    NATIONALITIES,
    OFFICES,
    SAUDI_FAMILY_NAMES,
    SAUDI_FEMALE_FIRST_NAMES,
    SAUDI_MALE_FIRST_NAMES,
)
from hawiya.registry.population.demo import DEMO_ADDRESSES, DEMO_PERSONS
from hawiya.registry.population.generator import PERSON_COLUMNS, PopulationBuilder, age_on
from hawiya.registry.population.parameters import POPULATION_AS_OF
from hawiya.registry.population.pipeline import GeneratorFailed
from hawiya.registry.population.writer import RegisterNotEmpty, seed_population
from hawiya.registry.regions import REGION_FACTS
from hawiya.registry.selectors import person_search

from .factories import make_address, make_document, make_person, next_id_number

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

PERSONS = 600
AS_OF = POPULATION_AS_OF


# --- helpers --------------------------------------------------------------------------------------


def register_digest() -> str:
    """A digest of every row's data, in primary-key order (the order rows were generated in).

    Foreign keys are followed to natural keys (ID numbers, serials, office codes) and the
    created_at/updated_at timestamps are left out: they say when the rows were written.
    """
    digest = hashlib.sha256()
    tables: list[Any] = [
        # Every column the generator writes, but the primary key.
        Person.objects.order_by("pk").values_list(*PERSON_COLUMNS[1:]),
        FamilyRecord.objects.order_by("pk").values_list("number", "head__id_number"),
        FamilyMember.objects.order_by("pk").values_list(
            "family_record__number", "person__id_number", "relation"
        ),
        Document.objects.order_by("pk").values_list(
            "kind",
            "holder__id_number",
            "family_record__number",
            "serial_number",
            "version",
            "issue_date",
            "expiry_date",
            "issuing_office__code",
            "status",
            "reported_lost_at",
            "replaces__serial_number",
        ),
        NationalAddress.objects.order_by("pk").values_list(
            "person__id_number",
            "building_number",
            "street_en",
            "district_en",
            "city_en",
            "region",
            "postal_code",
            "additional_number",
            "unit_number",
            "short_address",
        ),
    ]
    for table in tables:
        for row in table:
            digest.update(repr(row).encode())
        digest.update(b"|")
    return digest.hexdigest()


def seed_and_digest(**options: Any) -> str:
    """Seed inside a savepoint, digest, then roll back: the next seeding starts from empty."""
    with transaction.atomic():
        seed_population(**options)
        digest = register_digest()
        transaction.set_rollback(True)
    return digest


def run_command(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_population", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded() -> None:
    seed_population(persons=PERSONS, seed=7, demo=True)


# --- determinism and size -------------------------------------------------------------------------


def test_same_seed_and_size_give_the_same_register_row_for_row() -> None:
    assert seed_and_digest(persons=400, seed=11) == seed_and_digest(persons=400, seed=11)


def test_different_seeds_give_different_registers() -> None:
    assert seed_and_digest(persons=400, seed=11) != seed_and_digest(persons=400, seed=12)


# --- a large load: rows built in a child process; on PostgreSQL, indexes built after the load ---------


@pytest.fixture
def every_load_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "LARGE_LOAD_FROM_PERSONS", 1)


def _registry_schema() -> set[tuple[str, str]]:
    """Every index and constraint of the loaded tables, as PostgreSQL would make them again."""
    tables = [
        model._meta.db_table for model in (Person, FamilyRecord, FamilyMember, Document, NationalAddress)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = ANY(%s::regclass[])"
            " UNION ALL SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
            " WHERE indrelid = ANY(%s::regclass[])",
            [tables, tables],
        )
        return set(cursor.fetchall())


def test_a_large_load_gives_the_same_register_row_for_row(monkeypatch: pytest.MonkeyPatch) -> None:
    built_here = seed_and_digest(persons=400, seed=11, demo=True)
    monkeypatch.setattr(writer, "LARGE_LOAD_FROM_PERSONS", 1)
    assert seed_and_digest(persons=400, seed=11, demo=True) == built_here


@pytest.mark.usefixtures("every_load_large")
def test_a_large_load_counts_the_demo_persons_apart() -> None:
    report = seed_population(persons=200, seed=3, demo=True)
    assert (report.persons, report.demo_persons) == (200 + len(DEMO_PERSONS), len(DEMO_PERSONS))
    assert Person.objects.count() == report.persons


@pytest.mark.usefixtures("every_load_large")
def test_a_failure_while_building_rows_stops_the_load_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    household = PopulationBuilder.household
    calls = itertools.count()

    def failing(self: PopulationBuilder, remaining: int) -> Any:
        if next(calls) == 50:
            raise RuntimeError("a broken name table")
        return household(self, remaining)

    monkeypatch.setattr(PopulationBuilder, "household", failing)
    with pytest.raises(GeneratorFailed, match="a broken name table"):
        seed_population(persons=400, seed=3)
    assert not Person.objects.exists()
    assert not Document.objects.exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="indexes are built after the load on PostgreSQL"
)
@pytest.mark.usefixtures("every_load_large")
def test_a_large_load_into_postgresql_builds_every_index_and_key_again() -> None:
    before = _registry_schema()

    report = seed_population(persons=300, seed=3)

    assert _registry_schema() == before
    assert {
        "registry_person_id_number_key",
        "registry_person_search_words",
        "document_one_valid_per_kind",
        "registry_document_holder_id_e9aa7536_fk_registry_person_id",
    } <= set(report.index_seconds)
    assert "indexes built after the load" in report.summary()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="indexes are built after the load on PostgreSQL"
)
@pytest.mark.usefixtures("every_load_large")
def test_a_large_load_that_breaks_a_unique_rule_fails_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules are checked when the indexes are built again: a repeated serial number fails the
    load, which leaves neither rows nor a missing index behind."""
    before = _registry_schema()
    monkeypatch.setattr(
        PopulationBuilder, "_serial", lambda self, kind, *, demo=False: f"{SERIAL_PREFIXES[kind]}000000001"
    )

    with pytest.raises(IntegrityError):
        seed_population(persons=300, seed=3)

    assert not Person.objects.exists()
    assert _registry_schema() == before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="VACUUM is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("every_load_large")
def test_a_large_load_into_postgresql_is_vacuumed_once_committed() -> None:
    """Frozen and marked all-visible by the seeder, not by the first readers or by autovacuum."""
    report = seed_population(persons=300, seed=3)

    assert report.vacuum_seconds > 0
    assert "vacuumed after it" in report.summary()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relpages, relallvisible FROM pg_class WHERE oid = %s::regclass", [Person._meta.db_table]
        )
        pages, all_visible = cursor.fetchone()
    assert pages > 0
    assert all_visible == pages


def test_demo_persons_leave_the_generated_register_unchanged() -> None:
    with transaction.atomic():
        seed_population(persons=300, seed=5)
        generated = list(Person.objects.order_by("pk").values_list("id_number", "first_name_en", "mobile"))
        transaction.set_rollback(True)
    seed_population(persons=300, seed=5, demo=True)
    demo_ids = {person.id_number for person in DEMO_PERSONS}
    with_demo = [
        row
        for row in Person.objects.order_by("pk").values_list("id_number", "first_name_en", "mobile")
        if row[0] not in demo_ids
    ]
    assert with_demo == generated


@pytest.mark.parametrize("persons", [0, 1, 2, 7, 333])
def test_the_register_holds_exactly_the_persons_asked_for(persons: int) -> None:
    report = seed_population(persons=persons, seed=3)
    assert Person.objects.count() == persons == report.persons
    assert report.documents == Document.objects.count()
    assert report.addresses == NationalAddress.objects.count()


@pytest.mark.parametrize("large", [False, True])
def test_a_seeding_lists_every_name_word_in_the_lexicon(monkeypatch: pytest.MonkeyPatch, large: bool) -> None:
    if large:
        monkeypatch.setattr(writer, "LARGE_LOAD_FROM_PERSONS", 1)
    NameWord.objects.create(word="كلمة")  # a word nobody bears: left alone
    seed_population(persons=200, seed=4, demo=True)
    words = {word for name in Person.objects.values_list("search_name", flat=True) for word in name.split()}
    assert set(NameWord.objects.values_list("word", flat=True)) == words | {"كلمة"}


def test_the_services_can_write_after_a_seeding() -> None:
    """Keys were given explicitly; the sequences (PostgreSQL) must have moved past them."""
    seed_population(persons=200, seed=8)
    document = make_document(holder=make_person(id_number=next_id_number(resident=False)))
    make_address(document.holder)
    assert (
        document.pk > Document.objects.exclude(pk=document.pk).order_by("-pk").values_list("pk", flat=True)[0]
    )


def test_demo_persons_come_on_top_of_the_generated_ones(seeded: None) -> None:
    assert Person.objects.count() == PERSONS + len(DEMO_PERSONS)


# --- validity -------------------------------------------------------------------------------------


def test_every_generated_value_passes_the_registers_validators(seeded: None) -> None:
    persons = list(Person.objects.all())
    for person in persons:
        validate_id_number(person.id_number)
        for arabic in (person.first_name_ar, person.family_name_ar, person.place_of_birth_ar):
            validate_arabic_name(arabic)
        for latin in (person.first_name_en, person.family_name_en):
            validate_latin_name(latin)
        if person.mobile:
            validate_mobile(person.mobile)
        # Field validators, clean() (four-part names for citizens, nationality against the ID
        # number, no future dates); uniqueness is the database's job and already held.
        person.full_clean(validate_unique=False, validate_constraints=False)
    for address in NationalAddress.objects.all():
        validate_building_number(address.building_number)
        validate_additional_number(address.additional_number)
        validate_postal_code_in_region(address.postal_code, address.region)
        validate_short_address(address.short_address)
        validate_short_address_matches_building(address.short_address, address.building_number)
        address.full_clean(exclude=["person"], validate_unique=False, validate_constraints=False)
    for document in Document.objects.select_related("holder", "family_record", "replaces"):
        document.full_clean(
            exclude=["holder", "family_record", "issuing_office", "replaces"],
            validate_unique=False,
            validate_constraints=False,
        )
    for office in Office.objects.all():
        office.full_clean(validate_unique=False, validate_constraints=False)


def test_the_seeder_writes_the_search_column_as_save_would(seeded: None) -> None:
    persons = list(Person.objects.all())
    assert len(persons) > PERSONS
    for person in persons:
        assert person.search_name
        assert person.search_name == person.computed_search_name()
    demo = next(person for person in persons if person.id_number == DEMO_PERSONS[0].id_number)
    assert demo.pk in [found.pk for found in person_search(demo.full_name_ar).persons]


def test_numbers_that_must_be_unique_are_unique(seeded: None) -> None:
    mobiles = [mobile for mobile in Person.objects.exclude(mobile="").values_list("mobile", flat=True)]
    assert len(mobiles) == len(set(mobiles))
    short_addresses = NationalAddress.objects.values_list("short_address", "person__headed_family_record")
    # A household shares one address; different households never share a short address.
    households_by_short_address: dict[str, set[str]] = defaultdict(set)
    for address in NationalAddress.objects.select_related("person"):
        households_by_short_address[address.short_address].add(
            f"{address.street_en}|{address.district_en}|{address.city_en}|{address.additional_number}"
        )
    assert short_addresses
    assert all(len(places) == 1 for places in households_by_short_address.values())


def test_citizens_and_residents_have_their_numbers_nationalities_and_calendars(seeded: None) -> None:
    persons = list(Person.objects.all())
    citizens = [person for person in persons if person.id_number.startswith("1")]
    residents = [person for person in persons if person.id_number.startswith("2")]
    assert len(citizens) + len(residents) == len(persons)
    assert 0.6 < len(citizens) / len(persons) < 0.8
    assert all(p.nationality == "SA" and p.date_of_birth_calendar == Calendar.HIJRI for p in citizens)
    resident_codes = {nationality.code for nationality in NATIONALITIES}
    assert all(
        p.nationality in resident_codes and p.date_of_birth_calendar == Calendar.GREGORIAN for p in residents
    )
    assert all(p.father_name_ar and p.grandfather_name_ar and p.father_name_en for p in citizens)


def test_mobiles_only_from_fifteen_and_every_living_adult_has_one(seeded: None) -> None:
    for person in Person.objects.all():
        age = age_on(person.date_of_birth, AS_OF)
        if age < 15 or person.date_of_death:
            assert person.mobile == "", person
        elif age >= 18:
            assert person.mobile.startswith("+9665"), person
            assert person.mobile[4:6] in {"50", "53", "54", "55", "56", "58", "59"}


def test_year_only_births_are_stored_as_1_rajab_of_the_hijri_year() -> None:
    seed_population(persons=1500, seed=2)
    year_only = list(Person.objects.filter(date_of_birth_precision=DatePrecision.YEAR))
    assert year_only, "about 3% of older citizens have a year-only date of birth"
    for person in year_only:
        hijri = to_hijri(person.date_of_birth)
        assert hijri is not None
        assert (hijri.month, hijri.day) == (7, 1)
        assert person.date_of_birth == from_hijri(hijri.year, 7, 1)
        assert person.is_citizen


# --- families -------------------------------------------------------------------------------------


def test_families_carry_the_fathers_names_and_plausible_ages(seeded: None) -> None:
    records = FamilyRecord.objects.select_related("head").prefetch_related("members__person")
    assert records
    for record in records:
        head = record.head
        members = list(record.members.all())
        spouses = [member.person for member in members if member.relation == Relation.SPOUSE]
        children = [member for member in members if member.relation in (Relation.SON, Relation.DAUGHTER)]
        assert len(spouses) == 1
        spouse = spouses[0]
        assert spouse.sex != head.sex
        father, mother = (head, spouse) if head.sex == Sex.MALE else (spouse, head)
        if head.sex == Sex.FEMALE:
            assert father.date_of_death is not None, "a woman heads the family when she is widowed"
        for member in children:
            child = member.person
            assert child.sex == (Sex.MALE if member.relation == Relation.SON else Sex.FEMALE)
            assert (child.father_name_ar, child.father_name_en) == (
                father.first_name_ar,
                father.first_name_en,
            )
            assert (child.grandfather_name_ar, child.grandfather_name_en) == (
                father.father_name_ar,
                father.father_name_en,
            )
            assert (child.family_name_ar, child.family_name_en) == (
                father.family_name_ar,
                father.family_name_en,
            )
            assert child.nationality == father.nationality
            assert child.date_of_birth >= add_years(father.date_of_birth, 18)
            assert child.date_of_birth >= add_years(mother.date_of_birth, 18)
        assert age_on(head.date_of_birth, AS_OF) >= 25


def test_every_head_holds_one_valid_family_record_document(seeded: None) -> None:
    for record in FamilyRecord.objects.all():
        documents = Document.objects.filter(kind=DocumentKind.FAMILY_RECORD, family_record=record)
        assert {document.holder_id for document in documents} == {record.head_id}
        assert documents.filter(status=DocumentStatus.VALID).count() == 1


def test_the_deceased_have_a_death_certificate_and_no_valid_id_card(seeded: None) -> None:
    deceased = list(Person.objects.filter(date_of_death__isnull=False))
    assert deceased
    for person in deceased:
        assert person.date_of_death is not None
        assert person.date_of_death > person.date_of_birth
        assert (
            person.documents.filter(kind=DocumentKind.DEATH_CERTIFICATE, status=DocumentStatus.VALID).count()
            == 1
        )
        assert not person.documents.filter(
            kind=DocumentKind.NATIONAL_ID_CARD, status=DocumentStatus.VALID
        ).exists()
        assert not person.national_addresses.exists()


# --- documents ------------------------------------------------------------------------------------


def test_document_histories_are_linked_chains_with_at_most_one_valid_version(seeded: None) -> None:
    chains: dict[tuple[int, str], list[Document]] = defaultdict(list)
    for document in Document.objects.order_by("holder_id", "kind", "version"):
        chains[(document.holder_id, document.kind)].append(document)
    for versions in chains.values():
        assert [document.version for document in versions] == list(range(1, len(versions) + 1))
        assert versions[0].replaces_id is None
        for older, newer in itertools.pairwise(versions):
            assert newer.replaces_id == older.pk
            assert newer.issue_date >= older.issue_date
            assert older.status in (DocumentStatus.REPLACED, DocumentStatus.EXPIRED)
        assert sum(document.status == DocumentStatus.VALID for document in versions) <= 1
        for document in versions:
            if document.expiry_date is not None:
                assert document.expiry_date > document.issue_date
            if document.status == DocumentStatus.REPORTED_LOST:
                assert document.reported_lost_at is not None
            if document.reported_lost_at is not None:
                assert document.status != DocumentStatus.VALID
            assert document.issue_date <= AS_OF


def test_id_cards_from_fifteen_for_ten_years_for_everyone_alive(seeded: None) -> None:
    holders: dict[int, list[Document]] = defaultdict(list)
    for card in Document.objects.filter(kind=DocumentKind.NATIONAL_ID_CARD).select_related("holder"):
        holders[card.holder_id].append(card)
        assert card.issue_date >= add_years(card.holder.date_of_birth, 15)
        assert card.expiry_date == add_years(card.issue_date, 10)
        if card.status == DocumentStatus.VALID:
            assert card.expiry_date is not None
            assert card.expiry_date > AS_OF
    birth_certificates = Counter(
        Document.objects.filter(kind=DocumentKind.BIRTH_CERTIFICATE, status=DocumentStatus.VALID).values_list(
            "holder_id", flat=True
        )
    )
    for person in Person.objects.filter(date_of_death__isnull=True):
        has_card = person.pk in holders
        assert has_card == (age_on(person.date_of_birth, AS_OF) >= 15), person
        assert birth_certificates[person.pk] == 1
        if has_card:
            assert person.biometrics_captured_on == max(card.issue_date for card in holders[person.pk])


def test_some_cards_have_a_history_of_losses_expiries_and_renewals() -> None:
    seed_population(persons=1500, seed=4)
    cards = Document.objects.filter(kind=DocumentKind.NATIONAL_ID_CARD)
    assert cards.filter(version__gte=2).exists()
    assert cards.filter(status=DocumentStatus.REPLACED, reported_lost_at__isnull=False).exists()
    assert cards.filter(status=DocumentStatus.REPORTED_LOST, replaced_by__isnull=True).exists()
    assert cards.filter(status=DocumentStatus.EXPIRED).exists()
    assert cards.filter(status=DocumentStatus.CANCELLED).exists()


def test_documents_are_issued_by_an_office_of_the_holders_region(seeded: None) -> None:
    region_of_person = dict(NationalAddress.objects.values_list("person_id", "region"))
    for holder_id, office_region in Document.objects.values_list("holder_id", "issuing_office__region"):
        if holder_id in region_of_person:
            assert office_region == region_of_person[holder_id]


# --- demo persons ---------------------------------------------------------------------------------


def _demo(key: str) -> Person:
    return Person.objects.get(
        id_number=next(person.id_number for person in DEMO_PERSONS if person.key == key)
    )


def _card(person: Person, version: int) -> Document:
    return person.documents.get(kind=DocumentKind.NATIONAL_ID_CARD, version=version)


def test_demo_persons_are_valid_distinct_and_outside_the_generated_ranges() -> None:
    ids = [person.id_number for person in DEMO_PERSONS]
    mobiles = [person.mobile for person in DEMO_PERSONS if person.mobile]
    assert len(set(ids)) == len(ids)
    assert len(set(mobiles)) == len(mobiles)
    assert all(is_valid_id_number(id_number) and id_number[1:7] == "000000" for id_number in ids)
    assert all(re.fullmatch(r"\+9665000000[0-9]{2}", mobile) for mobile in mobiles)
    for mobile in mobiles:
        validate_mobile(mobile)
    for address in DEMO_ADDRESSES.values():
        assert address.short_address[3] == "Z"  # generated short addresses never use Z there
        validate_short_address_matches_building(address.short_address, address.building_number)


def test_demo_persons_are_present_with_their_documented_properties(seeded: None) -> None:
    for demo in DEMO_PERSONS:
        person = Person.objects.get(id_number=demo.id_number)
        assert person.full_name_ar == demo.full_name_ar
        assert person.full_name_en == demo.full_name_en
        assert person.mobile == demo.mobile
        assert person.national_addresses.exists() == (demo.address is not None)

    head = _demo("head_of_family")
    relations = {
        member.person.id_number: member.relation for member in head.headed_family_record.members.all()
    }
    assert relations == {
        _demo("spouse").id_number: Relation.SPOUSE,
        _demo("son").id_number: Relation.SON,
        _demo("daughter").id_number: Relation.DAUGHTER,
    }
    assert head.documents.get(kind=DocumentKind.FAMILY_RECORD).status == DocumentStatus.VALID
    assert _demo("son").documents.get(kind=DocumentKind.BIRTH_CERTIFICATE).status == DocumentStatus.VALID
    assert not _demo("son").documents.filter(kind=DocumentKind.NATIONAL_ID_CARD).exists()

    lost_once = _demo("lost_once")
    first, second = _card(lost_once, 1), _card(lost_once, 2)
    assert first.reported_lost_at is not None
    assert first.status == DocumentStatus.REPLACED
    assert second.status == DocumentStatus.VALID
    assert second.replaces_id == first.pk

    lost_now = _card(_demo("lost_now"), 1)
    assert lost_now.status == DocumentStatus.REPORTED_LOST
    assert lost_now.reported_lost_at is not None
    assert not _demo("lost_now").documents.filter(kind=DocumentKind.NATIONAL_ID_CARD, version=2).exists()

    resident = _demo("resident")
    assert resident.id_number.startswith("2")
    assert resident.nationality == "PK"
    assert resident.date_of_birth_calendar == Calendar.GREGORIAN

    old_biometrics = _demo("old_biometrics")
    assert old_biometrics.biometrics_captured_on is not None
    assert old_biometrics.biometrics_captured_on <= add_years(AS_OF, -6)
    assert _card(old_biometrics, 1).status == DocumentStatus.VALID

    deceased = _demo("deceased")
    assert deceased.date_of_death is not None
    assert deceased.documents.get(kind=DocumentKind.DEATH_CERTIFICATE).status == DocumentStatus.VALID
    assert _card(deceased, 1).status == DocumentStatus.CANCELLED
    widow = _demo("widow")
    assert widow.headed_family_record.members.get(person=deceased).relation == Relation.SPOUSE

    assert not _demo("no_address").national_addresses.exists()
    year_only = _demo("year_only_birth")
    assert year_only.date_of_birth_precision == DatePrecision.YEAR
    assert year_only.date_of_birth == from_hijri(1365, 7, 1)
    assert _card(_demo("expired_card"), 1).status == DocumentStatus.EXPIRED


# --- the command ----------------------------------------------------------------------------------


def test_command_prints_what_it_seeded() -> None:
    output = run_command("--persons", "250", "--seed", "9", "--demo")
    assert re.fullmatch(
        rf"seeded {250 + len(DEMO_PERSONS)} persons \({len(DEMO_PERSONS)} demo\), \d+ documents, "
        # The lexicon's time is named once it reaches 0.1 s (a busy machine, on SQLite too).
        rf"\d+ addresses, {len(OFFICES)} offices(, name words listed: \d+\.\d s)? in \d+\.\d s "
        rf"\(\d+ persons/s\)\n",
        output,
    ), output


def test_command_with_if_empty_does_nothing_on_a_seeded_register() -> None:
    run_command("--persons", "120", "--seed", "1", "--if-empty")
    digest = register_digest()
    output = run_command("--persons", "120", "--seed", "2", "--if-empty")
    assert output == "register already seeded: 120 persons\n"
    assert register_digest() == digest


def test_command_refuses_a_register_that_already_has_persons() -> None:
    run_command("--persons", "50", "--seed", "1")
    with pytest.raises(CommandError, match="already holds 50 persons"):
        run_command("--persons", "50", "--seed", "1")
    with pytest.raises(RegisterNotEmpty):
        seed_population(persons=10, seed=1)
    assert Person.objects.count() == 50


def test_command_rejects_a_negative_number_of_persons() -> None:
    with pytest.raises(CommandError):
        run_command("--persons", "-1")


# --- the data tables ------------------------------------------------------------------------------


def test_name_tables_are_large_paired_and_in_the_right_scripts() -> None:
    tables = (SAUDI_MALE_FIRST_NAMES, SAUDI_FEMALE_FIRST_NAMES, SAUDI_FAMILY_NAMES)
    assert all(len(table) >= 150 for table in tables)
    for table in (
        *tables,
        *(
            getattr(nat, part)
            for nat in NATIONALITIES
            for part in ("male_first_names", "female_first_names", "family_names", "birthplaces")
        ),
    ):
        assert len({arabic for arabic, _ in table}) == len(table), table
        assert len({english for _, english in table}) == len(table), table
        for arabic, english in table:
            validate_arabic_name(arabic)
            validate_latin_name(english)


def test_cities_cover_every_region_with_matching_postal_codes() -> None:
    assert len(CITIES) >= 25
    assert {city.region for city in CITIES} == set(REGION_FACTS)
    for city in CITIES:
        validate_arabic_name(city.name_ar)
        assert len(city.districts) >= 3
        for district in city.districts:
            validate_postal_code_in_region(district.postal_code, city.region)


def test_offices_cover_every_region_inside_the_kingdom() -> None:
    city_region = {city.code: city.region for city in CITIES}
    assert 28 <= len(OFFICES) <= 35
    assert len({office.code for office in OFFICES}) == len(OFFICES)
    assert {city_region[office.city_code] for office in OFFICES} == set(REGION_FACTS)
    for office in OFFICES:
        assert 16 <= float(office.latitude) <= 33
        assert 34 <= float(office.longitude) <= 56
        assert dt.time.fromisoformat(office.opens_at) < dt.time.fromisoformat(office.closes_at)
