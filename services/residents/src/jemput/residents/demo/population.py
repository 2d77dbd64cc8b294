"""A synthetic population register of one regency, in the SIAK export layout the residents
service imports.

Residents are made household by household, village by village: a head, a spouse, children of
ages that fit the mother's, sometimes a widowed grandparent. The age pyramid, the eligible share
and the share of elderly come out of those household rules (tuned to Indonesia's: a wide base,
roughly 30% under 17, about 10% aged 60+); the sex ratio follows the regency's figures.

Every value is drawn from one ``random.Random(seed)`` in a fixed order, and the reference date for
ages and e-KTP eligibility is an option with a fixed default (``DEFAULT_AS_OF``, 2026-11-28)
rather than today, so the area, the seed and the options alone decide every byte of the file.
Nothing here reads the clock. Read NIKs back with ``parse_nik(..., today=as_of)``: a baby born
after the reader's today would otherwise be put in the 1900s.
"""

from __future__ import annotations

import csv
import json
import os
import random
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from itertools import accumulate
from pathlib import Path
from typing import TextIO

from jemput.residents.service_layer.register_file import COLUMNS
from jemput.shared.eligibility import ADULT_AGE, adult_cutoff, birthday, is_eligible
from jemput.shared.nik import Sex, make_nik
from jemput.shared.reference.areas import (
    Area,
    AreaLevel,
    AreaTable,
    RegencyPopulation,
    is_area_code,
    load_area_table,
)

__all__ = [
    "COLUMNS",
    "DEFAULT_AS_OF",
    "DEFAULT_RECORDED_SHARE",
    "DEFAULT_SEED",
    "OutputFormat",
    "PopulationOptions",
    "PopulationSummary",
    "RegencyRefusal",
    "RegencyRefused",
    "default_output_path",
    "generate_households",
    "resolve_regency",
    "write_population",
]


# Fixed rather than today's date, so that the seed alone decides the file.
DEFAULT_AS_OF = date(2026, 11, 28)
DEFAULT_RECORDED_SHARE = 0.80
DEFAULT_SEED = 1

SINGLE = "BELUM KAWIN"
MARRIED = "KAWIN"
DIVORCED = "CERAI HIDUP"
WIDOWED = "CERAI MATI"

MALE_LABEL = "LAKI-LAKI"
FEMALE_LABEL = "PEREMPUAN"

NOT_ELIGIBLE = "BELUM_WAJIB"
NOT_RECORDED = "BELUM_REKAM"
RECORDED = "SUDAH_REKAM"
PRINT_READY = "PRINT_READY_RECORD"
CARD_PRINTED = "CARD_PRINTED"
CARD_ISSUED = "CARD_ISSUED"

RESIDENT = "TINGGAL"
YES = "Y"
NO = "N"

# Above 95 the two-digit year in the NIK could be read as the wrong century.
MAX_AGE = 95
ELDERLY_AGE = 60
MAX_HOUSEHOLD = 8

_MAX_SERIAL = 9999
_REGISTERED_ELSEWHERE_SHARE = 0.05
_ELSEWHERE_IN_REGENCY_SHARE = 0.55
_CORRECTED_BIRTH_DATE_SHARE = 0.001

