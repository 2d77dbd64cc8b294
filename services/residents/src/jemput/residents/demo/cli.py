"""`jemput demo ...`: demo data for the drive (messages in Bahasa Indonesia for office staff)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from jemput.residents.demo.drive import DriveError, DriveReport, Endpoints, play
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
from jemput.residents.demo.story import StoryOptions, plan_drive
from jemput.shared.reference.areas import load_area_table
from jemput.shared.security.development import DEV_ISSUER
from jemput.shared.security.local_issuer import LocalIssuer

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


class _Bars:
    """The drive's progress as rich bars, one per step."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def step(self, label: str, total: int | None) -> None:
        if self.task is not None:
            self.progress.stop_task(self.task)
        self.task = self.progress.add_task(label, total=total)

    def resize(self, total: int) -> None:
        assert self.task is not None
        self.progress.update(self.task, total=total)

    def advance(self, amount: int = 1) -> None:
        assert self.task is not None
        self.progress.advance(self.task, amount)


@app.command()
def drive(
    area: str = typer.Option("16.02", "--area", help="Kode kabupaten/kota Kemendagri."),
    seed: int = typer.Option(DEFAULT_SEED, help="Benih acak: benih sama, cerita sama."),
    residents: int | None = typer.Option(
        None, min=1, help="Jumlah penduduk (bawaan: seluruh penduduk kabupaten/kota)."
    ),
    scale: float | None = typer.Option(
        None, min=0.0001, max=1.0, help="Bagian penduduk kabupaten/kota, mis. 0.1."
    ),
    residents_url: str = typer.Option("http://127.0.0.1:8001", help="Layanan residents."),
    outreach_url: str = typer.Option("http://127.0.0.1:8002", help="Layanan outreach."),
    inventory_url: str = typer.Option("http://127.0.0.1:8003", help="Layanan inventory."),
    analytics_url: str = typer.Option("http://127.0.0.1:8004", help="Layanan analytics."),
    auth_dir: Path = typer.Option(
        Path("var/auth"), "--auth-dir", help="Kunci lokal dari `jemput auth init` (make up)."
    ),
    register: Path | None = typer.Option(
        None, "--register", help="Berkas register yang dibuat (bawaan: var/demo/...)."
    ),
    wait: float = typer.Option(900, min=1, help="Batas tunggu tiap langkah (detik)."),
) -> None:
    """Mainkan cerita gerakan jemput bola (seperti 2017) pada layanan yang berjalan, lewat
    API HTTP saja: register penduduk, sesi lapangan, SUKET, alokasi blangko, cetak dan
    penyerahan KTP-el."""
    err = Console(stderr=True)
    areas = load_area_table()
    try:
        _, regency_population = resolve_regency(area.strip(), areas)
    except RegencyRefused as refused:
        message = _REFUSAL_MESSAGES[refused.reason].format(code=refused.code)
        err.print(message, style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    if residents is None and scale is not None:
        residents = max(1, round(regency_population.total * scale))
    try:
        issuer = LocalIssuer.from_folder(auth_dir, issuer=DEV_ISSUER)
    except FileNotFoundError:
        err.print(f"Kunci lokal tidak ada di {auth_dir}: jalankan dulu `make up`.", style="red")
        raise typer.Exit(code=2) from None

    def tokens(client: str, scopes: Sequence[str]) -> str:
        return issuer.token(client, scopes, lifetime=timedelta(hours=12))

    options = StoryOptions(area_code=area.strip(), seed=seed, residents=residents)
    target = register or Path("var") / "demo" / f"drive-{options.area_code}-seed{seed}.csv"
    endpoints = Endpoints(residents_url, outreach_url, inventory_url, analytics_url)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
    ) as progress:
        bars = _Bars(progress)
        bars.step("Menyusun register sintetis dan rencana", None)
        plan, _ = plan_drive(options, target, areas=areas)
        bars.resize(1)
        bars.advance()
        try:
            report = asyncio.run(
                play(plan, target, endpoints, tokens, progress=bars, wait_seconds=wait)
            )
        except DriveError as error:
            progress.stop()
            err.print(str(error), style="red", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(code=1) from None
    _print_report(report, plan.fingerprint())


def _print_report(report: DriveReport, fingerprint: str) -> None:
    sessions = report.sessions
    typer.echo(
        f"Selesai dalam {_decimal(report.seconds, 1)} detik. Penduduk {_number(report.residents)}, "
        f"wajib KTP {_number(report.eligible)}."
    )
    typer.echo(
        f"Cakupan perekaman: {_percent(report.coverage_before)} dari register, "
        f"{_percent(report.coverage_after)} setelah jemput bola "
        f"({_number(report.recorded_before)} → {_number(report.recorded_after)} terekam)."
    )
    typer.echo(
        f"Sesi: {sessions.get('village_drive', 0)} di desa, {sessions.get('school_drive', 0)} "
        f"di sekolah, {sessions.get('home_visit', 0)} kunjungan rumah; "
        f"{_number(report.recordings_accepted)} rekaman dalam {report.batches} batch offline."
    )
    typer.echo(
        f"Hasil pusat: {_number(report.cleared)} print-ready, {_number(report.duplicates)} "
        f"duplikat."
    )
    typer.echo(
        f"Blangko: stok awal {_number(report.opening_stock)}; SUKET {_number(report.sukets_peak)} "
        f"saat blangko habis; diminta {_number(report.requested)}, alokasi diterima "
        f"{_number(report.allocation)} ({_number(report.waiting_served)} antrean terlayani)."
    )
    typer.echo(
        f"KTP-el dicetak {_number(report.printed)}, diserahkan {_number(report.issued)}; "
        f"SUKET masih beredar {_number(report.sukets_after)}. Sidik rencana: {fingerprint[:16]}."
    )


def _number(value: int) -> str:
    """Indonesian digit grouping: 801.059."""
    return f"{value:,}".replace(",", ".")


def _decimal(value: float, digits: int) -> str:
    """Indonesian decimal comma: 12,3."""
    return f"{value:.{digits}f}".replace(".", ",")


def _percent(share: float) -> str:
    return f"{_decimal(share * 100, 1)}%"
