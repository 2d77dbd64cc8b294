"""Reading the population register file (CSV or NDJSON) into validated register entries.

Columns are named as the Indonesian population register (SIAK) names them; README.md lists
them. Every bad row is reported with its line, field and reason; good rows go on.

Office spreadsheets save in the machine's code page (windows-1252) and, in the Indonesian
locale, separate columns with semicolons: the encoding is the one declared or else detected, the
delimiter is read from the header line, and a line that does not decode is that line's error.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import charset_normalizer
import orjson

from jemput.residents.domain import validation as rules
from jemput.residents.domain.model import DomicileStatus, EktpStatus, MaritalStatus
from jemput.residents.domain.status import is_recorded
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
    "TGL_REKAM",
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


UNDECODABLE = "undecodable_line"
# Lines with bytes above ASCII that detection looks at: enough to tell code pages apart.
_SAMPLE_BYTES = 256 * 1024
_DELIMITERS = (",", ";", "\t")
_OFFICE_CODE_PAGE = "cp1252"


def _ascii_compatible(encoding: str) -> bool:
    """Lines are split on the bytes of CR and LF, so the encoding must keep ASCII as is."""
    probe = "NIK,;\t\r\n"
    try:
        return probe.encode(encoding) == probe.encode("ascii")
    except (LookupError, UnicodeError):
        return False


def check_encoding(declared: str) -> str:
    """The codec name of a declared character set; RegisterFileError when none can be read."""
    try:
        name = codecs.lookup(declared.strip().strip('"')).name
    except LookupError:
        raise RegisterFileError(f"unknown character set {declared[:40]!r}") from None
    if not _ascii_compatible(name):
        raise RegisterFileError(f"character set {name} is not supported; save as UTF-8")
    return name


def resolve_encoding(path: Path, declared: str | None = None) -> str:
    """The declared encoding if any (checked), else UTF-8 when the file reads as UTF-8 (or has
    its BOM), else what charset-normalizer detects from the lines that are not plain ASCII."""
    if declared:
        return check_encoding(declared)
    sample: list[bytes] = []
    size = 0
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise RegisterFileError("the file is UTF-16, which is not supported; save as UTF-8")
        handle.seek(0)
        for line in handle:
            if not line.isascii():
                sample.append(line)
                size += len(line)
                if size >= _SAMPLE_BYTES:
                    break
    # Text in a code page almost never reads as UTF-8 by chance: a file whose lines mostly do
    # is UTF-8 with a few bad lines, and those are reported.
    if sum(_is_utf8(line) for line in sample) * 2 > len(sample) or not sample:
        return "utf-8"
    matches = charset_normalizer.from_bytes(b"".join(sample))
    # Windows in the Indonesian locale saves in windows-1252; short samples of names fit many
    # Latin code pages equally, so it wins whenever the detector finds it plausible.
    if any(_OFFICE_CODE_PAGE in m.could_be_from_charset for m in matches):
        return _OFFICE_CODE_PAGE
    best = matches.best()
    if best is None or not _ascii_compatible(best.encoding):
        return "utf-8"  # nothing better known: the lines that do not decode are reported
    return codecs.lookup(best.encoding).name


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# A byte the codec cannot read becomes a lone surrogate (surrogateescape), which decoded text
# never holds otherwise: the codec decodes whole chunks in C, one bad byte spoils only its own
# line, and a clean line (nearly all of them) costs one isascii() check.
_ESCAPED = re.compile("[\udc80-\udcff]")


def _lines(path: Path, encoding: str) -> Iterator[tuple[int, str, bool]]:
    """(line number, text, decoded cleanly) for every line; CR, LF and CRLF all end a line."""
    with path.open(encoding=encoding, errors="surrogateescape", newline="") as handle:
        for number, text in enumerate(handle, start=1):
            ok = text.isascii() or _ESCAPED.search(text) is None
            yield number, text.removeprefix("\ufeff") if number == 1 else text, ok


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    if counts[best]:
        return best
    others = Counter(c for c in header if not (c.isalnum() or c in "_ -\"'\r\n"))
    if others:
        separator, seen = others.most_common(1)[0]
        if seen >= 2:
            raise RegisterFileError(
                f"columns are separated by {separator!r}; use a comma, a semicolon or a tab"
            )
    return ","


def read_rows(
    path: Path, file_format: str, encoding: str = "utf-8"
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number in the file, raw row) for every data row."""

    def undecodable(number: int) -> tuple[int, dict[str, str]]:
        reason = f"line is not valid {encoding} text"
        return number, {"__error__": reason, "__code__": UNDECODABLE}

    if file_format == "csv":
        bad_lines: set[int] = set()

        def texts() -> Iterator[str]:
            for number, text, ok in _lines(path, encoding):
                if not ok:
                    bad_lines.add(number)
                yield text

        lines = texts()
        header_line = next(lines, "")
        delimiter = _delimiter(header_line)
        header = [
            h.strip().upper() for h in next(csv.reader([header_line], delimiter=delimiter), [])
        ]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise RegisterFileError("missing columns: " + ", ".join(missing))
        reader = csv.reader(lines, delimiter=delimiter)
        last = 1  # the header
        for values in reader:
            first, last = last + 1, reader.line_num + 1
            spoiled = bad_lines and [n for n in range(first, last + 1) if n in bad_lines]
            if spoiled:
                yield undecodable(spoiled[0])
            elif values:
                yield last, dict(zip(header, values, strict=False))
        return
    for number, text, ok in _lines(path, encoding):
        if not text.strip():
            continue
        if not ok:
            yield undecodable(number)
            continue
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            yield number, {"__error__": "line is not valid JSON"}
            continue
        if not isinstance(data, dict):
            yield number, {"__error__": "line is not a JSON object"}
            continue
        yield number, {str(k).upper(): "" if v is None else str(v) for k, v in data.items()}


def parse_row(
    line: int, row: dict[str, str], *, regency_code: str, today: date
) -> RegisterEntry | list[RowProblem]:
    """`today`: the office's day, which a recording day (TGL_REKAM) may not be after."""
    if "__error__" in row:
        code = row.get("__code__", "unreadable_row")
        return [RowProblem(line, "(row)", code, row["__error__"])]
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
        bad("TGL_LHR", rules.INVALID_DATE, _DATE_REASON.format(column="TGL_LHR"))
    recorded_on = _date(values["TGL_REKAM"]) if values["TGL_REKAM"] else None
    if values["TGL_REKAM"] and recorded_on is None:
        bad("TGL_REKAM", rules.INVALID_DATE, _DATE_REASON.format(column="TGL_REKAM"))
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
    elif recorded_on is not None and birth_date is not None:
        try:
            rules.recording_day(
                recorded_on,
                "TGL_REKAM",
                birth_date=birth_date,
                recorded=is_recorded(status),
                today=today,
            )
        except rules.FieldInvalid as invalid:
            bad("TGL_REKAM", invalid.code, invalid.reason)
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
    return RegisterEntry(
        fields=fields,
        domicile_status=domicile,
        ektp_status=status,
        line=line,
        recorded_on=recorded_on,
    )


_DATE_REASON = "{column} must be a real date, YYYY-MM-DD or DD-MM-YYYY"


def _date(value: str) -> date | None:
    try:
        if len(value) == 10 and value[4] == "-":
            return date.fromisoformat(value)
        if len(value) == 10 and value[2] in "-/" and value[5] in "-/":
            return date(int(value[6:]), int(value[3:5]), int(value[:2]))
    except ValueError:
        return None
    return None
