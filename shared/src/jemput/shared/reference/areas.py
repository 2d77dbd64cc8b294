"""Kemendagri area codes: provinces, regencies, districts (kecamatan) and villages.

Codes nest by dots: ``16`` province, ``16.02`` regency or city, ``16.02.05`` district,
``16.02.05.2001`` village (``.1xxx`` kelurahan, ``.2xxx`` desa, ``.3xxx`` desa adat in Papua).
The table is read from the CSV files in ``data/`` on first use only, then kept for the life of
the process.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Annotated

from pydantic import StringConstraints

__all__ = [
    "AREA_CODE_PATTERN",
    "NATION_CODE",
    "Area",
    "AreaCode",
    "AreaLevel",
    "AreaTable",
    "RegencyPopulation",
    "UnknownAreaError",
    "is_area_code",
    "level_of",
    "load_area_table",
    "parent_code",
    "require_known_area",
]

# [0-9] rather than \d: both Python and pydantic's Rust regex let \d match non-ASCII digits.
AREA_CODE_PATTERN = r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$"
_AREA_CODE_RE = re.compile(AREA_CODE_PATTERN)

# The population table's row for the whole of Indonesia.
NATION_CODE = "0"

_DATA_PACKAGE = "jemput.shared.reference"
_AREAS_FILE = "wilayah.csv"
_POPULATION_FILE = "wilayah_penduduk.csv"


class AreaLevel(StrEnum):
    PROVINCE = "province"
    REGENCY = "regency"
    DISTRICT = "district"
    VILLAGE = "village"

    @property
    def depth(self) -> int:
        """0 for a province up to 3 for a village: the number of dots in such a code."""
        return _LEVELS_BY_DEPTH.index(self)


_LEVELS_BY_DEPTH: tuple[AreaLevel, ...] = (
    AreaLevel.PROVINCE,
    AreaLevel.REGENCY,
    AreaLevel.DISTRICT,
    AreaLevel.VILLAGE,
)


class UnknownAreaError(ValueError):
    """An area code that is malformed or not in the Kemendagri table."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


AreaCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=AREA_CODE_PATTERN)]
"""A string in Kemendagri area-code format; says nothing about whether the area exists."""


def is_area_code(code: str) -> bool:
    """Whether ``code`` has the Kemendagri format (without checking that the area exists)."""
    return _AREA_CODE_RE.fullmatch(code) is not None


def level_of(code: str) -> AreaLevel:
    """The level of an area code, from its number of dots."""
    if not is_area_code(code):
        raise ValueError(
            f"malformed Kemendagri area code {code!r}: "
            "expected PP, PP.RR, PP.RR.DD or PP.RR.DD.VVVV"
        )
    return _LEVELS_BY_DEPTH[code.count(".")]


def parent_code(code: str) -> str | None:
    """The code of the enclosing area, or None for a province."""
    if level_of(code) is AreaLevel.PROVINCE:
        return None
    return code.rpartition(".")[0]


@dataclass(frozen=True, slots=True)
class Area:
    code: str
    name: str
    level: AreaLevel

    @property
    def parent_code(self) -> str | None:
        if self.level is AreaLevel.PROVINCE:
            return None
        return self.code.rpartition(".")[0]

    @property
    def province_code(self) -> str:
        return self.code[:2]


@dataclass(frozen=True, slots=True)
class RegencyPopulation:
    """Registered population of a province, regency or the whole nation."""

    male: int
    female: int
    total: int


