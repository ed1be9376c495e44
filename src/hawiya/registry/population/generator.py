"""The generator of the synthetic population: households, persons, their documents and addresses,
built as plain rows from one seeded random stream (see the package's docstring for determinism)."""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Final, Generic, TypeVar

from django.db.models import Model

from hawiya.core.calendars import add_years, from_hijri, to_hijri
from hawiya.core.clock import RIYADH

from ..id_numbers import CITIZEN_PREFIX, RESIDENT_PREFIX, check_digit
from ..models import (
    SAUDI_NATIONALITY,
    SERIAL_PREFIXES,
    Calendar,
    DatePrecision,
    Document,
    DocumentKind,
    DocumentStatus,
    FamilyMember,
    FamilyRecord,
    NationalAddress,
    Person,
    Relation,
    Sex,
)
from ..name_search import search_name_of
from .data import (
    CITIES,
    GENERIC_STREETS,
    NATIONALITIES,
    OFFICES,
    SAUDI_FAMILY_NAMES,
    SAUDI_FEMALE_FIRST_NAMES,
    SAUDI_MALE_FIRST_NAMES,
    City,
    District,
    NamePair,
    Nationality,
)
from .demo import DEMO_ADDRESSES, DEMO_PERSONS, DemoPerson
from .parameters import (
    BIRTH_CERTIFICATE_LOSS_RATE,
    BORN_IN_HOUSEHOLD_CITY_SHARE,
    CARD_LAPSED_RATE,
    CARD_LOSS_RATE,
    CARD_LOST_NOW_RATE,
    CITIZEN_CHILDREN_WEIGHTS,
    CITIZEN_HOUSEHOLD_SHARE,
    DIGITAL_REGISTER_SINCE,
    ELDEST_SON_NAMED_AFTER_GRANDFATHER_SHARE,
    EMAIL_SHARE_OF_ADULTS,
    FAMILY_RECORD_LOSS_RATE,
    ID_CARD_MINIMUM_AGE,
    ID_CARD_VALIDITY_YEARS,
    LATE_BIRTH_REGISTRATION_BEFORE,
    OLDER_CITIZEN_BORN_BEFORE,
    PERSONS_PER_WRITE,
    RENEWAL_WINDOW_DAYS,
    RESIDENT_CHILD_BORN_IN_KINGDOM_SHARE,
    RESIDENT_CHILDREN_WEIGHTS,
    RESIDENT_SINGLE_SHARE,
    SPOUSE_SAME_FAMILY_SHARE,
    TEEN_MOBILE_SHARE,
    UNIT_NUMBER_SHARE,
    WIDOW_HOUSEHOLD_SHARE,
    YEAR_ONLY_BIRTH_SHARE_OF_OLDER_CITIZENS,
)

# Number ranges. Generated numbers never fall in the demo ranges, so demo persons can be added to
# any generated register: demo ID numbers are 1000000NNC / 2000000NNC, demo mobiles +9665000000NN
# (NN = the person's row in DEMO_PERSONS), demo serials and family-record numbers use the first
# DEMO_COUNTER_SPAN counters.
_CITIZEN_ID_BODIES: Final = (1_000_000, 20_000_000)  # 8 digits after the 1: 101…–119…
_RESIDENT_ID_BODIES: Final = (30_000_000, 60_000_000)  # 8 digits after the 2: 23…–25…
_MOBILE_PREFIXES: Final = ("50", "53", "54", "55", "56", "58", "59")
_MOBILE_SUBSCRIBERS: Final = (1_000_000, 10_000_000)
DEMO_COUNTER_SPAN: Final = 1000
# Serial and family-record numbers: counter × multiplier mod 10^k is a bijection (the multiplier is
# prime to 10), so numbers are unique without a lookup yet do not look sequential.
_SERIAL_MULTIPLIER: Final = 387_420_489  # 3^18
_SERIAL_MODULUS: Final = 10**9
_FAMILY_RECORD_MULTIPLIER: Final = 1_162_261_467  # 3^19
_FAMILY_RECORD_MODULUS: Final = 10**10
# Short addresses: region/city letters, a district letter, then a letter and the building number.
# Demo addresses end their letters with Z, which generated ones never use.
_DISTRICT_LETTERS: Final = "ABCDEFGHJKLMNPQRSTUVWXY"
_SHORT_ADDRESS_LAST_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXY"
_EMAIL_DOMAINS: Final = ("example.com", "example.net", "example.org")  # never a real mailbox
T = TypeVar("T")


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _at_riyadh_time(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=RIYADH)


class _WeightedChoice(Generic[T]):
    """A weighted choice drawing exactly one `random()`, with cumulative weights computed once."""

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cumulative = list(accumulate(weights))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect_right(self.cumulative, rng.random() * self.total)]