_MALE_GIVEN_NAMES: tuple[str, ...] = (
    "AHMAD", "MUHAMMAD", "RUDI", "HENDRA", "AGUS", "BUDI", "DEDI", "JOKO", "SURYADI", "SYAHRIAL",
    "ZULKIFLI", "HERMAN", "IWAN", "RIZKY", "FAJAR", "ANDI", "DODI", "EKO", "FIRMANSYAH", "HARIS",
    "IRWAN", "JUNAIDI", "KURNIAWAN", "MAHMUD", "NASRUL", "RAHMAT", "SAPRIADI", "TAUFIK", "WAHYU",
    "YUSUF", "ARIF", "BAMBANG", "DARMAWAN", "EDI", "HASAN", "ISMAIL", "MARZUKI", "ROSIDI",
    "SAMSUL", "SUPRIADI", "ALDI", "DIMAS", "RAFI", "ARKAN", "FARHAN", "SLAMET", "SUGENG",
    "AMIRUDIN", "DEDY", "HERI", "KGS", "MGS", "RAMLI", "SOBRI", "YADI",
)  # fmt: skip
_FEMALE_GIVEN_NAMES: tuple[str, ...] = (
    "SITI", "NURHAYATI", "SRI", "DEWI", "RINA", "YULIANA", "HARTATI", "MASNAH", "ROSMALA",
    "SUMARNI", "NURLELA", "ERNAWATI", "FITRI", "INDAH", "LESTARI", "MAYA", "NOVITA", "PUTRI",
    "RAHMAWATI", "SARI", "WULAN", "YANTI", "ZAINAB", "AISYAH", "NURUL", "ANISA", "DESI", "ELI",
    "HALIMAH", "JUBAIDAH", "KARTINI", "LINDA", "MARLINA", "RATNA", "SUSANTI", "TUTI", "NAYLA",
    "ZAHRA", "KEYSHA", "SUPARMI", "SUKINEM", "NYIMAS", "KHODIJAH", "ROHAYA", "MARYAM",
)  # fmt: skip
_FAMILY_NAMES: tuple[str, ...] = (
    "ABDULLAH", "ALI", "ANWAR", "ARSYAD", "BAKRI", "BASRI", "GUNAWAN", "HAMDANI", "HAMID",
    "HAMZAH", "HARUN", "HIDAYAT", "ISMAIL", "JAMIL", "KOHAR", "KUSUMA", "LUBIS", "MANSUR",
    "MUCHTAR", "NASUTION", "NAWAWI", "PRATAMA", "RAHMAN", "RASYID", "RIDWAN", "SALEH", "SAMAD",
    "SANTOSO", "SAPUTRA", "SETIAWAN", "SIREGAR", "SUHAIMI", "SYARIF", "TAMRIN", "USMAN",
    "WIJAYA", "YAHYA", "ZAKARIA", "HASIBUAN", "FAUZI", "MARDIANSYAH", "SUTRISNO",
)  # fmt: skip
# Birthplaces outside the regency and its province's cities.
_BIG_TOWNS: tuple[str, ...] = (
    "PALEMBANG", "KAYUAGUNG", "JAKARTA", "BANDUNG", "SURABAYA", "MEDAN", "BANDAR LAMPUNG",
    "SEMARANG", "YOGYAKARTA", "BATURAJA", "PRABUMULIH", "JAMBI",
)  # fmt: skip
_REGENCY_NAME_PREFIXES = ("Kabupaten Administrasi ", "Kota Administrasi ", "Kabupaten ", "Kota ")

# Share of each five-year band in the adult head-of-household draw, before the headship rate.
_AGE_BAND_WEIGHTS: tuple[float, ...] = (
    8.6, 8.7, 8.6, 8.3, 8.0, 7.8, 7.6, 7.4, 7.0, 6.4, 5.7, 4.8, 3.9, 2.9, 1.9, 1.1, 0.6, 0.3, 0.1,
    0.05,
)  # fmt: skip
# Births a woman has had over her life: older cohorts had more children.
_BIRTHS_YOUNGER_COHORT: tuple[float, ...] = (0.06, 0.14, 0.38, 0.25, 0.11, 0.04, 0.02)
_BIRTHS_OLDER_COHORT: tuple[float, ...] = (0.04, 0.08, 0.22, 0.25, 0.19, 0.12, 0.10)

_HOUSEHOLD_COUPLE = 0.80
_HOUSEHOLD_SINGLE_PARENT = 0.11  # the rest live alone


# A household member as drawn: (female, age, marital status, takes the household's family name).
_Member = tuple[bool, int, str, bool]


class OutputFormat(StrEnum):
    CSV = "csv"
    NDJSON = "ndjson"


class RegencyRefusal(StrEnum):
    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    NOT_A_REGENCY = "not_a_regency"
    NO_POPULATION = "no_population"
    NO_VILLAGES = "no_villages"


