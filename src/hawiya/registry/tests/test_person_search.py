"""Finding a person (registry.selectors.person_search): every spelling of a name finds its person
on SQLite and PostgreSQL, typos on PostgreSQL, ID numbers exactly, pages without a count; the
search column kept up to date by every write; the estimated count of the admin's lists."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hawiya.core.errors import ApplicationError
from hawiya.core.pagination import EstimatedCountPaginator
from hawiya.registry import selectors
from hawiya.registry.models import NameWord, Person
from hawiya.registry.selectors import person_search, person_search_queryset

from .factories import make_person, make_resident
from .spelling import name_pairs, spellings, typos

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="trigram similarity needs PostgreSQL's pg_trgm"
)
on_postgresql_words = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the exact-word path and its GIN index are PostgreSQL's (migration 0009); SQLite uses LIKE",
)
# Each example writes a person inside a savepoint it rolls back: the test's database fixture
# is shared by the examples on purpose.
db_examples = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _found(query: str) -> list[int]:
    return [person.pk for person in person_search(query).persons]


def _person_named(first: tuple[str, str], family: tuple[str, str], **overrides: Any) -> Person:
    names = {
        "first_name_ar": first[0],
        "family_name_ar": family[0],
        "first_name_en": first[1],
        "family_name_en": family[1],
    }
    return make_person(**{**names, **overrides})


# --- every spelling finds the person (both engines) -------------------------------------------------


@db_examples
@given(data=st.data(), script=st.sampled_from(["ar", "en"]))
def test_every_spelling_of_a_name_finds_the_person(db: None, data: st.DataObject, script: str) -> None:
    first, family = data.draw(name_pairs()), data.draw(name_pairs())
    index = 0 if script == "ar" else 1
    # The register holds one spelling, the searcher types another.
    stored_first = data.draw(spellings(first[index], script, stored=True))
    stored_family = data.draw(spellings(family[index], script, stored=True))
    typed = [data.draw(spellings(first[index], script)), data.draw(spellings(family[index], script))]
    typed = data.draw(st.sampled_from([typed, typed[:1], typed[1:], typed[::-1]]))
    stored = {
        "ar": {"first_name_ar": stored_first, "family_name_ar": stored_family},
        "en": {"first_name_en": stored_first, "family_name_en": stored_family},
    }[script]
    with transaction.atomic():
        person = _person_named(first, family, **stored)
        assert _found(" ".join(typed)) == [person.pk]
        transaction.set_rollback(True)


def test_a_name_search_needs_every_word_to_match() -> None:
    mohammed = make_person()  # محمد عبدالله سعد العتيبي
    khalid = make_person(first_name_ar="خالد", first_name_en="Khalid")
    assert set(_found("العتيبي")) == {mohammed.pk, khalid.pk}
    assert _found("محمد العتيبي") == [mohammed.pk]
    assert _found("khalid alotaibi") == [khalid.pk]
    assert _found("khalid alharbi") == []


def test_arabic_and_latin_words_may_be_mixed() -> None:
    person = make_person()
    assert _found("محمد Alotaibi") == [person.pk]


def test_residents_with_two_part_names_are_found() -> None:
    resident = make_resident()  # أحمد حسن / Ahmed Hassan
    assert _found("احمد حسن") == [resident.pk]
    assert _found("AHMED") == [resident.pk]


# --- typos (PostgreSQL) ------------------------------------------------------------------------------


@on_postgresql
@db_examples
@given(data=st.data(), script=st.sampled_from(["ar", "en"]))
def test_a_typo_in_a_long_name_part_still_finds_the_person(
    db: None, data: st.DataObject, script: str
) -> None:
    index = 0 if script == "ar" else 1
    family = data.draw(
        name_pairs().filter(lambda pair: len(pair[index].replace(" ", "").replace("-", "")) >= 8)
    )
    typo = data.draw(typos(family[index], script))
    with transaction.atomic():
        person = _person_named(("خالد", "Khalid"), family)
        assert person.pk in _found(typo)
        transaction.set_rollback(True)


@on_postgresql
def test_the_closest_names_come_first() -> None:
    exact = _person_named(("خالد", "Khalid"), ("القحطاني", "Al-Qahtani"))
    longer = _person_named(("خالد", "Khalid"), ("القحطانيه", "Al-Qahtaniya"))
    # A letter wrong: nobody has every word whole, the trigram path ranks both, closest first.
    assert _found("alqahtanu khalid") == [exact.pk, longer.pk]


# --- the exact-word path before the trigram one (PostgreSQL) ----------------------------------------


@on_postgresql_words
def test_whole_words_are_answered_by_the_exact_path_alone() -> None:
    exact = _person_named(("خالد", "Khalid"), ("القحطاني", "Al-Qahtani"))
    longer = _person_named(("خالد", "Khalid"), ("القحطانيه", "Al-Qahtaniya"))
    # Every word is someone's whole word: only they are listed, not the near names the trigram
    # path would add (docs/design.md §10, the trade-off).
    assert _found("القحطاني خالد") == [exact.pk]
    assert _found("qahtaniya") == [longer.pk]
    # No one has every word whole: the trigram path answers, with both.
    assert _found("القحطاني خالد الحربي") == []
    assert _found("alqahtanu khalid") == [exact.pk, longer.pk]


@on_postgresql_words
def test_whole_word_matches_are_ordered_by_id_number() -> None:
    later = make_person(id_number="1058529940")
    earlier = make_person(id_number="1001244019")
    assert _found("محمد العتيبي") == [earlier.pk, later.pk]


def test_a_start_of_a_word_still_finds_the_person() -> None:
    person = make_person()  # محمد … العتيبي / Mohammed … Alotaibi
    make_person(first_name_ar="خالد", first_name_en="Khalid")
    assert _found("moham") == [person.pk]
    assert _found("محم عتيبي") == [person.pk]


@on_postgresql
def test_a_typo_falls_back_to_the_trigram_path() -> None:
    person = make_person(family_name_ar="الشمراني", family_name_en="Al-Shamrani")
    make_person(first_name_ar="خالد", first_name_en="Khalid", family_name_ar="الحربي")
    assert _found("الشمزاني") == [person.pk]
    assert _found("محمد الشمزاني") == [person.pk]


@on_postgresql
def test_a_word_close_to_no_word_of_the_lexicon_finds_nobody() -> None:
    make_person()  # محمد … العتيبي / Mohammed … Alotaibi
    assert _found("محمد qxzvkjwp") == []
    assert _found("qxzvkjwpqq") == []
    assert _found("zq") == []


@on_postgresql
def test_a_typo_and_a_part_of_a_word_together_still_find_the_person() -> None:
    person = make_person(family_name_ar="الشمراني", family_name_en="Al-Shamrani")
    other = make_person(
        first_name_ar="خالد", first_name_en="Khalid", family_name_ar="الحربي", family_name_en="Alharbi"
    )
    # "moham" and "khal" are parts of words only, "alshamrany" a long word with one letter wrong.
    assert _found("moham alshamrany") == [person.pk]
    assert _found("khal alharbi") == [other.pk]


@on_postgresql
def test_a_tokens_close_words_are_capped_best_first(monkeypatch: pytest.MonkeyPatch) -> None:
    for first in ("Mohammed", "Mohammad", "Mohamed"):
        make_person(first_name_en=first)
    monkeypatch.setattr(selectors, "SEARCH_ALTERNATIVES", 2)
    close = list(selectors.close_name_words("mohammd").values_list("word", flat=True))
    assert len(close) == 2
    assert set(close) <= {"mohammed", "mohammad", "mohamed"}


@on_postgresql_words
def test_a_whole_word_search_reads_the_words_index() -> None:
    make_person()
    persons, _by_id_number = person_search_queryset("محمد العتيبي")
    sql, params = persons[:51].query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        # A test table is a few rows, which PostgreSQL would rather scan: forbid that.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "registry_person_search_words" in plan
    # Every word is in the lexicon: no fallback, no trigram scan of the persons at all.
    assert "trgm" not in plan


@on_postgresql_words
def test_a_typo_search_reads_the_words_index_and_the_lexicons_trigram_index() -> None:
    make_person(family_name_ar="الشمراني", family_name_en="Al-Shamrani")
    persons, _by_id_number = person_search_queryset("محمد الشمزاني")
    sql, params = persons[:51].query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        # A lexicon of a real register's size (analysed): a few thousand words PostgreSQL would
        # rather read whole, and so would the test's few words.
        cursor.execute("RESET enable_seqscan")
        NameWord.add_words(f"{number:x}word" for number in range(20_000))
        cursor.execute("ANALYZE registry_nameword")
        close_sql, close_params = selectors.close_name_words("الشمزاني").query.sql_with_params()
        cursor.execute(f"EXPLAIN {close_sql}", close_params)
        close_plan = "\n".join(row[0] for row in cursor.fetchall())
    # The persons through their words only (the exact path, then the fallback behind the
    # one-time filter); the trigram work on the lexicon alone.
    assert "registry_person_search_words" in plan
    assert "One-Time Filter" in plan
    assert "trgm" not in plan
    assert "registry_nameword_word_trgm" in close_plan


@on_postgresql_words
def test_the_words_index_is_made_by_the_migrations() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'registry_person_search_words'")
        (definition,) = cursor.fetchone()
    # The selector's condition must be this very expression, or PostgreSQL ignores the index.
    assert "gin (string_to_array(search_name, ' '::text))" in definition


@on_postgresql_words
def test_the_lexicons_trigram_index_is_made_by_the_migrations() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'registry_nameword_word_trgm'")
        (definition,) = cursor.fetchone()
    assert "gin (word gin_trgm_ops)" in definition


PERSONS_TRIGRAM_INDEX = "registry_person_search_name_trgm"


def _index_definition(name: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        row = cursor.fetchone()
    return None if row is None else str(row[0])


@on_postgresql_words
def test_the_persons_trigram_index_is_dropped_and_pg_trgm_kept_for_the_lexicon() -> None:
    assert _index_definition(PERSONS_TRIGRAM_INDEX) is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cursor.fetchone()[0] == 1


def test_migration_0013_drops_the_index_concurrently_and_going_back_builds_it_as_0008_did() -> None:
    migrations = "hawiya.registry.migrations"
    migration: Any = importlib.import_module(f"{migrations}.0013_drop_person_search_name_trigram")
    made: Any = importlib.import_module(f"{migrations}.0008_person_search_name_trigram")
    statements: list[str] = []
    editor = SimpleNamespace(connection=SimpleNamespace(vendor="postgresql"), execute=statements.append)
    (operation,) = migration.Migration.operations
    operation.code(None, editor)
    operation.reverse_code(None, editor)
    made.create_index(None, editor)
    drop, create, as_0008 = statements
    assert drop == f"DROP INDEX CONCURRENTLY IF EXISTS {PERSONS_TRIGRAM_INDEX}"
    assert create == as_0008
    # CONCURRENTLY cannot run in a transaction block.
    assert migration.Migration.atomic is False


@on_postgresql_words
@pytest.mark.django_db(transaction=True)
def test_migration_0013_goes_back_and_forth_on_postgresql() -> None:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("registry", "0012_name_word_trigram")])
    try:
        definition = _index_definition(PERSONS_TRIGRAM_INDEX)
    finally:
        # Back to the newest state of every app, as the tests after this one need it.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        executor.loader.build_graph()
    assert definition is not None
    assert "USING gin (search_name gin_trgm_ops)" in definition
    assert _index_definition(PERSONS_TRIGRAM_INDEX) is None


@pytest.mark.parametrize(
    "name", ["0009_person_search_words", "0012_name_word_trigram", "0013_drop_person_search_name_trigram"]
)
def test_the_index_migrations_do_nothing_on_other_databases(name: str) -> None:
    migration: Any = importlib.import_module(f"hawiya.registry.migrations.{name}")

    def refuse(sql: str) -> None:
        raise AssertionError(sql)

    editor = SimpleNamespace(connection=SimpleNamespace(vendor="sqlite"), execute=refuse)
    migration.create_index(None, editor)
    migration.drop_index(None, editor)


@pytest.mark.parametrize("query", ["العتيبي", "alotai"])  # the exact path, and the trigram one
def test_both_paths_page_with_one_statement_and_one_row_more(query: str) -> None:
    persons = sorted((make_person() for _ in range(3)), key=lambda person: person.id_number)
    with CaptureQueriesContext(connection) as queries:
        first = person_search(query, limit=2)
    second = person_search(query, limit=2, offset=2)
    assert [person.pk for person in first.persons + second.persons] == [person.pk for person in persons]
    assert first.has_next
    assert not second.has_next
    selects = [captured["sql"] for captured in queries if "registry_person" in captured["sql"]]
    assert len(selects) == 1
    assert "LIMIT 3" in selects[0]
    assert "COUNT(" not in selects[0].upper()


@on_postgresql
def test_at_most_the_candidates_are_ranked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selectors, "SEARCH_CANDIDATES", 2)
    for _ in range(3):
        make_person()
    page = person_search("العتيبي")
    assert len(page.persons) == 2
    assert not page.has_next


@on_postgresql
def test_the_search_time_limit_is_put_back_afterwards() -> None:
    make_person()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = '7s'")
        assert _found("العتيبي")
        cursor.execute("SELECT current_setting('statement_timeout')")
        assert cursor.fetchone()[0] == "7s"


@on_postgresql
def test_a_search_slower_than_the_limit_is_refused_as_too_broad(monkeypatch: pytest.MonkeyPatch) -> None:
    make_person()
    # pg_sleep in the search's place: the limit cancels it, the searcher is told to narrow it.
    monkeypatch.setattr(selectors, "SEARCH_TIME_LIMIT_MS", 50)
    slow = Person.objects.extra(where=["pg_sleep(0.2) IS NOT NULL"])
    monkeypatch.setattr(selectors, "person_search_queryset", lambda query: (slow, False))
    with pytest.raises(ApplicationError) as refused:
        person_search("العتيبي")
    assert refused.value.code == "search_too_broad"


# --- ID numbers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["1058529940", "١٠٥٨٥٢٩٩٤٠", " 105-852-9940 "])
def test_an_id_number_is_looked_up_exactly(typed: str) -> None:
    person = make_person(id_number="1058529940")
    make_person(id_number="1001244019")
    page = person_search(typed)
    assert page.by_id_number
    assert [found.pk for found in page.persons] == [person.pk]


def test_an_id_number_not_in_the_register_finds_nobody() -> None:
    make_person(id_number="1058529940")
    page = person_search("1001244019")
    assert page.by_id_number
    assert page.persons == []
    assert not page.has_next


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("105852", "10 digits"),
        ("1058529941", "not a valid ID number"),
        ("3058529940", "start with 1"),
    ],
)
def test_digits_that_cannot_be_an_id_number_are_refused_with_the_reason(typed: str, message: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        person_search(typed)
    assert refused.value.code == "id_number_invalid"
    assert message in str(refused.value.message)


# --- queries that cannot find anyone --------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["", "   ", "م", "- ' ,", "\x00", "ـــ", "\u064e\u064f"])
def test_a_query_without_two_letters_is_refused(typed: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        person_search(typed)
    assert refused.value.code == "search_query_invalid"


def test_a_long_query_is_refused_before_any_work() -> None:
    with CaptureQueriesContext(connection) as queries, pytest.raises(ApplicationError) as refused:
        person_search("محمد " * 2_000)
    assert refused.value.code == "search_query_invalid"
    assert len(queries) == 0


@pytest.mark.parametrize("typed", ["%_%", "100%", "zz\x00zz", "'; DROP TABLE x; --", "ß", "\\", "😀 🙂"])
def test_odd_input_is_refused_or_finds_nobody_never_everyone(typed: str) -> None:
    make_person()
    try:
        found = _found(typed)
    except ApplicationError as refused:
        found, code = [], refused.code
    else:
        code = "searched"
    assert found == []
    assert code in {"searched", "search_query_invalid"}


# --- pages --------------------------------------------------------------------------------------------------


def test_pages_fetch_one_row_more_and_never_count() -> None:
    persons = [make_person() for _ in range(3)]
    with CaptureQueriesContext(connection) as queries:
        first = person_search("العتيبي", limit=2)
    assert [person.pk for person in first.persons] == [persons[0].pk, persons[1].pk]
    assert first.has_next
    assert first.next_offset == 2
    assert first.previous_offset is None
    selects = [query["sql"] for query in queries if "registry_person" in query["sql"]]
    assert len(selects) == 1
    assert "COUNT(" not in selects[0].upper()
    assert "LIMIT 3" in selects[0]
    second = person_search("العتيبي", limit=2, offset=2)
    assert [person.pk for person in second.persons] == [persons[2].pk]
    assert not second.has_next
    assert second.next_offset is None
    assert second.previous_offset == 0


def test_a_page_is_at_most_fifty_and_pages_stop_at_the_deepest_offset() -> None:
    make_person()
    page = person_search("العتيبي", limit=10_000, offset=10**9)
    assert page.limit == selectors.SEARCH_PAGE_SIZE == 50
    assert page.offset == selectors.SEARCH_MAX_OFFSET
    deep = selectors.PersonSearchPage(
        persons=[], by_id_number=False, offset=selectors.SEARCH_MAX_OFFSET, limit=50, has_next=True
    )
    assert deep.next_offset is None  # a common name is refined, not browsed further


def test_the_search_can_be_narrowed_to_a_queryset() -> None:
    citizen = make_person(first_name_ar="أحمد", first_name_en="Ahmed")
    make_resident()  # أحمد حسن
    found, by_id_number = person_search_queryset("احمد", within=Person.objects.filter(nationality="SA"))
    assert list(found) == [citizen]
    assert not by_id_number


# --- the search column is kept up to date -------------------------------------------------------------------


def _lexicon() -> set[str]:
    return set(NameWord.objects.values_list("word", flat=True))


def test_every_save_adds_the_name_words_to_the_lexicon() -> None:
    person = make_person()
    assert set(person.search_name.split()) <= _lexicon()
    person.first_name_en = "Khaled"
    person.family_name_ar = "الشمراني"
    person.save(update_fields=["first_name_en", "family_name_ar"])
    assert {"khaled", "الشمراني"} <= _lexicon()
    # Words nobody bears any more stay: they only find nobody.
    assert "mohammed" in _lexicon()


def test_a_save_of_other_fields_leaves_the_lexicon_alone() -> None:
    person = make_person()
    NameWord.objects.all().delete()
    person.mobile = "+966512345678"
    person.save(update_fields=["mobile"])
    assert _lexicon() == set()


@pytest.mark.parametrize("batch_size", [1, 3, 20_000])
def test_the_migration_fills_the_lexicon_from_the_register(
    monkeypatch: pytest.MonkeyPatch, batch_size: int
) -> None:
    migration: Any = importlib.import_module("hawiya.registry.migrations.0011_name_word_fill")
    persons = [make_person(), make_resident(), make_person(first_name_en="Khaled", first_name_ar="خالد")]
    NameWord.objects.all().delete()
    NameWord.objects.create(word="mohammed")  # already there: left alone
    monkeypatch.setattr(migration, "BATCH_SIZE", batch_size)
    migration.fill_name_words(django_apps, SimpleNamespace(connection=connection))
    assert _lexicon() == {word for person in persons for word in person.search_name.split()}


def test_every_save_keeps_the_search_column_up_to_date() -> None:
    person = make_person()
    assert person.search_name == "محمد عبدالله عبد الله سعد العتيبي mohammed abdullah saad alotaibi"
    person.refresh_from_db()
    assert person.search_name == person.computed_search_name()
    person.family_name_en = "Al-Harbi"
    person.save(update_fields=["family_name_en", "updated_at"])
    person.refresh_from_db()
    assert person.search_name.endswith("saad alharbi al harbi")
    assert _found("alharbi") == [person.pk]


def test_a_save_of_other_fields_leaves_the_search_column_alone() -> None:
    person = make_person()
    Person.objects.filter(pk=person.pk).update(search_name="stale")
    person.refresh_from_db()
    person.mobile = "+966501112233"
    with CaptureQueriesContext(connection) as queries:
        person.save(update_fields=["mobile"])
    assert "search_name" not in queries[-1]["sql"]
    person.refresh_from_db()
    assert person.search_name == "stale"


def test_the_data_migration_fills_the_persons_already_registered() -> None:
    from django.apps import apps

    persons = [make_person(), make_resident()]
    Person.objects.update(search_name="")
    migration: Any = importlib.import_module("hawiya.registry.migrations.0007_person_search_name_fill")
    migration.BATCH_SIZE = 1  # several batches with two persons
    try:
        # The function reads only the editor's connection (a schema editor cannot open inside
        # the test's transaction on SQLite).
        migration.fill_search_name(apps, SimpleNamespace(connection=connection))
    finally:
        migration.BATCH_SIZE = 5_000
    for person in persons:
        person.refresh_from_db()
        assert person.search_name == person.computed_search_name() != ""


# --- the admin's estimated count --------------------------------------------------------------------------


def _analyse() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE registry_person")


@on_postgresql
def test_a_whole_table_is_counted_from_postgresqls_estimate() -> None:
    for _ in range(3):
        make_person()
    _analyse()
    make_person()  # after the statistics: the estimate does not see it
    paginator = EstimatedCountPaginator(Person.objects.all(), 50)
    paginator.count_cap = 2
    with CaptureQueriesContext(connection) as queries:
        assert paginator.count == 3
    assert "reltuples" in queries[0]["sql"]
    assert not any("COUNT(" in query["sql"].upper() for query in queries)


@on_postgresql
def test_a_filtered_list_is_counted_up_to_the_cap() -> None:
    for _ in range(4):
        make_person()
    _analyse()
    capped = EstimatedCountPaginator(Person.objects.filter(sex="M"), 50)
    capped.count_cap = 2
    assert capped.count == 3  # "more than two"
    assert EstimatedCountPaginator(Person.objects.filter(sex="M"), 50).count == 4


@on_postgresql
def test_a_small_table_is_counted_exactly() -> None:
    for _ in range(2):
        make_person()
    _analyse()
    make_person()
    assert EstimatedCountPaginator(Person.objects.all(), 50).count == 3


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite counts exactly")
def test_sqlite_counts_exactly() -> None:
    for _ in range(3):
        make_person()
    paginator = EstimatedCountPaginator(Person.objects.all(), 50)
    paginator.count_cap = 1
    assert paginator.count == 3
    assert EstimatedCountPaginator(Person.objects.filter(sex="F"), 50).count == 0