@dataclass(slots=True)
class _Draft:
    """A person being built: what the rows need, before any model instance exists."""

    pk: int
    id_number: str
    first: NamePair
    father: NamePair | None  # None: the passport has no father's name (some residents)
    grandfather: NamePair | None
    family: NamePair
    sex: str
    born: dt.date
    precision: str
    calendar: str
    birthplace: NamePair
    nationality: str
    died: dt.date | None = None
    relation: str | None = None  # to the head of the household; None for the head


@dataclass(slots=True)
class _Household:
    city: City
    head: _Draft
    members: list[_Draft]
    # The day the family record was issued; None for a single person, who heads no family.
    family_record_issued: dt.date | None = None

    @property
    def size(self) -> int:
        return 1 + len(self.members)


@dataclass(slots=True)
class _Version:
    """One version of a document in a holder's history."""

    issued: dt.date
    expires: dt.date | None
    status: str
    lost_at: dt.datetime | None = None


@dataclass(slots=True)
class _AddressDraft:
    city: City
    district: District
    street: NamePair
    building_number: str
    additional_number: str
    unit_number: str
    short_address: str


# A row as the database receives it; the columns of each table, in the order of its tuples.
Row = tuple[Any, ...]
PERSON_COLUMNS: Final = (
    "id",
    "id_number",
    "first_name_ar",
    "father_name_ar",
    "grandfather_name_ar",
    "family_name_ar",
    "first_name_en",
    "father_name_en",
    "grandfather_name_en",
    "family_name_en",
    "sex",
    "date_of_birth",
    "date_of_birth_precision",
    "date_of_birth_calendar",
    "place_of_birth_ar",
    "place_of_birth_en",
    "nationality",
    "date_of_death",
    "mobile",
    "email",
    "biometrics_captured_on",
    # Derived from the name parts above, as Person.save would (name_search.search_name_of).
    "search_name",
)


FAMILY_RECORD_COLUMNS: Final = ("id", "number", "head_id")
FAMILY_MEMBER_COLUMNS: Final = ("id", "family_record_id", "person_id", "relation")
DOCUMENT_COLUMNS: Final = (
    "id",
    "kind",
    "holder_id",
    "family_record_id",
    "serial_number",
    "version",
    "issue_date",
    "expiry_date",
    "issuing_office_id",
    "status",
    "reported_lost_at",
    "replaces_id",
)


ADDRESS_COLUMNS: Final = (
    "id",
    "person_id",
    "is_primary",
    "building_number",
    "street_ar",
    "street_en",
    "district_ar",
    "district_en",
    "city_ar",
    "city_en",
    "region",
    "postal_code",
    "additional_number",
    "unit_number",
    "short_address",
)


@dataclass
class _Batch:
    """Rows ready to be written, in an order that satisfies every foreign key."""

    persons: list[Row] = field(default_factory=list)  # PERSON_COLUMNS
    family_records: list[Row] = field(default_factory=list)  # FAMILY_RECORD_COLUMNS
    family_members: list[Row] = field(default_factory=list)  # FAMILY_MEMBER_COLUMNS
    documents: list[Row] = field(default_factory=list)  # DOCUMENT_COLUMNS
    addresses: list[Row] = field(default_factory=list)  # ADDRESS_COLUMNS


def _days(count: int) -> dt.timedelta:
    return dt.timedelta(days=count)


