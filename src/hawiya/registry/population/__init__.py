"""The synthetic civil register: a deterministic population for demos, tests and benchmarks.

`seed_population(persons=N, seed=S)` writes exactly N persons in households (a head, a spouse,
children; single resident workers), with their documents (birth certificates, national ID cards
with their version history, family records, death certificates), National Addresses and the
civil-affairs offices that issued the documents. `demo=True` adds the named demo persons of
`DEMO_PERSONS`, whose ID numbers the README lists and other features sign in with.

Determinism: every random choice comes from one `random.Random(seed)`, consumed in a fixed order,
and every date is computed from `as_of` (a fixed day, never the clock), so the same seed, number
of persons and as-of day give the same register, value for value. The rows' `created_at` and
`updated_at` are the only exception: they record when the rows were written.

Speed: rows are built as plain tuples without any query, primary keys assigned here so that
documents point at persons and at the versions they replace without reading anything back, and
written in one transaction by one prepared INSERT per table (`executemany`; COPY on PostgreSQL),
which is several times faster than `bulk_create` at this size (see `_TableWriter`). Nothing here
calls `save()` or `full_clean()`; the database's CHECK and UNIQUE constraints still hold every
row, and the tests run the model validators over what this module writes.

The package, module by module: `parameters` (the as-of day, the shares and rates the population
is tuned by, the ID card's rules, the sizes of a load), `data` (the facts it draws from: cities and
districts, names, nationalities, the offices), `demo` (the named demo persons), `generator` (the
households, persons, documents and addresses, built as rows) and `writer` (the offices, the rows
into the tables, and `seed_population`). This package re-exports the entry points.
"""

from .demo import DEMO_PERSONS
from .parameters import POPULATION_AS_OF
from .writer import RegisterNotEmpty, SeedReport, ensure_offices, seed_population

__all__ = [
    "DEMO_PERSONS",
    "POPULATION_AS_OF",
    "RegisterNotEmpty",
    "SeedReport",
    "ensure_offices",
    "seed_population",
]