class AreaTable:
    """All areas, indexed so lookups and child listings cost O(1) and O(result)."""

    def __init__(
        self,
        areas: Iterable[Area],
        populations: Mapping[str, RegencyPopulation] | None = None,
    ) -> None:
        self._by_code: dict[str, Area] = {}
        self._children: dict[str, list[Area]] = {}
        for area in areas:
            if area.code in self._by_code:
                raise ValueError(f"duplicate area code {area.code}")
            self._by_code[area.code] = area
        by_code, children = self._by_code, self._children
        for code, area in by_code.items():
            # Inlined Area.parent_code: this loop runs ~92k times on every load.
            parent, dot, _ = code.rpartition(".")
            if not dot:
                continue
            if parent not in by_code:
                raise ValueError(f"area {code} has no parent {parent} in the table")
            siblings = children.get(parent)
            if siblings is None:
                children[parent] = [area]
            else:
                siblings.append(area)
        for siblings in self._children.values():
            siblings.sort(key=_area_code)
        self._provinces = sorted(
            (area for area in self._by_code.values() if area.level is AreaLevel.PROVINCE),
            key=_area_code,
        )
        self._populations: dict[str, RegencyPopulation] = dict(populations or {})
        for code in self._populations:
            if code != NATION_CODE and code not in self._by_code:
                raise ValueError(f"population given for unknown area {code}")

    @classmethod
    def from_rows(
        cls,
        area_rows: Iterable[tuple[str, str]],
        population_rows: Iterable[tuple[str, int, int, int]] = (),
    ) -> AreaTable:
        """Build from ``(code, name)`` and ``(code, male, female, total)`` rows."""
        # Some source names carry stray spaces ("Jakarta Utara "), so names are stripped.
        is_valid_code = _AREA_CODE_RE.fullmatch
        areas: list[Area] = []
        for code, name in area_rows:
            if is_valid_code(code) is None:
                level_of(code)  # raises the usual error for a malformed code
            areas.append(Area(code, name.strip(), _LEVELS_BY_DEPTH[code.count(".")]))
        populations = {
            code: RegencyPopulation(male=male, female=female, total=total)
            for code, male, female, total in population_rows
        }
        return cls(areas, populations)

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Area | None:
        return self._by_code.get(code)

    def parent(self, code: str) -> Area | None:
        """The enclosing area of a known area, or None for a province."""
        area = self._require(code)
        return None if area.parent_code is None else self._by_code[area.parent_code]

    def provinces(self) -> list[Area]:
        return list(self._provinces)

    def children(self, code: str) -> list[Area]:
        """Direct children of a known area, sorted by code."""
        self._require(code)
        return list(self._children.get(code, ()))

    def descendants(self, code: str, level: AreaLevel) -> list[Area]:
        """All areas of ``level`` inside a known area, sorted by code."""
        area = self._require(code)
        if level.depth <= area.level.depth:
            raise ValueError(f"{level} areas are not below {area.level} {code}")
        generation = [area]
        for _ in range(level.depth - area.level.depth):
            # Walking sorted children in order keeps the result sorted: codes are fixed-width.
            generation = [
                child for parent in generation for child in self._children.get(parent.code, ())
            ]
        return generation

    def districts_of(self, code: str) -> list[Area]:
        return self.descendants(code, AreaLevel.DISTRICT)

    def villages_of(self, code: str) -> list[Area]:
        return self.descendants(code, AreaLevel.VILLAGE)

    def population(self, code: str) -> RegencyPopulation | None:
        """Population of a province, a regency or (code ``"0"``) Indonesia; else None."""
        return self._populations.get(code)

    def _require(self, code: str) -> Area:
        area = self._by_code.get(code)
        if area is None:
            raise _unknown_area_error(code)
        return area


def _area_code(area: Area) -> str:
    return area.code


def _unknown_area_error(code: str) -> UnknownAreaError:
    if not is_area_code(code):
        return UnknownAreaError(code, f"malformed Kemendagri area code {code!r}")
    return UnknownAreaError(code, f"area code {code} is not in the Kemendagri table")


def require_known_area(code: str, areas: AreaTable | None = None) -> Area:
    """The area with this code, or UnknownAreaError if it is malformed or unknown."""
    table = areas if areas is not None else load_area_table()
    area = table.get(code)
    if area is None:
        raise _unknown_area_error(code)
    return area


def _read_csv(filename: str, expected_header: list[str]) -> Iterator[list[str]]:
    text = (resources.files(_DATA_PACKAGE) / "data" / filename).read_text(encoding="utf-8")
    reader = csv.reader(text.splitlines())
    header = next(reader)
    if header != expected_header:
        raise ValueError(f"unexpected header in {filename}: {header}")
    return reader


def _read_area_rows() -> list[tuple[str, str]]:
    return [(code, name) for code, name in _read_csv(_AREAS_FILE, ["code", "name"])]


def _read_population_rows() -> list[tuple[str, int, int, int]]:
    rows = _read_csv(_POPULATION_FILE, ["code", "name", "male", "female", "total"])
    # The name column is ignored: it has typos the area table does not ("Papua Barat Oaya").
    return [(code, int(male), int(female), int(total)) for code, _name, male, female, total in rows]


@functools.cache
def load_area_table() -> AreaTable:
    """The Kemendagri area table bundled with this package, loaded once on first call."""
    return AreaTable.from_rows(_read_area_rows(), _read_population_rows())
