"""Reading the population register file (CSV or NDJSON) into validated register entries.

Columns are named as the Indonesian population register (SIAK) names them; README.md lists
them. Every bad row is reported with its line, field and reason; good rows go on.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from jemput.residents.domain import validation as rules
from jemput.residents.domain.model import DomicileStatus, EktpStatus, MaritalStatus
from jemput.residents.service_layer.registration import (
    RegisterEntry,
    check_against_nik,
    check_village,
)
from jemput.shared.nik import NikError, Sex, parse_nik

COLUMNS = (
    "NIK",
    "NO_KK",
    "NAMA_LGKP",
    "TMPT_LHR",
    "TGL_LHR",
    "JENIS_KLMIN",
    "STAT_KWN",
    "KODE_DESA",
    "NO_RT",
    "NO_RW",
    "STAT_DOMISILI",
    "PNYDNG_CCT",
    "SAKIT_KRONIS",
    "ODGJ",
    "STAT_EKTP",
    "KOREKSI_TGL_LHR",
)
REQUIRED = ("NIK", "NO_KK", "NAMA_LGKP", "TGL_LHR", "JENIS_KLMIN", "STAT_KWN", "KODE_DESA")

_SEX = {"LAKI-LAKI": Sex.MALE, "L": Sex.MALE, "PEREMPUAN": Sex.FEMALE, "P": Sex.FEMALE}
_MARITAL = {m.value.replace("_", " "): m for m in MaritalStatus} | {
    m.value: m for m in MaritalStatus
}
_DOMICILE = {
    "TINGGAL": DomicileStatus.RESIDENT,
    "PINDAH": DomicileStatus.MOVED_OUT,
    "MATI": DomicileStatus.DECEASED,
    "": DomicileStatus.RESIDENT,
}
_YES_NO = {"Y": True, "YA": True, "1": True, "N": False, "TIDAK": False, "0": False, "": False}
_STATUS = {s.value: s for s in EktpStatus} | {"": EktpStatus.BELUM_REKAM}
# Which resident field a column fills (errors name the column the office knows).
FIELD_OF_COLUMN = {
    "NIK": "nik",
    "NO_KK": "kk",
    "NAMA_LGKP": "full_name",
    "TMPT_LHR": "birth_place",
    "TGL_LHR": "birth_date",
    "JENIS_KLMIN": "sex",
    "STAT_KWN": "marital_status",
    "KODE_DESA": "village_code",
}
COLUMN_OF_FIELD = {v: k for k, v in FIELD_OF_COLUMN.items()}


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    field: str
    code: str
    reason: str


class RegisterFileError(ValueError):
    """The file as a whole cannot be read (wrong format, missing columns)."""


def detect_format(path: Path, declared: str | None = None) -> str:
    if declared:
        if declared not in ("csv", "ndjson"):
            raise RegisterFileError("format must be csv or ndjson")
        return declared
    return "ndjson" if path.suffix.lower() in (".ndjson", ".jsonl") else "csv"


def count_rows(path: Path, file_format: str) -> int:
    with path.open("rb") as handle:
        lines = sum(1 for line in handle if line.strip())
    return max(lines - 1, 0) if file_format == "csv" else lines


def read_rows(path: Path, file_format: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number in the file, raw row) for every data row."""
    if file_format == "csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip().upper() for h in (reader.fieldnames or [])]
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise RegisterFileError("missing columns: " + ", ".join(missing))
            reader.fieldnames = header
            for row in reader:
                yield reader.line_num, row
        return
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError:
                yield number, {"__error__": "line is not valid JSON"}
                continue
            if not isinstance(data, dict):
                yield number, {"__error__": "line is not a JSON object"}
                continue
            yield number, {str(k).upper(): "" if v is None else str(v) for k, v in data.items()}