class PopulationBuilder:
    """Builds the rows of a register from one seed, as tuples. It never queries the database.

    `offices_by_code` gives the primary keys of the offices (created beforehand), `first_pks`
    the first primary key to use in each table written here.
    """

    def __init__(
        self,
        *,
        seed: int,
        as_of: dt.date,
        offices_by_code: dict[str, int],
        first_pks: dict[type[Model], int],
    ) -> None:
        # Synthetic data, not secrets: a seeded PRNG is the point (S311 does not apply).
        self.rng = random.Random(seed)  # noqa: S311
        self.as_of = as_of
        self.offices_by_code = offices_by_code
        # Office keys per region in the order of the OFFICES table, so that a choice by index
        # names the same office whatever order the database returned them in.
        city_region = {city.code: city.region for city in CITIES}
        self.offices_by_region: dict[str, list[int]] = {}
        for facts in OFFICES:
            self.offices_by_region.setdefault(city_region[facts.city_code], []).append(
                offices_by_code[facts.code]
            )
        self.next_pk = dict(first_pks)
        self.serial_counter = DEMO_COUNTER_SPAN
        self.family_record_counter = DEMO_COUNTER_SPAN
        self.demo_serial_counter = 1
        self.demo_family_record_counter = 1
        self.used_id_bodies: set[str] = set()
        self.used_mobiles: set[str] = set()
        self.used_short_addresses: set[str] = set()
        self.batch = _Batch()
        self.citizen_city = _WeightedChoice(CITIES, [city.citizen_weight for city in CITIES])
        self.resident_city = _WeightedChoice(CITIES, [city.resident_weight for city in CITIES])
        self.nationality = _WeightedChoice(NATIONALITIES, [nat.weight for nat in NATIONALITIES])
        self.citizen_children = _WeightedChoice(
            range(len(CITIZEN_CHILDREN_WEIGHTS)), CITIZEN_CHILDREN_WEIGHTS
        )
        self.resident_children = _WeightedChoice(
            range(len(RESIDENT_CHILDREN_WEIGHTS)), RESIDENT_CHILDREN_WEIGHTS
        )
        self.streets = {city.code: city.streets + GENERIC_STREETS for city in CITIES}

    # --- numbers ---------------------------------------------------------------------------------

    def _pk(self, model: type[Model]) -> int:
        pk = self.next_pk[model]
        self.next_pk[model] = pk + 1
        return pk

    def _id_number(self, *, citizen: bool) -> str:
        prefix, (low, high) = (
            (CITIZEN_PREFIX, _CITIZEN_ID_BODIES) if citizen else (RESIDENT_PREFIX, _RESIDENT_ID_BODIES)
        )
        while True:
            first_nine = f"{prefix}{self.rng.randrange(low, high):08d}"
            if first_nine not in self.used_id_bodies:
                self.used_id_bodies.add(first_nine)
                return first_nine + check_digit(first_nine)

    def _mobile(self) -> str:
        while True:
            prefix = self.rng.choice(_MOBILE_PREFIXES)
            number = f"+966{prefix}{self.rng.randrange(*_MOBILE_SUBSCRIBERS):07d}"
            if number not in self.used_mobiles:
                self.used_mobiles.add(number)
                return number

    def _serial(self, kind: str, *, demo: bool = False) -> str:
        if demo:
            counter, self.demo_serial_counter = self.demo_serial_counter, self.demo_serial_counter + 1
        else:
            counter, self.serial_counter = self.serial_counter, self.serial_counter + 1
        return f"{SERIAL_PREFIXES[kind]}{counter * _SERIAL_MULTIPLIER % _SERIAL_MODULUS:09d}"

    def _family_record_number(self, *, demo: bool = False) -> str:
        if demo:
            counter = self.demo_family_record_counter
            self.demo_family_record_counter += 1
        else:
            counter = self.family_record_counter
            self.family_record_counter += 1
        return f"{counter * _FAMILY_RECORD_MULTIPLIER % _FAMILY_RECORD_MODULUS:010d}"

    # --- dates -------------------------------------------------------------------------------------

    def _day_between(self, first: dt.date, last: dt.date) -> dt.date:
        return first + _days(self.rng.randint(0, max(0, (last - first).days)))

    def _birthday_for_age(self, youngest: int, oldest: int, typical: int) -> dt.date:
        age_in_days = self.rng.triangular(youngest * 365.25, (oldest + 1) * 365.25 - 2, typical * 365.25)
        return self.as_of - _days(int(age_in_days))

    def _moment(self, day: dt.date) -> dt.datetime:
        """A time of day when people report losses (07:00–22:59, Riyadh time)."""
        return _at_riyadh_time(day, self.rng.randint(7, 22), self.rng.randint(0, 59))

    def _citizen_birth_precision(self, born: dt.date) -> tuple[dt.date, str]:
        """Some older citizens' births were recorded by Hijri year only, on 1 Rajab of that year."""
        if born < OLDER_CITIZEN_BORN_BEFORE and self.rng.random() < YEAR_ONLY_BIRTH_SHARE_OF_OLDER_CITIZENS:
            hijri = to_hijri(born)
            if hijri is not None:
                # from_hijri answers a date subclass (hijridate.Gregorian); database drivers
                # adapt exact types only, so keep a plain date.
                placeholder = from_hijri(hijri.year, 7, 1)
                return dt.date(placeholder.year, placeholder.month, placeholder.day), DatePrecision.YEAR
        return born, DatePrecision.DAY

    # --- names and persons -------------------------------------------------------------------------

    def _other_than(self, names: Sequence[NamePair], avoid: NamePair | None) -> NamePair:
        """A name from the table, different from `avoid` (a son rarely bears his father's name)."""
        while True:
            name = self.rng.choice(names)
            if name != avoid:
                return name

    def _saudi_birthplace(self, city: City) -> NamePair:
        if self.rng.random() < BORN_IN_HOUSEHOLD_CITY_SHARE:
            return city.name_ar, city.name_en
        other = self.citizen_city.pick(self.rng)
        return other.name_ar, other.name_en

    def _citizen(
        self,
        *,
        sex: str,
        born: dt.date,
        city: City,
        family: NamePair | None = None,
        first: NamePair | None = None,
    ) -> _Draft:
        first_names = SAUDI_MALE_FIRST_NAMES if sex == Sex.MALE else SAUDI_FEMALE_FIRST_NAMES
        first = first or self.rng.choice(first_names)
        father = self._other_than(SAUDI_MALE_FIRST_NAMES, first)
        grandfather = self._other_than(SAUDI_MALE_FIRST_NAMES, father)
        born, precision = self._citizen_birth_precision(born)
        return _Draft(
            pk=self._pk(Person),
            id_number=self._id_number(citizen=True),
            first=first,
            father=father,
            grandfather=grandfather,
            family=family or self.rng.choice(SAUDI_FAMILY_NAMES),
            sex=sex,
            born=born,
            precision=precision,
            calendar=Calendar.HIJRI,
            birthplace=self._saudi_birthplace(city),
            nationality=SAUDI_NATIONALITY,
        )

    def _resident(
        self, *, nationality: Nationality, sex: str, born: dt.date, family: NamePair | None = None
    ) -> _Draft:
        first_names = nationality.male_first_names if sex == Sex.MALE else nationality.female_first_names
        first = self.rng.choice(first_names)
        father: NamePair | None = None
        grandfather: NamePair | None = None
        if self.rng.random() >= nationality.two_part_name_share:
            father = self._other_than(nationality.male_first_names, first)
            grandfather = self._other_than(nationality.male_first_names, father)
        return _Draft(
            pk=self._pk(Person),
            id_number=self._id_number(citizen=False),
            first=first,
            father=father,
            grandfather=grandfather,
            family=family or self.rng.choice(nationality.family_names),
            sex=sex,
            born=born,
            precision=DatePrecision.DAY,
            calendar=Calendar.GREGORIAN,
            birthplace=self.rng.choice(nationality.birthplaces),
            nationality=nationality.code,
        )

    def _wife_born(self, husband: _Draft) -> dt.date:
        """Up to twelve years younger than her husband, and at least 19."""
        return min(husband.born + _days(self.rng.randint(0, 12 * 365)), add_years(self.as_of, -19))

    def _children_birthdays(
        self, *, father_born: dt.date, mother_born: dt.date, count: int, last: dt.date
    ) -> list[dt.date]:
        """Births at least 18 years after both parents', about one to four years apart."""
        first = max(add_years(father_born, 20), add_years(mother_born, 18), add_years(self.as_of, -40))
        last = min(add_years(mother_born, 45), last)
        birthdays: list[dt.date] = []
        if count == 0 or first > last:
            return birthdays
        day = first + _days(self.rng.randint(0, 900))
        while len(birthdays) < count and day <= last:
            birthdays.append(day)
            day += _days(self.rng.randint(330, 1500))
        return birthdays

    def _children(
        self,
        *,
        father: _Draft,
        mother: _Draft,
        count: int,
        city: City,
        nationality: Nationality | None,
        last_birthday: dt.date,
    ) -> list[_Draft]:
        """Children carry their father's first name as their father's name, his father's as their
        grandfather's, and his family name."""
        children: list[_Draft] = []
        given: set[NamePair] = set()
        birthdays = self._children_birthdays(
            father_born=father.born, mother_born=mother.born, count=count, last=last_birthday
        )
        for born in birthdays:
            sex = Sex.MALE if self.rng.random() < 0.5 else Sex.FEMALE
            if nationality is None:
                names = SAUDI_MALE_FIRST_NAMES if sex == Sex.MALE else SAUDI_FEMALE_FIRST_NAMES
            else:
                names = nationality.male_first_names if sex == Sex.MALE else nationality.female_first_names
            first = self.rng.choice(names)
            # The eldest son is often named after his grandfather.
            if (
                sex == Sex.MALE
                and father.father is not None
                and not any(child.sex == Sex.MALE for child in children)
                and self.rng.random() < ELDEST_SON_NAMED_AFTER_GRANDFATHER_SHARE
            ):
                first = father.father
            while first in given or first == father.first:
                first = self.rng.choice(names)
            given.add(first)
            if nationality is None:
                birthplace = (city.name_ar, city.name_en)
                if self.rng.random() >= BORN_IN_HOUSEHOLD_CITY_SHARE + 0.15:
                    birthplace = self._saudi_birthplace(city)
            elif self.rng.random() < RESIDENT_CHILD_BORN_IN_KINGDOM_SHARE:
                birthplace = (city.name_ar, city.name_en)
            else:
                birthplace = self.rng.choice(nationality.birthplaces)
            children.append(
                _Draft(
                    pk=self._pk(Person),
                    id_number=self._id_number(citizen=nationality is None),
                    first=first,
                    father=father.first,
                    grandfather=father.father,
                    family=father.family,
                    sex=sex,
                    born=born,
                    precision=DatePrecision.DAY,
                    calendar=Calendar.HIJRI if nationality is None else Calendar.GREGORIAN,
                    birthplace=birthplace,
                    nationality=SAUDI_NATIONALITY if nationality is None else nationality.code,
                    relation=Relation.SON if sex == Sex.MALE else Relation.DAUGHTER,
                )
            )
        return children

    def _marriage_day(self, husband: _Draft, wife: _Draft, children: list[_Draft]) -> dt.date:
        earliest = max(add_years(husband.born, 20), add_years(wife.born, 18))
        if children:
            day = max(children[0].born - _days(self.rng.randint(200, 1000)), earliest)
        else:
            day = self._day_between(earliest, self.as_of)
        return min(day, self.as_of)

    # --- households --------------------------------------------------------------------------------

    def household(self, limit: int) -> _Household:
        """One household of at most `limit` persons (the last one is cut to fit N exactly)."""
        if self.rng.random() < CITIZEN_HOUSEHOLD_SHARE:
            city = self.citizen_city.pick(self.rng)
            if limit >= 2 and self.rng.random() < WIDOW_HOUSEHOLD_SHARE:
                return self._widow_household(city, limit)
            return self._citizen_household(city, limit)
        return self._resident_household(self.resident_city.pick(self.rng), limit)

    def _citizen_household(self, city: City, limit: int) -> _Household:
        head = self._citizen(sex=Sex.MALE, born=self._birthday_for_age(25, 80, 40), city=city)
        if limit == 1:
            return _Household(city, head, [])
        same_family = self.rng.random() < SPOUSE_SAME_FAMILY_SHARE
        wife = self._citizen(
            sex=Sex.FEMALE, born=self._wife_born(head), city=city, family=head.family if same_family else None
        )
        wife.relation = Relation.SPOUSE
        count = min(self.citizen_children.pick(self.rng), limit - 2)
        children = self._children(
            father=head,
            mother=wife,
            count=count,
            city=city,
            nationality=None,
            last_birthday=self.as_of - _days(20),
        )
        return _Household(city, head, [wife, *children], self._marriage_day(head, wife, children))

    def _widow_household(self, city: City, limit: int) -> _Household:
        """A widow heads the family; her late husband is in the register, with a death certificate."""
        widow = self._citizen(sex=Sex.FEMALE, born=self._birthday_for_age(30, 80, 52), city=city)
        husband_born = widow.born - _days(self.rng.randint(0, 12 * 365))
        husband = self._citizen(sex=Sex.MALE, born=husband_born, city=city)
        husband.relation = Relation.SPOUSE
        count = min(self.citizen_children.pick(self.rng), limit - 2)
        children = self._children(
            father=husband,
            mother=widow,
            count=count,
            city=city,
            nationality=None,
            last_birthday=self.as_of - _days(400),
        )
        after = max(add_years(husband.born, 30), children[-1].born + _days(30) if children else husband.born)
        before = self.as_of - _days(15)
        husband.died = self._day_between(min(after, before), before)
        record_issued = min(husband.died + _days(self.rng.randint(10, 120)), self.as_of)
        return _Household(city, widow, [husband, *children], record_issued)

    def _resident_household(self, city: City, limit: int) -> _Household:
        nationality = self.nationality.pick(self.rng)
        if limit == 1 or self.rng.random() < RESIDENT_SINGLE_SHARE:
            sex = Sex.FEMALE if self.rng.random() < nationality.female_worker_share else Sex.MALE
            worker = self._resident(nationality=nationality, sex=sex, born=self._birthday_for_age(22, 60, 33))
            return _Household(city, worker, [])
        head = self._resident(nationality=nationality, sex=Sex.MALE, born=self._birthday_for_age(25, 60, 38))
        wife = self._resident(
            nationality=nationality,
            sex=Sex.FEMALE,
            born=self._wife_born(head),
            family=head.family if nationality.wife_takes_family_name else None,
        )
        wife.relation = Relation.SPOUSE
        count = min(self.resident_children.pick(self.rng), limit - 2)
        children = self._children(
            father=head,
            mother=wife,
            count=count,
            city=city,
            nationality=nationality,
            last_birthday=self.as_of - _days(20),
        )
        return _Household(city, head, [wife, *children], self._marriage_day(head, wife, children))

    # --- documents ---------------------------------------------------------------------------------

    def _certificate_versions(self, issued: dt.date, loss_rate: float) -> list[_Version]:
        """A certificate, sometimes lost once and reissued. The lost version stays in the register
        as services.document_reissue leaves it: `replaced`, with the time the loss was reported."""
        if self.rng.random() < loss_rate and (self.as_of - issued).days > 90:
            lost_on = self._day_between(issued + _days(30), self.as_of - _days(40))
            reissued = lost_on + _days(self.rng.randint(1, 20))
            return [
                _Version(issued, None, DocumentStatus.REPLACED, self._moment(lost_on)),
                _Version(reissued, None, DocumentStatus.VALID),
            ]
        return [_Version(issued, None, DocumentStatus.VALID)]

    def _birth_certificate_issued(self, born: dt.date) -> dt.date:
        issued = born + _days(self.rng.randint(3, 60))
        if born < LATE_BIRTH_REGISTRATION_BEFORE:
            # Registered late, when the register reached the family's town.
            issued = max(issued, self._day_between(dt.date(1978, 1, 1), dt.date(1990, 12, 31)))
        return min(issued, self.as_of)

    def _id_card_versions(self, born: dt.date, last_day: dt.date, *, deceased: bool) -> list[_Version]:
        """A holder's national ID cards: issued from 15, renewed every ten years (in the last
        six months), sometimes lost and replaced; the current one valid (or cancelled at death,
        lost and awaiting a replacement, or expired and not renewed)."""
        eligible = add_years(born, ID_CARD_MINIMUM_AGE)
        if eligible > last_day:
            return []
        issued = eligible + _days(self.rng.randint(0, min(700, (last_day - eligible).days)))
        if issued < DIGITAL_REGISTER_SINCE:
            issued = min(DIGITAL_REGISTER_SINCE + _days(self.rng.randint(0, 1800)), last_day)
        versions: list[_Version] = []
        while True:
            expires = add_years(issued, ID_CARD_VALIDITY_YEARS)
            if self.rng.random() < CARD_LOSS_RATE:
                lost_on = issued + _days(self.rng.randint(30, 3600))
                replaced_on = lost_on + _days(self.rng.randint(1, 30))
                if replaced_on <= last_day:
                    versions.append(
                        # Lost, then reissued: `replaced`, keeping its report time (as the service does).
                        _Version(issued, expires, DocumentStatus.REPLACED, self._moment(lost_on))
                    )
                    issued = replaced_on
                    continue
            renewed_on = expires - _days(self.rng.randint(0, RENEWAL_WINDOW_DAYS))
            if renewed_on > last_day:
                break
            if (
                not deceased
                and expires <= last_day
                and (last_day - expires).days < 730
                and self.rng.random() < CARD_LAPSED_RATE
            ):
                versions.append(_Version(issued, expires, DocumentStatus.EXPIRED))
                return versions
            versions.append(_Version(issued, expires, DocumentStatus.REPLACED))
            issued = renewed_on
        if deceased:
            versions.append(_Version(issued, expires, DocumentStatus.CANCELLED))
        elif (last_day - issued).days > 60 and self.rng.random() < CARD_LOST_NOW_RATE:
            lost_on = last_day - _days(self.rng.randint(1, 45))
            versions.append(_Version(issued, expires, DocumentStatus.REPORTED_LOST, self._moment(lost_on)))
        else:
            versions.append(_Version(issued, expires, DocumentStatus.VALID))
        return versions

    def _documents(
        self,
        *,
        kind: str,
        holder_pk: int,
        versions: list[_Version],
        offices: list[int],
        family_record_pk: int | None = None,
        demo: bool = False,
    ) -> None:
        """The rows of one document's versions, each replacing the one before."""
        previous: int | None = None
        for number, version in enumerate(versions, start=1):
            pk = self._pk(Document)
            self.batch.documents.append(
                (
                    pk,
                    str(kind),
                    holder_pk,
                    family_record_pk,
                    self._serial(kind, demo=demo),
                    number,
                    version.issued,
                    version.expires,
                    offices[0] if demo else self.rng.choice(offices),
                    str(version.status),
                    version.lost_at,
                    previous,
                )
            )
            previous = pk

    # --- addresses ---------------------------------------------------------------------------------

    def _household_address(self, city: City) -> _AddressDraft:
        district_index = self.rng.randrange(len(city.districts))
        street = self.rng.choice(self.streets[city.code])
        while True:
            building = f"{self.rng.randint(1000, 9999)}"
            short = (
                f"{city.short_address_letters}{_DISTRICT_LETTERS[district_index]}"
                f"{self.rng.choice(_SHORT_ADDRESS_LAST_LETTERS)}{building}"
            )
            if short not in self.used_short_addresses:
                self.used_short_addresses.add(short)
                break
        unit = f"{self.rng.randint(1, 24)}" if self.rng.random() < UNIT_NUMBER_SHARE else ""
        return _AddressDraft(
            city=city,
            district=city.districts[district_index],
            street=street,
            building_number=building,
            additional_number=f"{self.rng.randint(1000, 9999)}",
            unit_number=unit,
            short_address=short,
        )

    def _address_row(self, person_pk: int, address: _AddressDraft) -> Row:
        return (
            self._pk(NationalAddress),
            person_pk,
            True,
            address.building_number,
            address.street[0],
            address.street[1],
            address.district.name_ar,
            address.district.name_en,
            address.city.name_ar,
            address.city.name_en,
            address.city.region.value,
            address.district.postal_code,
            address.additional_number,
            address.unit_number,
            address.short_address,
        )

    # --- rows --------------------------------------------------------------------------------------

    def _email(self, draft: _Draft) -> str:
        first = "".join(char for char in draft.first[1].lower() if char.isascii() and char.isalpha())
        family = "".join(char for char in draft.family[1].lower() if char.isascii() and char.isalpha())
        return f"{first}.{family}{draft.born.year % 100:02d}@{self.rng.choice(_EMAIL_DOMAINS)}"

    def _person_row(
        self, draft: _Draft, *, mobile: str, email: str, biometrics_captured_on: dt.date | None
    ) -> Row:
        father = draft.father or ("", "")
        grandfather = draft.grandfather or ("", "")
        # In Person.NAME_FIELDS order (Arabic parts, then Latin), as PERSON_COLUMNS lists them.
        names = (
            draft.first[0],
            father[0],
            grandfather[0],
            draft.family[0],
            draft.first[1],
            father[1],
            grandfather[1],
            draft.family[1],
        )
        return (
            draft.pk,
            draft.id_number,
            *names,
            str(draft.sex),
            draft.born,
            str(draft.precision),
            str(draft.calendar),
            draft.birthplace[0],
            draft.birthplace[1],
            draft.nationality,
            draft.died,
            mobile,
            email,
            biometrics_captured_on,
            # Each part's words are cached (name_search), so this is a join per row.
            search_name_of(names),
        )

    def _emit_person(self, draft: _Draft, offices: list[int], address: _AddressDraft | None) -> None:
        alive = draft.died is None
        last_day = draft.died or self.as_of
        birth_certificate = self._certificate_versions(
            self._birth_certificate_issued(draft.born), BIRTH_CERTIFICATE_LOSS_RATE
        )
        self._documents(
            kind=DocumentKind.BIRTH_CERTIFICATE,
            holder_pk=draft.pk,
            versions=birth_certificate,
            offices=offices,
        )
        cards = self._id_card_versions(draft.born, last_day, deceased=not alive)
        self._documents(
            kind=DocumentKind.NATIONAL_ID_CARD, holder_pk=draft.pk, versions=cards, offices=offices
        )
        if draft.died is not None:
            issued = min(draft.died + _days(self.rng.randint(1, 10)), self.as_of)
            self._documents(
                kind=DocumentKind.DEATH_CERTIFICATE,
                holder_pk=draft.pk,
                versions=[_Version(issued, None, DocumentStatus.VALID)],
                offices=offices,
            )
        age = age_on(draft.born, self.as_of)
        mobile = email = ""
        if alive and (age >= 18 or (age >= ID_CARD_MINIMUM_AGE and self.rng.random() < TEEN_MOBILE_SHARE)):
            mobile = self._mobile()
            if age >= 18 and self.rng.random() < EMAIL_SHARE_OF_ADULTS:
                email = self._email(draft)
        # Biometrics are captured when a card is issued; children and the dead have none on file.
        biometrics = cards[-1].issued if alive and cards else None
        self.batch.persons.append(
            self._person_row(draft, mobile=mobile, email=email, biometrics_captured_on=biometrics)
        )
        if alive and address is not None and age >= ID_CARD_MINIMUM_AGE:
            self.batch.addresses.append(self._address_row(draft.pk, address))

    def emit(self, household: _Household) -> None:
        """The rows of a household: persons, family record and members, documents, addresses."""
        offices = self.offices_by_region[household.city.region]
        address = self._household_address(household.city)
        if household.family_record_issued is not None:
            record_pk = self._pk(FamilyRecord)
            self.batch.family_records.append((record_pk, self._family_record_number(), household.head.pk))
            for member in household.members:
                if member.relation is None:
                    raise ValueError(f"household member {member.id_number} has no relation to the head")
                self.batch.family_members.append(
                    (self._pk(FamilyMember), record_pk, member.pk, str(member.relation))
                )
            self._documents(
                kind=DocumentKind.FAMILY_RECORD,
                holder_pk=household.head.pk,
                versions=self._certificate_versions(household.family_record_issued, FAMILY_RECORD_LOSS_RATE),
                offices=offices,
                family_record_pk=record_pk,
            )
        for draft in (household.head, *household.members):
            self._emit_person(draft, offices, address)

    def batches(self, persons: int) -> Iterator[_Batch]:
        """Exactly `persons` persons, household by household, in batches of whole households."""
        remaining = persons
        while remaining > 0:
            household = self.household(remaining)
            remaining -= household.size
            self.emit(household)
            if len(self.batch.persons) >= PERSONS_PER_WRITE:
                yield self._take_batch()
        if self.batch.persons:
            yield self._take_batch()

    def _take_batch(self) -> _Batch:
        batch, self.batch = self.batch, _Batch()
        return batch

    # --- demo persons ------------------------------------------------------------------------------

    def demo_batch(self) -> _Batch:
        """The rows of DEMO_PERSONS. Uses no random draw, so the generated register is the same
        with or without them."""
        pks = {person.key: self._pk(Person) for person in DEMO_PERSONS}
        by_key = {person.key: person for person in DEMO_PERSONS}
        records: dict[str, int] = {}
        for person in DEMO_PERSONS:
            if person.head_of_family:
                records[person.key] = self._pk(FamilyRecord)
                self.batch.family_records.append(
                    (records[person.key], self._family_record_number(demo=True), pks[person.key])
                )
        for person in DEMO_PERSONS:
            if person.family_of is not None and person.relation is not None:
                self.batch.family_members.append(
                    (self._pk(FamilyMember), records[person.family_of], pks[person.key], str(person.relation))
                )
        for person in DEMO_PERSONS:
            self._emit_demo_person(
                person, pk=pks[person.key], record_pk=records.get(person.key), by_key=by_key
            )
        return self._take_batch()

    def _demo_died(self, person: DemoPerson) -> dt.date | None:
        return None if person.died_days_ago is None else self.as_of - _days(person.died_days_ago)

    def _demo_id_cards(self, person: DemoPerson) -> list[_Version]:
        if person.id_card == "none":
            return []
        issued = self.as_of - _days(person.id_card_issued_days_ago)
        expires = add_years(issued, ID_CARD_VALIDITY_YEARS)
        if person.id_card == "lost_once":
            reissued = self.as_of - _days(390)
            return [
                _Version(
                    issued, expires, DocumentStatus.REPLACED, _at_riyadh_time(self.as_of - _days(400), 10, 15)
                ),
                _Version(reissued, add_years(reissued, ID_CARD_VALIDITY_YEARS), DocumentStatus.VALID),
            ]
        status = {
            "valid": DocumentStatus.VALID,
            "lost_now": DocumentStatus.REPORTED_LOST,
            "expired": DocumentStatus.EXPIRED,
            "cancelled": DocumentStatus.CANCELLED,
        }[person.id_card]
        lost_at = _at_riyadh_time(self.as_of - _days(5), 9, 30) if person.id_card == "lost_now" else None
        return [_Version(issued, expires, status, lost_at)]

    def _emit_demo_person(
        self, person: DemoPerson, *, pk: int, record_pk: int | None, by_key: dict[str, DemoPerson]
    ) -> None:
        address = DEMO_ADDRESSES[person.address] if person.address is not None else None
        if address is None and person.family_of is not None:
            # Children and the dead have no address of their own; their office is the family's.
            address = DEMO_ADDRESSES.get(by_key[person.family_of].address or "")
        office_code = {"riyadh": "riyadh-north", "jeddah": "jeddah-north"}[
            address.city_code if address else "riyadh"
        ]
        offices = [self.offices_by_code[office_code]]
        died = self._demo_died(person)
        born_issued = (
            person.date_of_birth + _days(7)
            if person.date_of_birth >= LATE_BIRTH_REGISTRATION_BEFORE
            else dt.date(1981, 5, 17)
        )
        self._documents(
            kind=DocumentKind.BIRTH_CERTIFICATE,
            holder_pk=pk,
            versions=[_Version(born_issued, None, DocumentStatus.VALID)],
            offices=offices,
            demo=True,
        )
        cards = self._demo_id_cards(person)
        self._documents(
            kind=DocumentKind.NATIONAL_ID_CARD, holder_pk=pk, versions=cards, offices=offices, demo=True
        )
        if record_pk is not None:
            # The widow's record was reissued to her after her husband's death.
            late_spouse = [
                self._demo_died(member)
                for member in DEMO_PERSONS
                if member.family_of == person.key and member.died_days_ago is not None
            ]
            record_issued = (
                late_spouse[0] + _days(30) if late_spouse and late_spouse[0] else dt.date(2012, 4, 1)
            )
            self._documents(
                kind=DocumentKind.FAMILY_RECORD,
                holder_pk=pk,
                versions=[_Version(record_issued, None, DocumentStatus.VALID)],
                offices=offices,
                family_record_pk=record_pk,
                demo=True,
            )
        if died is not None:
            self._documents(
                kind=DocumentKind.DEATH_CERTIFICATE,
                holder_pk=pk,
                versions=[_Version(died + _days(3), None, DocumentStatus.VALID)],
                offices=offices,
                demo=True,
            )
        citizen = person.nationality == SAUDI_NATIONALITY
        draft = _Draft(
            pk=pk,
            id_number=person.id_number,
            first=person.first_name,
            father=person.father_name,
            grandfather=person.grandfather_name,
            family=person.family_name,
            sex=person.sex,
            born=person.date_of_birth,
            precision=person.date_of_birth_precision,
            calendar=Calendar.HIJRI if citizen else Calendar.GREGORIAN,
            birthplace=person.birthplace,
            nationality=person.nationality,
            died=died,
        )
        biometrics = cards[-1].issued if died is None and cards else None
        self.batch.persons.append(
            self._person_row(
                draft, mobile=person.mobile, email=person.email, biometrics_captured_on=biometrics
            )
        )
        if person.address is not None and address is not None:
            city = next(city for city in CITIES if city.code == address.city_code)
            district = next(
                district for district in city.districts if district.name_en == address.district_en
            )
            self.batch.addresses.append(
                self._address_row(
                    pk,
                    _AddressDraft(
                        city=city,
                        district=district,
                        street=address.street,
                        building_number=address.building_number,
                        additional_number=address.additional_number,
                        unit_number=address.unit_number,
                        short_address=address.short_address,
                    ),
                )
            )
