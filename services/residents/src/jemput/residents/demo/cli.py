"""`jemput demo ...`: demo data for the drive (messages in Bahasa Indonesia for office staff)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from jemput.residents.demo.population import (
    DEFAULT_AS_OF,
    DEFAULT_RECORDED_SHARE,
    DEFAULT_SEED,
    OutputFormat,
    PopulationOptions,
    RegencyRefusal,
    RegencyRefused,
    default_output_path,
    resolve_regency,
    write_population,
)
from jemput.shared.reference.areas import load_area_table

app = typer.Typer(help="Data contoh untuk uji coba dan demo.", no_args_is_help=True)

_REFUSAL_MESSAGES: dict[RegencyRefusal, str] = {
    RegencyRefusal.MALFORMED: (
        "Kode wilayah '{code}' tidak sah. Gunakan kode kabupaten/kota Kemendagri, mis. 16.02."
    ),
    RegencyRefusal.UNKNOWN: "Kode wilayah {code} tidak ada dalam tabel wilayah Kemendagri.",
    RegencyRefusal.NOT_A_REGENCY: (
        "Kode wilayah {code} bukan kabupaten/kota. "
        "Gunakan kode kabupaten/kota (dua bagian, mis. 16.02)."
    ),
    RegencyRefusal.NO_POPULATION: "Tidak ada data jumlah penduduk untuk wilayah {code}.",
    RegencyRefusal.NO_VILLAGES: "Wilayah {code} tidak memiliki desa/kelurahan dalam tabel.",
}


@app.callback()
def demo() -> None:
    """Data contoh untuk uji coba dan demo."""
    # A callback keeps `population` a sub-command even while it is the only one.


@app.command()
def population(
    area: str = typer.Option(..., "--area", help="Kode kabupaten/kota Kemendagri, mis. 16.02."),
    out: Path | None = typer.Option(
        None, "--out", help="Berkas keluaran (bawaan: var/demo/population-<wilayah>.<format>)."
    ),
    seed: int = typer.Option(DEFAULT_SEED, help="Benih acak: benih sama, berkas sama persis."),
    output_format: OutputFormat = typer.Option(
        OutputFormat.CSV, "--format", help="Format berkas: csv atau ndjson."
    ),
    recorded_share: float = typer.Option(
        DEFAULT_RECORDED_SHARE,
        min=0.0,
        max=1.0,
        help="Bagian wajib KTP yang sudah rekam e-KTP.",
    ),
    limit: int | None = typer.Option(None, min=1, help="Batasi jumlah penduduk (untuk uji coba)."),
    as_of: datetime = typer.Option(
        datetime.combine(DEFAULT_AS_OF, datetime.min.time()),
        "--as-of",
        formats=["%Y-%m-%d"],
        show_default=DEFAULT_AS_OF.isoformat(),
        help="Tanggal acuan umur dan wajib KTP (tetap, agar benih saja menentukan isi berkas).",
    ),
) -> None:
    """Buat register penduduk sintetis satu kabupaten/kota (format impor SIAK)."""
    err = Console(stderr=True)
    options = PopulationOptions(
        area_code=area.strip(),
        seed=seed,
        as_of=as_of.date(),
        recorded_share=recorded_share,
        limit=limit,
    )
    target = out if out is not None else default_output_path(options.area_code, output_format)
    areas = load_area_table()
    try:
        regency, regency_population = resolve_regency(options.area_code, areas)
    except RegencyRefused as refused:
        message = _REFUSAL_MESSAGES[refused.reason].format(code=refused.code)
        err.print(message, style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    total = regency_population.total if limit is None else min(limit, regency_population.total)

    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
    ) as progress:
        task = progress.add_task(f"Penduduk {regency.code}", total=total)

        def advance(rows: int) -> None:
            progress.advance(task, rows)

        summary = write_population(options, target, output_format, on_progress=advance, areas=areas)
    elapsed = time.perf_counter() - started

    size_mb = target.stat().st_size / 1_000_000
    typer.echo(
        f"Selesai: {_number(summary.residents)} penduduk dalam {_number(summary.families)} KK "
        f"di {summary.villages_with_residents} dari {summary.villages} desa/kelurahan "
        f"{summary.area_name} ({summary.area_code})."
    )
    typer.echo(f"Berkas: {target} ({_decimal(size_mb, 1)} MB), {_decimal(elapsed, 1)} detik.")
    typer.echo(
        f"Wajib KTP: {_percent(summary.eligible_share)}; sudah rekam (dari wajib KTP): "
        f"{_percent(summary.recorded_share)}; rentan (disabilitas/sakit kronis/ODGJ): "
        f"{_percent(summary.vulnerable_share)}; lansia 60+: {_percent(summary.elderly_share)}; "
        f"di bawah 17 tahun: {_percent(summary.under_17_share)}; laki-laki: "
        f"{_percent(summary.male_share)}."
    )
    typer.echo(
        f"NIK terbit di kecamatan lain: {_number(summary.registered_elsewhere)}; "
        f"tanggal lahir dikoreksi: {_number(summary.corrected_birth_dates)}. "
        f"Tanggal acuan: {options.as_of.isoformat()}, benih: {options.seed}."
    )


def _number(value: int) -> str:
    """Indonesian digit grouping: 801.059."""
    return f"{value:,}".replace(",", ".")


def _decimal(value: float, digits: int) -> str:
    """Indonesian decimal comma: 12,3."""
    return f"{value:.{digits}f}".replace(".", ",")


def _percent(share: float) -> str:
    return f"{_decimal(share * 100, 1)}%"