def parse_row(
    line: int, row: dict[str, str], *, regency_code: str
) -> RegisterEntry | list[RowProblem]:
    if "__error__" in row:
        return [RowProblem(line, "(row)", "unreadable_row", row["__error__"])]
    problems: list[RowProblem] = []

    def bad(column: str, code: str, reason: str) -> None:
        problems.append(RowProblem(line, column, code, reason))

    def checked(rule: Callable[[str, str], Any], column: str, value: str | None = None) -> Any:
        try:
            return rule(values[column] if value is None else value, column)
        except rules.FieldInvalid as invalid:
            bad(column, invalid.code, invalid.reason)
            return None

    values = {column: (row.get(column) or "").strip() for column in COLUMNS}
    for column in REQUIRED:
        if not values[column]:
            bad(column, rules.MISSING, f"{column} is required")
    if problems:
        return problems

    nik = values["NIK"]
    info = None
    try:
        info = parse_nik(nik)
    except NikError as exc:
        bad("NIK", str(exc.code), exc.message)
    kk = checked(rules.kk, "NO_KK")
    # The register keeps names in capitals; the rule sees the capitalised form it will store.
    full_name = checked(rules.full_name, "NAMA_LGKP", values["NAMA_LGKP"].upper())
    birth_place = checked(rules.birth_place, "TMPT_LHR", values["TMPT_LHR"].upper())
    birth_date = _date(values["TGL_LHR"])
    if birth_date is None:
        bad("TGL_LHR", rules.INVALID_DATE, "TGL_LHR must be a real date, YYYY-MM-DD or DD-MM-YYYY")
    sex = _SEX.get(values["JENIS_KLMIN"].upper())
    if sex is None:
        bad("JENIS_KLMIN", rules.INVALID_SEX, "JENIS_KLMIN must be LAKI-LAKI or PEREMPUAN")
    marital = _MARITAL.get(" ".join(values["STAT_KWN"].upper().split()))
    if marital is None:
        bad(
            "STAT_KWN",
            rules.INVALID_MARITAL_STATUS,
            "STAT_KWN must be BELUM KAWIN, KAWIN, CERAI HIDUP or CERAI MATI",
        )
    rt = checked(rules.rt, "NO_RT")
    rw = checked(rules.rw, "NO_RW")
    domicile = _DOMICILE.get(values["STAT_DOMISILI"].upper())
    if domicile is None:
        bad("STAT_DOMISILI", "invalid_domicile", "STAT_DOMISILI must be TINGGAL, PINDAH or MATI")
    flags = {}
    for column, field in (
        ("PNYDNG_CCT", "disabled"),
        ("SAKIT_KRONIS", "chronically_ill"),
        ("ODGJ", "mental_illness"),
        ("KOREKSI_TGL_LHR", "birth_date_corrected"),
    ):
        flag = _YES_NO.get(values[column].upper())
        if flag is None:
            bad(column, rules.INVALID_FLAG, f"{column} must be Y or N")
        flags[field] = bool(flag)
    status = _STATUS.get(values["STAT_EKTP"].upper())
    if status is None:
        bad("STAT_EKTP", rules.INVALID_STATUS, "STAT_EKTP is not an e-KTP status")
    if problems:
        return problems
    village_code = values["KODE_DESA"]
    fields: dict[str, object] = {
        "nik": nik,
        "kk": kk,
        "full_name": full_name,
        "birth_place": birth_place,
        "birth_date": birth_date,
        "sex": sex,
        "marital_status": marital,
        "village_code": village_code,
        "rt": rt,
        "rw": rw,
        **flags,
    }
    assert info is not None
    for problem in check_against_nik(info, fields):
        bad(COLUMN_OF_FIELD.get(problem.field, problem.field), problem.code, problem.reason)
    village_problem = check_village(village_code, regency_code)
    if village_problem:
        bad("KODE_DESA", village_problem.code, village_problem.reason)
    if problems:
        return problems
    assert domicile is not None and status is not None
    return RegisterEntry(fields=fields, domicile_status=domicile, ektp_status=status, line=line)


def _date(value: str) -> date | None:
    try:
        if len(value) == 10 and value[4] == "-":
            return date.fromisoformat(value)
        if len(value) == 10 and value[2] in "-/" and value[5] in "-/":
            return date(int(value[6:]), int(value[3:5]), int(value[:2]))
    except ValueError:
        return None
    return None