class RegencyRefused(ValueError):
    """The area cannot be populated; ``reason`` says why (the CLI words it for staff)."""

    def __init__(self, code: str, reason: RegencyRefusal) -> None:
        super().__init__(f"cannot generate a population for area {code!r}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PopulationOptions:
    area_code: str
    seed: int = DEFAULT_SEED
    as_of: date = DEFAULT_AS_OF
    recorded_share: float = DEFAULT_RECORDED_SHARE
    limit: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.recorded_share <= 1.0:
            raise ValueError(f"recorded_share must be between 0 and 1, got {self.recorded_share}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be at least 1, got {self.limit}")


@dataclass(slots=True)
class PopulationSummary:
    """Counts gathered while generating, for the report at the end."""

    area_code: str
    area_name: str
    target: int
    residents: int = 0
    families: int = 0
    males: int = 0
    eligible: int = 0
    recorded: int = 0
    vulnerable: int = 0
    elderly: int = 0
    under_17: int = 0
    registered_elsewhere: int = 0
    corrected_birth_dates: int = 0
    villages: int = 0
    villages_with_residents: int = 0

    @property
    def eligible_share(self) -> float:
        return self.eligible / self.residents if self.residents else 0.0

    @property
    def recorded_share(self) -> float:
        """Recorded among the eligible."""
        return self.recorded / self.eligible if self.eligible else 0.0

    @property
    def vulnerable_share(self) -> float:
        return self.vulnerable / self.residents if self.residents else 0.0

    @property
    def elderly_share(self) -> float:
        return self.elderly / self.residents if self.residents else 0.0

    @property
    def under_17_share(self) -> float:
        return self.under_17 / self.residents if self.residents else 0.0

    @property
    def male_share(self) -> float:
        return self.males / self.residents if self.residents else 0.0


def resolve_regency(code: str, areas: AreaTable) -> tuple[Area, RegencyPopulation]:
    """The regency (kabupaten or kota) and its population, or RegencyRefused."""
    if not is_area_code(code):
        raise RegencyRefused(code, RegencyRefusal.MALFORMED)
    area = areas.get(code)
    if area is None:
        raise RegencyRefused(code, RegencyRefusal.UNKNOWN)
    if area.level is not AreaLevel.REGENCY:
        raise RegencyRefused(code, RegencyRefusal.NOT_A_REGENCY)
    population = areas.population(code)
    if population is None or population.total < 1:
        raise RegencyRefused(code, RegencyRefusal.NO_POPULATION)
    if not areas.villages_of(code):
        raise RegencyRefused(code, RegencyRefusal.NO_VILLAGES)
    return area, population


def default_output_path(area_code: str, output_format: OutputFormat) -> Path:
    return Path("var") / "demo" / f"population-{area_code}.{output_format.value}"


def _short_regency_name(name: str) -> str:
    for prefix in _REGENCY_NAME_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :].upper()
    return name.upper()


def _village_sizes(rng: random.Random, villages: Sequence[Area], total: int) -> list[int]:
    """Residents per village: lognormal weights (towns' kelurahan larger), at least one each
    when there are enough residents, summing exactly to ``total`` (largest remainders)."""
    weights = [
        rng.lognormvariate(0.0, 0.6) * (1.6 if village.code[-4] == "1" else 1.0)
        for village in villages
    ]
    minimum = 1 if total >= len(villages) else 0
    scale = (total - minimum * len(villages)) / sum(weights)
    shares = [weight * scale for weight in weights]
    sizes = [minimum + int(share) for share in shares]
    leftover = total - sum(sizes)
    by_remainder = sorted(range(len(villages)), key=lambda i: (int(shares[i]) - shares[i], i))
    for index in by_remainder[:leftover]:
        sizes[index] += 1
    return sizes


