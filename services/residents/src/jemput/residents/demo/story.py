"""The demo drive's story, decided by the seed alone: who the register says is recorded (the
synthetic register, about 80% of the eligible with their recording days), which residents the
teams record in which session (village drives, school drives for the newly of age, home visits
for the vulnerable), what the national system answers, how many blanks the office has at the
start and how much of its request the ministry sends.

Nothing here talks to a service or reads the clock: `drive.py` plays the plan over HTTP.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from jemput.residents.demo.population import (
    COLUMNS,
    DEFAULT_AS_OF,
    NOT_RECORDED,
    PRINT_READY,
    RECORDED,
    YES,
    PopulationOptions,
    PopulationSummary,
    generate_households,
)
from jemput.shared.reference.areas import AreaTable, load_area_table

__all__ = [
    "DrivePlan",
    "FieldRecording",
    "FieldSession",
    "StoryOptions",
    "plan_drive",
]

PRINT_READY_RESULT = "PRINT_READY_RECORD"
DUPLICATE_RESULT = "DUPLICATE"

VILLAGE_DRIVE = "village_drive"
SCHOOL_DRIVE = "school_drive"
HOME_VISIT = "home_visit"

_NIK, _BIRTH, _VILLAGE = COLUMNS.index("NIK"), COLUMNS.index("TGL_LHR"), COLUMNS.index("KODE_DESA")
_STATUS = COLUMNS.index("STAT_EKTP")
_DISABLED, _CHRONIC, _ODGJ = (
    COLUMNS.index("PNYDNG_CCT"),
    COLUMNS.index("SAKIT_KRONIS"),
    COLUMNS.index("ODGJ"),
)

# Field reports give 50-150 recordings per kit and day: a team takes a kit per 120 residents.
_PER_KIT = 120
_MAX_KITS = 20
# Fewer newly-of-age residents than this in a village are recorded at the village drive.
_SCHOOL_MINIMUM = 5


@dataclass(frozen=True, slots=True)
class StoryOptions:
    area_code: str = "16.02"
    seed: int = 1
    residents: int | None = None  # None: the regency's whole population
    # Of the eligible not yet recorded, the share the teams find and record.
    field_share: float = 0.6
    vulnerable_field_share: float = 0.75
    # The national system's answers on the field recordings (the rest are still pending).
    print_ready_share: float = 0.95
    duplicate_share: float = 0.02
    # Of the register's SUDAH_REKAM, the share the national system clears during the drive.
    register_cleared_share: float = 0.85
    # Blanks at the office at the start, as a share of the register's print queue.
    opening_stock_share: float = 0.35
    # Of the blanks asked for, the share the ministry's allocation brings.
    allocation_share: float = 0.6
    # Of the cards printed, the share collected by their holders during the drive.
    handover_share: float = 0.9


@dataclass(frozen=True, slots=True)
class FieldRecording:
    nik: str
    odgj: bool  # recorded with photo and fingerprints only
    result: str | None  # the national system's answer, None while it is pending


@dataclass(frozen=True, slots=True)
class FieldSession:
    key: str  # stable within the plan: names the team and the kits
    kind: str
    village_code: str
    kits: int
    recordings: tuple[FieldRecording, ...]
    absent: int  # residents the team expected but did not find

    @property
    def district_code(self) -> str:
        return self.village_code[:8]


@dataclass(frozen=True, slots=True)
class DrivePlan:
    options: StoryOptions
    residents: int
    eligible: int
    register_recorded: int  # recorded before the drive, by the register
    register_queue: int  # recorded without a card: the print queue the import makes
    register_to_clear: tuple[str, ...]  # the register's SUDAH_REKAM the national system clears
    opening_stock: int
    sessions: tuple[FieldSession, ...] = field(default=())

    @property
    def field_recordings(self) -> int:
        return sum(len(s.recordings) for s in self.sessions)

    def field_results(self, result: str) -> list[str]:
        return [r.nik for s in self.sessions for r in s.recordings if r.result == result]

    def sessions_of(self, kind: str) -> int:
        return sum(1 for s in self.sessions if s.kind == kind)

    def handed_over(self, nik: str) -> bool:
        """Whether this card's holder collects it during the drive (decided by the NIK and the
        seed, so the print order does not change the story)."""
        digest = hashlib.sha256(f"{self.options.seed}-handover-{nik}".encode()).digest()
        return int.from_bytes(digest[:4], "big") < self.options.handover_share * 2**32

    def fingerprint(self) -> str:
        """A digest of the whole plan: the same seed and options give the same one."""
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def plan_drive(
    options: StoryOptions, register_file: Path, *, areas: AreaTable | None = None
) -> tuple[DrivePlan, PopulationSummary]:
    """Write the synthetic register (CSV, the import's columns) to `register_file` and plan the
    drive on it, in one pass over the generated households."""
    population = PopulationOptions(
        area_code=options.area_code, seed=options.seed, limit=options.residents
    )
    summary, households = generate_households(
        population, areas=areas if areas is not None else load_area_table()
    )
    rng = random.Random(f"{options.seed}-drive")
    register_file.parent.mkdir(parents=True, exist_ok=True)
    partial = register_file.with_name(register_file.name + ".partial")
    by_village: dict[str, list[list[str]]] = defaultdict(list)
    to_clear: list[str] = []
    queue = 0
    with partial.open("w", encoding="utf-8", newline="", buffering=1 << 20) as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(COLUMNS)
        for rows in households:
            writer.writerows(rows)
            for row in rows:
                status = row[_STATUS]
                if status == NOT_RECORDED:
                    by_village[row[_VILLAGE]].append(row)
                elif status == RECORDED:
                    queue += 1
                    if rng.random() < options.register_cleared_share:
                        to_clear.append(row[_NIK])
                elif status == PRINT_READY:
                    queue += 1
    partial.replace(register_file)
    sessions = [
        session
        for village in sorted(by_village)
        for session in _village_sessions(options, rng, village, by_village[village])
    ]
    plan = DrivePlan(
        options=options,
        residents=summary.residents,
        eligible=summary.eligible,
        register_recorded=summary.recorded,
        register_queue=queue,
        register_to_clear=tuple(to_clear),
        opening_stock=max(1, round(queue * options.opening_stock_share)),
        sessions=tuple(sessions),
    )
    return plan, summary


def _village_sessions(
    options: StoryOptions, rng: random.Random, village: str, unrecorded: list[list[str]]
) -> Iterator[FieldSession]:
    """A home visit for the vulnerable and the very old, a school drive for the newly of age
    (when there are enough of them), a village drive for the rest."""
    groups: dict[str, list[list[str]]] = {VILLAGE_DRIVE: [], SCHOOL_DRIVE: [], HOME_VISIT: []}
    for row in unrecorded:
        age = _age(date.fromisoformat(row[_BIRTH]))
        if YES in (row[_DISABLED], row[_CHRONIC], row[_ODGJ]) or age >= 75:
            groups[HOME_VISIT].append(row)
        elif age < 19:
            groups[SCHOOL_DRIVE].append(row)
        else:
            groups[VILLAGE_DRIVE].append(row)
    if len(groups[SCHOOL_DRIVE]) < _SCHOOL_MINIMUM:
        groups[VILLAGE_DRIVE].extend(groups.pop(SCHOOL_DRIVE))
    for kind, rows in groups.items():
        share = options.vulnerable_field_share if kind == HOME_VISIT else options.field_share
        recordings = []
        absent = 0
        for row in rows:
            if rng.random() >= share:
                absent += 1
                continue
            roll = rng.random()
            if roll < options.print_ready_share:
                result: str | None = PRINT_READY_RESULT
            elif roll < options.print_ready_share + options.duplicate_share:
                result = DUPLICATE_RESULT
            else:
                result = None
            recordings.append(FieldRecording(row[_NIK], row[_ODGJ] == YES, result))
        if recordings:
            kits = min(_MAX_KITS, -(-len(recordings) // _PER_KIT))
            key = f"{village.replace('.', '')}-{kind}"
            yield FieldSession(key, kind, village, kits, tuple(recordings), absent)


def _age(birth: date) -> int:
    as_of = DEFAULT_AS_OF
    return as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))
