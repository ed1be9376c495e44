"""Benchmark: finding a person by name in a register of a million, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hawiya_bench \\
        .venv/bin/python bench/person_search.py [--persons 1000000] [--seed 1] [--searches 300] [--reuse]

Drops and recreates the database of DATABASE_URL (its name must contain "bench"), then, as an
operator would, `manage.py migrate` and `manage.py seed_population --persons N --seed S` in a
child process, and `VACUUM ANALYZE` of the persons table (what autovacuum does after a load).
`--reuse` skips all that when the database already holds the persons (to measure again).

Then, in this process, it draws persons from the register (a seeded random sample) and searches
for each through `registry.selectors.person_search`, the function the admin and the officers'
"Find a person" page use, timing every call (normalising the query, the SQL, building the page):
- Arabic first and family name, spelled another way (hamza on the alef, ة/ه, ى/ي, a diacritic,
  a tatweel);
- Arabic first and family name with one letter wrong in the family name (8 letters or more);
- Latin first and family name in other case, with an accent and the hyphen dropped;
- Latin family name and father's name;
- the ID number (exact).
It prints p50/p95/p99 in milliseconds per kind and overall, how often the person sought is on
the first page (namesakes are many: a common first and family name pair is shared by hundreds),
the rows in the table and in the lexicon of name words, the sizes of the table, of its words index
and of the lexicon's trigram index, and the EXPLAIN ANALYZE of two searches: a variant spelling,
answered by the exact-word path (the GIN index on the words), and a typo, where that path finds nobody and the
fallback looks the mistyped word up in the lexicon (NameWord, by trigrams) and then finds the
persons through the words index again. For the typo it also shows the lexicon look-up: as planned
on the register's own lexicon (a few thousand words: PostgreSQL reads them all), and on that
lexicon grown by synthetic words, as a real register's would be, inside a transaction rolled
back (the lexicon's GIN trigram index).
SQLite is not measured: it has no such index and scans the column (docs/design.md, "Finding a person").
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
WARM_UP_SEARCHES = 30


def _environment(url: str) -> dict[str, str]:
    env = dict(os.environ)
    # Demo mode: the demo SMS client, so the system checks pass without an operator's credentials.
    env.update({"HAWIYA_DEMO": "1", "HAWIYA_LOG_LEVEL": "WARNING", "DATABASE_URL": url})
    env.setdefault("SECRET_KEY", "benchmark-only-not-a-secret")
    env.setdefault("DJANGO_SETTINGS_MODULE", "hawiya.config.settings")
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    # Our own interpreter and manage.py, with arguments this script builds: nothing untrusted.
    started = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, check=True)
    print(f"manage.py {' '.join(args)}: {time.perf_counter() - started:.0f} s", flush=True)


def _recreate_database(url: str) -> None:
    import psycopg  # the project's PostgreSQL driver
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    maintenance = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _seed(url: str, persons: int, seed: int) -> None:
    env = _environment(url)
    _recreate_database(url)
    _manage(env, "migrate", "--no-input", "-v", "0")
    # A large load is vacuumed and analysed by the seeder itself (population/writer.py).
    _manage(env, "seed_population", "--persons", str(persons), "--seed", str(seed))


# --- the searches --------------------------------------------------------------------------------

# Spelled another way, as a clerk or a citizen might type it.
_ARABIC_SWAPS = {"ا": "أ", "أ": "ا", "إ": "ا", "ة": "ه", "ي": "ى", "ى": "ي", "ه": "ة"}
_ARABIC_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
_ACCENTS = {"e": "é", "a": "á", "i": "í", "o": "ö", "u": "ü"}


def _arabic_variant(part: str, rng: random.Random) -> str:
    chars = list(part)
    for position in (0, len(chars) - 1):
        chars[position] = _ARABIC_SWAPS.get(chars[position], chars[position])
    if len(chars) > 2:
        chars.insert(2, "\u064e" if rng.random() < 0.5 else "\u0640")  # a fatha or a tatweel
    return "".join(chars)


def _arabic_typo(part: str, rng: random.Random) -> str:
    position = rng.randrange(1, len(part) - 1)
    wrong = rng.choice([letter for letter in _ARABIC_LETTERS if letter != part[position]])
    return part[:position] + wrong + part[position + 1 :]


def _latin_variant(part: str, rng: random.Random) -> str:
    text = part.replace("-", "")
    text = text.upper() if rng.random() < 0.5 else text.lower()
    for plain, accented in _ACCENTS.items():
        if plain in text:
            return text.replace(plain, accented, 1)
    return text


KINDS = (
    "arabic, variant spelling",
    "arabic, one letter wrong",
    "latin, case/accent/hyphen",
    "latin, father + family",
    "id number",
)


def _search_for(kind: str, person: dict[str, Any], rng: random.Random) -> str | None:
    """The query of this kind for this person, or None if the person's name does not allow it."""
    first_ar, family_ar = person["first_name_ar"], person["family_name_ar"]
    first_en, family_en = person["first_name_en"], person["family_name_en"]
    if kind == "arabic, variant spelling":
        return f"{_arabic_variant(first_ar, rng)} {_arabic_variant(family_ar, rng)}"
    if kind == "arabic, one letter wrong":
        long_parts = [part for part in (family_ar, first_ar) if len(part) >= 8 and " " not in part]
        if not long_parts:
            return None
        other = first_ar if long_parts[0] == family_ar else family_ar
        return f"{other} {_arabic_typo(long_parts[0], rng)}"
    if kind == "latin, case/accent/hyphen":
        return f"{_latin_variant(first_en, rng)} {_latin_variant(family_en, rng)}"
    if kind == "latin, father + family":
        return f"{person['father_name_en']} {family_en}" if person["father_name_en"] else None
    return str(person["id_number"])


