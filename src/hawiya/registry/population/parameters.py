"""What the synthetic population is tuned by: the day it describes, the shares and rates of its
households, persons and documents (tuned so that 100,000 persons hold ~70% citizens, ~1%
deceased), the ID card's rules, and the sizes of a load."""

from __future__ import annotations

import datetime as dt
from typing import Final

# The day the register describes. Fixed, so that a seed always gives the same register; ID cards
# marked valid expire after it. `seed_population --as-of` moves it.
POPULATION_AS_OF: Final = dt.date(2026, 11, 1)
CITIZEN_HOUSEHOLD_SHARE: Final = 0.5
WIDOW_HOUSEHOLD_SHARE: Final = 0.075  # of citizen households: the late husband is in the register
RESIDENT_SINGLE_SHARE: Final = 0.6  # of resident households: a worker without family in the Kingdom
CITIZEN_CHILDREN_WEIGHTS: Final = (10, 12, 18, 20, 18, 12, 10)  # 0..6 children
RESIDENT_CHILDREN_WEIGHTS: Final = (20, 30, 30, 15, 5)  # 0..4 children
SPOUSE_SAME_FAMILY_SHARE: Final = 0.35  # marriages within the family (cousins)
ELDEST_SON_NAMED_AFTER_GRANDFATHER_SHARE: Final = 0.3
YEAR_ONLY_BIRTH_SHARE_OF_OLDER_CITIZENS: Final = 0.03
# Older citizens: born before 1 Muharram 1400 AH, when many births were recorded by year only.
OLDER_CITIZEN_BORN_BEFORE: Final = dt.date(1979, 11, 20)
BORN_IN_HOUSEHOLD_CITY_SHARE: Final = 0.7
RESIDENT_CHILD_BORN_IN_KINGDOM_SHARE: Final = 0.6
EMAIL_SHARE_OF_ADULTS: Final = 0.4
TEEN_MOBILE_SHARE: Final = 0.6  # of persons aged 15-17; every adult has a mobile
UNIT_NUMBER_SHARE: Final = 0.45  # addresses in a block of flats
# ID cards: a national ID card is issued from 15 and lasts 10 years; the register keeps the cards
# issued since it went digital (earlier paper cards are not in it).
ID_CARD_MINIMUM_AGE: Final = 15
ID_CARD_VALIDITY_YEARS: Final = 10
DIGITAL_REGISTER_SINCE: Final = dt.date(2006, 1, 1)
RENEWAL_WINDOW_DAYS: Final = 180  # renewal is allowed in the last 180 days before expiry
CARD_LOSS_RATE: Final = 0.05  # per card: lost once during its life, then replaced
CARD_LAPSED_RATE: Final = 0.1  # of cards that expired in the last two years: not renewed (status expired)
CARD_LOST_NOW_RATE: Final = 0.008  # of living card holders: lost recently, replacement not issued yet
BIRTH_CERTIFICATE_LOSS_RATE: Final = 0.005
FAMILY_RECORD_LOSS_RATE: Final = 0.01
# Births before this year were mostly registered late, when the civil register reached the town.
LATE_BIRTH_REGISTRATION_BEFORE: Final = dt.date(1980, 1, 1)
# How many persons are built before they are written; bounds memory, not the transaction.
PERSONS_PER_WRITE: Final = 5000
BULK_BATCH_SIZE: Final = 2000
# A large load, from this many persons: the rows are built in a child process while this one
# writes (population/pipeline.py), and on PostgreSQL the tables' secondary indexes and foreign
# keys are dropped and built again at the end (population/deferred_indexes.py). Below it, the
# fork and the rebuilds cost more than they save.
LARGE_LOAD_FROM_PERSONS: Final = 20_000
# SQLite page cache during the load, in KiB (PRAGMA cache_size takes it negated): the random-order
# unique indexes (ID numbers, serials) then stay in memory instead of being re-read page by page.
SQLITE_LOAD_CACHE_KIB: Final = 262_144
