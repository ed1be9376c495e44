"""`manage.py seed_population --persons N --seed S [--demo] [--if-empty] [--as-of DAY]`.

Fills an empty civil register with a deterministic synthetic population (registry/population/).
`make run` calls it with --if-empty, so the second start finds the register seeded and goes on.
"""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hawiya.core.clock import today
from hawiya.registry.population.parameters import POPULATION_AS_OF
from hawiya.registry.population.writer import RegisterNotEmpty, seed_population


def _as_of(value: str) -> dt.date:
    if value == "today":
        return today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ArgumentTypeError(f"expected a day as YYYY-MM-DD or 'today', not {value!r}") from exc


def _persons(value: str) -> int:
    try:
        count = int(value)
    except ValueError as exc:
        raise ArgumentTypeError(f"expected a whole number of persons, not {value!r}") from exc
    if count < 0:
        raise ArgumentTypeError("the number of persons cannot be negative")
    return count


class Command(BaseCommand):
    help = (
        "Seed an empty civil register with N synthetic persons (households, documents with their "
        "history, National Addresses, civil-affairs offices). The same --seed and --persons always "
        "give the same register."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--persons", type=_persons, required=True, help="how many generated persons, exactly"
        )
        parser.add_argument("--seed", type=int, default=1, help="the seed of the generator (default 1)")
        parser.add_argument(
            "--demo",
            action="store_true",
            help="also create the named demo persons (fixed ID numbers, listed in the README)",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing, successfully, when the register already holds persons",
        )
        parser.add_argument(
            "--as-of",
            type=_as_of,
            default=POPULATION_AS_OF,
            help=f"the day the register describes: YYYY-MM-DD or 'today' (default {POPULATION_AS_OF})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = seed_population(
                persons=options["persons"], seed=options["seed"], demo=options["demo"], as_of=options["as_of"]
            )
        except RegisterNotEmpty as exc:
            if options["if_empty"]:
                self.stdout.write(f"register already seeded: {exc.persons} persons")
                return
            raise CommandError(
                f"The register already holds {exc.persons} persons; seed_population only fills an empty "
                "register, because generated ID numbers could collide with existing ones. Use --if-empty "
                "to skip seeding when persons exist, or start from an empty database."
            ) from exc
        if options["verbosity"] >= 2:
            for name, seconds in sorted(report.index_seconds.items(), key=lambda item: -item[1]):
                self.stdout.write(f"built {name} in {seconds:.1f} s")
        self.stdout.write(report.summary())