def _searches(count: int, seed: int) -> list[tuple[str, str, int]]:
    """`count` searches (kind, query, person's pk), the kinds in turn, for persons drawn at
    random from the register."""
    from hawiya.registry.models import Person

    rng = random.Random(seed)  # choosing test data, not a secret
    ids = Person.objects.order_by("pk").values_list("pk", flat=True)
    first, last = ids.first(), ids.last()
    if first is None or last is None:
        raise SystemExit("the register is empty")
    fields = ("pk", "id_number", *Person.NAME_FIELDS)
    wanted = [rng.randint(first, last) for _ in range(count * 4)]
    drawn = list(Person.objects.filter(pk__in=wanted).values(*fields))
    rng.shuffle(drawn)
    searches: list[tuple[str, str, int]] = []
    for person in drawn:
        kind = KINDS[len(searches) % len(KINDS)]
        query = _search_for(kind, person, rng)
        if query is not None:
            searches.append((kind, query, int(person["pk"])))
        if len(searches) == count:
            break
    return searches


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _explain(query: str) -> str:
    from django.db import connection

    from hawiya.registry.selectors import SEARCH_PAGE_SIZE, person_search_queryset

    persons, _by_id = person_search_queryset(query)
    sql, params = persons[: SEARCH_PAGE_SIZE + 1].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


# Synthetic words added (then rolled back) to show the lexicon look-up at a real register's size.
GROWN_LEXICON_WORDS = 50_000


