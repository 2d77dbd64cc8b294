"""Bulk import of the register: bad rows reported by line, good rows stored, re-imports
idempotent, changes published — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from sqlmodel import select as sqlmodel_select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.residents.adapters.tables import Resident
from jemput.residents.service_layer import importing
from jemput.residents.service_layer.register_file import COLUMNS
from jemput.shared.db import create_engine
from jemput.shared.events.residents import ResidentChangedV1, ResidentRegisteredV1
from jemput.shared.messaging.outbox import Outbox
from jemput.shared.messaging.tables import outbox
from jemput.shared.nik import Sex, make_nik
from jemput.shared.testing.fixtures import migrate
from jemput.shared.timezone import office_day, office_day_start

TODAY = date(2026, 11, 28)


def row(serial: int, **overrides: str) -> dict[str, str]:
    born = date(1970 + serial % 30, 1 + serial % 12, 1 + serial % 28)
    values = {
        "NIK": make_nik("16.02.05", born, Sex.MALE, serial),
        "NO_KK": f"160205010120{serial:04d}",
        "NAMA_LGKP": f"WARGA {serial}",
        "TMPT_LHR": "KAYUAGUNG",
        "TGL_LHR": born.isoformat(),
        "JENIS_KLMIN": "LAKI-LAKI",
        "STAT_KWN": "KAWIN",
        "KODE_DESA": "16.02.05.1001",
        "NO_RT": "001",
        "NO_RW": "002",
        "STAT_DOMISILI": "TINGGAL",
        "PNYDNG_CCT": "N",
        "SAKIT_KRONIS": "N",
        "ODGJ": "N",
        "STAT_EKTP": "BELUM_REKAM",
        "KOREKSI_TGL_LHR": "N",
    }
    values.update(overrides)
    return values


def write_csv(
    path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8", delimiter: str = ","
) -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


GOOD = [row(i) for i in range(1, 41)]
BAD = [
    (row(101, NIK="123"), "NIK", "nik_length"),
    (row(102, NIK="9902050101700102"), "NIK", "nik_unknown_region"),
    (row(103, NO_KK="12345"), "NO_KK", "kk_format"),
    (row(104, TGL_LHR="1970-02-30"), "TGL_LHR", "invalid_date"),
    (row(105, JENIS_KLMIN="X"), "JENIS_KLMIN", "invalid_sex"),
    (row(106, KODE_DESA="11.01.01.2001"), "KODE_DESA", "village_outside_regency"),
    (row(107, TGL_LHR="1999-09-09"), "TGL_LHR", "birth_date_disagrees_with_nik"),
    (row(108, NAMA_LGKP=""), "NAMA_LGKP", "missing"),
    (row(5), "NIK", "duplicate_nik_in_file"),
]
# The same refusals as test_residents_api's INVALID_RECORDS: one rule for both ways in.
SAME_AS_API = [
    (row(111, NO_KK="16020501012000AB"), "NO_KK", "kk_format"),
    (row(112, NO_KK="123"), "NO_KK", "kk_format"),
    (row(113, NO_RT="AB"), "NO_RT", "invalid_rt"),
    (row(114, NO_RW="1234"), "NO_RW", "invalid_rw"),
    (row(115, NAMA_LGKP="   "), "NAMA_LGKP", "missing"),
    (row(116, NAMA_LGKP="A" * 201), "NAMA_LGKP", "too_long"),
    (row(117, TMPT_LHR="X" * 101), "TMPT_LHR", "too_long"),
    (row(118, JENIS_KLMIN="X"), "JENIS_KLMIN", "invalid_sex"),
    (row(119, STAT_KWN="JOMBLO"), "STAT_KWN", "invalid_marital_status"),
    (row(120, TGL_LHR="1990-02-30"), "TGL_LHR", "invalid_date"),
    (row(121, KODE_DESA="desa"), "KODE_DESA", "unknown_village"),
]


async def do_import(
    database_url: str, path: Path, job: str, *, encoding: str | None = None
) -> importing.ImportCounts:
    engine = create_engine(database_url)
    try:
        await importing.create_job(engine, job, path.name, "csv")
        return await importing.run_import(
            engine,
            Outbox(source="/jemput/residents", topic_for=lambda s: f"jemput.{s}.v1"),
            job_id=job,
            path=path,
            file_format="csv",
            regency_code="16.02",
            today=TODAY,
            actor="test",
            chunk_size=7,  # several chunks, so chunk boundaries are exercised
            encoding=encoding,
        )
    finally:
        await engine.dispose()


async def scalar(database_url: str, query: str) -> object:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(sa.text(query))).scalar_one()
    finally:
        await engine.dispose()


async def outbox_types(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list(
                (await conn.execute(sa.select(outbox.c.event_type).order_by(outbox.c.id))).scalars()
            )
    finally:
        await engine.dispose()


async def test_mixed_file_reports_every_bad_row_and_stores_the_good(
    database_url: str, tmp_path: Path
) -> None:
    await migrate("residents", database_url)
    rows = [*GOOD[:20], *(r for r, _, _ in BAD), *GOOD[20:]]
    path = write_csv(tmp_path / "register.csv", rows)
    counts = await do_import(database_url, path, "job-1")
    assert (counts.created, counts.rejected, counts.processed) == (40, len(BAD), 40 + len(BAD))
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        problems = (
            await conn.execute(
                sa.text(
                    "SELECT line, field, code FROM import_error WHERE job_id = 'job-1' ORDER BY line, id"
                )
            )
        ).all()
    await engine.dispose()
    # Line 1 is the header; the bad rows are lines 22..30.
    expected = [(22 + i, field, code) for i, (_, field, code) in enumerate(BAD)]
    assert [tuple(p) for p in problems] == expected
    assert await scalar(database_url, "SELECT count(*) FROM resident") == 40
    assert await outbox_types(database_url) == ["jemput.residents.resident_registered.v1"] * 40
    await assert_events_match_residents(database_url)
    assert (
        await scalar(
            database_url, "SELECT count(*) FROM resident_status_change WHERE cause = 'import'"
        )
        == 40
    )
    job = await scalar(
        database_url, "SELECT state || ':' || processed_rows || ':' || rejected FROM import_job"
    )
    assert job == f"succeeded:{40 + len(BAD)}:{len(BAD)}"


async def test_import_refuses_what_the_api_refuses(database_url: str, tmp_path: Path) -> None:
    await migrate("residents", database_url)
    rows = [GOOD[0], *(r for r, _, _ in SAME_AS_API)]
    counts = await do_import(database_url, write_csv(tmp_path / "r.csv", rows), "job-1")
    assert (counts.created, counts.rejected) == (1, len(SAME_AS_API))
    assert await import_problems(database_url, "job-1") == [
        (3 + i, field, code) for i, (_, field, code) in enumerate(SAME_AS_API)
    ]
    assert await scalar(database_url, "SELECT count(*) FROM resident") == 1


async def import_problems(database_url: str, job: str) -> list[tuple[int, str, str]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                sa.text(
                    "SELECT line, field, code FROM import_error WHERE job_id = :job ORDER BY line, id"
                ),
                {"job": job},
            )
            return [(int(r[0]), str(r[1]), str(r[2])) for r in result.all()]
    finally:
        await engine.dispose()


# Names as office spreadsheets hold them: letters beyond ASCII, saved in windows-1252.
ACCENTED = [row(i, NAMA_LGKP=f"JOSÉ MARÍA {i}", TMPT_LHR="PALEMBANG") for i in range(1, 11)]


async def names(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(sa.text("SELECT full_name FROM resident ORDER BY nik"))
            return sorted(str(n) for n in result.scalars())
    finally:
        await engine.dispose()


@pytest.mark.parametrize("declared", [None, "windows-1252"])
async def test_a_windows_1252_file_is_read(
    database_url: str, tmp_path: Path, declared: str | None
) -> None:
    await migrate("residents", database_url)
    path = write_csv(tmp_path / "r.csv", [*GOOD[10:20], *ACCENTED], encoding="cp1252")
    counts = await do_import(database_url, path, "job-1", encoding=declared)
    assert (counts.created, counts.rejected) == (20, 0)
    assert sorted(await names(database_url)) == sorted(
        [r["NAMA_LGKP"] for r in ACCENTED] + [r["NAMA_LGKP"] for r in GOOD[10:20]]
    )


@pytest.mark.parametrize("declared", [None, "utf-8"])
async def test_an_undecodable_line_is_that_lines_error(
    database_url: str, tmp_path: Path, declared: str | None
) -> None:
    await migrate("residents", database_url)
    path = write_csv(tmp_path / "r.csv", [*ACCENTED, *GOOD[10:20]])
    lines = path.read_bytes().splitlines(keepends=True)
    lines[4] = lines[4].replace("JOSÉ".encode(), "JOSÉ".encode("cp1252"))  # line 5
    path.write_bytes(b"".join(lines))
    counts = await do_import(database_url, path, "job-1", encoding=declared)
    assert (counts.created, counts.rejected) == (19, 1)
    assert await import_problems(database_url, "job-1") == [(5, "(row)", "undecodable_line")]
    assert "JOSÉ MARÍA 1" in await names(database_url)


async def test_a_semicolon_separated_file_is_read(database_url: str, tmp_path: Path) -> None:
    await migrate("residents", database_url)
    path = write_csv(tmp_path / "r.csv", GOOD[:10], delimiter=";")
    counts = await do_import(database_url, path, "job-1")
    assert (counts.created, counts.rejected) == (10, 0)


async def test_another_delimiter_is_refused_by_name(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'residents.db'}"
    await migrate("residents", database_url)
    path = write_csv(tmp_path / "r.csv", GOOD[:3], delimiter="|")
    with pytest.raises(Exception, match=r"separated by '\|'"):
        await do_import(database_url, path, "job-x")
    assert "separated by '|'" in str(
        await scalar(database_url, "SELECT error_summary FROM import_job")
    )


async def test_same_file_twice_changes_nothing(database_url: str, tmp_path: Path) -> None:
    await migrate("residents", database_url)
    path = write_csv(tmp_path / "register.csv", GOOD)
    await do_import(database_url, path, "job-1")
    before = await scalar(database_url, "SELECT max(updated_at) FROM resident")
    again = await do_import(database_url, path, "job-2")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 40)
    assert len(await outbox_types(database_url)) == 40
    assert await scalar(database_url, "SELECT max(updated_at) FROM resident") == before


async def test_corrected_file_updates_and_publishes_only_what_changed(
    database_url: str, tmp_path: Path
) -> None:
    await migrate("residents", database_url)
    await do_import(database_url, write_csv(tmp_path / "v1.csv", GOOD), "job-1")
    corrected = list(GOOD)
    corrected[3] = {**GOOD[3], "NAMA_LGKP": "WARGA EMPAT"}
    corrected[7] = {**GOOD[7], "KODE_DESA": "16.02.05.1002", "NO_RT": "009"}
    corrected[9] = {**GOOD[9], "STAT_DOMISILI": "PINDAH"}
    counts = await do_import(database_url, write_csv(tmp_path / "v2.csv", corrected), "job-2")
    assert (counts.created, counts.updated, counts.unchanged) == (0, 3, 37)
    types = (await outbox_types(database_url))[40:]
    assert sorted(types) == sorted(
        ["jemput.residents.resident_changed.v1"] * 3 + ["jemput.residents.resident_moved_out.v1"]
    )
    assert (
        await scalar(database_url, f"SELECT full_name FROM resident WHERE nik = '{GOOD[3]['NIK']}'")
        == "WARGA EMPAT"
    )
    assert (
        await scalar(
            database_url,
            f"SELECT district_code || village_code FROM resident WHERE nik = '{GOOD[7]['NIK']}'",
        )
        == "16.02.0516.02.05.1002"
    )


async def test_statuses_in_the_register_are_taken_in(database_url: str, tmp_path: Path) -> None:
    await migrate("residents", database_url)
    rows = [
        row(1, STAT_EKTP="CARD_ISSUED"),
        row(2, STAT_EKTP="SUDAH_REKAM"),
        row(
            3,
            STAT_KWN="BELUM KAWIN",
            NIK=make_nik("16.02.05", date(2015, 5, 5), Sex.FEMALE, 3),
            TGL_LHR="2015-05-05",
            JENIS_KLMIN="PEREMPUAN",
            STAT_EKTP="",
        ),
    ]
    await do_import(database_url, write_csv(tmp_path / "r.csv", rows), "job-1")
    statuses = await scalar(
        database_url, "SELECT " + _concat(database_url, "ektp_status") + " FROM resident"
    )
    assert sorted(str(statuses).split(",")) == ["BELUM_WAJIB", "CARD_ISSUED", "SUDAH_REKAM"]


def _concat(database_url: str, column: str) -> str:
    return (
        f"string_agg({column}, ',')"
        if "postgresql" in database_url
        else f"group_concat({column}, ',')"
    )


async def test_ndjson_and_the_cli(tmp_path: Path) -> None:
    """`jemput residents import FILE` in a real process, with an NDJSON file."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'residents.db'}"
    await migrate("residents", database_url)
    path = tmp_path / "register.ndjson"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in [*GOOD[:5], row(200, NIK="1")]))
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "jemput.shared.cli", "residents", "import", str(path)],
        env={
            "JEMPUT_RESIDENTS_DATABASE_URL": database_url,
            "PATH": "/usr/bin:/bin",
            "COLUMNS": "120",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "5 baru, 0 berubah, 0 tidak berubah, 1 baris ditolak" in result.stdout
    assert "baris 6: NIK (nik_length)" in result.stdout
    assert await scalar(database_url, "SELECT count(*) FROM resident") == 5


async def test_the_cli_reads_a_spreadsheet_export(tmp_path: Path) -> None:
    """`jemput residents import` with a windows-1252, semicolon-separated file."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'residents.db'}"
    await migrate("residents", database_url)
    path = write_csv(tmp_path / "register.csv", ACCENTED, encoding="cp1252", delimiter=";")
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "jemput.shared.cli", "residents", "import", str(path)],
        env={
            "JEMPUT_RESIDENTS_DATABASE_URL": database_url,
            "PATH": "/usr/bin:/bin",
            "COLUMNS": "120",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "10 baru, 0 berubah, 0 tidak berubah, 0 baris ditolak" in result.stdout
    assert "JOSÉ MARÍA 3" in await names(database_url)


@pytest.mark.parametrize("header", ["NIK,NAMA_LGKP\n", ""])
async def test_a_file_without_the_register_columns_fails_the_job(
    tmp_path: Path, header: str
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'residents.db'}"
    await migrate("residents", database_url)
    path = tmp_path / "wrong.csv"
    path.write_text(header)
    with pytest.raises(Exception, match="missing columns"):
        await do_import(database_url, path, "job-x")
    assert "missing columns" in str(
        await scalar(database_url, "SELECT error_summary FROM import_job")
    )


async def assert_events_match_residents(database_url: str) -> None:
    """The importer writes event JSON directly; it must read back as the pydantic event and
    agree with the stored resident."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            payloads = (await conn.execute(sa.select(outbox.c.payload))).scalars().all()
            residents = {
                r.nik: r for r in (await conn.execute(sa.text("SELECT * FROM resident"))).all()
            }
    finally:
        await engine.dispose()
    for payload in payloads:
        event = ResidentRegisteredV1.model_validate_json(payload)
        stored = residents[event.nik]
        assert event.village_code == stored.village_code
        assert event.birth_date == (
            stored.birth_date
            if isinstance(stored.birth_date, date)
            else date.fromisoformat(stored.birth_date)
        )
        assert (event.sex, event.marital_status, event.ektp_status) == (
            stored.sex,
            stored.marital_status,
            stored.ektp_status,
        )
        assert event.domicile_status == stored.domicile_status


# TGL_REKAM: the recording day a register row gives; refused as that line's error when it
# cannot be true. Rows born in 1970.. (see `row`).
BAD_RECORDING_DAYS = [
    (row(131, STAT_EKTP="SUDAH_REKAM", TGL_REKAM="2019-02-30"), "invalid_date"),
    (row(132, STAT_EKTP="SUDAH_REKAM", TGL_REKAM="kemarin"), "invalid_date"),
    (row(133, STAT_EKTP="SUDAH_REKAM", TGL_REKAM="2026-11-29"), "recording_day_in_future"),
    (
        row(134, STAT_EKTP="PRINT_READY_RECORD", TGL_REKAM="1960-01-01"),
        "recording_day_before_birth",
    ),
    (row(135, STAT_EKTP="BELUM_REKAM", TGL_REKAM="2019-03-04"), "recording_day_without_recording"),
    (row(136, STAT_EKTP="", TGL_REKAM="2019-03-04"), "recording_day_without_recording"),
]


async def test_a_recording_day_that_cannot_be_true_is_that_lines_error(
    database_url: str, tmp_path: Path
) -> None:
    await migrate("residents", database_url)
    rows = [GOOD[0], *(r for r, _ in BAD_RECORDING_DAYS)]
    counts = await do_import(database_url, write_csv(tmp_path / "r.csv", rows), "job-1")
    assert (counts.created, counts.rejected) == (1, len(BAD_RECORDING_DAYS))
    assert await import_problems(database_url, "job-1") == [
        (3 + i, "TGL_REKAM", code) for i, (_, code) in enumerate(BAD_RECORDING_DAYS)
    ]


async def stored_recordings(database_url: str) -> dict[str, tuple[str, datetime | None]]:
    """NIK → (status, recorded_at) of every resident."""
    engine = create_engine(database_url)
    try:
        async with AsyncSession(engine) as session:
            residents = (await session.exec(sqlmodel_select(Resident))).all()
            return {r.nik: (str(r.ektp_status), r.recorded_at) for r in residents}
    finally:
        await engine.dispose()


async def registered_events(database_url: str) -> dict[str, ResidentRegisteredV1]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            payloads = (await conn.execute(sa.select(outbox.c.payload))).scalars().all()
    finally:
        await engine.dispose()
    events = [ResidentRegisteredV1.model_validate_json(p) for p in payloads]
    return {e.nik: e for e in events}


@pytest.mark.parametrize("chunk_in_worker", [False, True])
async def test_imported_recordings_keep_their_day(
    database_url: str, tmp_path: Path, chunk_in_worker: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recording milestone is TGL_REKAM (the start of that day at the office), in every
    accepted date form; without it the import's own time. Both are published as `recorded_at`
    on `resident_registered.v1`; a resident not recorded has none."""
    await migrate("residents", database_url)
    if chunk_in_worker:  # the worker process checks the rows of a big file: it gets the day too
        monkeypatch.setattr(importing, "_ChunkSource", _in_worker(importing._ChunkSource))
    rows = [
        row(1, STAT_EKTP="SUDAH_REKAM", TGL_REKAM="2019-03-04"),
        row(2, STAT_EKTP="PRINT_READY_RECORD", TGL_REKAM="05-06-2020"),
        row(3, STAT_EKTP="CARD_ISSUED", TGL_REKAM="07/08/2021"),
        row(4, STAT_EKTP="DUPLICATE", TGL_REKAM="2026-11-28"),
        row(5, STAT_EKTP="SUDAH_REKAM"),
        row(6, STAT_EKTP="BELUM_REKAM"),
    ]
    before = datetime.now(UTC)
    counts = await do_import(database_url, write_csv(tmp_path / "r.csv", rows), "job-1")
    after = datetime.now(UTC)
    assert (counts.created, counts.rejected) == (6, 0)
    stored = await stored_recordings(database_url)
    events = await registered_events(database_url)
    expected = {
        1: ("SUDAH_REKAM", office_day_start(date(2019, 3, 4))),
        2: ("PRINT_READY_RECORD", office_day_start(date(2020, 6, 5))),
        3: ("CARD_ISSUED", office_day_start(date(2021, 8, 7))),
        4: ("DUPLICATE", office_day_start(TODAY)),
    }
    for serial, (status, recorded_at) in expected.items():
        nik = rows[serial - 1]["NIK"]
        assert stored[nik] == (status, recorded_at)
        assert (events[nik].ektp_status, events[nik].recorded_at) == (status, recorded_at)
    assert office_day(recorded_at) == date(2026, 11, 28)  # the day it says at the office
    undated = rows[4]["NIK"]
    assert stored[undated][0] == "SUDAH_REKAM"
    assert before <= _aware(stored[undated][1]) <= after  # the day of the import is assumed
    assert events[undated].recorded_at == stored[undated][1]
    assert stored[rows[5]["NIK"]] == ("BELUM_REKAM", None)
    assert events[rows[5]["NIK"]].recorded_at is None


def _aware(moment: datetime | None) -> datetime:
    assert moment is not None
    return moment


def _in_worker(source: type[importing._ChunkSource]) -> Callable[..., importing._ChunkSource]:
    def make(*args: Any, in_process: bool) -> importing._ChunkSource:
        return source(*args, in_process=True)

    return make


async def test_a_corrected_row_publishes_the_stored_recording_day(
    database_url: str, tmp_path: Path
) -> None:
    """`resident_changed.v1` carries the recording milestone; a re-import does not change it
    (TGL_REKAM, like STAT_EKTP, is taken when the row registers the resident)."""
    await migrate("residents", database_url)
    first = [row(1, STAT_EKTP="SUDAH_REKAM", TGL_REKAM="2019-03-04")]
    await do_import(database_url, write_csv(tmp_path / "v1.csv", first), "job-1")
    corrected = [{**first[0], "NO_RT": "009", "TGL_REKAM": "2020-01-02"}]
    counts = await do_import(database_url, write_csv(tmp_path / "v2.csv", corrected), "job-2")
    assert counts.updated == 1
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            query = sa.select(outbox.c.payload).where(
                outbox.c.event_type == ResidentChangedV1.event_type
            )
            [payload] = (await conn.execute(query)).scalars().all()
    finally:
        await engine.dispose()
    changed = ResidentChangedV1.model_validate_json(payload)
    assert changed.recorded_at == office_day_start(date(2019, 3, 4))
    assert (await stored_recordings(database_url))[first[0]["NIK"]][1] == changed.recorded_at
