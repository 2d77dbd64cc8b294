"""The synthetic population register (`jemput demo population`): format, consistency, realism,
reproducibility and the refusal of areas that are not regencies."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jemput.residents.demo.cli import app
from jemput.residents.demo.population import (
    COLUMNS,
    DEFAULT_AS_OF,
    OutputFormat,
    PopulationOptions,
    generate_households,
    write_population,
)
from jemput.shared.eligibility import adult_cutoff, is_eligible
from jemput.shared.nik import Sex, parse_nik
from jemput.shared.reference.areas import AreaTable, load_area_table

OKI = "16.02"
SMALL_REGENCY = "31.01"  # Kepulauan Seribu: ~30,000 residents in 6 villages
SAMPLE_SIZE = 3000
RECORDED_STATUSES = {"SUDAH_REKAM", "PRINT_READY_RECORD", "CARD_PRINTED", "CARD_ISSUED"}


@pytest.fixture(scope="module")
def areas() -> AreaTable:
    return load_area_table()


@pytest.fixture(scope="module")
def sample_csv(tmp_path_factory: pytest.TempPathFactory, areas: AreaTable) -> Path:
    out = tmp_path_factory.mktemp("demo") / "population.csv"
    write_population(PopulationOptions(OKI, limit=SAMPLE_SIZE), out, areas=areas)
    return out


@pytest.fixture(scope="module")
def sample_rows(sample_csv: Path) -> list[dict[str, str]]:
    with sample_csv.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def eligible(row: dict[str, str]) -> bool:
    return is_eligible(
        birth_date=date.fromisoformat(row["TGL_LHR"]),
        ever_married=row["STAT_KWN"] != "BELUM KAWIN",
        as_of=DEFAULT_AS_OF,
    )


def test_header_and_columns(sample_csv: Path, sample_rows: list[dict[str, str]]) -> None:
    header = sample_csv.read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == list(COLUMNS)
    assert len(sample_rows) == SAMPLE_SIZE
    for row in sample_rows:
        assert row["JENIS_KLMIN"] in {"LAKI-LAKI", "PEREMPUAN"}
        assert row["STAT_KWN"] in {"BELUM KAWIN", "KAWIN", "CERAI HIDUP", "CERAI MATI"}
        assert row["STAT_DOMISILI"] == "TINGGAL"
        assert len(row["NO_RT"]) == 3 and row["NO_RT"].isdigit() and row["NO_RT"] != "000"
        assert len(row["NO_RW"]) == 3 and row["NO_RW"].isdigit() and row["NO_RW"] != "000"
        for flag in ("PNYDNG_CCT", "SAKIT_KRONIS", "ODGJ", "KOREKSI_TGL_LHR"):
            assert row[flag] in {"Y", "N"}
        assert row["NAMA_LGKP"] == row["NAMA_LGKP"].upper() and row["NAMA_LGKP"].strip()
        assert row["TMPT_LHR"] == row["TMPT_LHR"].upper() and row["TMPT_LHR"].strip()


def test_niks_parse_agree_with_the_row_and_are_unique(
    sample_rows: list[dict[str, str]], areas: AreaTable
) -> None:
    corrected = 0
    for row in sample_rows:
        info = parse_nik(row["NIK"], today=DEFAULT_AS_OF, areas=areas)
        expected_sex = Sex.MALE if row["JENIS_KLMIN"] == "LAKI-LAKI" else Sex.FEMALE
        assert info.sex is expected_sex
        birth_date = date.fromisoformat(row["TGL_LHR"])
        if row["KOREKSI_TGL_LHR"] == "Y":
            corrected += 1
            assert info.birth_date != birth_date
            assert abs((info.birth_date - birth_date).days) <= 130
        else:
            assert info.birth_date == birth_date
    assert corrected <= SAMPLE_SIZE * 0.01
    assert len({row["NIK"] for row in sample_rows}) == len(sample_rows)


def test_most_niks_come_from_the_home_district(sample_rows: list[dict[str, str]]) -> None:
    from_home = sum(row["NIK"][:6] == row["KODE_DESA"][:8].replace(".", "") for row in sample_rows)
    assert 0.90 <= from_home / len(sample_rows) <= 0.98


def test_family_cards_are_unique_per_family(sample_rows: list[dict[str, str]]) -> None:
    # Rows of one family are written together: a card number in two blocks would be reused.
    blocks = [
        row["NO_KK"]
        for previous, row in zip([None, *sample_rows], sample_rows, strict=False)
        if previous is None or previous["NO_KK"] != row["NO_KK"]
    ]
    assert len(blocks) == len(set(blocks))
    families: dict[str, list[dict[str, str]]] = {}
    for row in sample_rows:
        families.setdefault(row["NO_KK"], []).append(row)
    for card, members in families.items():
        assert len(card) == 16 and card.isdigit()
        assert 1 <= len(members) <= 8
        homes = {(m["KODE_DESA"], m["NO_RT"], m["NO_RW"]) for m in members}
        assert len(homes) == 1
        assert card[:6] == members[0]["KODE_DESA"][:8].replace(".", "")
        issued = date(2000 + int(card[10:12]), int(card[8:10]), int(card[6:8]))
        assert issued <= DEFAULT_AS_OF


def test_marital_status_is_plausible_for_age(sample_rows: list[dict[str, str]]) -> None:
    married_cutoff = adult_cutoff(DEFAULT_AS_OF, 16)
    for row in sample_rows:
        if row["STAT_KWN"] != "BELUM KAWIN":
            assert date.fromisoformat(row["TGL_LHR"]) <= married_cutoff


def test_every_village_of_the_regency_gets_residents(
    sample_rows: list[dict[str, str]], areas: AreaTable
) -> None:
    villages = {village.code for village in areas.villages_of(OKI)}
    used = {row["KODE_DESA"] for row in sample_rows}
    assert used <= villages
    assert used == villages  # 3,000 residents for 327 villages: each gets some


def test_eligibility_and_ektp_status(sample_rows: list[dict[str, str]]) -> None:
    eligible_rows = [row for row in sample_rows if eligible(row)]
    assert 0.55 <= len(eligible_rows) / len(sample_rows) <= 0.75
    for row in sample_rows:
        if eligible(row):
            assert row["STAT_EKTP"] in RECORDED_STATUSES | {"BELUM_REKAM"}
        else:
            assert row["STAT_EKTP"] == "BELUM_WAJIB"
    recorded = sum(row["STAT_EKTP"] in RECORDED_STATUSES for row in eligible_rows)
    assert 0.75 <= recorded / len(eligible_rows) <= 0.85
    issued = sum(row["STAT_EKTP"] == "CARD_ISSUED" for row in eligible_rows)
    assert issued > recorded / 2


def test_recorded_residents_have_a_recording_day(sample_rows: list[dict[str, str]]) -> None:
    """TGL_REKAM: what the import accepts (after the birth date, not after the day the file is
    as of), and recent for recordings still on their way to a card."""
    from jemput.residents.service_layer.register_file import parse_row

    days: dict[str, list[date]] = {}
    for line, row in enumerate(sample_rows, start=2):
        if row["STAT_EKTP"] not in RECORDED_STATUSES:
            assert row["TGL_REKAM"] == ""
            continue
        day = date.fromisoformat(row["TGL_REKAM"])
        assert date.fromisoformat(row["TGL_LHR"]) < day <= DEFAULT_AS_OF
        days.setdefault(row["STAT_EKTP"], []).append(day)
        entry = parse_row(line, row, regency_code=OKI, today=DEFAULT_AS_OF)
        assert not isinstance(entry, list), entry
        assert entry.recorded_on == day
    assert min(days["SUDAH_REKAM"]) >= date(2026, 7, 31)  # within 120 days
    assert min(days["CARD_ISSUED"]) < date(2020, 1, 1) < max(days["CARD_ISSUED"])


def test_vulnerable_residents_are_a_few_percent(sample_rows: list[dict[str, str]]) -> None:
    vulnerable = sum(
        "Y" in (row["PNYDNG_CCT"], row["SAKIT_KRONIS"], row["ODGJ"]) for row in sample_rows
    )
    assert 0.01 <= vulnerable / len(sample_rows) <= 0.10


def test_a_whole_small_regency_matches_its_figures(areas: AreaTable) -> None:
    figures = areas.population(SMALL_REGENCY)
    assert figures is not None
    summary, households = generate_households(PopulationOptions(SMALL_REGENCY), areas=areas)
    rows = [row for household in households for row in household]
    assert len(rows) == figures.total == summary.residents
    males = sum(row[COLUMNS.index("JENIS_KLMIN")] == "LAKI-LAKI" for row in rows)
    assert abs(males / len(rows) - figures.male / figures.total) < 0.005
    assert {row[COLUMNS.index("KODE_DESA")] for row in rows} == {
        village.code for village in areas.villages_of(SMALL_REGENCY)
    }
    assert 0.07 <= summary.elderly_share <= 0.13
    assert 0.60 <= summary.eligible_share <= 0.75
    ages = Counter(DEFAULT_AS_OF.year - int(row[COLUMNS.index("TGL_LHR")][:4]) for row in rows)
    assert max(ages) <= 96


def test_same_seed_same_bytes_other_seed_other_bytes(
    tmp_path: Path, sample_csv: Path, areas: AreaTable
) -> None:
    again, other = tmp_path / "again.csv", tmp_path / "other.csv"
    write_population(PopulationOptions(OKI, limit=SAMPLE_SIZE), again, areas=areas)
    write_population(PopulationOptions(OKI, limit=SAMPLE_SIZE, seed=2), other, areas=areas)
    assert again.read_bytes() == sample_csv.read_bytes()
    assert other.read_bytes() != sample_csv.read_bytes()


def test_ndjson_holds_the_same_records(
    tmp_path: Path, sample_rows: list[dict[str, str]], areas: AreaTable
) -> None:
    out = tmp_path / "population.ndjson"
    write_population(
        PopulationOptions(OKI, limit=SAMPLE_SIZE), out, OutputFormat.NDJSON, areas=areas
    )
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert records == sample_rows
    assert all(list(record) == list(COLUMNS) for record in records)


def test_cli_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "oki.csv"
    result = CliRunner().invoke(
        app, ["population", "--area", OKI, "--limit", "400", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "400 penduduk" in result.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 401


@pytest.mark.parametrize("area", ["99.99", "16", "16.02.05", "16.02.05.1001", "OKI", "1602"])
def test_cli_refuses_what_is_not_a_known_regency(tmp_path: Path, area: str) -> None:
    out = tmp_path / "refused.csv"
    result = CliRunner().invoke(app, ["population", "--area", area, "--out", str(out)])
    assert result.exit_code == 2
    assert "kabupaten/kota" in result.output or "tidak ada" in result.output
    assert not out.exists()