def _explain_lexicon(query: str) -> str:
    """EXPLAIN ANALYZE of the lexicon look-ups of the query's words that are no whole word of the
    lexicon: as planned today, then on a lexicon grown to a realistic size (rolled back)."""
    from django.db import connection, transaction

    from hawiya.registry.models import NameWord
    from hawiya.registry.name_search import search_tokens
    from hawiya.registry.selectors import close_name_words

    tokens = search_tokens(query)
    whole = set(NameWord.objects.filter(word__in=tokens).values_list("word", flat=True))
    plans: list[str] = []

    def explain_all(heading: str) -> None:
        with connection.cursor() as cursor:
            for token in tokens:
                if token in whole:
                    continue
                sql, params = close_name_words(token).query.sql_with_params()
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                plans.append(f"{heading}, the word {token!r}:")
                plans.extend(row[0] for row in cursor.fetchall())

    explain_all(f"lexicon of {NameWord.objects.count():,} words")
    with transaction.atomic():
        rng = random.Random(0)  # test data, not a secret
        letters = "ابتثجحخدذرزسشصضطظعغفقكلمنهويabcdefghijklmnopqrstuvwxyz"
        NameWord.add_words(
            "".join(rng.choices(letters, k=rng.randint(4, 10))) for _ in range(GROWN_LEXICON_WORDS)
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE registry_nameword")
        explain_all(f"lexicon grown to {NameWord.objects.count():,} words (rolled back)")
        transaction.set_rollback(True)
    with connection.cursor() as cursor:
        # The rolled-back words left dead rows at the table's end: VACUUM cuts them off, so that
        # the next run plans against the lexicon as it was (ANALYZE alone kept its larger size).
        cursor.execute("VACUUM ANALYZE registry_nameword")
    return "\n".join(plans)


def measure(searches_wanted: int, seed: int) -> None:
    import django

    sys.path.insert(0, str(ROOT / "src"))
    django.setup()
    from django.db import connection

    from hawiya.core.errors import ApplicationError
    from hawiya.registry.errors import SEARCH_TOO_BROAD
    from hawiya.registry.selectors import SEARCH_TIME_LIMIT_MS, person_search

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM registry_person")
        rows = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM registry_nameword")
        lexicon_words = cursor.fetchone()[0]
        cursor.execute(
            "SELECT pg_size_pretty(pg_table_size('registry_person')), "
            "pg_size_pretty(pg_relation_size('registry_person_search_words')), "
            "pg_size_pretty(pg_relation_size('registry_nameword_word_trgm'))"
        )
        table_size, words_index_size, lexicon_index_size = cursor.fetchone()
    searches = _searches(searches_wanted, seed)
    for _kind, query, _pk in searches[:WARM_UP_SEARCHES]:
        with contextlib.suppress(ApplicationError):
            person_search(query)
    timings: dict[str, list[float]] = defaultdict(list)
    on_first_page: dict[str, int] = defaultdict(int)
    too_broad: dict[str, int] = defaultdict(int)
    for kind, query, pk in searches:
        started = time.perf_counter()
        try:
            page = person_search(query)
        except ApplicationError as error:
            # Cut off by the search's time limit: the officer is asked for another part of the name.
            if error.code != SEARCH_TOO_BROAD:
                raise
            too_broad[kind] += 1
            timings[kind].append((time.perf_counter() - started) * 1000)
            continue
        timings[kind].append((time.perf_counter() - started) * 1000)
        on_first_page[kind] += any(person.pk == pk for person in page.persons)
    everything = [value for values in timings.values() for value in values]
    print(f"\nperson_search benchmark — PostgreSQL, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(
        f"rows in registry_person: {rows:,}   table {table_size}, words index {words_index_size}; "
        f"words in the lexicon (registry_nameword): {lexicon_words:,}, its trigram index {lexicon_index_size}"
    )
    print(f"{len(everything)} searches after {WARM_UP_SEARCHES} to warm up; milliseconds per search\n")
    print(
        f"{'kind':<28}{'n':>5}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}   sought person on page 1"
        f"   refused as too broad (time limit {SEARCH_TIME_LIMIT_MS} ms)"
    )
    for kind, values in [*sorted(timings.items()), ("all", everything)]:
        found = sum(on_first_page.values()) if kind == "all" else on_first_page[kind]
        refused = sum(too_broad.values()) if kind == "all" else too_broad[kind]
        print(
            f"{kind:<28}{len(values):>5}{statistics.median(values):>9.1f}{_percentile(values, 0.95):>9.1f}"
            f"{_percentile(values, 0.99):>9.1f}{max(values):>9.1f}   {found}/{len(values)}"
            f"{refused:>28}"
        )
    for prefix in ("arabic, variant", "arabic, one"):  # the exact-word path, then the fallback
        example = next(query for kind, query, _pk in searches if kind.startswith(prefix))
        print(f"\nEXPLAIN ANALYZE of the search {example!r}:\n{_explain(example)}")
    print(f"\nEXPLAIN ANALYZE of its lexicon look-ups:\n{_explain_lexicon(example)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    options = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database whose name contains 'bench'")
    if "bench" not in urlsplit(url).path:
        raise SystemExit("refusing: the benchmark drops its database, and its name has no 'bench'")
    if not options.reuse:
        _seed(url, options.persons, options.seed)
    os.environ.update(_environment(url))
    measure(options.searches, options.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