@dataclass(frozen=True, slots=True)
class _Neighbourhoods:
    """RT counts per RW of one village (about 160 residents to an RT, 4 RTs to an RW)."""

    rt_counts: tuple[int, ...]

    @classmethod
    def for_size(cls, rng: random.Random, size: int) -> _Neighbourhoods:
        rt_total = max(1, round(size / 160))
        rw_total = min(999, max(1, -(-rt_total // 4)))
        counts = [rt_total // rw_total] * rw_total
        for index in range(rt_total % rw_total):
            counts[index] += 1
        # A little unevenness, as real RWs differ.
        return cls(tuple(min(999, max(1, count + int(rng.random() * 3) - 1)) for count in counts))


class _HouseholdMaker:
    """Builds the households of a regency; one instance per generation run."""

    def __init__(self, options: PopulationOptions, areas: AreaTable) -> None:
        regency, population = resolve_regency(options.area_code, areas)
        self.options = options
        self.rng = random.Random(options.seed)
        # Recording days have their own generator: the rest of the file is what it was before
        # the register had the column.
        self.recording_rng = random.Random(f"{options.seed}-recording")
        self.villages = areas.villages_of(regency.code)
        self.total = (
            population.total if options.limit is None else min(options.limit, population.total)
        )
        self.summary = PopulationSummary(
            area_code=regency.code,
            area_name=regency.name,
            target=self.total,
            villages=len(self.villages),
        )
        self.target_male_share = population.male / (population.male + population.female)
        self.unrecorded_share = 1.0 - options.recorded_share

        districts = areas.districts_of(regency.code)
        self.district_names = {d.code: d.name.upper() for d in districts}
        self.district_codes = [d.code for d in districts]
        regency_names_by_code = {
            regency_area.code: _short_regency_name(regency_area.name)
            for province in areas.provinces()
            for regency_area in areas.children(province.code)
        }
        # Districts elsewhere in Indonesia, with the regency name to use as a birthplace there.
        self.outside_districts = [
            (district.code, regency_names_by_code[district.code[:5]])
            for province in areas.provinces()
            for district in areas.descendants(province.code, AreaLevel.DISTRICT)
            if district.code[:5] != regency.code
        ]
        self.province_towns = [
            _short_regency_name(regency_area.name)
            for regency_area in areas.children(regency.code[:2])
            if regency_area.name.startswith("Kota")
        ] or [_short_regency_name(regency.name)]

        as_of = options.as_of
        self.as_of = as_of
        self.as_of_ordinal = as_of.toordinal()
        # Days back from as_of of the youngest and the oldest birth date at each age.
        self.age_day_ranges = [
            (
                self.as_of_ordinal - adult_cutoff(as_of, age).toordinal(),
                self.as_of_ordinal - adult_cutoff(as_of, age + 1).toordinal() - 1,
            )
            for age in range(MAX_AGE + 1)
        ]
        self.oldest_nik_ordinal = self.as_of_ordinal - self.age_day_ranges[MAX_AGE][1]

        # Household heads: the age pyramid times how likely someone of that age heads a home.
        head_ages = list(range(19, MAX_AGE + 1))
        head_weights = [
            _AGE_BAND_WEIGHTS[min(age // 5, len(_AGE_BAND_WEIGHTS) - 1)] / 5 * _headship(age)
            for age in head_ages
        ]
        self.head_ages = head_ages
        self.head_cumulative = list(accumulate(head_weights))
        self.younger_births = list(accumulate(_BIRTHS_YOUNGER_COHORT))
        self.older_births = list(accumulate(_BIRTHS_OLDER_COHORT))

        self.nik_serials: dict[tuple[str, int, bool], int] = {}
        self.kk_serials: dict[tuple[str, int], int] = {}
        self.unrecorded_weight_sum = 0.0

    # --- drawing helpers -------------------------------------------------------------------

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def pick(self, values: Sequence[str]) -> str:
        return values[int(self.rng.random() * len(values))]

    def head_age(self, low: int = 19) -> int:
        while True:
            age = self.head_ages[
                bisect(self.head_cumulative, self.rng.random() * self.head_cumulative[-1])
            ]
            if age >= low:
                return age

    def draw_female(self) -> bool:
        """Sex of someone whose sex the household shape leaves open (children, people living
        alone): steered towards the regency's male share, so the total matches its figures."""
        summary = self.summary
        shortfall = self.target_male_share * summary.residents - summary.males
        male_probability = min(0.9, max(0.1, self.target_male_share + shortfall * 0.02))
        return self.rng.random() >= male_probability

    # --- household shapes ------------------------------------------------------------------

    def household(self) -> list[_Member]:
        roll = self.rng.random()
        if roll < _HOUSEHOLD_COUPLE:
            return self.couple()
        if roll < _HOUSEHOLD_COUPLE + _HOUSEHOLD_SINGLE_PARENT:
            return self.single_parent()
        return self.living_alone()

    def couple(self) -> list[_Member]:
        rng = self.rng
        husband_age = self.head_age(low=20)
        wife_age = husband_age - round(rng.gauss(4.0, 3.5))
        # Marriage under 18 happens but is uncommon; under 16 not at all.
        if wife_age < 16 or (wife_age < 18 and not self.chance(0.2)):
            wife_age = 18 + int(rng.random() * 3)
        wife_age = min(wife_age, MAX_AGE)
        members = [(False, husband_age, MARRIED, True), (True, wife_age, MARRIED, False)]
        members.extend(self.children(wife_age)[: MAX_HOUSEHOLD - 2])
        if len(members) < MAX_HOUSEHOLD and 28 <= husband_age <= 60 and self.chance(0.07):
            grandparent_age = min(MAX_AGE, husband_age + 22 + int(rng.random() * 14))
            members.append((self.chance(0.75), grandparent_age, WIDOWED, False))
        return members

    def single_parent(self) -> list[_Member]:
        female = self.chance(0.85)
        age = self.head_age(low=25)
        status = WIDOWED if age >= 45 and self.chance(0.75) else DIVORCED
        mother_age = age if female else max(19, age - 4)
        return [(female, age, status, True), *self.children(mother_age)[: MAX_HOUSEHOLD - 1]]

    def living_alone(self) -> list[_Member]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            return [(self.draw_female(), 19 + int(rng.random() * 17), SINGLE, True)]
        if roll < 0.60:
            return [(self.draw_female(), 30 + int(rng.random() * 25), DIVORCED, True)]
        return [(self.chance(0.7), self.head_age(low=60), WIDOWED, True)]

    def children(self, mother_age: int) -> list[_Member]:
        """The children still at home: born from the mother's 19th-27th year on, two to five
        years apart, until 44; sons leave at 18-26, daughters (marrying younger) at 17-23."""
        rng = self.rng
        cumulative = self.older_births if mother_age >= 50 else self.younger_births
        births = bisect(cumulative, rng.random() * cumulative[-1])
        mother_age_at_birth = 19 + int(rng.random() * 9)
        children: list[_Member] = []
        for _ in range(births):
            if mother_age_at_birth > min(44, mother_age):
                break
            child_age = mother_age - mother_age_at_birth
            female = self.draw_female()
            leaves_at = (19 + int(rng.random() * 8)) if female else (20 + int(rng.random() * 11))
            if child_age < leaves_at:
                # Some grown children come back home after a divorce.
                status = DIVORCED if child_age >= 20 and self.chance(0.04) else SINGLE
                children.append((female, child_age, status, True))
            mother_age_at_birth += 2 + int(rng.random() * 4)
        children.reverse()  # eldest first, as the family card lists them
        return children

    # --- rows ------------------------------------------------------------------------------

    def nik_district(self, home_district: str) -> tuple[str, str | None]:
        """District of first registration, and the birthplace to use if it is outside."""
        if not self.chance(_REGISTERED_ELSEWHERE_SHARE):
            return home_district, None
        self.summary.registered_elsewhere += 1
        if len(self.district_codes) > 1 and self.chance(_ELSEWHERE_IN_REGENCY_SHARE):
            while True:
                district = self.pick(self.district_codes)
                if district != home_district:
                    return district, None
        code, regency_name = self.outside_districts[
            int(self.rng.random() * len(self.outside_districts))
        ]
        return code, regency_name

    def birthplace(self, home_district: str) -> str:
        roll = self.rng.random()
        if roll < 0.82:
            return self.district_names[home_district]
        if roll < 0.90:
            return self.district_names[self.pick(self.district_codes)]
        if roll < 0.97:
            return self.pick(self.province_towns)
        return self.pick(_BIG_TOWNS)

    def nik_birth_ordinal(self, birth_ordinal: int) -> int:
        """The birth date the NIK was made from: the register's date, except for the few whose
        birth date was corrected after the NIK was issued (the NIK keeps the old date)."""
        if not self.chance(_CORRECTED_BIRTH_DATE_SHARE):
            return birth_ordinal
        rng = self.rng
        shift = (
            1 + int(rng.random() * 27) if rng.random() < 0.5 else 30 * (1 + int(rng.random() * 4))
        )
        if rng.random() < 0.5:
            shift = -shift
        original = birth_ordinal + shift
        if not self.oldest_nik_ordinal <= original <= self.as_of_ordinal:
            original = birth_ordinal - shift
        self.summary.corrected_birth_dates += 1
        return original

    def allocate_nik(self, district: str, nik_ordinal: int, female: bool) -> str:
        key = (district, nik_ordinal, female)
        serial = self.nik_serials.get(key, 0) + 1
        if serial > _MAX_SERIAL:
            raise RuntimeError(f"more than {_MAX_SERIAL} NIKs for one district and birth date")
        self.nik_serials[key] = serial
        return make_nik(
            district, date.fromordinal(nik_ordinal), Sex.FEMALE if female else Sex.MALE, serial
        )

    def allocate_kk(self, district: str, issue_ordinal: int) -> str:
        key = (district, issue_ordinal)
        serial = self.kk_serials.get(key, 0) + 1
        if serial > _MAX_SERIAL:
            raise RuntimeError(f"more than {_MAX_SERIAL} family cards for one district and day")
        self.kk_serials[key] = serial
        issued = date.fromordinal(issue_ordinal)
        return (
            f"{district.replace('.', '')}"
            f"{issued.day:02d}{issued.month:02d}{issued.year % 100:02d}{serial:04d}"
        )

    def vulnerability(self, age: int) -> tuple[str, str, str]:
        """(disabled, chronically ill or bedridden, mental illness): more common with age."""
        rng = self.rng
        if age >= ELDERLY_AGE:
            disabled = rng.random() < 0.06
            chronic = rng.random() < (0.20 if age >= 75 else 0.11)
        else:
            disabled = rng.random() < 0.012
            chronic = rng.random() < (0.02 if age >= 40 else 0.004)
        mental = age >= 15 and rng.random() < 0.004
        return (YES if disabled else NO, YES if chronic else NO, YES if mental else NO)

    def ektp_status(self, age: int, vulnerable: bool) -> str:
        """Recorded or not, for an eligible resident. Those the office must fetch are the
        not-yet-recorded: more often the vulnerable, the newly of age and the very old. Each
        weight is divided by the running mean weight so the overall share stays as asked."""
        weight = 1.0
        if vulnerable:
            weight *= 3.0
        if age < 19:
            weight *= 2.5
        elif age >= 75:
            weight *= 1.5
        self.unrecorded_weight_sum += weight
        mean_weight = self.unrecorded_weight_sum / (self.summary.eligible + 1)
        rng = self.rng
        if rng.random() < min(0.97, self.unrecorded_share * weight / mean_weight):
            return NOT_RECORDED
        self.summary.recorded += 1
        roll = rng.random()
        pipeline = 0.40 if age < 19 else 0.14  # the newly recorded are still on the way to a card
        if roll >= pipeline:
            return CARD_ISSUED
        if roll < pipeline * 0.45:
            return RECORDED
        if roll < pipeline * 0.80:
            return PRINT_READY
        return CARD_PRINTED

    def recording_day(self, birth_date: date, ektp_status: str) -> str:
        """TGL_REKAM of a recorded resident: a card issued was recorded any day since e-KTP
        recording began (at 17 or later); a recording still on its way to a card is recent."""
        if ektp_status not in _RECENT_WITHIN:
            return ""
        as_of = self.as_of_ordinal
        of_age = birthday(birth_date, ADULT_AGE).toordinal()
        earliest = min(as_of, max(_EKTP_START_ORDINAL, of_age))
        span = _RECENT_WITHIN[ektp_status] or as_of - earliest
        day = as_of - int(self.recording_rng.random() * (span + 1))
        return date.fromordinal(max(earliest, day)).isoformat()

    def rows(
        self,
        members: list[_Member],
        village_code: str,
        rt: str,
        rw: str,
    ) -> list[list[str]]:
        rng = self.rng
        summary = self.summary
        home_district = village_code[:8]
        family_name = self.pick(_FAMILY_NAMES)
        as_of_ordinal = self.as_of_ordinal
        birth_ordinals: list[int] = []
        rows: list[list[str]] = []
        for female, age, marital_status, takes_family_name in members:
            youngest, oldest = self.age_day_ranges[age]
            birth_ordinal = as_of_ordinal - youngest - int(rng.random() * (oldest - youngest + 1))
            birth_ordinals.append(birth_ordinal)
            birth_date = date.fromordinal(birth_ordinal)

            district, outside_birthplace = self.nik_district(home_district)
            nik = self.allocate_nik(district, self.nik_birth_ordinal(birth_ordinal), female)
            corrected = NO if nik[6:12] == _nik_date_digits(birth_date, female) else YES
            birthplace = outside_birthplace or self.birthplace(home_district)

            given = self.pick(_FEMALE_GIVEN_NAMES if female else _MALE_GIVEN_NAMES)
            name_style = rng.random()
            if name_style < 0.10:
                full_name = given
            elif name_style < 0.30:
                full_name = (
                    f"{given} {self.pick(_FEMALE_GIVEN_NAMES if female else _MALE_GIVEN_NAMES)}"
                )
            else:
                surname = family_name if takes_family_name else self.pick(_FAMILY_NAMES)
                full_name = f"{given} {surname}"

            disabled, chronic, mental = self.vulnerability(age)
            vulnerable = YES in (disabled, chronic, mental)
            if is_eligible(
                birth_date=birth_date,
                ever_married=marital_status != SINGLE,
                as_of=self.options.as_of,
            ):
                ektp_status = self.ektp_status(age, vulnerable)
                summary.eligible += 1
            else:
                ektp_status = NOT_ELIGIBLE

            summary.residents += 1
            if not female:
                summary.males += 1
            if vulnerable:
                summary.vulnerable += 1
            if age >= ELDERLY_AGE:
                summary.elderly += 1
            elif age < 17:
                summary.under_17 += 1
            rows.append(
                [
                    nik,
                    "",  # the family card number, once the issue date is known
                    full_name,
                    birthplace,
                    birth_date.isoformat(),
                    FEMALE_LABEL if female else MALE_LABEL,
                    marital_status,
                    village_code,
                    rt,
                    rw,
                    RESIDENT,
                    disabled,
                    chronic,
                    mental,
                    ektp_status,
                    corrected,
                    self.recording_day(birth_date, ektp_status),
                ]
            )

        # The card is re-issued at each change, so it dates from after the youngest member's
        # birth and the head's 17th birthday, and no earlier than 2005.
        head_of_age = birth_ordinals[0] + self.age_day_ranges[17][0]
        earliest = min(as_of_ordinal, max(max(birth_ordinals), head_of_age, _KK_EARLIEST_ORDINAL))
        issue_ordinal = earliest + int(rng.random() * (as_of_ordinal - earliest + 1))
        family_card = self.allocate_kk(home_district, issue_ordinal)
        for row in rows:
            row[1] = family_card
        summary.families += 1
        return rows


_KK_EARLIEST_ORDINAL = date(2005, 1, 1).toordinal()
# Nationwide e-KTP recording began in 2011.
_EKTP_START_ORDINAL = date(2011, 8, 1).toordinal()
# Days back from as_of a recording of each status lies within (0: any day since it could be).
_RECENT_WITHIN = {RECORDED: 120, PRINT_READY: 365, CARD_PRINTED: 365, CARD_ISSUED: 0}


def _headship(age: int) -> float:
    """How likely someone of this age heads a household (or is its head's spouse)."""
    if age < 27:
        return max(0.0, (age - 19) / 8)
    if age < 65:
        return 1.0
    return max(0.3, 1.0 - (age - 65) * 0.03)


def _nik_date_digits(birth_date: date, female: bool) -> str:
    day = birth_date.day + (40 if female else 0)
    return f"{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}"


def generate_households(
    options: PopulationOptions, *, areas: AreaTable | None = None
) -> tuple[PopulationSummary, Iterator[list[list[str]]]]:
    """The register's rows, one list per household (family card), village by village, and the
    summary that counts them (complete once the rows are exhausted).

    Raises RegencyRefused at once if the area is not a populated regency.
    """
    maker = _HouseholdMaker(options, areas if areas is not None else load_area_table())
    return maker.summary, _households(maker)


def _households(maker: _HouseholdMaker) -> Iterator[list[list[str]]]:
    """Whole households, village by village. Cutting the last household of every village to
    its exact size would drop children (listed last) hundreds of times and skew ages when the
    villages are small, so a village may overshoot its size and the next ones make up for it.
    A household is cut only to leave one resident for each village still to come, and at the
    very end, to hit the total exactly."""
    rng = maker.rng
    sizes = _village_sizes(rng, maker.villages, maker.total)
    villages_still_to_come = sum(1 for size in sizes if size > 0)
    planned = produced = 0
    for village, size in zip(maker.villages, sizes, strict=True):
        if size == 0:
            continue
        villages_still_to_come -= 1
        planned += size
        maker.summary.villages_with_residents += 1
        neighbourhoods = _Neighbourhoods.for_size(rng, size)
        rw_total = len(neighbourhoods.rt_counts)
        first = True
        # room >= 1 here: each cut left one resident for every village still to come.
        while first or produced < planned:
            first = False
            room = maker.total - produced - villages_still_to_come
            members = maker.household()[:room]
            produced += len(members)
            rw_index = int(rng.random() * rw_total)
            rt_number = 1 + int(rng.random() * neighbourhoods.rt_counts[rw_index])
            yield maker.rows(members, village.code, f"{rt_number:03d}", f"{rw_index + 1:03d}")


ProgressCallback = Callable[[int], None]
_PROGRESS_EVERY = 5000


def write_population(
    options: PopulationOptions,
    out: Path,
    output_format: OutputFormat = OutputFormat.CSV,
    *,
    on_progress: ProgressCallback | None = None,
    areas: AreaTable | None = None,
) -> PopulationSummary:
    """Generate the register into ``out`` (replaced whole, never left half-written).

    ``on_progress`` is called with the number of rows written since its last call.
    """
    summary, households = generate_households(options, areas=areas)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="", buffering=1 << 20) as stream:
            _write_rows(stream, households, output_format, on_progress)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return summary


def _write_rows(
    stream: TextIO,
    households: Iterator[list[list[str]]],
    output_format: OutputFormat,
    on_progress: ProgressCallback | None,
) -> None:
    unreported = 0
    if output_format is OutputFormat.CSV:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(COLUMNS)
        write_household: Callable[[list[list[str]]], object] = writer.writerows
    else:
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

        def write_household(rows: list[list[str]]) -> object:
            return stream.write(
                "".join(dumps(dict(zip(COLUMNS, row, strict=True))) + "\n" for row in rows)
            )

    for rows in households:
        write_household(rows)
        if on_progress is not None:
            unreported += len(rows)
            if unreported >= _PROGRESS_EVERY:
                on_progress(unreported)
                unreported = 0
    if on_progress is not None and unreported:
        on_progress(unreported)
