"""The named demo persons (and their addresses and fines): fixed data for the README, the demo and
the end-to-end tests, written beside the generated population when `seed_population(demo=True)`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from ..models import SAUDI_NATIONALITY, DatePrecision, Relation, Sex
from .data import NamePair
from .parameters import ID_CARD_VALIDITY_YEARS


@dataclass(frozen=True)
class DemoAddress:
    city_code: str
    district_en: str
    street: NamePair
    building_number: str
    additional_number: str
    unit_number: str
    short_address: str


@dataclass(frozen=True)
class DemoPerson:
    """A named person with fixed data, for the README, the demo and the end-to-end tests."""

    key: str
    id_number: str
    first_name: NamePair
    father_name: NamePair
    grandfather_name: NamePair
    family_name: NamePair
    sex: str
    date_of_birth: dt.date
    mobile: str
    what_is_special: str
    nationality: str = SAUDI_NATIONALITY
    date_of_birth_precision: str = DatePrecision.DAY
    birthplace: NamePair = ("الرياض", "Riyadh")
    email: str = ""
    address: str | None = None  # a DEMO_ADDRESSES key; None: no National Address
    # Family: the head's key and the relation to the head; the head has head_of=its own key.
    head_of_family: bool = False
    family_of: str | None = None
    relation: str | None = None
    # The ID card's story, counted back from the as-of day (see _demo_id_cards).
    id_card: str = "valid"  # valid | lost_once | lost_now | expired | cancelled | none
    id_card_issued_days_ago: int = 700
    died_days_ago: int | None = None

    @property
    def full_name_ar(self) -> str:
        return " ".join(
            p[0] for p in (self.first_name, self.father_name, self.grandfather_name, self.family_name)
        )

    @property
    def full_name_en(self) -> str:
        return " ".join(
            p[1] for p in (self.first_name, self.father_name, self.grandfather_name, self.family_name)
        )


DEMO_ADDRESSES: Final[dict[str, DemoAddress]] = {
    "riyadh_yasmin": DemoAddress(
        "riyadh", "Al Yasmin", ("شارع الأمير سلطان", "Prince Sultan Street"), "2929", "8538", "", "RRDZ2929"
    ),
    "riyadh_malaz": DemoAddress(
        "riyadh", "Al Malaz", ("شارع الجامعة", "University Street"), "3184", "7261", "12", "RRBZ3184"
    ),
    "riyadh_naseem": DemoAddress(
        "riyadh", "Al Naseem", ("شارع الأندلس", "Al Andalus Street"), "6412", "2045", "", "RRHZ6412"
    ),
    "riyadh_olaya": DemoAddress(
        "riyadh", "Al Olaya", ("طريق الملك فهد", "King Fahd Road"), "7596", "3310", "4", "RRAZ7596"
    ),
    "jeddah_rawdah": DemoAddress(
        "jeddah", "Al Rawdah", ("شارع التحلية", "Al Tahlia Street"), "4417", "9012", "7", "JEAZ4417"
    ),
    "jeddah_safa": DemoAddress(
        "jeddah", "Al Safa", ("شارع صاري", "Sari Street"), "5260", "1873", "", "JEBZ5260"
    ),
}


# Fixed ID numbers (valid check digits) from the demo ranges; `test_population` checks each one.
DEMO_PERSONS: Final[tuple[DemoPerson, ...]] = (
    DemoPerson(
        key="head_of_family",
        id_number="1000000016",
        first_name=("عبدالله", "Abdullah"),
        father_name=("محمد", "Mohammed"),
        grandfather_name=("سعد", "Saad"),
        family_name=("القحطاني", "Al-Qahtani"),
        sex=Sex.MALE,
        date_of_birth=dt.date(1984, 3, 14),
        mobile="+966500000001",
        email="abdullah.alqahtani@example.com",
        address="riyadh_yasmin",
        head_of_family=True,
        what_is_special="Citizen, head of a family (wife, son, daughter) holding the family record",
        id_card_issued_days_ago=1100,
    ),
    DemoPerson(
        key="spouse",
        id_number="1000000024",
        first_name=("نورة", "Noura"),
        father_name=("فهد", "Fahad"),
        grandfather_name=("ناصر", "Nasser"),
        family_name=("العتيبي", "Al-Otaibi"),
        sex=Sex.FEMALE,
        date_of_birth=dt.date(1988, 9, 2),
        mobile="+966500000002",
        address="riyadh_yasmin",
        family_of="head_of_family",
        relation=Relation.SPOUSE,
        what_is_special="Citizen, the head of family's wife (spouse in his family record)",
        id_card_issued_days_ago=800,
    ),
    DemoPerson(
        key="son",
        id_number="1000000032",
        first_name=("سعد", "Saad"),
        father_name=("عبدالله", "Abdullah"),
        grandfather_name=("محمد", "Mohammed"),
        family_name=("القحطاني", "Al-Qahtani"),
        sex=Sex.MALE,
        date_of_birth=dt.date(2014, 6, 11),
        mobile="",
        family_of="head_of_family",
        relation=Relation.SON,
        id_card="none",
        what_is_special="Child (12) of the head of family: birth certificate, no ID card, no mobile",
    ),
    DemoPerson(
        key="daughter",
        id_number="1000000040",
        first_name=("سارة", "Sarah"),
        father_name=("عبدالله", "Abdullah"),
        grandfather_name=("محمد", "Mohammed"),
        family_name=("القحطاني", "Al-Qahtani"),
        sex=Sex.FEMALE,
        date_of_birth=dt.date(2018, 2, 25),
        mobile="",
        family_of="head_of_family",
        relation=Relation.DAUGHTER,
        id_card="none",
        what_is_special="Child (8) of the head of family: birth certificate only",
    ),
    DemoPerson(
        key="lost_once",
        id_number="1000000057",
        first_name=("خالد", "Khalid"),
        father_name=("إبراهيم", "Ibrahim"),
        grandfather_name=("عبدالعزيز", "Abdulaziz"),
        family_name=("الدوسري", "Al-Dosari"),
        sex=Sex.MALE,
        date_of_birth=dt.date(1979, 11, 30),
        birthplace=("جدة", "Jeddah"),
        mobile="+966500000005",
        email="k.aldosari@example.net",
        address="jeddah_rawdah",
        id_card="lost_once",
        id_card_issued_days_ago=2600,
        what_is_special="ID card lost once: version 1 reported lost, version 2 valid (a next loss is fined)",
    ),
    DemoPerson(
        key="resident",
        id_number="2000000014",
        first_name=("عمران", "Imran"),
        father_name=("طارق", "Tariq"),
        grandfather_name=("أسلم", "Aslam"),
        family_name=("قريشي", "Qureshi"),
        sex=Sex.MALE,
        nationality="PK",
        date_of_birth=dt.date(1990, 7, 15),
        birthplace=("لاهور", "Lahore"),
        mobile="+966500000006",
        address="riyadh_malaz",
        id_card_issued_days_ago=400,
        what_is_special="Resident (Iqama 2…), Pakistani, Gregorian calendar of record",
    ),
    DemoPerson(
        key="old_biometrics",
        id_number="1000000065",
        first_name=("فيصل", "Faisal"),
        father_name=("سليمان", "Sulaiman"),
        grandfather_name=("حمد", "Hamad"),
        family_name=("الشهري", "Al-Shehri"),
        sex=Sex.MALE,
        date_of_birth=dt.date(1975, 1, 8),
        birthplace=("أبها", "Abha"),
        mobile="+966500000007",
        address="jeddah_safa",
        id_card_issued_days_ago=6 * 365 + 20,
        what_is_special="Biometrics captured 6 years ago (card still valid): courier delivery not allowed",
    ),
    DemoPerson(
        key="widow",
        id_number="1000000073",
        first_name=("فاطمة", "Fatimah"),
        father_name=("علي", "Ali"),
        grandfather_name=("حسن", "Hassan"),
        family_name=("الغامدي", "Al-Ghamdi"),
        sex=Sex.FEMALE,
        date_of_birth=dt.date(1968, 4, 3),
        birthplace=("الباحة", "Al Bahah"),
        mobile="+966500000008",
        address="riyadh_naseem",
        head_of_family=True,
        id_card_issued_days_ago=500,
        what_is_special="Widow, head of family: her family record lists her late husband and her son",
    ),
    DemoPerson(
        key="deceased",
        id_number="1000000081",
        first_name=("عبدالرحمن", "Abdulrahman"),
        father_name=("صالح", "Saleh"),
        grandfather_name=("أحمد", "Ahmed"),
        family_name=("الزهراني", "Al-Zahrani"),
        sex=Sex.MALE,
        date_of_birth=dt.date(1960, 12, 1),
        birthplace=("الباحة", "Al Bahah"),
        mobile="",
        family_of="widow",
        relation=Relation.SPOUSE,
        id_card="cancelled",
        id_card_issued_days_ago=3000,
        died_days_ago=760,
        what_is_special="Died 2 years ago: death certificate, card cancelled, spouse in his widow's record",
    ),
    DemoPerson(
        key="widows_son",
        id_number="1000000099",
        first_name=("ياسر", "Yasser"),
        father_name=("عبدالرحمن", "Abdulrahman"),
        grandfather_name=("صالح", "Saleh"),
        family_name=("الزهراني", "Al-Zahrani"),
        sex=Sex.MALE,
        date_of_birth=dt.date(2003, 9, 19),
        mobile="+966500000010",
        address="riyadh_naseem",
        family_of="widow",
        relation=Relation.SON,
        id_card_issued_days_ago=1200,
        what_is_special="Adult son (23) of the widow and the deceased",
    ),
    DemoPerson(
        key="no_address",
        id_number="1000000107",
        first_name=("ريم", "Reem"),
        father_name=("ماجد", "Majed"),
        grandfather_name=("عبدالله", "Abdullah"),
        family_name=("الحربي", "Al-Harbi"),
        sex=Sex.FEMALE,
        date_of_birth=dt.date(1995, 2, 14),
        birthplace=("المدينة المنورة", "Madinah"),
        mobile="+966500000011",
        email="reem.alharbi@example.org",
        address=None,
        id_card_issued_days_ago=900,
        what_is_special="No National Address registered (delivery cannot be offered)",
    ),
    DemoPerson(
        key="lost_now",
        id_number="1000000115",
        first_name=("تركي", "Turki"),
        father_name=("ناصر", "Nasser"),
        grandfather_name=("فهد", "Fahad"),
        family_name=("المطيري", "Al-Mutairi"),
        sex=Sex.MALE,
        date_of_birth=dt.date(1992, 6, 30),
        mobile="+966500000012",
        address="riyadh_olaya",
        id_card="lost_now",
        id_card_issued_days_ago=1500,
        what_is_special="ID card reported lost 5 days ago, no replacement yet (first loss: no fine)",
    ),
    DemoPerson(
        key="year_only_birth",
        id_number="1000000123",
        first_name=("حمد", "Hamad"),
        father_name=("عبدالله", "Abdullah"),
        grandfather_name=("سالم", "Salem"),
        family_name=("السبيعي", "Al-Subaie"),
        sex=Sex.MALE,
        # Year only: 1365 AH, recorded as the placeholder 1 Rajab 1365 (from_hijri(1365, 7, 1)).
        date_of_birth=dt.date(1946, 5, 31),
        date_of_birth_precision=DatePrecision.YEAR,
        birthplace=("الخرج", "Al-Kharj"),
        mobile="+966500000013",
        address="riyadh_olaya",
        id_card_issued_days_ago=2000,
        what_is_special="Born 1365 AH, year only (stored as 1 Rajab 1365): show the year, never a day",
    ),
    DemoPerson(
        key="expired_card",
        id_number="1000000131",
        first_name=("بندر", "Bandar"),
        father_name=("تركي", "Turki"),
        grandfather_name=("سعود", "Saud"),
        family_name=("الشمري", "Al-Shammari"),
        sex=Sex.MALE,
        date_of_birth=dt.date(1986, 10, 5),
        birthplace=("حائل", "Hail"),
        mobile="+966500000014",
        address="jeddah_rawdah",
        id_card="expired",
        id_card_issued_days_ago=ID_CARD_VALIDITY_YEARS * 365 + 95,
        what_is_special="ID card expired about 3 months ago and not renewed (late-renewal fine)",
    ),
)


@dataclass(frozen=True)
class DemoFine:
    """An unpaid civil-affairs fine of a demo person (it blocks a replacement request)."""

    person_key: str
    amount_sar: Decimal
    reason: NamePair
    issued_days_ago: int


DEMO_FINES: Final[tuple[DemoFine, ...]] = (
    DemoFine(
        person_key="expired_card",
        amount_sar=Decimal(100),
        reason=("غرامة تأخير تجديد بطاقة الهوية الوطنية", "Late renewal of the national ID card"),
        issued_days_ago=60,
    ),
)
