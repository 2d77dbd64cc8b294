"""`jemput <service> audit verify|seal|head`. Messages in Bahasa Indonesia: office staff and
auditors read them. Exit codes of `verify`: 0 intact, 1 broken, 2 could not check."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from jemput.shared.audit.sealer import AuditSealer
from jemput.shared.audit.tables import audit_chain_head
from jemput.shared.audit.verification import (
    Anchor,
    ChainProblem,
    VerificationReport,
    verify_chain,
)
from jemput.shared.db import create_engine, read_only
from jemput.shared.logging import configure_logging
from jemput.shared.settings import ServiceSettings

T = TypeVar("T")

EXIT_INTACT, EXIT_BROKEN, EXIT_UNCHECKED = 0, 1, 2

# Why the chain is broken at sequence {n}, for the office.
PROBLEM_TEXT = {
    ChainProblem.ENTRY_ALTERED: "isi entri tidak cocok lagi dengan hash-nya: entri diubah.",
    ChainProblem.LINK_BROKEN: (
        "prev_hash tidak sama dengan hash entri sebelumnya: entri sebelumnya diubah beserta "
        "hash-nya, atau rantai disusun ulang."
    ),
    ChainProblem.ENTRY_MISSING: "entri dengan urutan ini tidak ada: entri dihapus.",
    ChainProblem.TAIL_MISSING: (
        "kepala rantai menunjuk lebih jauh dari entri terakhir: entri di ujung rantai dihapus."
    ),
    ChainProblem.HEAD_MISMATCH: "hash entri terakhir tidak sama dengan hash kepala rantai.",
    ChainProblem.AFTER_HEAD: "ada entri tersegel setelah kepala rantai: entri disisipkan.",
    ChainProblem.ANCHOR_MISMATCH: (
        "hash di urutan ini tidak sama dengan jangkar yang pernah dicatat (atau urutan itu "
        "sudah tidak ada): rantai ditulis ulang."
    ),
    ChainProblem.HEAD_MISSING: "baris kepala rantai (audit_chain_head) tidak ada.",
}


def audit_cli(settings_factory: Callable[[], ServiceSettings]) -> typer.Typer:
    cli = typer.Typer(
        help="Log audit akses data pribadi penduduk (UU 27/2022): periksa, segel, kepala rantai.",
        no_args_is_help=True,
    )

    @cli.command()
    def verify(
        anchor: list[str] = typer.Option(
            [],
            "--anchor",
            help="Kepala rantai yang pernah dicatat, URUTAN:HASH (boleh diulang).",
        ),
        batch_size: int = typer.Option(5000, min=100, max=100_000, help="Entri per batch."),
    ) -> None:
        """Periksa keutuhan log audit: entri yang diubah atau dihapus ketahuan."""
        try:
            anchors = [Anchor.parse(text) for text in anchor]
        except ValueError as exc:
            typer.echo(
                "Jangkar tidak sah: tulis URUTAN:HASH (angka, titik dua, 64 digit heksadesimal), "
                "seperti dicetak `audit head`.",
                err=True,
            )
            raise typer.Exit(EXIT_UNCHECKED) from exc
        console = Console()

        async def check(engine: AsyncEngine) -> VerificationReport:
            with Progress(
                TextColumn("[bold]Memeriksa rantai audit"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("entri"),
                TimeRemainingColumn(),
                console=console,
            ) as progress:
                task = progress.add_task("verify", total=None)
                return await verify_chain(
                    engine,
                    anchors=anchors,
                    batch_size=batch_size,
                    on_progress=lambda done, total: progress.update(
                        task, completed=done, total=total
                    ),
                )

        report = _run(settings_factory, check)
        _print_verdict(console, report)
        raise typer.Exit(EXIT_INTACT if report.intact else EXIT_BROKEN)

    @cli.command()
    def seal() -> None:
        """Segel sekarang entri audit yang belum disegel (biasanya layanan melakukannya sendiri)."""

        async def seal_all(engine: AsyncEngine) -> tuple[int, int, str]:
            sealed = await AuditSealer(engine).seal_all()
            sequence, digest = await _head(engine)
            return sealed, sequence, digest

        sealed, sequence, digest = _run(settings_factory, seal_all)
        typer.echo(f"{_number(sealed)} entri disegel. Kepala rantai: urutan {_number(sequence)}.")
        typer.echo(f"Jangkar: {sequence}:{digest}")

    @cli.command()
    def head() -> None:
        """Tampilkan kepala rantai (urutan dan hash) untuk dicatat atau diumumkan tiap hari."""
        sequence, digest = _run(settings_factory, _head)
        typer.echo(f"Urutan terakhir: {_number(sequence)}")
        typer.echo(f"Hash: {digest}")
        typer.echo(f"Jangkar: {sequence}:{digest}")
        typer.echo(
            "Catat atau umumkan jangkar ini; `audit verify --anchor URUTAN:HASH` kelak "
            "memastikan rantai sampai titik ini tidak ditulis ulang."
        )

    return cli


def _run(
    settings_factory: Callable[[], ServiceSettings],
    work: Callable[[AsyncEngine], Awaitable[T]],
) -> T:
    settings = settings_factory()
    configure_logging(level="WARNING", json=settings.log_json)

    async def main() -> T:
        engine = create_engine(settings.database_url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except DBAPIError as exc:
        typer.echo(
            f"Log audit tidak bisa dibaca ({type(exc.orig).__name__}). Apakah basis data "
            f"tersedia dan sudah dimigrasi (`jemput {settings.service_name} migrate`)?",
            err=True,
        )
        raise typer.Exit(EXIT_UNCHECKED) from None


async def _head(engine: AsyncEngine) -> tuple[int, str]:
    async with read_only(engine).connect() as conn:
        row = (
            await conn.execute(
                select(audit_chain_head.c.last_sequence, audit_chain_head.c.last_hash).where(
                    audit_chain_head.c.id == 1
                )
            )
        ).one_or_none()
    if row is None:
        typer.echo("Kepala rantai audit (audit_chain_head) tidak ada.", err=True)
        raise typer.Exit(EXIT_BROKEN)
    return int(row.last_sequence), str(row.last_hash)


def _print_verdict(console: Console, report: VerificationReport) -> None:
    waiting = f"{_number(report.unsealed)} entri terbaru belum disegel (belum ikut diperiksa)."
    if report.intact:
        console.print(
            f"[bold green]UTUH[/bold green]: {_number(report.checked)} entri tersegel diperiksa, "
            f"rantai tidak terputus sampai urutan {_number(report.head_sequence)}."
        )
        console.print(f"Jangkar: {report.head_sequence}:{report.head_hash}")
    else:
        assert report.problem is not None
        console.print(
            f"[bold red]RUSAK[/bold red] pada urutan {_number(report.broken_at or 0)}: "
            f"{PROBLEM_TEXT[report.problem]}"
        )
        console.print(
            f"{_number(report.checked)} entri sebelum urutan itu utuh. Laporkan ke petugas "
            "keamanan data; jangan ubah basis data sebelum diperiksa."
        )
    if report.unsealed:
        console.print(waiting)


def _number(value: int) -> str:
    """Thousands separated the Indonesian way: 1.234.567."""
    return f"{value:,}".replace(",", ".")
